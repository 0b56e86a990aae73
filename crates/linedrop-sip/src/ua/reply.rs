//! Our responses to requests (RFC 3261 §8.2.6), written straight to their wire bytes.
//!
//! Every call is answered at least twice (its INVITE and its BYE), and building a
//! [`Response`](crate::message::Response) first (a header list copied from the request, then
//! edited: the To tag set, the top Via replaced, Content-Length set) and serialising it
//! afterwards cost several times the bytes written. A [`Reply`] writes the same bytes in one
//! pass: the status line; the request's Via lines (the top one stamped with where it came from,
//! RFC 3581), From, To (with our tag), Call-ID and CSeq, as received; Content-Length; the
//! Record-Route of a dialog-creating response; then the headers the caller adds and the body.

use std::borrow::Cow;

use super::build::to_with_tag;
use super::leg::Leg;
use super::peer::Peer;
use super::receive::stamped_via;
use super::SipProvider;
use crate::message::{find_cr_or_lf, Digits, HeaderName, Method, Request, StatusCode};

/// A response being written. See the module docs.
pub(crate) struct Reply {
    out: Vec<u8>,
}

impl Reply {
    /// The response to `req` with `status`, as far as the headers the caller adds: our To
    /// `tag` when given (never on a 100, nor when the request's To has one), and
    /// Content-Length for a body of `body_len` bytes (given to [`Reply::finish`]). `from` is
    /// where the request came from, for its top Via.
    pub(crate) fn new(
        req: &Request,
        status: u16,
        to_tag: Option<&str>,
        from: Peer,
        body_len: usize,
    ) -> Self {
        let h = req.headers();
        // Room for the copies, our tag, Contact and the few headers callers add.
        let mut out = Vec::with_capacity(h.text_len() + 4 * h.len() + body_len + 192);
        // Invariant: every status we send is a valid three-digit code of this crate.
        let code = StatusCode::new(status).unwrap_or(StatusCode::SERVER_INTERNAL_ERROR);
        out.extend_from_slice(b"SIP/2.0 ");
        out.extend_from_slice(Digits::of(u64::from(code.as_u16())).as_str().as_bytes());
        out.push(b' ');
        // The registered phrase: our own text, with no CR or LF to clean.
        out.extend_from_slice(code.canonical_reason().unwrap_or("").as_bytes());
        out.extend_from_slice(b"\r\n");
        let mut reply = Reply { out };
        // RFC 3261 §18.2.1: the top Via says where the request really came from. The
        // stamped value replaces the first Via line.
        let mut vias = h.get_all(HeaderName::Via);
        if let Some(top) = stamped_via(h, from) {
            reply.header(HeaderName::Via, &top);
            vias.next();
        }
        for v in vias {
            reply.header(HeaderName::Via, v);
        }
        reply.copy(req, HeaderName::From);
        let to = to_tag
            .filter(|_| status != 100)
            .and_then(|tag| Some((tag_to(req)?, tag)));
        match &to {
            // §8.2.6.2: the request's To with our tag, once, where the first To stood.
            // Without any `tag` parameter that is the request's own text and `;tag=`,
            // which costs no re-serialisation of the address (and keeps it exactly as the
            // peer wrote it).
            Some((TagTo::Append(raw), tag)) => {
                let raw = raw.trim_matches([' ', '\t']).trim_start();
                reply.out.extend_from_slice(b"To: ");
                reply.out.extend_from_slice(raw.as_bytes());
                reply.out.extend_from_slice(b";tag=");
                reply.out.extend_from_slice(tag.as_bytes());
                reply.out.extend_from_slice(b"\r\n");
            }
            Some((TagTo::Replace, tag)) => {
                let text = h.with_to(|to| to_with_tag(to, tag)).ok().flatten();
                reply.header(HeaderName::To, text.as_deref().unwrap_or_default());
            }
            None => reply.copy(req, HeaderName::To),
        }
        reply.copy(req, HeaderName::CallId);
        reply.copy(req, HeaderName::CSeq);
        reply.header(
            HeaderName::ContentLength,
            Digits::of(body_len as u64).as_str(),
        );
        // A response that creates a dialog copies the Record-Route (§12.1.1), so the
        // caller learns the same route set.
        if to.is_some() && req.method() == &Method::Invite && (101..300).contains(&status) {
            reply.copy(req, HeaderName::RecordRoute);
        }
        reply
    }

    /// Adds a header. CR and LF in `value` are written as spaces (a value must never be able
    /// to inject a header line) and surrounding whitespace is dropped, as a header list does.
    pub(crate) fn header(&mut self, name: HeaderName, value: &str) -> &mut Self {
        self.out.extend_from_slice(name.as_str().as_bytes());
        self.out.extend_from_slice(b": ");
        if has_cr_or_lf(value.as_bytes()) {
            let clean = value.replace(['\r', '\n'], " ");
            self.out.extend_from_slice(clean.trim().as_bytes());
        } else {
            self.out.extend_from_slice(trim(value).as_bytes());
        }
        self.out.extend_from_slice(b"\r\n");
        self
    }

    /// Adds our Contact in `leg`'s dialog ([`SipProvider::write_leg_contact`]), with CR and
    /// LF written as spaces, as [`Reply::header`] does (a user part may hold escaped ones).
    pub(crate) fn contact(&mut self, ua: &SipProvider, leg: &Leg) -> &mut Self {
        self.out.extend_from_slice(b"Contact: ");
        let start = self.out.len();
        ua.write_leg_contact(&mut self.out, leg);
        if let Some(value) = self.out.get_mut(start..) {
            if has_cr_or_lf(value) {
                for b in value.iter_mut().filter(|b| **b == b'\r' || **b == b'\n') {
                    *b = b' ';
                }
            }
        }
        self.out.extend_from_slice(b"\r\n");
        self
    }

    /// Copies every `name` header of `req`, in order, under its full name.
    fn copy(&mut self, req: &Request, name: HeaderName) {
        for v in req.headers().get_all(name) {
            self.header(name, v);
        }
    }

    /// The response's bytes, ending with `body` (of the length given to [`Reply::new`]).
    pub(crate) fn finish(mut self, body: &[u8]) -> Vec<u8> {
        self.out.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(body);
        self.out
    }
}

/// Whether `value` holds a CR or an LF: the codec's word-at-a-time scan, since nearly every
/// value is clean and is read to its end.
fn has_cr_or_lf(value: &[u8]) -> bool {
    find_cr_or_lf(value).is_some()
}

/// `value.trim()`, called only when an end of `value` may be whitespace (a space, a control
/// or a non-ASCII byte): values are nearly always trimmed already.
fn trim(value: &str) -> &str {
    let maybe_space = |b: Option<&u8>| b.is_some_and(|&b| b <= b' ' || !b.is_ascii());
    let bytes = value.as_bytes();
    if maybe_space(bytes.first()) || maybe_space(bytes.last()) {
        value.trim()
    } else {
        value
    }
}

/// How our tag goes into the request's To.
enum TagTo<'r> {
    /// After the request's To text (unfolded), which has no `tag` parameter at all.
    Append(Cow<'r, str>),
    /// In place of an empty `tag` parameter.
    Replace,
}

/// How our tag goes into `req`'s To, or `None` if it has a tag already.
fn tag_to(req: &Request) -> Option<TagTo<'_>> {
    let h = req.headers();
    match h.with_to(|to| (to.tag().is_some(), to.params.contains("tag"))) {
        Ok((false, false)) => h.single(HeaderName::To).ok().map(TagTo::Append),
        Ok((false, true)) => Some(TagTo::Replace),
        Ok((true, _)) | Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{parse_message, Message, Response};

    fn request(text: &str) -> Request {
        match parse_message(text.as_bytes()) {
            Ok(Message::Request(r)) => r,
            other => panic!("a valid request: {other:?}"),
        }
    }

    /// What the user agent wrote before `Reply`: a `Response` built from the request, edited,
    /// then serialised. `Reply` must write the same bytes.
    fn by_response(
        req: &Request,
        status: u16,
        tag: Option<&str>,
        from: Peer,
        extra: &[(HeaderName, &str)],
        body: &[u8],
    ) -> Vec<u8> {
        let code = StatusCode::new(status).expect("valid");
        let mut resp = Response::for_request(req, code);
        if let Some(to) = tag
            .filter(|_| status != 100)
            .and_then(|t| old_to_with_tag(req, t))
        {
            resp.headers_mut().set_str(HeaderName::To, &to);
            if req.method() == &Method::Invite && (101..300).contains(&status) {
                for rr in req.headers().get_all(HeaderName::RecordRoute) {
                    resp.headers_mut().push_str(HeaderName::RecordRoute, rr);
                }
            }
        }
        for (name, value) in extra {
            resp.headers_mut().push(*name, value);
        }
        if !body.is_empty() {
            resp.set_body(body.to_vec());
        }
        if let Some(via) = stamped_via(req.headers(), from) {
            resp.headers_mut().remove_first(HeaderName::Via);
            resp.headers_mut().push_front_str(HeaderName::Via, &via);
        }
        resp.to_bytes()
    }

    /// The To with our tag as the user agent built it before `Reply`.
    fn old_to_with_tag(req: &Request, tag: &str) -> Option<String> {
        let h = req.headers();
        match h.with_to(|to| (to.tag().is_some(), to.params.contains("tag"))) {
            Ok((false, false)) => h.single(HeaderName::To).ok().map(|raw| {
                let raw = raw.trim_matches([' ', '\t']);
                format!("{raw};tag={tag}")
            }),
            Ok((false, true)) => h.with_to(|to| to_with_tag(to, tag)).ok().flatten(),
            Ok((true, _)) | Err(_) => None,
        }
    }

    #[test]
    fn the_quick_checks_agree_with_the_std_ones() {
        for v in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\ta\t",
            "a\r\n b",
            "\u{a0}a",
            "a\u{2003}",
            "é",
            "\x0ba",
            "a\n",
            "0123456789abcdef0123456789abcdef\r",
            "0123456\n89abcdef",
            "01234567\t9abcdef",
            "\x0d\x0a\x0d\x0a\x0d\x0a\x0d\x0a",
            "\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x0a",
        ] {
            assert_eq!(trim(v), v.trim(), "{v:?}");
            assert_eq!(
                has_cr_or_lf(v.as_bytes()),
                v.contains(['\r', '\n']),
                "{v:?}"
            );
        }
    }

    #[test]
    fn every_byte_anywhere_in_a_word_is_told_apart() {
        for fill in [b'a', 0x00, 0x0d, 0x7f, 0x80, 0xc3, 0xff] {
            for pos in 0..17 {
                for b in 0..=255u8 {
                    let mut buf = [fill; 17];
                    buf[pos] = b;
                    let want = buf.iter().any(|&x| x == b'\r' || x == b'\n');
                    assert_eq!(has_cr_or_lf(&buf), want, "{buf:?}");
                }
            }
        }
    }

    #[test]
    fn writes_what_an_edited_response_wrote() {
        let near = Peer::udp("127.0.0.2:5060".parse().expect("literal"));
        let far = Peer::udp("192.0.2.9:7000".parse().expect("literal"));
        let invite = request(
            "INVITE sip:bob@127.0.0.1 SIP/2.0\r\n\
             v: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK1, SIP/2.0/UDP p.example;branch=z9hG4bK0\r\n\
             Via: SIP/2.0/TCP q.example;branch=z9hG4bKq\r\n\
             Record-Route: <sip:p.example;lr>\r\n\
             f: Alice <sip:alice@127.0.0.2>;tag=far\r\n\
             To: Bob\r\n <sip:bob@127.0.0.1>\r\n\
             Call-ID: c@h\r\nCSeq: 1 INVITE\r\nRecord-Route: <sip:q.example;lr>\r\n\
             Content-Length: 0\r\n\r\n",
        );
        let bye = request(
            "BYE sip:bob@127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.2:5060;rport;branch=z9hG4bK2\r\n\
             From: <sip:alice@127.0.0.2>;tag=far\r\nTo: <sip:bob@127.0.0.1>;tag=ours\r\n\
             Call-ID: c@h\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        );
        let empty_tag = request(
            "INVITE sip:bob@127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK3\r\n\
             From: <sip:alice@127.0.0.2>;tag=far\r\nTo: <sip:bob@127.0.0.1>;tag;x=1\r\n\
             Call-ID: c@h\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
        );
        let contact = [
            (HeaderName::Contact, "<sip:bob@127.0.0.1:5060>"),
            (HeaderName::ContentType, "application/sdp"),
            (HeaderName::Reason, "Q.850;cause=16;text=\"x\ny\""),
        ];
        let sdp = b"v=0\r\nm=audio 4000 RTP/AVP 0\r\n";
        for req in [&invite, &bye, &empty_tag] {
            for from in [near, far] {
                for (status, tag) in [
                    (100, None),
                    (180, Some("t1")),
                    (200, Some("t1")),
                    (481, None),
                ] {
                    for (extra, body) in [(&[][..], &b""[..]), (&contact[..], &sdp[..])] {
                        let mut reply = Reply::new(req, status, tag, from, body.len());
                        for (name, value) in extra {
                            reply.header(*name, value);
                        }
                        let got = reply.finish(body);
                        let want = by_response(req, status, tag, from, extra, body);
                        assert_eq!(
                            String::from_utf8_lossy(&got),
                            String::from_utf8_lossy(&want),
                            "{} {status} {tag:?} from {}",
                            req.method(),
                            from.addr
                        );
                    }
                }
            }
        }
    }
}

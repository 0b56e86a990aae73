//! Everything that arrives: parsing, matching to a transaction, and the checks of RFC 3261
//! §8.2 that a request passes before it reaches a call (method, Request-URI scheme,
//! Require). What fails a check is answered here, statefully, and never creates a call.

use linedrop_core::Now;

use super::build::ALLOW;
use super::dialog_key::lookup;
use super::peer::Peer;
use super::reply::Reply;
use super::{MethodKey, Purpose, SipProvider, Tsx, TsxEntry};
use std::net::IpAddr;
use std::num::NonZeroU16;
use std::sync::Arc;

use crate::message::{
    ip_string, parse_message_with, salvage_request_parts, Digits, HeaderName, Headers, Host,
    Message, Method, ParseConfig, ParseError, Request, Response,
};
use crate::transaction::{InviteServer, NonInviteServer, Wire};

/// Option tags we support: RFC 4028 session timers.
pub(crate) const SUPPORTED: &[&str] = &["timer"];

impl SipProvider {
    /// One datagram, or one message framed off a stream, from `from`.
    pub fn handle_message(&mut self, now: Now, from: Peer, bytes: &[u8]) {
        self.stats.received += 1;
        let cfg = ParseConfig::with_max_message_size(self.cfg.max_message_size);
        match parse_message_with(bytes, &cfg) {
            Ok(Message::Request(req)) => self.on_request(now, from, req),
            Ok(Message::Response(resp)) => self.on_response(now, from, resp),
            // CRLF keep-alives (RFC 5626 §3.5.1) are not messages, nor faults.
            Err(ParseError::Empty) => {}
            Err(e) => self.on_malformed(from, bytes, &e),
        }
    }

    /// A message that does not parse: a request that still shows where to answer gets
    /// 400 (naming the fault), 505 or 513, statelessly; anything else is dropped and counted.
    fn on_malformed(&mut self, from: Peer, bytes: &[u8], err: &ParseError) {
        let answer = salvage_request_parts(bytes).zip(err.response_hint()).map(
            |(parts, (status, reason))| {
                // §18.2.1 holds for every request received, one we cannot parse included.
                let mut resp = parts.response(status, &reason);
                stamp_via(&mut resp, from);
                resp
            },
        );
        match answer {
            Some(resp) => {
                self.stats.malformed_answered += 1;
                self.log_once("malformed request answered", err);
                self.send(from, resp.to_bytes().into());
            }
            None => {
                self.stats.malformed_dropped += 1;
                self.log_once("malformed message dropped", err);
            }
        }
    }

    fn on_response(&mut self, now: Now, from: Peer, resp: Response) {
        let h = resp.headers();
        let method = h.cseq().ok().map(|c| MethodKey::client(&c.method));
        let id = method.and_then(|m| {
            h.with_top_via(|v| v.branch().and_then(|b| self.find_tsx(b, m)))
                .ok()
                .flatten()
        });
        match id {
            Some(id) => self.on_client_response(now, from, id, resp),
            None => {
                // Not ours (or its transaction is over): RFC 3261 §18.1.2 drops it.
                self.stats.stray_responses += 1;
                self.log_once("stray response", &resp.status());
            }
        }
    }

    fn on_request(&mut self, now: Now, from: Peer, req: Request) {
        if req.method() == &Method::Ack {
            // An ACK starts no transaction: its key is looked up in place, not copied. The
            // ACK of a non-2xx final shares the INVITE's key (RFC 3261 §17.2.3).
            let invite =
                with_transaction_key(&req, |key| self.find_tsx(key, MethodKey::ServerInvite));
            self.on_ack(now, from, invite, req);
            return;
        }
        let branch = transaction_key(&req);
        let method = req.method().clone();
        // A retransmission is answered by its transaction.
        if let Some(id) = self.find_tsx(&branch, MethodKey::server(&method)) {
            if self.linger_retransmit(id, from, &req) {
                return;
            }
            if let Some(entry) = self.tsx.get_mut(&id) {
                match &mut entry.tsx {
                    Tsx::InviteServer(t) => {
                        t.on_retransmit();
                    }
                    Tsx::NonInviteServer(t) => {
                        t.on_retransmit();
                    }
                    _ => {}
                }
            }
            self.sync_tsx(now.instant, id);
            return;
        }
        // RFC 3261 §8.2.1: a method we do not know at all is 501 (one we know but do not
        // take is 405, below).
        if matches!(method, Method::Extension(_)) {
            return self.refuse(now, from, &branch, &req, 501, None);
        }
        // §8.2.2.1: a Request-URI scheme we do not serve.
        if !req.uri().is_sip() {
            return self.refuse(now, from, &branch, &req, 416, None);
        }
        // §8.2.2.3: an extension the request requires and we lack (CANCEL cannot require:
        // it must be answered whatever it carries).
        let unknown = unsupported_required(&req);
        if !unknown.is_empty() && method != Method::Cancel {
            let extra = (HeaderName::Unsupported, unknown.join(", "));
            return self.refuse(now, from, &branch, &req, 420, Some(extra));
        }
        // A To tag puts the request in a dialog, which is looked up with the tag in place.
        let h = req.headers();
        let dialog = h
            .with_to(|t| {
                t.tag().map(|tag| {
                    let call_id = h.call_id().unwrap_or_default();
                    self.dialogs.get(lookup(&(call_id, tag))).copied()
                })
            })
            .ok()
            .flatten();
        match (dialog, method) {
            (Some(found), _) => self.on_in_dialog(now, from, &branch, req, found),
            (None, Method::Invite) => self.on_invite(now, from, &branch, req),
            (None, Method::Cancel) => self.on_cancel(now, from, &branch, req),
            (None, Method::Options) => self.reply(now, from, &branch, &req, 200, None),
            (None, Method::Bye) => {
                self.stats.unknown_dialog += 1;
                self.reply(now, from, &branch, &req, 481, None)
            }
            (None, _) => self.reply(now, from, &branch, &req, 405, None),
        }
    }

    /// Refuses a request before it reaches a dialog: INVITE through its own INVITE server
    /// transaction (so its ACK is absorbed), anything else through a non-INVITE one.
    pub(crate) fn refuse(
        &mut self,
        now: Now,
        from: Peer,
        branch: &Arc<str>,
        req: &Request,
        status: u16,
        extra: Option<(HeaderName, String)>,
    ) {
        if req.method() == &Method::Invite {
            self.refuse_invite(now, from, branch, req, status, extra);
        } else {
            self.reply_with(now, from, branch, req, status, extra);
        }
    }

    /// Answers a non-INVITE request through its own server transaction (so that a
    /// retransmission gets the same answer).
    pub(crate) fn reply(
        &mut self,
        now: Now,
        from: Peer,
        branch: &Arc<str>,
        req: &Request,
        status: u16,
        to_tag: Option<&str>,
    ) {
        // §8.2.6.2: a final response to a request whose To has no tag adds ours (a fresh
        // one unless given). Where the To has one, the response is the request's own
        // headers, and a retransmission can have it built again.
        let plain = has_to_tag(req);
        let fresh = (!plain && to_tag.is_none()).then(|| self.ids.tag());
        let to_tag = to_tag.or(fresh.as_deref());
        let resp = Reply::new(req, status, to_tag, from, 0);
        self.send_reply(now, from, branch, req, status, resp, plain);
    }

    fn reply_with(
        &mut self,
        now: Now,
        from: Peer,
        branch: &Arc<str>,
        req: &Request,
        status: u16,
        extra: Option<(HeaderName, String)>,
    ) {
        let tagged = has_to_tag(req);
        let plain = extra.is_none() && tagged;
        let tag = (!tagged).then(|| self.ids.tag());
        let mut resp = Reply::new(req, status, tag.as_deref(), from, 0);
        if let Some((name, value)) = extra {
            resp.header(name, &value);
        }
        self.send_reply(now, from, branch, req, status, resp, plain);
    }

    /// Sends `resp`, our final response to `req`, through a new server transaction. `plain`:
    /// it is what [`SipProvider::plain_reply`] builds from `req` and `from` alone.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send_reply(
        &mut self,
        now: Now,
        from: Peer,
        branch: &Arc<str>,
        req: &Request,
        status: u16,
        mut resp: Reply,
        plain: bool,
    ) {
        add_method_headers(req, status, &mut resp);
        let mut tsx = NonInviteServer::new(self.tsx_timers(), from.transport.is_reliable());
        tsx.respond(now.instant, status, resp.finish(&[]).into());
        let key = (Arc::clone(branch), MethodKey::server(req.method()));
        let mut entry = TsxEntry::new(Tsx::NonInviteServer(tsx), from, None, Purpose::Server, key);
        entry.rebuild = NonZeroU16::new(status).filter(|_| plain);
        self.insert_tsx(now.instant, entry);
    }

    /// Our final response with `status` to `req` from `from` that holds nothing but the
    /// request's own headers, as [`SipProvider::reply`] writes it with no tag of ours.
    pub(crate) fn plain_reply(req: &Request, status: u16, from: Peer) -> Wire {
        let mut resp = Reply::new(req, status, None, from, 0);
        add_method_headers(req, status, &mut resp);
        resp.finish(&[]).into()
    }

    /// Answers an INVITE we will not take, statefully (so its ACK and retransmissions are
    /// absorbed), without creating a call.
    pub(crate) fn refuse_invite(
        &mut self,
        now: Now,
        from: Peer,
        branch: &Arc<str>,
        req: &Request,
        status: u16,
        extra: Option<(HeaderName, String)>,
    ) {
        let tag = self.ids.tag();
        let mut resp = Reply::new(req, status, Some(&tag), from, 0);
        if let Some((name, value)) = extra {
            resp.header(name, &value);
        }
        let mut tsx = InviteServer::new(self.tsx_timers(), from.transport.is_reliable());
        tsx.respond(now.instant, status, resp.finish(&[]).into());
        let key = (Arc::clone(branch), MethodKey::ServerInvite);
        self.add_tsx(
            now.instant,
            Tsx::InviteServer(tsx),
            from,
            None,
            Purpose::Server,
            key,
        );
    }
}

/// The key a request's server transaction is found by (RFC 3261 §17.2.3): its branch; or,
/// from an RFC 2543 element (no magic cookie, RFC 4475 §3.2.1 and §3.4.1), the fields that
/// section names for that case: Request-URI, From tag, Call-ID, CSeq number and top Via.
/// The To tag and the method are left out so that the CANCEL and the ACK of a non-2xx find
/// their INVITE, as they do by branch. Shared: the server transaction the request starts
/// is indexed under this same copy.
fn transaction_key(req: &Request) -> Arc<str> {
    with_transaction_key(req, |key: &str| Arc::from(key))
}

/// `f` of `req`'s [`transaction_key`], with the branch lent in place rather than copied.
fn with_transaction_key<R>(req: &Request, f: impl FnOnce(&str) -> R) -> R {
    let h = req.headers();
    let mut f = Some(f);
    let by_branch = h.with_top_via(|v| {
        let branch = v.branch().filter(|_| v.has_rfc3261_branch())?;
        f.take().map(|f| f(branch))
    });
    if let Ok(Some(r)) = by_branch {
        return r;
    }
    // Invariant: `f` is taken only when the branch answered.
    let f = f.expect("the key's reader is unused");
    let via = h.top_via().ok();
    let sent_by = via
        .map(|v| format!("{}:{}", v.host, v.port.unwrap_or(0)))
        .unwrap_or_default();
    let from_tag = h
        .from()
        .ok()
        .and_then(|f| f.tag().map(str::to_owned))
        .unwrap_or_default();
    let seq = h.cseq().map(|c| c.seq).unwrap_or_default();
    let call_id = h.call_id().unwrap_or_default();
    // Invariant: no RFC 3261 branch starts with a space, so these keys never collide with
    // a real branch.
    f(&format!(
        " 2543 {} {from_tag} {call_id} {seq} {sent_by}",
        req.uri()
    ))
}

/// The option tags `req` requires that we do not support.
fn unsupported_required(req: &Request) -> Vec<String> {
    req.headers()
        .require()
        .unwrap_or_default()
        .into_iter()
        .filter(|o| !SUPPORTED.contains(&o.as_str()))
        .collect()
}

/// RFC 3261 §18.2.1 and RFC 3581: the top Via of our answer to a request with headers `h`,
/// saying where the request really came from so that the answer (and any proxy) can reach
/// it; `None` when the request's own says it already (or cannot be read).
pub(crate) fn stamped_via(h: &Headers, from: Peer) -> Option<String> {
    let src = from.addr;
    let stamped = h.with_top_via(|via| {
        let rport = via.rport().is_some();
        if !rport && host_is(&via.host, src.ip()) {
            return None;
        }
        let received = ip_string(src.ip());
        Some(if rport {
            let port = Digits::of(u64::from(src.port()));
            via.to_string_with(&[("rport", port.as_str()), ("received", &received)])
        } else {
            via.to_string_with(&[("received", &received)])
        })
    });
    stamped.ok().flatten()
}

/// [`stamped_via`] applied to a response built as a copy of its request's Via lines (the
/// answer to a malformed request): the stamped value replaces the first Via line.
fn stamp_via(resp: &mut Response, from: Peer) {
    if let Some(via) = stamped_via(resp.headers(), from) {
        let h = resp.headers_mut();
        h.remove_first(HeaderName::Via);
        h.push_front_str(HeaderName::Via, &via);
    }
}

/// Whether `host` written out is `ip` written out, compared without writing either: the text
/// of an address is a function of the address, and a domain name is never an address's text
/// unless it is spelled like one.
fn host_is(host: &Host, ip: IpAddr) -> bool {
    match host {
        Host::Ipv4(a) => IpAddr::V4(*a) == ip,
        Host::Ipv6(a) => IpAddr::V6(*a) == ip,
        Host::Domain(d) => *d == ip_string(ip),
    }
}

/// The user part of a URI string.
pub(crate) fn user_of(uri: &str) -> String {
    crate::message::Uri::parse_with(uri, |u| {
        u.as_ref()
            .ok()
            .and_then(|u| u.as_sip().and_then(|s| s.user.clone()))
    })
    .unwrap_or_default()
}

/// What a response to `req`'s method always carries: Allow on a 405 and on OPTIONS' 200
/// (with Accept there).
fn add_method_headers(req: &Request, status: u16, resp: &mut Reply) {
    if status == 405 || (status == 200 && req.method() == &Method::Options) {
        resp.header(HeaderName::Allow, ALLOW);
    }
    if req.method() == &Method::Options && status == 200 {
        resp.header(HeaderName::Accept, "application/sdp");
    }
}

/// Whether `req`'s To has a tag (so our response adds none).
fn has_to_tag(req: &Request) -> bool {
    req.headers()
        .with_to(|t| t.tag().is_some())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use std::time::{Instant, SystemTime};

    use linedrop_core::Now;

    use super::super::{Peer, SipProvider};

    #[test]
    fn the_answer_to_a_malformed_request_says_where_it_came_from() {
        #[allow(clippy::disallowed_methods)]
        let now = Now::new(Instant::now(), SystemTime::now());
        let mut ua = SipProvider::for_tests();
        let bad = "INVITE sip:bob@127.0.0.1 SIP/2.0\r\n\
                   Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKm\r\n\
                   From: <sip:alice@10.0.0.1>;tag=far\r\nTo: <sip:bob@127.0.0.1>\r\n\
                   Call-ID: m@h\r\nCSeq: x INVITE\r\nContent-Length: 0\r\n\r\n";
        let from = Peer::udp("127.0.0.2:5070".parse().unwrap());
        ua.handle_message(now, from, bad.as_bytes());
        let sent = ua.poll_transmit().expect("a 400");
        let text = String::from_utf8_lossy(&sent.bytes).into_owned();
        assert!(text.starts_with("SIP/2.0 400"), "{text}");
        assert!(
            text.contains("Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKm;received=127.0.0.2\r\n"),
            "{text}"
        );
    }
}

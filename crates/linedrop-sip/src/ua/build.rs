//! Building the messages the user agent sends (RFC 3261 §8.1.1, §8.2.6, §9.1, §12.2.1,
//! §17.1.1.3).

use std::net::{IpAddr, SocketAddr};

use super::leg::{EndReason, Leg};
use super::peer::{Peer, Transport};
use super::SipProvider;
use crate::message::{
    CSeq, Digits, HeaderName, Host, Method, NameAddr, Reason, Request, Response,
    Transport as ViaTransport, Uri, Via,
};

/// The methods we answer, for Allow headers.
pub(crate) const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE";

/// Appends `ip` as a SIP host: what `Host`'s `Display` writes, IPv4 without `fmt`.
fn push_host(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => out.push_str(Digits::of_ipv4(a).as_str()),
        IpAddr::V6(_) => out.push_str(&host_of(ip).to_string()),
    }
}

/// A From or To we send: `<uri>`, and `;tag=` if there is one (written without `fmt`:
/// every request we send has both).
pub(crate) fn party(uri: &str, tag: Option<&str>) -> String {
    let mut out = String::with_capacity(uri.len() + tag.map_or(2, |t| t.len() + 7));
    out.push('<');
    out.push_str(uri);
    out.push('>');
    if let Some(tag) = tag {
        out.push_str(";tag=");
        out.push_str(tag);
    }
    out
}

pub(crate) fn host_of(ip: IpAddr) -> Host {
    match ip {
        IpAddr::V4(v4) => Host::Ipv4(v4),
        IpAddr::V6(v6) => Host::Ipv6(v6),
    }
}

fn via_transport(t: Transport) -> ViaTransport {
    match t {
        Transport::Udp => ViaTransport::Udp,
        Transport::Tcp => ViaTransport::Tcp,
    }
}

/// The Reason header for our BYE or CANCEL (RFC 3326).
pub(crate) fn reason_header(end: &EndReason) -> Option<Reason> {
    end.q850
        .map(|q| Reason::q850(u16::from(q), end.text.as_deref()))
}

impl SipProvider {
    /// Our address on `transport` as the peer must see it.
    pub(crate) fn local_addr(&self, transport: Transport) -> SocketAddr {
        match transport {
            Transport::Tcp => self.cfg.tcp_addr.unwrap_or(self.cfg.udp_addr),
            Transport::Udp => self.cfg.udp_addr,
        }
    }

    /// A Via for a new client transaction, asking for rport (RFC 3581).
    pub(crate) fn via(&mut self, transport: Transport, branch: &str) -> Via {
        let addr = self.local_addr(transport);
        let mut via = Via::new(
            via_transport(transport),
            host_of(addr.ip()),
            Some(addr.port()),
            branch,
        );
        via.params.set("rport", None);
        via
    }

    /// Our Contact for `user` on `transport`.
    pub(crate) fn contact(&self, user: &str, transport: Transport) -> String {
        let mut out = Vec::with_capacity(user.len() + 64);
        self.write_contact(&mut out, user, transport);
        // Invariant: written from `str`s only.
        String::from_utf8(out).unwrap_or_default()
    }

    /// [`SipProvider::contact`] appended to `out`.
    pub(crate) fn write_contact(&self, out: &mut Vec<u8>, user: &str, transport: Transport) {
        let addr = self.local_addr(transport);
        let host = host_of(addr.ip());
        let t = if transport == Transport::Tcp {
            ";transport=tcp"
        } else {
            ""
        };
        // Built by hand: this runs for every answer, and `format!` costs more than the text.
        out.extend_from_slice(b"<sip:");
        if !user.is_empty() {
            out.extend_from_slice(user.as_bytes());
            out.push(b'@');
        }
        match host {
            Host::Ipv4(a) => out.extend_from_slice(Digits::of_ipv4(a).as_str().as_bytes()),
            other => out.extend_from_slice(other.to_string().as_bytes()),
        }
        out.push(b':');
        out.extend_from_slice(Digits::of(u64::from(addr.port())).as_str().as_bytes());
        out.extend_from_slice(t.as_bytes());
        out.push(b'>');
    }

    /// Our Contact in `leg`'s dialog (for the user of its local URI), appended to `out`: the
    /// user is read in place, not copied out.
    pub(crate) fn write_leg_contact(&self, out: &mut Vec<u8>, leg: &Leg) {
        crate::message::Uri::parse_with(&leg.local_uri, |u| {
            let user = u.as_ref().ok().and_then(|u| u.as_sip());
            let user = user.and_then(|s| s.user.as_deref()).unwrap_or_default();
            self.write_contact(out, user, leg.peer.transport);
        });
    }

    /// The text of [`SipProvider::via`] for `branch`, written by hand (every request we send
    /// has one): what `Via`'s `Display` writes for it.
    pub(crate) fn via_text(&self, transport: Transport, branch: &str) -> String {
        let addr = self.local_addr(transport);
        let mut out = String::with_capacity(40 + branch.len());
        out.push_str(match transport {
            Transport::Udp => "SIP/2.0/UDP ",
            Transport::Tcp => "SIP/2.0/TCP ",
        });
        push_host(&mut out, addr.ip());
        out.push(':');
        out.push_str(Digits::of(u64::from(addr.port())).as_str());
        out.push_str(";branch=");
        out.push_str(branch);
        out.push_str(";rport");
        out
    }

    /// A request inside `leg`'s dialog (RFC 3261 §12.2.1.1). ACK reuses the INVITE's CSeq
    /// number; every other method takes the next one.
    pub(crate) fn in_dialog(&mut self, leg: &mut Leg, method: Method) -> Request {
        self.in_dialog_branch(leg, method).0
    }

    /// [`SipProvider::in_dialog`] and the branch of its Via, for its client transaction.
    pub(crate) fn in_dialog_branch(&mut self, leg: &mut Leg, method: Method) -> (Request, String) {
        let cseq = if method == Method::Ack {
            leg.invite_seq
        } else {
            leg.local_cseq += 1;
            leg.local_cseq
        };
        let branch = self.ids.branch();
        let via = self.via_text(leg.peer.transport, &branch);
        let (from, to) = self.dialog_parties(leg);
        let mut cseq_text = String::with_capacity(24);
        cseq_text.push_str(Digits::of(u64::from(cseq)).as_str());
        cseq_text.push(' ');
        cseq_text.push_str(method.as_str());
        let mut req = Request::new(method, leg.remote_target.clone());
        let h = req.headers_mut();
        h.push_str(HeaderName::Via, &via);
        h.push_str(HeaderName::MaxForwards, "70");
        h.push_str(HeaderName::From, &from);
        h.push_str(HeaderName::To, &to);
        h.push_str(HeaderName::CallId, &leg.call_id);
        h.push_str(HeaderName::CSeq, &cseq_text);
        for route in &leg.route_set {
            h.push_str(HeaderName::Route, route);
        }
        (req, branch)
    }

    /// From and To of an in-dialog request we send.
    fn dialog_parties(&self, leg: &Leg) -> (String, String) {
        (
            party(&leg.local_uri, Some(&leg.local_tag)),
            party(&leg.remote_uri, leg.remote_tag.as_deref()),
        )
    }

    /// The CANCEL of our INVITE (RFC 3261 §9.1): same Request-URI, top Via, From, To,
    /// Call-ID, Route and CSeq number.
    pub(crate) fn cancel_for(&self, invite: &Request, end: &EndReason) -> Request {
        let h = invite.headers();
        let mut req = Request::new(Method::Cancel, invite.uri().clone());
        for name in [
            HeaderName::Via,
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
        ] {
            if let Some(v) = h.get(name) {
                req.headers_mut().push(name, v);
            }
        }
        req.headers_mut().push(HeaderName::MaxForwards, 70);
        if let Ok(cseq) = h.cseq() {
            req.headers_mut()
                .push(HeaderName::CSeq, CSeq::new(cseq.seq, Method::Cancel));
        }
        for route in h.get_all(HeaderName::Route) {
            req.headers_mut().push(HeaderName::Route, route);
        }
        if let Some(reason) = reason_header(end) {
            req.headers_mut().push(HeaderName::Reason, reason);
        }
        req
    }

    /// The ACK of a non-2xx final response to our INVITE (RFC 3261 §17.1.1.3).
    pub(crate) fn ack_for_failure(invite: &Request, resp: &Response) -> Request {
        let h = invite.headers();
        let mut req = Request::new(Method::Ack, invite.uri().clone());
        if let Some(v) = h.get(HeaderName::Via) {
            req.headers_mut().push(HeaderName::Via, v);
        }
        req.headers_mut().push(HeaderName::MaxForwards, 70);
        for (name, source) in [
            (HeaderName::From, h),
            (HeaderName::To, resp.headers()),
            (HeaderName::CallId, h),
        ] {
            if let Some(v) = source.get(name) {
                req.headers_mut().push(name, v);
            }
        }
        if let Ok(cseq) = h.cseq() {
            req.headers_mut()
                .push(HeaderName::CSeq, CSeq::new(cseq.seq, Method::Ack));
        }
        for route in h.get_all(HeaderName::Route) {
            req.headers_mut().push(HeaderName::Route, route);
        }
        req
    }
}

/// The To of an answer: the request's To with our `tag`, or `None` if it has a tag already.
pub(crate) fn to_with_tag(to: &NameAddr, tag: &str) -> Option<String> {
    if to.tag().is_some() {
        return None;
    }
    if to.params.contains("tag") {
        // A `tag` without a value is replaced where it stands.
        let mut to = to.clone();
        to.set_tag(tag);
        return Some(to.to_string());
    }
    // Otherwise the tag goes last, which is what setting it would do, without the copy.
    let mut text = to.to_string();
    text.push_str(";tag=");
    text.push_str(tag);
    Some(text)
}

/// Where an in-dialog request of `leg` goes. With a route set, to its first entry (loose
/// routing, RFC 3261 §12.2.1.1 and §8.1.2), over the dialog's transport. Without one, to
/// where the dialog's messages have been going: over TCP that reuses the connection, and
/// it is the address a peer without proxies answers on.
pub(crate) fn next_hop(leg: &Leg) -> Peer {
    let first = leg
        .route_set
        .first()
        .and_then(|r| crate::message::NameAddr::parse(r).ok());
    let Some(route) = first else { return leg.peer };
    match super::client::destination(&route.uri) {
        Some(p) if p.addr == leg.peer.addr => leg.peer,
        Some(p) => Peer {
            transport: leg.peer.transport,
            addr: p.addr,
            conn: None,
        },
        // A route by name needs DNS, which linedrop does not do yet: keep the known path.
        None => leg.peer,
    }
}

/// Parses a destination the engine was given.
pub(crate) fn parse_target(to: &str) -> Option<Uri> {
    let uri = Uri::parse(to.trim()).ok()?;
    uri.is_sip().then_some(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider with TCP too, and an outbound call placed to `sip:bob@192.0.2.9:5070`:
    /// its leg as the 200 left it (far tag, two routes), taken out of the provider.
    fn placed(udp: &str, tcp: &str) -> (SipProvider, Leg) {
        let mut cfg = super::super::SipConfig::new(udp.parse().expect("literal"));
        cfg.tcp_addr = Some(tcp.parse().expect("literal"));
        let mut ua = SipProvider::new(cfg, linedrop_core::CallIds::default());
        #[allow(clippy::disallowed_methods)]
        let now = linedrop_core::Now::new(std::time::Instant::now(), std::time::SystemTime::now());
        let call = linedrop_core::CallId(7);
        let placement = linedrop_core::Placement {
            line: linedrop_core::LineId::from_bits(1),
            from: "sip:alice@example.com".into(),
            to: "sip:bob@192.0.2.9:5070".into(),
        };
        ua.place_call(now, call, &placement).expect("placed");
        let mut leg = *ua.legs.remove(&call).expect("a leg");
        leg.remote_tag = Some("far".into());
        leg.route_set = vec!["<sip:p1.example;lr>".into(), "<sip:p2.example;lr>".into()];
        (ua, leg)
    }

    /// The branch of `req`'s top Via.
    fn branch_of(req: &Request) -> String {
        req.headers()
            .with_top_via(|v| v.branch().map(str::to_owned))
            .expect("a Via")
            .expect("a branch")
    }

    #[test]
    fn via_text_is_what_the_typed_via_writes() {
        for (udp, tcp) in [
            ("127.0.0.1:5060", "127.0.0.1:5061"),
            ("[::1]:5060", "[::1]:15062"),
        ] {
            let (mut ua, leg) = placed(udp, tcp);
            // The Call-ID's host is the address as `IpAddr` writes it, as it always was.
            let ip = udp.parse::<SocketAddr>().expect("literal").ip();
            assert!(leg.call_id.ends_with(&format!("@{ip}")), "{}", leg.call_id);
            for t in [Transport::Udp, Transport::Tcp] {
                let want = ua.via(t, "z9hG4bKabc").to_string();
                assert_eq!(ua.via_text(t, "z9hG4bKabc"), want);
            }
        }
    }

    /// The INVITE and the in-dialog requests are written as text now; they must be what the
    /// typed headers (written through `fmt`) made before.
    #[test]
    fn requests_written_as_text_are_what_typed_headers_wrote() {
        let (mut ua, mut leg) = placed("127.0.0.1:5060", "127.0.0.1:5061");
        let invite = leg.invite.take().expect("kept");
        let branch = branch_of(&invite);
        let mut want = Request::new(Method::Invite, leg.remote_target.clone())
            .with_header(HeaderName::Via, ua.via(Transport::Udp, &branch))
            .with_header(HeaderName::MaxForwards, 70)
            .with_header(
                HeaderName::From,
                format!("<{}>;tag={}", leg.local_uri, leg.local_tag),
            )
            .with_header(HeaderName::To, format!("<{}>", leg.remote_target))
            .with_header(HeaderName::CallId, &leg.call_id)
            .with_header(HeaderName::CSeq, "1 INVITE")
            .with_header(HeaderName::Contact, ua.contact("alice", Transport::Udp))
            .with_header(HeaderName::Allow, ALLOW)
            .with_header(HeaderName::UserAgent, &ua.cfg.user_agent)
            .with_header(HeaderName::ContentType, "application/sdp");
        for (name, value) in SipProvider::uac_offer_headers(&leg.opts) {
            want.headers_mut().push(name, value);
        }
        want.set_body(leg.local_sdp.clone().expect("an offer").into_bytes());
        assert_eq!(
            String::from_utf8_lossy(&invite.to_bytes()),
            String::from_utf8_lossy(&want.to_bytes())
        );
        for method in [Method::Ack, Method::Bye, Method::Options] {
            let (req, branch) = ua.in_dialog_branch(&mut leg, method.clone());
            assert_eq!(branch_of(&req), branch);
            let seq = if method == Method::Ack {
                leg.invite_seq
            } else {
                leg.local_cseq
            };
            let mut want = Request::new(method.clone(), leg.remote_target.clone())
                .with_header(HeaderName::Via, ua.via(Transport::Udp, &branch))
                .with_header(HeaderName::MaxForwards, 70)
                .with_header(
                    HeaderName::From,
                    format!("<{}>;tag={}", leg.local_uri, leg.local_tag),
                )
                .with_header(HeaderName::To, format!("<{}>;tag=far", leg.remote_uri))
                .with_header(HeaderName::CallId, &leg.call_id)
                .with_header(HeaderName::CSeq, CSeq::new(seq, method.clone()));
            for route in &leg.route_set {
                want.headers_mut().push(HeaderName::Route, route);
            }
            assert_eq!(
                String::from_utf8_lossy(&req.to_bytes()),
                String::from_utf8_lossy(&want.to_bytes()),
                "{method}"
            );
        }
        assert_eq!(leg.local_cseq, 3, "BYE and OPTIONS took a number each");
        leg.remote_tag = None;
        let (req, _) = ua.in_dialog_branch(&mut leg, Method::Cancel);
        let to = req.headers().single(HeaderName::To).expect("one To");
        assert_eq!(
            to,
            format!("<{}>", leg.remote_uri),
            "no far tag: none written"
        );
    }

    #[test]
    fn a_response_carries_the_requests_to_with_our_tag() {
        use crate::ua::reply::Reply;
        let tagged = |to: &str| -> String {
            let text = format!(
                "INVITE sip:bob@127.0.0.1 SIP/2.0\r\n\
                 Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bKx\r\n\
                 From: <sip:alice@127.0.0.2>;tag=far\r\nTo: {to}\r\n\
                 Call-ID: c@h\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
            );
            let Ok(crate::message::Message::Request(req)) =
                crate::message::parse_message(text.as_bytes())
            else {
                panic!("a valid request: {text}");
            };
            let from = Peer::udp("127.0.0.2:5060".parse().expect("literal"));
            let bytes = Reply::new(&req, 180, Some("t1"), from, 0).finish(&[]);
            let Ok(crate::message::Message::Response(resp)) = crate::message::parse_message(&bytes)
            else {
                panic!("a valid response");
            };
            resp.headers()
                .single(HeaderName::To)
                .expect("one To")
                .into_owned()
        };
        // As the peer wrote it, tag last (RFC 3261 §8.2.6.2).
        assert_eq!(
            tagged("Bob <sip:bob@b.example>"),
            "Bob <sip:bob@b.example>;tag=t1"
        );
        assert_eq!(
            tagged("\"B\"  <sip:b@x>;foo=1 "),
            "\"B\"  <sip:b@x>;foo=1;tag=t1"
        );
        assert_eq!(
            tagged("sip:+1@gw.example;user=phone"),
            "sip:+1@gw.example;user=phone;tag=t1"
        );
        // A valueless tag is given its value where it stands; a tagged To is left alone.
        let na = NameAddr::parse("<sip:a@b>;tag;x=1").expect("valid");
        assert_eq!(
            tagged("<sip:a@b>;tag;x=1"),
            to_with_tag(&na, "t1").expect("untagged")
        );
        assert_eq!(tagged("<sip:a@b>;tag=x"), "<sip:a@b>;tag=x");
    }

    #[test]
    fn to_with_tag_writes_what_setting_the_tag_writes() {
        for to in [
            "Bob <sip:bob@biloxi.example.com>",
            "<sip:bob@b.example>;foo=1;lr",
            "sip:bob@b.example;tag",
            "\"Bell, A\" <sip:a@b>;tag;x=1",
            "sip:+1-555@gw.example;user=phone",
        ] {
            let na = NameAddr::parse(to).expect("valid");
            let mut expected = na.clone();
            expected.set_tag("t1");
            assert_eq!(to_with_tag(&na, "t1"), Some(expected.to_string()), "{to}");
        }
        let tagged = NameAddr::parse("<sip:a@b>;tag=x").expect("valid");
        assert_eq!(to_with_tag(&tagged, "t1"), None);
    }
}

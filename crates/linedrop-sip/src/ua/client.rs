//! The caller's side: placing calls, following our INVITE, CANCEL, ACK, BYE, forks.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use linedrop_core::{
    CallId, CallState, Cause, Now, Origin, Placement, ProviderError, ProviderEvent, WireEnd,
};

use super::build::{self, reason_header, ALLOW};
use super::dialog_key::DialogKey;
use super::ending::read_reason;
use super::leg::{Leg, Phase};
use super::peer::{Peer, Transport};
use super::{MethodKey, Purpose, SipProvider, Tsx};
use crate::message::{HeaderName, Host, Method, Response, Uri};
use crate::sdp;
use crate::transaction::{InviteClient, NonInviteClient, Verdict, Wire};

impl SipProvider {
    /// Sends our INVITE for `call`.
    pub(crate) fn place_call(
        &mut self,
        now: Now,
        call: CallId,
        p: &Placement,
    ) -> Result<(), ProviderError> {
        let target = build::parse_target(&p.to)
            .ok_or_else(|| ProviderError::BadAddress(format!("{} is not a sip: URI", p.to)))?;
        let peer = destination(&target).ok_or_else(|| {
            ProviderError::BadAddress(format!("{}: the host must be an IP address", p.to))
        })?;
        if peer.transport == Transport::Tcp && self.cfg.tcp_addr.is_none() {
            return Err(ProviderError::Unavailable("TCP is not enabled".into()));
        }
        let local_uri = build::parse_target(&p.from)
            .map(|u| u.to_string())
            .unwrap_or_else(|| p.from.clone());
        let user = target_user(&local_uri);
        let local_tag = self.ids.tag();
        let local_ip = self.local_addr(peer.transport).ip();
        // The address as `IpAddr` writes it (an IPv6 one without brackets), IPv4 without `fmt`.
        let host = match local_ip {
            std::net::IpAddr::V4(a) => crate::message::Digits::of_ipv4(a).as_str().to_owned(),
            std::net::IpAddr::V6(a) => a.to_string(),
        };
        let call_id: Arc<str> = self.ids.call_id(&host).into();
        let branch = self.ids.branch();
        let via = self.via_text(peer.transport, &branch);
        let session = self.ids.session_id();
        let offer = sdp::offer(session, local_ip, self.cfg.media_port);
        let remote_uri = target.to_string();
        // Headers as text (every call places one INVITE): `fmt` cost more than the bytes.
        let from = build::party(&local_uri, Some(&local_tag));
        let to = build::party(&remote_uri, None);
        let mut invite = crate::message::Request::new(Method::Invite, target.clone());
        let h = invite.headers_mut();
        h.push_str(HeaderName::Via, &via);
        h.push_str(HeaderName::MaxForwards, "70");
        h.push_str(HeaderName::From, &from);
        h.push_str(HeaderName::To, &to);
        h.push_str(HeaderName::CallId, &call_id);
        h.push_str(HeaderName::CSeq, "1 INVITE");
        h.push_str(HeaderName::Contact, &self.contact(&user, peer.transport));
        h.push_str(HeaderName::Allow, ALLOW);
        h.push_str(HeaderName::UserAgent, &self.cfg.user_agent);
        h.push_str(HeaderName::ContentType, "application/sdp");
        let opts = self.line_options(p.line);
        for (name, value) in Self::uac_offer_headers(&opts) {
            invite.headers_mut().push_str(name, &value);
        }
        invite.set_body(offer.clone().into_bytes());
        let bytes: Wire = invite.to_bytes().into();
        let leg = Box::new(Leg {
            id: call,
            outbound: true,
            call_id: Arc::clone(&call_id),
            local_tag: Arc::clone(&local_tag),
            remote_tag: None,
            local_uri: local_uri.into(),
            remote_uri: remote_uri.into(),
            local_cseq: 1,
            remote_target: target,
            route_set: Vec::new(),
            peer,
            phase: Phase::Calling,
            invite_tsx: None,
            invite: Some(Box::new(invite)),
            invite_seq: 1,
            local_sdp: Some(offer),
            end: None,
            bye_after_ack: false,
            cancel_pending: false,
            reinvite_tsx: None,
            retransmissions: 0,
            progress: 0,
            opts,
            timers: Default::default(),
        });
        self.legs.insert(call, leg);
        self.dialogs.insert(
            DialogKey {
                call_id,
                tag: local_tag,
            },
            call,
        );
        let tsx = InviteClient::new(
            now.instant,
            self.tsx_timers(),
            peer.transport.is_reliable(),
            bytes,
        );
        let id = self.add_tsx(
            now.instant,
            Tsx::InviteClient(tsx),
            peer,
            Some(call),
            Purpose::Invite,
            (branch.into(), MethodKey::Invite),
        );
        if let Some(leg) = self.legs.get_mut(&call) {
            leg.invite_tsx = Some(id);
        }
        Ok(())
    }

    /// A response matched one of our client transactions.
    pub(crate) fn on_client_response(&mut self, now: Now, from: Peer, id: u64, resp: Response) {
        let status = resp.status().as_u16();
        let Some(entry) = self.tsx.get(&id) else {
            return;
        };
        let (call, purpose) = (entry.call, entry.purpose);
        let is_invite = matches!(entry.tsx, Tsx::InviteClient(_));
        let ack: Option<Wire> = match call.and_then(|c| self.legs.get(&c)) {
            Some(leg) if is_invite && status >= 300 => {
                // A refresh re-INVITE's failure is ACKed with that request's fields.
                let invite = match (&leg.timers.refresh_req, purpose) {
                    (Some(r), Purpose::Refresh) => Some(r),
                    _ => leg.invite.as_ref(),
                };
                invite.map(|i| Self::ack_for_failure(i, &resp).to_bytes().into())
            }
            _ => None,
        };
        let Some(entry) = self.tsx.get_mut(&id) else {
            return;
        };
        let verdict = match &mut entry.tsx {
            Tsx::InviteClient(t) => t.on_response(now.instant, status, || {
                ack.clone().unwrap_or_else(|| Wire::from(&b""[..]))
            }),
            Tsx::NonInviteClient(t) => t.on_response(now.instant, status),
            _ => Verdict::Absorb,
        };
        self.sync_tsx(now.instant, id);
        if verdict == Verdict::Absorb {
            return;
        }
        // Over TCP, in-dialog requests reuse the connection the answers came on, and the
        // transaction is bound to it too, so that losing the connection fails it.
        if let Some(leg) = call.and_then(|c| self.legs.get_mut(&c)) {
            if leg.peer.transport == Transport::Tcp && leg.peer.conn.is_none() {
                leg.peer.conn = from.conn;
            }
        }
        if let Some(entry) = self.tsx.get_mut(&id) {
            if entry.peer.transport == Transport::Tcp && entry.peer.conn.is_none() {
                entry.peer.conn = from.conn;
            }
        }
        if is_invite && resp.status().is_success() && self.resend_ack(id, &resp) {
            return;
        }
        match (purpose, call) {
            (Purpose::Invite, Some(call)) => self.on_invite_response(now, id, call, resp),
            (Purpose::Invite, None) if resp.status().is_success() => {
                self.ack_and_bye_fork(now, id, from, &resp)
            }
            (Purpose::Bye, Some(call)) if status >= 200 => self.torn_down(call),
            (Purpose::Refresh, Some(call)) => {
                self.on_refresh_response(now.instant, id, call, &resp)
            }
            (Purpose::Keepalive, Some(call)) => {
                self.on_keepalive_response(now.instant, id, call, status)
            }
            _ => {}
        }
    }

    /// A 2xx whose dialog we already acknowledged came again (our ACK was lost): the same
    /// ACK goes again, and nothing else happens (RFC 3261 §13.2.2.4). True if it was one.
    fn resend_ack(&mut self, id: u64, resp: &Response) -> bool {
        let tag = to_tag(resp);
        let Some(entry) = self.tsx.get(&id) else {
            return false;
        };
        let Some(ack) = entry
            .acks
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, a)| a.clone())
        else {
            return false;
        };
        let peer = entry.peer;
        self.stats.retransmissions += 1;
        self.send(peer, ack);
        true
    }

    fn on_invite_response(&mut self, now: Now, tsx: u64, call: CallId, resp: Response) {
        let status = resp.status().as_u16();
        let to_tag = to_tag(&resp);
        if status == 422 && self.retry_after_422(now.instant, call, &resp) {
            return;
        }
        let Some(leg) = self.legs.get_mut(&call) else {
            return;
        };
        match status {
            100..=199 => {
                if status > 100 && leg.remote_tag.is_none() {
                    leg.remote_tag = to_tag;
                }
                let progress = matches!(leg.phase, Phase::Calling | Phase::Early);
                if leg.phase == Phase::Calling {
                    leg.phase = Phase::Early;
                }
                let (rank, state) = if status == 100 {
                    (1, CallState::Proceeding)
                } else {
                    (2, CallState::Ringback)
                };
                if progress && rank > leg.progress {
                    leg.progress = rank;
                    self.events
                        .push_back(ProviderEvent::Progress { call, state });
                }
                if leg.cancel_pending {
                    self.send_cancel(now.instant, call);
                }
            }
            200..=299 => {
                if !matches!(leg.phase, Phase::Calling | Phase::Early | Phase::Cancelling) {
                    // The call already has its dialog (or is over): another fork answered.
                    let peer = leg.peer;
                    self.ack_and_bye_fork(now, tsx, peer, &resp);
                    return;
                }
                self.confirm(now, tsx, call, &resp);
            }
            _ => {
                if leg.phase == Phase::Cancelling {
                    self.torn_down(call);
                } else if matches!(leg.phase, Phase::Calling | Phase::Early) {
                    let (q850, text) = read_reason(&resp);
                    self.report_end(
                        call,
                        ProviderEvent::Ended {
                            call,
                            origin: Origin::Remote,
                            cause: Cause::from_sip_status(status),
                            wire: WireEnd::FinalResponse,
                            sip_status: Some(status),
                            q850,
                            text: text.or_else(|| Some(resp.reason().to_owned())),
                        },
                    );
                    self.torn_down(call);
                }
            }
        }
    }

    /// The first 2xx to our INVITE: the dialog is confirmed; ACK it, then report the call
    /// connected, or end it with BYE if we had already cancelled (our CANCEL crossed the
    /// 2xx: RFC 3261 §9.1, RFC 5407 §3.1.2).
    fn confirm(&mut self, now: Now, tsx: u64, call: CallId, resp: &Response) {
        let Some(mut leg) = self.legs.remove(&call) else {
            return;
        };
        let h = resp.headers();
        leg.remote_tag = to_tag(resp);
        if let Ok(Some(crate::message::Contacts::List(list))) = h.contact() {
            if let Some(first) = list.into_iter().next() {
                leg.remote_target = first.uri;
            }
        }
        let mut routes: Vec<String> = h
            .record_route()
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        routes.reverse();
        leg.route_set = routes;
        leg.timers.session = super::negotiate::from_2xx_as_uac(resp);
        leg.timers.use_update = super::negotiate::allows_update(h);
        let ack = self.in_dialog(&mut leg, Method::Ack);
        let bytes: Wire = ack.to_bytes().into();
        let peer = build::next_hop(&leg);
        let wanted_out = leg.phase == Phase::Cancelling;
        leg.phase = Phase::Confirmed;
        if let Some(entry) = self.tsx.get_mut(&tsx) {
            entry.acks.push((leg.remote_tag.clone(), bytes.clone()));
        }
        self.legs.insert(call, leg);
        self.send(peer, bytes);
        if wanted_out {
            self.send_bye(now.instant, call);
        } else {
            self.events.push_back(ProviderEvent::Connected { call });
            self.start_dialog_timers(now.instant, call);
        }
    }

    pub(crate) fn send_cancel(&mut self, now: Instant, call: CallId) {
        let Some(leg) = self.legs.get_mut(&call) else {
            return;
        };
        leg.cancel_pending = false;
        let end = leg.end.clone().unwrap_or_default();
        let peer = leg.peer;
        let invite_tsx = leg.invite_tsx;
        // Invariant: an outbound leg keeps its INVITE (only inbound ones drop theirs).
        let invite = self.legs[&call]
            .invite
            .as_deref()
            .expect("an outbound leg keeps its INVITE");
        let cancel = self.cancel_for(invite, &end);
        let branch = cancel
            .headers()
            .with_top_via(|v| v.branch().map(str::to_owned))
            .ok()
            .flatten()
            .unwrap_or_default();
        let tsx = NonInviteClient::new(
            now,
            self.tsx_timers(),
            peer.transport.is_reliable(),
            cancel.to_bytes().into(),
        );
        self.add_tsx(
            now,
            Tsx::NonInviteClient(tsx),
            peer,
            Some(call),
            Purpose::Cancel,
            (branch.into(), MethodKey::Cancel),
        );
        if let Some(id) = invite_tsx {
            if let Some(Tsx::InviteClient(t)) = self.tsx.get_mut(&id).map(|e| &mut e.tsx) {
                t.on_cancel_sent(now);
            }
            self.sync_tsx(now, id);
        } else {
            // The INVITE transaction is already over: nothing will answer the CANCEL's
            // INVITE, so the wire is done.
            self.torn_down(call);
        }
    }

    pub(crate) fn send_bye(&mut self, now: Instant, call: CallId) {
        self.disarm_all(call);
        let Some(mut leg) = self.legs.remove(&call) else {
            return;
        };
        let (mut bye, branch) = self.in_dialog_branch(&mut leg, Method::Bye);
        if let Some(reason) = leg.end.as_ref().and_then(reason_header) {
            bye.headers_mut().push(HeaderName::Reason, reason);
        }
        leg.phase = Phase::Byeing;
        let peer = build::next_hop(&leg);
        self.legs.insert(call, leg);
        let tsx = NonInviteClient::new(
            now,
            self.tsx_timers(),
            peer.transport.is_reliable(),
            bye.to_bytes().into(),
        );
        self.add_tsx(
            now,
            Tsx::NonInviteClient(tsx),
            peer,
            Some(call),
            Purpose::Bye,
            (branch.into(), MethodKey::Other),
        );
    }

    /// A 2xx from a fork we do not keep (of INVITE transaction `tsx`): ACK it, then BYE it
    /// (RFC 3261 §13.2.2.4). The ACK is kept with the transaction, so that the fork's
    /// retransmitted 2xx is acknowledged again without a second BYE.
    pub(crate) fn ack_and_bye_fork(&mut self, now: Now, tsx: u64, peer: Peer, resp: &Response) {
        let h = resp.headers();
        let (Ok(from), Ok(to), Ok(call_id), Ok(cseq)) = (h.from(), h.to(), h.call_id(), h.cseq())
        else {
            return;
        };
        let target = match h.contact() {
            Ok(Some(crate::message::Contacts::List(list))) if !list.is_empty() => {
                list[0].uri.clone()
            }
            _ => to.uri.clone(),
        };
        let mut routes: Vec<String> = h
            .record_route()
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        routes.reverse();
        for (method, seq) in [(Method::Ack, cseq.seq), (Method::Bye, cseq.seq + 1)] {
            let branch = self.ids.branch();
            let via = self.via(peer.transport, &branch);
            let mut req = crate::message::Request::new(method.clone(), target.clone())
                .with_header(HeaderName::Via, via)
                .with_header(HeaderName::MaxForwards, 70)
                .with_header(HeaderName::From, &from)
                .with_header(HeaderName::To, &to)
                .with_header(HeaderName::CallId, call_id)
                .with_header(
                    HeaderName::CSeq,
                    crate::message::CSeq::new(seq, method.clone()),
                );
            for route in &routes {
                req.headers_mut().push(HeaderName::Route, route);
            }
            let bytes: Wire = req.to_bytes().into();
            if method == Method::Ack {
                if let Some(entry) = self.tsx.get_mut(&tsx) {
                    entry.acks.push((to.tag().map(Arc::from), bytes.clone()));
                }
                self.send(peer, bytes);
            } else {
                let tsx = NonInviteClient::new(
                    now.instant,
                    self.tsx_timers(),
                    peer.transport.is_reliable(),
                    bytes,
                );
                self.add_tsx(
                    now.instant,
                    Tsx::NonInviteClient(tsx),
                    peer,
                    None,
                    Purpose::ForkBye,
                    (branch.into(), MethodKey::Other),
                );
            }
        }
    }
}

/// The To tag of a response.
fn to_tag(resp: &Response) -> Option<Arc<str>> {
    resp.headers()
        .to()
        .ok()
        .and_then(|t| t.tag().map(Arc::from))
}

/// Where to send requests for `target`: its host (an IP address; `localhost` is
/// 127.0.0.1) and port, over the transport its `transport` parameter names.
pub(crate) fn destination(target: &Uri) -> Option<Peer> {
    let sip = target.as_sip()?;
    let ip = match &sip.host {
        Host::Ipv4(v4) => IpAddr::V4(*v4),
        Host::Ipv6(v6) => IpAddr::V6(*v6),
        Host::Domain(d) if d.eq_ignore_ascii_case("localhost") => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Host::Domain(_) => return None,
    };
    let tcp = sip
        .param("transport")
        .flatten()
        .is_some_and(|t| t.eq_ignore_ascii_case("tcp"));
    let addr = SocketAddr::new(ip, sip.port.unwrap_or(5060));
    Some(if tcp {
        Peer::tcp(addr, None)
    } else {
        Peer::udp(addr)
    })
}

/// The user part of a URI string, for our Contact.
fn target_user(uri: &str) -> String {
    Uri::parse(uri)
        .ok()
        .and_then(|u| u.as_sip().and_then(|s| s.user.clone()))
        .unwrap_or_default()
}

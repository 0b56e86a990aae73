//! The callee's side: taking an INVITE, ringing, answering, rejecting, the ACK of our
//! answer, and their CANCEL.

use std::sync::Arc;

use linedrop_core::{CallId, Cause, Now, Origin, ProviderEvent, WireEnd};

use super::build::ALLOW;
use super::dialog_key::{lookup, DialogKey};
use super::ending::read_reason;
use super::leg::{Leg, Phase};
use super::peer::Peer;
use super::reply::Reply;
use super::{MethodKey, Purpose, SipProvider, Tsx};
use crate::message::{Digits, HeaderName, Request};
use crate::sdp;
use crate::transaction::{InviteServer, Machine, TsxState, Verdict};

/// Seconds a caller turned away with 503 is asked to wait.
const RETRY_AFTER_S: u32 = 30;

impl SipProvider {
    pub(crate) fn on_invite(&mut self, now: Now, from: Peer, branch: &Arc<str>, req: Request) {
        let h = req.headers();
        // Max-Forwards is a proxy's business: a user agent takes a request with 0 like any
        // other (RFC 4475 §3.3.11).
        // §8.2.3 and §20.1: our answer carries SDP, so an Accept without it is 406.
        if !accepts_sdp(&req) {
            return self.refuse_invite(
                now,
                from,
                branch,
                &req,
                406,
                Some((HeaderName::Accept, "application/sdp".into())),
            );
        }
        let sdp_body = match h.content_type() {
            Ok(Some(ct)) if !req.body().is_empty() && !ct.is("application", "sdp") => {
                return self.refuse_invite(
                    now,
                    from,
                    branch,
                    &req,
                    415,
                    Some((HeaderName::Accept, "application/sdp".into())),
                );
            }
            // Read in place: the offer is only answered here, and the INVITE is kept whole.
            _ => std::str::from_utf8(req.body())
                .ok()
                .filter(|b| !b.trim().is_empty()),
        };
        // The line is found by the Request-URI's user in place: only its id is copied.
        let user = req.uri().as_sip().and_then(|u| u.user.as_deref());
        let Some(line) = self.lines.get(user.unwrap_or_default()).map(|(l, _)| *l) else {
            return self.refuse_invite(now, from, branch, &req, 404, None);
        };
        // From and To are read in place (the memo holds them parsed): only what the leg
        // keeps is copied out.
        let (Ok((remote_tag, remote_uri)), Ok(local_uri), Ok(call_id), Ok(cseq)) = (
            h.with_from(|f| (f.tag().map(Arc::<str>::from), f.uri.text())),
            h.with_to(|t| t.uri.text()),
            h.call_id(),
            h.cseq(),
        ) else {
            return self.refuse_invite(now, from, branch, &req, 400, None);
        };
        // Where the far end is reached: its Contact, or its From URI when it gave none (the
        // From URI is copied only then).
        let Some(remote_target) = h
            .first_contact_uri()
            .or_else(|| h.with_from(|f| f.uri.clone()).ok())
        else {
            return self.refuse_invite(now, from, branch, &req, 400, None);
        };
        // RFC 3261 §8.2.2.2: the same request arriving by another path is a loop or merge.
        let call_id: Arc<str> = call_id.into();
        let inbound_key = (Arc::clone(&call_id), remote_tag.clone().unwrap_or_default());
        let merged = self
            .inbound
            .get(&inbound_key)
            .and_then(|c| self.legs.get(c))
            .is_some_and(|l| l.invite_seq == cseq.seq);
        if merged {
            return self.refuse_invite(now, from, branch, &req, 482, None);
        }
        let opts = self.line_options(line);
        let timer = match super::negotiate::negotiate_as_uas(&req, &opts, None) {
            super::negotiate::Negotiated::Use(s) => s,
            super::negotiate::Negotiated::TooSmall(min) => {
                let extra = (HeaderName::MinSe, min.as_secs().to_string());
                return self.refuse_invite(now, from, branch, &req, 422, Some(extra));
            }
        };
        let use_update = super::negotiate::allows_update(h);
        let session = self.ids.session_id();
        let ip = self.local_addr(from.transport).ip();
        let local_sdp = match sdp_body {
            Some(offer) => match sdp::answer(offer, session, ip, self.cfg.media_port) {
                Ok(answer) => answer,
                Err(_) => return self.refuse_invite(now, from, branch, &req, 488, None),
            },
            None => sdp::offer(session, ip, self.cfg.media_port),
        };
        let id = self.call_ids.next_id();
        let local_tag = self.ids.tag();
        // RFC 3261 §12.1.1: the callee's route set is the Record-Route list in order.
        let route_set: Vec<String> = h
            .record_route()
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        let tsx = InviteServer::new(self.tsx_timers(), from.transport.is_reliable());
        let leg = Box::new(Leg {
            id,
            outbound: false,
            call_id: Arc::clone(&call_id),
            local_tag: Arc::clone(&local_tag),
            remote_tag,
            local_uri: Arc::clone(&local_uri),
            remote_uri: Arc::clone(&remote_uri),
            local_cseq: 0,
            remote_target,
            route_set,
            peer: from,
            phase: Phase::Offered,
            invite_tsx: None,
            invite_seq: cseq.seq,
            invite: Some(Box::new(req)),
            local_sdp: Some(local_sdp),
            end: None,
            bye_after_ack: false,
            cancel_pending: false,
            reinvite_tsx: None,
            retransmissions: 0,
            progress: 0,
            opts,
            timers: super::session::LegTimers {
                session: timer,
                use_update,
                ..Default::default()
            },
        });
        self.legs.insert(id, leg);
        self.dialogs.insert(
            DialogKey {
                call_id,
                tag: local_tag,
            },
            id,
        );
        self.inbound.insert(inbound_key, id);
        let tsx_id = self.add_tsx(
            now.instant,
            Tsx::InviteServer(tsx),
            from,
            Some(id),
            Purpose::Server,
            (Arc::clone(branch), MethodKey::ServerInvite),
        );
        if let Some(leg) = self.legs.get_mut(&id) {
            leg.invite_tsx = Some(tsx_id);
        }
        // The first provisional response (100 Trying, or 180 with `auto_ringing`) waits
        // for the end of this step (`poll_transmit`): see `send_first_provisional`.
        self.undecided.push((tsx_id, now));
        self.events.push_back(ProviderEvent::Incoming {
            call: id,
            line,
            remote: remote_uri,
            local: local_uri,
        });
    }

    /// RFC 3261 §17.2.1: an INVITE server transaction sends 100 Trying unless it knows the
    /// TU will send a provisional or final response within 200 ms. Whether it will is known
    /// at the end of the step that took the INVITE: the engine handles `Incoming` in the
    /// same step (`pump`, before the driver drains `poll_transmit`), and an auto-answer
    /// line's 200 or a rejecting line's final response is already out by then. So the
    /// first provisional response is decided here, at the first `poll_transmit` after the
    /// INVITE, and sent only by a transaction that has sent nothing yet (an app decides,
    /// or the provider is driven without an engine): as prompt as sending it at once. It
    /// is 180 Ringing with `auto_ringing` (which makes a 100 needless), else 100 Trying.
    /// A call answered or refused in its INVITE's step gets neither: the 180 of
    /// `auto_ringing` tells a caller to wait for someone, and nobody is waited for.
    /// A 200 ms timer would say the same for answering lines but hold back the 100 of the
    /// others, and cost a timer per call.
    pub(crate) fn send_first_provisional(&mut self) {
        for (tsx_id, now) in std::mem::take(&mut self.undecided) {
            let Some(entry) = self.tsx.get(&tsx_id) else {
                continue;
            };
            let silent = matches!(&entry.tsx, Tsx::InviteServer(t) if t.is_silent());
            let Some((call, leg)) = entry.call.and_then(|c| Some((c, self.legs.get(&c)?))) else {
                continue;
            };
            let Some(invite) = leg.invite.as_deref().filter(|_| silent) else {
                continue;
            };
            if self.cfg.auto_ringing {
                self.send_provisional(now, call, 180);
                continue;
            }
            let trying = Reply::new(invite, 100, None, leg.peer, 0).finish(&[]);
            if let Some(Tsx::InviteServer(t)) = self.tsx.get_mut(&tsx_id).map(|e| &mut e.tsx) {
                t.respond(now.instant, 100, trying.into());
            }
            self.sync_tsx(now.instant, tsx_id);
        }
    }

    /// Sends a provisional response (180 Ringing) to an offered call.
    pub(crate) fn send_provisional(&mut self, now: Now, call: CallId, status: u16) {
        let Some(leg) = self.legs.get(&call) else {
            return;
        };
        let (Phase::Offered, Some(invite)) = (leg.phase, &leg.invite) else {
            return;
        };
        let mut resp = Reply::new(invite, status, Some(&leg.local_tag), leg.peer, 0);
        resp.contact(self, leg);
        let bytes = resp.finish(&[]);
        self.respond_invite(now, call, status, bytes);
    }

    /// Answers an offered call with 200 and our SDP; `Connected` follows the ACK.
    pub(crate) fn answer_call(&mut self, now: Now, call: CallId) {
        let Some(leg) = self.legs.get(&call) else {
            return;
        };
        let (Phase::Offered, Some(invite)) = (leg.phase, &leg.invite) else {
            return;
        };
        let body = leg.local_sdp.as_deref().unwrap_or_default().as_bytes();
        let mut resp = Reply::new(invite, 200, Some(&leg.local_tag), leg.peer, body.len());
        resp.contact(self, leg)
            .header(HeaderName::Allow, ALLOW)
            .header(HeaderName::ContentType, "application/sdp");
        if let Some(s) = &leg.timers.session {
            for (name, value) in super::negotiate::uas_headers(s, invite) {
                resp.header(name, &value);
            }
        }
        let bytes = resp.finish(body);
        if let Some(leg) = self.legs.get_mut(&call) {
            leg.phase = Phase::Accepting;
        }
        self.respond_invite(now, call, 200, bytes);
    }

    /// Ends an offered call with a final error response.
    pub(crate) fn send_final_error(&mut self, now: Now, call: CallId, status: u16) {
        let Some(leg) = self.legs.get_mut(&call) else {
            return;
        };
        if leg.invite.is_none() {
            return; // A final response is already out.
        }
        leg.phase = Phase::Rejecting;
        let reason = leg.end.as_ref().and_then(super::build::reason_header);
        let leg = &self.legs[&call];
        let Some(invite) = &leg.invite else { return };
        let mut resp = Reply::new(invite, status, Some(&leg.local_tag), leg.peer, 0);
        if let Some(reason) = reason {
            // RFC 6432: a Reason header in a response says why, for the record.
            resp.header(HeaderName::Reason, &reason.to_string());
        }
        if status == 503 {
            // We are unavailable (shutting down, overloaded): tell the caller when to retry
            // rather than let it mark us dead (RFC 3261 §21.5.4).
            resp.header(
                HeaderName::RetryAfter,
                Digits::of(u64::from(RETRY_AFTER_S)).as_str(),
            );
        }
        let bytes = resp.finish(&[]);
        self.respond_invite(now, call, status, bytes);
    }

    /// Sends `bytes`, our response to the call's INVITE, through its transaction.
    fn respond_invite(&mut self, now: Now, call: CallId, status: u16, bytes: Vec<u8>) {
        let Some(leg) = self.legs.get_mut(&call) else {
            return;
        };
        if leg.invite.is_none() {
            return;
        }
        if status >= 200 {
            leg.drop_invite();
        }
        let Some(id) = leg.invite_tsx else { return };
        if let Some(Tsx::InviteServer(t)) = self.tsx.get_mut(&id).map(|e| &mut e.tsx) {
            t.respond(now.instant, status, bytes.into());
        }
        self.sync_tsx(now.instant, id);
    }

    /// An ACK; `invite` is the INVITE server transaction found under its key, if any.
    pub(crate) fn on_ack(&mut self, now: Now, _from: Peer, invite: Option<u64>, req: Request) {
        // The ACK of a non-2xx final shares the INVITE's branch (RFC 3261 §17.2.3).
        if let Some(id) = invite {
            let call = self.tsx.get(&id).and_then(|e| e.call);
            if let Some(Tsx::InviteServer(t)) = self.tsx.get_mut(&id).map(|e| &mut e.tsx) {
                if t.state() == TsxState::Completed {
                    t.on_ack(now.instant);
                    self.sync_tsx(now.instant, id);
                    if let Some(call) = call {
                        if self
                            .legs
                            .get(&call)
                            .is_some_and(|l| l.phase == Phase::Rejecting)
                        {
                            self.torn_down(call);
                        }
                    }
                    return;
                }
            }
        }
        // The ACK of a 2xx is a request of the dialog.
        let h = req.headers();
        let call = h.call_id().ok().and_then(|cid| {
            h.with_to(|t| {
                t.tag()
                    .and_then(|tag| self.dialogs.get(lookup(&(cid, tag))).copied())
            })
            .ok()
            .flatten()
        });
        let Some(call) = call else {
            self.stats.stray_acks += 1;
            return;
        };
        let Some(leg) = self.legs.get(&call) else {
            return;
        };
        // The ACK's CSeq names the INVITE it acknowledges: their first one (when they
        // called), or a re-INVITE.
        let seq = h.cseq().map(|c| c.seq).ok();
        let first = !leg.outbound && Some(leg.invite_seq) == seq;
        let tsx_id = if first {
            leg.invite_tsx
        } else {
            leg.reinvite_tsx
        };
        let phase = leg.phase;
        let Some(id) = tsx_id else { return };
        let verdict = match self.tsx.get_mut(&id).map(|e| &mut e.tsx) {
            Some(Tsx::InviteServer(t)) => t.on_ack(now.instant),
            _ => Verdict::Absorb,
        };
        self.sync_tsx(now.instant, id);
        if verdict != Verdict::Deliver {
            return;
        }
        if !first {
            // The re-INVITE is complete: the next one may come.
            if let Some(leg) = self.legs.get_mut(&call) {
                leg.reinvite_tsx = None;
            }
            return;
        }
        if phase != Phase::Accepting {
            return;
        }
        let bye_now = self.legs.get(&call).is_some_and(|l| l.bye_after_ack);
        if let Some(leg) = self.legs.get_mut(&call) {
            leg.phase = Phase::Confirmed;
        }
        if bye_now {
            self.send_bye(now.instant, call);
        } else {
            self.events.push_back(ProviderEvent::Connected { call });
            self.start_dialog_timers(now.instant, call);
        }
    }

    pub(crate) fn on_cancel(&mut self, now: Now, from: Peer, branch: &Arc<str>, req: Request) {
        let invite = self.find_tsx(branch, MethodKey::ServerInvite);
        let Some(id) = invite else {
            return self.reply(now, from, branch, &req, 481, None);
        };
        let call = self.tsx.get(&id).and_then(|e| e.call);
        // §9.2: the same To tag as our response to the INVITE.
        let tag = call
            .and_then(|c| self.legs.get(&c))
            .map(|l| Arc::clone(&l.local_tag));
        self.reply(now, from, branch, &req, 200, tag.as_deref());
        let Some(call) = call else { return };
        if self.legs.get(&call).map(|l| l.phase) != Some(Phase::Offered) {
            return; // Already answered or rejected: the CANCEL changes nothing (§9.2).
        }
        let (q850, text) = read_reason(&req);
        self.report_end(
            call,
            ProviderEvent::Ended {
                call,
                origin: Origin::Remote,
                cause: Cause::Cancelled,
                wire: WireEnd::Cancel,
                sip_status: Some(487),
                q850,
                text,
            },
        );
        self.send_final_error(now, call, 487);
    }
}

/// Whether `req` lets us answer with SDP: no Accept header, or one that names
/// application/sdp or a range covering it (RFC 3261 §20.1: an empty one accepts nothing).
fn accepts_sdp(req: &Request) -> bool {
    let mut values = req.headers().get_all(HeaderName::Accept).peekable();
    if values.peek().is_none() {
        return true;
    }
    values
        .flat_map(|v| v.split(','))
        .map(|range| range.split(';').next().unwrap_or_default().trim())
        .any(|range| {
            range.eq_ignore_ascii_case("application/sdp")
                || range.eq_ignore_ascii_case("application/*")
                || range == "*/*"
        })
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use linedrop_core::{CallIds, LineId, Now, Provider, ProviderEvent};

    use super::super::{Peer, SipConfig, SipProvider};

    fn request(method: &str, branch: &str, to_tag: &str, seq: u32, body: &str) -> String {
        format!(
            "{method} sip:bob@127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.2:5060;branch={branch}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:alice@127.0.0.2>;tag=far\r\n\
             To: <sip:bob@127.0.0.1>{to_tag}\r\n\
             Call-ID: keep-small@127.0.0.2\r\n\
             CSeq: {seq} {method}\r\n\
             Contact: <sip:alice@127.0.0.2>\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    /// The status lines of everything the user agent queued, drained.
    fn statuses(ua: &mut SipProvider) -> Vec<String> {
        std::iter::from_fn(|| ua.poll_transmit())
            .map(|t| {
                let text = String::from_utf8_lossy(&t.bytes).into_owned();
                text.lines().next().unwrap_or_default().to_owned()
            })
            .collect()
    }

    fn test_now() -> Now {
        #[allow(clippy::disallowed_methods)]
        Now::new(std::time::Instant::now(), SystemTime::now())
    }

    fn ua_with(f: impl FnOnce(&mut SipConfig)) -> SipProvider {
        let mut cfg = SipConfig::new("127.0.0.1:5060".parse().unwrap());
        f(&mut cfg);
        let mut ua = SipProvider::new(cfg, CallIds::default());
        ua.add_line(LineId::from_bits(1), "sip:bob@127.0.0.1")
            .unwrap();
        ua
    }

    const FAR: &str = "127.0.0.2:5060";

    #[test]
    fn an_invite_nobody_answers_in_its_step_gets_100_trying_and_again_when_retransmitted() {
        let now = test_now();
        let mut ua = ua_with(|_| {});
        let far = Peer::udp(FAR.parse().unwrap());
        let invite = request("INVITE", "z9hG4bKt1", "", 1, "");
        ua.handle_message(now, far, invite.as_bytes());
        let Some(ProviderEvent::Incoming { call, .. }) = ua.poll_event() else {
            panic!("the INVITE is offered");
        };
        assert_eq!(statuses(&mut ua), ["SIP/2.0 100 Trying"]);
        ua.handle_message(now, far, invite.as_bytes());
        assert_eq!(
            statuses(&mut ua),
            ["SIP/2.0 100 Trying"],
            "the retransmitted INVITE gets the 100 again"
        );
        // The app answers in a later step: the 200 alone.
        ua.answer(now, call);
        assert_eq!(statuses(&mut ua), ["SIP/2.0 200 OK"]);
    }

    #[test]
    fn a_retransmission_before_the_step_ends_still_gets_exactly_one_100() {
        let now = test_now();
        let mut ua = ua_with(|_| {});
        let far = Peer::udp(FAR.parse().unwrap());
        let invite = request("INVITE", "z9hG4bKt2", "", 1, "");
        ua.handle_message(now, far, invite.as_bytes());
        ua.handle_message(now, far, invite.as_bytes());
        assert_eq!(statuses(&mut ua), ["SIP/2.0 100 Trying"]);
    }

    #[test]
    fn no_100_when_the_answer_goes_out_in_the_invites_step() {
        let now = test_now();
        let mut ua = ua_with(|_| {});
        let far = Peer::udp(FAR.parse().unwrap());
        let invite = request("INVITE", "z9hG4bKt3", "", 1, "");
        ua.handle_message(now, far, invite.as_bytes());
        let Some(ProviderEvent::Incoming { call, .. }) = ua.poll_event() else {
            panic!("the INVITE is offered");
        };
        ua.answer(now, call);
        assert_eq!(statuses(&mut ua), ["SIP/2.0 200 OK"]);
        ua.handle_message(now, far, invite.as_bytes());
        assert_eq!(
            statuses(&mut ua),
            Vec::<String>::new(),
            "Accepted absorbs a retransmitted INVITE (Timer G resends the 200)"
        );
    }

    #[test]
    fn no_100_with_auto_ringing() {
        let now = test_now();
        let mut ua = ua_with(|c| c.auto_ringing = true);
        let far = Peer::udp(FAR.parse().unwrap());
        let invite = request("INVITE", "z9hG4bKt4", "", 1, "");
        ua.handle_message(now, far, invite.as_bytes());
        assert_eq!(statuses(&mut ua), ["SIP/2.0 180 Ringing"]);
        ua.handle_message(now, far, invite.as_bytes());
        assert_eq!(
            statuses(&mut ua),
            ["SIP/2.0 180 Ringing"],
            "the retransmitted INVITE gets the 180 again"
        );
    }

    /// Every line behaviour, with and without `auto_ringing`, through the engine as the
    /// driver runs it: the INVITE, the engine's pump, then the transmits.
    #[test]
    fn through_the_engine_a_provisional_goes_only_to_invites_left_waiting() {
        use linedrop_core::{Engine, EngineConfig, LineConfig, LinePolicy, Privilege, Unattended};
        let cases = [
            (
                Some(Unattended::Answer { hold: None }),
                false,
                vec!["SIP/2.0 200 OK"],
            ),
            (
                Some(Unattended::Answer { hold: None }),
                true,
                vec!["SIP/2.0 200 OK"],
            ),
            (
                Some(Unattended::Reject { status: 486 }),
                false,
                vec!["SIP/2.0 486 Busy Here"],
            ),
            (
                Some(Unattended::Offer),
                false,
                vec!["SIP/2.0 480 Temporarily Unavailable"],
            ),
            (
                Some(Unattended::Reject { status: 603 }),
                true,
                vec!["SIP/2.0 603 Decline"],
            ),
            // An app owns the line: it decides later, so the 100 (or the 180) goes now.
            (None, false, vec!["SIP/2.0 100 Trying"]),
            (None, true, vec!["SIP/2.0 180 Ringing"]),
        ];
        for (unattended, auto_ringing, want) in cases {
            let now = test_now();
            let ids = CallIds::starting_at(1);
            let mut cfg = SipConfig::new("127.0.0.1:5060".parse().unwrap());
            cfg.auto_ringing = auto_ringing;
            let ua = SipProvider::new(cfg, ids.clone());
            let mut engine = Engine::new(EngineConfig { call_ids: ids }, ua);
            let policy = LinePolicy {
                unattended: unattended.unwrap_or(Unattended::Offer),
                ..LinePolicy::default()
            };
            let line = engine
                .add_line(LineConfig {
                    address: "sip:bob@127.0.0.1".into(),
                    policy,
                })
                .unwrap();
            if unattended.is_none() {
                let app = engine.open_app("owner");
                engine.open_line(app, line, Privilege::Owner).unwrap();
            }
            let far = Peer::udp(FAR.parse().unwrap());
            let invite = request("INVITE", "z9hG4bKt5", "", 1, "");
            engine
                .provider_mut()
                .handle_message(now, far, invite.as_bytes());
            engine.pump(now);
            let got = statuses(engine.provider_mut());
            assert_eq!(got, want, "{unattended:?}, auto_ringing {auto_ringing}");
        }
    }

    #[test]
    fn the_far_end_is_reached_at_its_contact_or_else_at_its_from_uri() {
        let now = test_now();
        let mut ua = ua_with(|_| {});
        let far = Peer::udp(FAR.parse().unwrap());
        for (n, contact, want) in [
            (
                0,
                "Contact: <sip:alice@10.9.9.9:5070>\r\n",
                "sip:alice@10.9.9.9:5070",
            ),
            (1, "", "sip:alice@127.0.0.2"),
        ] {
            let invite = request("INVITE", &format!("z9hG4bKr{n}"), "", 1, "")
                .replace("Contact: <sip:alice@127.0.0.2>\r\n", contact)
                .replace("keep-small@", &format!("target-{n}@"));
            ua.handle_message(now, far, invite.as_bytes());
            let Some(ProviderEvent::Incoming { call, remote, .. }) = ua.poll_event() else {
                panic!("the INVITE is offered");
            };
            assert_eq!(&*remote, "sip:alice@127.0.0.2");
            let leg = &ua.legs[&call];
            assert_eq!(&*leg.remote_uri, "sip:alice@127.0.0.2");
            assert_eq!(leg.remote_target.to_string(), want);
        }
    }

    #[test]
    fn the_answers_contact_names_the_user_the_caller_called() {
        let now = test_now();
        let mut ua = ua_with(|_| {});
        let far = Peer::udp(FAR.parse().unwrap());
        // The To user is ours to answer as, escapes kept as written (an escaped line break
        // stays escaped on the wire).
        for (n, (to, want)) in [
            (
                "<sip:bob@127.0.0.1>",
                "Contact: <sip:bob@127.0.0.1:5060>\r\n",
            ),
            (
                "<sip:b%0D%0Ax@127.0.0.1>",
                "Contact: <sip:b%0D%0Ax@127.0.0.1:5060>\r\n",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let invite = request("INVITE", &format!("z9hG4bKc{n}"), "", 1, "")
                .replace("To: <sip:bob@127.0.0.1>", &format!("To: {to}"))
                .replace("keep-small@", &format!("contact-{n}@"));
            ua.handle_message(now, far, invite.as_bytes());
            let Some(ProviderEvent::Incoming { call, .. }) = ua.poll_event() else {
                panic!("the INVITE is offered");
            };
            ua.answer(now, call);
            let ok = std::iter::from_fn(|| ua.poll_transmit())
                .map(|t| String::from_utf8_lossy(&t.bytes).into_owned())
                .find(|t| t.starts_with("SIP/2.0 200"))
                .expect("a 200");
            assert!(ok.contains(want), "{ok}");
        }
    }

    #[test]
    fn an_answered_inbound_leg_drops_the_invite_and_still_matches_its_ack() {
        #[allow(clippy::disallowed_methods)]
        let now = Now::new(std::time::Instant::now(), SystemTime::now());
        let cfg = SipConfig::new("127.0.0.1:5060".parse().unwrap());
        let mut ua = SipProvider::new(cfg, CallIds::default());
        ua.add_line(LineId::from_bits(1), "sip:bob@127.0.0.1")
            .unwrap();
        let far = Peer::udp("127.0.0.2:5060".parse().unwrap());
        let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
        ua.handle_message(
            now,
            far,
            request("INVITE", "z9hG4bKa", "", 7, sdp).as_bytes(),
        );
        let Some(ProviderEvent::Incoming { call, .. }) = ua.poll_event() else {
            panic!("the INVITE is offered");
        };
        assert!(
            ua.legs[&call].invite.is_some(),
            "offered: kept to answer it"
        );
        ua.answer(now, call);
        let leg = &ua.legs[&call];
        assert!(leg.invite.is_none(), "answered: the INVITE is dropped");
        assert_eq!(leg.invite_seq, 7);
        let tag = format!(";tag={}", leg.local_tag);
        ua.handle_message(now, far, request("ACK", "z9hG4bKb", &tag, 7, "").as_bytes());
        let events: Vec<_> = std::iter::from_fn(|| ua.poll_event()).collect();
        assert!(
            events.contains(&ProviderEvent::Connected { call }),
            "the ACK still confirms the call: {events:?}"
        );
    }
}

//! Requests inside a dialog (or an early one): BYE, re-INVITE and the rest; the tombstones
//! that answer them once the dialog is gone; and the 2xx that is never acknowledged.

use std::sync::Arc;
use std::time::Instant;

use linedrop_core::{CallId, Cause, Now, Origin, ProviderEvent, WireEnd};

use super::dialog_key::lookup;
use super::ending::read_reason;
use super::leg::{EndReason, Phase};
use super::peer::Peer;
use super::reply::Reply;
use super::{MethodKey, Purpose, SipProvider, Tsx};
use crate::message::{HeaderName, Method, Request};
use crate::transaction::InviteServer;

impl SipProvider {
    pub(crate) fn on_in_dialog(
        &mut self,
        now: Now,
        from: Peer,
        branch: &Arc<str>,
        req: Request,
        found: Option<CallId>,
    ) {
        let h = req.headers();
        // The dialog found by (Call-ID, To tag) is this one only if the From tag is theirs
        // too (once they have one), read in place.
        let call = found.filter(|c| {
            self.legs.get(c).is_some_and(|l| match &l.remote_tag {
                None => true,
                Some(theirs) => h.with_from(|f| f.tag() == Some(&**theirs)).unwrap_or(false),
            })
        });
        let Some(call) = call else {
            if self.is_tombstoned(&req) {
                // The dialog ended and was freed: a BYE is a retransmission of the one that
                // ended it (in a new transaction), so it still gets its 200 (RFC 3261 §15.1.2
                // says nothing else would stop the peer's retransmissions).
                self.stats.tombstone_hits += 1;
                let status = if req.method() == &Method::Bye {
                    200
                } else {
                    481
                };
                return self.refuse(now, from, branch, &req, status, None);
            }
            // (An INVITE is refused by an INVITE transaction, which absorbs its ACK.)
            self.stats.unknown_dialog += 1;
            return self.refuse(now, from, branch, &req, 481, None);
        };
        match req.method() {
            Method::Bye => self.on_bye(now, from, branch, req, call),
            Method::Invite => self.on_reinvite(now, from, branch, req, call),
            Method::Update => self.on_update(now, from, branch, req, call),
            Method::Options | Method::Info => self.reply(now, from, branch, &req, 200, None),
            Method::Cancel => self.reply(now, from, branch, &req, 481, None),
            _ => self.reply(now, from, branch, &req, 405, None),
        }
    }

    /// Whether the request names a dialog that ended and was freed (Timer J's window).
    fn is_tombstoned(&self, req: &Request) -> bool {
        let h = req.headers();
        let call_id = h.call_id().unwrap_or_default();
        h.with_to(|t| {
            t.tag()
                .is_some_and(|tag| self.tombstone_set.contains_key(lookup(&(call_id, tag))))
        })
        .unwrap_or(false)
    }

    fn on_bye(&mut self, now: Now, from: Peer, branch: &Arc<str>, req: Request, call: CallId) {
        self.reply(now, from, branch, &req, 200, None);
        let Some(leg) = self.legs.get(&call) else {
            return;
        };
        let phase = leg.phase;
        // BYE before our 2xx was acknowledged: stop resending it (RFC 5407 §3.2), and let no
        // ACK timeout end the call a second time.
        if phase == Phase::Accepting {
            if let Some(id) = leg.invite_tsx {
                if let Some(Tsx::InviteServer(t)) = self.tsx.get_mut(&id).map(|e| &mut e.tsx) {
                    t.abandon();
                }
                self.sync_tsx(now.instant, id);
            }
        }
        if let Some(id) = self.legs.get(&call).and_then(|l| l.reinvite_tsx) {
            self.finish_reinvite(now, call, id);
        }
        let (q850, text) = read_reason(&req);
        let ended = |cause, sip_status| ProviderEvent::Ended {
            call,
            origin: Origin::Remote,
            cause,
            wire: WireEnd::Bye,
            sip_status,
            q850,
            text: text.clone(),
        };
        match phase {
            // The caller's BYE on the early dialog of its own INVITE (RFC 3261 §15): the
            // INVITE still needs its final response, 487 (§15.1.2); the ACK of that ends
            // the teardown.
            Phase::Offered => {
                self.report_end(call, ended(Cause::Cancelled, Some(487)));
                self.send_final_error(now, call, 487);
            }
            // The callee ended an early dialog, which §15 forbids it: our INVITE is still
            // pending, so cancel it; that also bounds its transaction by Timer B.
            Phase::Calling | Phase::Early => {
                self.report_end(call, ended(Cause::Normal, None));
                self.cancel_invite(now.instant, call);
            }
            // Crossed BYEs: ours still waits for its answer, which ends the teardown; a
            // pending CANCEL waits for the INVITE's final response.
            Phase::Byeing | Phase::Cancelling => {
                self.report_end(call, ended(Cause::Normal, None));
            }
            _ => {
                self.report_end(call, ended(Cause::Normal, None));
                self.torn_down(call);
            }
        }
    }

    /// A re-INVITE: refresh the remote target and answer with the session we have.
    fn on_reinvite(&mut self, now: Now, from: Peer, branch: &Arc<str>, req: Request, call: CallId) {
        let Some(leg) = self.legs.get(&call) else {
            return;
        };
        let mut status = match leg.phase {
            Phase::Confirmed if leg.reinvite_tsx.is_none() => 200,
            Phase::Confirmed | Phase::Accepting | Phase::Early | Phase::Offered => 491,
            // Ending or ended: the session this would modify is gone.
            _ => 481,
        };
        // A re-INVITE refreshes the session timer (RFC 4028 §9).
        let mut extra = Vec::new();
        if status == 200 {
            match self.on_refresh_request(now.instant, call, &req) {
                Ok(headers) => extra = headers,
                Err(min) => {
                    status = 422;
                    extra.push((HeaderName::MinSe, min.as_secs().to_string()));
                }
            }
        }
        let Some(leg) = self.legs.get(&call) else {
            return;
        };
        let body = match status {
            200 => leg.local_sdp.as_deref().unwrap_or_default().as_bytes(),
            _ => &[],
        };
        let mut resp = Reply::new(&req, status, None, from, body.len());
        for (name, value) in extra {
            resp.header(name, &value);
        }
        if status == 200 {
            resp.contact(self, leg)
                .header(HeaderName::ContentType, "application/sdp");
        }
        let bytes = resp.finish(body);
        let mut tsx = InviteServer::new(self.tsx_timers(), from.transport.is_reliable());
        tsx.respond(now.instant, status, bytes.into());
        let target = req.headers().first_contact_uri();
        let key = (Arc::clone(branch), MethodKey::ServerInvite);
        let owner = (status == 200).then_some(call);
        let id = self.add_tsx(
            now.instant,
            Tsx::InviteServer(tsx),
            from,
            owner,
            Purpose::Server,
            key,
        );
        if status == 200 {
            if let Some(leg) = self.legs.get_mut(&call) {
                leg.reinvite_tsx = Some(id);
                if let Some(t) = target {
                    leg.remote_target = t;
                }
            }
        }
    }

    /// An UPDATE (RFC 3311): we take no session changes, but it may refresh the session
    /// timer (RFC 4028 §9), or be refused when its interval is below our Min-SE.
    fn on_update(&mut self, now: Now, from: Peer, branch: &Arc<str>, req: Request, call: CallId) {
        let confirmed = self
            .legs
            .get(&call)
            .is_some_and(|l| l.phase == Phase::Confirmed);
        let (status, extra) = if !confirmed {
            (200, Vec::new())
        } else {
            match self.on_refresh_request(now.instant, call, &req) {
                Ok(headers) => (200, headers),
                Err(min) => (422, vec![(HeaderName::MinSe, min.as_secs().to_string())]),
            }
        };
        let mut resp = Reply::new(&req, status, None, from, 0);
        for (name, value) in extra {
            resp.header(name, &value);
        }
        if status == 200 {
            if let Some(leg) = self.legs.get(&call) {
                resp.contact(self, leg);
            }
        }
        self.send_reply(now, from, branch, &req, status, resp, false);
    }

    /// The dialog ended while their re-INVITE's 2xx awaited its ACK: stop resending it.
    fn finish_reinvite(&mut self, now: Now, call: CallId, id: u64) {
        if let Some(Tsx::InviteServer(t)) = self.tsx.get_mut(&id).map(|e| &mut e.tsx) {
            t.abandon();
        }
        self.sync_tsx(now.instant, id);
        if let Some(leg) = self.legs.get_mut(&call) {
            leg.reinvite_tsx = None;
        }
    }

    /// Our 2xx (to their INVITE or re-INVITE, transaction `tsx`) was never acknowledged
    /// (RFC 3261 §13.3.1.4, and §14.2 for re-INVITEs): the call ends with BYE.
    pub(crate) fn on_ack_timeout(&mut self, now: Instant, call: Option<CallId>, tsx: u64) {
        let Some(call) = call else { return };
        let Some(leg) = self.legs.get_mut(&call) else {
            return;
        };
        let reinvite = leg.reinvite_tsx == Some(tsx);
        if reinvite {
            leg.reinvite_tsx = None;
        }
        let due = if reinvite {
            leg.phase == Phase::Confirmed
        } else {
            leg.invite_tsx == Some(tsx) && leg.phase == Phase::Accepting
        };
        if !due {
            return;
        }
        // Ended by us while the 2xx was out (bye_after_ack): that end stands.
        if !leg.bye_after_ack {
            let cause = Cause::NotAcknowledged;
            let text = "no ACK for our 2xx".to_string();
            leg.end = Some(EndReason {
                q850: Some(cause.q850()),
                text: Some(text.clone()),
            });
            self.report_end(
                call,
                ProviderEvent::Ended {
                    call,
                    origin: Origin::Network,
                    cause,
                    wire: WireEnd::Bye,
                    sip_status: None,
                    q850: Some(cause.q850()),
                    text: Some(text),
                },
            );
        }
        if let Some(leg) = self.legs.get_mut(&call) {
            leg.phase = Phase::Confirmed;
        }
        self.send_bye(now, call);
    }
}

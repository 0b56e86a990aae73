//! RFC 4028 session timers and in-dialog keepalives at run time: the dialog timers
//! (`SessionRefresh`, `SessionExpiry`, `Keepalive`) that end a call whose far end vanished
//! (what was negotiated, and the per-line options, come from `negotiate`).
//!
//! The timers are data: one ordered set of `(instant, call, timer)` in the provider, run by
//! `handle_timeout`. The requests they cause (UPDATE or re-INVITE refreshes, OPTIONS
//! keepalives) are client transactions like any other, so their retransmissions and timeouts
//! come from RFC 3261, and their outcomes end the call through `SipProvider::dialog_failed`.

use std::time::{Duration, Instant};

use linedrop_core::{CallId, Cause, Origin, ProviderEvent, WireEnd};

use super::leg::{EndReason, Phase};
use super::negotiate::{
    from_2xx_as_uac, negotiate_as_uas, secs, uas_headers, LineOptions, Negotiated, Session,
};
use super::{MethodKey, Purpose, SipProvider, Tsx};
use crate::message::{HeaderName, Method, Refresher, Request, Response, SessionExpires};
use crate::transaction::{InviteClient, NonInviteClient};

/// How long after a failed refresh (491, 5xx) we try again.
const REFRESH_RETRY: Duration = Duration::from_secs(4);

/// A dialog timer, named after the RFC that asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DialogTimer {
    /// RFC 4028 §10: the refresher refreshes at half the session interval.
    SessionRefresh,
    /// RFC 4028 §10: no refresh came (or ours got no answer) in time: BYE.
    SessionExpiry,
    /// Time to probe the far end with an in-dialog OPTIONS.
    Keepalive,
}

impl DialogTimer {
    const ALL: [DialogTimer; 3] = [
        DialogTimer::SessionRefresh,
        DialogTimer::SessionExpiry,
        DialogTimer::Keepalive,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// A leg's session timer, keepalive, and the requests they have in flight.
#[derive(Debug, Default)]
pub(crate) struct LegTimers {
    /// The session timer, once negotiated (inbound: from their INVITE, before our 2xx).
    pub(crate) session: Option<Session>,
    /// The far end takes UPDATE (its Allow said so): refresh with it rather than re-INVITE.
    pub(crate) use_update: bool,
    /// Armed instants, by [`DialogTimer`].
    pub(crate) armed: [Option<Instant>; 3],
    /// Our refresh in flight, and the request (for the ACK of a re-INVITE's answer).
    pub(crate) refresh_tsx: Option<u64>,
    pub(crate) refresh_req: Option<Box<Request>>,
    /// Our keepalive OPTIONS in flight.
    pub(crate) keepalive_tsx: Option<u64>,
    /// Our INVITE was already retried after a 422 (once is enough: a second 422 ends it).
    pub(crate) retried_422: bool,
}

/// RFC 4028 §10: the non-refresher gives up shortly before the interval ends (the lesser
/// of 32 s and a third of it), leaving the refresher's late refresh time to arrive; the
/// refresher waits the whole interval for the answer to its refresh.
fn expiry_after(s: &Session) -> Duration {
    if s.we_refresh {
        s.interval
    } else {
        s.interval - (s.interval / 3).min(Duration::from_secs(32))
    }
}

impl SipProvider {
    /// Our Session-Expires offer for a new INVITE, if the line uses session timers.
    pub(crate) fn uac_offer_headers(opts: &LineOptions) -> Vec<(HeaderName, String)> {
        let mut out = vec![(HeaderName::Supported, "timer".to_string())];
        if let Some(se) = opts.session_expires {
            out.push((
                HeaderName::SessionExpires,
                SessionExpires::new(secs(se), None).to_string(),
            ));
            out.push((HeaderName::MinSe, secs(opts.min_se).to_string()));
        }
        out
    }

    /// Arms (or, with `None`, disarms) one dialog timer of `call`.
    pub(crate) fn arm(&mut self, call: CallId, timer: DialogTimer, at: Option<Instant>) {
        let Some(leg) = self.legs.get_mut(&call) else {
            return;
        };
        let slot = &mut leg.timers.armed[timer.index()];
        if let Some(old) = slot.take() {
            self.dialog_timers.remove(&(old, call, timer));
        }
        if let Some(at) = at {
            *slot = Some(at);
            self.dialog_timers.insert((at, call, timer));
        }
    }

    /// Disarms every dialog timer of `call` (the call is ending or gone).
    pub(crate) fn disarm_all(&mut self, call: CallId) {
        for t in DialogTimer::ALL {
            self.arm(call, t, None);
        }
    }

    /// The dialog is confirmed: start its session timer and keepalive.
    pub(crate) fn start_dialog_timers(&mut self, now: Instant, call: CallId) {
        let Some(leg) = self.legs.get(&call) else {
            return;
        };
        let keepalive = leg.opts.keepalive;
        self.restart_session(now, call);
        self.arm(call, DialogTimer::Keepalive, keepalive.map(|k| now + k));
    }

    /// The session was (re)negotiated or refreshed at `now`: run its timers from there.
    fn restart_session(&mut self, now: Instant, call: CallId) {
        let Some(session) = self.legs.get(&call).and_then(|l| l.timers.session) else {
            self.arm(call, DialogTimer::SessionRefresh, None);
            self.arm(call, DialogTimer::SessionExpiry, None);
            return;
        };
        let refresh = session.we_refresh.then(|| now + session.interval / 2);
        self.arm(call, DialogTimer::SessionRefresh, refresh);
        self.arm(
            call,
            DialogTimer::SessionExpiry,
            Some(now + expiry_after(&session)),
        );
    }

    /// When the next dialog timer is due.
    pub(crate) fn next_dialog_timer(&self) -> Option<Instant> {
        self.dialog_timers.first().map(|(at, _, _)| *at)
    }

    /// Runs the dialog timers due at `now`.
    pub(crate) fn run_dialog_timers(&mut self, now: Instant) {
        while let Some(&(at, call, timer)) = self.dialog_timers.first() {
            if at > now {
                break;
            }
            self.dialog_timers.remove(&(at, call, timer));
            let Some(leg) = self.legs.get_mut(&call) else {
                continue;
            };
            leg.timers.armed[timer.index()] = None;
            if leg.phase != Phase::Confirmed {
                continue;
            }
            match timer {
                DialogTimer::SessionRefresh => {
                    if leg.timers.refresh_tsx.is_none() {
                        self.send_refresh(now, call);
                    }
                }
                DialogTimer::SessionExpiry => self.dialog_failed(
                    now,
                    call,
                    Origin::Policy,
                    Cause::SessionExpired,
                    "session timer expired (RFC 4028)".into(),
                    None,
                ),
                DialogTimer::Keepalive => {
                    if leg.timers.keepalive_tsx.is_none() {
                        self.send_keepalive(now, call);
                    }
                }
            }
        }
    }

    /// A session refresh we serve (their UPDATE or re-INVITE): renegotiate and restart the
    /// timers. Returns the headers for our 2xx, or the Min-SE to refuse it with (422).
    pub(crate) fn on_refresh_request(
        &mut self,
        now: Instant,
        call: CallId,
        req: &Request,
    ) -> Result<Vec<(HeaderName, String)>, Duration> {
        let Some(leg) = self.legs.get_mut(&call) else {
            return Ok(Vec::new());
        };
        match negotiate_as_uas(req, &leg.opts, leg.timers.session) {
            Negotiated::TooSmall(min) => Err(min),
            Negotiated::Use(session) => {
                leg.timers.session = session;
                let headers = session.map(|s| uas_headers(&s, req)).unwrap_or_default();
                if leg.phase == Phase::Confirmed {
                    self.restart_session(now, call);
                }
                Ok(headers)
            }
        }
    }

    /// Ends a confirmed call from our side for a reason of the wire (a session that
    /// expired, a keepalive that failed): reports it, then BYE with a Reason.
    pub(crate) fn dialog_failed(
        &mut self,
        now: Instant,
        call: CallId,
        origin: Origin,
        cause: Cause,
        text: String,
        sip_status: Option<u16>,
    ) {
        let Some(leg) = self.legs.get_mut(&call) else {
            return;
        };
        if leg.phase != Phase::Confirmed {
            return;
        }
        leg.end = Some(EndReason {
            q850: Some(cause.q850()),
            text: Some(text.clone()),
        });
        self.report_end(
            call,
            ProviderEvent::Ended {
                call,
                origin,
                cause,
                wire: WireEnd::Bye,
                sip_status,
                q850: Some(cause.q850()),
                text: Some(text),
            },
        );
        self.send_bye(now, call);
    }

    /// The answer to our refresh (UPDATE or re-INVITE).
    pub(crate) fn on_refresh_response(
        &mut self,
        now: Instant,
        tsx: u64,
        call: CallId,
        resp: &Response,
    ) {
        let status = resp.status().as_u16();
        if status < 200 {
            return;
        }
        let Some(leg) = self.legs.get_mut(&call) else {
            return;
        };
        if leg.timers.refresh_tsx == Some(tsx) {
            leg.timers.refresh_tsx = None;
        }
        match status {
            200..=299 => {
                let reinvite = leg
                    .timers
                    .refresh_req
                    .as_ref()
                    .is_some_and(|r| r.method() == &Method::Invite);
                leg.timers.session = from_2xx_as_uac(resp);
                if reinvite {
                    self.ack_refresh(tsx, call, resp);
                }
                self.restart_session(now, call);
            }
            // RFC 3261 §12.2.1.2: the dialog is gone at the far end.
            408 | 481 => self.dialog_failed(
                now,
                call,
                Origin::Policy,
                Cause::SessionExpired,
                format!("session refresh answered {status}"),
                Some(status),
            ),
            // Too short for the far end (RFC 4028 §7.4): take its Min-SE and refresh again.
            // (Only when that raises it: a far end that keeps asking for what it has is
            // retried on the slow path below, so it cannot make us loop.)
            422 if raises(leg.timers.session, resp) => {
                let min = resp.headers().min_se().ok().flatten().map(u64::from);
                if let (Some(min), Some(s)) = (min, leg.timers.session.as_mut()) {
                    s.interval = s.interval.max(Duration::from_secs(min));
                }
                self.send_refresh(now, call);
            }
            // Anything else (491 glare, 500, 503...) leaves the session as it was: try again
            // shortly (RFC 3261 §14.1 waits 2.1-4 s after a 491); the expiry timer, still
            // armed, ends the call if no refresh succeeds in time.
            _ => self.arm(call, DialogTimer::SessionRefresh, Some(now + REFRESH_RETRY)),
        }
    }

    /// ACKs the 2xx to our refresh re-INVITE (with its CSeq number, RFC 3261 §13.2.2.4).
    fn ack_refresh(&mut self, tsx: u64, call: CallId, resp: &Response) {
        let seq = resp.headers().cseq().map(|c| c.seq).ok();
        let Some(mut leg) = self.legs.remove(&call) else {
            return;
        };
        let mut ack = self.in_dialog(&mut leg, Method::Ack);
        if let Some(seq) = seq {
            ack.headers_mut().set(
                HeaderName::CSeq,
                crate::message::CSeq::new(seq, Method::Ack),
            );
        }
        let peer = super::build::next_hop(&leg);
        let tag = leg.remote_tag.clone();
        self.legs.insert(call, leg);
        let bytes: crate::transaction::Wire = ack.to_bytes().into();
        if let Some(entry) = self.tsx.get_mut(&tsx) {
            entry.acks.push((tag, bytes.clone()));
        }
        self.send(peer, bytes);
    }

    /// The answer to our keepalive OPTIONS: any answer but 408/481 shows the dialog alive.
    pub(crate) fn on_keepalive_response(
        &mut self,
        now: Instant,
        tsx: u64,
        call: CallId,
        status: u16,
    ) {
        if status < 200 {
            return;
        }
        let Some(leg) = self.legs.get_mut(&call) else {
            return;
        };
        if leg.timers.keepalive_tsx == Some(tsx) {
            leg.timers.keepalive_tsx = None;
        }
        let every = leg.opts.keepalive;
        if matches!(status, 408 | 481) {
            self.dialog_failed(
                now,
                call,
                Origin::Network,
                Cause::KeepaliveFailed,
                format!("keepalive answered {status}"),
                Some(status),
            );
        } else {
            self.arm(call, DialogTimer::Keepalive, every.map(|k| now + k));
        }
    }
}

impl SipProvider {
    /// Sets the SIP options of `line` (calls already up keep the options they started with).
    pub fn set_line_options(
        &mut self,
        line: linedrop_core::LineId,
        opts: LineOptions,
    ) -> Result<(), String> {
        opts.validate()?;
        self.line_options.insert(line, opts);
        Ok(())
    }

    /// The options in force for `line`.
    pub fn line_options(&self, line: linedrop_core::LineId) -> LineOptions {
        self.line_options
            .get(&line)
            .copied()
            .unwrap_or(self.cfg.line_defaults)
    }

    /// Sends our refresh: UPDATE when the far end takes it, else a re-INVITE with the
    /// session we have (RFC 4028 §7.4, §10).
    fn send_refresh(&mut self, now: Instant, call: CallId) {
        let Some(mut leg) = self.legs.remove(&call) else {
            return;
        };
        let Some(session) = leg.timers.session else {
            self.legs.insert(call, leg);
            return;
        };
        let update = leg.timers.use_update;
        let method = if update {
            Method::Update
        } else {
            Method::Invite
        };
        let (mut req, branch) = self.in_dialog_branch(&mut leg, method);
        let user = super::receive::user_of(&leg.local_uri);
        let contact = self.contact(&user, leg.peer.transport);
        let h = req.headers_mut();
        h.push(HeaderName::Contact, contact);
        h.push(HeaderName::Supported, "timer");
        h.push(
            HeaderName::SessionExpires,
            SessionExpires::new(secs(session.interval), Some(Refresher::Uac)),
        );
        h.push(HeaderName::MinSe, secs(leg.opts.min_se));
        if !update {
            h.push(HeaderName::ContentType, "application/sdp");
            req.set_body(leg.local_sdp.clone().unwrap_or_default().into_bytes());
        }
        let peer = super::build::next_hop(&leg);
        let bytes: crate::transaction::Wire = req.to_bytes().into();
        leg.timers.refresh_req = Some(Box::new(req));
        self.legs.insert(call, leg);
        let reliable = peer.transport.is_reliable();
        let (tsx, key) = if update {
            let t = NonInviteClient::new(now, self.tsx_timers(), reliable, bytes);
            (Tsx::NonInviteClient(t), MethodKey::Other)
        } else {
            let t = InviteClient::new(now, self.tsx_timers(), reliable, bytes);
            (Tsx::InviteClient(t), MethodKey::Invite)
        };
        let id = self.add_tsx(
            now,
            tsx,
            peer,
            Some(call),
            Purpose::Refresh,
            (branch.into(), key),
        );
        if let Some(leg) = self.legs.get_mut(&call) {
            leg.timers.refresh_tsx = Some(id);
        }
    }

    /// Probes the far end with an in-dialog OPTIONS.
    fn send_keepalive(&mut self, now: Instant, call: CallId) {
        let Some(mut leg) = self.legs.remove(&call) else {
            return;
        };
        let (req, branch) = self.in_dialog_branch(&mut leg, Method::Options);
        let peer = super::build::next_hop(&leg);
        self.legs.insert(call, leg);
        let t = NonInviteClient::new(
            now,
            self.tsx_timers(),
            peer.transport.is_reliable(),
            req.to_bytes().into(),
        );
        let id = self.add_tsx(
            now,
            Tsx::NonInviteClient(t),
            peer,
            Some(call),
            Purpose::Keepalive,
            (branch.into(), MethodKey::Other),
        );
        if let Some(leg) = self.legs.get_mut(&call) {
            leg.timers.keepalive_tsx = Some(id);
        }
    }
}

impl SipProvider {
    /// A 422 to our INVITE (RFC 4028 §7.4): send it again, once, with the far end's Min-SE
    /// as the interval. True if it went.
    pub(crate) fn retry_after_422(&mut self, now: Instant, call: CallId, resp: &Response) -> bool {
        let Some(min) = resp.headers().min_se().ok().flatten() else {
            return false;
        };
        let Some(mut leg) = self.legs.remove(&call) else {
            return false;
        };
        let fit = !leg.timers.retried_422
            && !leg.cancel_pending
            && matches!(leg.phase, Phase::Calling | Phase::Early);
        if !fit {
            self.legs.insert(call, leg);
            return false;
        }
        let Some(mut invite) = leg.invite.clone() else {
            self.legs.insert(call, leg);
            return false;
        };
        let interval = min.max(secs(leg.opts.min_se));
        let branch = self.ids.branch();
        let via = self.via(leg.peer.transport, &branch);
        leg.local_cseq += 1;
        let h = invite.headers_mut();
        h.set(HeaderName::Via, via);
        h.set(
            HeaderName::CSeq,
            crate::message::CSeq::new(leg.local_cseq, Method::Invite),
        );
        h.set(HeaderName::SessionExpires, interval);
        h.set(HeaderName::MinSe, interval);
        let bytes: crate::transaction::Wire = invite.to_bytes().into();
        leg.invite = Some(invite);
        leg.invite_seq = leg.local_cseq;
        leg.timers.retried_422 = true;
        leg.phase = Phase::Calling;
        leg.remote_tag = None;
        let peer = leg.peer;
        self.legs.insert(call, leg);
        let t = InviteClient::new(now, self.tsx_timers(), peer.transport.is_reliable(), bytes);
        let id = self.add_tsx(
            now,
            Tsx::InviteClient(t),
            peer,
            Some(call),
            Purpose::Invite,
            (branch.into(), MethodKey::Invite),
        );
        if let Some(leg) = self.legs.get_mut(&call) {
            leg.invite_tsx = Some(id);
        }
        true
    }
}

/// Whether a 422's Min-SE is above the session's interval.
fn raises(session: Option<Session>, resp: &Response) -> bool {
    let min = resp.headers().min_se().ok().flatten().map(u64::from);
    match (session, min) {
        (Some(s), Some(m)) => Duration::from_secs(m) > s.interval,
        _ => false,
    }
}

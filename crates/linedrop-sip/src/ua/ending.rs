//! How calls end: the engine's `end` turned into BYE, CANCEL or a final response, and the
//! transactions that fail (a timer, or a transport that cannot deliver) turned into the one
//! termination they mean. Every path here ends in `torn_down`, or leaves a transaction whose
//! own timer will get there.

use std::time::Instant;

use linedrop_core::{CallId, Cause, Now, Origin, ProviderEvent, Termination, WireEnd};

use super::leg::{EndReason, Phase};
use super::{Purpose, SipProvider};
use crate::transaction::Timer;

/// Why a transaction gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A timer ran out: B or F (no answer to our request), H (no ACK of our final).
    Timer(Timer),
    /// The transport could not deliver (ICMP unreachable, a connection refused or lost).
    Transport,
}

impl SipProvider {
    /// Ends a call on the wire for the engine.
    pub(crate) fn end_call(&mut self, now: Now, call: CallId, how: &Termination) {
        let Some(leg) = self.legs.get_mut(&call) else {
            return;
        };
        leg.end = Some(EndReason {
            q850: how.q850,
            text: how.text.clone(),
        });
        match leg.phase {
            Phase::Calling | Phase::Early => self.cancel_invite(now.instant, call),
            Phase::Offered => {
                let status = how.sip_status.unwrap_or(how.cause.reject_status());
                self.send_final_error(now, call, status);
            }
            // RFC 3261 §15: the callee must not BYE before the ACK of its 2xx (or Timer L).
            Phase::Accepting => leg.bye_after_ack = true,
            Phase::Confirmed => self.send_bye(now.instant, call),
            Phase::Cancelling | Phase::Rejecting | Phase::Byeing | Phase::Done => {}
        }
    }

    /// Cancels our pending INVITE: at once if a provisional response came, otherwise as soon
    /// as one does (RFC 3261 §9.1 forbids a CANCEL before), with Timer B bounding the wait.
    pub(crate) fn cancel_invite(&mut self, now: Instant, call: CallId) {
        let Some(leg) = self.legs.get_mut(&call) else {
            return;
        };
        match leg.phase {
            Phase::Calling => {
                leg.cancel_pending = true;
                leg.phase = Phase::Cancelling;
            }
            Phase::Early => {
                leg.phase = Phase::Cancelling;
                self.send_cancel(now, call);
            }
            _ => {}
        }
    }

    /// A transaction gave up (Timer B, F or H, or the transport).
    pub(crate) fn on_tsx_failure(
        &mut self,
        now: Instant,
        call: Option<CallId>,
        tsx: u64,
        purpose: Purpose,
        why: Failure,
    ) {
        let Some(call) = call else { return };
        let Some(leg) = self.legs.get(&call) else {
            return;
        };
        let phase = leg.phase;
        let ours = leg.invite_tsx == Some(tsx);
        match purpose {
            Purpose::Invite => {
                if matches!(phase, Phase::Calling | Phase::Early) {
                    self.report_end(call, network_end(call, why, "INVITE"));
                }
                // After a 2xx the dialog lives on; otherwise the INVITE was all there was.
                if !matches!(phase, Phase::Confirmed | Phase::Byeing) {
                    self.torn_down(call);
                }
            }
            // A BYE nobody answered (or that could not be sent) still ends the dialog
            // (RFC 3261 §15.1.1).
            Purpose::Bye => self.torn_down(call),
            // Timer H: the ACK of our final error never came.
            Purpose::Server if phase == Phase::Rejecting && ours => self.torn_down(call),
            // Their INVITE can no longer be answered (its provisional, 2xx or error could not
            // be sent): nothing else would ever end the call on the wire.
            Purpose::Server if ours && matches!(phase, Phase::Offered | Phase::Accepting) => {
                self.report_end(call, network_end(call, why, "our response"));
                self.torn_down(call);
            }
            Purpose::Server => {
                if let Some(leg) = self.legs.get_mut(&call) {
                    if leg.reinvite_tsx == Some(tsx) {
                        leg.reinvite_tsx = None;
                    }
                }
            }
            // RFC 3261 §12.2.1.2: a refresh or keepalive that gets no answer, or cannot be
            // sent, ends the dialog; the BYE is sent all the same, for a far end that is
            // only deaf.
            Purpose::Refresh => self.dialog_failed(
                now,
                call,
                Origin::Policy,
                Cause::SessionExpired,
                failure_text(why, "the session refresh"),
                None,
            ),
            Purpose::Keepalive => self.dialog_failed(
                now,
                call,
                Origin::Network,
                Cause::KeepaliveFailed,
                failure_text(why, "the keepalive"),
                None,
            ),
            Purpose::Cancel | Purpose::ForkBye => {}
        }
    }
}

fn failure_text(why: Failure, what: &str) -> String {
    match why {
        Failure::Timer(t) => format!("no answer to {what} (Timer {t:?})"),
        Failure::Transport => format!("{what} could not be sent"),
    }
}

/// The network's end of a call whose `what` got no answer or could not be sent.
fn network_end(call: CallId, why: Failure, what: &str) -> ProviderEvent {
    let (cause, sip_status, text) = match why {
        Failure::Timer(t) => (
            Cause::Timeout,
            Some(408),
            format!("no answer to {what} (Timer {t:?})"),
        ),
        Failure::Transport => (
            Cause::TransportFailure,
            None,
            format!("{what} could not be sent"),
        ),
    };
    ProviderEvent::Ended {
        call,
        origin: Origin::Network,
        cause,
        wire: WireEnd::None,
        sip_status,
        q850: Some(cause.q850()),
        text: Some(text),
    }
}

/// The Q.850 cause and the text of a message's Reason headers (RFC 3326; RFC 6432 for
/// responses). The Q.850 value gives the cause; the text is the first one given, or, when
/// only a SIP reason without text came, that reason as written (`SIP;cause=503`), so its
/// cause is not lost.
pub(crate) fn read_reason(msg: &impl HasHeaders) -> (Option<u8>, Option<String>) {
    let reasons = msg.headers_ref().reason().unwrap_or_default();
    let q850 = reasons
        .iter()
        .find(|r| r.protocol.eq_ignore_ascii_case("Q.850"))
        .and_then(|r| r.cause)
        .and_then(|c| u8::try_from(c).ok());
    let text = reasons.iter().find_map(|r| r.text.clone()).or_else(|| {
        reasons
            .iter()
            .find(|r| r.protocol.eq_ignore_ascii_case("SIP") && r.cause.is_some())
            .map(|r| r.to_string())
    });
    (q850, text)
}

/// Messages whose headers can be read (requests and responses).
pub(crate) trait HasHeaders {
    fn headers_ref(&self) -> &crate::message::Headers;
}

impl HasHeaders for crate::message::Response {
    fn headers_ref(&self) -> &crate::message::Headers {
        self.headers()
    }
}

impl HasHeaders for crate::message::Request {
    fn headers_ref(&self) -> &crate::message::Headers {
        self.headers()
    }
}

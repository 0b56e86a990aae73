//! The INVITE client transaction (RFC 3261 §17.1.1, RFC 6026 §8.4).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::timer::TimerTable;
use super::{Outbox, Timer, TimerConfig, TsxOutput, TsxState, Verdict, Wire};

/// Sends an INVITE and follows its responses.
#[derive(Debug)]
pub struct InviteClient {
    state: TsxState,
    /// Shared by every transaction of a user agent: a UDP transaction outlives its call
    /// by 64·T1, and a copy each would cost every one of them the whole table.
    cfg: Arc<TimerConfig>,
    reliable: bool,
    /// The INVITE, kept only while Timer A may resend it: not over a reliable transport,
    /// and not once anything is heard (Calling is over). An answered transaction lives
    /// 64·T1 more in Accepted (Timer M), and the INVITE with its SDP is most of its size.
    request: Option<Wire>,
    /// The ACK for a non-2xx final, kept to answer its retransmissions.
    ack: Option<Wire>,
    /// The next Timer A interval (doubles, uncapped, per §17.1.1.2).
    a_interval: Duration,
    timers: TimerTable,
    out: Outbox,
    retransmissions: u32,
}

impl InviteClient {
    /// Starts the transaction: the INVITE is queued for transmission.
    pub fn new(
        now: Instant,
        cfg: impl Into<Arc<TimerConfig>>,
        reliable: bool,
        request: Wire,
    ) -> Self {
        let cfg = cfg.into();
        let mut t = Self {
            state: TsxState::Calling,
            reliable,
            request: (!reliable).then(|| request.clone()),
            ack: None,
            a_interval: cfg.t1,
            cfg,
            timers: TimerTable::default(),
            out: Outbox::default(),
            retransmissions: 0,
        };
        t.out.push(TsxOutput::Transmit(request));
        if !reliable {
            t.timers.set(Timer::A, now + t.cfg.t1);
        }
        t.timers.set(Timer::B, now + t.cfg.t1x64());
        t
    }

    /// A response to our INVITE arrived. `ack` builds the ACK for a non-2xx final; it is
    /// called at most once.
    pub fn on_response(
        &mut self,
        now: Instant,
        status: u16,
        ack: impl FnOnce() -> Wire,
    ) -> Verdict {
        // Whatever it is, Calling is over: the INVITE is never sent again.
        self.request = None;
        match (self.state, status) {
            (TsxState::Calling | TsxState::Proceeding, 100..=199) => {
                // §17.1.1.2: no more retransmissions once anything is heard, and Timer B
                // applies only in Calling; the user agent bounds ringing by its policy.
                if self.state == TsxState::Calling {
                    self.timers.stop(Timer::B);
                }
                self.timers.stop(Timer::A);
                self.state = TsxState::Proceeding;
                Verdict::Deliver
            }
            (TsxState::Calling | TsxState::Proceeding, 200..=299) => {
                self.timers.clear();
                self.state = TsxState::Accepted;
                self.timers.set(Timer::M, now + self.cfg.t1x64());
                Verdict::Deliver
            }
            (TsxState::Calling | TsxState::Proceeding, 300..=699) => {
                self.timers.clear();
                self.state = TsxState::Completed;
                let ack = ack();
                self.out.push(TsxOutput::Transmit(ack.clone()));
                self.ack = Some(ack);
                let d = if self.reliable {
                    Duration::ZERO
                } else {
                    self.cfg.d
                };
                self.timers.set(Timer::D, now + d);
                Verdict::Deliver
            }
            // Every 2xx goes up in Accepted: a retransmission needs our ACK again, and one
            // with a new To tag is another fork to ACK and end.
            (TsxState::Accepted, 200..=299) => Verdict::Deliver,
            (TsxState::Completed, 300..=699) => {
                if let Some(ack) = &self.ack {
                    self.out.push(TsxOutput::Transmit(ack.clone()));
                    self.retransmissions += 1;
                }
                Verdict::Absorb
            }
            _ => Verdict::Absorb,
        }
    }

    /// We sent a CANCEL for this INVITE: if no final response comes within 64·T1, the
    /// transaction times out (RFC 3261 §9.1), so a far end that vanished cannot keep it.
    pub fn on_cancel_sent(&mut self, now: Instant) {
        if matches!(self.state, TsxState::Calling | TsxState::Proceeding) {
            self.timers.set(Timer::B, now + self.cfg.t1x64());
        }
    }

    /// The transport could not deliver: the transaction fails at once.
    pub fn on_transport_error(&mut self) {
        if self.state != TsxState::Terminated {
            self.out.push(TsxOutput::TransportError);
            self.terminate();
        }
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(t) = self.timers.expired(now) {
            match t {
                Timer::A if self.state == TsxState::Calling => {
                    if let Some(request) = &self.request {
                        self.out.push(TsxOutput::Transmit(request.clone()));
                        self.retransmissions += 1;
                    }
                    self.a_interval *= 2;
                    self.timers.set(Timer::A, now + self.a_interval);
                }
                Timer::B => {
                    self.out.push(TsxOutput::Timeout(Timer::B));
                    self.terminate();
                }
                Timer::D | Timer::M => self.terminate(),
                _ => {}
            }
        }
    }

    fn terminate(&mut self) {
        self.timers.clear();
        self.request = None;
        self.state = TsxState::Terminated;
        self.out.push(TsxOutput::Terminated);
    }
}

super::machine!(InviteClient);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::tests::{drain, fast, t0, wire};
    use crate::transaction::Machine;

    #[test]
    fn retransmits_with_doubling_until_a_provisional_then_stops() {
        let t0 = t0();
        let cfg = fast();
        let mut c = InviteClient::new(t0, cfg, false, wire("INVITE"));
        assert_eq!(drain(&mut c.out), vec![TsxOutput::Transmit(wire("INVITE"))]);
        let mut sent_at = Vec::new();
        let mut now = t0;
        while let Some((at, Timer::A)) = c.poll_timeout() {
            if at > t0 + cfg.t1 * 7 {
                break;
            }
            now = at;
            c.handle_timeout(now);
            sent_at.push(now - t0);
            drain(&mut c.out);
        }
        assert_eq!(
            sent_at,
            vec![cfg.t1, cfg.t1 * 3, cfg.t1 * 7],
            "A doubles: T1, 2T1, 4T1"
        );
        assert_eq!(c.on_response(now, 180, || unreachable!()), Verdict::Deliver);
        assert_eq!(c.state(), TsxState::Proceeding);
        assert_eq!(
            c.poll_timeout(),
            None,
            "no retransmission and no B once ringing"
        );
    }

    #[test]
    fn the_invite_is_kept_only_while_timer_a_may_resend_it() {
        let t0 = t0();
        let cfg = fast();
        let mut c = InviteClient::new(t0, cfg, false, wire("INVITE"));
        assert!(c.request.is_some());
        c.on_response(t0, 100, || unreachable!());
        assert!(c.request.is_none(), "heard: never resent");
        c.on_response(t0, 200, || unreachable!());
        assert_eq!(c.state(), TsxState::Accepted);
        let c = InviteClient::new(t0, cfg, true, wire("INVITE"));
        assert!(c.request.is_none(), "over TCP nothing resends it");
    }

    #[test]
    fn timer_b_times_out_a_silent_peer() {
        let t0 = t0();
        let cfg = fast();
        let mut c = InviteClient::new(t0, cfg, false, wire("INVITE"));
        c.handle_timeout(t0 + cfg.t1x64());
        let out = drain(&mut c.out);
        assert!(out.contains(&TsxOutput::Timeout(Timer::B)));
        assert_eq!(out.last(), Some(&TsxOutput::Terminated));
        assert_eq!(c.state(), TsxState::Terminated);
    }

    #[test]
    fn non_2xx_final_is_acked_and_its_retransmissions_re_acked_until_d() {
        let t0 = t0();
        let mut c = InviteClient::new(t0, fast(), false, wire("INVITE"));
        drain(&mut c.out);
        assert_eq!(c.on_response(t0, 486, || wire("ACK")), Verdict::Deliver);
        assert_eq!(drain(&mut c.out), vec![TsxOutput::Transmit(wire("ACK"))]);
        assert_eq!(c.on_response(t0, 486, || unreachable!()), Verdict::Absorb);
        assert_eq!(drain(&mut c.out), vec![TsxOutput::Transmit(wire("ACK"))]);
        let (at, timer) = c.poll_timeout().unwrap();
        assert_eq!((at - t0, timer), (Duration::from_secs(32), Timer::D));
        c.handle_timeout(at);
        assert_eq!(drain(&mut c.out), vec![TsxOutput::Terminated]);
    }

    #[test]
    fn over_tcp_there_are_no_retransmissions_and_d_is_zero() {
        let t0 = t0();
        let mut c = InviteClient::new(t0, fast(), true, wire("INVITE"));
        drain(&mut c.out);
        assert_eq!(c.poll_timeout().map(|(_, t)| t), Some(Timer::B));
        c.on_response(t0, 603, || wire("ACK"));
        c.handle_timeout(t0);
        assert_eq!(drain(&mut c.out).last(), Some(&TsxOutput::Terminated));
    }

    #[test]
    fn accepted_passes_every_2xx_up_until_m() {
        let t0 = t0();
        let cfg = fast();
        let mut c = InviteClient::new(t0, cfg, false, wire("INVITE"));
        assert_eq!(c.on_response(t0, 200, || unreachable!()), Verdict::Deliver);
        assert_eq!(c.state(), TsxState::Accepted);
        assert_eq!(c.on_response(t0, 200, || unreachable!()), Verdict::Deliver);
        assert_eq!(c.on_response(t0, 486, || unreachable!()), Verdict::Absorb);
        c.handle_timeout(t0 + cfg.t1x64());
        assert_eq!(c.state(), TsxState::Terminated);
    }

    #[test]
    fn a_transport_error_fails_at_once_and_is_not_a_timeout() {
        let t0 = t0();
        let mut c = InviteClient::new(t0, fast(), false, wire("INVITE"));
        drain(&mut c.out);
        c.on_transport_error();
        assert_eq!(
            drain(&mut c.out),
            vec![TsxOutput::TransportError, TsxOutput::Terminated]
        );
        assert_eq!(c.poll_timeout(), None);
        c.on_transport_error();
        assert!(drain(&mut c.out).is_empty(), "once");
    }

    #[test]
    fn a_cancelled_invite_that_never_gets_a_final_times_out() {
        let t0 = t0();
        let cfg = fast();
        let mut c = InviteClient::new(t0, cfg, false, wire("INVITE"));
        c.on_response(t0, 180, || unreachable!());
        let later = t0 + Duration::from_secs(100);
        c.on_cancel_sent(later);
        c.handle_timeout(later + cfg.t1x64());
        assert!(drain(&mut c.out).contains(&TsxOutput::Timeout(Timer::B)));
    }
}

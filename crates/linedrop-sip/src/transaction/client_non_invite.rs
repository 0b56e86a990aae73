//! The non-INVITE client transaction (RFC 3261 §17.1.2): BYE, CANCEL, OPTIONS, UPDATE.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::timer::TimerTable;
use super::{Outbox, Timer, TimerConfig, TsxOutput, TsxState, Verdict, Wire};

/// Sends a non-INVITE request and follows its responses.
#[derive(Debug)]
pub struct NonInviteClient {
    state: TsxState,
    /// Shared by every transaction of a user agent: a UDP transaction outlives its call
    /// by 64·T1, and a copy each would cost every one of them the whole table.
    cfg: Arc<TimerConfig>,
    reliable: bool,
    /// The request, kept only while Timer E may resend it: not over a reliable transport,
    /// and not once a final response came (Completed waits T4 more, for nothing it sends).
    request: Option<Wire>,
    /// The next Timer E interval.
    e_interval: Duration,
    timers: TimerTable,
    out: Outbox,
    retransmissions: u32,
}

impl NonInviteClient {
    /// Starts the transaction: the request is queued for transmission.
    pub fn new(
        now: Instant,
        cfg: impl Into<Arc<TimerConfig>>,
        reliable: bool,
        request: Wire,
    ) -> Self {
        let cfg = cfg.into();
        let mut t = Self {
            state: TsxState::Trying,
            reliable,
            request: (!reliable).then(|| request.clone()),
            e_interval: cfg.t1,
            cfg,
            timers: TimerTable::default(),
            out: Outbox::default(),
            retransmissions: 0,
        };
        t.out.push(TsxOutput::Transmit(request));
        if !reliable {
            t.timers.set(Timer::E, now + t.cfg.t1);
        }
        t.timers.set(Timer::F, now + t.cfg.t1x64());
        t
    }

    /// A response arrived.
    pub fn on_response(&mut self, now: Instant, status: u16) -> Verdict {
        match (self.state, status) {
            (TsxState::Trying | TsxState::Proceeding, 100..=199) => {
                self.state = TsxState::Proceeding;
                Verdict::Deliver
            }
            (TsxState::Trying | TsxState::Proceeding, 200..=699) => {
                self.timers.clear();
                self.request = None;
                self.state = TsxState::Completed;
                let k = if self.reliable {
                    Duration::ZERO
                } else {
                    self.cfg.t4
                };
                self.timers.set(Timer::K, now + k);
                Verdict::Deliver
            }
            _ => Verdict::Absorb,
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
                Timer::E => {
                    if let Some(request) = &self.request {
                        self.out.push(TsxOutput::Transmit(request.clone()));
                        self.retransmissions += 1;
                    }
                    // §17.1.2.2: doubling up to T2 while Trying, T2 flat once Proceeding.
                    self.e_interval = match self.state {
                        TsxState::Trying => (self.e_interval * 2).min(self.cfg.t2),
                        _ => self.cfg.t2,
                    };
                    self.timers.set(Timer::E, now + self.e_interval);
                }
                Timer::F => {
                    self.out.push(TsxOutput::Timeout(Timer::F));
                    self.terminate();
                }
                Timer::K => self.terminate(),
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

super::machine!(NonInviteClient);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::tests::{drain, fast, t0, wire};
    use crate::transaction::Machine;

    #[test]
    fn the_request_is_kept_only_while_timer_e_may_resend_it() {
        let t0 = t0();
        let cfg = fast();
        let mut c = NonInviteClient::new(t0, cfg, false, wire("BYE"));
        c.on_response(t0, 100);
        assert!(c.request.is_some(), "E goes on resending while Proceeding");
        c.on_response(t0, 200);
        assert!(c.request.is_none(), "Completed resends nothing");
        assert_eq!(c.poll_timeout(), Some((t0 + cfg.t4, Timer::K)));
        let c = NonInviteClient::new(t0, cfg, true, wire("BYE"));
        assert!(c.request.is_none(), "over TCP nothing resends it");
    }

    #[test]
    fn e_doubles_to_t2_then_f_times_out() {
        let t0 = t0();
        let cfg = fast();
        let mut c = NonInviteClient::new(t0, cfg, false, wire("BYE"));
        drain(&mut c.out);
        let mut gaps = Vec::new();
        let mut last = t0;
        while let Some((at, t)) = c.poll_timeout() {
            c.handle_timeout(at);
            if t == Timer::E {
                gaps.push(at - last);
                last = at;
            }
            if c.state() == TsxState::Terminated {
                assert_eq!(at - t0, cfg.t1x64());
                break;
            }
        }
        assert_eq!(
            &gaps[..5],
            &[cfg.t1, cfg.t1 * 2, cfg.t1 * 4, cfg.t2, cfg.t2]
        );
        assert!(gaps.iter().all(|g| *g <= cfg.t2));
    }

    #[test]
    fn a_final_response_completes_and_k_absorbs_then_ends() {
        let t0 = t0();
        let cfg = fast();
        let mut c = NonInviteClient::new(t0, cfg, false, wire("BYE"));
        drain(&mut c.out);
        assert_eq!(c.on_response(t0, 200), Verdict::Deliver);
        assert_eq!(c.on_response(t0, 200), Verdict::Absorb);
        assert_eq!(c.poll_timeout(), Some((t0 + cfg.t4, Timer::K)));
        c.handle_timeout(t0 + cfg.t4);
        assert_eq!(drain(&mut c.out), vec![TsxOutput::Terminated]);
    }

    #[test]
    fn proceeding_retransmits_at_t2() {
        let t0 = t0();
        let cfg = fast();
        let mut c = NonInviteClient::new(t0, cfg, false, wire("OPTIONS"));
        c.on_response(t0, 100);
        c.handle_timeout(t0 + cfg.t1);
        assert_eq!(c.poll_timeout(), Some((t0 + cfg.t1 + cfg.t2, Timer::E)));
    }
}

//! The non-INVITE server transaction (RFC 3261 §17.2.2).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::timer::TimerTable;
use super::{Outbox, Remainder, Timer, TimerConfig, TsxOutput, TsxState, Verdict, Wire};

/// Answers one received non-INVITE request.
#[derive(Debug)]
pub struct NonInviteServer {
    state: TsxState,
    /// Shared by every transaction of a user agent: a UDP transaction outlives its call
    /// by 64·T1, and a copy each would cost every one of them the whole table.
    cfg: Arc<TimerConfig>,
    reliable: bool,
    /// The last response sent, resent when the request is retransmitted.
    last: Option<Wire>,
    timers: TimerTable,
    out: Outbox,
    retransmissions: u32,
}

impl NonInviteServer {
    /// A new transaction for a received request, in Trying.
    pub fn new(cfg: impl Into<Arc<TimerConfig>>, reliable: bool) -> Self {
        let cfg = cfg.into();
        Self {
            state: TsxState::Trying,
            cfg,
            reliable,
            last: None,
            timers: TimerTable::default(),
            out: Outbox::default(),
            retransmissions: 0,
        }
    }

    /// Sends a response. Returns false if a final response was already sent.
    pub fn respond(&mut self, now: Instant, status: u16, bytes: Wire) -> bool {
        if !matches!(self.state, TsxState::Trying | TsxState::Proceeding) {
            return false;
        }
        self.out.push(TsxOutput::Transmit(bytes.clone()));
        self.last = Some(bytes);
        if status < 200 {
            self.state = TsxState::Proceeding;
        } else {
            self.state = TsxState::Completed;
            let j = if self.reliable {
                Duration::ZERO
            } else {
                self.cfg.t1x64()
            };
            self.timers.set(Timer::J, now + j);
        }
        true
    }

    /// The request arrived again: resend the last response, if any.
    pub fn on_retransmit(&mut self) -> Verdict {
        if let (TsxState::Proceeding | TsxState::Completed, Some(last)) = (self.state, &self.last) {
            self.out.push(TsxOutput::Transmit(last.clone()));
            self.retransmissions += 1;
        }
        Verdict::Absorb
    }

    /// The transport could not deliver our response.
    pub fn on_transport_error(&mut self) {
        if self.state != TsxState::Terminated {
            self.terminate();
        }
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(t) = self.timers.expired(now) {
            if t == Timer::J {
                self.terminate();
            }
        }
    }

    fn terminate(&mut self) {
        self.timers.clear();
        self.state = TsxState::Terminated;
        self.out.push(TsxOutput::Terminated);
    }

    /// Once the final response is sent over UDP and drained, all the transaction still does
    /// until Timer J is resend it to a retransmitted request; `None` before that, and over a
    /// reliable transport (Timer J is zero there: nothing lingers).
    pub fn remainder(&self) -> Option<Remainder> {
        if self.reliable || self.state != TsxState::Completed || !self.out.is_empty() {
            return None;
        }
        let (until, Timer::J) = self.timers.next()? else {
            return None;
        };
        Some(Remainder {
            resend: self.last.clone(),
            until,
            retransmissions: self.retransmissions,
        })
    }
}

super::machine!(NonInviteServer);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::tests::{drain, fast, t0, wire};
    use crate::transaction::Machine;

    #[test]
    fn a_retransmitted_bye_gets_the_same_200_until_j() {
        let now = t0();
        let cfg = fast();
        let mut s = NonInviteServer::new(cfg, false);
        s.respond(now, 200, wire("200"));
        drain(&mut s.out);
        s.on_retransmit();
        assert_eq!(drain(&mut s.out), vec![TsxOutput::Transmit(wire("200"))]);
        assert_eq!(s.poll_timeout(), Some((now + cfg.t1x64(), Timer::J)));
        s.handle_timeout(now + cfg.t1x64());
        assert_eq!(drain(&mut s.out), vec![TsxOutput::Terminated]);
    }

    #[test]
    fn once_answered_over_udp_only_the_final_response_and_timer_j_remain() {
        let now = t0();
        let cfg = fast();
        let mut s = NonInviteServer::new(cfg, false);
        assert_eq!(s.remainder(), None, "not answered yet");
        s.respond(now, 100, wire("100"));
        drain(&mut s.out);
        assert_eq!(s.remainder(), None, "a provisional response is not the end");
        s.respond(now, 200, wire("200"));
        assert_eq!(s.remainder(), None, "its response is not sent yet");
        drain(&mut s.out);
        s.on_retransmit();
        drain(&mut s.out);
        let want = Remainder {
            resend: Some(wire("200")),
            until: now + cfg.t1x64(),
            retransmissions: 1,
        };
        assert_eq!(s.remainder(), Some(want));
        let mut tcp = NonInviteServer::new(cfg, true);
        tcp.respond(now, 200, wire("200"));
        drain(&mut tcp.out);
        assert_eq!(tcp.remainder(), None, "over TCP nothing lingers");
    }

    #[test]
    fn over_tcp_j_is_zero() {
        let now = t0();
        let mut s = NonInviteServer::new(fast(), true);
        s.respond(now, 200, wire("200"));
        s.handle_timeout(now);
        assert_eq!(s.state(), TsxState::Terminated);
    }
}

//! The INVITE server transaction (RFC 3261 §17.2.1, RFC 6026 §8.5-8.7), which here also
//! retransmits its 2xx until the ACK (RFC 3261 §13.3.1.4; see the module docs).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::timer::TimerTable;
use super::{Outbox, Remainder, Timer, TimerConfig, TsxOutput, TsxState, Verdict, Wire};

/// Answers one received INVITE.
#[derive(Debug)]
pub struct InviteServer {
    state: TsxState,
    /// Shared by every transaction of a user agent: a UDP transaction outlives its call
    /// by 64·T1, and a copy each would cost every one of them the whole table.
    cfg: Arc<TimerConfig>,
    reliable: bool,
    /// The last response sent, resent when the INVITE is retransmitted (Proceeding,
    /// Completed) and by Timer G (Completed; Accepted until the ACK). Dropped once nothing
    /// can resend it (the ACK came, or the dialog ended first): Accepted then only absorbs
    /// retransmitted INVITEs until Timer L (RFC 6026 §8.7), and Confirmed only ACKs.
    last: Option<Wire>,
    /// The next Timer G interval.
    g_interval: Duration,
    /// Whether the ACK for our 2xx has arrived.
    acked: bool,
    timers: TimerTable,
    out: Outbox,
    retransmissions: u32,
}

impl InviteServer {
    /// A new transaction for a received INVITE, in Proceeding (the user agent sends the
    /// 100 Trying through [`InviteServer::respond`], unless its first response is sent
    /// at once: see [`InviteServer::is_silent`]).
    pub fn new(cfg: impl Into<Arc<TimerConfig>>, reliable: bool) -> Self {
        let cfg = cfg.into();
        Self {
            state: TsxState::Proceeding,
            reliable,
            last: None,
            g_interval: cfg.t1,
            cfg,
            acked: false,
            timers: TimerTable::default(),
            out: Outbox::default(),
            retransmissions: 0,
        }
    }

    /// Whether no response has been sent yet: the user agent then owes the INVITE its
    /// 100 Trying (RFC 3261 §17.2.1).
    pub fn is_silent(&self) -> bool {
        self.state == TsxState::Proceeding && self.last.is_none()
    }

    /// Sends a response. Returns false (and sends nothing) if the transaction can no
    /// longer respond (a final response was already sent).
    pub fn respond(&mut self, now: Instant, status: u16, bytes: Wire) -> bool {
        if self.state != TsxState::Proceeding {
            return false;
        }
        self.out.push(TsxOutput::Transmit(bytes.clone()));
        self.last = Some(bytes);
        match status {
            100..=199 => {}
            200..=299 => {
                self.state = TsxState::Accepted;
                self.timers.set(Timer::L, now + self.cfg.t1x64());
                if !self.reliable {
                    self.timers.set(Timer::G, now + self.g_interval);
                }
            }
            _ => {
                self.state = TsxState::Completed;
                if !self.reliable {
                    self.timers.set(Timer::G, now + self.g_interval);
                }
                self.timers.set(Timer::H, now + self.cfg.t1x64());
            }
        }
        true
    }

    /// The INVITE arrived again: resend the last response, if any.
    pub fn on_retransmit(&mut self) -> Verdict {
        if matches!(self.state, TsxState::Proceeding | TsxState::Completed) {
            if let Some(last) = &self.last {
                self.out.push(TsxOutput::Transmit(last.clone()));
                self.retransmissions += 1;
            }
        }
        Verdict::Absorb
    }

    /// An ACK matched this transaction. The first ACK of a 2xx goes up to the user agent
    /// (it confirms the dialog); an ACK of a non-2xx ends the exchange here.
    pub fn on_ack(&mut self, now: Instant) -> Verdict {
        match self.state {
            TsxState::Completed => {
                self.timers.stop(Timer::G);
                self.timers.stop(Timer::H);
                self.state = TsxState::Confirmed;
                self.last = None;
                let i = if self.reliable {
                    Duration::ZERO
                } else {
                    self.cfg.t4
                };
                self.timers.set(Timer::I, now + i);
                Verdict::Absorb
            }
            TsxState::Accepted if !self.acked => {
                self.acked = true;
                self.timers.stop(Timer::G);
                self.last = None;
                Verdict::Deliver
            }
            _ => Verdict::Absorb,
        }
    }

    /// The dialog ended before our 2xx was acknowledged (their BYE came first): stop
    /// resending the 2xx, and report no ACK timeout; Timer L still absorbs retransmitted
    /// INVITEs.
    pub fn abandon(&mut self) {
        if self.state == TsxState::Accepted {
            self.acked = true;
            self.timers.stop(Timer::G);
            self.last = None;
        }
    }

    /// The transport could not deliver our response.
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
                Timer::G => {
                    if let Some(last) = &self.last {
                        self.out.push(TsxOutput::Transmit(last.clone()));
                        self.retransmissions += 1;
                    }
                    self.g_interval = (self.g_interval * 2).min(self.cfg.t2);
                    self.timers.set(Timer::G, now + self.g_interval);
                }
                Timer::H => {
                    self.out.push(TsxOutput::Timeout(Timer::H));
                    self.terminate();
                }
                Timer::I => self.terminate(),
                Timer::L => {
                    if !self.acked {
                        self.out.push(TsxOutput::AckTimeout);
                    }
                    self.terminate();
                }
                _ => {}
            }
        }
    }

    fn terminate(&mut self) {
        self.timers.clear();
        self.last = None;
        self.state = TsxState::Terminated;
        self.out.push(TsxOutput::Terminated);
    }

    /// Whether our 2xx has been acknowledged.
    pub fn is_acked(&self) -> bool {
        self.acked
    }

    /// Once over UDP a 2xx is acknowledged (or abandoned) or the ACK of a non-2xx came, all
    /// the transaction still does until Timer L (or I) is absorb retransmitted INVITEs and
    /// ACKs; `None` before that, and over a reliable transport.
    pub fn remainder(&self) -> Option<Remainder> {
        let last_timer = match self.state {
            TsxState::Accepted if self.acked => Timer::L,
            TsxState::Confirmed => Timer::I,
            _ => return None,
        };
        if self.reliable || !self.out.is_empty() {
            return None;
        }
        match self.timers.next()? {
            (until, t) if t == last_timer && self.timers.armed() == 1 => Some(Remainder {
                resend: None,
                until,
                retransmissions: self.retransmissions,
            }),
            _ => None,
        }
    }
}

super::machine!(InviteServer);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::tests::{drain, fast, t0, wire};
    use crate::transaction::Machine;

    #[test]
    fn a_retransmitted_invite_gets_the_last_provisional_again() {
        let now = t0();
        let mut s = InviteServer::new(fast(), false);
        assert_eq!(s.on_retransmit(), Verdict::Absorb);
        assert!(
            drain(&mut s.out).is_empty(),
            "nothing sent yet, nothing to resend"
        );
        s.respond(now, 100, wire("100"));
        s.respond(now, 180, wire("180"));
        drain(&mut s.out);
        s.on_retransmit();
        assert_eq!(drain(&mut s.out), vec![TsxOutput::Transmit(wire("180"))]);
    }

    #[test]
    fn non_2xx_final_is_retransmitted_by_g_until_the_ack_then_i_ends_it() {
        let now = t0();
        let cfg = fast();
        let mut s = InviteServer::new(cfg, false);
        s.respond(now, 486, wire("486"));
        drain(&mut s.out);
        s.handle_timeout(now + cfg.t1);
        assert_eq!(drain(&mut s.out), vec![TsxOutput::Transmit(wire("486"))]);
        assert_eq!(s.poll_timeout(), Some((now + cfg.t1 * 3, Timer::G)));
        assert!(!s.respond(now, 200, wire("200")), "no second final");
        assert_eq!(s.on_ack(now + cfg.t1 * 2), Verdict::Absorb);
        assert_eq!(s.state(), TsxState::Confirmed);
        s.handle_timeout(now + cfg.t1 * 2 + cfg.t4);
        assert_eq!(drain(&mut s.out), vec![TsxOutput::Terminated]);
    }

    #[test]
    fn no_ack_for_a_non_2xx_final_is_timer_h() {
        let now = t0();
        let cfg = fast();
        let mut s = InviteServer::new(cfg, false);
        s.respond(now, 603, wire("603"));
        let mut t = now;
        while s.state() != TsxState::Terminated {
            let (at, _) = s.poll_timeout().unwrap();
            t = at;
            s.handle_timeout(at);
        }
        assert_eq!(t - now, cfg.t1x64());
        let out = drain(&mut s.out);
        assert!(out.contains(&TsxOutput::Timeout(Timer::H)));
        let resent = out
            .iter()
            .filter(|o| matches!(o, TsxOutput::Transmit(_)))
            .count();
        assert!(resent >= 10, "G keeps resending until H ({resent})");
    }

    #[test]
    fn a_2xx_is_retransmitted_until_acked_and_the_ack_goes_up_once() {
        let now = t0();
        let cfg = fast();
        let mut s = InviteServer::new(cfg, false);
        s.respond(now, 200, wire("200"));
        drain(&mut s.out);
        s.handle_timeout(now + cfg.t1);
        assert_eq!(drain(&mut s.out), vec![TsxOutput::Transmit(wire("200"))]);
        assert_eq!(s.on_ack(now + cfg.t1), Verdict::Deliver);
        assert_eq!(
            s.on_ack(now + cfg.t1),
            Verdict::Absorb,
            "a retransmitted ACK is absorbed"
        );
        assert_eq!(s.poll_timeout(), Some((now + cfg.t1x64(), Timer::L)));
        assert_eq!(s.on_retransmit(), Verdict::Absorb);
        assert!(
            drain(&mut s.out).is_empty(),
            "INVITE retransmissions are absorbed in Accepted"
        );
        s.handle_timeout(now + cfg.t1x64());
        assert_eq!(drain(&mut s.out), vec![TsxOutput::Terminated]);
    }

    #[test]
    fn the_response_is_dropped_once_nothing_can_resend_it() {
        let now = t0();
        let cfg = fast();
        let mut s = InviteServer::new(cfg, false);
        s.respond(now, 200, wire("200"));
        assert!(s.last.is_some(), "Timer G resends the 2xx until the ACK");
        s.on_ack(now);
        assert!(s.last.is_none(), "acknowledged: Accepted only absorbs");
        assert_eq!(s.state(), TsxState::Accepted);

        let mut s = InviteServer::new(cfg, false);
        s.respond(now, 200, wire("200"));
        s.abandon();
        assert!(
            s.last.is_none(),
            "the dialog ended: nothing resends the 2xx"
        );

        let mut s = InviteServer::new(cfg, false);
        s.respond(now, 486, wire("486"));
        s.on_retransmit();
        assert_eq!(
            drain(&mut s.out).last(),
            Some(&TsxOutput::Transmit(wire("486"))),
            "Completed resends the final response"
        );
        s.on_ack(now);
        assert!(s.last.is_none(), "Confirmed only absorbs ACKs");
        assert_eq!(s.on_retransmit(), Verdict::Absorb);
        assert!(drain(&mut s.out).is_empty());
    }

    #[test]
    fn only_absorbing_is_left_once_the_ack_came_or_the_2xx_was_abandoned() {
        let now = t0();
        let cfg = fast();
        let absorb = |until| {
            Some(Remainder {
                resend: None,
                until,
                retransmissions: 0,
            })
        };
        let mut s = InviteServer::new(cfg, false);
        s.respond(now, 200, wire("200"));
        drain(&mut s.out);
        assert_eq!(s.remainder(), None, "Timer G still resends the 2xx");
        assert_eq!(s.on_ack(now), Verdict::Deliver);
        assert_eq!(s.remainder(), absorb(now + cfg.t1x64()), "Timer L is left");

        let mut s = InviteServer::new(cfg, false);
        s.respond(now, 200, wire("200"));
        drain(&mut s.out);
        s.abandon();
        assert_eq!(s.remainder(), absorb(now + cfg.t1x64()));

        let mut s = InviteServer::new(cfg, false);
        s.respond(now, 486, wire("486"));
        drain(&mut s.out);
        assert_eq!(s.remainder(), None, "G and H still run until the ACK");
        s.on_ack(now);
        assert_eq!(s.remainder(), absorb(now + cfg.t4), "Timer I is left");

        let mut s = InviteServer::new(cfg, true);
        s.respond(now, 200, wire("200"));
        drain(&mut s.out);
        s.on_ack(now);
        assert_eq!(s.remainder(), None, "over TCP the machine stays");
    }

    #[test]
    fn a_2xx_never_acked_reports_ack_timeout_at_64_t1() {
        let now = t0();
        let cfg = fast();
        let mut s = InviteServer::new(cfg, true);
        s.respond(now, 200, wire("200"));
        drain(&mut s.out);
        assert_eq!(
            s.poll_timeout(),
            Some((now + cfg.t1x64(), Timer::L)),
            "no G over TCP"
        );
        s.handle_timeout(now + cfg.t1x64());
        assert_eq!(
            drain(&mut s.out),
            vec![TsxOutput::AckTimeout, TsxOutput::Terminated]
        );
    }
}

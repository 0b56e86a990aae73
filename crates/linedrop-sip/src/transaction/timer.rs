//! The timers of RFC 3261 §17 (and L, M of RFC 6026), as data.

use std::time::{Duration, Instant};

/// A transaction timer, named as in the RFCs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// INVITE request retransmit (unreliable transports).
    A,
    /// INVITE transaction timeout (client).
    B,
    /// Wait for response retransmissions after a non-2xx final (client INVITE).
    D,
    /// Non-INVITE request retransmit (unreliable transports).
    E,
    /// Non-INVITE transaction timeout (client).
    F,
    /// Final response retransmit (server INVITE; also the 2xx in Accepted).
    G,
    /// Wait for the ACK of a final response (server INVITE).
    H,
    /// Wait for ACK retransmissions (server INVITE, Confirmed).
    I,
    /// Wait for request retransmissions (server non-INVITE, Completed).
    J,
    /// Wait for response retransmissions (client non-INVITE, Completed).
    K,
    /// Absorb INVITE retransmissions after a 2xx (server INVITE, Accepted).
    L,
    /// Absorb 2xx retransmissions (client INVITE, Accepted).
    M,
}

impl Timer {
    fn index(self) -> usize {
        self as usize
    }
}

/// T1, T2 and T4 (RFC 3261 §17.1.1.1, table 4). Tests and the configuration make them short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate (default 500 ms).
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses (4 s).
    pub t2: Duration,
    /// Maximum time a message stays in the network (5 s).
    pub t4: Duration,
    /// Timer D: how long a client INVITE transaction absorbs retransmitted final error
    /// responses over UDP (RFC 3261: at least 32 s). Tests with a short T1 shorten it too.
    pub d: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            d: Duration::from_secs(32),
        }
    }
}

impl TimerConfig {
    /// 64·T1: the timeout of B, F, H, J (unreliable), L and M.
    pub fn t1x64(&self) -> Duration {
        self.t1 * 64
    }

    /// The longest any transaction can live: an INVITE server that gets no ACK for a 2xx
    /// (64·T1), or a client that hears a provisional response and then its final and its
    /// ACK window (bounded by the user agent's no-answer policy plus Timer D) — this
    /// returns the transaction-level part, `64·T1 + max(D, T4)`.
    pub fn longest_lifetime(&self) -> Duration {
        self.t1x64() + self.d.max(self.t4)
    }
}

/// The armed timers and their deadlines. No machine arms more than two at once (A and B,
/// E and F, G and H, G and L), so a few slots replace one per timer: a transaction lives
/// 64·T1 after its call, and a table of all twelve would cost 192 bytes in each.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimerTable([Option<(Instant, Timer)>; SLOTS]);

/// One more slot than any machine needs.
const SLOTS: usize = 3;

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        let slot = match self
            .0
            .iter()
            .position(|s| s.is_some_and(|(_, t)| t == timer))
        {
            Some(i) => Some(i),
            None => self.0.iter().position(Option::is_none),
        };
        // Invariant: every machine arms at most two timers at once (see above), so a slot
        // is always free.
        let i = slot.expect("a transaction arms at most two timers at once");
        self.0[i] = Some((at, timer));
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        for s in &mut self.0 {
            if s.is_some_and(|(_, t)| t == timer) {
                *s = None;
            }
        }
    }

    pub(crate) fn clear(&mut self) {
        self.0 = [None; SLOTS];
    }

    /// The earliest armed timer (of two due at once, the one first in RFC order).
    pub(crate) fn next(&self) -> Option<(Instant, Timer)> {
        self.0
            .iter()
            .flatten()
            .copied()
            .min_by_key(|(at, t)| (*at, t.index()))
    }

    /// Takes the earliest timer due at `now`, disarming it.
    pub(crate) fn expired(&mut self, now: Instant) -> Option<Timer> {
        let (at, t) = self.next()?;
        if at <= now {
            self.stop(t);
            Some(t)
        } else {
            None
        }
    }

    pub(crate) fn armed(&self) -> usize {
        self.0.iter().filter(|t| t.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::tests::t0;

    #[test]
    fn setting_an_armed_timer_moves_it_and_two_due_at_once_go_in_rfc_order() {
        let now = t0();
        let mut t = TimerTable::default();
        t.set(Timer::B, now + Duration::from_secs(32));
        t.set(Timer::A, now + Duration::from_secs(1));
        t.set(Timer::A, now + Duration::from_secs(2));
        assert_eq!(t.armed(), 2);
        assert_eq!(t.next(), Some((now + Duration::from_secs(2), Timer::A)));
        t.set(Timer::B, now + Duration::from_secs(2));
        assert_eq!(t.expired(now + Duration::from_secs(2)), Some(Timer::A));
        assert_eq!(t.expired(now + Duration::from_secs(2)), Some(Timer::B));
        assert_eq!(t.expired(now + Duration::from_secs(9)), None);
        assert_eq!(t.armed(), 0);
    }
}

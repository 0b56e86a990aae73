//! SIP transactions (RFC 3261 §17, with the Accepted state of RFC 6026), sans-IO.
//!
//! Each machine is driven by its transaction user (the user agent) and by time:
//!
//! - inputs: the constructor (which queues the first transmission), the `on_*` methods for
//!   what arrived or what the user decided, and [`handle_timeout`](InviteClient::handle_timeout);
//! - outputs: drain `poll_output` after every input until it returns `None`, then wake at
//!   `poll_timeout`.
//!
//! The machines only count time and decide what to (re)send; they work on the encoded bytes
//! the user agent hands them and never parse or build messages. Where a machine needs a new
//! message (the ACK of a non-2xx final response) it asks the user agent for it through a
//! closure, called only when that message is really needed.
//!
//! Constructors take the timers as `impl Into<Arc<TimerConfig>>`: a user agent hands every
//! transaction the same shared table (a UDP transaction outlives its call by 64·T1, so at R
//! calls/s some 64·R are live and a copy each would be paid by all of them); a plain
//! [`TimerConfig`] works too.
//!
//! Retransmissions happen only over unreliable transports; over TCP the timers that absorb
//! retransmissions (D, I, J, K) are zero, as §17 says.
//!
//! One deviation, on purpose: RFC 6026 leaves retransmitting a 2xx to INVITE (and giving up
//! when no ACK comes) to the transaction user. [`InviteServer`] does it in its Accepted
//! state, because both run on the same 64·T1 window as Timer L; the user agent only learns
//! the outcome ([`TsxOutput::AckTimeout`] or the ACK).

mod client_invite;
mod client_non_invite;
mod server_invite;
mod server_non_invite;
mod timer;

use std::sync::Arc;
use std::time::Instant;

pub use client_invite::InviteClient;
pub use client_non_invite::NonInviteClient;
pub use server_invite::InviteServer;
pub use server_non_invite::NonInviteServer;
pub use timer::{Timer, TimerConfig};

/// Encoded bytes of one message, shared so that a retransmission costs no copy.
pub type Wire = Arc<[u8]>;

/// What a transaction asks of its user agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TsxOutput {
    /// Send these bytes to the transaction's peer.
    Transmit(Wire),
    /// The transaction failed for want of an answer: Timer B or F (no response to our
    /// request) or H (no ACK for our final response) fired.
    Timeout(Timer),
    /// Our 2xx to INVITE was never acknowledged within 64·T1 (RFC 3261 §13.3.1.4): the
    /// user agent must end the dialog with BYE.
    AckTimeout,
    /// The transport could not deliver a message of this transaction (RFC 3261 §17.1.4,
    /// §17.2.4): it failed at once. Kept apart from [`TsxOutput::Timeout`] so the user agent
    /// can tell "nobody answered" from "it could not be sent".
    TransportError,
    /// The transaction is over and may be removed.
    Terminated,
}

/// All that is left of a server transaction over an unreliable transport once it has sent
/// its final response and heard all it waits for: until `until` (Timer J, L or I ends it),
/// a retransmitted request gets `resend` again (a non-INVITE's final response) or is
/// absorbed (an INVITE's, acknowledged). That is most of a UDP server transaction's 64·T1
/// life, and a user agent can keep this instead of the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remainder {
    /// What a retransmitted request is answered with; `None`: absorbed.
    pub resend: Option<Wire>,
    /// When the transaction ends.
    pub until: Instant,
    /// Resent so far.
    pub retransmissions: u32,
}

/// What the user agent should do with a message a transaction has just matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Hand it to the transaction user.
    Deliver,
    /// A retransmission the transaction has dealt with: drop it.
    Absorb,
}

/// The states of all four machines, named as in RFC 3261 §17 and RFC 6026.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsxState {
    /// Client INVITE: request sent, nothing heard.
    Calling,
    /// Client non-INVITE or server non-INVITE: request sent or received, no response yet.
    Trying,
    /// A provisional response has been sent or received.
    Proceeding,
    /// A 2xx to INVITE has been sent or received (RFC 6026).
    Accepted,
    /// A final response has been sent or received; absorbing retransmissions.
    Completed,
    /// Server INVITE: the ACK for a non-2xx final arrived.
    Confirmed,
    /// Over.
    Terminated,
}

/// What every transaction machine offers its user, whatever its kind: the sans-IO drain
/// contract (`poll_output` after every input, wake at `poll_timeout`), timers, failure and
/// a few counts. Inputs that differ by kind (`on_response`, `respond`, `on_ack`, ...) stay
/// on the machines themselves.
pub trait Machine {
    /// The next output; drain after every input.
    fn poll_output(&mut self) -> Option<TsxOutput>;
    /// The next timer and when it fires.
    fn poll_timeout(&self) -> Option<(Instant, Timer)>;
    /// Runs the timers due at `now`.
    fn handle_timeout(&mut self, now: Instant);
    /// The transport could not deliver: the transaction fails at once.
    fn on_transport_error(&mut self);
    /// The current state.
    fn state(&self) -> TsxState;
    /// How many times a message was sent again.
    fn retransmissions(&self) -> u32;
    /// Armed timers, for the ledger.
    fn timers_armed(&self) -> usize;
}

/// Implements [`Machine`] for a machine with the common fields (`out`, `timers`, `state`,
/// `retransmissions`) and inherent `handle_timeout` and `on_transport_error`.
macro_rules! machine {
    ($t:ty) => {
        impl $crate::transaction::Machine for $t {
            fn poll_output(&mut self) -> Option<$crate::transaction::TsxOutput> {
                self.out.pop()
            }

            fn poll_timeout(&self) -> Option<(std::time::Instant, $crate::transaction::Timer)> {
                self.timers.next()
            }

            fn handle_timeout(&mut self, now: std::time::Instant) {
                <$t>::handle_timeout(self, now)
            }

            fn on_transport_error(&mut self) {
                <$t>::on_transport_error(self)
            }

            fn state(&self) -> $crate::transaction::TsxState {
                self.state
            }

            fn retransmissions(&self) -> u32 {
                self.retransmissions
            }

            fn timers_armed(&self) -> usize {
                self.timers.armed()
            }
        }
    };
}
use machine;

/// Queue and timer plumbing every machine shares.
///
/// Nearly every input makes one output (a response to send, a request to resend), drained
/// at once: that one is kept inline, and only a second output waiting with it takes a
/// buffer. A queue that allocated for every first output cost two allocations a call.
#[derive(Debug, Default)]
pub(crate) enum Outbox {
    /// Nothing to say: most of a transaction's life (64·T1 after its call).
    #[default]
    Empty,
    /// One output.
    One(TsxOutput),
    /// Several, oldest first. Never empty: the last pop goes back to `Empty` and frees it.
    Many(std::collections::VecDeque<TsxOutput>),
}

impl Outbox {
    fn push(&mut self, o: TsxOutput) {
        match std::mem::take(self) {
            Outbox::Empty => *self = Outbox::One(o),
            Outbox::One(first) => *self = Outbox::Many([first, o].into()),
            Outbox::Many(mut all) => {
                all.push_back(o);
                *self = Outbox::Many(all);
            }
        }
    }

    /// Whether nothing waits to be drained.
    fn is_empty(&self) -> bool {
        matches!(self, Outbox::Empty)
    }

    /// The next output, oldest first.
    fn pop(&mut self) -> Option<TsxOutput> {
        match std::mem::take(self) {
            Outbox::Empty => None,
            Outbox::One(o) => Some(o),
            Outbox::Many(mut all) => {
                let o = all.pop_front();
                if !all.is_empty() {
                    *self = Outbox::Many(all);
                }
                o
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Instant;

    use super::{Outbox, TimerConfig, TsxOutput, Wire};

    /// A test's base instant; time then moves only by hand.
    #[allow(clippy::disallowed_methods)]
    pub(crate) fn t0() -> Instant {
        Instant::now()
    }

    /// RFC 3261's default timers: on a simulated clock they cost nothing.
    pub(crate) fn fast() -> TimerConfig {
        TimerConfig::default()
    }

    pub(crate) fn wire(s: &str) -> Wire {
        s.as_bytes().into()
    }

    pub(crate) fn drain(out: &mut Outbox) -> Vec<TsxOutput> {
        std::iter::from_fn(|| out.pop()).collect()
    }

    #[test]
    fn a_drained_outbox_keeps_no_buffer() {
        let mut out = Outbox::default();
        out.push(TsxOutput::Transmit(wire("a")));
        assert!(matches!(out, Outbox::One(_)), "one output takes no buffer");
        out.push(TsxOutput::Terminated);
        assert_eq!(out.pop(), Some(TsxOutput::Transmit(wire("a"))));
        assert!(matches!(out, Outbox::Many(_)), "not drained yet");
        assert_eq!(drain(&mut out), vec![TsxOutput::Terminated]);
        assert!(matches!(out, Outbox::Empty));
    }

    #[test]
    fn outputs_come_out_in_the_order_they_went_in() {
        let mut out = Outbox::default();
        let mut want = Vec::new();
        for round in 0..4 {
            // Interleaved: pushes onto one output, onto several, and onto an empty box.
            for i in 0..round {
                let o = TsxOutput::Transmit(wire(&format!("{round}.{i}")));
                out.push(o.clone());
                want.push(o);
            }
            if round % 2 == 1 {
                assert_eq!(out.pop(), Some(want.remove(0)));
            }
        }
        assert_eq!(drain(&mut out), want);
        assert_eq!(out.pop(), None);
    }

    #[test]
    fn an_outbox_is_no_bigger_than_the_queue_it_replaced() {
        assert!(
            std::mem::size_of::<Outbox>()
                <= std::mem::size_of::<std::collections::VecDeque<TsxOutput>>()
        );
    }
}

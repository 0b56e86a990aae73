//! The ways a soak call ends, and the termination each side must record.

use std::time::Duration;

use linedrop_core::{Cause, Origin};

use crate::net::Rng;

/// How one call of the soak ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Scenario {
    /// Connected, then the caller hangs up after the hold time.
    #[default]
    CallerHangsUp,
    /// Connected, then the callee hangs up after the hold time.
    CalleeHangsUp,
    /// The callee rings; the caller gives up (CANCEL).
    CallerCancels,
    /// The callee rejects (486 Busy Here).
    CalleeRejects,
    /// The callee rings, then every datagram of the call vanishes: the no-answer and
    /// offer limits end it.
    VanishWhileRinging,
    /// Connected, then every datagram of the call vanishes: the session timer ends it.
    VanishWhileConnected,
    /// Over TCP only: connected, then the call's connection is reset.
    ResetWhileConnected,
}

impl Scenario {
    const ALL: [Scenario; 6] = [
        Scenario::CallerHangsUp,
        Scenario::CalleeHangsUp,
        Scenario::CallerCancels,
        Scenario::CalleeRejects,
        Scenario::VanishWhileRinging,
        Scenario::VanishWhileConnected,
    ];

    /// One at random, all equally likely (resets only over TCP).
    pub fn pick(rng: &mut Rng, tcp: bool) -> Scenario {
        let n = Self::ALL.len() + usize::from(tcp);
        let i = ((rng.unit() * n as f64) as usize).min(n - 1);
        Self::ALL
            .get(i)
            .copied()
            .unwrap_or(Scenario::ResetWhileConnected)
    }

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::CallerHangsUp => "caller_hangs_up",
            Scenario::CalleeHangsUp => "callee_hangs_up",
            Scenario::CallerCancels => "caller_cancels",
            Scenario::CalleeRejects => "callee_rejects",
            Scenario::VanishWhileRinging => "vanish_while_ringing",
            Scenario::VanishWhileConnected => "vanish_while_connected",
            Scenario::ResetWhileConnected => "reset_while_connected",
        }
    }

    /// The longest the test waits before its action on an offered call: below the
    /// no-answer and offer limits (60 s), so the action, not the limit, ends the call.
    pub fn max_react(self) -> Duration {
        match self {
            Scenario::CallerCancels => Duration::from_secs(30),
            _ => Duration::from_secs(3),
        }
    }

    /// The (origin, cause) the caller and the callee must record.
    pub fn expected(self) -> [(Origin, Cause); 2] {
        match self {
            Scenario::CallerHangsUp => [
                (Origin::Local, Cause::Normal),
                (Origin::Remote, Cause::Normal),
            ],
            Scenario::CalleeHangsUp => [
                (Origin::Remote, Cause::Normal),
                (Origin::Local, Cause::Normal),
            ],
            Scenario::CallerCancels => [
                (Origin::Local, Cause::Cancelled),
                (Origin::Remote, Cause::Cancelled),
            ],
            Scenario::CalleeRejects => {
                [(Origin::Remote, Cause::Busy), (Origin::Local, Cause::Busy)]
            }
            Scenario::VanishWhileRinging => [
                (Origin::Policy, Cause::NoAnswer),
                (Origin::Policy, Cause::OfferTimeout),
            ],
            Scenario::VanishWhileConnected => [
                (Origin::Policy, Cause::SessionExpired),
                (Origin::Policy, Cause::SessionExpired),
            ],
            Scenario::ResetWhileConnected => [
                (Origin::Network, Cause::TransportFailure),
                (Origin::Network, Cause::TransportFailure),
            ],
        }
    }
}

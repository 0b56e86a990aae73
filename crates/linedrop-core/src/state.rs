//! Call states and the one table of legal transitions.

use std::fmt;

/// The state of a call (DESIGN.md §1).
///
/// Outbound: `Dialing → Proceeding → Ringback → Connected`; inbound: `Offering → Accepted →
/// Connected`; every path ends `Disconnected → Idle`. `Idle` is terminal and absorbing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallState {
    /// Outbound: the request has been sent; nothing heard yet.
    Dialing,
    /// Outbound: the network is working on it (SIP 100 Trying).
    Proceeding,
    /// Outbound: the far end is being alerted (SIP 180/183).
    Ringback,
    /// Inbound: a new call is offered to its owner.
    Offering,
    /// Inbound: the owner has claimed the call and the caller hears ringing.
    Accepted,
    /// Both parties are connected.
    Connected,
    /// The end has been decided; the provider is tearing down (BYE, CANCEL or a final
    /// response in flight).
    Disconnected,
    /// The provider has freed everything but the app-visible record. Never left.
    Idle,
}

impl CallState {
    /// Every state, in declaration order (the index of a state in this array is
    /// [`CallState::index`]).
    pub const ALL: [CallState; 8] = [
        CallState::Dialing,
        CallState::Proceeding,
        CallState::Ringback,
        CallState::Offering,
        CallState::Accepted,
        CallState::Connected,
        CallState::Disconnected,
        CallState::Idle,
    ];

    /// A dense index, for per-state tables.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The lower-case name used in the API, records and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Dialing => "dialing",
            CallState::Proceeding => "proceeding",
            CallState::Ringback => "ringback",
            CallState::Offering => "offering",
            CallState::Accepted => "accepted",
            CallState::Connected => "connected",
            CallState::Disconnected => "disconnected",
            CallState::Idle => "idle",
        }
    }

    /// Parses [`CallState::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// True until the end has been decided (`Disconnected` and `Idle` are not live).
    pub fn is_live(self) -> bool {
        !matches!(self, CallState::Disconnected | CallState::Idle)
    }

    /// True while an outbound call is being set up.
    pub fn is_outbound_setup(self) -> bool {
        matches!(
            self,
            CallState::Dialing | CallState::Proceeding | CallState::Ringback
        )
    }

    /// True while an inbound call waits for its owner.
    pub fn is_inbound_setup(self) -> bool {
        matches!(self, CallState::Offering | CallState::Accepted)
    }

    /// Whether `self → to` is a legal transition. This is the only place that says so.
    pub fn can_enter(self, to: CallState) -> bool {
        use CallState::*;
        matches!(
            (self, to),
            (Dialing, Proceeding | Ringback | Connected | Disconnected)
                | (Proceeding, Ringback | Connected | Disconnected)
                | (Ringback, Connected | Disconnected)
                | (Offering, Accepted | Connected | Disconnected)
                | (Accepted, Connected | Disconnected)
                | (Connected, Disconnected)
                | (Disconnected, Idle)
        )
    }
}

impl fmt::Display for CallState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::CallState::{self, *};

    #[test]
    fn idle_is_absorbing() {
        for to in CallState::ALL {
            assert!(!Idle.can_enter(to), "idle must never be left (to {to})");
        }
    }

    #[test]
    fn every_state_but_idle_can_end() {
        for from in CallState::ALL {
            match from {
                Idle => {}
                Disconnected => assert!(from.can_enter(Idle)),
                _ => {
                    assert!(from.can_enter(Disconnected), "{from} must be able to end");
                    assert!(
                        !from.can_enter(Idle),
                        "{from} must pass through disconnected"
                    );
                }
            }
        }
    }

    #[test]
    fn directions_never_mix() {
        for from in [Dialing, Proceeding, Ringback] {
            assert!(!from.can_enter(Offering) && !from.can_enter(Accepted));
        }
        for from in [Offering, Accepted] {
            assert!(!from.can_enter(Dialing) && !from.can_enter(Ringback));
        }
    }

    #[test]
    fn names_round_trip() {
        for st in CallState::ALL {
            assert_eq!(CallState::parse(st.as_str()), Some(st));
        }
        assert_eq!(CallState::parse("nope"), None);
    }
}

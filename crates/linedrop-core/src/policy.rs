//! Per-line limits that bound every state of a call.

use std::time::Duration;

/// The limits of a line. Every one is finite, so every call reaches `Idle` in a time
/// computable from them (see [`crate::Engine::idle_deadline`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinePolicy {
    /// Outbound: from dialing until connected; then the call ends with cause `no_answer`.
    pub no_answer: Duration,
    /// Inbound: from offering until connected; then the call ends with cause
    /// `offer_timeout`.
    pub offer_timeout: Duration,
    /// From connected; then the call ends with cause `max_duration`.
    pub max_duration: Duration,
    /// What happens to an inbound call when no app owns the line.
    pub unattended: Unattended,
}

/// What the engine does with an inbound call on a line no app owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unattended {
    /// Refuse it (480, cause `unattended`): there is nobody to offer it to.
    Offer,
    /// Answer it; if `hold` is set, hang up that long after it connects (origin `policy`,
    /// cause `normal`). Monitors of the line still see it.
    Answer {
        /// How long to stay connected before hanging up.
        hold: Option<Duration>,
    },
    /// Refuse it with this final status (400-699).
    Reject {
        /// The SIP status.
        status: u16,
    },
}

impl Default for LinePolicy {
    fn default() -> Self {
        Self {
            no_answer: Duration::from_secs(60),
            offer_timeout: Duration::from_secs(60),
            max_duration: Duration::from_secs(4 * 3600),
            unattended: Unattended::Offer,
        }
    }
}

/// A line: a local address that calls are made from and offered to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineConfig {
    /// The local address (for SIP, the identity URI, e.g. `sip:alice@127.0.0.1`).
    pub address: String,
    /// Its limits.
    pub policy: LinePolicy,
}

impl LineConfig {
    /// A line at `address` with default limits.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            policy: LinePolicy::default(),
        }
    }
}

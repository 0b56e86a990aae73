//! Counters of what the user agent saw and did, for the ledger, metrics and logs.

/// Running totals (never decrease).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SipStats {
    /// Messages received (parsed or not).
    pub received: u64,
    /// Messages sent, retransmissions included.
    pub sent: u64,
    /// Retransmissions sent.
    pub retransmissions: u64,
    /// Malformed requests answered with 400 (or 505, 513).
    pub malformed_answered: u64,
    /// Malformed messages dropped (unanswerable requests, any bad response).
    pub malformed_dropped: u64,
    /// Responses that matched no transaction, dropped.
    pub stray_responses: u64,
    /// Requests for a dialog we do not have, answered 481.
    pub unknown_dialog: u64,
    /// Late requests answered from a tombstone.
    pub tombstone_hits: u64,
    /// ACKs that matched nothing, dropped.
    pub stray_acks: u64,
    /// Transport failures reported by the driver.
    pub transport_errors: u64,
}

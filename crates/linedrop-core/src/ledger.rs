//! The ledger: every live resource, by kind. Tests, benchmarks and the API read this one.

use crate::provider::ProviderLedger;
use crate::state::CallState;

/// Live counts (and a few running totals) of the engine and its provider.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Calls held by the engine, by state ([`CallState::index`]).
    pub calls_by_state: [u64; 8],
    /// Valid handles.
    pub handles: u64,
    /// Armed engine timers (policy limits and teardown bounds).
    pub timers: u64,
    /// Events not yet drained.
    pub events_queued: u64,
    /// Record updates not yet drained.
    pub records_queued: u64,
    /// Open apps (not counted for quiescence: an app may stay open).
    pub apps: u64,
    /// Lines (not counted for quiescence).
    pub lines: u64,
    /// Total: causes that arrived after a call's termination was written.
    pub late_causes: u64,
    /// Total: calls the engine moved to `Idle` because the provider exceeded its teardown
    /// bound (a provider bug if ever non-zero).
    pub forced_teardowns: u64,
    /// Total: provider events that named an unknown call or an illegal transition.
    pub ignored_provider_events: u64,
    /// Total: calls refused on the wire after the drain finished
    /// ([`crate::Engine::finish_drain`]): they never became calls.
    pub refused_after_drain: u64,
    /// The provider's own counts.
    pub provider: ProviderLedger,
}

impl Ledger {
    /// Calls in `state`.
    pub fn calls(&self, state: CallState) -> u64 {
        self.calls_by_state[state.index()]
    }

    /// All calls held.
    pub fn total_calls(&self) -> u64 {
        self.calls_by_state.iter().sum()
    }

    /// True when nothing call-related is held: no calls, handles, timers, queued outputs,
    /// nor provider resources.
    pub fn is_quiescent(&self) -> bool {
        self.total_calls() == 0
            && self.handles == 0
            && self.timers == 0
            && self.events_queued == 0
            && self.records_queued == 0
            && self.provider.is_zero()
    }
}

//! The Provider trait: how the engine drives the wire, and how the wire reports back.
//!
//! The engine owns its provider. It calls the provider's verbs (`place`, `ring`, `answer`,
//! `end`, `close`) as apps act, and drains [`Provider::poll_event`] after every call into the
//! engine. A driver that feeds wire input to the provider directly (through
//! [`crate::Engine::provider_mut`]) must call [`crate::Engine::pump`] afterwards.
//!
//! Lifetime contract: the provider creates per-call state in `place` (outbound) or when it
//! reports [`ProviderEvent::Incoming`] (inbound), and frees it only in `close`, which the
//! engine calls exactly once per call, after the call is `Idle` and its last handle is gone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cause::{Cause, Origin, WireEnd};
use crate::error::ProviderError;
use crate::ids::{CallId, LineId};
use crate::state::CallState;
use crate::termination::Termination;
use crate::time::Now;

/// A request to place an outbound call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The line it is placed from.
    pub line: LineId,
    /// The line's address (our identity).
    pub from: String,
    /// The destination.
    pub to: String,
}

/// What the far end or the network did to a call, reported by the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderEvent {
    /// A new inbound call on `line`. The provider took `call` from the shared [`crate::CallIds`].
    Incoming {
        /// The new call's id.
        call: CallId,
        /// The line it arrived on.
        line: LineId,
        /// Who is calling.
        remote: Arc<str>,
        /// Who was called (our address as the caller wrote it).
        local: Arc<str>,
    },
    /// Outbound progress: `Proceeding` or `Ringback`.
    Progress {
        /// The call.
        call: CallId,
        /// The new state.
        state: CallState,
    },
    /// The call is established (outbound: 2xx received and acknowledged; inbound: our 2xx
    /// acknowledged).
    Connected {
        /// The call.
        call: CallId,
    },
    /// The far end or the network ended the call.
    Ended {
        /// The call.
        call: CallId,
        /// `Remote`, `Network`, or `Policy` (a rule of the wire such as an expired RFC 4028
        /// session timer).
        origin: Origin,
        /// Why.
        cause: Cause,
        /// How.
        wire: WireEnd,
        /// The SIP status involved, if any.
        sip_status: Option<u16>,
        /// The Q.850 cause read from a `Reason` header, if any.
        q850: Option<u8>,
        /// The `Reason` text, if any.
        text: Option<String>,
    },
    /// The wire is done with this call: the engine may move it to `Idle`.
    TornDown {
        /// The call.
        call: CallId,
    },
}

/// Facts the provider knows about a call, shown in its info and record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderFacts {
    /// The wire's identifier of the session (SIP Call-ID).
    pub call_ref: Option<Arc<str>>,
    /// Our tag in the dialog.
    pub local_tag: Option<Arc<str>>,
    /// Their tag in the dialog.
    pub remote_tag: Option<Arc<str>>,
    /// How many times we retransmitted a request or response for this call.
    pub retransmissions: u64,
}

/// The provider's live resources, by kind; all zero at quiescence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProviderLedger {
    /// Per-call provider state not yet closed.
    pub dialogs: u64,
    /// Transactions not yet terminated.
    pub transactions: u64,
    /// Armed timers.
    pub timers: u64,
    /// Tombstones of ended dialogs kept to answer late retransmissions.
    pub tombstones: u64,
    /// Open transport connections.
    pub connections: u64,
}

impl ProviderLedger {
    /// True when nothing is held.
    pub fn is_zero(&self) -> bool {
        *self == ProviderLedger::default()
    }
}

/// A call-control provider: the wire under the session model.
pub trait Provider {
    /// Makes `line` (with its local `address`) known, so inbound calls to it can be offered.
    fn add_line(&mut self, line: LineId, address: &str) -> Result<(), ProviderError>;

    /// Places an outbound call, creating the provider's state for `call`.
    fn place(&mut self, now: Now, call: CallId, placement: &Placement)
        -> Result<(), ProviderError>;

    /// Tells the caller of an inbound call that it is ringing.
    fn ring(&mut self, now: Now, call: CallId);

    /// Answers an inbound call; [`ProviderEvent::Connected`] follows when it is confirmed.
    fn answer(&mut self, now: Now, call: CallId);

    /// Ends a call as `how` says: the provider picks BYE, CANCEL or a final response from the
    /// state of the wire, and reports [`ProviderEvent::TornDown`] when done. Never fails:
    /// whatever the wire does, a `TornDown` follows within [`Provider::teardown_bound`].
    fn end(&mut self, now: Now, call: CallId, how: &Termination);

    /// Frees everything the provider holds for `call`. Called exactly once per call.
    fn close(&mut self, now: Now, call: CallId);

    /// The next thing that happened on the wire, if any.
    fn poll_event(&mut self) -> Option<ProviderEvent>;

    /// When the provider next needs [`Provider::handle_timeout`].
    fn poll_timeout(&self) -> Option<Instant>;

    /// Runs the provider's expired timers.
    fn handle_timeout(&mut self, now: Now);

    /// The longest a teardown (from `end`, or from the far end's end) may take before
    /// `TornDown`; the engine's bound on the `Disconnected` state.
    fn teardown_bound(&self) -> Duration;

    /// What the provider knows about `call`.
    fn facts(&self, call: CallId) -> ProviderFacts;

    /// The provider's live resources.
    fn ledger(&self) -> ProviderLedger;
}

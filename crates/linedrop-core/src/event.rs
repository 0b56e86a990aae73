//! Events for apps and record updates for the store.

use crate::ids::{AppId, CallHandle, CallId};
use crate::info::{CallInfo, Direction, Privilege};
use crate::state::CallState;
use crate::termination::Termination;

/// One event for one app. Each app's `seq` starts at 1 and increases by exactly one, so an
/// app (or an API client replaying from a sequence number) can tell it missed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppEvent {
    /// The app it is for.
    pub app: AppId,
    /// Its sequence number within that app's stream.
    pub seq: u64,
    /// The call it is about.
    pub call: CallId,
    /// The app's handle to that call.
    pub handle: CallHandle,
    /// What happened.
    pub kind: EventKind,
}

/// What happened to a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// The app now holds this call (a call it dialed, or one offered or shown to it).
    NewCall {
        /// The app's privilege.
        privilege: Privilege,
        /// Which way the call is going.
        direction: Direction,
        /// Its state when the app got it.
        state: CallState,
    },
    /// The call changed state.
    State {
        /// The state it left.
        from: CallState,
        /// The state it entered.
        to: CallState,
    },
    /// The call's termination was written (exactly once per call).
    Terminated(Termination),
    /// The holders changed (sent to the other holders; never after `Idle`).
    HoldersChanged {
        /// Owners now.
        owners: u32,
        /// Monitors now.
        monitors: u32,
    },
    /// A holder released its handle (sent to every holder, the releaser included; after
    /// this, the releaser's handle is invalid).
    Released {
        /// The app that released.
        by: AppId,
    },
}

impl EventKind {
    /// A short name for logs and wire formats.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::NewCall { .. } => "new_call",
            EventKind::State { .. } => "state",
            EventKind::Terminated(_) => "terminated",
            EventKind::HoldersChanged { .. } => "holders_changed",
            EventKind::Released { .. } => "released",
        }
    }
}

/// A change the store must make durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordUpdate {
    /// A call was created: write its row.
    Created(CallInfo),
    /// A call reached `Idle`: complete its row.
    Ended(CallInfo),
}

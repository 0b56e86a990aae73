//! The engine's per-call state.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::entered::Entered;
use crate::ids::{AppId, CallHandle, CallId, LineId};
use crate::info::{Direction, Holder, Privilege, StateTimes};
use crate::policy::LinePolicy;
use crate::state::CallState;
use crate::termination::Termination;
use crate::time::Now;

/// One call as the engine keeps it, from creation until it is `Idle` and its last handle is
/// released.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) id: CallId,
    pub(crate) direction: Direction,
    pub(crate) line: LineId,
    pub(crate) local: Arc<str>,
    pub(crate) remote: Arc<str>,
    pub(crate) state: CallState,
    /// When each state was entered; durations come from the monotonic part.
    pub(crate) entered: Entered,
    /// Written once, by the first cause.
    pub(crate) termination: Option<Termination>,
    pub(crate) late_causes: u32,
    /// Every handle to this call, in the order they were given out.
    pub(crate) holders: Vec<HolderEntry>,
    /// The line's limits, copied at creation so a later line change cannot move a deadline
    /// the engine has already promised.
    pub(crate) policy: LinePolicy,
    /// The provider's bound on `Disconnected`, copied at creation for the same reason.
    pub(crate) teardown_bound: Duration,
    /// The armed deadline of the current state (mirrors the engine's timer set).
    pub(crate) deadline: Option<Instant>,
    /// An inbound call we have answered (a second answer is refused).
    pub(crate) answered: bool,
    /// Answered by the line's unattended policy, with this hold time.
    pub(crate) auto_hold: Option<Duration>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct HolderEntry {
    pub(crate) handle: CallHandle,
    pub(crate) app: AppId,
    pub(crate) privilege: Privilege,
}

impl Call {
    pub(crate) fn entered_at(&self, state: CallState) -> Option<Now> {
        self.entered.at(state)
    }

    pub(crate) fn created_at(&self) -> Now {
        // A call is created by entering its first state.
        self.entered.first()
    }

    /// Its first state: where the durations start.
    fn first_state(&self) -> CallState {
        match self.direction {
            Direction::Outbound => CallState::Dialing,
            Direction::Inbound => CallState::Offering,
        }
    }

    pub(crate) fn holder(&self, handle: CallHandle) -> Option<&HolderEntry> {
        self.holders.iter().find(|h| h.handle == handle)
    }

    pub(crate) fn owners(&self) -> usize {
        self.holders
            .iter()
            .filter(|h| h.privilege == Privilege::Owner)
            .count()
    }

    pub(crate) fn is_sole_owner(&self, handle: CallHandle) -> bool {
        self.owners() == 1
            && self
                .holder(handle)
                .is_some_and(|h| h.privilege == Privilege::Owner)
    }

    pub(crate) fn public_holders(&self) -> Vec<Holder> {
        self.holders
            .iter()
            .map(|h| Holder {
                app: h.app,
                privilege: h.privilege,
            })
            .collect()
    }

    pub(crate) fn state_times(&self) -> StateTimes {
        self.entered.walls()
    }

    /// When the current state's limit expires, from the copied policy.
    pub(crate) fn state_deadline(&self) -> Option<Instant> {
        let since = |s: CallState| self.entered.instant_at(s);
        match self.state {
            CallState::Dialing | CallState::Proceeding | CallState::Ringback => {
                since(CallState::Dialing).map(|t| t + self.policy.no_answer)
            }
            CallState::Offering | CallState::Accepted => {
                since(CallState::Offering).map(|t| t + self.policy.offer_timeout)
            }
            CallState::Connected => {
                let limit = self
                    .policy
                    .max_duration
                    .min(self.auto_hold.unwrap_or(Duration::MAX));
                since(CallState::Connected).map(|t| t + limit)
            }
            CallState::Disconnected => {
                since(CallState::Disconnected).map(|t| t + self.teardown_bound)
            }
            CallState::Idle => None,
        }
    }

    /// The latest instant this call can reach `Idle`, whatever the far end does: the
    /// current state's limit, then (for a call not yet connected) a whole connected call,
    /// then a whole teardown.
    pub(crate) fn idle_deadline(&self) -> Instant {
        if self.state == CallState::Idle {
            // Invariant: entering Idle records its time.
            return self
                .entered
                .instant_at(CallState::Idle)
                .expect("idle has a time");
        }
        // Invariant: every non-idle state has a deadline (state_deadline covers them all).
        let current = self.state_deadline().expect("every live state is bounded");
        match self.state {
            CallState::Disconnected => current,
            CallState::Connected => current + self.teardown_bound,
            _ => current + self.policy.max_duration + self.teardown_bound,
        }
    }

    /// Whether the connected limit in force is the unattended hold (not max duration).
    pub(crate) fn hold_binds(&self) -> bool {
        self.auto_hold.is_some_and(|h| h < self.policy.max_duration)
    }

    /// From creation to connection, or to the end if it never connected.
    pub(crate) fn setup_duration(&self) -> Option<Duration> {
        let first = self.first_state();
        self.entered
            .between(first, CallState::Connected)
            .or_else(|| self.entered.between(first, CallState::Disconnected))
    }

    /// From connection to the end.
    pub(crate) fn talk_duration(&self) -> Option<Duration> {
        self.entered
            .between(CallState::Connected, CallState::Disconnected)
    }
}

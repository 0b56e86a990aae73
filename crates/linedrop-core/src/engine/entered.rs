//! When a call entered each state, kept in 96 bytes rather than a full clock reading per
//! state (256): one reading for the first state, and each state's entry as nanoseconds
//! after it. Every live call carries this, so it is paid per call at any load.
//!
//! A later state's wall time is the first reading's wall time plus the monotonic time
//! elapsed since: the record's timestamps then always agree with its durations, even if
//! the wall clock is stepped during the call.

use std::time::Duration;

use crate::info::StateTimes;
use crate::state::CallState;
use crate::time::Now;

/// Marks a state the call has not entered.
const NOT_ENTERED: u64 = u64::MAX;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Entered {
    /// The reading at creation (the first state's entry).
    first: Now,
    /// Nanoseconds after `first`, by [`CallState::index`].
    after: [u64; 8],
}

impl Entered {
    /// A call that entered `state` (its first) at `now`.
    pub(crate) fn new(state: CallState, now: Now) -> Self {
        let mut after = [NOT_ENTERED; 8];
        after[state.index()] = 0;
        Self { first: now, after }
    }

    /// The call entered `state` at `now`.
    pub(crate) fn set(&mut self, state: CallState, now: Now) {
        let since = now.instant.saturating_duration_since(self.first.instant);
        // 584 years fit in u64 nanoseconds; anything longer is clamped, never unmarked.
        self.after[state.index()] = u64::try_from(since.as_nanos()).unwrap_or(NOT_ENTERED - 1);
    }

    /// When the call entered `state`, if it did.
    pub(crate) fn at(&self, state: CallState) -> Option<Now> {
        match self.after[state.index()] {
            NOT_ENTERED => None,
            ns => Some(self.first.advance(Duration::from_nanos(ns))),
        }
    }

    /// The wall times, for info and records.
    pub(crate) fn walls(&self) -> StateTimes {
        let mut out = [None; 8];
        for (slot, &ns) in out.iter_mut().zip(&self.after) {
            if ns != NOT_ENTERED {
                *slot = Some(self.first.wall + Duration::from_nanos(ns));
            }
        }
        StateTimes(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Instant, SystemTime};

    #[test]
    fn each_state_keeps_its_reading_and_unentered_states_have_none() {
        #[allow(clippy::disallowed_methods)]
        let t0 = Now::new(
            Instant::now(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        );
        let mut e = Entered::new(CallState::Offering, t0);
        let t1 = t0.advance(Duration::from_millis(1500));
        let t2 = t1.advance(Duration::from_nanos(7));
        e.set(CallState::Connected, t1);
        e.set(CallState::Disconnected, t2);
        assert_eq!(e.at(CallState::Offering), Some(t0));
        assert_eq!(e.at(CallState::Connected), Some(t1));
        assert_eq!(e.at(CallState::Disconnected), Some(t2));
        assert_eq!(e.at(CallState::Dialing), None);
        assert_eq!(e.at(CallState::Idle), None);
        let walls = e.walls();
        assert_eq!(walls.at(CallState::Connected), Some(t1.wall));
        assert_eq!(walls.at(CallState::Disconnected), Some(t2.wall));
        assert_eq!(walls.at(CallState::Idle), None);
        assert!(std::mem::size_of::<Entered>() <= 96);
    }
}

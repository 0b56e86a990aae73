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

    /// The reading at creation.
    pub(crate) fn first(&self) -> Now {
        self.first
    }

    /// How long after creation the call entered `state`, if it did.
    pub(crate) fn after(&self, state: CallState) -> Option<Duration> {
        match self.after[state.index()] {
            NOT_ENTERED => None,
            ns => Some(Duration::from_nanos(ns)),
        }
    }

    /// From entering `from` to entering `to`, if it entered both (zero if `to` came first).
    /// Read from the offsets alone: no clock reading is rebuilt for a duration.
    pub(crate) fn between(&self, from: CallState, to: CallState) -> Option<Duration> {
        match (self.after[from.index()], self.after[to.index()]) {
            (NOT_ENTERED, _) | (_, NOT_ENTERED) => None,
            (a, b) => Some(Duration::from_nanos(b.saturating_sub(a))),
        }
    }

    /// When the call entered `state` on the monotonic clock, if it did.
    pub(crate) fn instant_at(&self, state: CallState) -> Option<std::time::Instant> {
        self.after(state).map(|d| self.first.instant + d)
    }

    /// When the call entered `state`, if it did.
    pub(crate) fn at(&self, state: CallState) -> Option<Now> {
        self.after(state).map(|d| self.first.advance(d))
    }

    /// The wall times, for info and records.
    pub(crate) fn walls(&self) -> StateTimes {
        let mut out = [None; 8];
        for (slot, &ns) in out.iter_mut().zip(&self.after) {
            *slot = match ns {
                NOT_ENTERED => None,
                0 => Some(self.first.wall),
                ns => Some(self.first.wall + Duration::from_nanos(ns)),
            };
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
        assert_eq!(e.instant_at(CallState::Connected), Some(t1.instant));
        assert_eq!(e.instant_at(CallState::Idle), None);
        assert_eq!(
            e.between(CallState::Connected, CallState::Disconnected),
            Some(Duration::from_nanos(7))
        );
        assert_eq!(
            e.between(CallState::Offering, CallState::Connected),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(e.between(CallState::Offering, CallState::Idle), None);
        assert_eq!(e.first(), t0);
        let walls = e.walls();
        assert_eq!(walls.at(CallState::Connected), Some(t1.wall));
        assert_eq!(walls.at(CallState::Disconnected), Some(t2.wall));
        assert_eq!(walls.at(CallState::Idle), None);
        assert!(std::mem::size_of::<Entered>() <= 96);
    }
}

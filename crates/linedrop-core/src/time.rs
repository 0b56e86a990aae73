//! Time as the engine sees it: passed in, never read.

use std::time::{Duration, Instant, SystemTime};

/// One reading of the clock, taken by the driver and passed to every engine call.
///
/// `instant` drives timers and durations (it never jumps); `wall` stamps records. Tests build
/// a `Now` at a fixed point and move both together with [`Now::advance`], so a 32-second
/// timer runs in microseconds and a failing run can be replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Monotonic time, for timers and durations.
    pub instant: Instant,
    /// Wall-clock time, for timestamps in records.
    pub wall: SystemTime,
}

impl Now {
    /// A reading made of its two parts.
    pub fn new(instant: Instant, wall: SystemTime) -> Self {
        Self { instant, wall }
    }

    /// This reading moved forward by `by`, both clocks together.
    pub fn advance(self, by: Duration) -> Self {
        Self {
            instant: self.instant + by,
            wall: self.wall + by,
        }
    }

    /// This reading moved forward to `instant` (no-op if `instant` is not later).
    pub fn advance_to(self, instant: Instant) -> Self {
        match instant.checked_duration_since(self.instant) {
            Some(by) => self.advance(by),
            None => self,
        }
    }
}

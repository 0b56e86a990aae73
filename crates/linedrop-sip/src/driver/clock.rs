//! The one real clock of the SIP stack.

use std::time::{Instant, SystemTime};

use linedrop_core::Now;

/// Reads the monotonic and the wall clock together.
///
/// This is the only function in the crate that reads a clock: the engine, the user agent and
/// the transactions take `now` as an argument so that tests can run their timers on a
/// simulated clock. The driver reads the real one here, once per wake-up, and hands the
/// reading to everything it calls.
#[allow(clippy::disallowed_methods)] // The driver is the one place allowed to read the time.
pub fn now() -> Now {
    Now::new(Instant::now(), SystemTime::now())
}

//! Helpers shared by the binary's integration tests.

use std::process::{Command, Stdio};

/// Whether SIPp is installed; the tests that need it say so and skip when it is not
/// (`.ci/run` installs it, so CI always runs them).
pub fn have_sipp() -> bool {
    let ok = Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        eprintln!("skipped: sipp not installed (apt-get install sip-tester)");
    }
    ok
}

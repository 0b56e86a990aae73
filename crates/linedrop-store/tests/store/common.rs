//! Builders of calls and records, and a temporary database directory.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use linedrop_core::{
    AppId, CallId, CallInfo, CallState, Cause, Direction, Holder, LineId, Origin, Privilege,
    ProviderFacts, RecordUpdate, StateTimes, Termination, WireEnd,
};
use linedrop_store::{Record, RecordPage, RecordQuery, SqliteStore, Store, StoreError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tempfile::TempDir;

/// A line address used by most tests.
pub const LINE: &str = "sip:alice@example.test";

/// How long any wait in a test may take before it counts as a failure.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A wall time `secs` after a fixed base (late 2023, whole seconds).
pub fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

/// A fresh directory and a database path inside a not-yet-existing subdirectory.
pub fn temp_db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("data").join("records.db");
    (dir, path)
}

/// A call as it is when created: outbound, dialing, nothing else known yet.
pub fn created_info(id: u64, created_at: SystemTime) -> CallInfo {
    let mut entered = StateTimes::default();
    entered.0[CallState::Dialing.index()] = Some(created_at);
    CallInfo {
        id: CallId(id),
        direction: Direction::Outbound,
        line: LineId::from_bits(1),
        local: LINE.into(),
        remote: format!("sip:{id}@far.test").into(),
        state: CallState::Dialing,
        created_at,
        entered,
        setup_duration: None,
        talk_duration: None,
        termination: None,
        late_causes: 0,
        holders: vec![Holder {
            app: AppId::from_bits(1),
            privilege: Privilege::Owner,
        }],
        facts: ProviderFacts::default(),
    }
}

/// The same call at its end: every field filled in, with odd microseconds so truncation
/// or unit mistakes would show.
pub fn ended_info(id: u64, created_at: SystemTime) -> CallInfo {
    let mut info = created_info(id, created_at);
    for (i, slot) in info.entered.0.iter_mut().enumerate() {
        *slot = Some(created_at + Duration::from_micros(1_000_003 * i as u64));
    }
    info.state = CallState::Idle;
    info.setup_duration = Some(Duration::from_micros(5_000_007));
    info.talk_duration = Some(Duration::from_micros(60_000_011));
    info.termination = Some(Termination {
        origin: Origin::Remote,
        cause: Cause::Busy,
        wire: WireEnd::FinalResponse,
        sip_status: Some(486),
        q850: Some(17),
        text: Some("Busy Here, ünïcode".into()),
        at: created_at + Duration::from_micros(66_000_013),
    });
    info.late_causes = 3;
    // A generation above 2^31 puts the key above i64::MAX: it must still round-trip.
    info.line = LineId::from_bits((0x8000_0001 << 32) | 2);
    info.holders.push(Holder {
        app: AppId::from_bits((7 << 32) | 9),
        privilege: Privilege::Monitor,
    });
    info.facts = ProviderFacts {
        call_ref: Some(format!("{id}@host").into()),
        local_tag: Some("lt".into()),
        remote_tag: Some("rt".into()),
        retransmissions: 4,
    };
    info
}

/// The open record of call `id`.
pub fn created(id: u64, created_at: SystemTime) -> Record {
    Record::from_update(RecordUpdate::Created(created_info(id, created_at)), LINE)
}

/// The completed record of call `id`, ended as given.
pub fn ended(
    id: u64,
    created_at: SystemTime,
    origin: Origin,
    cause: Cause,
    sip_status: Option<u16>,
) -> Record {
    let mut info = ended_info(id, created_at);
    if let Some(t) = info.termination.as_mut() {
        t.origin = origin;
        t.cause = cause;
        t.sip_status = sip_status;
    }
    Record::from_update(RecordUpdate::Ended(info), LINE)
}

/// A store that fails every write while its switch is on.
pub struct Flaky {
    /// The store it writes to when not failing.
    pub inner: SqliteStore,
    /// While true, every write fails.
    pub failing: Arc<AtomicBool>,
}

impl Store for Flaky {
    fn apply(&mut self, records: &[Record]) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Backend("disk full (simulated)".into()));
        }
        self.inner.apply(records)
    }
    fn get(&self, id: CallId) -> Result<Option<Record>, StoreError> {
        self.inner.get(id)
    }
    fn query(&self, q: &RecordQuery) -> Result<RecordPage, StoreError> {
        self.inner.query(q)
    }
    fn count(&self) -> Result<u64, StoreError> {
        self.inner.count()
    }
    fn max_call_id(&self) -> Result<Option<u64>, StoreError> {
        self.inner.max_call_id()
    }
    fn close_orphans(&mut self, at: SystemTime) -> Result<Vec<CallId>, StoreError> {
        self.inner.close_orphans(at)
    }
    fn purge_completed_before(&mut self, before: SystemTime) -> Result<u64, StoreError> {
        self.inner.purge_completed_before(before)
    }
}

/// Runs test `test` of this binary again in a child process, with `env` naming the database
/// at `path`: the test sees the variable and plays the part of a process that dies by abort.
/// Returns once the child has died as planned.
pub fn crash_child(test: &str, env: &str, path: &std::path::Path) {
    let exe = std::env::current_exe().expect("test binary");
    let output = std::process::Command::new(exe)
        .args(["--exact", test, "--test-threads=1", "--nocapture"])
        .env(env, path)
        .output()
        .expect("run the child");
    // Its output is kept out of ours (a test runner's half-printed report would confuse
    // whoever reads the log) and shown only if it did not die as planned.
    assert!(
        !output.status.success(),
        "the child must die by abort, got {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout)
    );
}

use linedrop_core::{CallId, CallState, Cause, Origin, WireEnd};
use linedrop_store::{Record, RecordWriter, SqliteStore, Store, WriterConfig};

use crate::common::{at, crash_child, created, ended, temp_db, DEADLINE};

/// Set in the child process that plays a daemon killed mid-run; names its database.
const CHILD_ENV: &str = "LINEDROP_STORE_TEST_ABORT_CHILD";

/// Checks the record of a call the restart closed.
fn assert_closed_by_restart(record: &Record, restart: std::time::SystemTime) {
    assert!(record.completed, "call {} left open", record.id);
    assert_eq!(record.state, CallState::Idle);
    assert_eq!(record.entered.at(CallState::Idle), Some(restart));
    let end = record.termination.as_ref().expect("terminated");
    assert_eq!(
        (end.origin, end.cause, end.wire, end.at),
        (Origin::Network, Cause::Restart, WireEnd::None, restart)
    );
}

#[test]
fn orphans_of_a_dropped_writer_are_closed_as_restart() {
    let (_dir, path) = temp_db();
    let writer = RecordWriter::spawn(
        SqliteStore::open(&path).expect("open"),
        WriterConfig::default(),
    )
    .expect("spawn");
    for id in 1..=10 {
        writer.send_record(created(id, at(id))).expect("send");
    }
    for id in 1..=3 {
        writer
            .send_record(ended(id, at(id), Origin::Local, Cause::Normal, None))
            .expect("send");
    }
    // The daemon going away with calls still up: no Ended for 4..=10.
    drop(writer);

    let mut store = SqliteStore::open(&path).expect("reopen");
    let restart = at(1000);
    let closed = store.close_orphans(restart).expect("close orphans");
    assert_eq!(closed, (4..=10).map(CallId).collect::<Vec<_>>());
    for id in 1..=10 {
        let record = store
            .get(CallId(id))
            .expect("get")
            .expect("every call has a row");
        if id <= 3 {
            assert_eq!(
                record,
                ended(id, at(id), Origin::Local, Cause::Normal, None)
            );
        } else {
            assert_closed_by_restart(&record, restart);
        }
    }
    assert_eq!(store.count(), Ok(10));
    assert_eq!(
        store.close_orphans(at(2000)),
        Ok(Vec::new()),
        "a second pass finds none"
    );
    assert_eq!(store.max_call_id(), Ok(Some(10)));
}

/// The child's part: commit a batch, queue more without waiting, then abort the process
/// the way a crash would (no destructors, no flush).
fn child(path: &str) -> ! {
    let mut store = SqliteStore::open(path).expect("child open");
    // As the daemon runs it: a crash must lose no commit whoever checkpoints.
    store
        .checkpoint_in_background()
        .expect("child checkpointer");
    let writer = RecordWriter::spawn(store, WriterConfig::default()).expect("child spawn");
    let mut last = 0;
    for id in 1..=20 {
        last = writer.send_record(created(id, at(id))).expect("send");
    }
    for id in 1..=5 {
        last = writer
            .send_record(ended(id, at(id), Origin::Remote, Cause::Normal, None))
            .expect("send");
    }
    assert!(writer.wait_durable(last, DEADLINE), "child batch committed");
    for id in 21..=30 {
        writer.send_record(created(id, at(id))).expect("send");
    }
    std::process::abort();
}

#[test]
fn a_committed_batch_survives_an_abort() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        child(&path);
    }
    let (_dir, path) = temp_db();
    crash_child(
        "recovery::a_committed_batch_survives_an_abort",
        CHILD_ENV,
        &path,
    );

    let mut store = SqliteStore::open(&path).expect("reopen after the crash");
    let restart = at(5000);
    let closed = store.close_orphans(restart).expect("close orphans");
    for id in 1..=20 {
        let record = store
            .get(CallId(id))
            .expect("get")
            .expect("committed before the crash");
        if id <= 5 {
            assert_eq!(
                record,
                ended(id, at(id), Origin::Remote, Cause::Normal, None)
            );
        } else {
            assert_closed_by_restart(&record, restart);
        }
    }
    // 21..=30 may or may not have been committed before the abort; whichever were are
    // whole rows, now closed like the others.
    let stored = store.count().expect("count");
    assert!((20..=30).contains(&stored), "{stored} rows");
    assert_eq!(closed.len() as u64, stored - 5);
    let page = store
        .query(&linedrop_store::RecordQuery {
            completed: Some(false),
            ..Default::default()
        })
        .expect("query");
    assert!(page.records.is_empty(), "no record left open");
}

//! The journal in front of the store: durable at the journal write, in the store by the next
//! seal or a reader's request, replayed after a crash, never lost when the store fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use linedrop_core::{CallId, Cause, Origin};
use linedrop_store::{
    replay_journal, JournalConfig, Record, RecordWriter, SqliteStore, Store, StoreError,
    WriterConfig,
};

use crate::common::{at, crash_child, created, ended, temp_db, Flaky, DEADLINE};

/// Set in the child process that plays a daemon killed mid-run; names its database.
const CHILD_ENV: &str = "LINEDROP_STORE_TEST_JOURNAL_CHILD";

/// A journalled writer's config whose segments are never sealed by age during a test: the
/// store gets the records only when a reader settles or the writer closes, so what the
/// journal holds does not depend on how fast the machine is.
fn journalled(path: &Path) -> WriterConfig {
    WriterConfig {
        journal: Some(JournalConfig {
            seal_after: std::time::Duration::from_secs(3600),
            ..JournalConfig::beside(path)
        }),
        ..WriterConfig::default()
    }
}

/// The journal's segment files, in no particular order.
fn segments(db: &Path) -> Vec<PathBuf> {
    let stem = format!(
        "{}-pending.",
        db.file_name().and_then(|n| n.to_str()).expect("a name")
    );
    std::fs::read_dir(db.parent().expect("a directory"))
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&stem))
        })
        .collect()
}

/// Calls 1..=n created, and the odd ones ended: what a store holds once all are written.
fn traffic(n: u64) -> Vec<Record> {
    let mut records: Vec<Record> = (1..=n).map(|id| created(id, at(id))).collect();
    records.extend(
        (1..=n)
            .filter(|id| id % 2 == 1)
            .map(|id| ended(id, at(id), Origin::Remote, Cause::Normal, Some(200))),
    );
    records
}

fn expected(id: u64) -> Record {
    if id % 2 == 1 {
        ended(id, at(id), Origin::Remote, Cause::Normal, Some(200))
    } else {
        created(id, at(id))
    }
}

#[test]
fn durable_records_reach_the_store_when_a_reader_settles_and_all_of_them_at_close() {
    let (_dir, path) = temp_db();
    let writer = RecordWriter::spawn(SqliteStore::open(&path).expect("open"), journalled(&path))
        .expect("spawn");
    let mut last = 0;
    for record in traffic(40) {
        last = writer.send_record(record).expect("send");
    }
    assert!(writer.wait_durable(last, DEADLINE));
    assert!(!segments(&path).is_empty(), "durable in the journal");
    assert!(writer.settle(DEADLINE), "the applier commits on request");
    let reader = SqliteStore::open(&path).expect("reader");
    for id in 1..=40 {
        assert_eq!(reader.get(CallId(id)), Ok(Some(expected(id))), "call {id}");
    }
    let stats = writer.stats();
    assert_eq!((stats.committed, stats.applied), (60, 60), "{stats:?}");

    for id in 41..=45 {
        writer.send_record(created(id, at(id))).expect("send");
    }
    writer.close().expect("close");
    assert_eq!(reader.count(), Ok(45));
    assert!(segments(&path).is_empty(), "{:?}", segments(&path));
}

/// A sender that never calls `write_due` (and a linger it would never reach): its records
/// become durable, then reach the store, with nobody asking.
#[test]
fn an_idle_writer_brings_the_journal_and_the_store_up_to_date_by_itself() {
    let (_dir, path) = temp_db();
    let config = WriterConfig {
        linger: std::time::Duration::from_secs(3600),
        journal: Some(JournalConfig {
            // Also the applier's tick: how often it writes what senders left held.
            seal_after: std::time::Duration::from_millis(50),
            ..JournalConfig::beside(&path)
        }),
        ..WriterConfig::default()
    };
    let writer =
        RecordWriter::spawn(SqliteStore::open(&path).expect("open"), config).expect("spawn");
    let seq = writer.send_record(created(1, at(1))).expect("send");
    let end = std::time::Instant::now() + DEADLINE;
    while writer.durable() < seq {
        assert!(std::time::Instant::now() < end, "held for ever");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let reader = SqliteStore::open(&path).expect("reader");
    // No reader asks: the open segment is sealed once it comes due, and applied.
    let end = std::time::Instant::now() + DEADLINE;
    while reader.count() != Ok(1) {
        assert!(std::time::Instant::now() < end, "never applied");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let end = std::time::Instant::now() + DEADLINE;
    while !segments(&path).is_empty() {
        assert!(std::time::Instant::now() < end, "segment never deleted");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    writer.close().expect("close");
}

/// The child's part: make a batch durable in the journal, then abort the way a crash
/// would, before the applier's first commit (nothing seals its segment by age).
fn child(path: &str) -> ! {
    let path = Path::new(path);
    let writer = RecordWriter::spawn(SqliteStore::open(path).expect("open"), journalled(path))
        .expect("child spawn");
    let mut last = 0;
    for record in traffic(20) {
        last = writer.send_record(record).expect("send");
    }
    assert!(writer.wait_durable(last, DEADLINE), "child batch durable");
    std::process::abort();
}

#[test]
fn records_journalled_before_an_abort_are_replayed_with_their_real_ends() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        child(&path);
    }
    let (_dir, path) = temp_db();
    crash_child(
        "journal::records_journalled_before_an_abort_are_replayed_with_their_real_ends",
        CHILD_ENV,
        &path,
    );
    assert!(!segments(&path).is_empty(), "the journal holds the batch");

    // As the daemon starts: replay, then close what is still open.
    let mut store = SqliteStore::open(&path).expect("reopen after the crash");
    let replayed = replay_journal(&JournalConfig::beside(&path).path, &mut store).expect("replay");
    assert_eq!(replayed.records, 30, "{replayed:?}");
    assert!(replayed.torn.is_empty(), "{replayed:?}");
    assert!(segments(&path).is_empty(), "replayed segments are deleted");
    let closed = store.close_orphans(at(5000)).expect("close orphans");
    assert_eq!(
        closed,
        (1..=20)
            .filter(|id| id % 2 == 0)
            .map(CallId)
            .collect::<Vec<_>>()
    );
    for id in (1..=20).filter(|id| id % 2 == 1) {
        assert_eq!(store.get(CallId(id)), Ok(Some(expected(id))), "call {id}");
    }
    // Replaying again finds nothing.
    let again = replay_journal(&JournalConfig::beside(&path).path, &mut store).expect("replay");
    assert_eq!(again.records, 0);
}

/// Writes a journal of whole batches with a writer that never reaches the store (it fails
/// every write until closed), and returns the database path and the segment files.
fn journal_of(records: Vec<Record>) -> (tempfile::TempDir, PathBuf, Vec<PathBuf>) {
    let (dir, path) = temp_db();
    let store = Flaky {
        inner: SqliteStore::open(&path).expect("open"),
        failing: Arc::new(AtomicBool::new(true)),
    };
    let writer = RecordWriter::spawn(store, journalled(&path)).expect("spawn");
    let mut last = 0;
    for record in records {
        last = writer.send_record(record).expect("send");
    }
    assert!(writer.wait_durable(last, DEADLINE));
    let err = writer.close().expect_err("the store never took them");
    assert!(err.to_string().contains("stay in the journal"), "{err}");
    let files = segments(&path);
    (dir, path, files)
}

#[test]
fn a_failing_store_loses_nothing_the_journal_holds_it_until_a_replay() {
    let (_dir, path, files) = journal_of(traffic(10));
    assert!(!files.is_empty());
    let mut store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.count(), Ok(0), "the store never took them");
    let replayed = replay_journal(&JournalConfig::beside(&path).path, &mut store).expect("replay");
    assert_eq!(replayed.records, 15);
    for id in 1..=10 {
        assert_eq!(store.get(CallId(id)), Ok(Some(expected(id))), "call {id}");
    }
}

#[test]
fn a_failing_store_is_retried_and_its_failures_counted() {
    let (_dir, path) = temp_db();
    let failing = Arc::new(AtomicBool::new(true));
    let store = Flaky {
        inner: SqliteStore::open(&path).expect("open"),
        failing: Arc::clone(&failing),
    };
    let writer = RecordWriter::spawn(store, journalled(&path)).expect("spawn");
    for id in 1..=5 {
        writer.send_record(created(id, at(id))).expect("send");
    }
    writer.flush().expect("durable: the journal does not fail");
    assert!(
        !writer.settle(std::time::Duration::from_millis(200)),
        "the store fails"
    );
    let stats = writer.stats();
    assert!(stats.failed_applies >= 1, "{stats:?}");
    assert_eq!((stats.committed, stats.applied), (5, 0), "{stats:?}");
    assert_eq!(
        stats.last_error,
        Some(StoreError::Backend("disk full (simulated)".into()))
    );
    failing.store(false, Ordering::SeqCst);
    assert!(writer.settle(DEADLINE), "the retry succeeds");
    assert_eq!(SqliteStore::open(&path).expect("reader").count(), Ok(5));
    writer.close().expect("close");
    assert!(segments(&path).is_empty());
}

#[test]
fn a_torn_last_frame_is_skipped_and_reported_and_the_whole_ones_replayed() {
    let (_dir, path, files) = journal_of(traffic(6));
    let last = files.iter().max().expect("a segment").clone();
    // A batch the process was writing when it died: its head and part of its payload.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&last)
        .expect("open segment");
    file.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9])
        .expect("write");
    drop(file);
    let mut store = SqliteStore::open(&path).expect("reopen");
    let replayed = replay_journal(&JournalConfig::beside(&path).path, &mut store).expect("replay");
    assert_eq!(replayed.records, 9);
    assert_eq!(replayed.torn, vec![(last, 15)]);
    assert_eq!(store.count(), Ok(6));
}

#[test]
fn a_damaged_frame_stops_the_replay_of_its_segment_there() {
    let (_dir, path, files) = journal_of(traffic(4));
    let segment = files.iter().min().expect("a segment").clone();
    let mut bytes = std::fs::read(&segment).expect("read");
    // A flipped bit in the first frame's payload (past the 8-byte header and the frame's
    // 12-byte head): its checksum no longer matches.
    bytes[8 + 12 + 10] ^= 0x10;
    std::fs::write(&segment, &bytes).expect("write");
    let mut store = SqliteStore::open(&path).expect("reopen");
    let replayed = replay_journal(&JournalConfig::beside(&path).path, &mut store).expect("replay");
    assert_eq!(replayed.torn.len(), 1, "{replayed:?}");
    assert_eq!(replayed.torn[0].0, segment);
}

#[test]
fn a_file_that_is_not_a_journal_is_refused_and_left_alone() {
    let (_dir, path) = temp_db();
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    let foreign = PathBuf::from(format!("{}-pending.7", path.display()));
    std::fs::write(&foreign, b"hello, this is somebody else's file").expect("write");
    let mut store = SqliteStore::open(&path).expect("open");
    let err = replay_journal(&JournalConfig::beside(&path).path, &mut store).expect_err("not ours");
    assert!(
        matches!(&err, StoreError::Corrupt { what } if what.contains("-pending.7")),
        "{err}"
    );
    assert!(foreign.exists(), "left in place");
    // And a writer will not start on it either.
    let err = RecordWriter::spawn(store, journalled(&path)).expect_err("refused");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
}

#[test]
fn a_journal_is_written_in_the_order_sent_so_the_first_end_wins_on_replay() {
    let first = ended(1, at(1), Origin::Local, Cause::Normal, None);
    let second = ended(1, at(1), Origin::Remote, Cause::Busy, Some(486));
    let (_dir, path, _files) = journal_of(vec![created(1, at(1)), first.clone(), second]);
    let mut store = SqliteStore::open(&path).expect("reopen");
    replay_journal(&JournalConfig::beside(&path).path, &mut store).expect("replay");
    assert_eq!(store.get(CallId(1)), Ok(Some(first)));
}

/// The four records of a permutation: two open ones with different creation times, two ends.
fn pool(id: u64) -> [Record; 4] {
    [
        created(id, at(id)),
        created(id, at(id + 500)),
        ended(id, at(id), Origin::Local, Cause::Normal, None),
        ended(id, at(id + 7), Origin::Remote, Cause::Busy, Some(486)),
    ]
}

/// The `k`th of the 24 orders of four items.
fn permutation(mut k: usize) -> [usize; 4] {
    let mut items = vec![0, 1, 2, 3];
    let mut out = [0; 4];
    for (i, slot) in out.iter_mut().enumerate() {
        let n = 4 - i;
        *slot = items.remove(k % n);
        k /= n;
    }
    out
}

#[test]
fn a_round_of_many_updates_per_call_leaves_the_rows_that_writing_them_one_by_one_does() {
    // Every order of every update of a call, interleaved across calls: the applier keeps
    // one record per call per round, and must keep the one the upserts would leave.
    let mut queues: Vec<Vec<Record>> = (0..24)
        .map(|k| {
            let id = k as u64 + 1;
            let pool = pool(id);
            permutation(k).iter().map(|&i| pool[i].clone()).collect()
        })
        .collect();
    let mut sequence = Vec::new();
    while queues.iter().any(|q| !q.is_empty()) {
        for q in &mut queues {
            if !q.is_empty() {
                sequence.push(q.remove(0));
            }
        }
    }
    let mut one_by_one = SqliteStore::open_in_memory().expect("open");
    for record in &sequence {
        one_by_one
            .apply(std::slice::from_ref(record))
            .expect("apply");
    }

    let (_dir, path) = temp_db();
    let writer = RecordWriter::spawn(SqliteStore::open(&path).expect("open"), journalled(&path))
        .expect("spawn");
    for record in sequence {
        writer.send_record(record).expect("send");
    }
    writer.flush().expect("durable");
    assert!(writer.settle(DEADLINE));
    let reader = SqliteStore::open(&path).expect("reader");
    for id in 1..=24 {
        assert_eq!(
            reader.get(CallId(id)),
            one_by_one.get(CallId(id)),
            "call {id}, order {:?}",
            permutation(id as usize - 1)
        );
    }
    writer.close().expect("close");
}

#[test]
fn each_call_end_is_reported_once_after_the_store_has_it() {
    let (_dir, path) = temp_db();
    let seen: Arc<std::sync::Mutex<Vec<Record>>> = Arc::default();
    let reader = SqliteStore::open(&path).expect("reader");
    let config = WriterConfig {
        on_apply: Some(Box::new({
            let seen = Arc::clone(&seen);
            let reader = SqliteStore::open(&path).expect("reader");
            move |records: &[Record]| {
                for r in records {
                    // Called after the commit: the store already holds what it reports.
                    assert_eq!(reader.get(r.id), Ok(Some(r.clone())));
                }
                seen.lock().expect("lock").extend_from_slice(records);
            }
        })),
        ..journalled(&path)
    };
    let writer =
        RecordWriter::spawn(SqliteStore::open(&path).expect("open"), config).expect("spawn");
    for record in traffic(10) {
        writer.send_record(record).expect("send");
    }
    writer.close().expect("close");
    let seen = seen.lock().expect("lock");
    for id in 1..=10 {
        let of_call: Vec<&Record> = seen.iter().filter(|r| r.id == CallId(id)).collect();
        assert_eq!(
            of_call.last().map(|r| (*r).clone()),
            Some(expected(id)),
            "call {id}"
        );
        let ends = of_call.iter().filter(|r| r.completed).count();
        assert_eq!(ends, usize::from(id % 2 == 1), "call {id}: {of_call:?}");
    }
    assert_eq!(reader.count(), Ok(10));
}

#[test]
fn a_synced_journal_keeps_the_same_records() {
    // `sync` adds an fdatasync per batch (and per new segment's directory entry): what it
    // buys is not observable here, only that nothing else changes.
    let (_dir, path) = temp_db();
    let mut config = journalled(&path);
    if let Some(journal) = config.journal.as_mut() {
        journal.sync = true;
    }
    let writer =
        RecordWriter::spawn(SqliteStore::open(&path).expect("open"), config).expect("spawn");
    for record in traffic(8) {
        writer.send_record(record).expect("send");
    }
    writer.flush().expect("durable");
    assert!(!segments(&path).is_empty());
    writer.close().expect("close");
    let reader = SqliteStore::open(&path).expect("reader");
    for id in 1..=8 {
        assert_eq!(reader.get(CallId(id)), Ok(Some(expected(id))), "call {id}");
    }
    assert!(segments(&path).is_empty());
}

/// A journalled writer holding records for `linger`, with segments never sealed by age.
fn lingering(path: &Path, linger: std::time::Duration) -> WriterConfig {
    WriterConfig {
        linger,
        ..journalled(path)
    }
}

#[test]
fn held_records_are_written_by_the_senders_write_due_once_the_linger_has_passed() {
    let (_dir, path) = temp_db();
    let linger = std::time::Duration::from_millis(50);
    let writer = RecordWriter::spawn(
        SqliteStore::open(&path).expect("open"),
        lingering(&path, linger),
    )
    .expect("spawn");
    writer.send_record(created(1, at(1))).expect("send");
    writer.send_record(created(2, at(2))).expect("send");
    // The clock is the caller's: the linger runs from the first call that saw them.
    let t0 = std::time::Instant::now();
    assert_eq!(writer.write_due(t0), Some(t0 + linger));
    assert_eq!(writer.write_due(t0 + linger / 2), Some(t0 + linger));
    assert_eq!(writer.durable(), 0, "held, not written");
    assert!(segments(&path).is_empty(), "nothing in the journal yet");
    assert_eq!(writer.write_due(t0 + linger), None, "written: nothing held");
    assert_eq!(writer.durable(), 2);
    let stats = writer.stats();
    assert_eq!((stats.batches, stats.committed), (1, 2), "one write");
    // A record sent later waits a linger of its own.
    writer.send_record(created(3, at(3))).expect("send");
    let t1 = t0 + linger * 3;
    assert_eq!(writer.write_due(t1), Some(t1 + linger));
    assert_eq!(writer.durable(), 2);
    writer.close().expect("close");
    let reader = SqliteStore::open(&path).expect("reader");
    assert_eq!(reader.count(), Ok(3), "close writes what is held");
}

#[test]
fn without_a_linger_write_due_writes_at_once_and_a_full_batch_is_written_on_send() {
    let (_dir, path) = temp_db();
    let config = WriterConfig {
        max_batch: 4,
        ..journalled(&path)
    };
    let writer =
        RecordWriter::spawn(SqliteStore::open(&path).expect("open"), config).expect("spawn");
    writer.send_record(created(1, at(1))).expect("send");
    assert_eq!(writer.write_due(std::time::Instant::now()), None);
    assert_eq!(writer.durable(), 1);
    // Nobody calls write_due: the fourth record held fills a batch.
    for id in 2..=4 {
        writer.send_record(created(id, at(id))).expect("send");
    }
    assert_eq!(writer.durable(), 1, "three held");
    writer.send_record(created(5, at(5))).expect("send");
    assert_eq!(writer.durable(), 5, "a full batch is written by the sender");
    writer.close().expect("close");
}

#[test]
fn flush_and_settle_write_what_is_held_first() {
    let (_dir, path) = temp_db();
    let writer = RecordWriter::spawn(
        SqliteStore::open(&path).expect("open"),
        lingering(&path, std::time::Duration::from_secs(3600)),
    )
    .expect("spawn");
    writer.send_record(created(1, at(1))).expect("send");
    writer.flush().expect("flush");
    assert_eq!(writer.durable(), 1);
    writer.send_record(created(2, at(2))).expect("send");
    assert!(writer.settle(DEADLINE));
    let reader = SqliteStore::open(&path).expect("reader");
    assert_eq!(
        reader.count(),
        Ok(2),
        "a reader that settles sees the held record"
    );
    writer.close().expect("close");
}

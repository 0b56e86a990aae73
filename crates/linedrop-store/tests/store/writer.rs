use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use linedrop_core::{CallId, Cause, Origin};
use linedrop_store::{Commit, Record, RecordWriter, SqliteStore, Store, StoreError, WriterConfig};

use crate::common::{at, created, ended, temp_db, Flaky, DEADLINE};

/// A config whose first commit waits until the test opens the gate, so that everything
/// sent meanwhile is queued when the writer resumes: batching becomes deterministic.
fn gated(max_batch: usize) -> (WriterConfig, mpsc::Sender<()>) {
    let (open, gate) = mpsc::channel::<()>();
    let mut first = true;
    let config = WriterConfig {
        max_batch,
        on_commit: Some(Box::new(move |_: &Commit<'_>| {
            if std::mem::take(&mut first) {
                // A closed gate (test over) must not hang the writer either.
                let _ = gate.recv_timeout(DEADLINE);
            }
        })),
        ..WriterConfig::default()
    };
    (config, open)
}

#[test]
fn a_burst_commits_in_few_transactions_and_flush_makes_it_durable() {
    let (_dir, path) = temp_db();
    let (config, gate) = gated(100);
    let writer =
        RecordWriter::spawn(SqliteStore::open(&path).expect("open"), config).expect("spawn");
    for id in 1..=1001 {
        writer.send_record(created(id, at(id))).expect("send");
    }
    gate.send(()).expect("open the gate");
    writer.flush().expect("flush");

    let stats = writer.stats();
    assert_eq!(
        (stats.sent, stats.committed, stats.queued()),
        (1001, 1001, 0)
    );
    // The first record alone, then the 1000 that queued behind it in batches of 100.
    assert_eq!(stats.batches, 11, "{stats:?}");
    assert_eq!(writer.durable(), 1001);

    // Durable means visible to another connection, before the writer closes.
    let reader = SqliteStore::open(&path).expect("second connection");
    assert_eq!(reader.count(), Ok(1001));
    writer.close().expect("close");
}

#[test]
fn with_a_linger_a_record_waits_for_company_and_shares_one_commit() {
    let config = WriterConfig {
        linger: Duration::from_secs(1),
        ..WriterConfig::default()
    };
    let writer =
        RecordWriter::spawn(SqliteStore::open_in_memory().expect("open"), config).expect("spawn");
    let first = writer.send_record(created(1, at(1))).expect("send");
    // The writer sleeps a whole linger after the first record: it cannot be durable yet.
    assert!(!writer.wait_durable(first, Duration::from_millis(100)));
    for id in 2..=50 {
        writer.send_record(created(id, at(id))).expect("send");
    }
    writer.flush().expect("flush");
    let stats = writer.stats();
    assert_eq!((stats.committed, stats.batches), (50, 1), "{stats:?}");
    writer.close().expect("close");
}

/// Under a steady stream the writer takes records on its beat (a linger's sleep, then what
/// came) instead of parking on the channel, so a sender need not wake it for every batch;
/// a beat that brings nothing parks it again, so an idle writer sleeps.
#[test]
fn a_busy_writer_takes_records_on_its_beat_and_parks_when_idle() {
    let (mut config, gate) = gated(0);
    config.linger = Duration::from_millis(20);
    let writer =
        RecordWriter::spawn(SqliteStore::open_in_memory().expect("open"), config).expect("spawn");
    let first = writer.send_record(created(1, at(1))).expect("send");
    assert!(writer.wait_durable(first, DEADLINE));
    // The first commit is held at the gate: the second record is queued before the writer
    // decides whether to park.
    let second = writer.send_record(created(2, at(2))).expect("send");
    gate.send(()).expect("open the gate");
    assert!(writer.wait_durable(second, DEADLINE));
    assert_eq!(
        writer.stats().parks,
        1,
        "the second record needed no wake-up"
    );

    // Nothing more is sent: the next beat is empty and the writer parks.
    let deadline = std::time::Instant::now() + DEADLINE;
    while writer.stats().parks < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the writer never parked"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    // A parked writer is woken by the next record.
    let third = writer.send_record(created(3, at(3))).expect("send");
    assert!(writer.wait_durable(third, DEADLINE));
    writer.close().expect("close");
}

/// The writer signals only while someone waits: waiters on several threads at once, by
/// `flush` and by `wait_durable`, must all be woken by the commit they wait for.
#[test]
fn every_waiter_is_woken_by_the_commit_it_waits_for() {
    let (config, gate) = gated(0);
    let writer = Arc::new(
        RecordWriter::spawn(SqliteStore::open_in_memory().expect("open"), config).expect("spawn"),
    );
    // The first commit is held at the gate after it is durable; the second record queues.
    let first = writer.send_record(created(1, at(1))).expect("send");
    assert!(writer.wait_durable(first, DEADLINE));
    let last = writer.send_record(created(2, at(2))).expect("send");
    let (woken, results) = mpsc::channel::<bool>();
    for i in 0..4 {
        let writer = Arc::clone(&writer);
        let woken = woken.clone();
        std::thread::spawn(move || {
            let durable = if i % 2 == 0 {
                writer.flush().is_ok()
            } else {
                writer.wait_durable(last, DEADLINE)
            };
            let _ = woken.send(durable);
        });
    }
    assert_eq!(
        writer.durable(),
        first,
        "the second commit waits for the gate"
    );
    gate.send(()).expect("open the gate");
    for _ in 0..4 {
        let durable = results.recv_timeout(DEADLINE).expect("every waiter wakes");
        assert!(durable, "woken with the record durable");
    }
    assert_eq!(writer.durable(), last);
}

#[test]
fn commit_notices_name_the_completed_calls() {
    let (notices, seen) = mpsc::channel::<(u64, Vec<CallId>)>();
    let config = WriterConfig {
        max_batch: 0,
        on_commit: Some(Box::new(move |c: &Commit<'_>| {
            let _ = notices.send((c.through, c.completed.to_vec()));
        })),
        ..WriterConfig::default()
    };
    let writer =
        RecordWriter::spawn(SqliteStore::open_in_memory().expect("open"), config).expect("spawn");
    writer.send_record(created(1, at(1))).expect("send");
    writer.send_record(created(2, at(2))).expect("send");
    let last = writer
        .send_record(ended(2, at(2), Origin::Remote, Cause::Normal, None))
        .expect("send");
    assert_eq!(last, 3);

    let mut completed = Vec::new();
    let mut through = 0;
    while through < last {
        let (t, ids) = seen
            .recv_timeout(DEADLINE)
            .expect("a commit notice in time");
        assert!(t > through, "notices advance");
        through = t;
        completed.extend(ids);
    }
    assert_eq!(completed, vec![CallId(2)]);
    assert!(writer.wait_durable(last, DEADLINE));
}

#[test]
fn the_writer_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<RecordWriter>();
}

#[test]
fn flush_with_nothing_sent_returns_at_once() {
    let writer = RecordWriter::spawn(
        SqliteStore::open_in_memory().expect("open"),
        WriterConfig::default(),
    )
    .expect("spawn");
    writer.flush().expect("flush");
    assert_eq!(writer.stats().batches, 0);
}

#[test]
fn an_unrepresentable_record_is_refused_at_send() {
    let writer = RecordWriter::spawn(
        SqliteStore::open_in_memory().expect("open"),
        WriterConfig::default(),
    )
    .expect("spawn");
    let mut record = created(1, at(1));
    record.id = CallId(u64::MAX);
    assert!(matches!(
        writer.send_record(record),
        Err(StoreError::InvalidRecord(_))
    ));
    let mut record = created(1, at(1));
    record.created_at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(u64::MAX / 2);
    assert!(matches!(
        writer.send_record(record),
        Err(StoreError::InvalidRecord(_))
    ));
    assert_eq!(writer.stats().sent, 0);
}

#[test]
fn failed_commits_are_reported_and_retried_without_loss() {
    let (_dir, path) = temp_db();
    let failing = Arc::new(AtomicBool::new(true));
    let store = Flaky {
        inner: SqliteStore::open(&path).expect("open"),
        failing: Arc::clone(&failing),
    };
    let writer = RecordWriter::spawn(store, WriterConfig::default()).expect("spawn");
    for id in 1..=5 {
        writer.send_record(created(id, at(id))).expect("send");
    }
    let err = writer.flush().expect_err("flush reports the failure");
    assert_eq!(err, StoreError::Backend("disk full (simulated)".into()));
    let stats = writer.stats();
    assert!(stats.failed_commits >= 1);
    assert_eq!((stats.committed, stats.queued()), (0, 5));
    assert_eq!(stats.last_error, Some(err));

    failing.store(false, Ordering::SeqCst);
    // A commit already under way when the switch flipped may still fail once.
    let flushed = (0..3).any(|_| writer.flush().is_ok());
    assert!(flushed, "the retry succeeds");
    assert_eq!(SqliteStore::open(&path).expect("reader").count(), Ok(5));
    writer.close().expect("close");
}

#[test]
fn close_reports_records_it_could_not_write() {
    let store = Flaky {
        inner: SqliteStore::open_in_memory().expect("open"),
        failing: Arc::new(AtomicBool::new(true)),
    };
    let writer = RecordWriter::spawn(store, WriterConfig::default()).expect("spawn");
    writer.send_record(created(1, at(1))).expect("send");
    let err = writer.close().expect_err("nothing could be written");
    assert!(err.to_string().contains("1 records not written"), "{err}");
}

#[test]
fn a_dead_writer_refuses_sends_and_fails_flush() {
    let config = WriterConfig {
        max_batch: 0,
        on_commit: Some(Box::new(|_: &Commit<'_>| {
            panic!("callback bug (expected in test)")
        })),
        ..WriterConfig::default()
    };
    let writer =
        RecordWriter::spawn(SqliteStore::open_in_memory().expect("open"), config).expect("spawn");
    let seq = writer.send_record(created(1, at(1))).expect("send");
    // The record commits, then the callback kills the thread.
    assert!(writer.wait_durable(seq, DEADLINE));
    match writer.send_record(created(2, at(2))) {
        // Sent before the thread was gone: flush must not claim it durable.
        Ok(_) => assert_eq!(writer.flush(), Err(StoreError::Closed)),
        Err(e) => assert_eq!(e, StoreError::Closed),
    }
    assert_eq!(
        writer.send_record(created(3, at(3))),
        Err(StoreError::Closed)
    );
    assert!(writer.close().is_err(), "the panic is reported");
}

/// Not a test but a measurement: `cargo test --release -p linedrop-store --test store --
/// --ignored --nocapture throughput`. Prints records per second through the writer into
/// a file on this machine.
#[test]
#[ignore = "a measurement; run by hand in release mode"]
fn throughput() {
    const CALLS: u64 = 50_000;
    let (_dir, path) = temp_db();
    let writer = RecordWriter::spawn(
        SqliteStore::open(&path).expect("open"),
        WriterConfig::default(),
    )
    .expect("spawn");
    let records: Vec<Record> = (1..=CALLS)
        .flat_map(|id| {
            [
                created(id, at(id)),
                ended(id, at(id), Origin::Local, Cause::Normal, None),
            ]
        })
        .collect();
    // A measurement's own clock reads; nothing here waits on time.
    let start = std::time::Instant::now();
    for record in records {
        writer.send_record(record).expect("send");
    }
    let sent = start.elapsed();
    writer.flush().expect("flush");
    let done = start.elapsed();
    let stats = writer.stats();
    println!(
        "{} records ({CALLS} calls) in {done:?}: {:.0} records/s; sending took {sent:?} \
         ({:.0} ns/record); {} transactions",
        stats.committed,
        stats.committed as f64 / done.as_secs_f64(),
        sent.as_nanos() as f64 / stats.committed as f64,
        stats.batches
    );
}

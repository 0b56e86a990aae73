//! The record writer: makes records durable in batches. Without a journal a dedicated thread
//! commits each batch to the store, so the call path only ever pushes onto a channel; with
//! one ([`WriterConfig::journal`]) the senders append each batch to the journal themselves
//! (see `held`) and an applier thread brings the store up to date in large transactions.

mod apply;
mod beat;
mod held;
mod round;

use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use linedrop_core::{CallId, RecordUpdate};

use crate::error::StoreError;
use crate::journal::{self, Appender, JournalConfig};
use crate::record::Record;
use crate::store::Store;

/// The position of a record in the writer's stream: the first record sent is 1, and each
/// later one is one more. Every record at or below [`RecordWriter::durable`] is committed.
pub type Seq = u64;

/// The default most records per transaction: large enough that one commit's fixed cost is
/// shared by a burst, small enough that a transaction never holds the lock for long.
pub const DEFAULT_MAX_BATCH: usize = 512;

/// How many times the writer tries the last batch when closing before it gives up and
/// reports the records it could not write.
pub(super) const CLOSE_ATTEMPTS: u32 = 3;

/// What one committed batch made durable, given to [`WriterConfig::on_commit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commit<'a> {
    /// Every record up to and including this [`Seq`] is now durable.
    pub through: Seq,
    /// How many records the batch held.
    pub records: usize,
    /// The calls whose completed (`Ended`) record the batch held, in send order.
    pub completed: &'a [CallId],
    /// The records the batch held, in send order.
    pub batch: &'a [Record],
}

/// A callback run after each commit, on the thread that made it (the writer thread, or with a
/// journal, the sender's).
pub type OnCommit = Box<dyn FnMut(&Commit<'_>) + Send>;

/// A callback run after each store transaction with the records it wrote.
pub type OnApply = Box<dyn FnMut(&[Record]) + Send>;

/// How a [`RecordWriter`] batches, and whom it tells.
#[derive(Default)]
pub struct WriterConfig {
    /// The most records per transaction; 0 means [`DEFAULT_MAX_BATCH`].
    pub max_batch: usize,
    /// How long the writer waits, after the first record of a batch arrives, for more to
    /// join it (group commit). Zero commits each record as soon as the previous commit ends.
    /// With a journal, how long [`RecordWriter::write_due`] holds records before writing them.
    ///
    /// Each batch has a fixed cost (a wake-up of the writer thread and a store commit, or a
    /// journal write), so under load a short wait makes a call's records far cheaper; it
    /// adds at most this much to the time to a durable record.
    pub linger: Duration,
    /// Called after each batch is durable, on the thread that wrote it: how a caller learns
    /// that a call's `Ended` record is durable without polling. It must be quick: the next
    /// batch waits for it.
    pub on_commit: Option<OnCommit>,
    /// Called after each store transaction, on the thread that ran it, with the records it
    /// wrote: every record of the batch without a journal (right after `on_commit`); with
    /// one, the applier's round, one record per call (the one the store kept). How the
    /// daemon logs each call's end once a second, in one write, rather than on every
    /// beat. It must be quick: the next transaction waits for it.
    pub on_apply: Option<OnApply>,
    /// Make batches durable in this journal, and bring the store up to date from a thread
    /// of its own, one transaction per sealed segment (about a second of records; a call
    /// still open then waits for the next, where its end usually replaces it), instead
    /// of committing every batch to the store. A store commit has a large fixed cost (the
    /// pages it touches, written whole), and a journal batch costs one `write(2)`: so cheap
    /// that the senders write it themselves. A sender's records are held until its thread
    /// calls [`RecordWriter::write_due`] a linger later, a batch fills
    /// ([`WriterConfig::max_batch`]), a reader needs them ([`RecordWriter::flush`],
    /// [`RecordWriter::wait_durable`], [`RecordWriter::settle`]), or, for a sender that
    /// never calls it, within about a second ([`crate::SEAL_AFTER`]) from the applier.
    ///
    /// The writer first replays what the journal already holds (see [`journal::replay`]).
    /// Its segments are deleted once the store has committed their records, so the store
    /// should sync its commits ([`crate::Durability::Full`]): otherwise a power loss could
    /// lose records whose segment is gone. Queries on another connection see a record once
    /// it is in the store: [`RecordWriter::settle`] asks for that first.
    pub journal: Option<JournalConfig>,
}

impl std::fmt::Debug for WriterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterConfig")
            .field("max_batch", &self.max_batch)
            .field("linger", &self.linger)
            .field("on_commit", &self.on_commit.is_some())
            .field("on_apply", &self.on_apply.is_some())
            .field("journal", &self.journal)
            .finish()
    }
}

/// The writer's counters, for the ledger, metrics and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Records accepted by [`RecordWriter::send`].
    pub sent: u64,
    /// Records made durable: committed to the store, or with a journal, written to it.
    pub committed: u64,
    /// Batches made durable (each one store transaction, or with a journal, one write).
    pub batches: u64,
    /// Records in the store: the same as `committed` without a journal; with one, those the
    /// applier has committed to the store (it may be up to two segments behind: an open
    /// call's record waits a round for its end).
    pub applied: u64,
    /// Times the writer thread parked to wait for a record, so that the next sender had to
    /// wake it. Under a steady load with a linger it stays parked only between busy spells.
    /// With a journal there is no writer thread, and it stays 0.
    pub parks: u64,
    /// Commits that failed; their records stay queued and are tried again.
    pub failed_commits: u64,
    /// With a journal, store transactions that failed; their records stay in the journal
    /// and are tried again.
    pub failed_applies: u64,
    /// The most recent failure, of a commit or (with a journal) of a store transaction.
    pub last_error: Option<StoreError>,
}

impl WriterStats {
    /// Records sent but not yet committed: the backlog a metric should alert on.
    pub fn queued(&self) -> u64 {
        self.sent.saturating_sub(self.committed)
    }
}

/// What the sender side holds under one lock, so a record's [`Seq`] and its place in the
/// channel always agree even with several sending threads.
///
/// Records travel boxed. The channel stores its messages by value in blocks that it
/// allocates zeroed, so a record (over 400 bytes) cost the sending thread its share of
/// zeroing a block and two copies through the channel; a box is one allocation and one
/// copy, and the writer thread unboxes it.
struct Sending {
    /// `None` once closing has begun.
    tx: Option<Sender<Box<Record>>>,
    /// The last [`Seq`] handed out.
    last: Seq,
}

/// What the writers (the writer thread, or the senders and the applier) report back.
#[derive(Default)]
struct Progress {
    stats: WriterStats,
    /// The highest [`Seq`] known durable.
    durable: Seq,
    /// The highest [`Seq`] known to be in the store.
    applied: Seq,
    /// The thread has ended (closed, failed at close, or panicked).
    stopped: bool,
    /// Threads waiting on `changed` ([`RecordWriter::wait_durable`], [`RecordWriter::flush`],
    /// [`RecordWriter::settle`]).
    /// The writer signals only when there is one: a signal is a system call (a futex wake)
    /// even with nobody to wake, and most batches have none (the daemon waits only in its
    /// shutdown flush).
    waiters: usize,
}

impl Progress {
    /// Runs `wait` (a wait on `changed`) counted in `waiters`, so the writer signals it.
    fn counted<'a>(
        mut guard: MutexGuard<'a, Progress>,
        wait: impl FnOnce(MutexGuard<'a, Progress>) -> MutexGuard<'a, Progress>,
    ) -> MutexGuard<'a, Progress> {
        guard.waiters += 1;
        let mut guard = wait(guard);
        guard.waiters -= 1;
        guard
    }
}

pub(super) struct Shared {
    progress: Mutex<Progress>,
    /// Signalled whenever `progress` changes while a thread waits.
    changed: Condvar,
}

impl Shared {
    /// Updates the progress, then signals the waiters if there are any. The count is read
    /// under the lock that the update takes: a waiter that comes later sees the update
    /// before it waits, so none misses it.
    fn update(&self, f: impl FnOnce(&mut Progress)) {
        let waiting = {
            let mut progress = lock(&self.progress);
            f(&mut progress);
            progress.waiters > 0
        };
        if waiting {
            self.changed.notify_all();
        }
    }
}

/// Takes a lock whose holder may have panicked: every guarded value here is a set of
/// counters updated in single assignments, so it is consistent whatever happened.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Commits [`RecordUpdate`]s in batches: on a dedicated thread, or with a journal, on the
/// senders' threads (see [`WriterConfig::journal`]).
///
/// Sending never waits for the store and never drops a record to make room: the channel (or
/// the held records) grows while the store or disk lags, which [`WriterStats::queued`]
/// shows. A failed commit keeps its records and retries with a growing pause (up to a
/// second); [`RecordWriter::flush`] reports the failure instead of waiting through it.
///
/// Closing ([`RecordWriter::close`], or dropping the writer) commits everything sent and
/// joins the threads.
pub struct RecordWriter {
    shared: Arc<Shared>,
    kind: Kind,
}

/// Who writes.
enum Kind {
    /// A thread, into the store.
    Thread {
        sending: Mutex<Sending>,
        thread: Option<JoinHandle<Result<(), StoreError>>>,
    },
    /// The senders, into the journal; the applier, into the store.
    Journal(held::Journal),
}

impl std::fmt::Debug for RecordWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordWriter")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl RecordWriter {
    /// Starts the writer, which owns `store` from now on: a writer thread commits to it, or
    /// with a journal, the applier thread does, once the journal's records are replayed
    /// into it here.
    pub fn spawn<S: Store + Send + 'static>(
        mut store: S,
        mut config: WriterConfig,
    ) -> Result<Self, StoreError> {
        let shared = Arc::new(Shared {
            progress: Mutex::new(Progress::default()),
            changed: Condvar::new(),
        });
        let max_batch = match config.max_batch {
            0 => DEFAULT_MAX_BATCH,
            n => n,
        };
        if let Some(journal) = config.journal.take() {
            journal::replay(&journal.path, &mut store)?;
            let appender = Appender::new(journal)?;
            let journal = held::Journal::start(store, appender, &shared, &mut config, max_batch)?;
            return Ok(Self {
                shared,
                kind: Kind::Journal(journal),
            });
        }
        let (tx, rx) = mpsc::channel();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("linedrop-records".into())
            .spawn(move || beat::run(store, rx, &thread_shared, config, max_batch))
            .map_err(|e| StoreError::Backend(format!("cannot start the record writer: {e}")))?;
        Ok(Self {
            shared,
            kind: Kind::Thread {
                sending: Mutex::new(Sending {
                    tx: Some(tx),
                    last: 0,
                }),
                thread: Some(thread),
            },
        })
    }

    /// Queues an engine update for the line at `line_address`; never waits for the store.
    /// Returns the record's [`Seq`], to wait on with [`RecordWriter::wait_durable`]. A
    /// caller that sends many records of a line passes its address as a shared `Arc<str>`,
    /// which the record then holds without a copy.
    pub fn send(
        &self,
        update: RecordUpdate,
        line_address: impl Into<Arc<str>>,
    ) -> Result<Seq, StoreError> {
        self.send_record(Record::from_update(update, line_address))
    }

    /// Queues a record; never waits for the store. A record the store cannot represent is
    /// refused here, with [`StoreError::InvalidRecord`], so it can never wedge the writer.
    pub fn send_record(&self, record: Record) -> Result<Seq, StoreError> {
        record.validate()?;
        match &self.kind {
            // Not boxed: the journal keeps records by value (a box made only to be opened
            // again was an allocation, a free and two copies of a record per send).
            Kind::Journal(journal) => journal.send(record),
            Kind::Thread { sending, .. } => {
                let mut sending = lock(sending);
                let seq = sending.last + 1;
                let tx = sending.tx.as_ref().ok_or(StoreError::Closed)?;
                tx.send(Box::new(record)).map_err(|_| StoreError::Closed)?;
                sending.last = seq;
                Ok(seq)
            }
        }
    }

    /// With a journal: writes the records this writer has held for a linger since an
    /// earlier call first saw them, and returns when to call it next (`None`: nothing is
    /// held). A sender calls it whenever it has sent what it had and before it sleeps, so
    /// its records become durable on its own thread, with no other thread woken. Without a
    /// journal the writer thread does this, and it returns `None`.
    pub fn write_due(&self, now: Instant) -> Option<Instant> {
        match &self.kind {
            Kind::Journal(journal) => journal.write_due(now),
            Kind::Thread { .. } => None,
        }
    }

    /// The last [`Seq`] handed out.
    fn last_sent(&self) -> Seq {
        match &self.kind {
            Kind::Journal(journal) => journal.last(),
            Kind::Thread { sending, .. } => lock(sending).last,
        }
    }

    /// With a journal, writes what is held now, for a caller about to wait for it.
    fn write_held(&self) -> Result<(), StoreError> {
        match &self.kind {
            Kind::Journal(journal) => journal.write_now(),
            Kind::Thread { .. } => Ok(()),
        }
    }

    /// The highest [`Seq`] that is durable.
    pub fn durable(&self) -> Seq {
        lock(&self.shared.progress).durable
    }

    /// Waits up to `timeout` for record `seq` to be durable; true if it is.
    pub fn wait_durable(&self, seq: Seq, timeout: Duration) -> bool {
        // A failed write is retried by the applier's tick, which this wait may see.
        let _ = self.write_held();
        let progress = Progress::counted(lock(&self.shared.progress), |progress| {
            self.shared
                .changed
                .wait_timeout_while(progress, timeout, |p| p.durable < seq && !p.stopped)
                .unwrap_or_else(PoisonError::into_inner)
                .0
        });
        progress.durable >= seq
    }

    /// Blocks until every record sent before this call is committed. Returns the error
    /// instead if a commit fails meanwhile (the records stay queued and are retried) or the
    /// thread has stopped.
    pub fn flush(&self) -> Result<(), StoreError> {
        let target = self.last_sent();
        self.write_held()?;
        let progress = lock(&self.shared.progress);
        let failures = progress.stats.failed_commits;
        let progress = Progress::counted(progress, |progress| {
            self.shared
                .changed
                .wait_while(progress, |p| {
                    p.durable < target && !p.stopped && p.stats.failed_commits == failures
                })
                .unwrap_or_else(PoisonError::into_inner)
        });
        if progress.durable >= target {
            Ok(())
        } else {
            Err(progress
                .stats
                .last_error
                .clone()
                .unwrap_or(StoreError::Closed))
        }
    }

    /// Waits up to `timeout` until every record sent now is also in the store, so that a
    /// query on another connection to it sees them; true if they are. Without a journal
    /// that is so once they are durable, at once for those that are. With one, the held
    /// records are written and the applier commits what it holds now instead of at the next
    /// seal: a reader that must see the newest records calls this first.
    pub fn settle(&self, timeout: Duration) -> bool {
        let Kind::Journal(journal) = &self.kind else {
            return true;
        };
        let _ = journal.write_now();
        let progress = lock(&self.shared.progress);
        let target = progress.durable;
        if progress.applied >= target {
            return true;
        }
        journal.queue().want(target);
        let progress = Progress::counted(progress, |progress| {
            self.shared
                .changed
                .wait_timeout_while(progress, timeout, |p| p.applied < target && !p.stopped)
                .unwrap_or_else(PoisonError::into_inner)
                .0
        });
        progress.applied >= target
    }

    /// The writer's counters.
    pub fn stats(&self) -> WriterStats {
        let sent = self.last_sent();
        let mut stats = lock(&self.shared.progress).stats.clone();
        stats.sent = sent;
        stats
    }

    /// Commits everything sent and stops the threads. An error means some records could
    /// not be written (it says how many) or a thread panicked.
    pub fn close(mut self) -> Result<(), StoreError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), StoreError> {
        match &mut self.kind {
            Kind::Journal(journal) => journal.close(),
            Kind::Thread { sending, thread } => {
                // Dropping the sender lets the thread drain the channel and then see it
                // closed.
                lock(sending).tx = None;
                match thread.take() {
                    Some(thread) => thread.join().unwrap_or_else(|_| {
                        Err(StoreError::Backend("record writer panicked".into()))
                    }),
                    None => Ok(()),
                }
            }
        }
    }
}

impl Drop for RecordWriter {
    fn drop(&mut self) {
        // Nowhere to report from a drop; the error is kept in the stats for anyone still
        // holding them, and `close` exists for callers who want it.
        let _ = self.stop();
    }
}

/// Marks the writer stopped when the thread ends, by return or by panic, so no waiter
/// waits for a thread that is gone.
struct StopGuard<'a>(&'a Shared);

impl Drop for StopGuard<'_> {
    fn drop(&mut self) {
        self.0.update(|p| p.stopped = true);
    }
}

/// The pause after the `n`th failure in a row: 10 ms doubling to one second.
pub(super) fn backoff(n: u32) -> Duration {
    Duration::from_millis(10u64 << n.min(7)).min(Duration::from_secs(1))
}

/// The benchmark's probe for "time to a durable record", off unless the environment variable
/// `LINEDROP_BENCH_DURABLE_LOG` names a file. After each durable batch it appends, for every completed
/// record in the batch, one line: the microseconds from the call's last state change (for a
/// call the peer hung up, the moment the engine handled the BYE) to the batch being durable.
/// `bench/` reads it; nothing else does.
pub(super) struct LatencyLog {
    out: std::io::BufWriter<std::fs::File>,
}

impl LatencyLog {
    pub(super) fn from_env() -> Option<Self> {
        let path = std::env::var_os("LINEDROP_BENCH_DURABLE_LOG")?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()?;
        Some(Self {
            out: std::io::BufWriter::new(file),
        })
    }

    pub(super) fn committed(&mut self, batch: &[Record]) {
        use std::io::Write;
        let now = std::time::SystemTime::now();
        for record in batch.iter().filter(|r| r.completed) {
            let Some(ended) = record.entered.0.iter().flatten().max() else {
                continue;
            };
            if let Ok(took) = now.duration_since(*ended) {
                let _ = writeln!(self.out, "{}", took.as_micros());
            }
        }
        let _ = self.out.flush();
    }
}

//! The record writer: a dedicated thread that owns a [`Store`] and commits records in
//! batches, so the call path only ever pushes onto a channel.

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use linedrop_core::{CallId, RecordUpdate};

use crate::error::StoreError;
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
const CLOSE_ATTEMPTS: u32 = 3;

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

/// A callback run on the writer thread after each commit.
pub type OnCommit = Box<dyn FnMut(&Commit<'_>) + Send>;

/// How a [`RecordWriter`] batches, and whom it tells.
#[derive(Default)]
pub struct WriterConfig {
    /// The most records per transaction; 0 means [`DEFAULT_MAX_BATCH`].
    pub max_batch: usize,
    /// How long the writer waits, after the first record of a batch arrives, for more to
    /// join it (group commit). Zero commits each record as soon as the previous commit ends.
    ///
    /// Each commit has a fixed cost (WAL frames for the same hot pages, file locks, a
    /// wake-up of this thread per record), so under load a short wait makes a call's
    /// records far cheaper; it adds at most this much to the time to a durable record.
    pub linger: Duration,
    /// Called after each commit, on the writer thread: how the daemon learns that a call's
    /// `Ended` record is durable without polling (it logs each call's end there, once the
    /// record is on disk). It must be quick: the next batch waits for it.
    pub on_commit: Option<OnCommit>,
}

impl std::fmt::Debug for WriterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterConfig")
            .field("max_batch", &self.max_batch)
            .field("linger", &self.linger)
            .field("on_commit", &self.on_commit.is_some())
            .finish()
    }
}

/// The writer's counters, for the ledger, metrics and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Records accepted by [`RecordWriter::send`].
    pub sent: u64,
    /// Records committed.
    pub committed: u64,
    /// Transactions committed (each one batch).
    pub batches: u64,
    /// Times the writer thread parked to wait for a record, so that the next sender had to
    /// wake it. Under a steady load with a linger it stays parked only between busy spells.
    pub parks: u64,
    /// Commits that failed; their records stay queued and are tried again.
    pub failed_commits: u64,
    /// The most recent commit failure.
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

/// What the writer thread reports back.
#[derive(Default)]
struct Progress {
    stats: WriterStats,
    /// The highest [`Seq`] known durable.
    durable: Seq,
    /// The thread has ended (closed, failed at close, or panicked).
    stopped: bool,
    /// Threads waiting on `changed` ([`RecordWriter::wait_durable`], [`RecordWriter::flush`]).
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

struct Shared {
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
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Commits [`RecordUpdate`]s on a dedicated thread, in batches.
///
/// The channel is unbounded: the call path never blocks and a record is never dropped to
/// make room. The cost is memory while the disk lags, which [`WriterStats::queued`] shows.
/// A failed commit keeps its records and retries with a growing pause (up to a second);
/// [`RecordWriter::flush`] reports the failure instead of waiting through it.
///
/// Closing ([`RecordWriter::close`], or dropping the writer) commits everything sent and
/// joins the thread.
pub struct RecordWriter {
    sending: Mutex<Sending>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<Result<(), StoreError>>>,
}

impl std::fmt::Debug for RecordWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordWriter")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl RecordWriter {
    /// Starts the writer thread, which owns `store` from now on.
    pub fn spawn<S: Store + Send + 'static>(
        store: S,
        config: WriterConfig,
    ) -> Result<Self, StoreError> {
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            progress: Mutex::new(Progress::default()),
            changed: Condvar::new(),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("linedrop-records".into())
            .spawn(move || run(store, rx, &thread_shared, config))
            .map_err(|e| StoreError::Backend(format!("cannot start the record writer: {e}")))?;
        Ok(Self {
            sending: Mutex::new(Sending {
                tx: Some(tx),
                last: 0,
            }),
            shared,
            thread: Some(thread),
        })
    }

    /// Queues an engine update for the line at `line_address`; never blocks. Returns the
    /// record's [`Seq`], to wait on with [`RecordWriter::wait_durable`]. A caller that sends
    /// many records of a line passes its address as a shared `Arc<str>`, which the record
    /// then holds without a copy.
    pub fn send(
        &self,
        update: RecordUpdate,
        line_address: impl Into<Arc<str>>,
    ) -> Result<Seq, StoreError> {
        self.send_boxed(Box::new(Record::from_update(update, line_address)))
    }

    /// Queues a record; never blocks. A record the store cannot represent is refused here,
    /// with [`StoreError::InvalidRecord`], so it can never wedge the writer.
    pub fn send_record(&self, record: Record) -> Result<Seq, StoreError> {
        self.send_boxed(Box::new(record))
    }

    fn send_boxed(&self, record: Box<Record>) -> Result<Seq, StoreError> {
        record.validate()?;
        let mut sending = lock(&self.sending);
        let seq = sending.last + 1;
        let tx = sending.tx.as_ref().ok_or(StoreError::Closed)?;
        tx.send(record).map_err(|_| StoreError::Closed)?;
        sending.last = seq;
        Ok(seq)
    }

    /// The highest [`Seq`] that is durable.
    pub fn durable(&self) -> Seq {
        lock(&self.shared.progress).durable
    }

    /// Waits up to `timeout` for record `seq` to be durable; true if it is.
    pub fn wait_durable(&self, seq: Seq, timeout: Duration) -> bool {
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
        let target = lock(&self.sending).last;
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

    /// The writer's counters.
    pub fn stats(&self) -> WriterStats {
        let sent = lock(&self.sending).last;
        let mut stats = lock(&self.shared.progress).stats.clone();
        stats.sent = sent;
        stats
    }

    /// Commits everything sent and stops the thread. An error means some records could
    /// not be written (it says how many) or the thread panicked.
    pub fn close(mut self) -> Result<(), StoreError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), StoreError> {
        // Dropping the sender lets the thread drain the channel and then see it closed.
        lock(&self.sending).tx = None;
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(StoreError::Backend("record writer panicked".into()))),
            None => Ok(()),
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
fn backoff(n: u32) -> Duration {
    Duration::from_millis(10u64 << n.min(7)).min(Duration::from_secs(1))
}

/// The writer thread: batch whatever is queued, commit, repeat until the channel closes
/// and everything in it is written.
fn run<S: Store>(
    mut store: S,
    rx: Receiver<Box<Record>>,
    shared: &Shared,
    mut config: WriterConfig,
) -> Result<(), StoreError> {
    let _guard = StopGuard(shared);
    // Rebound after the guard so it drops first: once `stopped` is visible, the channel is
    // already closed and every later send fails with `Closed`.
    let rx = rx;
    let max_batch = match config.max_batch {
        0 => DEFAULT_MAX_BATCH,
        n => n,
    };
    let mut pending: VecDeque<Record> = VecDeque::new();
    let mut next_seq: Seq = 1;
    let mut open = true;
    let mut failures_in_row = 0;
    let mut latency_log = LatencyLog::from_env();
    // Borrows the store for the thread's life: its statements are prepared once.
    let mut session = store.write_session();
    let mut completed: Vec<CallId> = Vec::new();
    // Whether the last linger brought records. While it does, the writer keeps a steady
    // beat (sleep a linger, take what came) instead of parking on the channel: a sender
    // must wake a parked thread, a system call on the call path and a second wake-up of
    // this thread per batch. One quiet linger and it parks, so an idle daemon sleeps.
    let mut busy = false;
    loop {
        if pending.is_empty() {
            if !open {
                return Ok(());
            }
            if !busy {
                shared.update(|progress| progress.stats.parks += 1);
                match rx.recv() {
                    Ok(record) => pending.push_back(*record),
                    Err(_) => return Ok(()),
                }
            }
            // Sleep rather than wait on the channel: a sender wakes a thread blocked in
            // `recv`, so waiting there would cost one wake-up per record again.
            if !config.linger.is_zero() {
                std::thread::sleep(config.linger);
            }
        }
        // Take only what is already queued: a batch is what piled up during the last
        // commit (and the linger), so a burst shares a transaction.
        while open && pending.len() < max_batch {
            match rx.try_recv() {
                Ok(record) => pending.push_back(*record),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => open = false,
            }
        }
        // With a linger, a beat that brought nothing ends the busy spell; without one, the
        // writer parks whenever the queue is empty, as it always did.
        busy = !config.linger.is_zero() && !pending.is_empty();
        if pending.is_empty() {
            continue;
        }
        let n = pending.len().min(max_batch);
        let batch = &pending.make_contiguous()[..n];
        match session.apply(batch) {
            Ok(()) => {
                failures_in_row = 0;
                let through = next_seq + n as Seq - 1;
                next_seq = through + 1;
                if config.on_commit.is_some() {
                    completed.clear();
                    completed.extend(batch.iter().filter(|r| r.completed).map(|r| r.id));
                }
                if let Some(log) = latency_log.as_mut() {
                    log.committed(batch);
                }
                shared.update(|progress| {
                    progress.durable = through;
                    progress.stats.committed += n as u64;
                    progress.stats.batches += 1;
                });
                if let Some(on_commit) = config.on_commit.as_mut() {
                    on_commit(&Commit {
                        through,
                        records: n,
                        completed: &completed,
                        batch,
                    });
                }
                pending.drain(..n);
            }
            Err(e) => {
                failures_in_row += 1;
                shared.update(|progress| {
                    progress.stats.failed_commits += 1;
                    progress.stats.last_error = Some(e.clone());
                });
                if !open && failures_in_row >= CLOSE_ATTEMPTS {
                    return Err(StoreError::Backend(format!(
                        "{} records not written at close: {e}",
                        pending.len()
                    )));
                }
                std::thread::sleep(backoff(failures_in_row));
            }
        }
    }
}

/// The benchmark's probe for "time to a durable record", off unless the environment variable
/// `LINEDROP_BENCH_DURABLE_LOG` names a file. After each commit it appends, for every completed
/// record in the batch, one line: the microseconds from the call's last state change (for a
/// call the peer hung up, the moment the engine handled the BYE) to the end of the commit.
/// `bench/` reads it; nothing else does.
struct LatencyLog {
    out: std::io::BufWriter<std::fs::File>,
}

impl LatencyLog {
    fn from_env() -> Option<Self> {
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

    fn committed(&mut self, batch: &[Record]) {
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

//! With a journal, the senders make their records durable themselves: a record is held
//! until the sender's thread next calls [`Journal::write_due`] a linger later (or a batch
//! fills, or a reader needs it), and then the held records go to the journal in one
//! `write(2)` on that thread. The applier thread brings the store up to date from there.
//!
//! Why not a writer thread, as without a journal: a journal write is one `write(2)` to the
//! page cache, a few microseconds, while handing records to another thread costs that
//! thread a wake-up per batch (and the sender a futex wake whenever it has parked): on a
//! VM, more than the write itself. The daemon's SIP loop wakes for every datagram anyway;
//! the write rides on one of those wake-ups.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use linedrop_core::CallId;

use super::apply::{self, Applier, Queue};
use super::{backoff, lock, Commit, LatencyLog, OnCommit, Seq, Shared, CLOSE_ATTEMPTS};
use crate::error::StoreError;
use crate::journal::Appender;
use crate::record::Record;
use crate::store::Store;

/// The journal side of a [`super::RecordWriter`].
pub(super) struct Journal {
    held: Arc<Mutex<Held>>,
    queue: Arc<Queue>,
    applier: Option<Applier>,
}

/// Everything a write needs, under one lock: a record's [`Seq`], its place among the held
/// records and its frame's place in the journal always agree, whoever writes.
pub(super) struct Held {
    records: Vec<Record>,
    /// The last [`Seq`] handed out.
    last: Seq,
    /// When a [`Journal::write_due`] first saw the oldest held record: the linger runs from
    /// there (a sender need not read the clock to send).
    since: Option<Instant>,
    /// After a failed write, the next one waits until then.
    retry_at: Option<Instant>,
    failures_in_row: u32,
    /// `None` once closed.
    appender: Option<Appender>,
    linger: Duration,
    max_batch: usize,
    on_commit: Option<OnCommit>,
    latency_log: Option<LatencyLog>,
    shared: Arc<Shared>,
    queue: Arc<Queue>,
    /// The ids of the completed records of a batch, for `on_commit`; reused.
    completed: Vec<CallId>,
}

impl Journal {
    /// Starts the applier on `store` and gets ready to journal with `appender`.
    pub(super) fn start<S: Store + Send + 'static>(
        store: S,
        appender: Appender,
        shared: &Arc<Shared>,
        config: &mut super::WriterConfig,
        max_batch: usize,
    ) -> Result<Self, StoreError> {
        let queue = Arc::new(Queue::default());
        // Without this the applier's wait for a seal would have no bound when a segment is
        // never sealed by age (a long `seal_after`).
        let tick = appender.seal_after().min(crate::SEAL_AFTER);
        let held = Arc::new(Mutex::new(Held {
            records: Vec::new(),
            last: 0,
            since: None,
            retry_at: None,
            failures_in_row: 0,
            appender: Some(appender),
            linger: config.linger,
            max_batch,
            on_commit: config.on_commit.take(),
            latency_log: LatencyLog::from_env(),
            shared: Arc::clone(shared),
            queue: Arc::clone(&queue),
            completed: Vec::new(),
        }));
        let ticked = Arc::clone(&held);
        let applier = apply::spawn(
            store,
            Arc::clone(&queue),
            Arc::clone(shared),
            config.on_apply.take(),
            tick,
            // The backstop for a sender that never calls `write_due`, and the seal of a
            // segment that came due while nobody wrote.
            Box::new(move || lock(&ticked).tick()),
        )?;
        Ok(Self {
            held,
            queue,
            applier: Some(applier),
        })
    }

    /// Holds `record` until the next write; a full batch is written at once.
    pub(super) fn send(&self, record: Record) -> Result<Seq, StoreError> {
        let mut held = lock(&self.held);
        if held.appender.is_none() {
            return Err(StoreError::Closed);
        }
        held.records.push(record);
        held.last += 1;
        let seq = held.last;
        if held.records.len() >= held.max_batch && held.retry_at.is_none() {
            // A failure is counted in the stats and the records stay held.
            let _ = held.write();
        }
        Ok(seq)
    }

    /// Writes the held records that have waited a linger since a call of this first saw
    /// them, and returns when it should be called next: `None` when nothing is held.
    pub(super) fn write_due(&self, now: Instant) -> Option<Instant> {
        let mut held = lock(&self.held);
        if held.records.is_empty() {
            held.since = None;
            return None;
        }
        if let Some(at) = held.retry_at {
            if now < at {
                return Some(at);
            }
        }
        let since = *held.since.get_or_insert(now);
        let due = since + held.linger;
        if now < due {
            return Some(due);
        }
        match held.write() {
            Ok(()) => None,
            Err(_) => {
                let at = now + backoff(held.failures_in_row);
                held.retry_at = Some(at);
                Some(at)
            }
        }
    }

    /// Writes every held record now.
    pub(super) fn write_now(&self) -> Result<(), StoreError> {
        lock(&self.held).write()
    }

    /// The last [`Seq`] handed out.
    pub(super) fn last(&self) -> Seq {
        lock(&self.held).last
    }

    pub(super) fn queue(&self) -> &Queue {
        &self.queue
    }

    /// Writes what is held (trying [`CLOSE_ATTEMPTS`] times), seals the last segment, lets
    /// the applier finish and waits for it.
    pub(super) fn close(&mut self) -> Result<(), StoreError> {
        let Some(applier) = self.applier.take() else {
            return Ok(());
        };
        let written = {
            let mut held = lock(&self.held);
            let mut result = held.write();
            let mut attempt = 1;
            while result.is_err() && attempt < CLOSE_ATTEMPTS {
                std::thread::sleep(backoff(attempt));
                attempt += 1;
                result = held.write();
            }
            let unwritten = held.records.len();
            held.seal();
            held.appender = None;
            result.map_err(|e| {
                StoreError::Backend(format!("{unwritten} records not written at close: {e}"))
            })
        };
        self.queue.close();
        let applied = applier
            .join()
            .unwrap_or_else(|_| Err(StoreError::Backend("record applier panicked".into())));
        written.and(applied)
    }
}

impl Held {
    /// Writes every held record to the journal, in frames of at most `max_batch`, reports
    /// them durable and hands them to the applier. On a failure the records not written
    /// stay held, and it is counted.
    fn write(&mut self) -> Result<(), StoreError> {
        while !self.records.is_empty() {
            let Some(appender) = self.appender.as_mut() else {
                return Err(StoreError::Closed);
            };
            // A segment a failed write may have left torn takes no more frames: they would
            // sit behind the tear, where a replay stops reading.
            if appender.spoiled() {
                self.seal();
            }
            let n = self.records.len().min(self.max_batch);
            let appender = self.appender.as_mut().ok_or(StoreError::Closed)?;
            if let Err(e) = appender.append(&self.records[..n]) {
                self.failures_in_row += 1;
                self.shared.update(|p| {
                    p.stats.failed_commits += 1;
                    p.stats.last_error = Some(e.clone());
                });
                return Err(e);
            }
            self.failures_in_row = 0;
            self.retry_at = None;
            let through = self.last - (self.records.len() - n) as Seq;
            self.written(n, through);
        }
        self.since = None;
        Ok(())
    }

    /// The first `n` held records are durable through `through`: tell the waiters and the
    /// callback, and hand them to the applier.
    fn written(&mut self, n: usize, through: Seq) {
        let batch = &self.records[..n];
        if let Some(log) = self.latency_log.as_mut() {
            log.committed(batch);
        }
        self.shared.update(|progress| {
            progress.durable = through;
            progress.stats.committed += n as u64;
            progress.stats.batches += 1;
        });
        if let Some(on_commit) = self.on_commit.as_mut() {
            self.completed.clear();
            self.completed
                .extend(batch.iter().filter(|r| r.completed).map(|r| r.id));
            on_commit(&Commit {
                through,
                records: n,
                completed: &self.completed,
                batch,
            });
        }
        self.queue.hand(self.records.drain(..n), through);
        if self.appender.as_ref().is_some_and(Appender::due) {
            self.seal();
        }
    }

    /// Ends the open segment, if any, and hands it to the applier, which deletes it once
    /// the store has every record in it.
    fn seal(&mut self) {
        if let Some(segment) = self.appender.as_mut().and_then(Appender::seal) {
            self.queue.seal(segment);
        }
    }

    /// The applier's periodic call: write what is held (a retry after a failure too, for a
    /// sender that stopped calling `write_due`), and seal a segment that came due.
    fn tick(&mut self) {
        self.retry_at = None;
        let _ = self.write();
        if self.appender.as_ref().is_some_and(Appender::due) {
            self.seal();
        }
    }
}

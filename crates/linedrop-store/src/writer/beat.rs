//! The writer thread: take what is queued, make it durable as one batch, tell the waiters
//! and the callback, repeat until the channel closes and everything in it is durable.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;

use linedrop_core::CallId;

use super::apply::{Applier, Queue};
use super::{
    backoff, Commit, Seq, Shared, StopGuard, WriterConfig, CLOSE_ATTEMPTS, DEFAULT_MAX_BATCH,
};
use crate::error::StoreError;
use crate::journal::Appender;
use crate::record::Record;
use crate::store::{Store, WriteSession};

/// Where the writer makes batches durable.
pub(super) enum Mode<S> {
    /// Straight into the store, one transaction a batch.
    Direct(S),
    /// Into the journal; the applier (fed through `queue`) brings the store up to date.
    Journal {
        appender: Appender,
        queue: Arc<Queue>,
        applier: Applier,
    },
}

/// [`Mode`] once running: the store borrowed for a session.
enum Target<'s> {
    Direct(Box<dyn WriteSession + 's>),
    Journal {
        appender: Appender,
        queue: Arc<Queue>,
    },
}

impl Target<'_> {
    fn write(&mut self, batch: &[Record]) -> Result<(), StoreError> {
        match self {
            Target::Direct(session) => session.apply(batch),
            Target::Journal { appender, queue } => {
                // A segment a failed write may have left torn takes no more frames: they
                // would sit behind the tear, where a replay stops reading.
                if appender.spoiled() {
                    seal(appender, queue);
                }
                appender.append(batch)
            }
        }
    }

    /// The batch just written, durable through `through`: the applier takes it, and the
    /// segment is sealed if it is due. Without a journal the store has it already.
    fn written(&mut self, batch: impl Iterator<Item = Record>, through: Seq) {
        match self {
            Target::Direct(_) => {}
            Target::Journal { appender, queue } => {
                queue.hand(batch, through);
                if appender.due() {
                    seal(appender, queue);
                }
            }
        }
    }

    /// Waits for the next record while the writer is idle. A segment still open is sealed
    /// when it comes due, so the store catches up with the last records of a busy spell
    /// within [`crate::SEAL_AFTER`]; not sooner, since between a load's bursts the writer
    /// parks many times a second and each seal costs a store commit. `None`: the channel
    /// is closed.
    fn park(&mut self, rx: &Receiver<Box<Record>>) -> Option<Box<Record>> {
        if let Target::Journal { appender, queue } = self {
            if let Some(wait) = appender.due_in() {
                match rx.recv_timeout(wait) {
                    Ok(record) => return Some(record),
                    Err(RecvTimeoutError::Disconnected) => return None,
                    Err(RecvTimeoutError::Timeout) => seal(appender, queue),
                }
            }
        }
        rx.recv().ok()
    }

    /// The channel is closed and everything in it durable: seal the last segment and tell
    /// the applier to finish.
    fn finish(&mut self) {
        if let Target::Journal { appender, queue } = self {
            seal(appender, queue);
            queue.close();
        }
    }
}

/// Ends the open segment, if any, and hands it to the applier, which deletes it once the
/// store has every record in it.
fn seal(appender: &mut Appender, queue: &Queue) {
    if let Some(segment) = appender.seal() {
        queue.seal(segment);
    }
}

pub(super) fn run<S: Store>(
    mode: Mode<S>,
    rx: Receiver<Box<Record>>,
    shared: &Shared,
    config: WriterConfig,
) -> Result<(), StoreError> {
    let _guard = StopGuard(shared);
    // Rebound after the guard so it drops first: once `stopped` is visible, the channel is
    // already closed and every later send fails with `Closed`.
    let rx = rx;
    let mut store = None;
    let (target, applier) = match mode {
        Mode::Direct(s) => (Target::Direct(store.insert(s).write_session()), None),
        Mode::Journal {
            appender,
            queue,
            applier,
        } => (Target::Journal { appender, queue }, Some(applier)),
    };
    let result = beat(target, &rx, shared, config);
    match applier {
        None => result,
        Some(applier) => {
            let applied = applier
                .join()
                .unwrap_or_else(|_| Err(StoreError::Backend("record applier panicked".into())));
            result.and(applied)
        }
    }
}

/// The loop; returns once the channel is closed and every record is durable (and, with a
/// journal, handed to the applier, which has been told to finish).
fn beat(
    mut target: Target<'_>,
    rx: &Receiver<Box<Record>>,
    shared: &Shared,
    mut config: WriterConfig,
) -> Result<(), StoreError> {
    let max_batch = match config.max_batch {
        0 => DEFAULT_MAX_BATCH,
        n => n,
    };
    let mut pending: VecDeque<Record> = VecDeque::new();
    let mut next_seq: Seq = 1;
    let mut open = true;
    let mut failures_in_row = 0;
    let mut latency_log = LatencyLog::from_env();
    let mut completed: Vec<CallId> = Vec::new();
    // Whether the last linger brought records. While it does, the writer keeps a steady
    // beat (sleep a linger, take what came) instead of parking on the channel: a sender
    // must wake a parked thread, a system call on the call path and a second wake-up of
    // this thread per batch. One quiet linger and it parks, so an idle daemon sleeps.
    let mut busy = false;
    loop {
        if pending.is_empty() {
            if !open {
                target.finish();
                return Ok(());
            }
            if !busy {
                shared.update(|progress| progress.stats.parks += 1);
                match target.park(rx) {
                    Some(record) => pending.push_back(*record),
                    None => {
                        target.finish();
                        return Ok(());
                    }
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
        match target.write(batch) {
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
                let direct = matches!(target, Target::Direct(_));
                shared.update(|progress| {
                    progress.durable = through;
                    if direct {
                        progress.applied = through;
                        progress.stats.applied += n as u64;
                    }
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
                if let (Some(on_apply), true) = (config.on_apply.as_mut(), direct) {
                    on_apply(batch);
                }
                target.written(pending.drain(..n), through);
            }
            Err(e) => {
                failures_in_row += 1;
                shared.update(|progress| {
                    progress.stats.failed_commits += 1;
                    progress.stats.last_error = Some(e.clone());
                });
                if !open && failures_in_row >= CLOSE_ATTEMPTS {
                    target.finish();
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
/// `LINEDROP_BENCH_DURABLE_LOG` names a file. After each durable batch it appends, for every completed
/// record in the batch, one line: the microseconds from the call's last state change (for a
/// call the peer hung up, the moment the engine handled the BYE) to the batch being durable.
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

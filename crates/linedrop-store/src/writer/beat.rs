//! The writer thread, without a journal: take what is queued, commit it to the store as one
//! transaction, tell the waiters and the callback, repeat until the channel closes and
//! everything in it is durable.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, TryRecvError};

use linedrop_core::CallId;

use super::{backoff, Commit, LatencyLog, Seq, Shared, StopGuard, WriterConfig, CLOSE_ATTEMPTS};
use crate::error::StoreError;
use crate::record::Record;
use crate::store::{Store, WriteSession};

pub(super) fn run<S: Store>(
    mut store: S,
    rx: Receiver<Box<Record>>,
    shared: &Shared,
    config: WriterConfig,
    max_batch: usize,
) -> Result<(), StoreError> {
    let _guard = StopGuard(shared);
    // Rebound after the guard so it drops first: once `stopped` is visible, the channel is
    // already closed and every later send fails with `Closed`.
    let rx = rx;
    let session = store.write_session();
    beat(session, &rx, shared, config, max_batch)
}

/// The loop; returns once the channel is closed and every record is durable.
fn beat(
    mut session: Box<dyn WriteSession + '_>,
    rx: &Receiver<Box<Record>>,
    shared: &Shared,
    mut config: WriterConfig,
    max_batch: usize,
) -> Result<(), StoreError> {
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
                    progress.applied = through;
                    progress.stats.applied += n as u64;
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
                if let Some(on_apply) = config.on_apply.as_mut() {
                    on_apply(batch);
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

//! The applier: with a journal, the thread that owns the store and brings it up to date with
//! what the senders made durable, in one transaction per sealed segment (or sooner,
//! when a reader asks), and deletes each segment once its records are committed.

use std::collections::hash_map::Entry;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use linedrop_core::IdMap;

use super::{backoff, lock, OnApply, Seq, Shared, StopGuard, CLOSE_ATTEMPTS};
use crate::error::StoreError;
use crate::record::Record;
use crate::store::Store;

/// What the senders have handed over and the applier has not taken yet.
#[derive(Default)]
struct Handed {
    /// Durable records, in send order.
    records: Vec<Record>,
    /// The [`Seq`] of the last of them.
    through: Seq,
    /// Sealed segments: each may go once everything handed before it is in the store.
    sealed: Vec<PathBuf>,
    /// A reader wants everything up to this [`Seq`] in the store now.
    wanted: Seq,
    /// The writer has handed over its last records.
    closing: bool,
}

/// The hand-over between the journal's writers and the applier.
#[derive(Default)]
pub(super) struct Queue {
    handed: Mutex<Handed>,
    /// Signalled on a seal, a reader's request and closing: not per batch, so handing over
    /// a batch costs the sender a lock and no system call.
    wake: Condvar,
}

impl Queue {
    /// Hands over a batch that is durable through `through`.
    /// The batch was reported durable just before (the callback needs it first), so a
    /// reader may already want it: then the applier is woken for it.
    pub(super) fn hand(&self, batch: impl Iterator<Item = Record>, through: Seq) {
        let mut handed = lock(&self.handed);
        handed.records.extend(batch);
        let wanted = handed.wanted > handed.through;
        handed.through = through;
        drop(handed);
        if wanted {
            self.wake.notify_one();
        }
    }

    /// Hands over a sealed segment: the applier commits what it holds and deletes it.
    pub(super) fn seal(&self, segment: PathBuf) {
        lock(&self.handed).sealed.push(segment);
        self.wake.notify_one();
    }

    /// Asks for every record through `seq` to be in the store.
    pub(super) fn want(&self, seq: Seq) {
        let mut handed = lock(&self.handed);
        if handed.wanted < seq {
            handed.wanted = seq;
            drop(handed);
            self.wake.notify_one();
        }
    }

    /// The writer is done: commit everything and stop.
    pub(super) fn close(&self) {
        lock(&self.handed).closing = true;
        self.wake.notify_one();
    }
}

/// The applier thread; it returns an error only when closing with records it could not
/// commit (they stay in the journal).
pub(super) type Applier = JoinHandle<Result<(), StoreError>>;

/// What the applier calls every `every` while it waits: the journal's periodic chores.
pub(super) type Tick = Box<dyn FnMut() + Send>;

/// Starts the applier on `store`, fed through `queue`; it reports through `shared`, and runs
/// `tick` whenever it has waited `every` for work.
pub(super) fn spawn<S: Store + Send + 'static>(
    store: S,
    queue: Arc<Queue>,
    shared: Arc<Shared>,
    on_apply: Option<OnApply>,
    every: Duration,
    tick: Tick,
) -> Result<Applier, StoreError> {
    std::thread::Builder::new()
        .name("linedrop-apply".into())
        .spawn(move || {
            let _guard = StopGuard(&shared);
            run(store, &queue, &shared, on_apply, every, tick)
        })
        .map_err(|e| StoreError::Backend(format!("cannot start the record applier: {e}")))
}

fn run<S: Store>(
    mut store: S,
    queue: &Queue,
    shared: &Shared,
    mut on_apply: Option<OnApply>,
    every: Duration,
    mut tick: Tick,
) -> Result<(), StoreError> {
    let mut session = store.write_session();
    let mut pending: Vec<Record> = Vec::new();
    let mut sealed: Vec<PathBuf> = Vec::new();
    // Records taken since the last successful round, before coalescing: what the stats count.
    let mut taken: u64 = 0;
    let mut through: Seq = 0;
    let mut applied: Seq = 0;
    let mut failures_in_row = 0;
    loop {
        let retry = failures_in_row > 0;
        let idle = |h: &mut Handed| {
            // A reader's request counts once what it wants is handed over.
            let asked = h.wanted > applied && h.through > applied;
            !retry && h.sealed.is_empty() && !asked && !h.closing
        };
        let closing = {
            let handed = lock(&queue.handed);
            let (mut handed, waited) = queue
                .wake
                .wait_timeout_while(handed, every, idle)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if waited.timed_out() {
                // The tick writes and seals, which takes this lock: not while holding it.
                drop(handed);
                tick();
                continue;
            }
            taken += handed.records.len() as u64;
            pending.append(&mut handed.records);
            sealed.append(&mut handed.sealed);
            through = through.max(handed.through);
            handed.closing
        };
        pending = coalesce(std::mem::take(&mut pending));
        let result = if pending.is_empty() {
            Ok(())
        } else {
            session.apply(&pending)
        };
        match result {
            Ok(()) => {
                failures_in_row = 0;
                if let (Some(on_apply), false) = (on_apply.as_mut(), pending.is_empty()) {
                    on_apply(&pending);
                }
                pending.clear();
                // The store has them: the segments may go. One that cannot be deleted is
                // only replayed (harmlessly) at the next start.
                for segment in sealed.drain(..) {
                    let _ = std::fs::remove_file(segment);
                }
                applied = through;
                let n = std::mem::take(&mut taken);
                shared.update(|p| {
                    p.applied = through;
                    p.stats.applied += n;
                });
                if closing {
                    return Ok(());
                }
            }
            Err(e) => {
                failures_in_row += 1;
                shared.update(|p| {
                    p.stats.failed_applies += 1;
                    p.stats.last_error = Some(e.clone());
                });
                if closing && failures_in_row >= CLOSE_ATTEMPTS {
                    return Err(StoreError::Backend(format!(
                        "{} records not in the store at close (they stay in the journal and \
                         are replayed at the next start): {e}",
                        pending.len()
                    )));
                }
                std::thread::sleep(backoff(failures_in_row));
            }
        }
    }
}

/// One record per call, with the same effect on the store as writing them all in order: a
/// call's first completed record wins over every later one, and otherwise its last open
/// record does; its creation time is the one first written, as the upsert keeps it.
///
/// With a store commit per second, most calls shorter than that have both their records in
/// one round, and half the upserts go.
fn coalesce(records: Vec<Record>) -> Vec<Record> {
    // Call ids are this process's own, not a peer's: the cheap hash is safe.
    let mut index: IdMap<_, usize> = IdMap::default();
    index.reserve(records.len());
    let mut out: Vec<Record> = Vec::with_capacity(records.len());
    for record in records {
        match index.entry(record.id) {
            Entry::Vacant(e) => {
                e.insert(out.len());
                out.push(record);
            }
            Entry::Occupied(e) => {
                let kept = &mut out[*e.get()];
                if !kept.completed {
                    let created_at = kept.created_at;
                    *kept = record;
                    kept.created_at = created_at;
                }
            }
        }
    }
    out
}

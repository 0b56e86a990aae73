//! The applier: with a journal, the thread that owns the store and brings it up to date with
//! what the senders made durable, in one transaction per sealed segment (or sooner,
//! when a reader asks), and deletes each segment once its records are committed. A call
//! still open at the end of a round waits for the next one ([`HeldBack`]).

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::round::{HeldBack, Lists};
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
    // Records taken and not in the store yet, in the order handed over (coalesced after a
    // failed round).
    let mut pending: Vec<Record> = Vec::new();
    let mut sealed: Vec<PathBuf> = Vec::new();
    let mut held = HeldBack::default();
    let mut lists = Lists::default();
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
        let before = through;
        let (closing, may_hold, round) = {
            let handed = lock(&queue.handed);
            let (mut handed, waited) = queue
                .wake
                .wait_timeout_while(handed, every, idle)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let quiet = waited.timed_out();
            if quiet {
                // The tick writes and seals, which takes this lock: not while holding it.
                drop(handed);
                tick();
                if held.records.is_empty() {
                    continue;
                }
                // Nothing came for a while: what was held back goes in now.
                handed = lock(&queue.handed);
            }
            // A seal made by the tick is a round like any other: only a spell with nothing
            // new is quiet.
            let quiet = quiet && handed.sealed.is_empty();
            let asked = handed.wanted > applied && handed.through > applied;
            let round = handed.records.len();
            taken += round as u64;
            if pending.is_empty() {
                // Most rounds: take the batch as it is rather than copy every record, and
                // leave the senders the emptied list of the last round, which has room for
                // one (see `Lists`).
                std::mem::swap(&mut pending, &mut handed.records);
            } else {
                pending.append(&mut handed.records);
            }
            sealed.append(&mut handed.sealed);
            through = through.max(handed.through);
            let closing = handed.closing;
            (closing, !(quiet || asked || closing || retry), round)
        };
        // What was held back was handed over first, so it goes first: coalescing keeps the
        // order of first appearance, and the first `carried` records are those calls.
        let carried = held.records.len();
        held.originals = 0;
        // Each record is moved once, into the merged list (a record is a few hundred bytes:
        // appending one list to the other first copied the round's records once more).
        lists.coalesce(&mut held.records, &mut pending);
        if may_hold {
            held.take_open(&mut pending, &mut lists, carried);
        }
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
                lists.trim(&mut pending, &mut held, round);
                // The store has them: the segments may go, except those that may hold a
                // record held back, which go after the next round. One that cannot be
                // deleted is only replayed (harmlessly) at the next start.
                for segment in held.segments.drain(..) {
                    let _ = std::fs::remove_file(segment);
                }
                if held.records.is_empty() {
                    for segment in sealed.drain(..) {
                        let _ = std::fs::remove_file(segment);
                    }
                    applied = through;
                } else {
                    held.segments.append(&mut sealed);
                    // Every record handed over before this round is in the store now.
                    applied = before.max(applied);
                }
                let n = taken - held.originals;
                taken = held.originals;
                let now_applied = applied;
                shared.update(|p| {
                    p.applied = now_applied;
                    p.stats.applied += n;
                });
                if closing {
                    return Ok(());
                }
            }
            Err(e) => {
                failures_in_row += 1;
                // A retry holds nothing back: put it with the rest.
                pending.append(&mut held.records);
                sealed.append(&mut held.segments);
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

#[cfg(test)]
pub(super) mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc;
    use std::time::{SystemTime, UNIX_EPOCH};

    use linedrop_core::{CallId, CallState, Direction, ProviderFacts, StateTimes};

    use super::*;
    use crate::query::{RecordPage, RecordQuery};
    use crate::writer::Progress;

    const DEADLINE: Duration = Duration::from_secs(20);

    /// A store that reports each batch it is given as (id, completed) pairs, or fails.
    struct Recorder {
        batches: mpsc::Sender<Vec<(u64, bool)>>,
        failing: Arc<AtomicBool>,
    }

    impl Store for Recorder {
        fn apply(&mut self, records: &[Record]) -> Result<(), StoreError> {
            if self.failing.load(Ordering::SeqCst) {
                return Err(StoreError::Backend("disk full (simulated)".into()));
            }
            let batch = records.iter().map(|r| (r.id.0, r.completed)).collect();
            let _ = self.batches.send(batch);
            Ok(())
        }
        fn get(&self, _: CallId) -> Result<Option<Record>, StoreError> {
            Ok(None)
        }
        fn query(&self, _: &RecordQuery) -> Result<RecordPage, StoreError> {
            Ok(RecordPage {
                records: Vec::new(),
                next_cursor: None,
            })
        }
        fn count(&self) -> Result<u64, StoreError> {
            Ok(0)
        }
        fn max_call_id(&self) -> Result<Option<u64>, StoreError> {
            Ok(None)
        }
        fn close_orphans(&mut self, _: SystemTime) -> Result<Vec<CallId>, StoreError> {
            Ok(Vec::new())
        }
        fn purge_completed_before(&mut self, _: SystemTime) -> Result<u64, StoreError> {
            Ok(0)
        }
    }

    /// A record of call `id`, created `id` seconds after the epoch.
    pub(in crate::writer) fn record(id: u64, completed: bool) -> Record {
        Record {
            id: CallId(id),
            direction: Direction::Inbound,
            line: "sip:line@test".into(),
            line_key: 1,
            local: "sip:line@test".into(),
            remote: format!("sip:{id}@far.test").into(),
            state: if completed {
                CallState::Idle
            } else {
                CallState::Connected
            },
            created_at: UNIX_EPOCH + Duration::from_secs(id),
            entered: StateTimes::default(),
            setup_duration: None,
            talk_duration: None,
            termination: None,
            late_causes: 0,
            facts: ProviderFacts::default(),
            holders: Vec::new(),
            completed,
        }
    }

    /// Waits until `done` holds of the progress (or the deadline passes); returns the
    /// records counted in the store, the [`Seq`] readers may rely on, and failed rounds.
    fn wait_until(shared: &Shared, done: impl Fn(&Progress) -> bool) -> (u64, Seq, u64) {
        let p = Progress::counted(lock(&shared.progress), |p| {
            shared
                .changed
                .wait_timeout_while(p, DEADLINE, |p| !done(p))
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0
        });
        (p.stats.applied, p.applied, p.stats.failed_applies)
    }

    /// Waits until the applier has counted `n` records in the store; returns that count
    /// and the [`Seq`] readers may rely on.
    fn applied(shared: &Shared, n: u64) -> (u64, Seq) {
        let (count, seq, _) = wait_until(shared, |p| p.stats.applied >= n);
        (count, seq)
    }

    /// An applier over a [`Recorder`] that waits `every` for work, and a directory for the
    /// segments it is handed.
    struct Rig {
        dir: tempfile::TempDir,
        queue: Arc<Queue>,
        shared: Arc<Shared>,
        batches: mpsc::Receiver<Vec<(u64, bool)>>,
        failing: Arc<AtomicBool>,
        applier: Applier,
    }

    impl Rig {
        fn new(every: Duration) -> Self {
            let queue = Arc::new(Queue::default());
            let shared = Arc::new(Shared {
                progress: Mutex::default(),
                changed: Condvar::new(),
            });
            let (tx, batches) = mpsc::channel();
            let failing = Arc::new(AtomicBool::new(false));
            let store = Recorder {
                batches: tx,
                failing: Arc::clone(&failing),
            };
            let applier = spawn(
                store,
                Arc::clone(&queue),
                Arc::clone(&shared),
                None,
                every,
                Box::new(|| {}),
            )
            .expect("applier");
            let dir = tempfile::tempdir().expect("dir");
            Rig {
                dir,
                queue,
                shared,
                batches,
                failing,
                applier,
            }
        }

        /// Hands over a sealed segment (an empty file) that holds nothing the test checks.
        fn seal(&self, n: u32) -> PathBuf {
            let path = self.dir.path().join(format!("segment.{n}"));
            std::fs::write(&path, b"").expect("segment");
            self.queue.seal(path.clone());
            path
        }

        fn next(&self) -> Vec<(u64, bool)> {
            self.batches.recv_timeout(DEADLINE).expect("a batch")
        }
    }

    #[test]
    fn an_open_call_waits_one_round_for_its_end_and_then_goes_in_whatever_it_holds() {
        // Rounds come only from seals, asks and closing: no quiet spell in this test.
        let rig = Rig::new(Duration::from_secs(3600));

        // Call 1 is still open at the end of the round: held back, with its segment.
        rig.queue.hand(
            [record(1, false), record(2, false), record(2, true)].into_iter(),
            3,
        );
        let first = rig.seal(1);
        assert_eq!(rig.next(), [(2, true)]);
        assert_eq!(applied(&rig.shared, 2), (2, 0));
        assert!(first.exists(), "deleted while it held call 1's record");

        // Its end comes in the next round: one row for the call, written once.
        rig.queue.hand([record(1, true)].into_iter(), 4);
        let second = rig.seal(2);
        assert_eq!(rig.next(), [(1, true)]);
        assert_eq!(applied(&rig.shared, 4), (4, 4));
        assert!(!first.exists() && !second.exists());

        // Held back once only: call 3, open at two rounds' ends, goes in open at the second.
        rig.queue
            .hand([record(3, false), record(4, true)].into_iter(), 6);
        rig.seal(3);
        assert_eq!(rig.next(), [(4, true)]);
        rig.queue.hand([record(5, false)].into_iter(), 7);
        rig.seal(4);
        assert_eq!(rig.next(), [(3, false)]);
        assert_eq!(applied(&rig.shared, 6), (6, 6));

        // A reader's request holds nothing back.
        rig.queue.hand([record(6, false)].into_iter(), 8);
        rig.queue.want(8);
        assert_eq!(rig.next(), [(5, false), (6, false)]);
        assert_eq!(applied(&rig.shared, 8), (8, 8));

        // A failed round holds nothing back either: its retry writes everything.
        rig.failing.store(true, Ordering::SeqCst);
        rig.queue
            .hand([record(7, false), record(8, true)].into_iter(), 10);
        rig.seal(5);
        let (_, _, failed) = wait_until(&rig.shared, |p| p.stats.failed_applies > 0);
        assert!(failed > 0);
        rig.failing.store(false, Ordering::SeqCst);
        let mut retried = rig.next();
        retried.sort_unstable();
        assert_eq!(retried, [(7, false), (8, true)]);
        assert_eq!(applied(&rig.shared, 10), (10, 10));

        // And the last round writes what is held.
        rig.queue.hand([record(9, false)].into_iter(), 11);
        rig.seal(6);
        rig.queue.close();
        assert_eq!(rig.applier.join().expect("applier thread"), Ok(()));
        let rest: Vec<_> = rig.batches.try_iter().flatten().collect();
        assert_eq!(rest, [(9, false)]);
    }

    /// The room of the list the senders fill next.
    fn senders_room(rig: &Rig) -> usize {
        lock(&rig.queue.handed).records.capacity()
    }

    /// Hands over `calls` calls from `first` on, each created and ended in the round, and
    /// waits for the round's batch.
    fn round_of(rig: &Rig, first: u64, calls: u64, seal: u32) {
        let records = (first..first + calls).flat_map(|id| [record(id, false), record(id, true)]);
        rig.queue.hand(records, 2 * (first + calls - 1));
        rig.seal(seal);
        assert_eq!(rig.next().len(), calls as usize);
    }

    #[test]
    fn the_senders_get_a_list_with_room_for_a_round_and_a_bursts_room_goes_after_it() {
        let rig = Rig::new(Duration::from_secs(3600));
        // Two records a call, one row: the merged list is half a round. The list the
        // senders get back (from the round before: none in the first) must hold a whole
        // one, or they grow it (copying every record) all round long.
        let (calls, mut next) = (3_000, 1);
        round_of(&rig, next, calls, 1);
        next += calls;
        for seal in 2..=4 {
            round_of(&rig, next, calls, seal);
            next += calls;
            assert!(
                senders_room(&rig) >= 2 * calls as usize,
                "round {seal}: room for {} of {} records",
                senders_room(&rig),
                2 * calls
            );
        }
        // A burst, then quiet rounds: from the second on, the three lists pass through the
        // senders' hands in turn, each trimmed on the way.
        round_of(&rig, next, 100_000, 5);
        next += 100_000;
        round_of(&rig, next, 10, 6);
        next += 10;
        for seal in 7..=9 {
            round_of(&rig, next, 10, seal);
            next += 10;
            let room = senders_room(&rig);
            assert!(
                room <= 4 * 1024,
                "round {seal}: a burst's room kept: {room}"
            );
        }
        rig.queue.close();
        assert_eq!(rig.applier.join().expect("applier thread"), Ok(()));
    }

    #[test]
    fn what_is_held_back_goes_in_once_nothing_comes_for_a_while() {
        let rig = Rig::new(Duration::from_millis(10));
        rig.queue.hand([record(1, false)].into_iter(), 1);
        let segment = rig.seal(1);
        // Nothing else comes: the round after the quiet spell writes it, and the segment goes.
        assert_eq!(rig.next(), [(1, false)]);
        assert_eq!(applied(&rig.shared, 1), (1, 1));
        assert!(!segment.exists());
        rig.queue.close();
        assert_eq!(rig.applier.join().expect("applier thread"), Ok(()));
    }
}

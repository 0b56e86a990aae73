//! What the applier does to a round's records before the store sees them: one record per
//! call ([`Lists::coalesce`]), the calls still open held back for the next round
//! ([`HeldBack`]), and the lists that carry them, kept from round to round ([`Lists`]).

use std::collections::hash_map::Entry;
use std::path::PathBuf;

use linedrop_core::{CallId, IdMap};

use crate::record::Record;

/// Below this many records a list is never trimmed: a quiet spell need not give back the
/// little a list holds.
const MIN_KEEP: usize = 1024;

/// The lists a round fills and empties, kept from round to round, with the applier's
/// `pending` list and the list the senders fill (the three trade places every round, see
/// `apply::run`).
///
/// A round is about a second of records, a few hundred bytes each: a few MiB at a few
/// thousand calls a second. Allocated afresh each round, every list faulted in new pages
/// (mimalloc gives freed memory back to the system after its `purge_delay`, one second:
/// about a round), and the senders' list, which started each round smaller than a round,
/// was copied as it grew: at 4,000 calls/s on the benchmark's VM, ~4 % of the daemon's
/// profile was the kernel zeroing those pages (huge pages). Kept, a round in a steady load
/// allocates nothing here, and the daemon's page faults per call fell from 0.16 to 0.04
/// (its CPU per call moved less than the benchmark's noise: `BENCHMARKS.md`).
#[derive(Default)]
pub(super) struct Lists {
    /// Empty between the steps of a round: where the next step's output goes.
    spare: Vec<Record>,
    /// Where each call's record is in the merged list. Call ids are this process's own,
    /// not a peer's: the cheap hash is safe.
    index: IdMap<CallId, usize>,
    /// Beside each merged record, how many handed-over records it stands for.
    originals: Vec<u32>,
}

impl Lists {
    /// Replaces `pending` by one record per call of `held` then `pending` (emptying both),
    /// with the same effect on the store as writing them all in order: a call's first
    /// completed record wins over every later one, and otherwise its last open record does;
    /// its creation time is the one first written, as the upsert keeps it. The calls keep
    /// the order of their first record; `originals` says how many each stands for.
    ///
    /// With a store commit per second, most calls shorter than that have both their records
    /// in one round, and half the upserts go ([`HeldBack`] catches most of the rest).
    pub(super) fn coalesce(&mut self, held: &mut Vec<Record>, pending: &mut Vec<Record>) {
        let Lists {
            spare: out,
            index,
            originals,
        } = self;
        out.clear();
        index.clear();
        originals.clear();
        for record in held.drain(..).chain(pending.drain(..)) {
            match index.entry(record.id) {
                Entry::Vacant(e) => {
                    e.insert(out.len());
                    out.push(record);
                    originals.push(1);
                }
                Entry::Occupied(e) => {
                    // `index` and `out` are filled together: `at` is always in both.
                    let at = *e.get();
                    originals[at] += 1;
                    let kept = &mut out[at];
                    if !kept.completed {
                        let created_at = kept.created_at;
                        *kept = record;
                        kept.created_at = created_at;
                    }
                }
            }
        }
        std::mem::swap(pending, out);
    }

    /// After a round that took `taken` records: gives back what `pending` (empty now),
    /// these lists and `held` keep beyond four times that (or [`MIN_KEEP`]), so that a
    /// burst's memory goes once the load falls. Half that is kept, room for the rounds of
    /// a load that varies.
    pub(super) fn trim(&mut self, pending: &mut Vec<Record>, held: &mut HeldBack, taken: usize) {
        let keep = taken.max(MIN_KEEP).saturating_mul(2);
        for list in [pending, &mut self.spare, &mut held.records] {
            if list.capacity() > keep.saturating_mul(2) {
                list.shrink_to(keep);
            }
        }
        if self.originals.capacity() > keep.saturating_mul(2) {
            self.originals.shrink_to(keep);
        }
        if self.index.capacity() > keep.saturating_mul(2) {
            self.index.shrink_to(keep);
        }
    }
}

/// Calls still open at the end of a round, kept out of the store until the next one.
///
/// A call's record is written when it is created and again when it ends; a round that
/// has both writes one row, a call that spans two rounds costs two (the second an
/// update, as dear as the insert: `bench/`'s calls of half a second spanned rounds half
/// the time). So an open call's record taken in a round waits for the next round, where
/// its end, if it has come, replaces it. Only once: a record held back is written in the
/// next round whatever it holds. Nothing is held back from a round a reader asked for, a
/// retry, the last round, or a round after a quiet spell, which is when what is held
/// goes in. The journal keeps every record held back: the segments sealed with it stay
/// until it is in the store.
#[derive(Default)]
pub(super) struct HeldBack {
    /// Coalesced, one per call, in the order handed over.
    pub(super) records: Vec<Record>,
    /// How many records handed over these stand for (the stats count those).
    pub(super) originals: u64,
    /// Sealed segments that may hold them.
    pub(super) segments: Vec<PathBuf>,
}

impl HeldBack {
    /// Moves the open records of `pending` (as [`Lists::coalesce`] left it) that were not
    /// held back before (those from index `carried` on) here, keeping the order of the rest.
    pub(super) fn take_open(
        &mut self,
        pending: &mut Vec<Record>,
        lists: &mut Lists,
        carried: usize,
    ) {
        // `spare` is empty after `coalesce`: `pending` becomes an empty list with room.
        let all = &mut lists.spare;
        std::mem::swap(pending, all);
        for (i, record) in all.drain(..).enumerate() {
            if i < carried || record.completed {
                pending.push(record);
            } else {
                self.originals += u64::from(lists.originals.get(i).copied().unwrap_or(1));
                self.records.push(record);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    /// A record of call `id`, created `created_s` seconds after the epoch.
    fn record(id: u64, completed: bool, created_s: u64) -> Record {
        let mut r = super::super::apply::tests::record(id, completed);
        r.created_at = UNIX_EPOCH + Duration::from_secs(created_s);
        r
    }

    fn ids(records: &[Record]) -> Vec<(u64, bool, u64)> {
        records
            .iter()
            .map(|r| {
                let created = r
                    .created_at
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                (r.id.0, r.completed, created)
            })
            .collect()
    }

    #[test]
    fn coalescing_keeps_the_first_final_record_the_first_creation_time_and_the_order() {
        let mut lists = Lists::default();
        // Call 1 held back from the last round; call 2 ends twice; call 3 is open throughout.
        let mut held = vec![record(1, false, 10)];
        let mut pending = vec![
            record(2, false, 20),
            record(1, true, 11),
            record(3, false, 30),
            record(2, true, 21),
            record(2, true, 22),
            record(1, false, 12),
            record(3, false, 31),
        ];
        lists.coalesce(&mut held, &mut pending);
        assert!(held.is_empty());
        assert_eq!(
            ids(&pending),
            [(1, true, 10), (2, true, 20), (3, false, 30)]
        );
        assert_eq!(lists.originals, [3, 3, 2]);

        // Held back: the open call taken this round (3), not one carried from the last.
        let mut back = HeldBack::default();
        let mut pending = vec![
            record(4, false, 40),
            record(5, true, 50),
            record(6, false, 60),
        ];
        let mut none = Vec::new();
        lists.coalesce(&mut none, &mut pending);
        back.take_open(&mut pending, &mut lists, 1);
        assert_eq!(ids(&pending), [(4, false, 40), (5, true, 50)]);
        assert_eq!(ids(&back.records), [(6, false, 60)]);
        assert_eq!(back.originals, 1);
    }
}

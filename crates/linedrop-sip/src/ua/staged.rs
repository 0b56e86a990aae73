//! Tables that churn without ever pausing to grow: the ones holding what outlives a call
//! for 64·T1 (transactions, their branch index, each call's transaction list, tombstones).
//!
//! A hashbrown table (std's `HashMap`) grows by moving everything it holds into one twice
//! the size, and under steady insert-and-remove it also rehashes in place now and then to
//! clear the slots removals leave behind. Either is a pause of the SIP thread proportional to
//! the table: at 20,000 calls/s, 5 s from a fresh start, perf saw bursts of 59 and 121 ms
//! (mostly the kernel zeroing the new table's pages), while the socket's receive queue
//! filled and overflowed (`BENCHMARKS.md`). A [`Staged`] table never does either: each
//! stage is sized when it is made for every insert it will take, and once it has taken
//! them a new stage takes the next inserts while the older ones are only read and removed
//! from. Everything here leaves within 64·T1, so an old stage empties by itself and is
//! dropped, or kept as the room of the next stage. The price: a lookup that misses tries
//! every stage (two or three in steady state; while a load grows from nothing, five at most
//! on the way to 500,000 or 2M entries).

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;

/// The smallest stage: below this, stages would come and go every few calls.
const MIN_STAGE: usize = 1024;

/// Older stages this small are moved into a new stage when it is made, so lookups do not
/// try a tail of tiny stages left from the first seconds. Bounded work (a few hundred
/// microseconds), unlike a whole table's.
const MERGE_BELOW: usize = 4096;

/// While a load ramps up from nothing, each stage is sized for what all hold, twice the
/// last, and nothing leaves yet: the stages would be one per doubling (eight to reach
/// 500,000 entries, six on average), and a lookup that misses tries every one. So a new
/// stage also takes in older stages holding under an eighth of all entries (three or four
/// stages then, five at most), moving at most this many entries each: a few milliseconds,
/// not the pause of a whole table.
const MERGE_MOST: usize = 65_536;

/// One stage: a table of entries, all placed by the one hasher of their [`Staged`], so a
/// key is hashed once for every stage an operation tries (std's `HashMap` hashed it again
/// in each: a branch through SipHash two or three times for a lookup that missed, and as
/// often again for the insert that followed).
type Stage<K, V> = HashTable<(K, V)>;

/// A hash map in stages; see the module docs.
#[derive(Debug)]
pub(crate) struct Staged<K, V, S> {
    /// The stage taking inserts.
    current: Stage<K, V>,
    /// Inserts `current` may still take without growing.
    budget: usize,
    /// Older stages, oldest first: read and removed from, never inserted into.
    older: Vec<Stage<K, V>>,
    /// The last older stage to empty, kept (empty) to be the next stage if its room suits:
    /// see [`Staged::make_room`].
    spare: Option<Stage<K, V>>,
    hasher: S,
    /// Stages allocated so far (tests).
    #[cfg(test)]
    allocated: usize,
}

impl<K: Eq + Hash, V, S: BuildHasher + Default> Default for Staged<K, V, S> {
    fn default() -> Self {
        Self {
            current: HashTable::new(),
            budget: 0,
            older: Vec::new(),
            spare: None,
            hasher: S::default(),
            #[cfg(test)]
            allocated: 0,
        }
    }
}

/// Whether an entry holds `key`.
fn is<'a, K: Borrow<Q>, V, Q: Eq + ?Sized>(key: &'a Q) -> impl Fn(&(K, V)) -> bool + 'a {
    move |(k, _)| k.borrow() == key
}

impl<K: Eq + Hash, V, S: BuildHasher + Default> Staged<K, V, S> {
    /// Entries in all stages.
    pub(crate) fn len(&self) -> usize {
        self.current.len() + self.older.iter().map(HashTable::len).sum::<usize>()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        // The current stage first, outside the loop: nearly every hit is there, and a
        // chained iterator cost more than the search.
        if let Some((_, v)) = self.current.find(hash, is(key)) {
            return Some(v);
        }
        self.older
            .iter()
            .rev()
            .find_map(|s| s.find(hash, is(key)))
            .map(|(_, v)| v)
    }

    pub(crate) fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        // By bucket index, as in `get_or_default`; the current stage first, as in `get`.
        if let Some(i) = self.current.find_bucket_index(hash, is(key)) {
            return self.current.get_bucket_mut(i).map(|(_, v)| v);
        }
        self.older
            .iter_mut()
            .rev()
            .find_map(|s| s.find_mut(hash, is(key)))
            .map(|(_, v)| v)
    }

    /// Inserts into the current stage (after taking `key` out of an older one, so no key is
    /// ever in two stages); returns the value it replaced.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        let hash = self.hash(&key);
        if let Some((_, v)) = self.current.find_mut(hash, is(&key)) {
            return Some(std::mem::replace(v, value));
        }
        let old = self.remove_older(hash, &key);
        self.put_new(hash, key, value);
        old
    }

    /// Inserts `key`, which the caller knows is in no stage (a fresh id), into the current
    /// stage without looking for it in the older ones.
    pub(crate) fn insert_fresh(&mut self, key: K, value: V) {
        debug_assert!(!self.contains_key(&key), "a fresh key already held");
        let hash = self.hash(&key);
        self.put_new(hash, key, value);
    }

    /// The value of `key`, inserted as `V::default()` if it is in no stage.
    pub(crate) fn get_or_default(&mut self, key: K) -> &mut V
    where
        V: Default,
    {
        let hash = self.hash(&key);
        // By bucket index: a reference found in the current stage could not be returned
        // past the borrow of the search.
        if let Some(i) = self.current.find_bucket_index(hash, is(&key)) {
            let (_, v) = self.current.get_bucket_mut(i).expect("a bucket just found");
            return v;
        }
        let value = self.remove_older(hash, &key).unwrap_or_default();
        self.put_new(hash, key, value)
    }

    pub(crate) fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let value = match self.current.find_entry(hash, is(key)) {
            Ok(e) => Some(e.remove().0 .1),
            Err(_) => self.remove_older(hash, key),
        };
        self.drop_empty();
        value
    }

    /// After a removal: drops the older stages that have emptied, and the spare too once
    /// nothing is left (the load stopped: nothing to keep room for).
    fn drop_empty(&mut self) {
        self.drop_empty_older();
        if self.current.is_empty() && self.older.is_empty() {
            self.spare = None;
        }
    }

    /// Drops the older stages that have emptied, the last to go kept as the spare.
    fn drop_empty_older(&mut self) {
        while let Some(i) = self.older.iter().position(HashTable::is_empty) {
            let mut stage = self.older.remove(i);
            // Removals leave some slots marked deleted, which count against the room left
            // until the table is reset; draining an empty table resets it (`clear` does not).
            stage.drain();
            self.spare = Some(stage);
        }
    }

    /// Lets `keep` change the value of `key`, if it is in a stage, and removes the entry if
    /// `keep` says so: one search where a `get_mut` and a `remove` made two.
    pub(crate) fn update<Q>(&mut self, key: &Q, keep: impl FnOnce(&mut V) -> bool)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let stages = std::iter::once(&mut self.current).chain(self.older.iter_mut().rev());
        let mut emptied = false;
        for stage in stages {
            let Ok(mut entry) = stage.find_entry(hash, is(key)) else {
                continue;
            };
            if !keep(&mut entry.get_mut().1) {
                let (_, rest) = entry.remove();
                emptied = rest.into_table().is_empty();
            }
            break;
        }
        if emptied {
            self.drop_empty();
        }
    }

    /// Every entry, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.current
            .iter()
            .chain(self.older.iter().flat_map(HashTable::iter))
            .map(|(k, v)| (k, v))
    }

    /// Every value, in no particular order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    /// Puts `key`, in no stage yet, into the current stage, making a new one first if the
    /// current one has taken all it was sized for.
    fn put_new(&mut self, hash: u64, key: K, value: V) -> &mut V {
        self.make_room();
        self.budget -= 1;
        let hasher = &self.hasher;
        let (_, v) = self
            .current
            .insert_unique(hash, (key, value), |(k, _)| hasher.hash_one(k))
            .into_mut();
        v
    }

    /// Takes `key` (hashed to `hash`) out of an older stage, dropping the stage if that
    /// empties it.
    fn remove_older<Q>(&mut self, hash: u64, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let (i, value) = self
            .older
            .iter_mut()
            .enumerate()
            .rev()
            .find_map(|(i, s)| Some((i, s.find_entry(hash, is(key)).ok()?.remove().0 .1)))?;
        if self.older[i].is_empty() {
            self.drop_empty_older();
        }
        Some(value)
    }

    /// Makes a new current stage when the current one has taken all the inserts it was
    /// sized for: room for as many as all stages hold (hashbrown's power-of-two sizes make
    /// that up to twice as many), so in steady state a stage takes inserts for one to two
    /// lives of what it holds and two or three are live. Room for twice what all stages
    /// hold made the step by which memory rises and falls twice as large (at 5,000 calls/s,
    /// ~35 MiB of ~190 every 90 s, for 64·T1) for fewer stages to try on a miss.
    ///
    /// The new stage is the spare (the last stage to empty) when its room is what a fresh
    /// one would get. Under a steady load the oldest stage empties before the current one
    /// fills, so the same two allocations take turns and memory holds level; a fresh stage
    /// each time was allocated while the one before still held all it took, and freed a
    /// life later, so memory rose and fell by a stage every cycle (see BENCHMARKS).
    fn make_room(&mut self) {
        if self.budget > 0 {
            return;
        }
        let len = self.len();
        let previous = std::mem::replace(&mut self.current, HashTable::new());
        self.older.push(previous);
        // Small stages (tiny ones, the last one too, and those under an eighth of all
        // entries, see `MERGE_MOST`) move into the new one, which has room for them besides
        // its budget; the rest keep their order, oldest first.
        let below = MERGE_BELOW.max((len / 8).min(MERGE_MOST));
        let (small, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.older)
            .into_iter()
            .partition(|s| s.len() < below);
        let merged: usize = small.iter().map(HashTable::len).sum();
        let wanted = merged + len.max(MIN_STAGE);
        let mut stage = match self.spare.take() {
            // What `with_capacity(wanted)` gives: at least `wanted`, under twice as much.
            Some(spare) if (wanted..=2 * wanted).contains(&spare.capacity()) => spare,
            _ => {
                #[cfg(test)]
                {
                    self.allocated += 1;
                }
                HashTable::with_capacity(wanted)
            }
        };
        let hasher = &self.hasher;
        let rehash = |(k, _): &(K, V)| hasher.hash_one(k);
        for mut s in small {
            for entry in s.drain() {
                stage.insert_unique(rehash(&entry), entry, rehash);
            }
            // Emptied too: the largest may be the room of a later stage.
            if self
                .spare
                .as_ref()
                .is_none_or(|k| k.capacity() < s.capacity())
            {
                self.spare = Some(s);
            }
        }
        self.older = kept;
        // Each insert takes at most one of the free slots the stage was made with (one a
        // removal freed, or a fresh one): within this budget it never grows or rehashes.
        self.budget = stage.capacity() - stage.len();
        self.current = stage;
    }

    /// How many stages there are (tests).
    #[cfg(test)]
    fn stages(&self) -> usize {
        1 + self.older.len()
    }

    /// Entries all stages have room for (tests).
    #[cfg(test)]
    fn room(&self) -> usize {
        self.current.capacity()
            + self.older.iter().map(HashTable::capacity).sum::<usize>()
            + self.spare.as_ref().map_or(0, HashTable::capacity)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    type Map = Staged<u64, u64, std::hash::RandomState>;

    #[test]
    fn it_behaves_as_a_map_across_stages() {
        let mut map = Map::default();
        let mut model: HashMap<u64, u64> = HashMap::new();
        // A deterministic mix of inserts, removes and re-inserts over a changing key range.
        let mut x: u64 = 12345;
        for _ in 0..200_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let key = (x >> 33) % 30_000;
            let bump = |v: &mut u64| {
                *v += 7;
                *v
            };
            match (x >> 20) % 6 {
                0 | 1 => assert_eq!(map.insert(key, x), model.insert(key, x), "insert {key}"),
                2 => assert_eq!(map.remove(&key), model.remove(&key), "remove {key}"),
                3 => {
                    *map.get_or_default(key) += 1;
                    *model.entry(key).or_default() += 1;
                }
                4 => assert_eq!(
                    map.get_mut(&key).map(bump),
                    model.get_mut(&key).map(bump),
                    "get_mut {key}"
                ),
                _ => {
                    // Bumped, and removed when that makes it a multiple of three.
                    map.update(&key, |v| bump(v) % 3 != 0);
                    if let Some(v) = model.get_mut(&key) {
                        if bump(v) % 3 == 0 {
                            model.remove(&key);
                        }
                    }
                }
            }
        }
        assert_eq!(map.len(), model.len());
        for (k, v) in &model {
            assert_eq!(map.get(k), Some(v));
        }
        let mut values: Vec<u64> = map.values().copied().collect();
        let mut want: Vec<u64> = model.values().copied().collect();
        values.sort_unstable();
        want.sort_unstable();
        assert_eq!(values, want);
    }

    #[test]
    fn no_stage_ever_grows_and_old_stages_go_once_their_entries_have() {
        let mut map = Map::default();
        // Steady churn: each key lives for `live` inserts, as a transaction lives 64·T1.
        let live = 50_000u64;
        // While the load ramps up nothing leaves and each stage is sized for what all hold,
        // so stages double (a few more of them); once the first keys leave, a stage takes
        // one to two lives' inserts and at most three are live.
        let (mut most_stages, mut most_in_ramp, mut most_room) = (0, 0, 0);
        let mut allocated_by_steady = 0;
        let (mut budget, mut made_with) = (0, 0);
        for k in 0..1_000_000u64 {
            if k >= live {
                assert!(map.remove(&(k - live)).is_some());
            }
            map.insert(k, k);
            // Only a new stage raises the budget.
            if map.budget >= budget {
                made_with = map.current.capacity();
            }
            budget = map.budget;
            // Length plus free slots: removals and inserts into the slots they leave move it
            // below what the stage was made with; only growing would take it above.
            assert!(map.current.capacity() <= made_with, "a stage grew at {k}");
            if k == 3 * live {
                allocated_by_steady = map.allocated;
            }
            if k < 3 * live {
                most_in_ramp = most_in_ramp.max(map.stages());
            } else {
                most_stages = most_stages.max(map.stages());
                most_room = most_room.max(map.room());
            }
        }
        assert_eq!(map.len(), live as usize);
        assert!(most_stages <= 3, "{most_stages} stages in the steady state");
        assert!(most_in_ramp <= 5, "{most_in_ramp} stages while ramping up");
        // The memory the tables hold at its peak (a new stage made while the one before is
        // still full): 2.24 times the live entries here; stages with room for twice what
        // all hold reached 4.57.
        let peak = most_room as f64 / live as f64;
        assert!(peak <= 3.0, "room for {peak:.2} times the live entries");
        // And it holds there: the stage that empties is the next one, so no allocation
        // comes or goes under a steady load (a fresh stage each time made memory swing by
        // one stage).
        let fresh = map.allocated - allocated_by_steady;
        assert_eq!(fresh, 0, "{fresh} stages allocated under a steady load");
        // Once everything leaves, so do the old stages.
        for k in 1_000_000 - live..1_000_000 {
            assert!(map.remove(&k).is_some());
        }
        assert!(map.is_empty());
        assert_eq!(map.stages(), 1);
        // With nothing left, no room is kept for a next stage.
        assert!(map.spare.is_none());
    }

    #[test]
    fn a_ramp_from_nothing_keeps_few_stages() {
        // A load starting from nothing: 500,000 entries in, none out yet (the first 64·T1
        // of a daemon started under load, or all of a short benchmark).
        let mut map = Map::default();
        let (mut most, mut sum) = (0, 0);
        let n = 500_000u64;
        for k in 0..n {
            map.insert(k, k);
            most = most.max(map.stages());
            sum += map.stages();
        }
        let mean = sum as f64 / n as f64;
        // A stage per doubling made it 8 at most and 6.2 on average.
        assert!(most <= 5, "{most} stages");
        assert!(mean < 4.0, "{mean:.2} stages on average");
        for k in 0..n {
            assert_eq!(map.remove(&k), Some(k));
        }
        assert!(map.is_empty() && map.stages() == 1 && map.spare.is_none());
    }
}

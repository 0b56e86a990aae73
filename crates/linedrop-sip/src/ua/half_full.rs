//! Room for the tables that churn: the ones holding what outlives a call for 64·T1
//! (transactions, their branch index, each call's transaction list, tombstones).
//!
//! Under steady insert-and-remove, hashbrown (std's `HashMap`) leaves deleted slots behind
//! and clears them when it runs out of free ones: by rehashing in place if the table is at
//! most half full, and otherwise by doubling it. At 5,000 calls/s about 320k transactions
//! linger, more than half of the table they grew into, so the first clean-up, some 560k
//! calls into a run, doubled those tables at once (+42 MiB in the soak, long after the live
//! set had stopped growing). Growing them while they fill, so they are never more than half
//! full, takes that step while the live set grows instead: the same final size, no late
//! jump, and every later clean-up happens in place.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

/// The size one table was last grown for. Call [`HalfFull::after_insert`] after every
/// insert into that table.
#[derive(Debug, Default)]
pub(crate) struct HalfFull {
    /// A lower bound of the table's capacity: what it could hold when last grown.
    room: usize,
}

impl HalfFull {
    /// Grows `map` to hold at least twice its length once it is more than half of what it
    /// was last grown for (its capacity then, which `reserve` rounds up to hashbrown's next
    /// power of two): a table stays between a quarter and half full as it fills, where
    /// hashbrown alone lets it reach 7/8. Amortised O(1): the room doubles each time.
    pub(crate) fn after_insert<K: Eq + Hash, V, S: BuildHasher>(
        &mut self,
        map: &mut HashMap<K, V, S>,
    ) {
        let len = map.len();
        if len * 2 > self.room {
            map.reserve(len);
            self.room = map.capacity();
        }
    }
}

/// One [`HalfFull`] for each churning table of the user agent.
#[derive(Debug, Default)]
pub(crate) struct Rooms {
    /// For `SipProvider::tsx`.
    pub(crate) tsx: HalfFull,
    /// For `SipProvider::tsx_index`.
    pub(crate) tsx_index: HalfFull,
    /// For `SipProvider::tsx_by_call`.
    pub(crate) tsx_by_call: HalfFull,
    /// For `SipProvider::tombstone_set`.
    pub(crate) tombstones: HalfFull,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_grows_ahead_as_it_fills_and_not_while_it_churns() {
        let mut map: HashMap<u64, u64> = HashMap::new();
        let mut room = HalfFull::default();
        let mut grown = 0;
        for k in 0..10_000u64 {
            map.insert(k, k);
            let before = room.room;
            room.after_insert(&mut map);
            if room.room != before {
                grown += 1;
                assert!(map.capacity() >= 2 * map.len(), "grown short at {k}");
            }
        }
        // Doubling steps only: about log2(10,000) of them.
        assert!(grown <= 16, "grew {grown} times");
        // Churn at a constant length: never more than half of the room, so never grown.
        let room_then = room.room;
        for k in 10_000..200_000u64 {
            map.remove(&(k - 10_000));
            map.insert(k, k);
            room.after_insert(&mut map);
            assert!(map.len() * 2 <= room.room);
        }
        assert_eq!(room.room, room_then);
    }
}

//! A cheap hasher for tables keyed by ids this process allocates itself.
//!
//! The std hasher is SipHash with a random key: right for keys a peer can choose (Call-IDs,
//! tags, branches), where a predictable hash would let it pile every entry into one probe
//! chain. A [`CallId`](crate::CallId) or a transaction number is handed out by a counter here,
//! never taken from the wire, so nobody outside can pick the keys that go in; for those,
//! SipHash's ~140 instructions per lookup buy nothing, and a lookup by an id that came from
//! outside (an API path) is one probe among well-spread keys whatever its value.
//!
//! The hash is one multiplication by 2^64/φ (Fibonacci hashing): consecutive ids land far
//! apart in the high bits, which the swiss table uses for its control bytes, and in the low
//! bits, which pick the group.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// 2^64 divided by the golden ratio, odd: multiplying by it is a bijection on `u64`.
const PHI: u64 = 0x9E37_79B9_7F4A_7C15;

/// The hasher of [`IdMap`]: for integer ids allocated locally, never for wire-chosen keys.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        // The high half of the product mixes in every bit of the id; fold it down so the
        // low bits (the group index) depend on all of them too.
        let p = self.0.wrapping_mul(PHI);
        p ^ (p >> 32)
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only reached by a key that is not a plain integer: fold it eight bytes at a time.
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(PHI).rotate_left(23);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// A map keyed by locally allocated ids (see the module docs for why that matters).
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A set of locally allocated ids.
pub type IdSet<K> = HashSet<K, BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CallId;
    use std::hash::BuildHasher;

    fn hash(id: u64) -> u64 {
        BuildHasherDefault::<IdHasher>::default().hash_one(CallId(id))
    }

    #[test]
    fn consecutive_ids_spread_over_the_control_bits_and_the_groups() {
        // The swiss table takes its 7-bit tag from the top of the hash and the group from
        // the bottom: a run of consecutive ids must not share either.
        let tops: HashSet<u64> = (1..=128).map(|i| hash(i) >> 57).collect();
        assert!(
            tops.len() > 64,
            "top 7 bits: {} distinct of 128",
            tops.len()
        );
        let lows: HashSet<u64> = (1..=1024).map(|i| hash(i) & 1023).collect();
        assert!(
            lows.len() > 512,
            "low 10 bits: {} distinct of 1024",
            lows.len()
        );
    }

    #[test]
    fn a_map_of_ids_behaves_as_a_map() {
        let mut m: IdMap<CallId, u64> = IdMap::default();
        for i in 0..10_000 {
            m.insert(CallId(i), i * 2);
        }
        assert!((0..10_000).all(|i| m.get(&CallId(i)) == Some(&(i * 2))));
        assert_eq!(m.get(&CallId(10_000)), None);
    }
}

//! Identifiers from an injected seed: the same seed replays the same Call-IDs, tags and
//! branches, so a failing run can be reproduced.

use std::sync::Arc;

use crate::message::BRANCH_MAGIC_COOKIE;

/// SplitMix64: small, fast, and good enough for identifiers that only need to be unique
/// and unpredictable to a casual peer (not cryptographic).
#[derive(Debug, Clone)]
pub(crate) struct Ids {
    state: u64,
}

impl Ids {
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A branch parameter with the RFC 3261 magic cookie.
    pub(crate) fn branch(&mut self) -> String {
        format!("{BRANCH_MAGIC_COOKIE}{:016x}", self.next())
    }

    /// A From/To tag: twelve hex digits, written in place (a call keeps its tag shared,
    /// so it is made once, without `format!`'s growing buffer).
    pub(crate) fn tag(&mut self) -> Arc<str> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let v = self.next() >> 16;
        let mut digits = [0u8; 12];
        for (i, d) in digits.iter_mut().enumerate() {
            *d = HEX[((v >> (44 - 4 * i)) & 0xf) as usize];
        }
        // Invariant: hex digits are ASCII.
        std::str::from_utf8(&digits).unwrap_or_default().into()
    }

    /// A Call-ID, unique by its random part.
    pub(crate) fn call_id(&mut self, host: &str) -> String {
        format!("{:016x}{:08x}@{host}", self.next(), self.next() as u32)
    }

    /// An SDP session id.
    pub(crate) fn session_id(&mut self) -> u64 {
        self.next() >> 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_is_the_draws_top_48_bits_as_twelve_lowercase_hex_digits() {
        for seed in [0, 1, 0xdead_beef, u64::MAX] {
            let (mut ids, mut same) = (Ids::new(seed), Ids::new(seed));
            for _ in 0..100 {
                let want = format!("{:012x}", same.next() >> 16);
                assert_eq!(&*ids.tag(), want);
            }
        }
    }
}

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
        // Every request we send takes one; written in place, as the tag is.
        let mut out = String::with_capacity(BRANCH_MAGIC_COOKIE.len() + 16);
        out.push_str(BRANCH_MAGIC_COOKIE);
        push_hex(&mut out, self.next(), 16);
        out
    }

    /// A From/To tag: twelve hex digits, written in place (a call keeps its tag shared,
    /// so it is made once, without `format!`'s growing buffer).
    pub(crate) fn tag(&mut self) -> Arc<str> {
        let mut out = String::with_capacity(12);
        push_hex(&mut out, self.next() >> 16, 12);
        out.into()
    }

    /// A Call-ID, unique by its random part.
    pub(crate) fn call_id(&mut self, host: &str) -> String {
        let mut out = String::with_capacity(25 + host.len());
        push_hex(&mut out, self.next(), 16);
        push_hex(&mut out, u64::from(self.next() as u32), 8);
        out.push('@');
        out.push_str(host);
        out
    }

    /// An SDP session id.
    pub(crate) fn session_id(&mut self) -> u64 {
        self.next() >> 1
    }
}

/// Appends the low `digits` hex digits of `v` (lowercase, zero-padded), as `{:0digits$x}`
/// writes a value that fits them, without `fmt`.
fn push_hex(out: &mut String, v: u64, digits: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        out.push(char::from(HEX[((v >> (4 * i)) & 0xf) as usize]));
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

    #[test]
    fn branches_and_call_ids_are_what_format_wrote() {
        for seed in [0, 1, 0xdead_beef, u64::MAX] {
            let (mut ids, mut same) = (Ids::new(seed), Ids::new(seed));
            for _ in 0..100 {
                let want = format!("{BRANCH_MAGIC_COOKIE}{:016x}", same.next());
                assert_eq!(ids.branch(), want);
                let (a, b) = (same.next(), same.next() as u32);
                assert_eq!(
                    ids.call_id("192.0.2.1"),
                    format!("{a:016x}{b:08x}@192.0.2.1")
                );
            }
        }
    }
}

//! Any bytes, as a datagram and as a stream: no panic, and every message that parses
//! serialises back to bytes that parse to the same message.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../check.rs"]
mod check;

fuzz_target!(|data: &[u8]| check::check(data));

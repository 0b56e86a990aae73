//! The checks run on one input, shared by the fuzz target (`fuzz_targets/parse_message.rs`) and
//! the stable replay of the corpus (`crates/linedrop-sip/tests/codec_corpus.rs`).
//!
//! Panicking is the failure signal: any panic inside the codec, or an assertion here.

use linedrop_sip::message::{
    parse_message, parse_message_with, salvage_request_parts, Framer, HeaderName, Headers, Message,
    ParseConfig,
};

/// Runs `data` through every entry point: datagram parse, salvage and answer, and a framer fed
/// in two pieces.
pub fn check(data: &[u8]) {
    match parse_message(data) {
        Ok(m) => round_trip(&m),
        Err(e) => {
            if let (Some(parts), Some((status, reason))) =
                (salvage_request_parts(data), e.response_hint())
            {
                assert!(
                    !reason.contains(['\r', '\n']),
                    "reason phrase breaks the line"
                );
                let answer = parts.response(status, &reason).to_bytes();
                assert!(answer.ends_with(b"\r\nContent-Length: 0\r\n\r\n"));
            }
        }
    }

    let cut = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let (a, b) = data.split_at(cut);
    let mut framer = Framer::new();
    for piece in [a, b] {
        framer.push(piece);
        loop {
            match framer.next_message() {
                Ok(Some(m)) => round_trip(&m),
                Ok(None) => break,
                Err(e) if e.fatal => return,
                Err(_) => {}
            }
        }
    }
}

/// `parse(serialise(m))` is `m`, apart from Content-Length, which serialisation makes right.
pub fn round_trip(m: &Message) {
    let wire = m.to_bytes();
    // Serialising can add a Content-Length, so a message at the size limit may grow past it.
    let unlimited = ParseConfig::with_max_message_size(usize::MAX);
    let again = match parse_message_with(&wire, &unlimited) {
        Ok(again) => again,
        Err(e) => panic!(
            "serialised message does not parse: {e}\n{}",
            String::from_utf8_lossy(&wire)
        ),
    };
    assert_eq!(again.to_bytes(), wire, "serialisation is not stable");
    assert_eq!(again.body(), m.body());
    match (m, &again) {
        (Message::Request(a), Message::Request(b)) => {
            assert_eq!(a.method(), b.method());
            assert_eq!(a.uri(), b.uri());
        }
        (Message::Response(a), Message::Response(b)) => {
            assert_eq!(a.status(), b.status());
            assert_eq!(a.reason(), b.reason());
        }
        _ => panic!("a request became a response or the reverse"),
    }
    assert_eq!(without_length(m.headers()), without_length(again.headers()));
}

fn without_length(h: &Headers) -> Vec<(String, String)> {
    h.iter()
        .filter(|f| f.known() != Some(HeaderName::ContentLength))
        .map(|f| (f.name().to_owned(), f.value().to_owned()))
        .collect()
}

//! Replays every input of the fuzz corpus (`fuzz/corpus/parse_message/`) through the same
//! checks as the fuzz target, so stable `cargo test` covers what nightly fuzzing found.

#[path = "../../../fuzz/check.rs"]
mod check;

use std::path::PathBuf;

use linedrop_sip::message::parse_message;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/parse_message");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let bytes = std::fs::read(&p).expect("corpus file");
            (name, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_input_passes_the_fuzz_checks() {
    let files = corpus();
    assert!(files.len() >= 61, "the torture messages seed the corpus");
    for (name, bytes) in &files {
        let outcome = std::panic::catch_unwind(|| check::check(bytes));
        assert!(outcome.is_ok(), "corpus input {name} failed the checks");
    }
}

#[test]
fn ordinary_seed_messages_are_valid() {
    for (name, bytes) in corpus() {
        if name.ends_with(".sip") && name != "keepalive.sip" && name != "stream-two-messages.sip" {
            if let Err(e) = parse_message(&bytes) {
                panic!("{name}: {e}");
            }
        }
    }
}

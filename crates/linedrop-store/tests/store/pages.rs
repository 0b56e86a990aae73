//! What one commit writes: the pages a call's two records add to the write-ahead log. Each
//! page is a frame of the log, checksummed and written on the commit path, so a change that
//! makes a commit touch one more page costs every call; these tests catch it.

use linedrop_core::{Cause, Origin};
use linedrop_store::{SqliteStore, Store};

use crate::common::{at, created, ended, temp_db};

/// A WAL frame: a 24-byte header and one page (SQLite's default, 4096 bytes).
const FRAME: u64 = 24 + 4096;

fn wal_len(path: &std::path::Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).map_or(0, |m| m.len())
}

#[test]
fn a_call_adds_three_pages_at_creation_and_two_at_its_end() {
    let (_dir, path) = temp_db();
    let mut store = SqliteStore::open(&path).expect("open");
    // Some calls first, so the next one lands on pages already in the log, as in a
    // running daemon.
    for id in 1..=20 {
        store.apply(&[created(id, at(id))]).expect("created");
        let end = ended(id, at(id), Origin::Remote, Cause::Normal, None);
        store.apply(&[end]).expect("ended");
    }
    let before = wal_len(&path);
    store.apply(&[created(21, at(21))]).expect("created");
    let after_created = wal_len(&path);
    let end = ended(21, at(21), Origin::Remote, Cause::Normal, None);
    store.apply(&[end]).expect("ended");
    let after_ended = wal_len(&path);
    // Created: the table's leaf, the created_at index, the open-rows index.
    assert_eq!((after_created - before) / FRAME, 3, "pages at creation");
    // Ended: the table's leaf and the open-rows index (the entry leaves it); created_at
    // is not rewritten and the id high-water mark is not touched.
    assert_eq!((after_ended - after_created) / FRAME, 2, "pages at the end");
}

#[test]
fn with_background_checkpoints_a_steady_stream_keeps_the_log_bounded() {
    // One record per commit, back to back: the background pass never finds a moment when it
    // has copied the last commit, so the log only restarts because the writer catches up
    // itself past 16,384 frames. 12,000 commits add about 30,000 frames: without that the
    // log would hold them all.
    let (_dir, path) = temp_db();
    let mut store = SqliteStore::open(&path).expect("open");
    store.checkpoint_in_background().expect("checkpointer");
    for id in 1..=6_000 {
        store.apply(&[created(id, at(id))]).expect("created");
        let end = ended(id, at(id), Origin::Remote, Cause::Normal, None);
        store.apply(&[end]).expect("ended");
    }
    // The file keeps its largest size while open: its high-water mark.
    let most = wal_len(&path) / FRAME;
    assert!(
        most <= 20_000,
        "the log reached {most} frames: more than the bound and what a few passes add"
    );
    assert_eq!(store.count(), Ok(6_000));
    drop(store);
    assert_eq!(
        SqliteStore::open(&path).expect("reopen").count(),
        Ok(6_000),
        "every record is in the file after the checkpoints"
    );
}

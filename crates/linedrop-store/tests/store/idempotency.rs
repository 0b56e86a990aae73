use linedrop_core::{CallId, Cause, Origin};
use linedrop_store::{SqliteStore, Store};

use crate::common::{at, created, ended, temp_db};

fn store() -> (tempfile::TempDir, SqliteStore) {
    let (dir, path) = temp_db();
    (dir, SqliteStore::open(path).expect("open"))
}

#[test]
fn ended_twice_leaves_one_row() {
    let (_dir, mut store) = store();
    let end = ended(1, at(0), Origin::Local, Cause::Normal, None);
    store.apply(&[created(1, at(0))]).expect("created");
    store.apply(std::slice::from_ref(&end)).expect("ended");
    store
        .apply(std::slice::from_ref(&end))
        .expect("ended again");
    assert_eq!(store.count(), Ok(1));
    assert_eq!(store.get(CallId(1)), Ok(Some(end)));
}

#[test]
fn ended_without_created_writes_the_completed_row() {
    let (_dir, mut store) = store();
    let end = ended(1, at(0), Origin::Remote, Cause::Busy, Some(486));
    store.apply(std::slice::from_ref(&end)).expect("ended");
    assert_eq!(store.get(CallId(1)), Ok(Some(end)));
}

#[test]
fn a_late_created_never_downgrades_an_ended_row() {
    let (_dir, mut store) = store();
    let end = ended(1, at(0), Origin::Remote, Cause::Busy, Some(486));
    store.apply(std::slice::from_ref(&end)).expect("ended");
    store.apply(&[created(1, at(0))]).expect("late created");
    let row = store.get(CallId(1)).expect("get").expect("row");
    assert!(row.completed);
    assert_eq!(row, end);
}

#[test]
fn the_first_completed_record_wins() {
    let (_dir, mut store) = store();
    let first = ended(1, at(0), Origin::Local, Cause::Normal, None);
    let second = ended(1, at(0), Origin::Network, Cause::Timeout, Some(408));
    store
        .apply(&[first.clone(), second])
        .expect("both in one batch");
    assert_eq!(store.get(CallId(1)), Ok(Some(first)));
}

#[test]
fn a_repeated_created_replaces_the_open_row() {
    let (_dir, mut store) = store();
    store.apply(&[created(1, at(0))]).expect("created");
    let mut newer = created(1, at(0));
    newer.remote = "sip:someone-else@far.test".into();
    store
        .apply(std::slice::from_ref(&newer))
        .expect("created again");
    assert_eq!(store.count(), Ok(1));
    assert_eq!(store.get(CallId(1)), Ok(Some(newer)));
}

#[test]
fn order_within_one_batch_is_respected() {
    let (_dir, mut store) = store();
    let end = ended(2, at(0), Origin::Local, Cause::Normal, None);
    store
        .apply(&[created(2, at(0)), end.clone(), created(2, at(0))])
        .expect("batch");
    assert_eq!(store.get(CallId(2)), Ok(Some(end)));
    assert_eq!(store.count(), Ok(1));
}

#[test]
fn a_failed_batch_writes_nothing_and_the_next_one_commits() {
    let (_dir, mut store) = store();
    // The second record's id does not fit SQLite's integer: the batch fails after the first
    // row was written inside its transaction, which must be rolled back whole.
    let batch = [created(1, at(0)), created(u64::MAX, at(0))];
    assert!(store.apply(&batch).is_err());
    assert_eq!(store.count(), Ok(0));
    assert!(store.apply(&batch).is_err(), "retried, fails the same way");
    store.apply(&[created(2, at(0))]).expect("a later batch");
    assert_eq!(store.count(), Ok(1));
    assert_eq!(store.get(CallId(1)), Ok(None));
}

#[test]
fn a_rows_creation_time_is_the_first_one_written() {
    // A call's creation time never changes, so the upsert leaves it out of its update (one
    // index page fewer per completing commit). A record that claims another one changes
    // every other column but not that.
    let (_dir, mut store) = store();
    store.apply(&[created(1, at(5))]).expect("created");
    let end = ended(1, at(6), Origin::Local, Cause::Normal, None);
    store.apply(std::slice::from_ref(&end)).expect("ended");
    let row = store.get(CallId(1)).expect("get").expect("row");
    assert_eq!(row.created_at, at(5));
    assert_eq!(
        row,
        linedrop_store::Record {
            created_at: at(5),
            ..end
        }
    );
}

use linedrop_core::{CallId, Cause, Origin};
use linedrop_store::{SqliteStore, Store};

use crate::common::{at, created, ended, temp_db};

#[test]
fn purge_removes_only_completed_rows_created_before_the_cutoff() {
    let (_dir, path) = temp_db();
    let mut store = SqliteStore::open(&path).expect("open");
    let done = |id, t| ended(id, at(t), Origin::Local, Cause::Normal, None);
    store
        .apply(&[
            done(1, 10),         // completed, old: purged
            created(2, at(10)),  // open, old: kept (a live call or an orphan)
            done(3, 100),        // completed, exactly at the cutoff: kept
            created(4, at(200)), // open, new: kept
            done(5, 200),        // completed, new: kept
            done(9, 20),         // completed, old, the highest id: purged
        ])
        .expect("apply");
    assert_eq!(store.purge_completed_before(at(100)), Ok(2));
    assert_eq!(store.count(), Ok(4));
    for (id, kept) in [
        (1, false),
        (2, true),
        (3, true),
        (4, true),
        (5, true),
        (9, false),
    ] {
        assert_eq!(
            store.get(CallId(id)).expect("get").is_some(),
            kept,
            "call {id}"
        );
    }
    assert_eq!(
        store.purge_completed_before(at(100)),
        Ok(0),
        "nothing left to purge"
    );
    // Purging the highest id must not let a restarted daemon reuse it.
    assert_eq!(store.max_call_id(), Ok(Some(9)));
    drop(store);
    assert_eq!(
        SqliteStore::open(&path).expect("reopen").max_call_id(),
        Ok(Some(9))
    );
}

#[test]
fn an_empty_store_has_no_max_id() {
    let store = SqliteStore::open_in_memory().expect("open");
    assert_eq!(store.max_call_id(), Ok(None));
    assert_eq!(store.count(), Ok(0));
}

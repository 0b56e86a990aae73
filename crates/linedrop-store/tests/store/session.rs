//! A write session (what the record writer applies its batches through) keeps every rule
//! of `Store::apply` while its statements live across batches: no value of one record is
//! left bound for the next, the upsert rules hold, a failed batch writes nothing and the
//! next one commits, and a schema change by another connection does not break it.

use linedrop_core::{CallId, Cause, Origin};
use linedrop_store::{SqliteStore, Store};

use crate::common::{at, created, ended, temp_db};

#[test]
fn batches_through_one_session_follow_the_upsert_rules() {
    let (_dir, path) = temp_db();
    let mut store = SqliteStore::open(&path).expect("open");
    let reader = SqliteStore::open(&path).expect("reader");
    let mut session = store.write_session();

    // Every optional column filled, then a record with them empty, on the same statement:
    // the second row must not inherit anything of the first.
    let full = ended(1, at(1), Origin::Remote, Cause::Busy, Some(486));
    let bare = created(2, at(2));
    session.apply(std::slice::from_ref(&full)).expect("full");
    session.apply(std::slice::from_ref(&bare)).expect("bare");
    assert_eq!(reader.get(CallId(1)), Ok(Some(full.clone())));
    assert_eq!(reader.get(CallId(2)), Ok(Some(bare)));

    // Ended over Created replaces the open row; a late Created or a second Ended leaves the
    // completed one alone; an Ended whose Created was lost inserts the whole row.
    let end = ended(2, at(2), Origin::Local, Cause::Normal, None);
    session.apply(std::slice::from_ref(&end)).expect("ended");
    let late = [
        created(2, at(2)),
        ended(2, at(2), Origin::Network, Cause::Timeout, Some(408)),
    ];
    session.apply(&late).expect("late records");
    let lost = ended(3, at(3), Origin::Remote, Cause::Normal, Some(200));
    session
        .apply(std::slice::from_ref(&lost))
        .expect("ended alone");
    drop(session);

    assert_eq!(reader.get(CallId(1)), Ok(Some(full)));
    assert_eq!(reader.get(CallId(2)), Ok(Some(end)));
    assert_eq!(reader.get(CallId(3)), Ok(Some(lost)));
    assert_eq!(reader.count(), Ok(3));
}

#[test]
fn a_failed_batch_writes_nothing_and_the_next_one_commits() {
    let (_dir, path) = temp_db();
    let mut store = SqliteStore::open(&path).expect("open");
    let other = rusqlite::Connection::open(&path).expect("second connection");
    let mut session = store.write_session();
    session.apply(&[created(1, at(1))]).expect("first batch");

    // A schema change behind the session's back: its prepared statements must notice it,
    // and the trigger makes the second record of the next batch fail.
    other
        .execute_batch(
            "CREATE TRIGGER refuse_13 BEFORE INSERT ON records WHEN NEW.id = 13 \
             BEGIN SELECT RAISE(ABORT, 'refused by test'); END;",
        )
        .expect("trigger");
    let err = session
        .apply(&[created(12, at(12)), created(13, at(13))])
        .expect_err("the batch fails");
    assert!(err.to_string().contains("refused by test"), "{err}");
    // A batch of one record runs without BEGIN and COMMIT: it must fail as cleanly.
    session
        .apply(&[created(13, at(13))])
        .expect_err("the lone record fails");

    let reader = SqliteStore::open(&path).expect("reader");
    assert_eq!(
        reader.get(CallId(12)),
        Ok(None),
        "nothing of the failed batch"
    );
    assert_eq!(reader.count(), Ok(1));
    session
        .apply(&[created(2, at(2))])
        .expect("a lone record commits after the failures");
    assert_eq!(reader.count(), Ok(2));

    other
        .execute_batch("DROP TRIGGER refuse_13")
        .expect("drop trigger");
    session
        .apply(&[created(12, at(12)), created(13, at(13))])
        .expect("the retry commits");
    assert_eq!(reader.count(), Ok(4));
}

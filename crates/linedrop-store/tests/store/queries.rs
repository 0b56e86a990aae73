use linedrop_core::{CallId, Cause, Direction, Origin};
use linedrop_store::{Order, Record, RecordQuery, SqliteStore, Store, StoreError, MAX_LIMIT};

use crate::common::{at, created, ended};

const LINES: [&str; 3] = ["sip:a@x.test", "sip:b@x.test", "sip:c@x.test"];
const ENDS: [(Origin, Cause, Option<u16>); 3] = [
    (Origin::Local, Cause::Normal, None),
    (Origin::Remote, Cause::Busy, Some(486)),
    (Origin::Network, Cause::Timeout, Some(408)),
];

/// Thirty records spread over lines, directions, ends and completion; call `id` is
/// created at `at(10 * id)`.
fn data() -> Vec<Record> {
    (1..=30u64)
        .map(|id| {
            let (origin, cause, status) = ENDS[(id % 3) as usize];
            let mut r = if id % 4 == 0 {
                created(id, at(10 * id))
            } else {
                ended(id, at(10 * id), origin, cause, status)
            };
            r.line = LINES[(id % 5 % 3) as usize].into();
            r.direction = if id % 2 == 0 {
                Direction::Inbound
            } else {
                Direction::Outbound
            };
            r
        })
        .collect()
}

fn store() -> (tempfile::TempDir, SqliteStore, Vec<Record>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = SqliteStore::open(dir.path().join("q.db")).expect("open");
    let data = data();
    store.apply(&data).expect("apply");
    (dir, store, data)
}

/// Every id the query yields, walking all pages of `limit`.
fn walk(store: &SqliteStore, mut q: RecordQuery) -> Vec<u64> {
    let mut ids = Vec::new();
    loop {
        let page = store.query(&q).expect("query");
        assert!(page.records.len() <= q.limit as usize);
        ids.extend(page.records.iter().map(|r| r.id.0));
        match page.next_cursor {
            Some(cursor) => {
                assert_eq!(
                    page.records.len(),
                    q.limit as usize,
                    "only full pages go on"
                );
                q.cursor = Some(cursor.to_string().parse().expect("cursor text"));
            }
            None => return ids,
        }
    }
}

/// Checks one filter against the same predicate applied to the data, newest first.
fn check(store: &SqliteStore, data: &[Record], q: RecordQuery, keep: impl Fn(&Record) -> bool) {
    let mut expected: Vec<u64> = data.iter().filter(|r| keep(r)).map(|r| r.id.0).collect();
    expected.reverse();
    assert!(
        !expected.is_empty(),
        "a filter test must match something: {q:?}"
    );
    assert_eq!(walk(store, RecordQuery { limit: 4, ..q }), expected);
}

fn end_of(r: &Record) -> Option<(Origin, Cause, Option<u16>)> {
    r.termination
        .as_ref()
        .map(|t| (t.origin, t.cause, t.sip_status))
}

#[test]
fn each_filter_selects_what_it_says() {
    let (_dir, store, data) = store();
    let q = RecordQuery::default;
    check(&store, &data, q(), |_| true);
    check(
        &store,
        &data,
        RecordQuery {
            created_from: Some(at(100)),
            created_before: Some(at(200)),
            ..q()
        },
        |r| (10..20).contains(&r.id.0),
    );
    check(
        &store,
        &data,
        RecordQuery {
            line: Some(LINES[1].into()),
            ..q()
        },
        |r| *r.line == *LINES[1],
    );
    check(
        &store,
        &data,
        RecordQuery {
            origin: Some(Origin::Remote),
            ..q()
        },
        |r| end_of(r).is_some_and(|e| e.0 == Origin::Remote),
    );
    check(
        &store,
        &data,
        RecordQuery {
            cause: Some(Cause::Timeout),
            ..q()
        },
        |r| end_of(r).is_some_and(|e| e.1 == Cause::Timeout),
    );
    check(
        &store,
        &data,
        RecordQuery {
            sip_status: Some(486),
            ..q()
        },
        |r| end_of(r).is_some_and(|e| e.2 == Some(486)),
    );
    check(
        &store,
        &data,
        RecordQuery {
            direction: Some(Direction::Inbound),
            ..q()
        },
        |r| r.direction == Direction::Inbound,
    );
    check(
        &store,
        &data,
        RecordQuery {
            completed: Some(false),
            ..q()
        },
        |r| !r.completed,
    );
    check(
        &store,
        &data,
        RecordQuery {
            completed: Some(true),
            ..q()
        },
        |r| r.completed,
    );
    check(
        &store,
        &data,
        RecordQuery {
            line: Some(LINES[0].into()),
            direction: Some(Direction::Outbound),
            completed: Some(true),
            ..q()
        },
        |r| *r.line == *LINES[0] && r.direction == Direction::Outbound && r.completed,
    );
}

#[test]
fn pagination_walks_every_row_exactly_once_in_both_orders() {
    let (_dir, store, _) = store();
    let all: Vec<u64> = (1..=30).collect();
    for limit in [1, 7, 10, 29, 30, 31, MAX_LIMIT] {
        let newest = walk(
            &store,
            RecordQuery {
                limit,
                ..Default::default()
            },
        );
        assert_eq!(
            newest,
            all.iter().rev().copied().collect::<Vec<_>>(),
            "limit {limit}"
        );
        let oldest = walk(
            &store,
            RecordQuery {
                limit,
                order: Order::OldestFirst,
                ..Default::default()
            },
        );
        assert_eq!(oldest, all, "limit {limit}");
    }
}

#[test]
fn a_page_holds_at_most_the_limit() {
    let (_dir, store, _) = store();
    let page = store
        .query(&RecordQuery {
            limit: 10,
            ..Default::default()
        })
        .expect("query");
    assert_eq!(page.records.len(), 10);
    assert_eq!(page.records[0].id, CallId(30));
    assert!(page.next_cursor.is_some());
    let last = store
        .query(&RecordQuery {
            limit: 30,
            ..Default::default()
        })
        .expect("query");
    assert_eq!((last.records.len(), last.next_cursor), (30, None));
}

#[test]
fn bad_queries_are_refused() {
    let (_dir, store, _) = store();
    let newest_cursor = store
        .query(&RecordQuery {
            limit: 1,
            ..Default::default()
        })
        .expect("query")
        .next_cursor;
    let bad = [
        RecordQuery {
            limit: 0,
            ..Default::default()
        },
        RecordQuery {
            limit: MAX_LIMIT + 1,
            ..Default::default()
        },
        RecordQuery {
            created_from: Some(at(50)),
            created_before: Some(at(50)),
            ..Default::default()
        },
        RecordQuery {
            order: Order::OldestFirst,
            cursor: newest_cursor,
            ..Default::default()
        },
    ];
    for q in bad {
        assert!(
            matches!(store.query(&q), Err(StoreError::InvalidQuery(_))),
            "{q:?} must be refused"
        );
    }
    assert!(matches!(
        "z12".parse::<linedrop_store::Cursor>(),
        Err(StoreError::InvalidQuery(_))
    ));
}

#[test]
fn a_cursor_past_every_id_gives_an_empty_page() {
    let (_dir, store, _) = store();
    let cursor = format!("o{}", u64::MAX).parse().expect("cursor");
    let page = store
        .query(&RecordQuery {
            order: Order::OldestFirst,
            cursor: Some(cursor),
            ..Default::default()
        })
        .expect("query");
    assert!(page.records.is_empty() && page.next_cursor.is_none());
}

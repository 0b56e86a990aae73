use linedrop_core::CallId;
use linedrop_store::{SqliteStore, Store, StoreError, SCHEMA_VERSION};
use rusqlite::Connection;

use crate::common::{at, created, temp_db};

fn user_version(path: &std::path::Path) -> u32 {
    let conn = Connection::open(path).expect("raw open");
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("user_version")
}

#[test]
fn a_current_database_is_not_migrated_again() {
    let (_dir, path) = temp_db();
    let mut store = SqliteStore::open(&path).expect("create");
    assert_eq!(store.migrations_applied(), SCHEMA_VERSION);
    store.apply(&[created(1, at(0))]).expect("apply");
    drop(store);
    assert_eq!(user_version(&path), SCHEMA_VERSION);

    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.migrations_applied(), 0);
    assert_eq!(store.get(CallId(1)), Ok(Some(created(1, at(0)))));
    assert_eq!(user_version(&path), SCHEMA_VERSION);
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let (_dir, path) = temp_db();
    drop(SqliteStore::open(&path).expect("create"));
    let conn = Connection::open(&path).expect("raw open");
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .expect("bump version");
    drop(conn);
    let err = SqliteStore::open(&path).expect_err("must refuse");
    assert_eq!(
        err,
        StoreError::SchemaTooNew {
            path: path.clone(),
            found: SCHEMA_VERSION + 1,
            supported: SCHEMA_VERSION,
        }
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_a_database_is_refused_by_name() {
    let (_dir, path) = temp_db();
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
    let junk = b"this is not an SQLite file, just text that is long enough to have a header...";
    std::fs::write(&path, junk.repeat(20)).expect("write junk");
    let err = SqliteStore::open(&path).expect_err("must refuse");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&path).expect("read"),
        junk.repeat(20),
        "left untouched"
    );
}

#[test]
fn another_applications_database_is_refused_and_left_alone() {
    let (_dir, path) = temp_db();
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
    let conn = Connection::open(&path).expect("raw open");
    conn.execute_batch("CREATE TABLE recipes (name TEXT); INSERT INTO recipes VALUES ('soup');")
        .expect("foreign schema");
    drop(conn);
    let err = SqliteStore::open(&path).expect_err("must refuse");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    let conn = Connection::open(&path).expect("raw open");
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .expect("journal mode");
    assert_eq!(
        mode, "delete",
        "the foreign file's journal mode is unchanged"
    );
    assert_eq!(user_version(&path), 0);
}

#[test]
fn open_creates_parent_directories_and_reports_unusable_paths() {
    let (dir, path) = temp_db();
    assert!(!path.parent().expect("parent").exists());
    drop(SqliteStore::open(&path).expect("create with parents"));
    assert!(path.exists());

    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"x").expect("write");
    let err = SqliteStore::open(blocker.join("records.db")).expect_err("parent is a file");
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
}

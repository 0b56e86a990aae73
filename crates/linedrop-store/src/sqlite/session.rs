//! Writing a batch: the one transaction of [`crate::Store::apply`], with statements either
//! looked up in the connection's cache (a lone `apply`) or prepared once for a writer's life
//! ([`SqliteSession`]).
//!
//! The writer commits one batch per wake-up, and at low rates a batch is one record: the
//! statement cache's lookups (hashing the 1.5 KB upsert text, then again to put it back, and
//! clearing its 32 bindings) cost about as much as binding the record (callgrind, 100
//! calls/s: some 9,000 instructions a batch).

use rusqlite::{Connection, PrepFlags, Statement};

use super::checkpoint::Checkpointer;
use super::row;
use crate::error::StoreError;
use crate::record::Record;
use crate::store::WriteSession;

/// The three statements of a batch.
pub(super) struct Statements<'s, 'c> {
    pub(super) begin: &'s mut Statement<'c>,
    pub(super) upsert: &'s mut Statement<'c>,
    pub(super) commit: &'s mut Statement<'c>,
}

pub(super) const BEGIN: &str = "BEGIN";
pub(super) const COMMIT: &str = "COMMIT";

/// Writes `records` in one transaction on `conn`, all or none, then lets the background
/// checkpointer (if any) count the commit. `holders` is scratch space for binding.
///
/// Only the rows: the id high-water mark is brought up to date by the purge, the one thing
/// that removes rows, so a commit does not write its page every time.
pub(super) fn write_batch(
    conn: &Connection,
    statements: Statements<'_, '_>,
    checkpointer: Option<&Checkpointer>,
    records: &[Record],
    holders: &mut String,
) -> Result<(), StoreError> {
    let Statements {
        begin,
        upsert,
        commit,
    } = statements;
    if let [record] = records {
        // One record is one statement, which SQLite runs as a transaction of its own
        // (autocommit): the same all-or-nothing commit, without stepping BEGIN and COMMIT
        // (about 800 instructions of a 35,000-instruction batch, callgrind). At low rates
        // nearly every batch is one record.
        row::bind(upsert, record, holders)?;
        let result = upsert.raw_execute().map(drop).map_err(StoreError::from);
        return finish(conn, checkpointer, result);
    }
    begin.raw_execute()?;
    let result = records
        .iter()
        .try_for_each(|record| {
            row::bind(upsert, record, holders)?;
            upsert.raw_execute()?;
            Ok(())
        })
        .and_then(|()| {
            commit.raw_execute()?;
            Ok(())
        });
    finish(conn, checkpointer, result)
}

/// After a batch: no transaction left open if it failed, the commit counted if it did.
fn finish(
    conn: &Connection,
    checkpointer: Option<&Checkpointer>,
    result: Result<(), StoreError>,
) -> Result<(), StoreError> {
    if result.is_err() && !conn.is_autocommit() {
        // Leave no transaction open: the writer retries the whole batch.
        let _ = conn.execute_batch("ROLLBACK");
    }
    if let (Ok(()), Some(checkpointer)) = (&result, checkpointer) {
        if checkpointer.committed() {
            checkpointer.catch_up(conn);
        }
    }
    result
}

/// The statements a [`SqliteSession`] prepared, kept for its life.
struct Prepared<'c> {
    begin: Statement<'c>,
    upsert: Statement<'c>,
    commit: Statement<'c>,
}

impl<'c> Prepared<'c> {
    fn new(conn: &'c Connection) -> rusqlite::Result<Self> {
        // PERSISTENT, as the cache prepares them: SQLite keeps long-lived statements out of
        // its small-allocation pool, which is for short-lived ones.
        let prepare = |sql| conn.prepare_with_flags(sql, PrepFlags::SQLITE_PREPARE_PERSISTENT);
        Ok(Self {
            begin: prepare(BEGIN)?,
            upsert: prepare(row::upsert_sql())?,
            commit: prepare(COMMIT)?,
        })
    }
}

/// The [`SqliteStore`](super::SqliteStore)'s [`WriteSession`]: its statements are prepared
/// at the first batch (a failure there is that batch's failure, retried like any other) and
/// kept until the session ends. A prepared statement holds no lock and no snapshot between
/// runs (each run is reset), and SQLite prepares it again by itself if the schema changes.
pub(crate) struct SqliteSession<'c> {
    conn: &'c Connection,
    checkpointer: Option<&'c Checkpointer>,
    prepared: Option<Prepared<'c>>,
    /// Scratch for the holders column, reused so binding allocates nothing.
    holders: String,
}

impl<'c> SqliteSession<'c> {
    pub(super) fn new(conn: &'c Connection, checkpointer: Option<&'c Checkpointer>) -> Self {
        Self {
            conn,
            checkpointer,
            prepared: None,
            holders: String::new(),
        }
    }
}

impl WriteSession for SqliteSession<'_> {
    fn apply(&mut self, records: &[Record]) -> Result<(), StoreError> {
        let prepared = match &mut self.prepared {
            Some(prepared) => prepared,
            empty => empty.insert(Prepared::new(self.conn)?),
        };
        write_batch(
            self.conn,
            Statements {
                begin: &mut prepared.begin,
                upsert: &mut prepared.upsert,
                commit: &mut prepared.commit,
            },
            self.checkpointer,
            records,
            &mut self.holders,
        )
    }
}

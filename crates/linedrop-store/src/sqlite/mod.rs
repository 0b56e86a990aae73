//! The SQLite backend: one file, WAL journal, migrations from `migrations/sqlite/`.

mod checkpoint;
mod row;
mod schema;
mod session;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use linedrop_core::{CallId, CallState, Cause, Origin, WireEnd};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::error::StoreError;
use crate::query::{Cursor, Order, RecordPage, RecordQuery};
use crate::record::{micros_of_time, Record};
use crate::store::{Store, WriteSession};

pub use schema::SCHEMA_VERSION;

/// How long a statement waits for another connection's write lock before failing with
/// `Backend`; long enough for a purge or a batch, short enough to surface a stuck peer.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// When a committed transaction is safe.
///
/// Both modes run SQLite in WAL mode, where a commit appends to the write-ahead log and
/// the database file is never left half-written: a crash of any kind loses at most whole
/// transactions, never the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=NORMAL` (the default). A committed transaction survives a crash of
    /// the process, since the log is written before the commit returns. It does not wait
    /// for the disk, so a power loss or OS crash can lose the transactions committed since
    /// the log was last synced (at checkpoints): the newest records, as if the process had
    /// died a moment earlier. Restart recovery then closes what lost its end as `restart`;
    /// a call whose creation was lost too has no record. One sync per checkpoint instead
    /// of one per batch is what buys the throughput.
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit waits for the log to reach the disk, so records
    /// survive power loss too, at the price of one sync per batch.
    Full,
}

/// Call records in an SQLite database: WAL journal, `synchronous=NORMAL` unless asked
/// otherwise ([`Durability`] says what each survives).
///
/// Several stores may open the same file, each with its own connection: WAL lets readers
/// (an API answering queries) run alongside the one writer without blocking it.
#[derive(Debug)]
pub struct SqliteStore {
    /// Set by [`SqliteStore::checkpoint_in_background`]. Declared first so that it stops
    /// before the connection closes.
    checkpointer: Option<checkpoint::Checkpointer>,
    conn: Connection,
    /// Shown in errors; `:memory:` for an in-memory store.
    path: PathBuf,
    /// Migrations this open ran (zero when the file was already current).
    migrations_applied: u32,
}

impl SqliteStore {
    /// Opens the database at `path` with [`Durability::Normal`], creating the file and
    /// its parent directories if needed and migrating it to [`SCHEMA_VERSION`].
    ///
    /// A file that is not an SQLite database, or is another program's, is refused with
    /// [`StoreError::Corrupt`] naming the path and left untouched; one written by a newer
    /// linedrop gives [`StoreError::SchemaTooNew`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, Durability::default())
    }

    /// [`SqliteStore::open`] with a chosen durability.
    pub fn open_with(path: impl AsRef<Path>, durability: Durability) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let open_err = |reason: String| StoreError::Open {
            path: path.to_owned(),
            reason,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| open_err(e.to_string()))?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| open_err(e.to_string()))?;
        Self::init(conn, path, durability)
    }

    /// A private in-memory database, for tests; gone when dropped.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory()?;
        Self::init(conn, Path::new(":memory:"), Durability::default())
    }

    fn init(mut conn: Connection, path: &Path, durability: Durability) -> Result<Self, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Checked before any pragma that writes, so a foreign file is never modified.
        schema::check(&conn, path)?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
            return Err(StoreError::Backend(format!(
                "{}: cannot use WAL journal (got {mode})",
                path.display()
            )));
        }
        let synchronous = match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", synchronous)?;
        let migrations_applied = schema::migrate(&mut conn, path)?;
        Ok(Self {
            checkpointer: None,
            conn,
            path: path.to_owned(),
            migrations_applied,
        })
    }

    /// Moves checkpoints (copying the write-ahead log into the database file) off this
    /// connection's commits onto a thread of their own, for the store a
    /// [`crate::RecordWriter`] writes with. Without it, SQLite checkpoints inside the commit
    /// that crosses 1,000 pages, and every record queued behind that commit waits for the
    /// copy and two syncs. The log stays bounded: when it grows past 64 MiB without
    /// restarting (commits so steady that the background copy never catches up), one commit
    /// checkpoints itself. Durability is unchanged. An in-memory store has no log: nothing
    /// happens.
    pub fn checkpoint_in_background(&mut self) -> Result<(), StoreError> {
        if self.checkpointer.is_some() || self.path == Path::new(":memory:") {
            return Ok(());
        }
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        match checkpoint::Checkpointer::spawn(&self.path) {
            Ok(c) => {
                self.checkpointer = Some(c);
                Ok(())
            }
            Err(e) => {
                // Back to SQLite's own checkpoints rather than none at all.
                self.conn.pragma_update(None, "wal_autocheckpoint", 1000)?;
                Err(e)
            }
        }
    }

    /// The database file (`:memory:` for an in-memory store).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many migrations this open applied: all of them for a new file, none for a
    /// current one.
    pub fn migrations_applied(&self) -> u32 {
        self.migrations_applied
    }
}

/// The WHERE clause and its values for a query's filters and cursor; `None` when the
/// cursor is past every possible id, so the page is empty.
fn filters(q: &RecordQuery) -> Result<Option<(String, Vec<Value>)>, StoreError> {
    let mut clauses: Vec<&str> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let time = |t| micros_of_time(t).map_err(|e| StoreError::InvalidQuery(e.to_string()));
    if let Some(t) = q.created_from {
        clauses.push("created_at >= ?");
        values.push(Value::Integer(time(t)?));
    }
    if let Some(t) = q.created_before {
        clauses.push("created_at < ?");
        values.push(Value::Integer(time(t)?));
    }
    let texts = [
        ("line = ?", q.line.clone()),
        ("origin = ?", q.origin.map(|o| o.as_str().to_owned())),
        ("cause = ?", q.cause.map(|c| c.as_str().to_owned())),
        ("direction = ?", q.direction.map(|d| d.as_str().to_owned())),
    ];
    for (clause, value) in texts {
        if let Some(value) = value {
            clauses.push(clause);
            values.push(Value::Text(value));
        }
    }
    if let Some(status) = q.sip_status {
        clauses.push("sip_status = ?");
        values.push(Value::Integer(status.into()));
    }
    if let Some(completed) = q.completed {
        clauses.push("completed = ?");
        values.push(Value::Integer(completed.into()));
    }
    if let Some(Cursor { after, .. }) = q.cursor {
        match (q.order, i64::try_from(after)) {
            (Order::NewestFirst, Ok(after)) => {
                clauses.push("id < ?");
                values.push(Value::Integer(after));
            }
            // Every stored id is below it: no condition.
            (Order::NewestFirst, Err(_)) => {}
            (Order::OldestFirst, Ok(after)) => {
                clauses.push("id > ?");
                values.push(Value::Integer(after));
            }
            (Order::OldestFirst, Err(_)) => return Ok(None),
        }
    }
    let clause = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    Ok(Some((clause, values)))
}

impl Store for SqliteStore {
    fn apply(&mut self, records: &[Record]) -> Result<(), StoreError> {
        // Cached statements: at low rates a batch is one record, and preparing three
        // statements per batch was most of the writer's cost (callgrind). The writer itself
        // goes further, with statements prepared once ([`Store::write_session`]).
        let mut begin = self.conn.prepare_cached(session::BEGIN)?;
        let mut upsert = self.conn.prepare_cached(row::upsert_sql())?;
        let mut commit = self.conn.prepare_cached(session::COMMIT)?;
        session::write_batch(
            &self.conn,
            session::Statements {
                begin: &mut begin,
                upsert: &mut upsert,
                commit: &mut commit,
            },
            self.checkpointer.as_ref(),
            records,
            &mut String::new(),
        )
    }

    fn write_session(&mut self) -> Box<dyn WriteSession + '_> {
        Box::new(session::SqliteSession::new(
            &self.conn,
            self.checkpointer.as_ref(),
        ))
    }

    fn get(&self, id: CallId) -> Result<Option<Record>, StoreError> {
        let Ok(id) = i64::try_from(id.0) else {
            return Ok(None);
        };
        let sql = format!("{} WHERE id = ?1", row::select_sql());
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([id])?;
        rows.next()?.map(row::read).transpose()
    }

    fn query(&self, q: &RecordQuery) -> Result<RecordPage, StoreError> {
        q.validate()?;
        let Some((clause, mut values)) = filters(q)? else {
            return Ok(RecordPage {
                records: Vec::new(),
                next_cursor: None,
            });
        };
        let order = match q.order {
            Order::NewestFirst => "DESC",
            Order::OldestFirst => "ASC",
        };
        // One more than asked tells whether another page exists without a second query.
        values.push(Value::Integer(i64::from(q.limit) + 1));
        let sql = format!("{}{clause} ORDER BY id {order} LIMIT ?", row::select_sql());
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(values))?;
        let mut records = Vec::new();
        while let Some(r) = rows.next()? {
            records.push(row::read(r)?);
        }
        let limit = q.limit as usize;
        let next_cursor = if records.len() > limit {
            records.truncate(limit);
            records.last().map(|r| Cursor {
                order: q.order,
                after: r.id.0,
            })
        } else {
            None
        };
        Ok(RecordPage {
            records,
            next_cursor,
        })
    }

    fn count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM records", [], |r| r.get(0))?;
        Ok(n.unsigned_abs())
    }

    fn max_call_id(&self) -> Result<Option<u64>, StoreError> {
        let kept: Option<i64> = self
            .conn
            .query_row("SELECT max_id FROM id_high_water", [], |r| r.get(0))
            .optional()?
            .flatten();
        let live: Option<i64> = self
            .conn
            .query_row("SELECT max(id) FROM records", [], |r| r.get(0))?;
        let high = kept.max(live);
        high.map(|h| {
            u64::try_from(h).map_err(|_| StoreError::Corrupt {
                what: format!("{}: negative call id {h}", self.path.display()),
            })
        })
        .transpose()
    }

    fn close_orphans(&mut self, at: SystemTime) -> Result<Vec<CallId>, StoreError> {
        let at = micros_of_time(at).map_err(|e| StoreError::InvalidQuery(e.to_string()))?;
        let tx = self.conn.transaction()?;
        let mut ids: Vec<CallId> = {
            let mut stmt = tx.prepare(
                "UPDATE records SET completed = 1, state = ?1, \
                 disconnected_at = coalesce(disconnected_at, ?2), idle_at = ?2, \
                 origin = ?3, cause = ?4, wire = ?5, sip_status = NULL, q850 = NULL, \
                 term_text = NULL, term_at = ?2 \
                 WHERE completed = 0 RETURNING id",
            )?;
            let params = rusqlite::params![
                CallState::Idle.as_str(),
                at,
                Origin::Network.as_str(),
                Cause::Restart.as_str(),
                WireEnd::None.as_str(),
            ];
            let rows = stmt.query_map(params, |r| r.get::<_, i64>(0))?;
            rows.map(|id| {
                let id = id?;
                u64::try_from(id)
                    .map(CallId)
                    .map_err(|_| StoreError::Corrupt {
                        what: format!("{}: negative call id {id}", self.path.display()),
                    })
            })
            .collect::<Result<_, StoreError>>()?
        };
        tx.commit()?;
        ids.sort_unstable();
        Ok(ids)
    }

    fn purge_completed_before(&mut self, before: SystemTime) -> Result<u64, StoreError> {
        let before = micros_of_time(before).map_err(|e| StoreError::InvalidQuery(e.to_string()))?;
        let tx = self.conn.transaction()?;
        // The highest id first, in the same transaction: whatever the delete removes, the
        // high-water mark already covers, so a restarted daemon never reuses a purged id.
        tx.execute(
            "UPDATE id_high_water SET max_id = max(coalesce(max_id, m), m) \
             FROM (SELECT max(id) AS m FROM records) WHERE m IS NOT NULL",
            [],
        )?;
        let n = tx.execute(
            "DELETE FROM records WHERE completed = 1 AND created_at < ?1",
            [before],
        )?;
        tx.commit()?;
        Ok(n as u64)
    }
}

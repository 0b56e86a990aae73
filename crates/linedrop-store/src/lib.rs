//! Durable call records for linedrop: the [`Store`] trait, its SQLite backend
//! ([`SqliteStore`]) and the [`RecordWriter`] that commits records off the call path.
//!
//! # How the daemon uses it
//!
//! 1. Open the store (commits synced: [`Durability::Full`]) and [`replay_journal`]: records
//!    the last run made durable in its journal but had not yet committed to the store go
//!    in first. Then [`Store::close_orphans`] completes the records of calls the last run
//!    lost (origin `network`, cause `restart`), and [`Store::max_call_id`] says where the new
//!    id space starts, so ids never repeat across restarts.
//! 2. Move its checkpoints to a thread of their own ([`SqliteStore::checkpoint_in_background`]),
//!    so no commit waits for one, and hand the store to a [`RecordWriter`] with a journal
//!    ([`WriterConfig::journal`]). For each `RecordUpdate` the engine yields,
//!    [`RecordWriter::send`] it with the line's address; it never blocks. The writer makes
//!    each batch durable with one append to the journal; an applier thread commits about a
//!    second of records at a time to the store.
//! 3. Answer queries from a second [`SqliteStore`] on the same file (WAL readers do not
//!    wait for the writer), after [`RecordWriter::settle`], so the newest durable records
//!    are in the store.
//! 4. At shutdown, [`RecordWriter::close`] commits everything to the store, deletes the
//!    journal and joins the threads.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use linedrop_store::{RecordWriter, SqliteStore, Store, WriterConfig};
//!
//! # fn main() -> Result<(), linedrop_store::StoreError> {
//! let dir = std::env::temp_dir().join(format!("linedrop-doc-{}", std::process::id()));
//! let path = dir.join("records.db");
//! let mut store = SqliteStore::open(&path)?;
//! let lost = store.close_orphans(SystemTime::UNIX_EPOCH + Duration::from_secs(1))?;
//! let first_id = store.max_call_id()?.map_or(1, |id| id + 1);
//! # let _ = (lost, first_id);
//! store.checkpoint_in_background()?;
//! let writer = RecordWriter::spawn(store, WriterConfig::default())?;
//! // ... writer.send(update, line_address) for each engine.poll_record() ...
//! writer.close()?;
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```
//!
//! # Records
//!
//! A [`Record`] is one row per call, written when the call is created and completed when
//! it reaches `Idle`. Writes are idempotent upserts by call id, and a completed row is
//! final: repeats, an end without its start, or a start after its end all leave one row.

mod columns;
mod error;
mod journal;
mod query;
mod record;
mod sqlite;
mod store;
mod writer;

pub use error::StoreError;
pub use journal::{replay as replay_journal, JournalConfig, Replayed, SEAL_AFTER};
pub use query::{Cursor, Order, RecordPage, RecordQuery, DEFAULT_LIMIT, MAX_LIMIT};
pub use record::Record;
pub use sqlite::{Durability, SqliteStore, SCHEMA_VERSION};
pub use store::{Store, WriteSession};
pub use writer::{
    Commit, OnApply, OnCommit, RecordWriter, Seq, WriterConfig, WriterStats, DEFAULT_MAX_BATCH,
};

//! The one error type of the store.

use std::path::PathBuf;

/// What went wrong in the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database file could not be opened or created (permissions, a missing disk, a
    /// parent path that is a file).
    #[error("cannot open record store {path}: {reason}")]
    Open {
        /// The file we tried to open.
        path: PathBuf,
        /// What the operating system or SQLite said.
        reason: String,
    },
    /// The file, or a row in it, is not what linedrop writes: not a database at all, another
    /// application's database, or a value no version of ours would store.
    #[error("record store is corrupt: {what}")]
    Corrupt {
        /// What was wrong, naming the file or the row.
        what: String,
    },
    /// The database was written by a newer linedrop; opening it would risk damaging data
    /// this version does not understand.
    #[error(
        "record store {path} has schema version {found}, newer than the {supported} this \
         build knows; upgrade linedrop"
    )]
    SchemaTooNew {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        found: u32,
        /// The newest version this build can read.
        supported: u32,
    },
    /// A query the store refuses: a limit out of range, an empty time range, a cursor from
    /// a query in the other order.
    #[error("invalid record query: {0}")]
    InvalidQuery(String),
    /// A record the store cannot represent (an id or counter above `i64::MAX`, a time
    /// outside ±292,000 years of the epoch). Refused when it is sent, so it can never stop
    /// the writer.
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// The writer has stopped (closed, or a thread of it panicked); nothing more can be
    /// written through it.
    #[error("record writer is closed")]
    Closed,
    /// Any other failure of the database (disk full, I/O error, a lock held too long).
    /// Writes that failed this way stay queued in the writer and are retried.
    #[error("record store backend error: {0}")]
    Backend(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            // Only reading a row produces these: a value of a type or range we never write.
            rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..) => StoreError::Corrupt {
                what: e.to_string(),
            },
            e => StoreError::Backend(e.to_string()),
        }
    }
}

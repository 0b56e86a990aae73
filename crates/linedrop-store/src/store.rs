//! The `Store` trait every backend implements.

use std::time::SystemTime;

use linedrop_core::CallId;

use crate::error::StoreError;
use crate::query::{RecordPage, RecordQuery};
use crate::record::Record;

/// Durable call records.
///
/// Synchronous on purpose: a store runs on its own thread (see [`crate::RecordWriter`]),
/// and a blocking API keeps transactions plain and the backend free of any runtime.
/// Methods that change rows take `&mut self`; a reader that must not wait for the writer
/// opens its own store on the same database.
pub trait Store {
    /// Writes `records` in one transaction: all of them or none.
    ///
    /// Each is an idempotent upsert by id: a new id inserts a row; an open row is replaced
    /// (all but its creation time, which a call never changes: the first one written
    /// stays); a completed row never changes (the first final record wins). So applying the same
    /// record twice, a completion without its creation, or a creation after the completion
    /// all leave exactly one row, never downgraded.
    fn apply(&mut self, records: &[Record]) -> Result<(), StoreError>;

    /// The record of `id`, if there is one.
    fn get(&self, id: CallId) -> Result<Option<Record>, StoreError>;

    /// One page of the records matching `query`.
    fn query(&self, query: &RecordQuery) -> Result<RecordPage, StoreError>;

    /// How many records there are.
    fn count(&self) -> Result<u64, StoreError>;

    /// The highest call id ever written, even if its record was purged since; a daemon
    /// starts its id space above it so ids stay unique across restarts.
    fn max_call_id(&self) -> Result<Option<u64>, StoreError>;

    /// Completes every open record as a call the process lost: state `idle`, origin
    /// `network`, cause `restart`, wire `none`, ended and idle at `at`. Returns their ids,
    /// lowest first. The daemon calls it at start, before taking calls, so that every call
    /// ever created ends with exactly one completed record.
    ///
    /// Setup and talk durations stay as they were: when the call really ended is unknown.
    fn close_orphans(&mut self, at: SystemTime) -> Result<Vec<CallId>, StoreError>;

    /// Deletes the completed records created before `before`, returning how many. Open
    /// records are never purged: they belong to live calls or await `close_orphans`.
    fn purge_completed_before(&mut self, before: SystemTime) -> Result<u64, StoreError>;

    /// A session for a stream of [`Store::apply`] batches from one thread, such as the
    /// [`crate::RecordWriter`]'s, which opens one for its whole life. Each batch keeps the
    /// contract of [`Store::apply`]: one transaction, all of its records or none.
    ///
    /// A backend overrides it to keep per-batch work out of the loop (the SQLite store
    /// prepares its statements once instead of looking them up in a cache per batch); the
    /// default simply calls [`Store::apply`].
    fn write_session(&mut self) -> Box<dyn WriteSession + '_> {
        Box::new(Direct(self))
    }
}

/// Writes batches for one thread; see [`Store::write_session`].
pub trait WriteSession {
    /// Writes `records` in one transaction, exactly as [`Store::apply`] does.
    fn apply(&mut self, records: &[Record]) -> Result<(), StoreError>;
}

/// The default session: each batch goes straight to [`Store::apply`].
struct Direct<'a, S: Store + ?Sized>(&'a mut S);

impl<S: Store + ?Sized> WriteSession for Direct<'_, S> {
    fn apply(&mut self, records: &[Record]) -> Result<(), StoreError> {
        self.0.apply(records)
    }
}

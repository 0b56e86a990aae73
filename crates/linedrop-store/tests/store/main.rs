//! The store's integration tests: one binary, one module per behaviour, real SQLite files
//! in temporary directories. Waits are on conditions with deadlines, never sleeps.

mod common;
mod idempotency; // repeated and out-of-order updates leave one row, never downgraded
mod journal; // durable in the journal, applied later, replayed after a crash
mod migrations; // schema versions, foreign and newer files
mod pages; // what a commit adds to the write-ahead log, and its bound
mod purge; // retention removes only old completed rows
mod queries; // filters, order, keyset pagination, refused queries
mod recovery; // orphans of a crashed run are closed as restart
mod round_trip; // every field survives created -> ended, by hand and from the engine
mod session; // a writer's session: statements kept across batches, same rules
mod writer; // batching, flush, durability notices, failures

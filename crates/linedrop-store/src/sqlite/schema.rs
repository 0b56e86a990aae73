//! The schema: telling our file from a foreign one, and the migrations under
//! `migrations/sqlite/`, applied in order and counted in `PRAGMA user_version`.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::StoreError;

/// `PRAGMA application_id` of a linedrop record store ('LDRP'), so that another program's
/// SQLite file is refused instead of being migrated into ours.
pub(crate) const APPLICATION_ID: i32 = 0x4C44_5250;

/// The migrations, in order; migration `i` (from 0) brings the schema to version `i + 1`.
/// Embedded so a binary needs no files beside it; kept as `.sql` so they read as SQL.
const MIGRATIONS: &[&str] = &[include_str!("../../migrations/sqlite/0001_records.sql")];

/// The schema version this build writes and the newest it can read.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// The header fields that say whose file this is and how far it is migrated.
fn header(conn: &Connection) -> rusqlite::Result<(i32, u32)> {
    let app: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    Ok((app, version))
}

/// Refuses a file that is not a database, belongs to another program, or comes from a
/// newer linedrop. Reads only, so a foreign file is left exactly as it was.
pub(crate) fn check(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let shown = path.display();
    let (app, version) = header(conn).map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => StoreError::Corrupt {
            what: format!("{shown} is not an SQLite database"),
        },
        _ => StoreError::Open {
            path: path.to_owned(),
            reason: e.to_string(),
        },
    })?;
    let foreign = || StoreError::Corrupt {
        what: format!(
            "{shown} is an SQLite database of another application \
             (application_id {app:#x}, user_version {version})"
        ),
    };
    if app != APPLICATION_ID {
        if app != 0 || version != 0 {
            return Err(foreign());
        }
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        if tables != 0 {
            return Err(foreign());
        }
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: path.to_owned(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Applies every migration the file lacks, each in its own transaction together with its
/// version bump, so a crash mid-way leaves a file at a version it really has. Returns how
/// many ran.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<u32, StoreError> {
    let mut applied = 0;
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let target = index as u32 + 1;
        // IMMEDIATE takes the write lock before reading the version, so two processes
        // opening a fresh file at once cannot both run the same migration.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (_, version) = header(&tx)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                path: path.to_owned(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version >= target {
            continue;
        }
        tx.execute_batch(sql).map_err(|e| {
            StoreError::Backend(format!("migration {target} of {}: {e}", path.display()))
        })?;
        tx.pragma_update(None, "user_version", target)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.commit()?;
        applied += 1;
    }
    Ok(applied)
}

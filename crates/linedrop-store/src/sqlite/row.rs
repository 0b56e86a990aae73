//! Between [`Record`] and a row of `records`: the SQL, binding and reading. The column
//! layout itself is [`crate::columns`], shared with the journal.

use std::sync::OnceLock;

use rusqlite::types::ValueRef;
use rusqlite::{Row, Statement};

use crate::columns::{self, Sink, Source, Value, COLUMNS};
use crate::error::StoreError;
use crate::record::Record;

/// `SELECT <every column> FROM records`.
pub(crate) fn select_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| format!("SELECT {} FROM records", COLUMNS.join(", ")))
}

/// Inserts a record, or replaces the row of the same id unless that row is completed: the
/// first final record wins, so a repeated `Ended` changes nothing and a late `Created`
/// never reopens a finished call.
///
/// The replacement leaves `created_at` as first written: a call's creation time never
/// changes, and naming an indexed column in the `SET` list makes SQLite rewrite that index's
/// entry, one more page per commit (of two or three) for a value that is always the same.
pub(crate) fn upsert_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let placeholders = (1..=COLUMNS.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let updates = COLUMNS[1..]
            .iter()
            .filter(|c| **c != "created_at")
            .map(|c| format!("{c} = excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "INSERT INTO records ({}) VALUES ({placeholders}) \
             ON CONFLICT (id) DO UPDATE SET {updates} WHERE records.completed = 0",
            COLUMNS.join(", ")
        )
    })
}

/// Binds the record's values, in [`COLUMNS`] order, to `stmt` (prepared from
/// [`upsert_sql`]), every parameter each time, so nothing of an earlier record can remain.
/// `holders` is scratch space for that column's text, so binding allocates nothing once it
/// has grown. Text is bound by reference (SQLite copies it).
pub(crate) fn bind(
    stmt: &mut Statement<'_>,
    r: &Record,
    holders: &mut String,
) -> Result<(), StoreError> {
    let mut b = Binder { stmt, column: 0 };
    columns::write(r, holders, &mut b)?;
    debug_assert_eq!(b.column, COLUMNS.len());
    Ok(())
}

/// Binds parameters in order.
struct Binder<'s, 'c> {
    stmt: &'s mut Statement<'c>,
    column: usize,
}

impl Sink for Binder<'_, '_> {
    #[inline]
    fn put(&mut self, value: Value<'_>) -> Result<(), StoreError> {
        self.column += 1;
        match value {
            Value::Null => self
                .stmt
                .raw_bind_parameter(self.column, rusqlite::types::Null),
            Value::Int(v) => self.stmt.raw_bind_parameter(self.column, v),
            Value::Text(t) => self.stmt.raw_bind_parameter(self.column, t),
        }?;
        Ok(())
    }
}

/// Reads one row selected with [`select_sql`]. A value no version of ours writes is
/// `Corrupt`, naming the row and column, rather than a guess.
pub(crate) fn read(row: &Row<'_>) -> Result<Record, StoreError> {
    columns::read(&RowValues(row))
}

/// A selected row as a [`Source`].
struct RowValues<'a, 'r>(&'a Row<'r>);

impl Source for RowValues<'_, '_> {
    fn value(&self, column: usize) -> Result<Value<'_>, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt {
            what: format!("column {} holds {what}", COLUMNS[column]),
        };
        match self.0.get_ref(column)? {
            ValueRef::Null => Ok(Value::Null),
            ValueRef::Integer(v) => Ok(Value::Int(v)),
            ValueRef::Text(t) => std::str::from_utf8(t)
                .map(Value::Text)
                .map_err(|_| corrupt("text that is not UTF-8")),
            ValueRef::Real(v) => Err(corrupt(&format!("the real {v}"))),
            ValueRef::Blob(_) => Err(corrupt("a blob")),
        }
    }
}

//! Between [`Record`] and a row of `records`: the column list, binding and reading.

use std::sync::OnceLock;

use linedrop_core::{
    CallId, CallState, Cause, Direction, Origin, ProviderFacts, StateTimes, Termination, WireEnd,
};
use rusqlite::{Row, Statement, ToSql};

use crate::error::StoreError;
use crate::record::{
    decode_holders, duration_of_micros, encode_holders, micros_of_duration, micros_of_time,
    time_of_micros, to_i64, Record,
};

/// The columns of `records`, in bind and select order. The eight `*_at` state columns
/// follow [`CallState::ALL`] (checked by a test), so `entered` maps by index.
pub(crate) const COLUMNS: [&str; 32] = [
    "id",
    "direction",
    "line",
    "line_key",
    "local",
    "remote",
    "state",
    "created_at",
    "dialing_at",
    "proceeding_at",
    "ringback_at",
    "offering_at",
    "accepted_at",
    "connected_at",
    "disconnected_at",
    "idle_at",
    "setup_us",
    "talk_us",
    "origin",
    "cause",
    "wire",
    "sip_status",
    "q850",
    "term_text",
    "term_at",
    "late_causes",
    "call_ref",
    "local_tag",
    "remote_tag",
    "retransmissions",
    "holders",
    "completed",
];

/// Index of the first state-entry column in [`COLUMNS`].
const FIRST_STATE_COLUMN: usize = 8;

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

fn opt_time(t: Option<std::time::SystemTime>) -> Result<Option<i64>, StoreError> {
    t.map(micros_of_time).transpose()
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
    b.put(to_i64(r.id.0)?)?;
    b.put(r.direction.as_str())?;
    b.put(&*r.line)?;
    // Bit-cast, not range-checked: the key is an opaque 64-bit pattern and reads back
    // exactly, so a line generation above 2^31 needs no refusal.
    b.put(r.line_key as i64)?;
    b.put(r.local.as_str())?;
    b.put(r.remote.as_str())?;
    b.put(r.state.as_str())?;
    b.put(micros_of_time(r.created_at)?)?;
    for t in r.entered.0 {
        b.put(opt_time(t)?)?;
    }
    for d in [r.setup_duration, r.talk_duration] {
        b.put(d.map(micros_of_duration).transpose()?)?;
    }
    let t = r.termination.as_ref();
    b.put(t.map(|t| t.origin.as_str()))?;
    b.put(t.map(|t| t.cause.as_str()))?;
    b.put(t.map(|t| t.wire.as_str()))?;
    b.put(t.and_then(|t| t.sip_status))?;
    b.put(t.and_then(|t| t.q850))?;
    b.put(t.and_then(|t| t.text.as_deref()))?;
    b.put(opt_time(t.map(|t| t.at))?)?;
    b.put(r.late_causes)?;
    b.put(r.facts.call_ref.as_deref())?;
    b.put(r.facts.local_tag.as_deref())?;
    b.put(r.facts.remote_tag.as_deref())?;
    b.put(to_i64(r.facts.retransmissions)?)?;
    encode_holders(holders, &r.holders);
    b.put(holders.as_str())?;
    b.put(r.completed)?;
    debug_assert_eq!(b.column, COLUMNS.len());
    Ok(())
}

/// Binds parameters in order. Generic rather than through `&dyn ToSql`, so each value's
/// conversion is inlined instead of dispatched (32 parameters a record).
struct Binder<'s, 'c> {
    stmt: &'s mut Statement<'c>,
    column: usize,
}

impl Binder<'_, '_> {
    #[inline]
    fn put<T: ToSql>(&mut self, value: T) -> Result<(), StoreError> {
        self.column += 1;
        self.stmt.raw_bind_parameter(self.column, value)?;
        Ok(())
    }
}

/// Reads one row selected with [`select_sql`]. A value no version of ours writes is
/// `Corrupt`, naming the row and column, rather than a guess.
pub(crate) fn read(row: &Row<'_>) -> Result<Record, StoreError> {
    let id: i64 = row.get(0)?;
    let reader = Reader { row, id };
    let mut entered = StateTimes::default();
    for (i, slot) in entered.0.iter_mut().enumerate() {
        *slot = reader.opt_time(FIRST_STATE_COLUMN + i)?;
    }
    let termination = match reader.opt_text(18)? {
        None => None,
        Some(origin) => Some(Termination {
            origin: reader.parse(18, &origin, Origin::parse)?,
            cause: reader.parse_required(19, Cause::parse)?,
            wire: reader.parse_required(20, WireEnd::parse)?,
            sip_status: reader.opt_int(21)?,
            q850: reader.opt_int(22)?,
            text: reader.opt_text(23)?,
            at: reader
                .opt_time(24)?
                .ok_or_else(|| reader.corrupt(24, "missing"))?,
        }),
    };
    Ok(Record {
        id: CallId(u64::try_from(id).map_err(|_| reader.corrupt(0, "negative"))?),
        direction: reader.parse_required(1, Direction::parse)?,
        line: row.get::<_, String>(2)?.into(),
        line_key: row.get::<_, i64>(3)? as u64,
        local: row.get(4)?,
        remote: row.get(5)?,
        state: reader.parse_required(6, CallState::parse)?,
        created_at: reader
            .opt_time(7)?
            .ok_or_else(|| reader.corrupt(7, "missing"))?,
        entered,
        setup_duration: reader.opt_duration(16)?,
        talk_duration: reader.opt_duration(17)?,
        termination,
        late_causes: reader.int(25)?,
        facts: ProviderFacts {
            call_ref: reader.opt_text(26)?,
            local_tag: reader.opt_text(27)?,
            remote_tag: reader.opt_text(28)?,
            retransmissions: reader.int(29)?,
        },
        holders: {
            let text: String = row.get(30)?;
            decode_holders(&text).ok_or_else(|| reader.corrupt(30, &text))?
        },
        completed: match reader.int::<u8>(31)? {
            0 => false,
            1 => true,
            other => return Err(reader.corrupt(31, &other.to_string())),
        },
    })
}

/// Column reads that report a bad value as `Corrupt` with the row id and column name.
struct Reader<'a, 'r> {
    row: &'a Row<'r>,
    id: i64,
}

impl Reader<'_, '_> {
    fn corrupt(&self, column: usize, value: &str) -> StoreError {
        StoreError::Corrupt {
            what: format!(
                "record {}: column {} holds {value:?}",
                self.id, COLUMNS[column]
            ),
        }
    }

    fn opt_text(&self, column: usize) -> Result<Option<String>, StoreError> {
        Ok(self.row.get(column)?)
    }

    fn opt_int<T: TryFrom<i64>>(&self, column: usize) -> Result<Option<T>, StoreError> {
        let v: Option<i64> = self.row.get(column)?;
        v.map(|v| T::try_from(v).map_err(|_| self.corrupt(column, &v.to_string())))
            .transpose()
    }

    fn int<T: TryFrom<i64>>(&self, column: usize) -> Result<T, StoreError> {
        self.opt_int(column)?
            .ok_or_else(|| self.corrupt(column, "NULL"))
    }

    fn opt_time(&self, column: usize) -> Result<Option<std::time::SystemTime>, StoreError> {
        let v: Option<i64> = self.row.get(column)?;
        v.map(|v| time_of_micros(v).ok_or_else(|| self.corrupt(column, &v.to_string())))
            .transpose()
    }

    fn opt_duration(&self, column: usize) -> Result<Option<std::time::Duration>, StoreError> {
        let v: Option<i64> = self.row.get(column)?;
        v.map(|v| duration_of_micros(v).ok_or_else(|| self.corrupt(column, &v.to_string())))
            .transpose()
    }

    fn parse<T>(
        &self,
        column: usize,
        text: &str,
        f: fn(&str) -> Option<T>,
    ) -> Result<T, StoreError> {
        f(text).ok_or_else(|| self.corrupt(column, text))
    }

    fn parse_required<T>(&self, column: usize, f: fn(&str) -> Option<T>) -> Result<T, StoreError> {
        let text = self
            .opt_text(column)?
            .ok_or_else(|| self.corrupt(column, "NULL"))?;
        self.parse(column, &text, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_columns_follow_the_core_state_order() {
        for (i, state) in CallState::ALL.iter().enumerate() {
            assert_eq!(
                COLUMNS[FIRST_STATE_COLUMN + i],
                format!("{}_at", state.as_str())
            );
        }
    }
}

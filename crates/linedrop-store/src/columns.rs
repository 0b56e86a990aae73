//! A [`Record`] as the 32 values of its row, in one order: how SQLite binds and reads it,
//! and how the journal writes and replays it. One layout, so a journalled record and a row
//! can never disagree on what a value means.

use linedrop_core::{
    CallId, CallState, Cause, Direction, Origin, ProviderFacts, StateTimes, Termination, WireEnd,
};

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

/// One column's value: the three kinds a record's row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// SQL NULL: an optional field that is absent.
    Null,
    /// An integer: ids, times and durations in microseconds, counters, flags.
    Int(i64),
    /// Text: addresses, enum names, tags.
    Text(&'a str),
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(v)
    }
}

impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Where [`write`] puts a record's values, in [`COLUMNS`] order.
pub(crate) trait Sink {
    /// Takes the next column's value.
    fn put(&mut self, value: Value<'_>) -> Result<(), StoreError>;
}

/// Puts every value of `r` into `sink`, in [`COLUMNS`] order. `holders` is scratch space
/// for that column's text, so a caller that reuses it allocates nothing once it has grown.
pub(crate) fn write(
    r: &Record,
    holders: &mut String,
    sink: &mut impl Sink,
) -> Result<(), StoreError> {
    let int = |v: u64| to_i64(v).map(Value::Int);
    let opt_time =
        |t: Option<std::time::SystemTime>| t.map(micros_of_time).transpose().map(Value::from);
    sink.put(int(r.id.0)?)?;
    sink.put(r.direction.as_str().into())?;
    sink.put((&*r.line).into())?;
    // Bit-cast, not range-checked: the key is an opaque 64-bit pattern and reads back
    // exactly, so a line generation above 2^31 needs no refusal.
    sink.put(Value::Int(r.line_key as i64))?;
    sink.put((&*r.local).into())?;
    sink.put((&*r.remote).into())?;
    sink.put(r.state.as_str().into())?;
    sink.put(Value::Int(micros_of_time(r.created_at)?))?;
    for t in r.entered.0 {
        sink.put(opt_time(t)?)?;
    }
    for d in [r.setup_duration, r.talk_duration] {
        sink.put(d.map(micros_of_duration).transpose()?.into())?;
    }
    let t = r.termination.as_ref();
    sink.put(t.map(|t| t.origin.as_str()).into())?;
    sink.put(t.map(|t| t.cause.as_str()).into())?;
    sink.put(t.map(|t| t.wire.as_str()).into())?;
    sink.put(t.and_then(|t| t.sip_status).map(i64::from).into())?;
    sink.put(t.and_then(|t| t.q850).map(i64::from).into())?;
    sink.put(t.and_then(|t| t.text.as_deref()).into())?;
    sink.put(opt_time(t.map(|t| t.at))?)?;
    sink.put(Value::Int(r.late_causes.into()))?;
    sink.put(r.facts.call_ref.as_deref().into())?;
    sink.put(r.facts.local_tag.as_deref().into())?;
    sink.put(r.facts.remote_tag.as_deref().into())?;
    sink.put(int(r.facts.retransmissions)?)?;
    encode_holders(holders, &r.holders);
    sink.put(holders.as_str().into())?;
    sink.put(Value::Int(r.completed.into()))
}

/// Where [`read`] takes a record's values from: a row, or a journal entry.
pub(crate) trait Source {
    /// The value of column `column` (an index into [`COLUMNS`]). A value of a kind no
    /// record has (a float, a blob, text that is not UTF-8) is `Corrupt`.
    fn value(&self, column: usize) -> Result<Value<'_>, StoreError>;
}

/// The record whose values `source` holds. A value no version of ours writes is `Corrupt`,
/// naming the record and column, rather than a guess.
pub(crate) fn read(source: &impl Source) -> Result<Record, StoreError> {
    let id = match source.value(0)? {
        Value::Int(id) => id,
        other => return Err(corrupt_value(None, 0, other)),
    };
    let r = Reader { source, id };
    let mut entered = StateTimes::default();
    for (i, slot) in entered.0.iter_mut().enumerate() {
        *slot = r.opt_time(FIRST_STATE_COLUMN + i)?;
    }
    let termination = match r.opt_text(18)? {
        None => None,
        Some(origin) => Some(Termination {
            origin: r.parse(18, &origin, Origin::parse)?,
            cause: r.parse_required(19, Cause::parse)?,
            wire: r.parse_required(20, WireEnd::parse)?,
            sip_status: r.opt_int(21)?,
            q850: r.opt_int(22)?,
            text: r.opt_text(23)?,
            at: r.opt_time(24)?.ok_or_else(|| r.corrupt(24, "missing"))?,
        }),
    };
    Ok(Record {
        id: CallId(u64::try_from(id).map_err(|_| r.corrupt(0, "negative"))?),
        direction: r.parse_required(1, Direction::parse)?,
        line: r.text(2)?.into(),
        line_key: r.int::<i64>(3)? as u64,
        local: r.text(4)?.into(),
        remote: r.text(5)?.into(),
        state: r.parse_required(6, CallState::parse)?,
        created_at: r.opt_time(7)?.ok_or_else(|| r.corrupt(7, "missing"))?,
        entered,
        setup_duration: r.opt_duration(16)?,
        talk_duration: r.opt_duration(17)?,
        termination,
        late_causes: r.int(25)?,
        facts: ProviderFacts {
            call_ref: r.opt_text(26)?.map(Into::into),
            local_tag: r.opt_text(27)?.map(Into::into),
            remote_tag: r.opt_text(28)?.map(Into::into),
            retransmissions: r.int(29)?,
        },
        holders: {
            let text = r.text(30)?;
            decode_holders(&text).ok_or_else(|| r.corrupt(30, &text))?
        },
        completed: match r.int::<u8>(31)? {
            0 => false,
            1 => true,
            other => return Err(r.corrupt(31, &other.to_string())),
        },
    })
}

/// `Corrupt`, naming the record (when its id is known), the column and the value.
fn corrupt_value(id: Option<i64>, column: usize, value: Value<'_>) -> StoreError {
    let shown = match value {
        Value::Null => "NULL".to_owned(),
        Value::Int(v) => v.to_string(),
        Value::Text(t) => format!("{t:?}"),
    };
    let record = id.map_or_else(|| "a record".to_owned(), |id| format!("record {id}"));
    StoreError::Corrupt {
        what: format!("{record}: column {} holds {shown}", COLUMNS[column]),
    }
}

/// Typed reads of one record's values that report a bad one as `Corrupt`.
struct Reader<'a, S> {
    source: &'a S,
    id: i64,
}

impl<S: Source> Reader<'_, S> {
    fn corrupt(&self, column: usize, value: &str) -> StoreError {
        StoreError::Corrupt {
            what: format!(
                "record {}: column {} holds {value:?}",
                self.id, COLUMNS[column]
            ),
        }
    }

    fn opt_text(&self, column: usize) -> Result<Option<String>, StoreError> {
        match self.source.value(column)? {
            Value::Null => Ok(None),
            Value::Text(t) => Ok(Some(t.to_owned())),
            other => Err(corrupt_value(Some(self.id), column, other)),
        }
    }

    fn text(&self, column: usize) -> Result<String, StoreError> {
        self.opt_text(column)?
            .ok_or_else(|| self.corrupt(column, "NULL"))
    }

    fn opt_i64(&self, column: usize) -> Result<Option<i64>, StoreError> {
        match self.source.value(column)? {
            Value::Null => Ok(None),
            Value::Int(v) => Ok(Some(v)),
            other => Err(corrupt_value(Some(self.id), column, other)),
        }
    }

    fn opt_int<T: TryFrom<i64>>(&self, column: usize) -> Result<Option<T>, StoreError> {
        self.opt_i64(column)?
            .map(|v| T::try_from(v).map_err(|_| self.corrupt(column, &v.to_string())))
            .transpose()
    }

    fn int<T: TryFrom<i64>>(&self, column: usize) -> Result<T, StoreError> {
        self.opt_int(column)?
            .ok_or_else(|| self.corrupt(column, "NULL"))
    }

    fn opt_time(&self, column: usize) -> Result<Option<std::time::SystemTime>, StoreError> {
        self.opt_i64(column)?
            .map(|v| time_of_micros(v).ok_or_else(|| self.corrupt(column, &v.to_string())))
            .transpose()
    }

    fn opt_duration(&self, column: usize) -> Result<Option<std::time::Duration>, StoreError> {
        self.opt_i64(column)?
            .map(|v| duration_of_micros(v).ok_or_else(|| self.corrupt(column, &v.to_string())))
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
        let text = self.text(column)?;
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

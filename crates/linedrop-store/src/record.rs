//! The record: one row per call, built from the core's [`CallInfo`].

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use linedrop_core::{
    AppId, CallId, CallInfo, CallState, Direction, Holder, LineId, Privilege, ProviderFacts,
    RecordUpdate, StateTimes, Termination,
};

use crate::error::StoreError;

/// One call's durable record: what [`CallInfo`] says, plus the line's address (the store
/// does not know lines by id) and whether the call has ended.
///
/// Fields use the core's types, so the core stays the one definition of states, causes and
/// facts. Times are stored at microsecond precision; finer parts are dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The global id.
    pub id: CallId,
    /// Which way it was set up.
    pub direction: Direction,
    /// The line's address. Stored as text because line ids are only valid within one run.
    /// Shared: every record of a line holds the same text, so making one copies nothing.
    pub line: Arc<str>,
    /// The line's id as [`LineId::to_bits`], for joining with a live engine's lines.
    pub line_key: u64,
    /// Our party (shared with the engine's copy: a call's records copy no text).
    pub local: Arc<str>,
    /// The other party.
    pub remote: Arc<str>,
    /// The state when this record was made (`Idle` once completed).
    pub state: CallState,
    /// When the call was created.
    pub created_at: SystemTime,
    /// When it entered each state.
    pub entered: StateTimes,
    /// From creation to connection (or to the end, if it never connected).
    pub setup_duration: Option<Duration>,
    /// From connection to the end.
    pub talk_duration: Option<Duration>,
    /// Who ended it, why and how.
    pub termination: Option<Termination>,
    /// Causes that arrived after the termination, and were ignored.
    pub late_causes: u32,
    /// What the provider knew (Call-ID, tags, retransmissions).
    pub facts: ProviderFacts,
    /// The apps that held the call when this record was made.
    pub holders: Vec<Holder>,
    /// The call is over and this record is final: a later non-final record never replaces
    /// it, and retention may purge it.
    pub completed: bool,
}

impl Record {
    /// The record of a call as `info` describes it, on the line whose address is
    /// `line_address`. It is completed when the call is `Idle`, since nothing changes after.
    pub fn from_info(info: &CallInfo, line_address: impl Into<Arc<str>>) -> Self {
        Self::from_owned_info(info.clone(), line_address)
    }

    /// The record an engine update asks the store to write: `Created` gives an open row,
    /// `Ended` a completed one.
    pub fn from_update(update: RecordUpdate, line_address: impl Into<Arc<str>>) -> Self {
        let (info, completed) = match update {
            RecordUpdate::Created(info) => (info, false),
            RecordUpdate::Ended(info) => (info, true),
        };
        let mut record = Self::from_owned_info(info, line_address);
        // `Ended` is the engine's word that the call is over, whatever the snapshot says.
        record.completed = completed;
        record
    }

    fn from_owned_info(info: CallInfo, line_address: impl Into<Arc<str>>) -> Self {
        Self {
            id: info.id,
            direction: info.direction,
            line: line_address.into(),
            line_key: info.line.to_bits(),
            local: info.local,
            remote: info.remote,
            state: info.state,
            created_at: info.created_at,
            entered: info.entered,
            setup_duration: info.setup_duration,
            talk_duration: info.talk_duration,
            termination: info.termination,
            late_causes: info.late_causes,
            facts: info.facts,
            holders: info.holders,
            completed: info.state == CallState::Idle,
        }
    }

    /// The line as a [`LineId`] (meaningful only to the engine run that wrote the record).
    pub fn line_id(&self) -> LineId {
        LineId::from_bits(self.line_key)
    }

    /// Checks that every value fits the store's columns, so a record that passes can only
    /// fail to be written for reasons of the backend, never its own.
    ///
    /// It runs on the sending thread (the call path) for every record, so each time and
    /// duration is first compared with a range that plainly fits; only one outside it takes
    /// the exact conversion the row binding does.
    pub fn validate(&self) -> Result<(), StoreError> {
        let bad = |what: &str| StoreError::InvalidRecord(format!("call {}: {what}", self.id));
        to_i64(self.id.0).map_err(|_| bad("id above i64::MAX"))?;
        to_i64(self.facts.retransmissions).map_err(|_| bad("retransmissions above i64::MAX"))?;
        let times = std::iter::once(Some(self.created_at))
            .chain(self.entered.0.iter().copied())
            .chain(std::iter::once(self.termination.as_ref().map(|t| t.at)));
        if !times.flatten().all(time_fits) {
            return Err(bad("time out of range"));
        }
        let durations = [self.setup_duration, self.talk_duration];
        if !durations.into_iter().flatten().all(duration_fits) {
            return Err(bad("duration out of range"));
        }
        Ok(())
    }
}

/// Whole seconds below which any time (either side of the epoch) or duration is a whole
/// number of microseconds within i64: `SAFE_SECS * 1_000_000 + 999_999 < i64::MAX`.
const SAFE_SECS: u64 = i64::MAX as u64 / 1_000_000;

/// The times within [`SAFE_SECS`] of the epoch, as a pair of bounds; `None` where the
/// platform's clock cannot hold them (then every time takes the exact check).
fn safe_times() -> Option<(SystemTime, SystemTime)> {
    static SAFE: OnceLock<Option<(SystemTime, SystemTime)>> = OnceLock::new();
    *SAFE.get_or_init(|| {
        let span = Duration::from_secs(SAFE_SECS - 1);
        Some((UNIX_EPOCH.checked_sub(span)?, UNIX_EPOCH.checked_add(span)?))
    })
}

/// Whether [`micros_of_time`] accepts `t`: two comparisons for any plausible time.
fn time_fits(t: SystemTime) -> bool {
    match safe_times() {
        Some((lo, hi)) if lo <= t && t <= hi => true,
        _ => micros_of_time(t).is_ok(),
    }
}

/// Whether [`micros_of_duration`] accepts `d`.
fn duration_fits(d: Duration) -> bool {
    d.as_secs() < SAFE_SECS || micros_of_duration(d).is_ok()
}

/// `v` as an SQLite integer.
pub(crate) fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::InvalidRecord(format!("{v} is above i64::MAX")))
}

/// Microseconds since the epoch (negative before it), truncated toward the epoch.
pub(crate) fn micros_of_time(t: SystemTime) -> Result<i64, StoreError> {
    let out_of_range = || StoreError::InvalidRecord(format!("time {t:?} out of range"));
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_micros()).map_err(|_| out_of_range()),
        Err(before) => i64::try_from(before.duration().as_micros())
            .map(|m| -m)
            .map_err(|_| out_of_range()),
    }
}

/// The inverse of [`micros_of_time`].
pub(crate) fn time_of_micros(micros: i64) -> Option<SystemTime> {
    let magnitude = Duration::from_micros(micros.unsigned_abs());
    if micros >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    }
}

/// A duration in whole microseconds.
pub(crate) fn micros_of_duration(d: Duration) -> Result<i64, StoreError> {
    i64::try_from(d.as_micros())
        .map_err(|_| StoreError::InvalidRecord(format!("duration {d:?} out of range")))
}

/// The inverse of [`micros_of_duration`]; `None` for a negative value.
pub(crate) fn duration_of_micros(micros: i64) -> Option<Duration> {
    u64::try_from(micros).ok().map(Duration::from_micros)
}

/// Holders as `app_bits:privilege` joined by commas: compact, and readable in the sqlite3
/// shell without a JSON function. Written into `text`, replacing what it held, so the
/// writer reuses one buffer.
pub(crate) fn encode_holders(text: &mut String, holders: &[Holder]) {
    use std::fmt::Write;
    text.clear();
    for (i, h) in holders.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        // Writing to a String cannot fail.
        let _ = write!(text, "{sep}{}:{}", h.app.to_bits(), h.privilege.as_str());
    }
}

/// The inverse of [`encode_holders`]; `None` if the text is not in that form.
pub(crate) fn decode_holders(text: &str) -> Option<Vec<Holder>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(',')
        .map(|item| {
            let (app, privilege) = item.split_once(':')?;
            Some(Holder {
                app: AppId::from_bits(app.parse().ok()?),
                privilege: Privilege::parse(privilege)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_on_both_sides_of_the_epoch() {
        for micros in [0, 1, -1, 1_700_000_000_123_456, -86_400_000_000] {
            let t = time_of_micros(micros).expect("in range");
            assert_eq!(micros_of_time(t), Ok(micros));
        }
    }

    #[test]
    fn the_quick_range_checks_agree_with_the_exact_conversions() {
        let secs = |s: u64| Duration::from_secs(s);
        let edge = Duration::from_micros(i64::MAX as u64);
        let beyond = edge + Duration::from_micros(1);
        for d in [
            secs(0),
            secs(SAFE_SECS - 1),
            secs(SAFE_SECS),
            edge,
            beyond,
            Duration::MAX,
        ] {
            assert_eq!(duration_fits(d), micros_of_duration(d).is_ok(), "{d:?}");
            for t in [UNIX_EPOCH.checked_add(d), UNIX_EPOCH.checked_sub(d)]
                .into_iter()
                .flatten()
            {
                assert_eq!(time_fits(t), micros_of_time(t).is_ok(), "{t:?}");
            }
        }
        assert!(time_fits(UNIX_EPOCH + edge));
        assert!(!time_fits(UNIX_EPOCH + beyond));
        assert!(!duration_fits(beyond));
    }

    #[test]
    fn holders_round_trip() {
        let holders = vec![
            Holder {
                app: AppId::from_bits((3 << 32) | 7),
                privilege: Privilege::Owner,
            },
            Holder {
                app: AppId::from_bits(1),
                privilege: Privilege::Monitor,
            },
        ];
        let mut text = "left over".to_owned();
        encode_holders(&mut text, &holders);
        assert_eq!(text, format!("{}:owner,1:monitor", (3u64 << 32) | 7));
        assert_eq!(decode_holders(&text), Some(holders));
        assert_eq!(decode_holders(""), Some(Vec::new()));
        assert_eq!(decode_holders("x:owner"), None);
        assert_eq!(decode_holders("1:king"), None);
    }
}

//! The API's JSON views of calls, events, records and the ledger: one place, so the API,
//! the CLI and the OpenAPI document agree.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use linedrop_core::{CallInfo, CallState, Holder, Ledger, Termination};
use linedrop_store::Record;
use serde_json::{json, Value};

/// Names for the ids the engine uses internally.
pub trait Names {
    /// An app's name.
    fn app(&self, app: linedrop_core::AppId) -> String;
    /// A line's name.
    fn line(&self, line: linedrop_core::LineId) -> String;
}

/// RFC 3339 UTC with milliseconds, without a date library: the civil-from-days algorithm
/// (H. Hinnant) is a dozen lines and exact for the proleptic Gregorian calendar.
pub fn rfc3339(t: SystemTime) -> String {
    Rfc3339(t).to_string()
}

/// An instant shown as [`rfc3339`] shows it, written where it is displayed (no `String` of
/// its own when it goes into a larger text).
#[derive(Debug, Clone, Copy)]
pub struct Rfc3339(pub SystemTime);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        let Some(date_time) = date_time(d.as_secs()) else {
            // Past what four digits hold: the formatter widens the year.
            let (year, month, day, rem) = civil(d.as_secs());
            return write!(
                f,
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
                rem / 3600,
                rem / 60 % 60,
                rem % 60,
                d.subsec_millis()
            );
        };
        // Digits placed by hand: one per event's termination and several per record, where
        // the formatter's machinery cost more than the calendar arithmetic.
        let mut b = *b"0000-00-00T00:00:00.000Z";
        b[..19].copy_from_slice(&date_time);
        put_digits(&mut b[20..23], u64::from(d.subsec_millis()));
        f.write_str(std::str::from_utf8(&b).map_err(|_| fmt::Error)?)
    }
}

/// `secs` seconds after the Unix epoch as `YYYY-MM-DDTHH:MM:SS` (UTC), digits placed by
/// hand; `None` past the year 9999, which four digits do not hold.
pub(crate) fn date_time(secs: u64) -> Option<[u8; 19]> {
    let (year, month, day, rem) = civil(secs);
    if year > 9999 {
        return None;
    }
    let mut b = *b"0000-00-00T00:00:00";
    put_digits(&mut b[0..4], year as u64);
    put_digits(&mut b[5..7], month);
    put_digits(&mut b[8..10], day);
    put_digits(&mut b[11..13], rem / 3600);
    put_digits(&mut b[14..16], rem / 60 % 60);
    put_digits(&mut b[17..19], rem % 60);
    Some(b)
}

/// The UTC date (year, month, day) and the seconds into that day of `secs` seconds after
/// the Unix epoch: H. Hinnant's civil-from-days, exact for every `u64`.
fn civil(secs: u64) -> (i64, u64, u64, u64) {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u64, day as u64, rem)
}

/// Writes `n` as decimal into `out`, zero-padded to its width (`n` must fit).
pub(crate) fn put_digits(out: &mut [u8], mut n: u64) {
    for c in out.iter_mut().rev() {
        *c = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Appends `n` in decimal, without padding (the formatter's machinery costs more than
/// the digits, on paths taken per event and per call).
pub(crate) fn put_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut b = [0u8; 20];
    let mut i = b.len();
    loop {
        i -= 1;
        b[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&b[i..]);
}

fn ms(d: Option<Duration>) -> Value {
    d.map_or(Value::Null, |d| json!(d.as_millis() as u64))
}

/// A termination.
pub fn termination(t: &Termination) -> Value {
    json!({
        "origin": t.origin.as_str(),
        "cause": t.cause.as_str(),
        "wire": t.wire.as_str(),
        "sip_status": t.sip_status,
        "q850": t.q850,
        "text": t.text,
        "at": rfc3339(t.at),
        "tapi": {
            "disconnect_mode": t.cause.disconnect_mode(),
            "call_state_event_cause": t.cause.event_cause() as u32,
        },
    })
}

fn times(entered: &linedrop_core::StateTimes) -> Value {
    let mut m = serde_json::Map::new();
    for st in CallState::ALL {
        if let Some(t) = entered.at(st) {
            m.insert(st.as_str().to_owned(), json!(rfc3339(t)));
        }
    }
    Value::Object(m)
}

fn holders(h: &[Holder], names: &dyn Names) -> Value {
    h.iter()
        .map(|h| json!({"app": names.app(h.app), "privilege": h.privilege.as_str()}))
        .collect()
}

/// A call, as one holder sees it.
pub fn call(info: &CallInfo, names: &dyn Names) -> Value {
    json!({
        "id": info.id.0,
        "direction": info.direction.as_str(),
        "line": names.line(info.line),
        "local": &*info.local,
        "remote": &*info.remote,
        "state": info.state.as_str(),
        "created_at": rfc3339(info.created_at),
        "times": times(&info.entered),
        "setup_ms": ms(info.setup_duration),
        "talk_ms": ms(info.talk_duration),
        "termination": info.termination.as_ref().map(termination),
        "late_causes": info.late_causes,
        "holders": holders(&info.holders, names),
        "sip": {
            "call_id": info.facts.call_ref.as_deref(),
            "local_tag": info.facts.local_tag.as_deref(),
            "remote_tag": info.facts.remote_tag.as_deref(),
            "retransmissions": info.facts.retransmissions,
        },
    })
}

/// A stored record.
pub fn record(r: &Record) -> Value {
    json!({
        "id": r.id.0,
        "direction": r.direction.as_str(),
        "line": &*r.line,
        "local": &*r.local,
        "remote": &*r.remote,
        "state": r.state.as_str(),
        "completed": r.completed,
        "created_at": rfc3339(r.created_at),
        "times": times(&r.entered),
        "setup_ms": ms(r.setup_duration),
        "talk_ms": ms(r.talk_duration),
        "termination": r.termination.as_ref().map(termination),
        "late_causes": r.late_causes,
        "sip": {
            "call_id": r.facts.call_ref.as_deref(),
            "local_tag": r.facts.local_tag.as_deref(),
            "remote_tag": r.facts.remote_tag.as_deref(),
            "retransmissions": r.facts.retransmissions,
        },
    })
}

/// The ledger.
pub fn ledger(l: &Ledger) -> Value {
    let mut calls = serde_json::Map::new();
    for st in CallState::ALL {
        calls.insert(st.as_str().to_owned(), json!(l.calls(st)));
    }
    json!({
        "quiescent": l.is_quiescent(),
        "calls": calls,
        "handles": l.handles,
        "timers": l.timers,
        "events_queued": l.events_queued,
        "records_queued": l.records_queued,
        "apps": l.apps,
        "lines": l.lines,
        "late_causes": l.late_causes,
        "forced_teardowns": l.forced_teardowns,
        "ignored_provider_events": l.ignored_provider_events,
        "refused_after_drain": l.refused_after_drain,
        "sip": {
            "dialogs": l.provider.dialogs,
            "transactions": l.provider.transactions,
            "timers": l.provider.timers,
            "tombstones": l.provider.tombstones,
            "connections": l.provider.connections,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_decimal() {
        for n in [0, 7, 10, 486, 1_000_000, u64::MAX] {
            let mut v = Vec::new();
            put_u64(&mut v, n);
            assert_eq!(v, n.to_string().into_bytes());
        }
    }

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(951_782_400_123); // 2000-02-29
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00.123Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_564_799); // the last second of 2026-11-24
        assert_eq!(rfc3339(t), "2026-11-24T23:59:59.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(253_402_300_799_999); // the last ms of 9999
        assert_eq!(rfc3339(t), "9999-12-31T23:59:59.999Z");
        let t = UNIX_EPOCH + Duration::from_secs(253_402_300_800);
        assert_eq!(rfc3339(t), "10000-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_007);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.007Z");
    }
}

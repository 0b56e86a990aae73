//! The one log line per call end, written by hand, once the call's record is in the store.
//!
//! The thread that writes the store (the record writer's applier) writes the lines after
//! each transaction, all of its ends in one `write(2)`, about once a second: the SIP thread
//! neither formats nor writes them, and a line in the log means the record it speaks of is
//! on disk and in the store.
//!
//! Through `tracing-subscriber`'s formatter the line cost about 10,000 instructions per call
//! (callgrind, 600 calls): the dispatcher, the generic field visitor, and `core::fmt` for
//! every field and the timestamp. Its content is fixed (six fields, numbers and names from a
//! closed vocabulary), so the binary, which installs that formatter, can ask for the line to
//! be written here instead: the same bytes, one `write(2)` as before, a fraction of the work.
//! Without that request (tests, other programs) the line goes through `tracing` as any other.

use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use linedrop_core::{CallId, CallInfo, Termination};
use linedrop_store::Record;

use crate::json::{date_time, put_digits, put_u64};

/// The target the line is logged under, as `tracing` names the sink's module.
pub const TARGET: &str = "linedrop_server::sink";

/// Which of `tracing-subscriber`'s formats the line must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `fmt`'s default (`Full`) format without colours.
    Human,
    /// `fmt().json()` with its defaults.
    Json,
}

static DIRECT: OnceLock<Style> = OnceLock::new();

/// Asks for the line to be written straight to standard error in `style`, from now on.
///
/// For the program that installed `tracing-subscriber`'s `fmt` subscriber writing to
/// standard error at level INFO, without colours, in `style`: the lines then read as its
/// own. That holds while the daemon enters no `tracing` spans (it enters none): the
/// formatter would print a span around the engine task in its line, and this line has none.
/// The first call wins.
pub fn write_directly(style: Style) {
    let _ = DIRECT.set(style);
}

/// What the line says of one call's end.
#[derive(Debug, Clone, Copy)]
pub struct End<'a> {
    /// The call.
    pub id: CallId,
    /// From creation to connection (or to the end, if it never connected).
    pub setup: Option<Duration>,
    /// From connection to the end.
    pub talk: Option<Duration>,
    /// Who ended it, why and how.
    pub termination: &'a Termination,
}

impl<'a> End<'a> {
    /// The end of the call `info` describes, terminated by `t`.
    pub fn of_info(info: &CallInfo, t: &'a Termination) -> Self {
        Self {
            id: info.id,
            setup: info.setup_duration,
            talk: info.talk_duration,
            termination: t,
        }
    }

    /// The end a completed record holds; `None` for an open record or one without a
    /// termination.
    pub fn of_record(r: &'a Record) -> Option<Self> {
        let termination = r.termination.as_ref().filter(|_| r.completed)?;
        Some(Self {
            id: r.id,
            setup: r.setup_duration,
            talk: r.talk_duration,
            termination,
        })
    }
}

/// Logs the end of every completed record in `batch`, just committed. Written directly,
/// the lines go out in one write; `buf` is scratch space kept between batches.
pub(crate) fn log_committed(batch: &[Record], buf: &mut Vec<u8>) {
    let direct = DIRECT.get().copied();
    let now = SystemTime::now();
    buf.clear();
    for end in batch.iter().filter_map(End::of_record) {
        match direct {
            Some(style) if format_line(style, now, &end, buf) => {}
            _ => log_with_tracing(&end),
        }
    }
    if !buf.is_empty() {
        // Nothing to do if the stream is closed: the formatter ignores that too. Lines the
        // formatter took instead (`format_line` said no) may come out before these, each
        // whole: order within one batch of ends is not meaningful.
        let _ = std::io::stderr().lock().write_all(buf);
    }
}

/// The line through `tracing`: the fallback, and the reference the hand-written line is
/// tested against.
pub fn log_with_tracing(end: &End<'_>) {
    let t = end.termination;
    tracing::info!(
        target: TARGET,
        call = end.id.0,
        origin = t.origin.as_str(),
        cause = t.cause.as_str(),
        sip_status = t.sip_status,
        setup_ms = end.setup.map(|d| d.as_millis() as u64),
        talk_ms = end.talk.map(|d| d.as_millis() as u64),
        "call ended"
    );
}

/// Appends the line for `end` at `now` to `out`, as the formatter would print it. `false`
/// (and `out` as it was) where the hand-written line could differ from the formatter's: a
/// year outside 1970..=9999, or a name needing quotes or escapes.
pub fn format_line(style: Style, now: SystemTime, end: &End<'_>, out: &mut Vec<u8>) -> bool {
    let t = end.termination;
    let (origin, cause) = (t.origin.as_str(), t.cause.as_str());
    if !plain(origin) || !plain(cause) {
        return false;
    }
    let Some(stamp) = timestamp(now) else {
        return false;
    };
    let numbers = [
        ("call", Some(end.id.0)),
        ("sip_status", t.sip_status.map(u64::from)),
        ("setup_ms", end.setup.map(|d| d.as_millis() as u64)),
        ("talk_ms", end.talk.map(|d| d.as_millis() as u64)),
    ];
    // The fields in the order the macro names them; an absent `Option` is left out.
    let [call, rest @ ..] = numbers;
    match style {
        Style::Human => {
            out.extend_from_slice(&stamp);
            out.extend_from_slice(b"  INFO ");
            out.extend_from_slice(TARGET.as_bytes());
            out.extend_from_slice(b": call ended call=");
            put_u64(out, call.1.unwrap_or_default());
            for (name, value) in [("origin", origin), ("cause", cause)] {
                out.push(b' ');
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"=\"");
                out.extend_from_slice(value.as_bytes());
                out.push(b'"');
            }
            for (name, value) in rest {
                if let Some(v) = value {
                    out.push(b' ');
                    out.extend_from_slice(name.as_bytes());
                    out.push(b'=');
                    put_u64(out, v);
                }
            }
            out.push(b'\n');
        }
        Style::Json => {
            out.extend_from_slice(b"{\"timestamp\":\"");
            out.extend_from_slice(&stamp);
            out.extend_from_slice(
                b"\",\"level\":\"INFO\",\"fields\":{\"message\":\"call ended\",\"call\":",
            );
            put_u64(out, call.1.unwrap_or_default());
            for (name, value) in [("origin", origin), ("cause", cause)] {
                out.extend_from_slice(b",\"");
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"\":\"");
                out.extend_from_slice(value.as_bytes());
                out.push(b'"');
            }
            for (name, value) in rest {
                if let Some(v) = value {
                    out.extend_from_slice(b",\"");
                    out.extend_from_slice(name.as_bytes());
                    out.extend_from_slice(b"\":");
                    put_u64(out, v);
                }
            }
            out.extend_from_slice(b"},\"target\":\"");
            out.extend_from_slice(TARGET.as_bytes());
            out.extend_from_slice(b"\"}\n");
        }
    }
    true
}

/// Whether `name` prints the same quoted by `Debug` and by JSON, with nothing escaped.
fn plain(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b' ')
}

/// `now` as the formatter's timer prints it: RFC 3339 UTC with microseconds. `None` outside
/// the years four digits hold from the epoch on (the formatter signs and widens those).
fn timestamp(now: SystemTime) -> Option<[u8; 27]> {
    let d = now.duration_since(UNIX_EPOCH).ok()?;
    let mut b = *b"0000-00-00T00:00:00.000000Z";
    b[..19].copy_from_slice(&date_time(d.as_secs())?);
    put_digits(&mut b[20..26], u64::from(d.subsec_micros()));
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339_with_microseconds() {
        let at = |s: u64, us: u32| {
            let t = UNIX_EPOCH + Duration::new(s, us * 1000);
            String::from_utf8(timestamp(t).unwrap().to_vec()).unwrap()
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 7), "2000-02-29T00:00:00.000007Z");
        assert_eq!(at(1_795_588_248, 301_021), "2026-11-25T06:30:48.301021Z");
        assert_eq!(at(253_402_300_799, 999_999), "9999-12-31T23:59:59.999999Z");
        assert_eq!(
            timestamp(UNIX_EPOCH + Duration::from_secs(253_402_300_800)),
            None
        );
        assert_eq!(timestamp(UNIX_EPOCH - Duration::from_secs(1)), None);
    }
}

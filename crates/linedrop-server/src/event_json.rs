//! An app event's JSON text, written straight into a buffer: no `Value` tree built and then
//! printed (a fifth of an outbound call's CPU), and no serializer either. Through serde_json's
//! `Serializer` an event cost about 2,400 instructions (callgrind, a monitored line: 12k per
//! call for its five events), most of it in the generic per-entry path; the keys and the
//! vocabulary are fixed, so they are written as bytes, and only free text (a termination's
//! `text`, a releaser's name) goes through serde_json's string escaping.
//!
//! The text is byte for byte what `json!` built and printed before: the same keys and values,
//! with each object's keys in sorted order (how serde_json prints its map without the
//! `preserve_order` feature). A test below holds the two to it.

use std::io::Write;

use linedrop_core::{AppEvent, EventKind, Termination};

use crate::json::{put_u64, Names, Rfc3339};

/// `e` as the JSON text its app's clients receive.
pub fn event_text(e: &AppEvent, names: &dyn Names) -> String {
    // A flat event is under 100 bytes, a termination under 300: one allocation for most.
    let mut out = Vec::with_capacity(256);
    // Keys in sorted order, per kind.
    match &e.kind {
        EventKind::NewCall {
            privilege,
            direction,
            state,
        } => {
            number(&mut out, b"{\"call\":", e.call.0);
            name(&mut out, b",\"direction\":", direction.as_str());
            name(&mut out, b",\"privilege\":", privilege.as_str());
            number(&mut out, b",\"seq\":", e.seq);
            name(&mut out, b",\"state\":", state.as_str());
        }
        EventKind::State { from, to } => {
            number(&mut out, b"{\"call\":", e.call.0);
            name(&mut out, b",\"from\":", from.as_str());
            number(&mut out, b",\"seq\":", e.seq);
            name(&mut out, b",\"to\":", to.as_str());
        }
        EventKind::Terminated(t) => {
            number(&mut out, b"{\"call\":", e.call.0);
            number(&mut out, b",\"seq\":", e.seq);
            out.extend_from_slice(b",\"termination\":");
            termination(&mut out, t);
        }
        EventKind::HoldersChanged { owners, monitors } => {
            number(&mut out, b"{\"call\":", e.call.0);
            number(&mut out, b",\"monitors\":", u64::from(*monitors));
            number(&mut out, b",\"owners\":", u64::from(*owners));
            number(&mut out, b",\"seq\":", e.seq);
        }
        EventKind::Released { by } => {
            out.extend_from_slice(b"{\"by\":");
            text(&mut out, &names.app(*by));
            number(&mut out, b",\"call\":", e.call.0);
            number(&mut out, b",\"seq\":", e.seq);
        }
    }
    name(&mut out, b",\"type\":", e.kind.name());
    out.push(b'}');
    // The text stays in the app's replay window (10,000 events by default): hold only its
    // bytes, not the slack (glibc shrinks a block in place).
    out.shrink_to_fit();
    String::from_utf8(out).expect("only UTF-8 is written")
}

/// A termination, as [`crate::json::termination`] shows it.
fn termination(out: &mut Vec<u8>, t: &Termination) {
    out.extend_from_slice(b"{\"at\":\"");
    // Writing into a `Vec` cannot fail.
    let _ = write!(out, "{}", Rfc3339(t.at));
    name(out, b"\",\"cause\":", t.cause.as_str());
    name(out, b",\"origin\":", t.origin.as_str());
    optional(out, b",\"q850\":", t.q850.map(u64::from));
    optional(out, b",\"sip_status\":", t.sip_status.map(u64::from));
    number(
        out,
        b",\"tapi\":{\"call_state_event_cause\":",
        u64::from(t.cause.event_cause() as u32),
    );
    number(
        out,
        b",\"disconnect_mode\":",
        u64::from(t.cause.disconnect_mode()),
    );
    out.extend_from_slice(b"},\"text\":");
    match &t.text {
        Some(s) => text(out, s),
        None => out.extend_from_slice(b"null"),
    }
    name(out, b",\"wire\":", t.wire.as_str());
    out.push(b'}');
}

/// `key` (the punctuation before the value included), then `n`.
fn number(out: &mut Vec<u8>, key: &[u8], n: u64) {
    out.extend_from_slice(key);
    put_u64(out, n);
}

/// `key`, then `n` or `null`.
fn optional(out: &mut Vec<u8>, key: &[u8], n: Option<u64>) {
    match n {
        Some(n) => number(out, key, n),
        None => {
            out.extend_from_slice(key);
            out.extend_from_slice(b"null");
        }
    }
}

/// `key`, then a name from the engine's vocabulary as a JSON string.
fn name(out: &mut Vec<u8>, key: &[u8], value: &str) {
    out.extend_from_slice(key);
    text(out, value);
}

/// `s` as a JSON string: as is when nothing in it needs escaping (every name of the
/// vocabulary), else through serde_json's escaping.
fn text(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Serializing a string into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use linedrop_core::{
        AppId, CallHandle, CallId, CallState, Cause, Direction, Origin, Privilege, WireEnd,
    };
    use serde_json::{json, Value};

    use super::*;
    use crate::json::termination;

    struct Named;
    impl Names for Named {
        fn app(&self, app: AppId) -> String {
            format!("app \"{}\"\n\u{1}é", app.to_bits())
        }
        fn line(&self, _: linedrop_core::LineId) -> String {
            "line".into()
        }
    }

    /// The `Value` the event text was printed from before: what clients have always seen.
    fn as_value(e: &AppEvent, names: &dyn Names) -> Value {
        let mut v = json!({"seq": e.seq, "call": e.call.0, "type": e.kind.name()});
        let extra = match &e.kind {
            EventKind::NewCall {
                privilege,
                direction,
                state,
            } => json!({
                "privilege": privilege.as_str(), "direction": direction.as_str(), "state": state.as_str()
            }),
            EventKind::State { from, to } => json!({"from": from.as_str(), "to": to.as_str()}),
            EventKind::Terminated(t) => json!({"termination": termination(t)}),
            EventKind::HoldersChanged { owners, monitors } => {
                json!({"owners": owners, "monitors": monitors})
            }
            EventKind::Released { by } => json!({"by": names.app(*by)}),
        };
        if let (Value::Object(m), Value::Object(x)) = (&mut v, extra) {
            m.extend(x);
        }
        v
    }

    fn terminated(text: Option<&str>, sip_status: Option<u16>, q850: Option<u8>) -> EventKind {
        EventKind::Terminated(Termination {
            origin: Origin::Remote,
            cause: Cause::Busy,
            wire: WireEnd::FinalResponse,
            sip_status,
            q850,
            text: text.map(str::to_owned),
            at: UNIX_EPOCH + Duration::from_millis(1_795_564_799_042),
        })
    }

    #[test]
    fn every_kind_is_the_text_the_value_printed() {
        let kinds = [
            EventKind::NewCall {
                privilege: Privilege::Owner,
                direction: Direction::Outbound,
                state: CallState::Dialing,
            },
            EventKind::NewCall {
                privilege: Privilege::Monitor,
                direction: Direction::Inbound,
                state: CallState::Offering,
            },
            EventKind::State {
                from: CallState::Dialing,
                to: CallState::Connected,
            },
            terminated(None, None, None),
            terminated(Some("Busy Here \"now\"\\\t\u{7f}ü"), Some(486), Some(17)),
            // Each character that needs escaping alone, so none hides behind another.
            terminated(Some("back\\slash"), Some(600), Some(0)),
            terminated(Some("tab\there"), None, Some(255)),
            terminated(Some("\"quoted\""), Some(699), None),
            terminated(Some("plain text, ü and \u{7f}"), Some(200), None),
            EventKind::HoldersChanged {
                owners: 2,
                monitors: u32::MAX,
            },
            EventKind::Released {
                by: AppId::from_bits(7),
            },
        ];
        for (i, kind) in kinds.into_iter().enumerate() {
            let e = AppEvent {
                app: AppId::from_bits(1),
                seq: u64::MAX - i as u64,
                call: CallId(i as u64 * 1_000_003),
                handle: CallHandle::from_bits(3),
                kind,
            };
            let text = event_text(&e, &Named);
            assert_eq!(text, as_value(&e, &Named).to_string(), "{:?}", e.kind);
        }
    }
}

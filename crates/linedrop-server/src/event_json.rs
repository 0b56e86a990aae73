//! An app event's JSON text, written straight into a `String` by serde_json's serializer:
//! no `Value` tree built and then printed, which was a fifth of an outbound call's CPU.
//!
//! The text is byte for byte what `json!` built and printed before: the same keys and values,
//! with each object's keys in sorted order (how serde_json prints its map without the
//! `preserve_order` feature). A test below holds the two to it.

use serde::ser::{Serialize, SerializeMap, Serializer};

use linedrop_core::{AppEvent, EventKind, Termination};

use crate::json::{Names, Rfc3339};

/// `e` as the JSON text its app's clients receive.
pub fn event_text(e: &AppEvent, names: &dyn Names) -> String {
    let ev = Event {
        e,
        by: match &e.kind {
            EventKind::Released { by } => Some(names.app(*by)),
            _ => None,
        },
    };
    // A flat event is under 100 bytes, a termination under 300: one allocation for most.
    let mut out = Vec::with_capacity(256);
    // Serializing these types cannot fail: no maps with non-string keys, no I/O.
    ev.serialize(&mut serde_json::Serializer::new(&mut out))
        .expect("an event serializes");
    // The text stays in the app's replay window (10,000 events by default): hold only its
    // bytes, not the slack (glibc shrinks a block in place).
    out.shrink_to_fit();
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// One event, with the releaser's name looked up beforehand.
struct Event<'a> {
    e: &'a AppEvent,
    by: Option<String>,
}

impl Serialize for Event<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.e;
        let mut m = s.serialize_map(None)?;
        // Keys in sorted order, per kind.
        match &e.kind {
            EventKind::NewCall {
                privilege,
                direction,
                state,
            } => {
                m.serialize_entry("call", &e.call.0)?;
                m.serialize_entry("direction", direction.as_str())?;
                m.serialize_entry("privilege", privilege.as_str())?;
                m.serialize_entry("seq", &e.seq)?;
                m.serialize_entry("state", state.as_str())?;
            }
            EventKind::State { from, to } => {
                m.serialize_entry("call", &e.call.0)?;
                m.serialize_entry("from", from.as_str())?;
                m.serialize_entry("seq", &e.seq)?;
                m.serialize_entry("to", to.as_str())?;
            }
            EventKind::Terminated(t) => {
                m.serialize_entry("call", &e.call.0)?;
                m.serialize_entry("seq", &e.seq)?;
                m.serialize_entry("termination", &TerminationJson(t))?;
            }
            EventKind::HoldersChanged { owners, monitors } => {
                m.serialize_entry("call", &e.call.0)?;
                m.serialize_entry("monitors", monitors)?;
                m.serialize_entry("owners", owners)?;
                m.serialize_entry("seq", &e.seq)?;
            }
            EventKind::Released { .. } => {
                m.serialize_entry("by", self.by.as_deref().unwrap_or_default())?;
                m.serialize_entry("call", &e.call.0)?;
                m.serialize_entry("seq", &e.seq)?;
            }
        }
        m.serialize_entry("type", e.kind.name())?;
        m.end()
    }
}

/// A termination, as [`crate::json::termination`] shows it.
struct TerminationJson<'a>(&'a Termination);

impl Serialize for TerminationJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("at", &Rfc3339(t.at))?;
        m.serialize_entry("cause", t.cause.as_str())?;
        m.serialize_entry("origin", t.origin.as_str())?;
        m.serialize_entry("q850", &t.q850)?;
        m.serialize_entry("sip_status", &t.sip_status)?;
        m.serialize_entry("tapi", &Tapi(t))?;
        m.serialize_entry("text", &t.text)?;
        m.serialize_entry("wire", t.wire.as_str())?;
        m.end()
    }
}

/// A termination's TAPI view.
struct Tapi<'a>(&'a Termination);

impl Serialize for Tapi<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "call_state_event_cause",
            &(self.0.cause.event_cause() as u32),
        )?;
        m.serialize_entry("disconnect_mode", &self.0.cause.disconnect_mode())?;
        m.end()
    }
}

impl Serialize for Rfc3339 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
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

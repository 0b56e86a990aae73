//! Events for API clients: each app's stream kept for a replay window, and fanned out to
//! its live WebSocket clients. A client that reconnects with the last sequence number it saw
//! misses nothing the window still holds, and is told plainly when it asks for more.
//!
//! An event is kept as the engine made it and written as JSON the first time a client needs
//! it, by the task that sends it: events are pushed from the engine's thread, which every
//! call goes through, and most are never sent (no client listening, or one that started
//! later); writing each there cost ~2,000 instructions (2 % of an inbound call's on that
//! thread, 5 % of an outbound one's).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use linedrop_core::{AppEvent, AppId};
use tokio::sync::broadcast;

use crate::event_json;
use crate::json::Names;

/// One event of an app's stream, shared by the window and every client sending it.
#[derive(Debug)]
pub struct HubEvent {
    event: AppEvent,
    /// The JSON text, written once, by the first client that sends it.
    text: OnceLock<String>,
}

impl HubEvent {
    /// Its sequence number in its app's stream.
    pub fn seq(&self) -> u64 {
        self.event.seq
    }
}

/// What the window holds and clients receive.
pub type Encoded = Arc<HubEvent>;

/// Why a replay cannot be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayGap {
    /// The oldest sequence number still held (the client asked for older ones).
    pub oldest: u64,
}

#[derive(Debug)]
struct Stream {
    buffer: VecDeque<Encoded>,
    live: broadcast::Sender<Encoded>,
}

/// Every app's event stream.
pub struct Hub {
    streams: Mutex<HashMap<AppId, Stream>>,
    window: usize,
    /// Names of apps and lines, for the events' text.
    names: Arc<dyn Names + Send + Sync>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub keeping `window` events per app, naming apps and lines with `names`.
    pub fn new(window: usize, names: Arc<dyn Names + Send + Sync>) -> Self {
        Self {
            streams: Mutex::new(HashMap::new()),
            window: window.max(1),
            names,
        }
    }

    /// `ev` as the JSON text its app's clients receive (written on first use).
    pub fn text<'e>(&self, ev: &'e HubEvent) -> &'e str {
        ev.text
            .get_or_init(|| event_json::event_text(&ev.event, &*self.names))
    }

    /// Adds an event to `app`'s stream (called on the engine task: never blocks for long).
    pub fn push(&self, event: AppEvent) {
        let app = event.app;
        let ev: Encoded = Arc::new(HubEvent {
            event,
            text: OnceLock::new(),
        });
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        let s = streams.entry(app).or_insert_with(|| Stream {
            buffer: VecDeque::new(),
            live: broadcast::channel(1024).0,
        });
        if s.buffer.len() == self.window {
            s.buffer.pop_front();
        }
        s.buffer.push_back(ev.clone());
        // No live client is not an error: the buffer keeps it for replay.
        let _ = s.live.send(ev);
    }

    /// Everything after `since` that the window holds, and a receiver for what comes next,
    /// taken together so nothing falls between them. `Err` if events after `since` have
    /// already left the window.
    pub fn subscribe(
        &self,
        app: AppId,
        since: u64,
    ) -> Result<(Vec<Encoded>, broadcast::Receiver<Encoded>), ReplayGap> {
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        let s = streams.entry(app).or_insert_with(|| Stream {
            buffer: VecDeque::new(),
            live: broadcast::channel(1024).0,
        });
        let oldest = s.buffer.front().map_or(since + 1, |e| e.seq());
        if since + 1 < oldest {
            return Err(ReplayGap { oldest });
        }
        let replay = s
            .buffer
            .iter()
            .filter(|e| e.seq() > since)
            .cloned()
            .collect();
        Ok((replay, s.live.subscribe()))
    }

    /// The last sequence number of `app`'s stream (0 if none yet).
    pub fn last_seq(&self, app: AppId) -> u64 {
        let streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        streams
            .get(&app)
            .and_then(|s| s.buffer.back())
            .map_or(0, |e| e.seq())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linedrop_core::{CallHandle, CallId, CallState, EventKind, LineId};

    struct Named;

    impl Names for Named {
        fn app(&self, app: AppId) -> String {
            format!("app {}", app.to_bits())
        }
        fn line(&self, line: LineId) -> String {
            format!("line {}", line.to_bits())
        }
    }

    fn event(app: AppId, seq: u64) -> AppEvent {
        AppEvent {
            app,
            seq,
            call: CallId(seq),
            handle: CallHandle::from_bits(seq),
            kind: EventKind::State {
                from: CallState::Offering,
                to: CallState::Connected,
            },
        }
    }

    #[test]
    fn replay_then_live_with_no_gap_and_a_plain_error_past_the_window() {
        let hub = Hub::new(3, Arc::new(Named));
        let app = AppId::from_bits(1);
        for seq in 1..=5 {
            hub.push(event(app, seq));
        }
        assert_eq!(hub.subscribe(app, 1).unwrap_err(), ReplayGap { oldest: 3 });
        let (replay, mut live) = hub.subscribe(app, 3).unwrap();
        assert_eq!(
            replay.iter().map(|e| e.seq()).collect::<Vec<_>>(),
            vec![4, 5]
        );
        hub.push(event(app, 6));
        assert_eq!(live.try_recv().unwrap().seq(), 6);
        assert_eq!(hub.last_seq(app), 6);
        let (replay, _) = hub.subscribe(app, 6).unwrap();
        assert!(replay.is_empty());
    }

    #[test]
    fn an_event_is_written_when_a_client_first_needs_it_and_then_kept() {
        let hub = Hub::new(3, Arc::new(Named));
        let app = AppId::from_bits(2);
        hub.push(event(app, 1));
        let (replay, _) = hub.subscribe(app, 0).unwrap();
        let ev = &replay[0];
        assert!(
            ev.text.get().is_none(),
            "not written on the engine's thread"
        );
        let text = hub.text(ev);
        assert_eq!(text, event_json::event_text(&event(app, 1), &Named));
        assert!(
            std::ptr::eq(text, hub.text(ev)),
            "written once, then shared"
        );
    }
}

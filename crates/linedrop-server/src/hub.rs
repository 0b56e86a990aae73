//! Events for API clients: each app's stream kept for a replay window, and fanned out to
//! its live WebSocket clients. A client that reconnects with the last sequence number it saw
//! misses nothing the window still holds, and is told plainly when it asks for more.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use linedrop_core::AppId;
use tokio::sync::broadcast;

/// One encoded event: its app's sequence number and its JSON text.
pub type Encoded = Arc<(u64, String)>;

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
#[derive(Debug)]
pub struct Hub {
    streams: Mutex<HashMap<AppId, Stream>>,
    window: usize,
}

impl Hub {
    /// A hub keeping `window` events per app.
    pub fn new(window: usize) -> Self {
        Self {
            streams: Mutex::new(HashMap::new()),
            window: window.max(1),
        }
    }

    /// Adds an event to `app`'s stream (called on the engine task: never blocks for long).
    pub fn push(&self, app: AppId, seq: u64, json: String) {
        let ev: Encoded = Arc::new((seq, json));
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
        let oldest = s.buffer.front().map_or(since + 1, |e| e.0);
        if since + 1 < oldest {
            return Err(ReplayGap { oldest });
        }
        let replay = s.buffer.iter().filter(|e| e.0 > since).cloned().collect();
        Ok((replay, s.live.subscribe()))
    }

    /// The last sequence number of `app`'s stream (0 if none yet).
    pub fn last_seq(&self, app: AppId) -> u64 {
        let streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        streams
            .get(&app)
            .and_then(|s| s.buffer.back())
            .map_or(0, |e| e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_then_live_with_no_gap_and_a_plain_error_past_the_window() {
        let hub = Hub::new(3);
        let app = AppId::from_bits(1);
        for seq in 1..=5 {
            hub.push(app, seq, format!("e{seq}"));
        }
        assert_eq!(hub.subscribe(app, 1).unwrap_err(), ReplayGap { oldest: 3 });
        let (replay, mut live) = hub.subscribe(app, 3).unwrap();
        assert_eq!(replay.iter().map(|e| e.0).collect::<Vec<_>>(), vec![4, 5]);
        hub.push(app, 6, "e6".into());
        assert_eq!(live.try_recv().unwrap().0, 6);
        assert_eq!(hub.last_seq(app), 6);
        let (replay, _) = hub.subscribe(app, 6).unwrap();
        assert!(replay.is_empty());
    }
}

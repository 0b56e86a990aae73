//! A small harness over an engine with the loopback provider and a simulated clock.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::{Duration, Instant, SystemTime};

use linedrop_core::*;

pub const ALICE: &str = "sip:alice@example.test";
pub const BOB: &str = "sip:bob@example.test";
pub const FAR: &str = "sip:far@elsewhere.test";

pub struct Harness {
    pub engine: Engine<LoopbackProvider>,
    pub now: Now,
    pub events: Vec<AppEvent>,
    pub records: Vec<RecordUpdate>,
    pub alice: LineId,
    pub bob: LineId,
    pub app: AppId,
}

pub fn policy() -> LinePolicy {
    LinePolicy {
        no_answer: Duration::from_secs(30),
        offer_timeout: Duration::from_secs(20),
        max_duration: Duration::from_secs(100),
        unattended: Unattended::Offer,
    }
}

impl Harness {
    /// Two lines (alice, bob) opened as owner by one app; teardowns take `teardown`.
    pub fn new(teardown: Duration) -> Self {
        let ids = CallIds::default();
        let provider = LoopbackProvider::new(ids.clone(), teardown);
        let mut engine = Engine::new(EngineConfig { call_ids: ids }, provider);
        let alice = engine
            .add_line(LineConfig {
                address: ALICE.into(),
                policy: policy(),
            })
            .unwrap();
        let bob = engine
            .add_line(LineConfig {
                address: BOB.into(),
                policy: policy(),
            })
            .unwrap();
        let app = engine.open_app("test");
        engine.open_line(app, alice, Privilege::Owner).unwrap();
        engine.open_line(app, bob, Privilege::Owner).unwrap();
        // A test's one clock read: its base instant; time then moves only by hand.
        #[allow(clippy::disallowed_methods)]
        let now = Now::new(
            Instant::now(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        );
        Self {
            engine,
            now,
            events: Vec::new(),
            records: Vec::new(),
            alice,
            bob,
            app,
        }
    }

    /// Drains events and records into the harness.
    pub fn drain(&mut self) {
        while let Some(e) = self.engine.poll_event() {
            self.events.push(e);
        }
        while let Some(r) = self.engine.poll_record() {
            self.records.push(r);
        }
    }

    /// Moves time forward by `by`, running every timer at its own instant.
    pub fn advance(&mut self, by: Duration) {
        let target = self.now.instant + by;
        while let Some(at) = self.engine.poll_timeout() {
            if at > target {
                break;
            }
            self.now = self.now.advance_to(at);
            self.engine.handle_timeout(self.now);
        }
        self.now = self.now.advance_to(target);
        self.drain();
    }

    /// The handle the app was given for an inbound call on `line` (the newest).
    pub fn offered(&mut self, app: AppId) -> CallHandle {
        self.drain();
        self.events
            .iter()
            .rev()
            .find_map(|e| match e.kind {
                EventKind::NewCall {
                    direction: Direction::Inbound,
                    ..
                } if e.app == app => Some(e.handle),
                _ => None,
            })
            .expect("an inbound call was offered")
    }

    pub fn info(&self, h: CallHandle) -> CallInfo {
        self.engine.info(h).unwrap()
    }

    pub fn termination(&self, h: CallHandle) -> Termination {
        self.info(h).termination.expect("terminated")
    }

    pub fn terminated_events(&self, call: CallId) -> usize {
        self.events
            .iter()
            .filter(|e| e.call == call && matches!(e.kind, EventKind::Terminated(_)))
            .map(|e| e.app)
            .collect::<std::collections::HashSet<_>>()
            .len()
    }

    /// Releases every handle (dropping live calls first), runs all timers, drains.
    pub fn quiesce(&mut self) {
        let apps: Vec<AppId> = self.events.iter().map(|e| e.app).collect();
        let mut apps: Vec<AppId> = apps.into_iter().chain([self.app]).collect();
        apps.sort();
        apps.dedup();
        for app in apps {
            if let Ok(handles) = self.engine.handles_of(app) {
                for (h, _) in handles {
                    let _ = self.engine.release(self.now, h, Release::DropFirst);
                }
            }
        }
        self.advance(Duration::from_secs(3600 * 24));
    }
}

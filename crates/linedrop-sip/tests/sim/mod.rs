//! A simulated network between SIP user agents: a clock that jumps to the next event, and a
//! seeded link that can drop, duplicate, delay and reorder datagrams. A 32-second Timer B
//! runs in microseconds, and a failing seed replays exactly.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use linedrop_core::*;
use linedrop_sip::transaction::TimerConfig;
use linedrop_sip::ua::{Peer, SipConfig, SipProvider};

/// What the link does to each datagram.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    /// One-way delay.
    pub delay: Duration,
    /// Extra random delay, up to this (reorders datagrams).
    pub jitter: Duration,
    /// Probability a datagram is lost.
    pub loss: f64,
    /// Probability a datagram is delivered twice.
    pub duplicate: f64,
}

impl Link {
    pub fn perfect() -> Self {
        Link {
            delay: Duration::from_millis(5),
            jitter: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
        }
    }

    pub fn lossy(loss: f64) -> Self {
        Link {
            delay: Duration::from_millis(5),
            jitter: Duration::from_millis(20),
            loss,
            duplicate: 0.05,
        }
    }
}

/// One user agent with its engine, an app, and a line.
pub struct Agent {
    pub engine: Engine<SipProvider>,
    pub addr: SocketAddr,
    pub app: AppId,
    pub line: LineId,
    pub events: Vec<AppEvent>,
    pub records: Vec<RecordUpdate>,
    /// Answer offered calls at once.
    pub auto_answer: bool,
    /// Drop every datagram to and from this agent (it vanished).
    pub dead: bool,
}

pub struct Net {
    pub now: Now,
    pub agents: Vec<Agent>,
    pub link: Link,
    rng: u64,
    /// In flight: (deliver at, sequence) → (to, from, bytes).
    queue: BTreeMap<(Instant, u64), (usize, SocketAddr, Vec<u8>)>,
    seq: u64,
    pub sent: u64,
    pub lost: u64,
}

pub fn timers() -> TimerConfig {
    TimerConfig::default()
}

impl Net {
    pub fn new(n: usize, link: Link, seed: u64) -> Self {
        // A test's one clock read: its base instant; time then moves only by hand.
        #[allow(clippy::disallowed_methods)]
        let now = Now::new(
            Instant::now(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        );
        let agents = (0..n)
            .map(|i| {
                let addr: SocketAddr = format!("127.0.0.{}:5060", i + 1).parse().unwrap();
                let ids = CallIds::starting_at(1 + 1_000_000 * i as u64);
                let mut cfg = SipConfig::new(addr);
                cfg.timers = timers();
                cfg.rng_seed = seed ^ (i as u64 + 1);
                let provider = SipProvider::new(cfg, ids.clone());
                let mut engine = Engine::new(EngineConfig { call_ids: ids }, provider);
                let line = engine
                    .add_line(LineConfig::new(format!("sip:agent{i}@127.0.0.{}", i + 1)))
                    .unwrap();
                let app = engine.open_app("test");
                engine.open_line(app, line, Privilege::Owner).unwrap();
                Agent {
                    engine,
                    addr,
                    app,
                    line,
                    events: vec![],
                    records: vec![],
                    auto_answer: false,
                    dead: false,
                }
            })
            .collect();
        Net {
            now,
            agents,
            link,
            rng: seed | 1,
            queue: BTreeMap::new(),
            seq: 0,
            sent: 0,
            lost: 0,
        }
    }

    fn random(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The SIP URI of agent `i`'s line.
    pub fn uri(&self, i: usize) -> String {
        format!("sip:agent{i}@127.0.0.{}:5060", i + 1)
    }

    /// Moves outputs of every agent into the network and the test's logs.
    fn collect(&mut self) {
        for i in 0..self.agents.len() {
            while let Some(t) = self.agents[i].engine.provider_mut().poll_transmit() {
                let from = self.agents[i].addr;
                let to = self.agents.iter().position(|a| a.addr == t.to.addr);
                self.sent += 1;
                let Some(to) = to else { continue };
                if self.agents[i].dead || self.agents[to].dead || self.random() < self.link.loss {
                    self.lost += 1;
                    continue;
                }
                let copies = if self.random() < self.link.duplicate {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    let jitter = self.link.jitter.mul_f64(self.random());
                    let at = self.now.instant + self.link.delay + jitter;
                    self.seq += 1;
                    self.queue
                        .insert((at, self.seq), (to, from, t.bytes.to_vec()));
                }
            }
            let a = &mut self.agents[i];
            while let Some(e) = a.engine.poll_event() {
                a.events.push(e);
            }
            while let Some(r) = a.engine.poll_record() {
                a.records.push(r);
            }
        }
        self.auto_answer();
    }

    fn auto_answer(&mut self) {
        let now = self.now;
        for a in &mut self.agents {
            if !a.auto_answer {
                continue;
            }
            let offered: Vec<CallHandle> = a
                .events
                .iter()
                .filter(|e| {
                    matches!(
                        e.kind,
                        EventKind::NewCall {
                            direction: Direction::Inbound,
                            ..
                        }
                    )
                })
                .map(|e| e.handle)
                .collect();
            for h in offered {
                if a.engine
                    .info(h)
                    .is_ok_and(|i| i.state == CallState::Offering)
                {
                    let _ = a.engine.answer(now, h);
                }
            }
        }
    }

    /// Runs until `until` (simulated), delivering datagrams and firing timers in order.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now.instant + d;
        loop {
            self.collect();
            let next_packet = self.queue.keys().next().map(|(t, _)| *t);
            let next_timer = self
                .agents
                .iter()
                .filter_map(|a| a.engine.poll_timeout())
                .min();
            let next = match (next_packet, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            if next > until {
                break;
            }
            self.now = self.now.advance_to(next);
            let due: Vec<_> = self
                .queue
                .range(..=(next, u64::MAX))
                .map(|(k, _)| *k)
                .collect();
            for k in due {
                let (to, from, bytes) = self.queue.remove(&k).unwrap();
                let now = self.now;
                let a = &mut self.agents[to];
                a.engine
                    .provider_mut()
                    .handle_message(now, Peer::udp(from), &bytes);
                a.engine.pump(now);
            }
            for a in &mut self.agents {
                if a.engine.poll_timeout().is_some_and(|t| t <= next) {
                    a.engine.handle_timeout(self.now);
                }
            }
        }
        self.now = self.now.advance_to(until);
        self.collect();
    }

    /// The handle agent `i` got for its newest inbound call.
    pub fn offered(&self, i: usize) -> Option<CallHandle> {
        self.agents[i]
            .events
            .iter()
            .rev()
            .find_map(|e| match e.kind {
                EventKind::NewCall {
                    direction: Direction::Inbound,
                    ..
                } => Some(e.handle),
                _ => None,
            })
    }

    pub fn dial(&mut self, from: usize, to: usize) -> CallHandle {
        let uri = self.uri(to);
        let now = self.now;
        let a = &mut self.agents[from];
        let h = a.engine.dial(now, a.app, a.line, &uri).unwrap();
        self.collect();
        h
    }

    pub fn state(&self, i: usize, h: CallHandle) -> CallState {
        self.agents[i].engine.info(h).unwrap().state
    }

    pub fn termination(&self, i: usize, h: CallHandle) -> Termination {
        self.agents[i]
            .engine
            .info(h)
            .unwrap()
            .termination
            .expect("ended")
    }

    /// Releases every handle of every agent, runs out every timer, and checks nothing is
    /// left anywhere.
    pub fn assert_quiescent_after_release(&mut self) {
        let now = self.now;
        for a in &mut self.agents {
            for (h, _) in a.engine.handles_of(a.app).unwrap() {
                a.engine.release(now, h, Release::DropFirst).unwrap();
            }
        }
        self.run_for(Duration::from_secs(600));
        for (i, a) in self.agents.iter().enumerate() {
            let l = a.engine.ledger();
            assert!(l.is_quiescent(), "agent {i} not quiescent: {l:?}");
            assert_eq!(
                l.forced_teardowns, 0,
                "agent {i}: a call needed the engine's forced teardown"
            );
        }
    }
}

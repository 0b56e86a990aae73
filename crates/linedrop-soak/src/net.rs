//! The simulated network: a clock that jumps to the next event, and a seeded link that
//! drops, duplicates, delays and reorders datagrams, and can black-hole single calls (a
//! peer that vanished) by their SIP Call-ID. Over TCP it keeps connections instead: every
//! message goes in order and is never lost or duplicated, a connection is opened for a
//! transmit that names none (as the driver does), closed once neither end uses it, and a
//! call's connections can be reset (both ends see it closed at once, as after an RST).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use linedrop_core::{Engine, Now};
use linedrop_sip::ua::{ConnId, Peer, SipProvider, Transport};

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
    /// Carry SIP over simulated TCP connections instead of datagrams.
    pub tcp: bool,
}

/// A small xorshift generator: seeded, so a run replays exactly.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A number in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A duration in [lo, hi).
    pub fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        lo + (hi - lo).mul_f64(self.unit())
    }
}

/// One end of a simulated TCP connection: (agent, its connection id).
type End = (usize, ConnId);

/// The messages in flight between the engines, and what the link did to them.
pub struct Net {
    /// The link's behaviour.
    pub link: Link,
    rng: Rng,
    /// In flight: (deliver at, sequence) → (to agent, as seen by it, bytes).
    queue: BTreeMap<(Instant, u64), (usize, Peer, Vec<u8>)>,
    seq: u64,
    /// Calls whose messages all vanish, by SIP Call-ID.
    pub blackholed: HashSet<String>,
    /// TCP: each end of each open connection, to the other end.
    conns: HashMap<End, End>,
    /// TCP: the connections that carried each call, by SIP Call-ID.
    by_call: HashMap<String, Vec<End>>,
    next_conn: u64,
    /// Messages sent.
    pub sent: u64,
    /// Messages lost (by the link, a black hole, or a connection gone).
    pub lost: u64,
    /// Of those, lost by the link's loss probability alone.
    pub lost_by_link: u64,
    /// TCP connections opened, and reset by the test.
    pub tcp_opened: u64,
    /// TCP connections reset by the test.
    pub tcp_reset: u64,
}

impl Net {
    /// An empty network.
    pub fn new(link: Link, seed: u64) -> Self {
        Net {
            link,
            rng: Rng::new(seed),
            queue: BTreeMap::new(),
            seq: 0,
            blackholed: HashSet::new(),
            conns: HashMap::new(),
            by_call: HashMap::new(),
            next_conn: 1,
            sent: 0,
            lost: 0,
            lost_by_link: 0,
            tcp_opened: 0,
            tcp_reset: 0,
        }
    }

    /// Takes what `engines[from]` wants to send into the network.
    pub fn collect(
        &mut self,
        now: Now,
        from: usize,
        engines: &mut [Engine<SipProvider>],
        addrs: &[SocketAddr],
    ) {
        while let Some(t) = engines[from].provider_mut().poll_transmit() {
            self.sent += 1;
            let Some(to) = addrs.iter().position(|a| *a == t.to.addr) else {
                self.lost += 1;
                continue;
            };
            let cid = call_id(&t.bytes);
            let gone =
                !self.blackholed.is_empty() && cid.is_some_and(|c| self.blackholed.contains(c));
            let (seen_as, copies, jitter) = if t.to.transport == Transport::Tcp {
                let Some(far) = self.route(now, from, to, t.to, engines, addrs) else {
                    continue;
                };
                if let Some(c) = cid {
                    let other = self.conns.get(&far).copied();
                    let list = self.by_call.entry(c.to_owned()).or_default();
                    if !list.contains(&far) && other.is_none_or(|o| !list.contains(&o)) {
                        list.push(far);
                    }
                }
                (Peer::tcp(addrs[from], Some(far.1)), 1, Duration::ZERO)
            } else {
                if !gone && self.rng.unit() < self.link.loss {
                    self.lost += 1;
                    self.lost_by_link += 1;
                    continue;
                }
                let copies = if self.rng.unit() < self.link.duplicate {
                    2
                } else {
                    1
                };
                (Peer::udp(addrs[from]), copies, self.link.jitter)
            };
            if gone {
                self.lost += 1;
                continue;
            }
            for _ in 0..copies {
                let at = now.instant + self.link.delay + jitter.mul_f64(self.rng.unit());
                self.seq += 1;
                self.queue
                    .insert((at, self.seq), (to, seen_as, t.bytes.to_vec()));
            }
        }
    }

    /// The far end of the connection a TCP transmit from `from` goes on: the one it names,
    /// or a new one (both ends told, as a driver's connect and accept would). `None`, with
    /// the send failure reported, if the named one is gone.
    fn route(
        &mut self,
        now: Now,
        from: usize,
        to: usize,
        dest: Peer,
        engines: &mut [Engine<SipProvider>],
        addrs: &[SocketAddr],
    ) -> Option<End> {
        if let Some(c) = dest.conn {
            let far = self.conns.get(&(from, c)).copied();
            if far.is_none() {
                self.lost += 1;
                engines[from].provider_mut().handle_send_failure(now, dest);
                engines[from].pump(now);
            }
            return far;
        }
        let (near, far) = (ConnId(self.next_conn), ConnId(self.next_conn + 1));
        self.next_conn += 2;
        self.tcp_opened += 1;
        self.conns.insert((from, near), (to, far));
        self.conns.insert((to, far), (from, near));
        engines[from].provider_mut().handle_connection_opened(
            now,
            near,
            Peer::tcp(addrs[to], Some(near)),
        );
        engines[to].provider_mut().handle_connection_opened(
            now,
            far,
            Peer::tcp(addrs[from], Some(far)),
        );
        Some((to, far))
    }

    /// Resets every connection that carried the call `call_id`: both ends see it closed.
    pub fn reset_call(&mut self, now: Now, call_id: &str, engines: &mut [Engine<SipProvider>]) {
        for end in self.by_call.remove(call_id).unwrap_or_default() {
            if let Some(other) = self.conns.remove(&end) {
                self.conns.remove(&other);
                self.tcp_reset += 1;
                for (agent, conn) in [end, other] {
                    engines[agent]
                        .provider_mut()
                        .handle_connection_closed(now, conn);
                    engines[agent].pump(now);
                }
            }
        }
    }

    /// Closes the connections neither end uses any more (the driver's idle close), and
    /// forgets the calls that are over.
    pub fn close_idle(&mut self, now: Now, engines: &mut [Engine<SipProvider>]) {
        if self.conns.is_empty() {
            return;
        }
        let busy: HashSet<End> = self
            .queue
            .values()
            .filter_map(|(to, p, _)| p.conn.map(|c| (*to, c)))
            .collect();
        let idle: Vec<(End, End)> = self
            .conns
            .iter()
            .filter(|(a, b)| a.0 < b.0 || (a.0 == b.0 && a.1 < b.1))
            .filter(|(a, b)| {
                !busy.contains(a)
                    && !busy.contains(b)
                    && !engines[a.0].provider().connection_in_use(a.1)
                    && !engines[b.0].provider().connection_in_use(b.1)
            })
            .map(|(a, b)| (*a, *b))
            .collect();
        for (a, b) in idle {
            self.conns.remove(&a);
            self.conns.remove(&b);
            for (agent, conn) in [a, b] {
                engines[agent]
                    .provider_mut()
                    .handle_connection_closed(now, conn);
                engines[agent].pump(now);
            }
        }
        let conns = &self.conns;
        self.by_call
            .retain(|_, ends| ends.iter().any(|e| conns.contains_key(e)));
    }

    /// When the next message arrives.
    pub fn next_arrival(&self) -> Option<Instant> {
        self.queue.keys().next().map(|(t, _)| *t)
    }

    /// Delivers every message due by `now`.
    pub fn deliver(&mut self, now: Now, engines: &mut [Engine<SipProvider>]) {
        while let Some((&key, _)) = self.queue.first_key_value() {
            if key.0 > now.instant {
                break;
            }
            let Some((to, from, bytes)) = self.queue.remove(&key) else {
                break;
            };
            // A message on a connection reset meanwhile never arrives.
            if let Some(c) = from.conn {
                if !self.conns.contains_key(&(to, c)) {
                    self.lost += 1;
                    continue;
                }
            }
            let e = &mut engines[to];
            e.provider_mut().handle_message(now, from, &bytes);
            e.pump(now);
        }
    }

    /// Open TCP connections.
    pub fn open_connections(&self) -> usize {
        self.conns.len() / 2
    }
}

/// The Call-ID of a SIP message, read without parsing the rest.
fn call_id(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    let start = text
        .find("\r\nCall-ID:")
        .map(|i| i + "\r\nCall-ID:".len())
        .or_else(|| text.find("\r\ni:").map(|i| i + "\r\ni:".len()))?;
    let rest = &text[start..];
    let end = rest.find("\r\n")?;
    Some(rest[..end].trim())
}

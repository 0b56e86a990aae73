//! An in-memory provider: lines of one engine calling each other, plus scripted far ends.
//!
//! A call to the address of one of the engine's own lines becomes an inbound call on that
//! line, and the two legs follow each other (ring, answer, hang up). A call to any other
//! address that contains `@` goes to a scripted far end, which the test drives with
//! [`LoopbackProvider::remote_progress`], [`LoopbackProvider::remote_answer`],
//! [`LoopbackProvider::remote_end`] and [`LoopbackProvider::network_failure`]; inbound calls
//! from a scripted far end start with [`LoopbackProvider::remote_call`].
//!
//! Used by the core's tests and examples; the real provider is SIP.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::cause::{Cause, Origin, WireEnd};
use crate::error::ProviderError;
use crate::ids::{CallId, CallIds, LineId};
use crate::provider::{Placement, Provider, ProviderEvent, ProviderFacts, ProviderLedger};
use crate::state::CallState;
use crate::termination::Termination;
use crate::time::Now;

/// Calls to an address ending in this host are refused as if the provider had no route.
pub const UNAVAILABLE_HOST: &str = "@unavailable.invalid";

/// The in-memory provider. See the module docs.
#[derive(Debug)]
pub struct LoopbackProvider {
    ids: CallIds,
    lines: HashMap<String, LineId>,
    legs: HashMap<CallId, Leg>,
    events: VecDeque<ProviderEvent>,
    /// Teardowns in progress: `TornDown` is reported when each one's time comes.
    teardowns: BTreeSet<(Instant, CallId)>,
    teardown_delay: Duration,
    /// How many times `close` was called for each call (tests assert exactly once).
    closes: HashMap<CallId, u32>,
}

#[derive(Debug)]
struct Leg {
    peer: Peer,
    /// Whether this leg has been connected (so the peer's end is a BYE, not a CANCEL).
    connected: bool,
    /// The wire is finished with this leg: later remote actions do nothing.
    done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peer {
    /// The other leg of a call between two of the engine's lines.
    Leg(CallId),
    /// A far end scripted by the test.
    Scripted,
}

impl LoopbackProvider {
    /// A provider taking inbound ids from `ids` (the engine's [`CallIds`]), whose teardowns
    /// take `teardown_delay` (zero: done at the next poll).
    pub fn new(ids: CallIds, teardown_delay: Duration) -> Self {
        Self {
            ids,
            lines: HashMap::new(),
            legs: HashMap::new(),
            events: VecDeque::new(),
            teardowns: BTreeSet::new(),
            teardown_delay,
            closes: HashMap::new(),
        }
    }

    /// How many times the engine closed `call`.
    pub fn close_count(&self, call: CallId) -> u32 {
        self.closes.get(&call).copied().unwrap_or(0)
    }

    /// Every call the engine closed, with its count.
    pub fn closes(&self) -> &HashMap<CallId, u32> {
        &self.closes
    }

    /// A scripted far end calls `to` (one of the engine's line addresses). Returns the new
    /// call's id, or `None` if no line has that address.
    pub fn remote_call(&mut self, from: &str, to: &str) -> Option<CallId> {
        let line = *self.lines.get(to)?;
        let call = self.ids.next_id();
        self.legs.insert(
            call,
            Leg {
                peer: Peer::Scripted,
                connected: false,
                done: false,
            },
        );
        self.events.push_back(ProviderEvent::Incoming {
            call,
            line,
            remote: from.into(),
            local: to.into(),
        });
        Some(call)
    }

    /// The scripted far end reports progress (`Proceeding` or `Ringback`) on our outbound
    /// call.
    pub fn remote_progress(&mut self, call: CallId, state: CallState) {
        if self.scripted_live(call) {
            self.events
                .push_back(ProviderEvent::Progress { call, state });
        }
    }

    /// The scripted far end answers our outbound call, or acknowledges our answer.
    pub fn remote_answer(&mut self, call: CallId) {
        if self.scripted_live(call) {
            if let Some(leg) = self.legs.get_mut(&call) {
                leg.connected = true;
            }
            self.events.push_back(ProviderEvent::Connected { call });
        }
    }

    /// The scripted far end ends the call: BYE if connected, else a final response
    /// (`status`) to our INVITE or a CANCEL of theirs.
    pub fn remote_end(&mut self, call: CallId, status: Option<u16>) {
        if !self.scripted_live(call) {
            return;
        }
        let connected = self.legs[&call].connected;
        let (cause, wire, sip_status) = match (connected, status) {
            (true, _) => (Cause::Normal, WireEnd::Bye, None),
            (false, Some(s)) => (Cause::from_sip_status(s), WireEnd::FinalResponse, Some(s)),
            (false, None) => (Cause::Cancelled, WireEnd::Cancel, Some(487)),
        };
        self.finish_remote(call, Origin::Remote, cause, wire, sip_status);
    }

    /// The network under a scripted call fails.
    pub fn network_failure(&mut self, call: CallId) {
        if self.scripted_live(call) {
            self.finish_remote(
                call,
                Origin::Network,
                Cause::TransportFailure,
                WireEnd::None,
                None,
            );
        }
    }

    /// Queues a provider event as if the wire had produced it, for races the scripted far
    /// end cannot stage by itself (a BYE crossing ours, a duplicate report).
    pub fn inject(&mut self, event: ProviderEvent) {
        self.events.push_back(event);
    }

    fn scripted_live(&self, call: CallId) -> bool {
        self.legs
            .get(&call)
            .is_some_and(|l| l.peer == Peer::Scripted && !l.done)
    }

    /// The far side ended `call`: report it, and the teardown right away (their end needs
    /// nothing more from us on the wire).
    fn finish_remote(
        &mut self,
        call: CallId,
        origin: Origin,
        cause: Cause,
        wire: WireEnd,
        sip_status: Option<u16>,
    ) {
        if let Some(leg) = self.legs.get_mut(&call) {
            leg.done = true;
        }
        self.events.push_back(ProviderEvent::Ended {
            call,
            origin,
            cause,
            wire,
            sip_status,
            q850: Some(cause.q850()),
            text: None,
        });
        self.events.push_back(ProviderEvent::TornDown { call });
    }
}

impl Provider for LoopbackProvider {
    fn add_line(&mut self, line: LineId, address: &str) -> Result<(), ProviderError> {
        if self.lines.contains_key(address) {
            return Err(ProviderError::BadAddress(format!(
                "{address} is already a line"
            )));
        }
        self.lines.insert(address.to_owned(), line);
        Ok(())
    }

    fn place(&mut self, _now: Now, call: CallId, p: &Placement) -> Result<(), ProviderError> {
        if !p.to.contains('@') {
            return Err(ProviderError::BadAddress(format!("{} has no host", p.to)));
        }
        if p.to.ends_with(UNAVAILABLE_HOST) {
            return Err(ProviderError::Unavailable(format!("no route to {}", p.to)));
        }
        let peer = match self.lines.get(&p.to) {
            Some(&line) => {
                let other = self.ids.next_id();
                self.legs.insert(
                    other,
                    Leg {
                        peer: Peer::Leg(call),
                        connected: false,
                        done: false,
                    },
                );
                self.events.push_back(ProviderEvent::Incoming {
                    call: other,
                    line,
                    remote: p.from.as_str().into(),
                    local: p.to.as_str().into(),
                });
                Peer::Leg(other)
            }
            None => Peer::Scripted,
        };
        self.legs.insert(
            call,
            Leg {
                peer,
                connected: false,
                done: false,
            },
        );
        Ok(())
    }

    fn ring(&mut self, _now: Now, call: CallId) {
        if let Some(Peer::Leg(other)) = self.legs.get(&call).map(|l| l.peer) {
            if self.legs.get(&other).is_some_and(|l| !l.done) {
                self.events.push_back(ProviderEvent::Progress {
                    call: other,
                    state: CallState::Ringback,
                });
            }
        }
    }

    fn answer(&mut self, _now: Now, call: CallId) {
        let Some(leg) = self.legs.get(&call) else {
            return;
        };
        match leg.peer {
            Peer::Leg(other) if self.legs.get(&other).is_some_and(|l| !l.done) => {
                for id in [call, other] {
                    if let Some(l) = self.legs.get_mut(&id) {
                        l.connected = true;
                    }
                    self.events.push_back(ProviderEvent::Connected { call: id });
                }
            }
            // A scripted caller confirms with `remote_answer` (its ACK).
            _ => {}
        }
    }

    fn end(&mut self, now: Now, call: CallId, how: &Termination) {
        let Some(leg) = self.legs.get_mut(&call) else {
            return;
        };
        leg.done = true;
        let peer = leg.peer;
        if let Peer::Leg(other) = peer {
            if self.legs.get(&other).is_some_and(|l| !l.done) {
                let (cause, wire, status) = match how.wire {
                    WireEnd::FinalResponse => {
                        let s = how.sip_status.unwrap_or(how.cause.reject_status());
                        (Cause::from_sip_status(s), WireEnd::FinalResponse, Some(s))
                    }
                    WireEnd::Cancel => (Cause::Cancelled, WireEnd::Cancel, Some(487)),
                    WireEnd::Bye | WireEnd::None => (Cause::Normal, WireEnd::Bye, None),
                };
                if let Some(l) = self.legs.get_mut(&other) {
                    l.done = true;
                }
                self.events.push_back(ProviderEvent::Ended {
                    call: other,
                    origin: Origin::Remote,
                    cause,
                    wire,
                    sip_status: status,
                    q850: how.q850,
                    text: how.text.clone(),
                });
                self.events
                    .push_back(ProviderEvent::TornDown { call: other });
            }
        }
        if self.teardown_delay.is_zero() {
            self.events.push_back(ProviderEvent::TornDown { call });
        } else {
            self.teardowns
                .insert((now.instant + self.teardown_delay, call));
        }
    }

    fn close(&mut self, _now: Now, call: CallId) {
        *self.closes.entry(call).or_default() += 1;
        self.legs.remove(&call);
        self.teardowns.retain(|(_, c)| *c != call);
    }

    fn poll_event(&mut self) -> Option<ProviderEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.teardowns.first().map(|(t, _)| *t)
    }

    fn handle_timeout(&mut self, now: Now) {
        while let Some(&(at, call)) = self.teardowns.first() {
            if at > now.instant {
                break;
            }
            self.teardowns.remove(&(at, call));
            self.events.push_back(ProviderEvent::TornDown { call });
        }
    }

    fn teardown_bound(&self) -> Duration {
        self.teardown_delay
    }

    fn facts(&self, call: CallId) -> ProviderFacts {
        ProviderFacts {
            call_ref: Some(format!("loopback-{call}").into()),
            ..ProviderFacts::default()
        }
    }

    fn ledger(&self) -> ProviderLedger {
        ProviderLedger {
            dialogs: self.legs.len() as u64,
            timers: self.teardowns.len() as u64,
            ..ProviderLedger::default()
        }
    }
}

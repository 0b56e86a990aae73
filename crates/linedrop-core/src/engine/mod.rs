//! The engine: apps, lines, calls and handles, driven by operations, provider events and
//! time.
//!
//! Drain contract: after every `&mut self` call, drain [`Engine::poll_event`] and
//! [`Engine::poll_record`], then sleep until [`Engine::poll_timeout`] and call
//! [`Engine::handle_timeout`]. After feeding wire input to the provider through
//! [`Engine::provider_mut`], call [`Engine::pump`].

mod call;
mod entered;
mod ops;
mod release;
mod transitions;
mod wire;

use std::collections::{BTreeSet, VecDeque};
use std::time::Instant;

use crate::error::Error;
use crate::event::{AppEvent, RecordUpdate};
use crate::id_hash::IdMap;
use crate::ids::{AppId, CallHandle, CallId, CallIds, LineId};
use crate::info::{CallInfo, Privilege};
use crate::ledger::Ledger;
use crate::policy::LineConfig;
use crate::provider::Provider;
use crate::slab::GenSlab;
use crate::state::CallState;
use crate::time::Now;

use call::Call;
pub use release::Release;

/// How an engine is set up.
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    /// The call id space, shared with the provider.
    pub call_ids: CallIds,
}

/// The session engine. Pure: no I/O, no clock; see the module docs for the drain contract.
#[derive(Debug)]
pub struct Engine<P> {
    /// The wire.
    provider: P,
    /// Where call ids come from (shared with the provider for inbound calls).
    ids: CallIds,
    apps: GenSlab<App>,
    lines: GenSlab<Line>,
    /// Boxed: a call is a few hundred bytes, and a table of them inline would also pay that
    /// for every empty slot (a third or more of them after each growth).
    calls: IdMap<CallId, Box<Call>>,
    handles: GenSlab<HandleEntry>,
    /// Each live call's current deadline, ordered so the next one is first.
    timers: BTreeSet<(Instant, CallId)>,
    events: VecDeque<AppEvent>,
    records: VecDeque<RecordUpdate>,
    late_causes: u64,
    forced_teardowns: u64,
    ignored_provider_events: u64,
    refused_after_drain: u64,
    /// Set by `shutdown`: no new calls are taken.
    shutting_down: bool,
    /// Set by `finish_drain` once drained: a call that arrives is refused without becoming
    /// one, so nothing can undo the drain before the driver stops.
    closed: bool,
}

#[derive(Debug)]
struct App {
    name: String,
    /// Lines this app opened, with the privilege it holds on their calls.
    lines: Vec<(LineId, Privilege)>,
    handles: BTreeSet<CallHandle>,
    /// The last sequence number given to this app's events.
    seq: u64,
}

#[derive(Debug)]
struct Line {
    config: LineConfig,
    /// Apps that opened the line, in order: the first owner is offered inbound calls.
    openers: Vec<(AppId, Privilege)>,
}

#[derive(Debug, Clone, Copy)]
struct HandleEntry {
    app: AppId,
    call: CallId,
}

impl<P: Provider> Engine<P> {
    /// An engine over `provider`. The provider must take inbound call ids from the same
    /// [`CallIds`] as `config.call_ids`.
    pub fn new(config: EngineConfig, provider: P) -> Self {
        Self {
            provider,
            ids: config.call_ids,
            apps: GenSlab::default(),
            lines: GenSlab::default(),
            calls: IdMap::default(),
            handles: GenSlab::default(),
            timers: BTreeSet::new(),
            events: VecDeque::new(),
            records: VecDeque::new(),
            late_causes: 0,
            forced_teardowns: 0,
            ignored_provider_events: 0,
            refused_after_drain: 0,
            shutting_down: false,
            closed: false,
        }
    }

    /// The provider.
    pub fn provider(&self) -> &P {
        &self.provider
    }

    /// The provider, for a driver feeding it wire input. Call [`Engine::pump`] afterwards.
    pub fn provider_mut(&mut self) -> &mut P {
        &mut self.provider
    }

    /// Opens an app; it holds no lines until [`Engine::open_line`].
    pub fn open_app(&mut self, name: &str) -> AppId {
        let (index, generation) = self.apps.insert(App {
            name: name.to_owned(),
            lines: Vec::new(),
            handles: BTreeSet::new(),
            seq: 0,
        });
        AppId { index, generation }
    }

    /// The app's name.
    pub fn app_name(&self, app: AppId) -> Result<&str, Error> {
        Ok(&self.app(app)?.name)
    }

    /// Adds a line and tells the provider about it.
    pub fn add_line(&mut self, config: LineConfig) -> Result<LineId, Error> {
        let (index, generation) = self.lines.insert(Line {
            config,
            openers: Vec::new(),
        });
        let id = LineId { index, generation };
        let address = self.line(id)?.config.address.clone();
        if let Err(e) = self.provider.add_line(id, &address) {
            self.lines.remove(index, generation);
            return Err(e.into());
        }
        Ok(id)
    }

    /// The line's configuration.
    pub fn line_config(&self, line: LineId) -> Result<&LineConfig, Error> {
        Ok(&self.line(line)?.config)
    }

    /// Opens `line` for `app`: as owner it may dial from it and is offered its inbound calls
    /// (the first owner to open it is); as monitor it sees its calls.
    pub fn open_line(
        &mut self,
        app: AppId,
        line: LineId,
        privilege: Privilege,
    ) -> Result<(), Error> {
        self.app(app)?;
        self.line(line)?;
        let a = self.app_mut(app)?;
        if a.lines.iter().any(|(l, _)| *l == line) {
            return Err(Error::InvalidArgument(
                "line already open for this app".into(),
            ));
        }
        a.lines.push((line, privilege));
        self.line_mut(line)?.openers.push((app, privilege));
        Ok(())
    }

    /// The app's handle to `call`, if it holds one.
    pub fn handle_for(&self, app: AppId, call: CallId) -> Option<CallHandle> {
        let c = self.calls.get(&call)?;
        c.holders.iter().find(|h| h.app == app).map(|h| h.handle)
    }

    /// Every handle the app holds, with its call.
    pub fn handles_of(&self, app: AppId) -> Result<Vec<(CallHandle, CallId)>, Error> {
        let a = self.app(app)?;
        Ok(a.handles
            .iter()
            .filter_map(|h| self.entry(*h).ok().map(|e| (*h, e.call)))
            .collect())
    }

    /// The call a handle names.
    pub fn call_id(&self, handle: CallHandle) -> Result<CallId, Error> {
        Ok(self.entry(handle)?.call)
    }

    /// Everything known about the call, in any state, until this handle is released.
    pub fn info(&self, handle: CallHandle) -> Result<CallInfo, Error> {
        let entry = self.entry(handle)?;
        Ok(self.call_info(self.call(entry.call)?))
    }

    /// The latest instant the call can reach `Idle`, computed from its line's limits and
    /// the provider's teardown bound.
    pub fn idle_deadline(&self, handle: CallHandle) -> Result<Instant, Error> {
        let entry = self.entry(handle)?;
        Ok(self.call(entry.call)?.idle_deadline())
    }

    /// Handles to calls that have been `Idle` since before `now - idle_for`: the app has
    /// probably forgotten to release them.
    pub fn leak_suspects(&self, now: Now, idle_for: std::time::Duration) -> Vec<(AppId, CallId)> {
        let mut out = Vec::new();
        for (_, _, entry) in self.handles.iter() {
            let Some(call) = self.calls.get(&entry.call) else {
                continue;
            };
            let Some(idle) = call.entered_at(CallState::Idle) else {
                continue;
            };
            if now.instant.saturating_duration_since(idle.instant) >= idle_for {
                out.push((entry.app, entry.call));
            }
        }
        out
    }

    /// The next event for an app, if any.
    pub fn poll_event(&mut self) -> Option<AppEvent> {
        self.events.pop_front()
    }

    /// The next record change for the store, if any.
    pub fn poll_record(&mut self) -> Option<RecordUpdate> {
        self.records.pop_front()
    }

    /// When [`Engine::handle_timeout`] is next due (the engine's or the provider's).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mine = self.timers.first().map(|(t, _)| *t);
        match (mine, self.provider.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs every timer due at `now`: the provider's, then the engine's limits.
    pub fn handle_timeout(&mut self, now: Now) {
        self.provider.handle_timeout(now);
        self.pump(now);
        while let Some(&(at, id)) = self.timers.first() {
            if at > now.instant {
                break;
            }
            self.timers.remove(&(at, id));
            if let Some(c) = self.calls.get_mut(&id) {
                c.deadline = None;
            }
            self.expire(now, id);
            self.pump(now);
        }
    }

    /// The live counts.
    pub fn ledger(&self) -> Ledger {
        let mut calls_by_state = [0u64; 8];
        for c in self.calls.values() {
            calls_by_state[c.state.index()] += 1;
        }
        Ledger {
            calls_by_state,
            handles: self.handles.len() as u64,
            timers: self.timers.len() as u64,
            events_queued: self.events.len() as u64,
            records_queued: self.records.len() as u64,
            apps: self.apps.len() as u64,
            lines: self.lines.len() as u64,
            late_causes: self.late_causes,
            forced_teardowns: self.forced_teardowns,
            ignored_provider_events: self.ignored_provider_events,
            refused_after_drain: self.refused_after_drain,
            provider: self.provider.ledger(),
        }
    }

    /// True once `shutdown` was called and no call is live or tearing down.
    pub fn is_drained(&self) -> bool {
        self.shutting_down && self.calls.values().all(|c| c.state == CallState::Idle)
    }

    /// [`Engine::is_drained`], and if so, closes the engine for good: from then on a call
    /// that arrives is refused on the wire (503, as during the drain) without becoming a
    /// call, so it has no record and cannot make the engine undrained. A driver stopping
    /// after a drain asks this, not `is_drained`: between that answer and the stop, a call
    /// taken as during the drain (created, then ended) would still be waiting for its
    /// final response's ACK when the driver stopped, its record left open.
    pub fn finish_drain(&mut self) -> bool {
        if self.is_drained() {
            self.closed = true;
        }
        self.closed
    }

    fn app(&self, app: AppId) -> Result<&App, Error> {
        self.apps
            .get(app.index, app.generation)
            .ok_or(Error::InvalidApp)
    }

    fn app_mut(&mut self, app: AppId) -> Result<&mut App, Error> {
        self.apps
            .get_mut(app.index, app.generation)
            .ok_or(Error::InvalidApp)
    }

    fn line(&self, line: LineId) -> Result<&Line, Error> {
        self.lines
            .get(line.index, line.generation)
            .ok_or(Error::InvalidLine)
    }

    fn line_mut(&mut self, line: LineId) -> Result<&mut Line, Error> {
        self.lines
            .get_mut(line.index, line.generation)
            .ok_or(Error::InvalidLine)
    }

    fn entry(&self, handle: CallHandle) -> Result<HandleEntry, Error> {
        self.handles
            .get(handle.index, handle.generation)
            .copied()
            .ok_or(Error::InvalidHandle)
    }

    fn call(&self, id: CallId) -> Result<&Call, Error> {
        self.calls
            .get(&id)
            .map(|c| &**c)
            .ok_or(Error::InvalidHandle)
    }
}

//! The engine: apps, lines, calls and handles, driven by operations, provider events and
//! time.
//!
//! Drain contract: after every `&mut self` call, drain [`Engine::poll_event`] and
//! [`Engine::poll_record`], then sleep until [`Engine::poll_timeout`] and call
//! [`Engine::handle_timeout`]. After feeding wire input to the provider through
//! [`Engine::provider_mut`], call [`Engine::pump`].

mod call;
mod ops;
mod release;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Instant;

use crate::cause::{Cause, Origin, WireEnd};
use crate::error::Error;
use crate::event::{AppEvent, EventKind, RecordUpdate};
use crate::ids::{AppId, CallHandle, CallId, CallIds, LineId};
use crate::info::{CallInfo, Direction, Privilege};
use crate::ledger::Ledger;
use crate::policy::{LineConfig, Unattended};
use crate::provider::{Provider, ProviderEvent};
use crate::slab::GenSlab;
use crate::state::CallState;
use crate::termination::{Hangup, Termination};
use crate::time::Now;

use call::{Call, HolderEntry};
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
    calls: HashMap<CallId, Call>,
    handles: GenSlab<HandleEntry>,
    /// Each live call's current deadline, ordered so the next one is first.
    timers: BTreeSet<(Instant, CallId)>,
    events: VecDeque<AppEvent>,
    records: VecDeque<RecordUpdate>,
    late_causes: u64,
    forced_teardowns: u64,
    ignored_provider_events: u64,
    /// Set by `shutdown`: no new calls are taken.
    shutting_down: bool,
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
            calls: HashMap::new(),
            handles: GenSlab::default(),
            timers: BTreeSet::new(),
            events: VecDeque::new(),
            records: VecDeque::new(),
            late_causes: 0,
            forced_teardowns: 0,
            ignored_provider_events: 0,
            shutting_down: false,
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
            provider: self.provider.ledger(),
        }
    }

    /// True once `shutdown` was called and no call is live or tearing down.
    pub fn is_drained(&self) -> bool {
        self.shutting_down && self.calls.values().all(|c| c.state == CallState::Idle)
    }

    /// Handles everything the provider has reported.
    pub fn pump(&mut self, now: Now) {
        while let Some(ev) = self.provider.poll_event() {
            self.on_provider_event(now, ev);
        }
    }

    fn on_provider_event(&mut self, now: Now, ev: ProviderEvent) {
        match ev {
            ProviderEvent::Incoming {
                call,
                line,
                remote,
                local,
            } => self.on_incoming(now, call, line, remote, local),
            ProviderEvent::Progress { call, state } => {
                let ok = matches!(state, CallState::Proceeding | CallState::Ringback)
                    && self
                        .calls
                        .get(&call)
                        .is_some_and(|c| c.state.can_enter(state));
                if ok {
                    self.enter(now, call, state);
                } else {
                    self.ignored_provider_events += 1;
                }
            }
            ProviderEvent::Connected { call } => {
                if self
                    .calls
                    .get(&call)
                    .is_some_and(|c| c.state.can_enter(CallState::Connected))
                {
                    self.enter(now, call, CallState::Connected);
                } else {
                    self.ignored_provider_events += 1;
                }
            }
            ProviderEvent::Ended {
                call,
                origin,
                cause,
                wire,
                sip_status,
                q850,
                text,
            } => {
                if !self.calls.contains_key(&call) {
                    self.ignored_provider_events += 1;
                    return;
                }
                let t = Termination {
                    origin,
                    cause,
                    wire,
                    sip_status,
                    q850,
                    text,
                    at: now.wall,
                };
                self.terminate(now, call, t);
            }
            ProviderEvent::TornDown { call } => match self.calls.get(&call).map(|c| c.state) {
                Some(CallState::Disconnected) => self.enter(now, call, CallState::Idle),
                Some(CallState::Idle) | None => self.ignored_provider_events += 1,
                Some(_) => {
                    // The provider tore down a call it never reported ended: record a
                    // network failure rather than leave the call live with no wire.
                    self.ignored_provider_events += 1;
                    let t = Termination {
                        origin: Origin::Network,
                        cause: Cause::Failed,
                        wire: WireEnd::None,
                        sip_status: None,
                        q850: None,
                        text: Some("provider tore down a live call".into()),
                        at: now.wall,
                    };
                    self.terminate(now, call, t);
                    self.enter(now, call, CallState::Idle);
                }
            },
        }
    }

    fn on_incoming(&mut self, now: Now, id: CallId, line: LineId, remote: String, local: String) {
        let Ok(l) = self.line(line) else {
            // The provider offered a call on a line we do not have: it must still end.
            self.ignored_provider_events += 1;
            let t = Termination {
                origin: Origin::Policy,
                cause: Cause::Unattended,
                wire: WireEnd::FinalResponse,
                sip_status: Some(Cause::Unattended.reject_status()),
                q850: Some(Cause::Unattended.q850()),
                text: Some("no such line".into()),
                at: now.wall,
            };
            self.provider.end(now, id, &t);
            self.provider.close(now, id);
            return;
        };
        let policy = l.config.policy;
        let openers = l.openers.clone();
        self.create_call(now, id, Direction::Inbound, line, local, remote, policy);
        let mut owner_given = false;
        for (app, privilege) in openers {
            let p = if privilege == Privilege::Owner && !owner_given {
                owner_given = true;
                Privilege::Owner
            } else {
                Privilege::Monitor
            };
            self.add_holder(id, app, p);
        }
        if self.shutting_down {
            self.end_call(now, id, Origin::Shutdown, Hangup::cause(Cause::Shutdown));
        } else if !owner_given {
            match policy.unattended {
                Unattended::Offer => {
                    self.end_call(now, id, Origin::Policy, Hangup::cause(Cause::Unattended))
                }
                Unattended::Reject { status } => {
                    let h = Hangup {
                        sip_status: Some(status),
                        ..Hangup::default()
                    };
                    self.end_call(now, id, Origin::Policy, h)
                }
                Unattended::Answer { hold } => {
                    if let Some(c) = self.calls.get_mut(&id) {
                        c.answered = true;
                        c.auto_hold = hold;
                    }
                    self.provider.answer(now, id);
                }
            }
        }
    }

    /// Runs the limit of the call's current state.
    fn expire(&mut self, now: Now, id: CallId) {
        let Some(state) = self.calls.get(&id).map(|c| c.state) else {
            return;
        };
        let cause = match state {
            CallState::Dialing | CallState::Proceeding | CallState::Ringback => Cause::NoAnswer,
            CallState::Offering | CallState::Accepted => Cause::OfferTimeout,
            CallState::Connected if self.calls[&id].hold_binds() => Cause::Normal,
            CallState::Connected => Cause::MaxDuration,
            CallState::Disconnected => {
                self.forced_teardowns += 1;
                self.enter(now, id, CallState::Idle);
                return;
            }
            CallState::Idle => return,
        };
        self.end_call(now, id, Origin::Policy, Hangup::cause(cause));
    }

    // ---- internal helpers shared by ops and release ----

    #[allow(clippy::too_many_arguments)]
    fn create_call(
        &mut self,
        now: Now,
        id: CallId,
        direction: Direction,
        line: LineId,
        local: String,
        remote: String,
        policy: crate::policy::LinePolicy,
    ) {
        let first = match direction {
            Direction::Outbound => CallState::Dialing,
            Direction::Inbound => CallState::Offering,
        };
        let mut entered = [None; 8];
        entered[first.index()] = Some(now);
        let call = Call {
            id,
            direction,
            line,
            local,
            remote,
            state: first,
            entered,
            termination: None,
            late_causes: 0,
            holders: Vec::new(),
            policy,
            teardown_bound: self.provider.teardown_bound(),
            deadline: None,
            answered: false,
            auto_hold: None,
        };
        self.calls.insert(id, call);
        self.rearm(id);
        let info = self.call_info(&self.calls[&id]);
        self.records
            .push_back(crate::event::RecordUpdate::Created(info));
    }

    fn add_holder(&mut self, id: CallId, app: AppId, privilege: Privilege) -> CallHandle {
        let (index, generation) = self.handles.insert(HandleEntry { app, call: id });
        let handle = CallHandle { index, generation };
        if let Ok(a) = self.app_mut(app) {
            a.handles.insert(handle);
        }
        // Invariant: callers pass a call they just found or created.
        let call = self
            .calls
            .get_mut(&id)
            .expect("holder added to a live call");
        call.holders.push(HolderEntry {
            handle,
            app,
            privilege,
        });
        let (direction, state) = (call.direction, call.state);
        self.emit(
            app,
            id,
            handle,
            EventKind::NewCall {
                privilege,
                direction,
                state,
            },
        );
        self.holders_changed(id, Some(app));
        handle
    }

    /// Writes the termination if none is written yet and moves the call to `Disconnected`.
    /// Returns false (and counts a late cause) if the call had already ended.
    fn terminate(&mut self, now: Now, id: CallId, t: Termination) -> bool {
        let Some(call) = self.calls.get_mut(&id) else {
            return false;
        };
        if call.termination.is_some() {
            call.late_causes += 1;
            self.late_causes += 1;
            return false;
        }
        call.termination = Some(t.clone());
        self.emit_all(id, EventKind::Terminated(t));
        self.enter(now, id, CallState::Disconnected);
        true
    }

    /// Ends a live call on our side: writes the termination the state implies and tells the
    /// provider. Does nothing to a call that has already ended except count a late cause.
    fn end_call(&mut self, now: Now, id: CallId, origin: Origin, h: Hangup) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let state = call.state;
        let (default_cause, wire) = match state {
            s if s.is_outbound_setup() => (Cause::Cancelled, WireEnd::Cancel),
            // Answered but not yet confirmed: our 2xx is out, so the wire ends with BYE
            // (after the ACK, RFC 3261 §15), not with a final response.
            s if s.is_inbound_setup() && call.answered => (Cause::Normal, WireEnd::Bye),
            s if s.is_inbound_setup() => (Cause::Rejected, WireEnd::FinalResponse),
            CallState::Connected => (Cause::Normal, WireEnd::Bye),
            _ => {
                self.terminate(
                    now,
                    id,
                    Termination {
                        origin,
                        cause: h.cause.unwrap_or(Cause::Normal),
                        wire: WireEnd::None,
                        sip_status: None,
                        q850: None,
                        text: h.text,
                        at: now.wall,
                    },
                );
                return;
            }
        };
        let cause = h
            .cause
            .or(h.sip_status.map(Cause::from_sip_status))
            .unwrap_or(default_cause);
        let sip_status = match wire {
            WireEnd::FinalResponse => Some(h.sip_status.unwrap_or(cause.reject_status())),
            WireEnd::Cancel => Some(487),
            _ => None,
        };
        let t = Termination {
            origin,
            cause,
            wire,
            sip_status,
            q850: Some(h.q850.unwrap_or(cause.q850())),
            text: h.text,
            at: now.wall,
        };
        if self.terminate(now, id, t.clone()) {
            self.provider.end(now, id, &t);
        }
    }

    /// Moves a call to `to` (which must be legal), with its event, timer and record.
    fn enter(&mut self, now: Now, id: CallId, to: CallState) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let from = call.state;
        debug_assert!(from.can_enter(to), "illegal transition {from} -> {to}");
        if !from.can_enter(to) {
            return;
        }
        call.state = to;
        call.entered[to.index()] = Some(now);
        self.emit_all(id, EventKind::State { from, to });
        self.rearm(id);
        if to == CallState::Idle {
            let info = self.call_info(&self.calls[&id]);
            self.records.push_back(RecordUpdate::Ended(info));
            self.free_if_done(now, id);
        }
    }

    /// Re-arms the call's one timer for its current state.
    fn rearm(&mut self, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if let Some(old) = call.deadline.take() {
            self.timers.remove(&(old, id));
        }
        if let Some(at) = call.state_deadline() {
            call.deadline = Some(at);
            self.timers.insert((at, id));
        }
    }

    /// Frees the call once it is `Idle` and nobody holds it: the only place the provider's
    /// state is closed, so it happens exactly once.
    fn free_if_done(&mut self, now: Now, id: CallId) {
        let done = self
            .calls
            .get(&id)
            .is_some_and(|c| c.state == CallState::Idle && c.holders.is_empty());
        if done {
            if let Some(call) = self.calls.remove(&id) {
                if let Some(at) = call.deadline {
                    self.timers.remove(&(at, id));
                }
            }
            self.provider.close(now, id);
        }
    }

    fn emit(&mut self, app: AppId, call: CallId, handle: CallHandle, kind: EventKind) {
        let Some(a) = self.apps.get_mut(app.index, app.generation) else {
            return;
        };
        a.seq += 1;
        self.events.push_back(AppEvent {
            app,
            seq: a.seq,
            call,
            handle,
            kind,
        });
    }

    fn emit_all(&mut self, id: CallId, kind: EventKind) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let holders: Vec<_> = call.holders.iter().map(|h| (h.app, h.handle)).collect();
        for (app, handle) in holders {
            self.emit(app, id, handle, kind.clone());
        }
    }

    /// Tells every holder but `except` the new owner/monitor counts (never after `Idle`).
    fn holders_changed(&mut self, id: CallId, except: Option<AppId>) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        if call.state == CallState::Idle {
            return;
        }
        let owners = call.owners() as u32;
        let monitors = call.holders.len() as u32 - owners;
        let targets: Vec<_> = call
            .holders
            .iter()
            .filter(|h| Some(h.app) != except)
            .map(|h| (h.app, h.handle))
            .collect();
        for (app, handle) in targets {
            self.emit(
                app,
                id,
                handle,
                EventKind::HoldersChanged { owners, monitors },
            );
        }
    }

    fn call_info(&self, c: &Call) -> CallInfo {
        CallInfo {
            id: c.id,
            direction: c.direction,
            line: c.line,
            local: c.local.clone(),
            remote: c.remote.clone(),
            state: c.state,
            created_at: c.created_at().wall,
            entered: c.state_times(),
            setup_duration: c.setup_duration(),
            talk_duration: c.talk_duration(),
            termination: c.termination.clone(),
            late_causes: c.late_causes,
            holders: c.public_holders(),
            facts: self.provider.facts(c.id),
        }
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
        self.calls.get(&id).ok_or(Error::InvalidHandle)
    }
}

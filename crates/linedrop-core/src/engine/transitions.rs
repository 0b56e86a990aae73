//! The few steps every change of a call goes through: creation, holders, the one
//! termination, state entry with its timer and record, events, and the final free.

use std::sync::Arc;

use super::call::{Call, HolderEntry};
use super::entered::Entered;
use super::{Engine, HandleEntry};
use crate::cause::{Cause, Origin, WireEnd};
use crate::event::{AppEvent, EventKind, RecordUpdate};
use crate::ids::{AppId, CallHandle, CallId, LineId};
use crate::info::{CallInfo, Direction, Privilege};
use crate::provider::Provider;
use crate::state::CallState;
use crate::termination::{Hangup, Termination};
use crate::time::Now;

impl<P: Provider> Engine<P> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn create_call(
        &mut self,
        now: Now,
        id: CallId,
        direction: Direction,
        line: LineId,
        local: Arc<str>,
        remote: Arc<str>,
        policy: crate::policy::LinePolicy,
    ) {
        let first = match direction {
            Direction::Outbound => CallState::Dialing,
            Direction::Inbound => CallState::Offering,
        };
        let entered = Entered::new(first, now);
        let call = Box::new(Call {
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
        });
        self.calls.insert(id, call);
        self.rearm(id);
        let info = self.call_info(&self.calls[&id]);
        self.records
            .push_back(crate::event::RecordUpdate::Created(info));
    }

    pub(super) fn add_holder(
        &mut self,
        id: CallId,
        app: AppId,
        privilege: Privilege,
    ) -> CallHandle {
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
    pub(super) fn terminate(&mut self, now: Now, id: CallId, t: Termination) -> bool {
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
    pub(super) fn end_call(&mut self, now: Now, id: CallId, origin: Origin, h: Hangup) {
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
    pub(super) fn enter(&mut self, now: Now, id: CallId, to: CallState) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let from = call.state;
        debug_assert!(from.can_enter(to), "illegal transition {from} -> {to}");
        if !from.can_enter(to) {
            return;
        }
        call.state = to;
        call.entered.set(to, now);
        self.emit_all(id, EventKind::State { from, to });
        self.rearm(id);
        if to == CallState::Idle {
            if self.calls[&id].holders.is_empty() {
                // Nobody can read the call any more: it is freed here, and its record takes
                // its strings rather than copies of them.
                self.free_into_record(now, id);
            } else {
                let info = self.call_info(&self.calls[&id]);
                self.records.push_back(RecordUpdate::Ended(info));
            }
        }
    }

    /// Frees an `Idle` call that nobody holds, moving what its `Ended` record needs out of it
    /// (the record is complete before the provider's state is closed, as `call_info` reads
    /// the provider's facts).
    fn free_into_record(&mut self, now: Now, id: CallId) {
        let Some(call) = self.calls.remove(&id) else {
            return;
        };
        if let Some(at) = call.deadline {
            self.timers.remove(&(at, id));
        }
        let (created_at, entered) = (call.created_at().wall, call.state_times());
        let (setup_duration, talk_duration) = (call.setup_duration(), call.talk_duration());
        let facts = self.provider.facts(id);
        let Call {
            direction,
            line,
            local,
            remote,
            state,
            termination,
            late_causes,
            ..
        } = *call;
        let info = CallInfo {
            id,
            direction,
            line,
            local,
            remote,
            state,
            created_at,
            entered,
            setup_duration,
            talk_duration,
            termination,
            late_causes,
            holders: Vec::new(),
            facts,
        };
        self.records.push_back(RecordUpdate::Ended(info));
        self.provider.close(now, id);
    }

    /// Re-arms the call's one timer for its current state.
    pub(super) fn rearm(&mut self, id: CallId) {
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
    pub(super) fn free_if_done(&mut self, now: Now, id: CallId) {
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

    pub(super) fn emit(&mut self, app: AppId, call: CallId, handle: CallHandle, kind: EventKind) {
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

    pub(super) fn emit_all(&mut self, id: CallId, kind: EventKind) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let holders: Vec<_> = call.holders.iter().map(|h| (h.app, h.handle)).collect();
        for (app, handle) in holders {
            self.emit(app, id, handle, kind.clone());
        }
    }

    /// Tells every holder but `except` the new owner/monitor counts (never after `Idle`).
    pub(super) fn holders_changed(&mut self, id: CallId, except: Option<AppId>) {
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

    pub(super) fn call_info(&self, c: &Call) -> CallInfo {
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
}

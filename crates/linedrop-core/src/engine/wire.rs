//! What the wire and time do to calls: provider events and expired limits.

use std::sync::Arc;

use super::Engine;
use crate::cause::{Cause, Origin, WireEnd};
use crate::ids::{CallId, LineId};
use crate::info::{Direction, Privilege};
use crate::policy::Unattended;
use crate::provider::{Provider, ProviderEvent};
use crate::state::CallState;
use crate::termination::{Hangup, Termination};
use crate::time::Now;

impl<P: Provider> Engine<P> {
    /// Handles everything the provider has reported.
    pub fn pump(&mut self, now: Now) {
        while let Some(ev) = self.provider.poll_event() {
            self.on_provider_event(now, ev);
        }
    }

    pub(super) fn on_provider_event(&mut self, now: Now, ev: ProviderEvent) {
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

    pub(super) fn on_incoming(
        &mut self,
        now: Now,
        id: CallId,
        line: LineId,
        remote: Arc<str>,
        local: Arc<str>,
    ) {
        if self.closed {
            self.refused_after_drain += 1;
            self.refuse_unborn(now, id, Origin::Shutdown, Cause::Shutdown, None);
            return;
        }
        let Ok(l) = self.line(line) else {
            // The provider offered a call on a line we do not have: it must still end.
            self.ignored_provider_events += 1;
            let text = Some("no such line".into());
            self.refuse_unborn(now, id, Origin::Policy, Cause::Unattended, text);
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

    /// Ends an offered call that never became one of ours: its final response on the wire,
    /// then the provider's state freed. No record, no event: the engine never held it.
    fn refuse_unborn(
        &mut self,
        now: Now,
        id: CallId,
        origin: Origin,
        cause: Cause,
        text: Option<String>,
    ) {
        let t = Termination {
            origin,
            cause,
            wire: WireEnd::FinalResponse,
            sip_status: Some(cause.reject_status()),
            q850: Some(cause.q850()),
            text,
            at: now.wall,
        };
        self.provider.end(now, id, &t);
        self.provider.close(now, id);
    }

    /// Runs the limit of the call's current state.
    pub(super) fn expire(&mut self, now: Now, id: CallId) {
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
}

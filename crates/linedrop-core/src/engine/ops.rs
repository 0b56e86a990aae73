//! What an app does to a call: dial, accept, answer, reject, drop, change privilege.
//!
//! Every operation checks everything first and only then changes state, so a refused
//! operation changes nothing.

use super::{Engine, HandleEntry};
use crate::cause::Origin;
use crate::error::Error;
use crate::ids::{AppId, CallHandle, LineId};
use crate::info::{Direction, Privilege};
use crate::provider::{Placement, Provider};
use crate::state::CallState;
use crate::termination::Hangup;
use crate::time::Now;

impl<P: Provider> Engine<P> {
    /// Places a call from `line` to `to`. The app must have opened the line as owner; it
    /// gets the owner handle, and the line's other apps get monitor handles.
    pub fn dial(
        &mut self,
        now: Now,
        app: AppId,
        line: LineId,
        to: &str,
    ) -> Result<CallHandle, Error> {
        let a = self.app(app)?;
        let l = self.line(line)?;
        if !a
            .lines
            .iter()
            .any(|&(id, p)| id == line && p == Privilege::Owner)
        {
            return Err(Error::LineNotOpen);
        }
        if self.shutting_down {
            return Err(Error::ShuttingDown);
        }
        let to = to.trim();
        if to.is_empty() {
            return Err(Error::BadAddress("empty destination".into()));
        }
        let from = l.config.address.clone();
        let policy = l.config.policy;
        let others: Vec<AppId> = l
            .openers
            .iter()
            .map(|(a, _)| *a)
            .filter(|a| *a != app)
            .collect();
        let id = self.ids.next_id();
        let placement = Placement {
            line,
            from: from.clone(),
            to: to.to_owned(),
        };
        self.provider.place(now, id, &placement)?;
        self.create_call(
            now,
            id,
            Direction::Outbound,
            line,
            from.into(),
            to.into(),
            policy,
        );
        let handle = self.add_holder(id, app, Privilege::Owner);
        for other in others {
            self.add_holder(id, other, Privilege::Monitor);
        }
        self.pump(now);
        Ok(handle)
    }

    /// Claims an offered call: the caller hears ringing (`Offering → Accepted`).
    pub fn accept(&mut self, now: Now, handle: CallHandle) -> Result<(), Error> {
        let (entry, state) = self.owned(handle)?;
        if state != CallState::Offering {
            return Err(Error::InvalidState {
                op: "accept",
                state,
            });
        }
        self.enter(now, entry.call, CallState::Accepted);
        self.provider.ring(now, entry.call);
        self.pump(now);
        Ok(())
    }

    /// Answers an offered or accepted call; it becomes `Connected` when the provider
    /// confirms.
    pub fn answer(&mut self, now: Now, handle: CallHandle) -> Result<(), Error> {
        let (entry, state) = self.owned(handle)?;
        let answered = self.calls.get(&entry.call).is_some_and(|c| c.answered);
        if !state.is_inbound_setup() || answered {
            return Err(Error::InvalidState {
                op: "answer",
                state,
            });
        }
        if let Some(c) = self.calls.get_mut(&entry.call) {
            c.answered = true;
        }
        self.provider.answer(now, entry.call);
        self.pump(now);
        Ok(())
    }

    /// Rejects an offered or accepted call with a final response (cause `rejected` unless
    /// `hangup` says otherwise).
    pub fn reject(&mut self, now: Now, handle: CallHandle, hangup: Hangup) -> Result<(), Error> {
        let (entry, state) = self.owned(handle)?;
        let answered = self.calls.get(&entry.call).is_some_and(|c| c.answered);
        if !state.is_inbound_setup() || answered {
            return Err(Error::InvalidState {
                op: "reject",
                state,
            });
        }
        validate(&hangup, state)?;
        self.end_call(now, entry.call, Origin::Local, hangup);
        self.pump(now);
        Ok(())
    }

    /// Ends the call in whatever state it is: CANCEL while dialing, a final response while
    /// offered (a reject), BYE when connected. Dropping a call that is already ending is a
    /// no-op; dropping an `Idle` call is refused.
    pub fn drop_call(&mut self, now: Now, handle: CallHandle, hangup: Hangup) -> Result<(), Error> {
        let (entry, state) = self.owned(handle)?;
        match state {
            CallState::Idle => Err(Error::InvalidState { op: "drop", state }),
            CallState::Disconnected => Ok(()),
            _ => {
                validate(&hangup, state)?;
                self.end_call(now, entry.call, Origin::Local, hangup);
                self.pump(now);
                Ok(())
            }
        }
    }

    /// Raises a monitor to owner, or lowers an owner to monitor. Lowering the only owner of
    /// a call that is not yet `Idle` is refused: nobody could end it.
    pub fn set_privilege(&mut self, handle: CallHandle, privilege: Privilege) -> Result<(), Error> {
        let entry = self.entry(handle)?;
        let call = self.call(entry.call)?;
        // Invariant: a valid handle is among its call's holders.
        let current = call.holder(handle).expect("handle is a holder").privilege;
        if current == privilege {
            return Ok(());
        }
        if privilege == Privilege::Monitor
            && call.is_sole_owner(handle)
            && call.state != CallState::Idle
        {
            return Err(Error::InvalidState {
                op: "demote the only owner of",
                state: call.state,
            });
        }
        if let Some(c) = self.calls.get_mut(&entry.call) {
            if let Some(h) = c.holders.iter_mut().find(|h| h.handle == handle) {
                h.privilege = privilege;
            }
        }
        self.holders_changed(entry.call, Some(entry.app));
        Ok(())
    }

    /// The handle's entry and its call's state, if the handle is an owner's.
    pub(super) fn owned(&self, handle: CallHandle) -> Result<(HandleEntry, CallState), Error> {
        let entry = self.entry(handle)?;
        let call = self.call(entry.call)?;
        match call.holder(handle) {
            Some(h) if h.privilege == Privilege::Owner => Ok((entry, call.state)),
            Some(_) => Err(Error::NotOwner),
            None => Err(Error::InvalidHandle),
        }
    }
}

/// Checks what an app asked for before anything changes.
fn validate(h: &Hangup, state: CallState) -> Result<(), Error> {
    if let Some(status) = h.sip_status {
        if !(400..=699).contains(&status) {
            return Err(Error::InvalidArgument(format!(
                "sip_status {status} is not a final error status (400-699)"
            )));
        }
        if !state.is_inbound_setup() {
            return Err(Error::InvalidArgument(
                "sip_status applies only to a call still being offered".into(),
            ));
        }
    }
    if let Some(q) = h.q850 {
        if !(1..=127).contains(&q) {
            return Err(Error::InvalidArgument(format!("q850 {q} is outside 1-127")));
        }
    }
    Ok(())
}

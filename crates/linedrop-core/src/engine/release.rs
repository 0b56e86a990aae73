//! Releasing handles, closing lines and apps, and shutting down.

use super::Engine;
use crate::cause::{Cause, Origin};
use crate::error::Error;
use crate::event::EventKind;
use crate::ids::{AppId, CallHandle, LineId};
use crate::provider::Provider;
use crate::termination::Hangup;
use crate::time::Now;

/// How a handle is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Refused with `call_active` if this is the last owner of a live call.
    Explicit,
    /// If this is an owner of a live call, drop it first (origin `local`), then release.
    DropFirst,
    /// The implicit form (a Rust handle dropped, an app gone): if this is the last owner of
    /// a live call, drop it first with origin `policy`, cause `handle_released`.
    Implicit,
}

impl<P: Provider> Engine<P> {
    /// Releases a handle. Afterwards it is invalid for good; other holders keep theirs. When
    /// the last handle of an `Idle` call goes, everything the call held is freed.
    pub fn release(&mut self, now: Now, handle: CallHandle, how: Release) -> Result<(), Error> {
        self.release_with(now, handle, how, Cause::HandleReleased)
    }

    fn release_with(
        &mut self,
        now: Now,
        handle: CallHandle,
        how: Release,
        implicit_cause: Cause,
    ) -> Result<(), Error> {
        let entry = self.entry(handle)?;
        let call = self.call(entry.call)?;
        let live = call.state.is_live();
        let sole_owner = call.is_sole_owner(handle);
        // Invariant: a valid handle is among its call's holders.
        let owner = call.holder(handle).expect("handle is a holder").privilege
            == crate::info::Privilege::Owner;
        match how {
            Release::Explicit if live && sole_owner => return Err(Error::CallActive),
            Release::DropFirst if live && owner => {
                self.end_call(now, entry.call, Origin::Local, Hangup::default());
            }
            Release::Implicit if live && sole_owner => {
                self.end_call(
                    now,
                    entry.call,
                    Origin::Policy,
                    Hangup::cause(implicit_cause),
                );
            }
            _ => {}
        }
        self.emit_all(entry.call, EventKind::Released { by: entry.app });
        if let Some(c) = self.calls.get_mut(&entry.call) {
            c.holders.retain(|h| h.handle != handle);
        }
        if let Ok(a) = self.app_mut(entry.app) {
            a.handles.remove(&handle);
        }
        self.handles.remove(handle.index, handle.generation);
        self.holders_changed(entry.call, None);
        self.free_if_done(now, entry.call);
        self.pump(now);
        Ok(())
    }

    /// Closes `line` for `app`: every handle the app holds on the line's calls becomes
    /// invalid, `Idle` ones included; live calls it solely owned are dropped first (origin
    /// `policy`, cause `app_gone`).
    pub fn close_line(&mut self, now: Now, app: AppId, line: LineId) -> Result<(), Error> {
        let a = self.app(app)?;
        if !a.lines.iter().any(|(l, _)| *l == line) {
            return Err(Error::LineNotOpen);
        }
        let on_line: Vec<CallHandle> = a
            .handles
            .iter()
            .copied()
            .filter(|h| {
                self.entry(*h)
                    .ok()
                    .and_then(|e| self.calls.get(&e.call))
                    .is_some_and(|c| c.line == line)
            })
            .collect();
        for h in on_line {
            // Invariant: the handle was just listed as valid and nothing between frees it.
            self.release_with(now, h, Release::Implicit, Cause::AppGone)?;
        }
        if let Ok(a) = self.app_mut(app) {
            a.lines.retain(|(l, _)| *l != line);
        }
        if let Ok(l) = self.line_mut(line) {
            l.openers.retain(|(a, _)| *a != app);
        }
        Ok(())
    }

    /// Closes an app: its lines are closed, its handles released (live calls it solely owned
    /// are dropped first, origin `policy`, cause `app_gone`), and its id becomes invalid.
    pub fn close_app(&mut self, now: Now, app: AppId) -> Result<(), Error> {
        let lines: Vec<LineId> = self.app(app)?.lines.iter().map(|(l, _)| *l).collect();
        for line in lines {
            self.close_line(now, app, line)?;
        }
        let rest: Vec<CallHandle> = self.app(app)?.handles.iter().copied().collect();
        for h in rest {
            self.release_with(now, h, Release::Implicit, Cause::AppGone)?;
        }
        self.apps.remove(app.index, app.generation);
        // Events already queued for the app stay queued; nobody can read them as another
        // app's, since app ids are generational.
        Ok(())
    }

    /// Stops taking calls and ends every live one with origin `shutdown`. Returns how many
    /// were ended. Drive the wire and timers until [`Engine::finish_drain`] says drained (it
    /// also closes the engine, so nothing arriving before the driver stops can undo that).
    pub fn shutdown(&mut self, now: Now) -> usize {
        self.shutting_down = true;
        let live: Vec<_> = self
            .calls
            .values()
            .filter(|c| c.state.is_live())
            .map(|c| c.id)
            .collect();
        for id in &live {
            self.end_call(now, *id, Origin::Shutdown, Hangup::cause(Cause::Shutdown));
        }
        self.pump(now);
        live.len()
    }
}

//! An engine shared between threads, with a clock, and call handles that release
//! themselves.
//!
//! [`Engine`] is a plain `&mut self` state machine. Programs that hold calls in many places
//! wrap it in a [`Shared`], which pairs it with a [`Clock`] and hands out [`Call`]s: owned
//! handles whose consuming [`Call::release`] is the explicit release, and whose `Drop` is the
//! implicit one (a live call whose last owner is dropped is ended first, origin `policy`,
//! cause `handle_released`). Whoever drives the engine still drains its events and timers.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::engine::{Engine, Release};
use crate::error::Error;
use crate::ids::{AppId, CallHandle, CallId, LineId};
use crate::info::CallInfo;
use crate::provider::Provider;
use crate::termination::Hangup;
use crate::time::Now;

/// The source of [`Now`]. The daemon's reads the real clocks; tests use a manual one.
pub trait Clock: Send + Sync {
    /// The current reading.
    fn now(&self) -> Now;
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock(Mutex<Now>);

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: Now) -> Self {
        Self(Mutex::new(start))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: std::time::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now = now.advance(by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Now {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An engine behind a mutex, with its clock. Cloning shares the same engine.
pub struct Shared<P> {
    engine: Arc<Mutex<Engine<P>>>,
    clock: Arc<dyn Clock>,
}

impl<P> Clone for Shared<P> {
    fn clone(&self) -> Self {
        Self {
            engine: self.engine.clone(),
            clock: self.clock.clone(),
        }
    }
}

impl<P: Provider> Shared<P> {
    /// Shares `engine`, reading time from `clock`.
    pub fn new(engine: Engine<P>, clock: Arc<dyn Clock>) -> Self {
        Self {
            engine: Arc::new(Mutex::new(engine)),
            clock,
        }
    }

    /// The engine, locked. A panic elsewhere while it was locked does not make it unusable:
    /// every engine operation leaves it consistent before it can panic.
    pub fn lock(&self) -> MutexGuard<'_, Engine<P>> {
        self.engine.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The clock's reading.
    pub fn now(&self) -> Now {
        self.clock.now()
    }

    /// Dials from `line` as `app`; the returned [`Call`] is the owner handle.
    pub fn dial(&self, app: AppId, line: LineId, to: &str) -> Result<Call<P>, Error> {
        let now = self.now();
        let handle = self.lock().dial(now, app, line, to)?;
        Ok(Call {
            shared: self.clone(),
            handle: Some(handle),
        })
    }

    /// Takes charge of a handle the app learned from an event (an offered call), so that it
    /// is released when the [`Call`] is dropped.
    pub fn adopt(&self, handle: CallHandle) -> Result<Call<P>, Error> {
        self.lock().call_id(handle)?;
        Ok(Call {
            shared: self.clone(),
            handle: Some(handle),
        })
    }
}

/// An app's handle to a call, released when dropped.
pub struct Call<P: Provider> {
    shared: Shared<P>,
    /// `None` only after an explicit release has consumed it.
    handle: Option<CallHandle>,
}

impl<P: Provider> Call<P> {
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Engine<P>, Now, CallHandle) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let handle = self.handle.ok_or(Error::InvalidHandle)?;
        let now = self.shared.now();
        f(&mut self.shared.lock(), now, handle)
    }

    /// The raw handle (valid until this `Call` is released or dropped).
    pub fn handle(&self) -> Option<CallHandle> {
        self.handle
    }

    /// The global call id.
    pub fn id(&self) -> Result<CallId, Error> {
        self.with(|e, _, h| e.call_id(h))
    }

    /// See [`Engine::info`].
    pub fn info(&self) -> Result<CallInfo, Error> {
        self.with(|e, _, h| e.info(h))
    }

    /// See [`Engine::accept`].
    pub fn accept(&self) -> Result<(), Error> {
        self.with(|e, now, h| e.accept(now, h))
    }

    /// See [`Engine::answer`].
    pub fn answer(&self) -> Result<(), Error> {
        self.with(|e, now, h| e.answer(now, h))
    }

    /// See [`Engine::reject`].
    pub fn reject(&self, hangup: Hangup) -> Result<(), Error> {
        self.with(|e, now, h| e.reject(now, h, hangup))
    }

    /// See [`Engine::drop_call`].
    pub fn drop_call(&self, hangup: Hangup) -> Result<(), Error> {
        self.with(|e, now, h| e.drop_call(now, h, hangup))
    }

    /// Releases the handle explicitly. On refusal (`call_active`) the call is handed back
    /// with the error, still held.
    pub fn release(mut self, how: Release) -> Result<(), (Self, Error)> {
        match self.with(|e, now, h| e.release(now, h, how)) {
            Ok(()) => {
                self.handle = None;
                Ok(())
            }
            Err(err) => Err((self, err)),
        }
    }
}

impl<P: Provider> Drop for Call<P> {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            let now = self.shared.now();
            // An already-invalid handle (its line or app was closed) has nothing to free.
            let _ = self.shared.lock().release(now, handle, Release::Implicit);
        }
    }
}

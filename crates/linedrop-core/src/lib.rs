//! The session model of linedrop: calls, handles, states, terminations, records and the
//! ledger, over a [`Provider`] that speaks the wire.
//!
//! # The model
//!
//! An *app* holds calls through *handles*, each with a [`Privilege`]: an owner may answer,
//! reject and drop; a monitor may read and watch. Apps open *lines* (local addresses); the
//! first owner of a line is offered its inbound calls, and may dial from it. Every call has
//! one global [`CallId`], the same in every event and record.
//!
//! A call moves through [`CallState`]s: `Dialing → Proceeding → Ringback → Connected` when
//! we call, `Offering → Accepted → Connected` when they do, and `Disconnected → Idle` on
//! every path. The first cause that ends a call writes its [`Termination`] (who: an
//! [`Origin`]; why: a [`Cause`]; how: the wire facts), exactly once; later causes are counted
//! and ignored. `Idle` is never left.
//!
//! A handle stays valid after `Idle`, so its app can read [`CallInfo`] (parties, timestamps
//! of every state, durations, termination, holders, provider facts) until it releases the
//! handle. Releasing the last owner of a live call is refused unless it asks to drop first;
//! an implicit release (a dropped [`shared::Call`], a closed line or app) drops the call
//! first with origin `policy`. When the last handle of an `Idle` call goes, the provider's
//! state for it is closed, exactly once.
//!
//! Every state is bounded by the line's [`LinePolicy`] and the provider's teardown bound, so
//! [`Engine::idle_deadline`] can say when any call will be `Idle` at the latest. The
//! [`Ledger`] counts every live resource; once every handle is released and the timers have
//! run, it is all zeros.
//!
//! # Purity
//!
//! The engine does no I/O and never reads a clock: every operation takes a [`Now`], and the
//! driver sleeps until [`Engine::poll_timeout`]. A test can therefore run an hour of timers in
//! microseconds. The [`shared`] module wraps an engine for use from many places, with a
//! clock and handles that release themselves when dropped.
//!
//! # Example
//!
//! Two lines of one engine call each other through the in-memory [`LoopbackProvider`]:
//!
//! ```
//! use std::time::{Duration, Instant, SystemTime};
//! use linedrop_core::*;
//!
//! let ids = CallIds::default();
//! let provider = LoopbackProvider::new(ids.clone(), Duration::ZERO);
//! let mut engine = Engine::new(EngineConfig { call_ids: ids }, provider);
//! let now = Now::new(Instant::now(), SystemTime::UNIX_EPOCH);
//!
//! let alice = engine.add_line(LineConfig::new("sip:alice@example.test")).unwrap();
//! let bob = engine.add_line(LineConfig::new("sip:bob@example.test")).unwrap();
//! let app = engine.open_app("demo");
//! engine.open_line(app, alice, Privilege::Owner).unwrap();
//! engine.open_line(app, bob, Privilege::Owner).unwrap();
//!
//! // Alice calls Bob; Bob's leg is offered to the same app, which answers it.
//! let out = engine.dial(now, app, alice, "sip:bob@example.test").unwrap();
//! let inbound = engine.handles_of(app).unwrap().into_iter()
//!     .map(|(h, _)| h).find(|h| *h != out).unwrap();
//! engine.answer(now, inbound).unwrap();
//! assert_eq!(engine.info(out).unwrap().state, CallState::Connected);
//!
//! // Alice hangs up a minute later: one termination, readable after the end.
//! let later = now.advance(Duration::from_secs(60));
//! engine.drop_call(later, out, Hangup::default()).unwrap();
//! let info = engine.info(out).unwrap();
//! assert_eq!(info.state, CallState::Idle);
//! let end = info.termination.unwrap();
//! assert_eq!((end.origin, end.cause, end.wire), (Origin::Local, Cause::Normal, WireEnd::Bye));
//! assert_eq!(info.talk_duration, Some(Duration::from_secs(60)));
//! assert_eq!(engine.info(inbound).unwrap().termination.unwrap().origin, Origin::Remote);
//!
//! // Releasing both handles frees everything.
//! engine.release(later, out, Release::Explicit).unwrap();
//! engine.release(later, inbound, Release::Explicit).unwrap();
//! assert_eq!(engine.info(out), Err(Error::InvalidHandle));
//! while engine.poll_event().is_some() {}
//! while engine.poll_record().is_some() {}
//! assert!(engine.ledger().is_quiescent());
//! ```

#![warn(clippy::unwrap_used)]

mod cause;
mod engine;
mod error;
mod event;
mod id_hash;
mod ids;
mod info;
mod ledger;
mod loopback;
mod policy;
mod provider;
pub mod shared;
mod slab;
mod state;
mod termination;
mod time;

pub use cause::{
    disconnect_mode, CallStateEventCause, Cause, CauseMapping, DisconnectCode, Origin, WireEnd,
    CAUSE_TABLE, FALLBACK_REJECT_STATUS,
};
pub use engine::{Engine, EngineConfig, Release};
pub use error::{Error, ProviderError};
pub use event::{AppEvent, EventKind, RecordUpdate};
pub use id_hash::{IdHasher, IdMap, IdSet};
pub use ids::{AppId, CallHandle, CallId, CallIds, LineId};
pub use info::{CallInfo, Direction, Holder, Privilege, StateTimes};
pub use ledger::Ledger;
pub use loopback::{LoopbackProvider, UNAVAILABLE_HOST};
pub use policy::{LineConfig, LinePolicy, Unattended};
pub use provider::{Placement, Provider, ProviderEvent, ProviderFacts, ProviderLedger};
pub use state::CallState;
pub use termination::{Hangup, Termination};
pub use time::Now;

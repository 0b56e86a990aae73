//! The linedrop daemon: the engine with the SIP provider, call records in SQLite, and the
//! HTTP/WebSocket API for applications in any language.
//!
//! # Layout
//!
//! - [`config`]: defaults, the TOML file and environment overrides; errors name the key.
//! - [`daemon`]: [`daemon::start`] binds and runs everything; [`daemon::Running::stop`] is
//!   the graceful drain (no new calls, live ones ended with origin `shutdown`, records
//!   flushed).
//! - [`http`]: the API (one module per resource), its error table and extractors.
//! - `hub`: per-app event streams with a replay window; `sink`: the engine's outputs to the
//!   hub and the store; `json`: the API's JSON views;
//!   `event_json`: an event's text, serialized without a `Value`.
//! - [`end_log`]: the one log line per call end, written by hand when the binary asks.

pub mod config;
pub mod daemon;
pub mod end_log;
mod event_json;
pub mod http;
pub mod hub;
pub mod json;
mod sink;
pub mod state;

pub use config::Config;
pub use daemon::{start, Running, ServeError, StopReport};

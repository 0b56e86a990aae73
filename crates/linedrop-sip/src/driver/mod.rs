//! The thin tokio driver: owns the UDP and TCP sockets and the one real clock, and runs an
//! [`Engine<SipProvider>`] in a single task.
//!
//! Everything that decides anything lives in the sans-IO engine and user agent. The driver
//! only moves bytes and time between them and the world (quinn's `ConnectionDriver`,
//! mini-redis's `server::run`):
//!
//! 1. [`bind`] the sockets first (port 0 is fine) so the caller learns the real addresses
//!    ([`Sockets::udp_addr`], [`Sockets::tcp_addr`]) and can put them into the
//!    [`SipConfig`](crate::ua::SipConfig) before it builds the engine;
//! 2. [`run`] the engine: one task, no mutex. It waits on UDP datagrams, on TCP events from
//!    per-connection tasks, on [`Command`]s sent through a [`Handle`], on the engine's next
//!    deadline and on the shutdown future. After every input it calls [`Engine::pump`], and
//!    after every engine call it drains the provider's transmits (sending them), the
//!    engine's events and records (to [`Outputs`]), then re-arms one timer at
//!    [`Engine::poll_timeout`];
//! 3. shut down gracefully with [`drain`] (the engine ends every call and the loop keeps
//!    running until the wire is done, bounded by a deadline), then resolve the shutdown
//!    future: [`run`] returns the engine.
//!
//! ```
//! use std::time::Duration;
//! use linedrop_core::{CallIds, Engine, EngineConfig, LineConfig, Privilege};
//! use linedrop_sip::driver::{self, ChannelOutputs, DriverConfig};
//! use linedrop_sip::ua::{SipConfig, SipProvider};
//!
//! # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! # rt.block_on(async {
//! // 1. Bind first: the user agent must know the real address.
//! let sockets = driver::bind(&DriverConfig::new("127.0.0.1:0".parse()?))?;
//! let udp = sockets.udp_addr()?;
//! let ids = CallIds::default();
//! let provider = SipProvider::new(SipConfig::new(udp), ids.clone());
//! let mut engine = Engine::new(EngineConfig { call_ids: ids }, provider);
//! let line = engine.add_line(LineConfig::new(format!("sip:alice@{udp}")))?;
//! let app = engine.open_app("example");
//! engine.open_line(app, line, Privilege::Owner)?;
//!
//! // 2. Run it: one task owns the engine; everyone else goes through a Handle.
//! let (handle, commands) = driver::channel(64);
//! let (outputs, _events_and_records) = ChannelOutputs::new();
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let shutdown = async move {
//!     let _ = stopped.await;
//! };
//! let task = tokio::spawn(driver::run(sockets, engine, commands, outputs, shutdown));
//! let ledger = handle.call(|engine, _now| engine.ledger()).await?;
//! assert!(ledger.is_quiescent());
//!
//! // 3. Stop gracefully: end every call and let the wire finish, then stop the loop.
//! assert!(driver::drain(&handle, Duration::from_secs(5)).await?);
//! let _ = stop.send(());
//! let engine = task.await?;
//! assert!(engine.is_drained());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! Layout: `socket` binds, `clock` is the only place that reads the time, `event_loop` is
//! the task's `select!` and `task` what it does with each input, `udp` and `conns` are its
//! two transports (`udp_fd` registers the UDP socket, `mmsg` batches its system calls),
//! `tcp` holds the per-connection tasks, `handle` and `outputs` are the ways in and out,
//! `stats` counts what went wrong.
//!
//! Nothing here panics on I/O errors: each is logged once per kind, counted in
//! [`DriverStats`], and the loop carries on (a failed send is reported to the provider).

mod clock;
mod conns;
mod event_loop;
mod handle;
#[cfg(target_os = "linux")]
mod mmsg;
mod outputs;
mod socket;
mod stats;
mod task;
mod tcp;
mod thread;
mod udp;
mod udp_fd;

use std::net::SocketAddr;
use std::time::Duration;

use linedrop_core::{Engine, Now};

use crate::ua::SipProvider;

pub use clock::now;
pub use event_loop::run;
pub use handle::{channel, drain, Closed, Handle};
pub use outputs::{ChannelOutputs, Output, Outputs};
pub use socket::{bind, Sockets};
pub use stats::{DriverStats, StatsSnapshot};
pub use thread::{spawn_thread, DriverThread};

/// Work for the engine task: a closure run with the engine and the current time, after
/// which the driver drains the engine's outputs as after any other input.
pub type Command = Box<dyn FnOnce(&mut Engine<SipProvider>, Now) + Send>;

/// How the driver binds and runs its sockets.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// The UDP address to bind (port 0: any free port).
    pub udp: SocketAddr,
    /// The TCP address to listen on (port 0: any free port), or `None` for UDP only.
    /// Outbound TCP connections are opened on demand either way.
    pub tcp: Option<SocketAddr>,
    /// SO_RCVBUF/SO_SNDBUF for every socket, in bytes. The OS default (~200 KiB on Linux)
    /// drops datagrams on loopback bursts from about 2,000 calls/s; `None` keeps it.
    pub socket_buffer: Option<usize>,
    /// A TCP connection that has carried nothing for this long, and that the user agent no
    /// longer needs, is closed (RFC 3261 §18: connections are kept only while useful).
    pub tcp_idle_timeout: Duration,
    /// How long an outbound TCP connect may take before its transmits fail. Loopback refuses
    /// at once; a silent host would otherwise hold the queued messages for minutes.
    pub tcp_connect_timeout: Duration,
    /// A TCP connection whose writer has made no progress for this long, with messages
    /// waiting, is closed: its peer has stopped reading. (A burst to a peer that reads only
    /// queues; the queue is bounded in bytes, generously.)
    pub tcp_write_stall_timeout: Duration,
    /// The largest message a TCP stream may frame; larger ones are skipped (and answered by
    /// the user agent when answerable). Should equal the user agent's `max_message_size`.
    pub max_message_size: usize,
}

impl DriverConfig {
    /// UDP on `udp`, no TCP listener, OS buffer sizes, 32 s idle timeout (the longest a
    /// transaction waits for a response over TCP is 64·T1 = 32 s), 5 s connect timeout, 10 s
    /// write stall timeout.
    pub fn new(udp: SocketAddr) -> Self {
        Self {
            udp,
            tcp: None,
            socket_buffer: None,
            tcp_idle_timeout: Duration::from_secs(32),
            tcp_connect_timeout: Duration::from_secs(5),
            tcp_write_stall_timeout: Duration::from_secs(10),
            max_message_size: crate::message::DEFAULT_MAX_MESSAGE_SIZE,
        }
    }
}

//! The engine task's table of TCP connections: numbering, reuse by remote address, outbound
//! connects on demand, and the idle sweep. It starts and stops the tasks in [`super::tcp`];
//! telling the user agent about opens and closes is the event loop's job.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use super::tcp::{self, ConnIo, TcpEvent};
use super::DriverConfig;
use crate::transaction::Wire;
use crate::ua::{ConnId, Peer};

/// Bytes queued per connection and not yet written (while connecting, or while the peer
/// reads slowly). A connection that would exceed it is stuck: it is closed rather than left to
/// grow. Generous on purpose: one connection may carry every call of a peer (SIPp's does),
/// and a burst of answers while the writer task waits for a core must not close it; a peer
/// that stopped reading is closed by the writer's stall timeout
/// ([`DriverConfig::tcp_write_stall_timeout`]) long before it fills this.
const QUEUE_BYTES_PER_CONN: usize = 4 * 1024 * 1024;

/// The shortest interval between idle sweeps.
const MIN_SWEEP: Duration = Duration::from_millis(10);

/// Why a TCP transmit could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendError {
    /// The named connection does not exist (any more).
    Gone,
    /// The connection's queue is full: close it.
    Stuck(ConnId),
}

/// One connection, as the engine task knows it.
#[derive(Debug)]
struct Conn {
    /// The remote address.
    addr: SocketAddr,
    /// The writer's queue (until connected, the connect task holds its receiver). Unbounded
    /// in messages: `queued` bounds it in bytes.
    queue: mpsc::UnboundedSender<Wire>,
    /// Bytes in `queue` and not yet written (the writer subtracts what it wrote).
    queued: Arc<AtomicUsize>,
    /// Dropping it stops the reader, or the connect attempt.
    _stop: oneshot::Sender<()>,
    /// False while an outbound connect is in progress (the user agent has not been told).
    open: bool,
    /// When a message last went either way: idleness counts from here.
    last_active: Instant,
}

/// Every TCP connection of the driver.
#[derive(Debug)]
pub(crate) struct Conns {
    /// By number.
    by_id: HashMap<ConnId, Conn>,
    /// The connection to reuse for a remote address: the latest one opened to or from it.
    by_addr: HashMap<SocketAddr, ConnId>,
    /// The next number. Never reused, so a stale event or transmit cannot name a later
    /// connection.
    next_id: u64,
    /// The channel every connection task reports on.
    events: mpsc::Sender<TcpEvent>,
    /// Timeouts and the framing limit.
    config: DriverConfig,
    /// When the idle sweep is next due (`None` while there are no connections).
    sweep_at: Option<Instant>,
}

impl Conns {
    pub(crate) fn new(config: DriverConfig, events: mpsc::Sender<TcpEvent>) -> Self {
        Self {
            by_id: HashMap::new(),
            by_addr: HashMap::new(),
            next_id: 1,
            events,
            config,
            sweep_at: None,
        }
    }

    /// Registers an accepted connection and starts its tasks.
    pub(crate) fn accept(&mut self, now: Instant, stream: TcpStream, addr: SocketAddr) -> ConnId {
        let (io, queue, stop) = self.insert(now, addr, true);
        let id = io.conn;
        tcp::start(io, stream, queue, stop);
        id
    }

    /// Marks an outbound connection established; returns its address, or `None` if the
    /// connection was already dropped.
    pub(crate) fn connected(&mut self, id: ConnId, now: Instant) -> Option<SocketAddr> {
        let conn = self.by_id.get_mut(&id)?;
        conn.open = true;
        conn.last_active = now;
        Some(conn.addr)
    }

    /// Notes traffic received on `id`; returns its address if it is still known.
    pub(crate) fn touch(&mut self, id: ConnId, now: Instant) -> Option<SocketAddr> {
        let conn = self.by_id.get_mut(&id)?;
        conn.last_active = now;
        Some(conn.addr)
    }

    /// Queues `bytes` for `to`: on its connection, on any connection to its address, or on a
    /// new outbound one (opened now, the bytes wait for it).
    pub(crate) fn send(&mut self, now: Instant, to: Peer, bytes: Wire) -> Result<(), SendError> {
        let id = match to.conn {
            Some(id) => id,
            None => match self.by_addr.get(&to.addr) {
                Some(id) => *id,
                None => self.open(now, to.addr),
            },
        };
        let conn = self.by_id.get_mut(&id).ok_or(SendError::Gone)?;
        let len = bytes.len();
        if conn.queued.load(Ordering::Relaxed) + len > QUEUE_BYTES_PER_CONN {
            return Err(SendError::Stuck(id));
        }
        conn.queued.fetch_add(len, Ordering::Relaxed);
        match conn.queue.send(bytes) {
            Ok(()) => {
                conn.last_active = now;
                Ok(())
            }
            // The writer failed; its Closed event is on the way.
            Err(_) => Err(SendError::Gone),
        }
    }

    /// Forgets a connection, which stops its tasks; returns its address and whether the user
    /// agent was told it was open (and so must be told it closed).
    pub(crate) fn remove(&mut self, id: ConnId) -> Option<(SocketAddr, bool)> {
        let conn = self.by_id.remove(&id)?;
        if self.by_addr.get(&conn.addr) == Some(&id) {
            self.by_addr.remove(&conn.addr);
        }
        if self.by_id.is_empty() {
            self.sweep_at = None;
        }
        Some((conn.addr, conn.open))
    }

    /// When [`Conns::sweep`] is next due.
    pub(crate) fn sweep_at(&self) -> Option<Instant> {
        self.sweep_at
    }

    /// The open connections idle for `tcp_idle_timeout` that `in_use` says nobody needs;
    /// the caller removes them. Re-arms the next sweep.
    pub(crate) fn sweep(&mut self, now: Instant, in_use: impl Fn(ConnId) -> bool) -> Vec<ConnId> {
        let idle = self.config.tcp_idle_timeout;
        let expired = self
            .by_id
            .iter()
            .filter(|(_, c)| c.open && now.saturating_duration_since(c.last_active) >= idle)
            .map(|(id, _)| *id)
            .filter(|id| !in_use(*id))
            .collect();
        self.sweep_at = (!self.by_id.is_empty()).then(|| now + self.sweep_interval());
        expired
    }

    /// A quarter of the idle timeout: a connection is closed at most 25 % late.
    fn sweep_interval(&self) -> Duration {
        (self.config.tcp_idle_timeout / 4).max(MIN_SWEEP)
    }

    /// Starts an outbound connect to `addr`; returns the new connection's number.
    fn open(&mut self, now: Instant, addr: SocketAddr) -> ConnId {
        let (io, queue, stop) = self.insert(now, addr, false);
        let id = io.conn;
        let timeout = self.config.tcp_connect_timeout;
        tokio::spawn(tcp::connect(io, addr, timeout, queue, stop));
        id
    }

    fn insert(
        &mut self,
        now: Instant,
        addr: SocketAddr,
        open: bool,
    ) -> (ConnIo, tcp::Queue, oneshot::Receiver<()>) {
        let id = ConnId(self.next_id);
        self.next_id += 1;
        let (queue, queue_rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let (stop, stop_rx) = oneshot::channel();
        self.by_id.insert(
            id,
            Conn {
                addr,
                queue,
                queued: queued.clone(),
                _stop: stop,
                open,
                last_active: now,
            },
        );
        self.by_addr.insert(addr, id);
        if self.sweep_at.is_none() {
            self.sweep_at = Some(now + self.sweep_interval());
        }
        let io = ConnIo {
            conn: id,
            events: self.events.clone(),
            max_message_size: self.config.max_message_size,
            write_stall_timeout: self.config.tcp_write_stall_timeout,
        };
        let queue = tcp::Queue {
            rx: queue_rx,
            queued,
        };
        (io, queue, stop_rx)
    }
}

//! What the driver did and what went wrong, counted; I/O errors logged once per kind.

use std::collections::HashSet;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

/// Running totals of the driver, shared with whoever reports them (metrics, tests). Atomics
/// only so that they can be read from another task; the engine task is the only writer.
#[derive(Debug, Default)]
pub struct DriverStats {
    /// Indexed by [`Counter`].
    counters: [AtomicU64; Counter::COUNT],
}

/// A plain copy of [`DriverStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Datagrams received.
    pub udp_received: u64,
    /// Datagrams sent.
    pub udp_sent: u64,
    /// Datagrams dropped because the send backlog was full (the socket stayed unwritable).
    pub udp_dropped: u64,
    /// TCP connections accepted.
    pub tcp_accepted: u64,
    /// Outbound TCP connections established.
    pub tcp_connected: u64,
    /// Outbound TCP connects that failed or timed out.
    pub tcp_connect_failed: u64,
    /// TCP connections closed, for any reason.
    pub tcp_closed: u64,
    /// Of those, closed by us because they sat idle and unused.
    pub tcp_idle_closed: u64,
    /// Of those, closed by us because the bytes queued for them and not yet written passed
    /// the bound before the stall timeout did: we answered faster than the peer read (it
    /// kept sending and stopped reading, or it reads more slowly than it asks).
    pub tcp_stuck_closed: u64,
    /// Messages on a stream that could not be framed or parsed (the fatal ones closed the
    /// connection).
    pub framing_errors: u64,
    /// I/O errors of any kind (each kind logged once).
    pub io_errors: u64,
    /// Transmits that could not be sent and were reported to the user agent.
    pub send_failures: u64,
}

/// One counter of [`DriverStats`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    UdpReceived,
    UdpSent,
    UdpDropped,
    TcpAccepted,
    TcpConnected,
    TcpConnectFailed,
    TcpClosed,
    TcpIdleClosed,
    TcpStuckClosed,
    FramingErrors,
    IoErrors,
    SendFailures,
}

impl Counter {
    const COUNT: usize = 12;
}

impl DriverStats {
    /// Adds one to `counter`.
    pub(crate) fn bump(&self, counter: Counter) {
        self.counters[counter as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: Counter| self.counters[c as usize].load(Ordering::Relaxed);
        StatsSnapshot {
            udp_received: get(Counter::UdpReceived),
            udp_sent: get(Counter::UdpSent),
            udp_dropped: get(Counter::UdpDropped),
            tcp_accepted: get(Counter::TcpAccepted),
            tcp_connected: get(Counter::TcpConnected),
            tcp_connect_failed: get(Counter::TcpConnectFailed),
            tcp_closed: get(Counter::TcpClosed),
            tcp_idle_closed: get(Counter::TcpIdleClosed),
            tcp_stuck_closed: get(Counter::TcpStuckClosed),
            framing_errors: get(Counter::FramingErrors),
            io_errors: get(Counter::IoErrors),
            send_failures: get(Counter::SendFailures),
        }
    }
}

/// The socket operation an I/O error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum IoOp {
    UdpRecv,
    UdpSend,
    TcpAccept,
    TcpConnect,
    TcpRead,
    TcpWrite,
}

/// Logs each (operation, error kind) once at `warn` and again only at `debug`: a peer that
/// keeps failing must not flood the log, but the first of each kind must be seen.
#[derive(Debug, Default)]
pub(crate) struct ErrorLog {
    /// The pairs already logged at `warn`.
    seen: HashSet<(IoOp, io::ErrorKind)>,
}

impl ErrorLog {
    /// Counts and logs one error.
    pub(crate) fn record(&mut self, stats: &DriverStats, op: IoOp, error: &io::Error) {
        stats.bump(Counter::IoErrors);
        if self.seen.insert((op, error.kind())) {
            tracing::warn!(?op, %error, "I/O error (further ones of this kind at debug level)");
        } else {
            tracing::debug!(?op, %error, "I/O error");
        }
    }
}

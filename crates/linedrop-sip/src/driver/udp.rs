//! The UDP socket: batched receives, non-blocking sends, and a bounded backlog for the
//! moments the socket buffer is full.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;

use tokio::net::UdpSocket;

use super::stats::{Counter, DriverStats};
use crate::transaction::Wire;

/// Datagrams read with `try_recv_from` after the one that woke the loop, before the outputs
/// are flushed: a burst is handled in one batch, yet timers and TCP still get their turn.
pub(crate) const RECV_BATCH: usize = 64;

/// Datagrams held while the socket is not writable. Past this they are dropped (and
/// counted): UDP may lose them anyway, and our retransmissions cover requests.
const BACKLOG_LIMIT: usize = 4096;

/// The largest datagram (IPv4's 65,507 payload, rounded up): a longer one cannot exist.
const DATAGRAM_MAX: usize = 64 * 1024;

/// The UDP side of the driver.
#[derive(Debug)]
pub(crate) struct Udp {
    /// The bound socket.
    pub(crate) socket: UdpSocket,
    /// Receive buffer, reused for every datagram.
    pub(crate) buf: Vec<u8>,
    /// Datagrams waiting for the socket to become writable, in order.
    backlog: VecDeque<(SocketAddr, Wire)>,
}

impl Udp {
    pub(crate) fn new(socket: UdpSocket) -> Self {
        Self {
            socket,
            buf: vec![0; DATAGRAM_MAX],
            backlog: VecDeque::new(),
        }
    }

    /// Whether the loop must wait for writability.
    pub(crate) fn has_backlog(&self) -> bool {
        !self.backlog.is_empty()
    }

    /// Reads one more datagram if one is ready.
    pub(crate) fn try_recv(&mut self) -> Option<io::Result<(usize, SocketAddr)>> {
        match self.socket.try_recv_from(&mut self.buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
            other => Some(other),
        }
    }

    /// Sends a datagram now, or queues it behind earlier ones if the socket is full. An
    /// error is a failure of this datagram only (no route, too large, ...).
    pub(crate) fn send(
        &mut self,
        stats: &DriverStats,
        to: SocketAddr,
        bytes: Wire,
    ) -> io::Result<()> {
        if !self.backlog.is_empty() {
            self.enqueue(stats, to, bytes);
            return Ok(());
        }
        match self.socket.try_send_to(&bytes, to) {
            Ok(_) => {
                stats.bump(Counter::UdpSent);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.enqueue(stats, to, bytes);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Sends what the backlog holds until the socket is full again; returns the datagrams
    /// that failed, with their errors.
    pub(crate) fn flush_backlog(&mut self, stats: &DriverStats) -> Vec<(SocketAddr, io::Error)> {
        let mut failed = Vec::new();
        while let Some((to, bytes)) = self.backlog.front() {
            match self.socket.try_send_to(bytes, *to) {
                Ok(_) => stats.bump(Counter::UdpSent),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => failed.push((*to, e)),
            }
            self.backlog.pop_front();
        }
        failed
    }

    fn enqueue(&mut self, stats: &DriverStats, to: SocketAddr, bytes: Wire) {
        if self.backlog.len() >= BACKLOG_LIMIT {
            stats.bump(Counter::UdpDropped);
        } else {
            self.backlog.push_back((to, bytes));
        }
    }
}

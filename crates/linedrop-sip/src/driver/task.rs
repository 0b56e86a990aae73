//! The engine task's state and what it does with each input: feed the user agent, pump the
//! engine, and after every wake-up flush transmits, events and records.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use linedrop_core::{Engine, Now};

use super::conns::{Conns, SendError};
use super::outputs::Outputs;
use super::stats::{Counter, DriverStats, ErrorLog, IoOp};
use super::tcp::{CloseReason, TcpEvent};
use super::udp::{Udp, RECV_BATCH};
use crate::ua::{ConnId, Peer, SipProvider, Transmit, Transport};

/// Rounds of "send, report failures, send what the failures caused" per flush. A failure
/// ends transactions, so this converges at once in practice; the bound only guarantees the
/// loop cannot spin on a user agent that keeps resending to a dead peer.
const FLUSH_ROUNDS: usize = 8;

/// The earlier of two deadlines; `None` only if neither is set.
pub(super) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Everything the engine task owns.
pub(super) struct Driver<O> {
    /// The engine, with the user agent inside.
    pub(super) engine: Engine<SipProvider>,
    /// Where events and records go.
    pub(super) outputs: O,
    /// The UDP socket and its backlog.
    pub(super) udp: Udp,
    /// The TCP connections.
    pub(super) conns: Conns,
    /// Counters, shared with readers elsewhere.
    pub(super) stats: Arc<DriverStats>,
    /// I/O errors already logged, by kind.
    pub(super) errors: ErrorLog,
    /// When the outputs want their next [`Outputs::write_due`] at the latest.
    pub(super) outputs_due: Option<Instant>,
}

impl<O: Outputs> Driver<O> {
    /// The next instant the loop must wake for: the engine's timers or the idle sweep.
    pub(super) fn deadline(&self) -> Option<Instant> {
        earliest(self.engine.poll_timeout(), self.conns.sweep_at())
    }

    /// Reads and handles what the UDP socket holds, up to [`RECV_BATCH`] datagrams.
    pub(super) fn on_readable(&mut self, now: Now, ready: io::Result<()>) {
        if let Err(e) = ready {
            self.errors.record(&self.stats, IoOp::UdpRecv, &e);
            return;
        }
        let mut read = 0;
        while read < RECV_BATCH {
            let (n, more) = match self.udp.recv_batch() {
                Ok(batch) => batch,
                Err(e) => {
                    self.errors.record(&self.stats, IoOp::UdpRecv, &e);
                    return;
                }
            };
            for i in 0..n {
                self.stats.bump(Counter::UdpReceived);
                // A datagram from an address of no IP family cannot be answered.
                if let (bytes, Some(from)) = self.udp.datagram(i) {
                    self.engine
                        .provider_mut()
                        .handle_message(now, Peer::udp(from), bytes);
                    self.engine.pump(now);
                }
            }
            read += n;
            if !more {
                break;
            }
        }
    }

    pub(super) fn on_writable(&mut self, now: Now, ready: io::Result<()>) {
        if let Err(e) = ready {
            self.errors.record(&self.stats, IoOp::UdpSend, &e);
            return;
        }
        for (to, e) in self.udp.flush_backlog(&self.stats) {
            self.errors.record(&self.stats, IoOp::UdpSend, &e);
            self.send_failed(now, Peer::udp(to));
        }
    }

    pub(super) fn on_tcp(&mut self, now: Now, event: TcpEvent) {
        match event {
            TcpEvent::Accepted(stream, addr) => {
                self.stats.bump(Counter::TcpAccepted);
                let id = self.conns.accept(now.instant, stream, addr);
                self.opened(now, id, addr);
            }
            TcpEvent::AcceptFailed(e) => self.errors.record(&self.stats, IoOp::TcpAccept, &e),
            TcpEvent::Connected(id) => {
                if let Some(addr) = self.conns.connected(id, now.instant) {
                    self.stats.bump(Counter::TcpConnected);
                    self.opened(now, id, addr);
                }
            }
            TcpEvent::ConnectFailed(id, error) => {
                self.stats.bump(Counter::TcpConnectFailed);
                let error = error.unwrap_or_else(|| io::ErrorKind::TimedOut.into());
                self.errors.record(&self.stats, IoOp::TcpConnect, &error);
                if let Some((addr, _)) = self.conns.remove(id) {
                    // Whatever was queued went to "any connection to addr".
                    self.send_failed(now, Peer::tcp(addr, None));
                }
            }
            TcpEvent::Message(id, bytes) => {
                // Frames arrive unparsed: a malformed one is found (and answered) by the
                // user agent, and counted here as before.
                let malformed = |d: &Self| {
                    let s = &d.engine.provider().stats;
                    s.malformed_answered + s.malformed_dropped
                };
                let before = malformed(self);
                self.tcp_message(now, id, &bytes);
                if malformed(self) > before {
                    self.stats.bump(Counter::FramingErrors);
                }
            }
            TcpEvent::Malformed(id, raw, error) => {
                self.stats.bump(Counter::FramingErrors);
                tracing::debug!(conn = id.0, %error, "malformed message on a stream");
                if !raw.is_empty() {
                    // The user agent parses it again, fails, and answers it if it can.
                    self.tcp_message(now, id, &raw);
                }
            }
            TcpEvent::Closed(id, reason) => {
                match &reason {
                    CloseReason::Eof => {}
                    CloseReason::Read(e) => self.errors.record(&self.stats, IoOp::TcpRead, e),
                    CloseReason::Write(e) => self.errors.record(&self.stats, IoOp::TcpWrite, e),
                    CloseReason::FramingLost(error) => {
                        self.stats.bump(Counter::FramingErrors);
                        tracing::debug!(conn = id.0, %error, "stream framing lost: closing");
                    }
                }
                self.close(now, id);
            }
        }
    }

    pub(super) fn on_timer(&mut self, now: Now) {
        if self
            .engine
            .poll_timeout()
            .is_some_and(|at| at <= now.instant)
        {
            self.engine.handle_timeout(now);
        }
        if self.conns.sweep_at().is_some_and(|at| at <= now.instant) {
            let provider = self.engine.provider();
            let idle = self
                .conns
                .sweep(now.instant, |id| provider.connection_in_use(id));
            for id in idle {
                self.stats.bump(Counter::TcpIdleClosed);
                self.close(now, id);
            }
        }
    }

    /// Sends everything the user agent queued, reporting failures back to it (which may
    /// queue more), then hands events and records to the outputs and lets them write what
    /// is due.
    pub(super) fn flush(&mut self, now: Now) {
        for _ in 0..FLUSH_ROUNDS {
            let mut failed = Vec::new();
            while let Some(t) = self.engine.provider_mut().poll_transmit() {
                if let Err(to) = self.transmit(now, t) {
                    failed.push(to);
                }
            }
            for (to, e) in self.udp.send_queued(&self.stats) {
                self.errors.record(&self.stats, IoOp::UdpSend, &e);
                failed.push(Peer::udp(to));
            }
            if failed.is_empty() {
                break;
            }
            for to in failed {
                self.send_failed(now, to);
            }
        }
        while let Some(event) = self.engine.poll_event() {
            self.outputs.event(event);
        }
        while let Some(record) = self.engine.poll_record() {
            self.outputs.record(record);
        }
        self.outputs_due = self.outputs.write_due(now.instant);
    }

    /// The loop is over: send what the UDP backlog still holds, if the socket takes it.
    /// Connection tasks stop as the table drops.
    pub(super) fn finish(&mut self) {
        let _ = self.udp.flush_backlog(&self.stats);
    }

    fn transmit(&mut self, now: Now, t: Transmit) -> Result<(), Peer> {
        match t.to.transport {
            // Sent, and failures reported, once the round's transmits are all queued.
            Transport::Udp => {
                self.udp.queue(t.to.addr, t.bytes);
                Ok(())
            }
            Transport::Tcp => match self.conns.send(now.instant, t.to, t.bytes) {
                Ok(()) => Ok(()),
                Err(SendError::Gone) => Err(t.to),
                Err(SendError::Stuck(id)) => {
                    // Counted rather than logged above debug: a peer can cause it at will.
                    self.stats.bump(Counter::TcpStuckClosed);
                    tracing::debug!(conn = id.0, "connection not draining its queue: closing");
                    self.close(now, id);
                    Err(t.to)
                }
            },
        }
    }

    fn tcp_message(&mut self, now: Now, id: ConnId, bytes: &[u8]) {
        // A message read just before we closed the connection is dropped with it.
        if let Some(addr) = self.conns.touch(id, now.instant) {
            self.engine
                .provider_mut()
                .handle_message(now, Peer::tcp(addr, Some(id)), bytes);
            self.engine.pump(now);
        }
    }

    fn opened(&mut self, now: Now, id: ConnId, addr: SocketAddr) {
        self.engine
            .provider_mut()
            .handle_connection_opened(now, id, Peer::tcp(addr, Some(id)));
        self.engine.pump(now);
    }

    /// Forgets a connection (stopping its tasks) and, if the user agent knew it, says so.
    fn close(&mut self, now: Now, id: ConnId) {
        if let Some((_, was_open)) = self.conns.remove(id) {
            self.stats.bump(Counter::TcpClosed);
            if was_open {
                self.engine.provider_mut().handle_connection_closed(now, id);
                self.engine.pump(now);
            }
        }
    }

    fn send_failed(&mut self, now: Now, to: Peer) {
        self.stats.bump(Counter::SendFailures);
        self.engine.provider_mut().handle_send_failure(now, to);
        self.engine.pump(now);
    }
}

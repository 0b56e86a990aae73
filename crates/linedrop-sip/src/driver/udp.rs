//! The UDP socket: batched receives, non-blocking sends, and a bounded backlog for the
//! moments the socket buffer is full.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;

use super::stats::{Counter, DriverStats};
use super::udp_fd::{RawUdp, UdpFd};
use crate::transaction::Wire;

/// The most datagrams read per wake-up of the loop before the outputs are flushed: a burst
/// is handled in one batch, yet timers and TCP still get their turn.
pub(crate) const RECV_BATCH: usize = 64;

/// Datagrams held while the socket is not writable. Past this they are dropped (and
/// counted): UDP may lose them anyway, and our retransmissions cover requests.
const BACKLOG_LIMIT: usize = 4096;

/// The largest datagram (IPv4's 65,507 payload, rounded up): a longer one cannot exist.
pub(crate) const DATAGRAM_MAX: usize = 64 * 1024;

/// The UDP side of the driver.
#[derive(Debug)]
pub(crate) struct Udp {
    /// The bound socket, registered for reading (and for writing while the backlog holds
    /// anything).
    pub(crate) fd: UdpFd,
    /// The last batch read.
    slots: Slots,
    /// Datagrams waiting for the socket to become writable, in order.
    backlog: VecDeque<(SocketAddr, Wire)>,
    /// Datagrams queued by [`Udp::queue`] for the next [`Udp::send_queued`].
    out: Vec<(SocketAddr, Wire)>,
}

impl Udp {
    pub(crate) fn new(fd: UdpFd) -> Self {
        Self {
            fd,
            slots: Slots::new(),
            backlog: VecDeque::new(),
            out: Vec::new(),
        }
    }

    /// Whether the loop must wait for writability.
    pub(crate) fn has_backlog(&self) -> bool {
        !self.backlog.is_empty()
    }

    /// Reads what the socket holds now, up to a batch, without waiting: how many datagrams
    /// it read (see [`Udp::datagram`]) and whether more may be waiting. When it says none
    /// are, the loop's next wait for readability really waits.
    pub(crate) fn recv_batch(&mut self) -> io::Result<(usize, bool)> {
        let Self { fd, slots, .. } = self;
        let mut got = 0;
        // `WouldBlock` from the closure clears tokio's readiness: said of a short batch too,
        // since the socket was empty when the batch ended, and a datagram that arrives later
        // raises a new edge for the reactor (edge-triggered epoll signals every arrival).
        let read = fd.try_read(|socket| {
            got = slots.recv(socket)?;
            if got < SLOTS {
                Err(io::ErrorKind::WouldBlock.into())
            } else {
                Ok(())
            }
        });
        match read {
            Ok(()) => Ok((got, true)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok((got, false)),
            Err(e) => Err(e),
        }
    }

    /// Datagram `i` of the last [`Udp::recv_batch`] and its sender (`None` if the address
    /// is of no IP family).
    pub(crate) fn datagram(&self, i: usize) -> (&[u8], Option<SocketAddr>) {
        self.slots.get(i)
    }

    /// Queues a datagram for the next [`Udp::send_queued`]: a wake-up's answers go out
    /// together.
    pub(crate) fn queue(&mut self, to: SocketAddr, bytes: Wire) {
        self.out.push((to, bytes));
    }

    /// Sends what [`Udp::queue`] collected, in order, in as few system calls as it can; what
    /// the socket has no room for goes to the backlog, behind earlier datagrams. Returns the
    /// datagrams that failed (no route, too large, ...), each with its error.
    pub(crate) fn send_queued(&mut self, stats: &DriverStats) -> Vec<(SocketAddr, io::Error)> {
        let mut failed = Vec::new();
        let mut out = std::mem::take(&mut self.out);
        let done = if self.backlog.is_empty() {
            send_list(self.fd.socket(), stats, &out, &mut failed)
        } else {
            0
        };
        for (to, bytes) in out.drain(done..) {
            self.enqueue(stats, to, bytes);
        }
        out.clear();
        // Kept for its allocation.
        self.out = out;
        self.watch(&mut failed);
        failed
    }

    /// Sends what the backlog holds until the socket is full again; returns the datagrams
    /// that failed, with their errors.
    pub(crate) fn flush_backlog(&mut self, stats: &DriverStats) -> Vec<(SocketAddr, io::Error)> {
        let mut failed = Vec::new();
        let done = send_list(
            self.fd.socket(),
            stats,
            self.backlog.make_contiguous(),
            &mut failed,
        );
        self.backlog.drain(..done);
        self.watch(&mut failed);
        failed
    }

    /// Watches for room to write exactly while the backlog holds anything. If the watch
    /// cannot start, nothing would ever send the backlog: its datagrams fail with the
    /// reason, as a send that failed would.
    fn watch(&mut self, failed: &mut Vec<(SocketAddr, io::Error)>) {
        if let Err(e) = self.fd.watch_writable(!self.backlog.is_empty()) {
            for (to, _) in self.backlog.drain(..) {
                failed.push((to, io::Error::new(e.kind(), e.to_string())));
            }
        }
    }

    fn enqueue(&mut self, stats: &DriverStats, to: SocketAddr, bytes: Wire) {
        if self.backlog.len() >= BACKLOG_LIMIT {
            stats.bump(Counter::UdpDropped);
        } else {
            self.backlog.push_back((to, bytes));
        }
    }
}

/// Sends `list` from its start until the socket is full: how many datagrams it took (sent,
/// or failed and put in `failed`).
fn send_list(
    socket: &RawUdp,
    stats: &DriverStats,
    list: &[(SocketAddr, Wire)],
    failed: &mut Vec<(SocketAddr, io::Error)>,
) -> usize {
    let mut done = 0;
    while let Some(rest) = list.get(done..).filter(|r| !r.is_empty()) {
        // Straight to the socket: readiness to write is watched only while a backlog waits
        // for room (see `udp_fd`).
        match send_some(socket, rest) {
            Ok(0) => break,
            Ok(n) => {
                for _ in 0..n {
                    stats.bump(Counter::UdpSent);
                }
                done += n;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => {
                failed.push((rest[0].0, e));
                done += 1;
            }
        }
    }
    done
}

#[cfg(target_os = "linux")]
use super::mmsg::send as send_some;

/// Sends the first datagram of `list`: 1, or its error.
#[cfg(not(target_os = "linux"))]
fn send_some(socket: &RawUdp, list: &[(SocketAddr, Wire)]) -> io::Result<usize> {
    let (to, bytes) = &list[0];
    super::udp_fd::send_to(socket, bytes, *to).map(|_| 1)
}

#[cfg(target_os = "linux")]
use super::mmsg::{Slots, SLOTS};

/// One datagram per read where `recvmmsg(2)` is not available: a batch of one is never
/// short, so the loop reads until the socket says `WouldBlock`, as it always did.
#[cfg(not(target_os = "linux"))]
const SLOTS: usize = 1;

#[cfg(not(target_os = "linux"))]
#[derive(Debug)]
struct Slots {
    buf: Vec<u8>,
    len: usize,
    from: Option<SocketAddr>,
}

#[cfg(not(target_os = "linux"))]
impl Slots {
    fn new() -> Self {
        Self {
            buf: vec![0; DATAGRAM_MAX],
            len: 0,
            from: None,
        }
    }

    /// Reads one datagram: 1, or `WouldBlock`.
    fn recv(&mut self, socket: &RawUdp) -> io::Result<usize> {
        let (len, from) = super::udp_fd::recv_from(socket, &mut self.buf)?;
        (self.len, self.from) = (len, Some(from));
        Ok(1)
    }

    fn get(&self, _: usize) -> (&[u8], Option<SocketAddr>) {
        (&self.buf[..self.len], self.from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything `socket` holds now, as text.
    fn drained(socket: &std::net::UdpSocket) -> Vec<String> {
        socket.set_nonblocking(true).expect("nonblocking");
        let mut buf = vec![0; DATAGRAM_MAX];
        let mut got = Vec::new();
        while let Ok(n) = socket.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        got
    }

    /// A bound, registered socket, in the current runtime.
    fn bound() -> Udp {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket.set_nonblocking(true).expect("nonblocking");
        Udp::new(UdpFd::new(socket).expect("register"))
    }

    #[tokio::test]
    async fn queued_datagrams_go_out_in_order_and_one_that_fails_is_reported_alone() {
        let mut udp = bound();
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let to = peer.local_addr().expect("addr");
        let stats = DriverStats::default();
        let mut want = Vec::new();
        for i in 0..40 {
            if i == 20 {
                // Longer than any UDP datagram over IPv4: EMSGSIZE, for this one only.
                udp.queue(to, Wire::from(vec![b'x'; 70_000]));
            } else {
                let text = format!("datagram {i}");
                udp.queue(to, Wire::from(text.as_bytes()));
                want.push(text);
            }
        }
        let failed = udp.send_queued(&stats);
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(failed[0].0, to);
        assert!(!udp.has_backlog());
        assert_eq!(stats.snapshot().udp_sent, 39);
        assert_eq!(drained(&peer), want);
    }

    /// Over loopback a UDP socket never fills (a sent datagram's memory is freed as it is
    /// sent), so the full socket is played by putting datagrams in the backlog as a send
    /// that found it full does.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_backlog_is_watched_for_room_sent_in_order_when_there_is_some_and_the_watch_ends() {
        let mut udp = bound();
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let to = peer.local_addr().expect("addr");
        let stats = DriverStats::default();
        let mut failed = Vec::new();
        for i in 0..3 {
            udp.enqueue(&stats, to, Wire::from(format!("held {i}").as_bytes()));
        }
        udp.watch(&mut failed);
        assert!(failed.is_empty() && udp.fd.watching());
        // What a round queues while the backlog waits goes behind it.
        udp.queue(to, Wire::from(&b"later"[..]));
        assert!(udp.send_queued(&stats).is_empty());
        assert_eq!(drained(&peer), Vec::<String>::new());
        // The socket has room: the watch says so (without it, this waits forever).
        tokio::time::timeout(std::time::Duration::from_secs(10), udp.fd.writable())
            .await
            .expect("room to write is signalled")
            .expect("writable");
        assert!(udp.flush_backlog(&stats).is_empty());
        assert!(!udp.has_backlog());
        assert!(!udp.fd.watching(), "the watch ends with the backlog");
        assert_eq!(drained(&peer), ["held 0", "held 1", "held 2", "later"]);
        assert_eq!(stats.snapshot().udp_sent, 4);
    }
}

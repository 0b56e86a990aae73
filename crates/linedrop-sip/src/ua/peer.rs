//! Where messages come from and go to: the vocabulary shared by the user agent and its
//! driver.

use std::fmt;
use std::net::SocketAddr;

use crate::transaction::Wire;

/// A transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// Datagrams: requests we originate are retransmitted on timers.
    Udp,
    /// A stream: reliable, framed by Content-Length; no retransmissions.
    Tcp,
}

impl Transport {
    /// The name used in Via headers (`UDP`, `TCP`).
    pub fn via_name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }

    /// Whether the transport is reliable (RFC 3261 §17: no retransmissions, zero absorb
    /// timers).
    pub fn is_reliable(self) -> bool {
        self == Transport::Tcp
    }
}

/// A stream connection, numbered by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// The other end of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// The transport.
    pub transport: Transport,
    /// The remote socket address.
    pub addr: SocketAddr,
    /// For TCP: the connection a message came on, or must go out on. `None` on a transmit
    /// means "any connection to `addr`, opened if needed".
    pub conn: Option<ConnId>,
}

impl Peer {
    /// A UDP peer.
    pub fn udp(addr: SocketAddr) -> Self {
        Self {
            transport: Transport::Udp,
            addr,
            conn: None,
        }
    }

    /// A TCP peer, on a known connection or any.
    pub fn tcp(addr: SocketAddr, conn: Option<ConnId>) -> Self {
        Self {
            transport: Transport::Tcp,
            addr,
            conn,
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}",
            self.transport.via_name().to_ascii_lowercase(),
            self.addr
        )
    }
}

/// Bytes the driver must send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub to: Peer,
    /// One encoded SIP message.
    pub bytes: Wire,
}

//! Binding the sockets before the engine exists, so the user agent can be told the real
//! addresses (port 0 resolved).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpSocket};

use super::stats::DriverStats;
use super::udp_fd::UdpFd;
use super::DriverConfig;

/// The bound sockets, ready for [`run`](super::run).
#[derive(Debug)]
pub struct Sockets {
    /// The one UDP socket: every datagram in and out.
    pub(crate) udp: UdpFd,
    /// The TCP listener, if TCP is enabled.
    pub(crate) tcp: Option<TcpListener>,
    /// The configuration, for the loop's TCP timeouts and framing limit.
    pub(crate) config: DriverConfig,
    /// Counters, shared with [`Sockets::stats`] callers.
    pub(crate) stats: Arc<DriverStats>,
}

impl Sockets {
    /// The UDP address actually bound.
    pub fn udp_addr(&self) -> io::Result<SocketAddr> {
        self.udp.socket().local_addr()
    }

    /// The TCP address actually listened on, if TCP is enabled.
    pub fn tcp_addr(&self) -> io::Result<Option<SocketAddr>> {
        self.tcp.as_ref().map(TcpListener::local_addr).transpose()
    }

    /// The same sockets, registered with the runtime this is called in instead of the one
    /// they were bound in ([`spawn_thread`](super::spawn_thread) moves them to its own).
    pub(crate) fn moved_to_current_runtime(self) -> io::Result<Self> {
        let udp = UdpFd::new(self.udp.into_std()?)?;
        let tcp = match self.tcp {
            Some(listener) => Some(TcpListener::from_std(listener.into_std()?)?),
            None => None,
        };
        Ok(Self { udp, tcp, ..self })
    }

    /// The driver's counters; stays readable while (and after) the driver runs.
    pub fn stats(&self) -> Arc<DriverStats> {
        self.stats.clone()
    }
}

/// Binds the UDP socket and, if configured, the TCP listener. Must be called inside a tokio
/// runtime (the sockets register with its reactor).
pub fn bind(config: &DriverConfig) -> io::Result<Sockets> {
    let udp = bind_udp(config.udp, config.socket_buffer)?;
    let tcp = config
        .tcp
        .map(|addr| listen_tcp(addr, config.socket_buffer))
        .transpose()?;
    Ok(Sockets {
        udp,
        tcp,
        config: config.clone(),
        stats: Arc::new(DriverStats::default()),
    })
}

fn bind_udp(addr: SocketAddr, buffer: Option<usize>) -> io::Result<UdpFd> {
    // socket2 because the buffer sizes must be set before traffic arrives and tokio's
    // UdpSocket has no setter for them.
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if let Some(size) = buffer {
        socket.set_recv_buffer_size(size)?;
        socket.set_send_buffer_size(size)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpFd::new(socket.into())
}

fn listen_tcp(addr: SocketAddr, buffer: Option<usize>) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    // A restarted daemon must get its port back while old connections sit in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    if let Some(size) = buffer {
        // Accepted connections inherit these.
        let size = u32::try_from(size).unwrap_or(u32::MAX);
        socket.set_recv_buffer_size(size)?;
        socket.set_send_buffer_size(size)?;
    }
    socket.bind(addr)?;
    socket.listen(1024)
}

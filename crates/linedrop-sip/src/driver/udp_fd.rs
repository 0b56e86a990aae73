//! The UDP socket as the loop waits on it: for reading always, for writing only while
//! datagrams wait for room.
//!
//! Registered for both, as `tokio::net::UdpSocket` registers, the socket woke the loop for
//! every batch it sent: the kernel signals room to write each time a sent datagram's memory
//! is freed (at once over loopback, when the network card is done with it otherwise), and
//! with edge-triggered epoll each signal is an event (strace at 20 calls/s: an `epoll_wait`
//! that returned `EPOLLOUT` alone after every `sendmmsg`). The loop sends without waiting
//! and needs writability only once a send found the socket full, so on Unix the socket is
//! registered for reading alone, and a second descriptor of it (a `dup`) is registered for
//! writing while the backlog lasts.
//!
//! The registration is the unsafe part: tokio asks that the descriptor stay open and the
//! same while registered, which a `std::net::UdpSocket` owned by the registration does.

/// The socket the I/O closures are given.
#[cfg(unix)]
pub(crate) type RawUdp = std::net::UdpSocket;
/// The socket the I/O closures are given.
#[cfg(not(unix))]
pub(crate) type RawUdp = tokio::net::UdpSocket;

#[cfg(unix)]
pub(crate) use unix::UdpFd;

#[cfg(not(unix))]
pub(crate) use other::UdpFd;

#[cfg(unix)]
#[allow(unsafe_code)]
mod unix {
    use std::io;
    use std::net::UdpSocket;

    use tokio::io::unix::AsyncFd;
    use tokio::io::Interest;

    /// The registered socket. See the module docs.
    #[derive(Debug)]
    pub(crate) struct UdpFd {
        read: AsyncFd<UdpSocket>,
        /// A duplicate registered for writability, while the caller wants it.
        write: Option<AsyncFd<UdpSocket>>,
    }

    impl UdpFd {
        /// Registers `socket` (non-blocking) with the current runtime, for reading. Must be
        /// called inside a tokio runtime.
        pub(crate) fn new(socket: UdpSocket) -> io::Result<Self> {
            Ok(Self {
                read: register(socket, Interest::READABLE)?,
                write: None,
            })
        }

        /// The socket, for I/O that does not go through readiness (sends).
        pub(crate) fn socket(&self) -> &UdpSocket {
            self.read.get_ref()
        }

        /// The socket, unregistered.
        pub(crate) fn into_std(self) -> io::Result<UdpSocket> {
            Ok(self.read.into_inner())
        }

        /// Waits until the socket may be readable. The readiness stays until
        /// [`UdpFd::try_read`]'s closure says `WouldBlock`.
        pub(crate) async fn readable(&self) -> io::Result<()> {
            self.read.readable().await.map(drop)
        }

        /// Runs a read; a `WouldBlock` from `f` clears the readiness.
        pub(crate) fn try_read<R>(
            &self,
            f: impl FnOnce(&UdpSocket) -> io::Result<R>,
        ) -> io::Result<R> {
            self.read.try_io(Interest::READABLE, f)
        }

        /// Starts or stops watching for room to write. Starting registers a duplicate of
        /// the descriptor, which fails only as opening a file does.
        pub(crate) fn watch_writable(&mut self, on: bool) -> io::Result<()> {
            match (on, self.write.is_some()) {
                (true, false) => {
                    let dup = self.socket().try_clone()?;
                    self.write = Some(register(dup, Interest::WRITABLE)?);
                }
                (false, true) => self.write = None,
                _ => {}
            }
            Ok(())
        }

        /// Whether room to write is being watched.
        #[cfg(test)]
        pub(crate) fn watching(&self) -> bool {
            self.write.is_some()
        }

        /// Waits until the socket has room, while [`UdpFd::watch_writable`] is on (forever
        /// otherwise). Each wake-up is used once: a send that finds the socket full again
        /// waits for the next signal, which the kernel raises when room is freed.
        pub(crate) async fn writable(&self) -> io::Result<()> {
            match &self.write {
                Some(fd) => {
                    fd.writable().await?.clear_ready();
                    Ok(())
                }
                None => std::future::pending().await,
            }
        }
    }

    fn register(socket: UdpSocket, interest: Interest) -> io::Result<AsyncFd<UdpSocket>> {
        // SAFETY: the registration owns `socket`, whose descriptor stays open and the same
        // until the registration is dropped or gives it back (`into_inner`).
        unsafe { AsyncFd::register_with_interest(socket, interest) }.map_err(|e| e.into_parts().1)
    }
}

/// Elsewhere, tokio's socket, registered for both (each send may wake the loop).
#[cfg(not(unix))]
mod other {
    use std::io;

    use tokio::io::Interest;
    use tokio::net::UdpSocket;

    /// The registered socket.
    #[derive(Debug)]
    pub(crate) struct UdpFd {
        socket: UdpSocket,
    }

    impl UdpFd {
        pub(crate) fn new(socket: std::net::UdpSocket) -> io::Result<Self> {
            Ok(Self {
                socket: UdpSocket::from_std(socket)?,
            })
        }

        pub(crate) fn socket(&self) -> &UdpSocket {
            &self.socket
        }

        pub(crate) fn into_std(self) -> io::Result<std::net::UdpSocket> {
            self.socket.into_std()
        }

        pub(crate) async fn readable(&self) -> io::Result<()> {
            self.socket.readable().await
        }

        pub(crate) fn try_read<R>(
            &self,
            f: impl FnOnce(&UdpSocket) -> io::Result<R>,
        ) -> io::Result<R> {
            self.socket.try_io(Interest::READABLE, || f(&self.socket))
        }

        pub(crate) fn watch_writable(&mut self, _on: bool) -> io::Result<()> {
            Ok(())
        }

        pub(crate) async fn writable(&self) -> io::Result<()> {
            self.socket.writable().await
        }
    }
}

/// Sends one datagram without waiting (where `sendmmsg(2)` is not available).
#[cfg(not(target_os = "linux"))]
pub(crate) fn send_to(
    socket: &RawUdp,
    bytes: &[u8],
    to: std::net::SocketAddr,
) -> std::io::Result<usize> {
    #[cfg(unix)]
    return socket.send_to(bytes, to);
    #[cfg(not(unix))]
    return socket.try_send_to(bytes, to);
}

/// Reads one datagram without waiting (where `recvmmsg(2)` is not available).
#[cfg(not(target_os = "linux"))]
pub(crate) fn recv_from(
    socket: &RawUdp,
    buf: &mut [u8],
) -> std::io::Result<(usize, std::net::SocketAddr)> {
    #[cfg(unix)]
    return socket.recv_from(buf);
    #[cfg(not(unix))]
    return socket.try_recv_from(buf);
}

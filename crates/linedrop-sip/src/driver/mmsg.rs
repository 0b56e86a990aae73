//! `recvmmsg(2)` and `sendmmsg(2)`: up to [`SLOTS`] datagrams in one system call.
//!
//! Read one by one, a wake-up of the SIP loop cost a `recvfrom` per datagram plus one more
//! that found the socket empty; a batch that comes back short says the socket is empty
//! without it. Sent one by one, each answer of a wake-up was a `sendto` of its own.
//!
//! With `udp_fd`'s registration, the driver's only unsafe code: the system calls, and
//! reading the addresses they filled.
#![allow(unsafe_code)]

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;

use super::udp::DATAGRAM_MAX;
use crate::transaction::Wire;

/// Datagrams per call: a burst larger than this takes more calls, each still one.
pub(crate) const SLOTS: usize = 16;

/// Buffers and addresses for one batch, reused for every call.
pub(crate) struct Slots {
    /// `SLOTS` buffers of [`DATAGRAM_MAX`] bytes each, end to end: no datagram is ever cut
    /// short. Only the pages a datagram touches become resident.
    bufs: Vec<u8>,
    names: [libc::sockaddr_storage; SLOTS],
    lens: [usize; SLOTS],
}

impl std::fmt::Debug for Slots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slots").finish_non_exhaustive()
    }
}

impl Slots {
    pub(crate) fn new() -> Self {
        Self {
            bufs: vec![0; SLOTS * DATAGRAM_MAX],
            // SAFETY: all zeroes is a valid `sockaddr_storage` (an unspecified family).
            names: unsafe { std::mem::zeroed() },
            lens: [0; SLOTS],
        }
    }

    /// Reads what `socket` holds without waiting, up to [`SLOTS`] datagrams; `WouldBlock`
    /// when it holds none. Fewer than [`SLOTS`] means it is empty now.
    pub(crate) fn recv(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        let mut iovs: [libc::iovec; SLOTS] = std::array::from_fn(|i| libc::iovec {
            iov_base: self.bufs[i * DATAGRAM_MAX..].as_mut_ptr().cast(),
            iov_len: DATAGRAM_MAX,
        });
        // SAFETY: all zeroes is a valid `mmsghdr` (no name, no buffers, no control data).
        let mut hdrs: [libc::mmsghdr; SLOTS] = unsafe { std::mem::zeroed() };
        for (i, hdr) in hdrs.iter_mut().enumerate() {
            hdr.msg_hdr.msg_name = std::ptr::from_mut(&mut self.names[i]).cast();
            hdr.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            hdr.msg_hdr.msg_iov = std::ptr::from_mut(&mut iovs[i]);
            hdr.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every header points at a name and a buffer of the lengths it gives, owned
        // by `self` or this frame and alive for the call; the kernel writes only within them.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                hdrs.as_mut_ptr(),
                SLOTS as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
        for (len, hdr) in self.lens.iter_mut().zip(&hdrs[..n]) {
            *len = (hdr.msg_len as usize).min(DATAGRAM_MAX);
        }
        Ok(n)
    }

    /// Datagram `i` of the last batch and where it came from (`None` for an address family
    /// that UDP over IP cannot give).
    pub(crate) fn get(&self, i: usize) -> (&[u8], Option<SocketAddr>) {
        let start = i * DATAGRAM_MAX;
        let bytes = &self.bufs[start..start + self.lens[i]];
        (bytes, socket_addr(&self.names[i]))
    }
}

/// Sends `datagrams` in order, as many as the socket takes in one call (at most [`SLOTS`]):
/// how many went. An error (`WouldBlock` too) is the first datagram's: one that fails later
/// ends the batch short, and sending again from there reports it.
pub(crate) fn send(socket: &UdpSocket, datagrams: &[(SocketAddr, Wire)]) -> io::Result<usize> {
    let datagrams = &datagrams[..datagrams.len().min(SLOTS)];
    let mut names: [Name; SLOTS] = std::array::from_fn(|_| Name::empty());
    let mut iovs: [libc::iovec; SLOTS] = std::array::from_fn(|_| libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    });
    // SAFETY: all zeroes is a valid `mmsghdr` (no name, no buffers, no control data).
    let mut hdrs: [libc::mmsghdr; SLOTS] = unsafe { std::mem::zeroed() };
    for (i, (to, bytes)) in datagrams.iter().enumerate() {
        let len = names[i].set(*to);
        // The kernel only reads through it: `*mut` is the C struct's type, not a write.
        iovs[i].iov_base = bytes.as_ptr().cast_mut().cast();
        iovs[i].iov_len = bytes.len();
        hdrs[i].msg_hdr.msg_name = std::ptr::from_mut(&mut names[i]).cast();
        hdrs[i].msg_hdr.msg_namelen = len;
        hdrs[i].msg_hdr.msg_iov = std::ptr::from_mut(&mut iovs[i]);
        hdrs[i].msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: the first `datagrams.len()` headers point at names and buffers of the lengths
    // they give, alive for the call; the kernel only reads them (and writes `msg_len`).
    let n = unsafe {
        libc::sendmmsg(
            socket.as_raw_fd(),
            hdrs.as_mut_ptr(),
            datagrams.len() as libc::c_uint,
            libc::MSG_DONTWAIT,
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// A destination address as the kernel takes it.
#[repr(C)]
union Name {
    v4: libc::sockaddr_in,
    v6: libc::sockaddr_in6,
}

impl Name {
    fn empty() -> Self {
        // SAFETY: all zeroes is a valid `sockaddr_in6` (an unspecified family).
        Name {
            v6: unsafe { std::mem::zeroed() },
        }
    }

    /// Writes `addr`; returns its length.
    fn set(&mut self, addr: SocketAddr) -> libc::socklen_t {
        match addr {
            SocketAddr::V4(a) => {
                self.v4 = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from(*a.ip()).to_be(),
                    },
                    sin_zero: [0; 8],
                };
                size_of::<libc::sockaddr_in>() as libc::socklen_t
            }
            SocketAddr::V6(a) => {
                self.v6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                size_of::<libc::sockaddr_in6>() as libc::socklen_t
            }
        }
    }
}

fn socket_addr(name: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match libc::c_int::from(name.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a `sockaddr_in`, which it can.
            let a: &libc::sockaddr_in = unsafe { &*std::ptr::from_ref(name).cast() };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for a `sockaddr_in6`.
            let a: &libc::sockaddr_in6 = unsafe { &*std::ptr::from_ref(name).cast() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(a.sin6_addr.s6_addr),
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends `n` numbered datagrams from `from` to `to`. On loopback a datagram is queued
    /// at the receiver before `send_to` returns.
    fn sent(to: &UdpSocket, from: &UdpSocket, n: usize) {
        let addr = to.local_addr().expect("addr");
        for i in 0..n {
            from.send_to(format!("datagram {i}").as_bytes(), addr)
                .expect("send");
        }
    }

    #[test]
    fn a_batch_reads_what_the_socket_holds_in_order_and_comes_back_short_once_empty() {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let peer = UdpSocket::bind("127.0.0.1:0").expect("bind");
        sent(&socket, &peer, SLOTS + 4);
        let mut slots = Slots::new();
        let mut seen = Vec::new();
        for expected in [SLOTS, 4] {
            assert_eq!(slots.recv(&socket).expect("recv"), expected);
            for i in 0..expected {
                let (bytes, from) = slots.get(i);
                assert_eq!(from, Some(peer.local_addr().expect("addr")));
                seen.push(String::from_utf8(bytes.to_vec()).expect("text"));
            }
        }
        let want: Vec<String> = (0..SLOTS + 4).map(|i| format!("datagram {i}")).collect();
        assert_eq!(seen, want);
        let empty = slots.recv(&socket).expect_err("nothing left");
        assert_eq!(empty.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn a_datagram_as_long_as_udp_allows_is_read_whole_and_an_ipv6_sender_named() {
        let Ok(socket) = UdpSocket::bind("[::1]:0") else {
            eprintln!("no IPv6 loopback here: the IPv6 half is not checked");
            return;
        };
        let peer = UdpSocket::bind("[::1]:0").expect("bind");
        let long = vec![b'x'; 65_000];
        peer.send_to(&long, socket.local_addr().expect("addr"))
            .expect("send");
        let mut slots = Slots::new();
        assert_eq!(slots.recv(&socket).expect("recv"), 1);
        let (bytes, from) = slots.get(0);
        assert_eq!(bytes.len(), long.len());
        assert_eq!(from, Some(peer.local_addr().expect("addr")));
    }
}

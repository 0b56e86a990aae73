//! Decimal numbers and IPv4 addresses as text without the `fmt` machinery.
//!
//! Every message the stack builds writes a few of them (ports, Content-Length, CSeq, the
//! `received` address), and `core::fmt` with its padding support costs several times the
//! work of writing the digits. The output is the same as `Display`'s.

use std::net::{IpAddr, Ipv4Addr};

/// Up to 20 ASCII digits (`u64::MAX`) or a dotted IPv4 address (15 bytes), on the stack.
#[derive(Clone, Copy)]
pub(crate) struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    /// `n` in decimal, as `n.to_string()` writes it.
    pub(crate) fn of(n: u64) -> Self {
        let mut d = Digits {
            buf: [0; 20],
            start: 20,
        };
        d.prepend_decimal(n);
        d
    }

    /// `a` dotted, as `a.to_string()` writes it.
    pub(crate) fn of_ipv4(a: Ipv4Addr) -> Self {
        let mut d = Digits {
            buf: [0; 20],
            start: 20,
        };
        for (i, octet) in a.octets().iter().rev().enumerate() {
            if i > 0 {
                d.prepend(b'.');
            }
            d.prepend_decimal(u64::from(*octet));
        }
        d
    }

    fn prepend(&mut self, b: u8) {
        if let Some(start) = self.start.checked_sub(1) {
            if let Some(slot) = self.buf.get_mut(start) {
                *slot = b;
                self.start = start;
            }
        }
    }

    fn prepend_decimal(&mut self, mut n: u64) {
        loop {
            // Invariant: `n % 10` is below 10, so the cast cannot truncate.
            self.prepend(b'0' + (n % 10) as u8);
            n /= 10;
            if n == 0 {
                break;
            }
        }
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        // Invariant: only ASCII digits and dots are ever written.
        std::str::from_utf8(self.buf.get(self.start..).unwrap_or_default()).unwrap_or_default()
    }
}

/// `ip.to_string()`, without `fmt` for IPv4.
pub(crate) fn ip_string(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => Digits::of_ipv4(a).as_str().to_owned(),
        IpAddr::V6(a) => a.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_as_display() {
        for n in [
            0,
            7,
            10,
            99,
            100,
            5060,
            65535,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            assert_eq!(Digits::of(n).as_str(), n.to_string());
        }
        for a in [
            Ipv4Addr::new(0, 0, 0, 0),
            Ipv4Addr::new(127, 0, 0, 1),
            Ipv4Addr::new(255, 255, 255, 255),
            Ipv4Addr::new(10, 200, 3, 40),
        ] {
            assert_eq!(Digits::of_ipv4(a).as_str(), a.to_string());
            assert_eq!(ip_string(IpAddr::V4(a)), a.to_string());
        }
        let v6: IpAddr = "2001:db8::1".parse().expect("literal");
        assert_eq!(ip_string(v6), v6.to_string());
    }
}

//! Hosts: domain names, IPv4 addresses and IPv6 references (RFC 3261 §25.1, RFC 5118).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::digits::Digits;
use super::error::UriError;
use super::text::is_host_char;

/// The host of a URI or of a Via sent-by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A domain name, as written (compare with `eq_ignore_ascii_case`).
    Domain(String),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address, written in brackets (`[2001:db8::1]`).
    Ipv6(Ipv6Addr),
}

impl Host {
    /// Parses a host: `[IPv6]`, dotted IPv4, or a domain name.
    ///
    /// The three-colon IPv6 form that RFC 3261's ABNF allows by mistake
    /// (`[2001:db8:::192.0.2.1]`) is tolerated, as RFC 5118 §4.10 requires.
    pub fn parse(s: &str) -> Result<Host, UriError> {
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or(UriError::BadHost)?;
            return parse_ipv6(inner).map(Host::Ipv6).ok_or(UriError::BadHost);
        }
        if let Some(v4) = dotted_quad(s.as_bytes()) {
            return Ok(Host::Ipv4(v4));
        }
        if s.is_empty() || !s.bytes().all(is_host_char) {
            return Err(UriError::BadHost);
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            if let Ok(v4) = s.parse::<Ipv4Addr>() {
                return Ok(Host::Ipv4(v4));
            }
        }
        if s.starts_with(['.', '-']) || s.contains("..") {
            return Err(UriError::BadHost);
        }
        Ok(Host::Domain(s.to_owned()))
    }

    /// The IP address, if the host is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Domain(_) => None,
            Host::Ipv4(a) => Some(IpAddr::V4(*a)),
            Host::Ipv6(a) => Some(IpAddr::V6(*a)),
        }
    }
}

/// An IPv4 address in its plain form (four decimal octets, no leading zeros), read in one pass:
/// most hosts in a message are one. Anything else is `None` and left to the general parser,
/// which decides the same way on what this accepts.
fn dotted_quad(s: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = s.split(|&b| b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part.first() == Some(&b'0')) {
            return None;
        }
        let mut n: u16 = 0;
        for &b in part {
            if !b.is_ascii_digit() {
                return None;
            }
            n = n * 10 + u16::from(b - b'0');
        }
        *octet = u8::try_from(n).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

/// Parses an IPv6 address, with or without brackets, tolerating `:::` before an embedded IPv4
/// address (RFC 5118 §4.10).
pub(crate) fn parse_ipv6(s: &str) -> Option<Ipv6Addr> {
    let s = s
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s);
    if let Ok(a) = s.parse::<Ipv6Addr>() {
        return Some(a);
    }
    if s.matches(":::").count() == 1 && s.contains('.') {
        return s.replacen(":::", "::", 1).parse().ok();
    }
    None
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::Ipv4(a) => f.write_str(Digits::of_ipv4(*a).as_str()),
            Host::Ipv6(a) => write!(f, "[{a}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse_and_print() {
        for s in [
            "example.com",
            "192.0.2.1",
            "[2001:db8::10]",
            "[::ffff:192.0.2.2]",
        ] {
            let h = Host::parse(s).expect("valid host");
            assert_eq!(Host::parse(&h.to_string()), Ok(h));
        }
        assert_eq!(
            Host::parse("[2001:db8::10:5070]"),
            Ok(Host::Ipv6("2001:db8::10:5070".parse().expect("literal")))
        );
    }

    #[test]
    fn dotted_quads_agree_with_the_general_parser() {
        for s in [
            "0.0.0.0",
            "127.0.0.1",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..3.4",
            "1.2.3.4.",
            "1.2.3.1000",
            "a.b.c.d",
            "",
        ] {
            let general = s.parse::<Ipv4Addr>().ok();
            match dotted_quad(s.as_bytes()) {
                Some(a) => assert_eq!(Some(a), general, "{s}"),
                None => assert!(general.is_none() || s.starts_with('0'), "{s}"),
            }
        }
        assert_eq!(Host::parse("01.2.3.4"), Ok(Host::Domain("01.2.3.4".into())));
        assert_eq!(
            Host::parse("10.0.0.1"),
            Ok(Host::Ipv4(Ipv4Addr::new(10, 0, 0, 1)))
        );
    }

    #[test]
    fn three_colon_form_is_tolerated() {
        assert_eq!(
            Host::parse("[2001:db8:::192.0.2.1]"),
            Host::parse("[2001:db8::192.0.2.1]")
        );
    }

    #[test]
    fn bad_hosts_are_refused() {
        for s in [
            "",
            "[2001:db8::1",
            "[zz::1]",
            "a b",
            "a..b",
            ".a",
            "exa<mple",
        ] {
            assert_eq!(Host::parse(s), Err(UriError::BadHost), "{s:?}");
        }
    }
}

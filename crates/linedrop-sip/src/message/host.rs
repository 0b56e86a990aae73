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

//! The Via header (RFC 3261 §20.42, §18.2.1; RFC 3581 rport; RFC 5118 §4.5).

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use crate::message::digits::Digits;
use crate::message::error::HeaderError;
use crate::message::host::{parse_ipv6, Host};
use crate::message::params::{parse_header_params, Param, Params};
use crate::message::text::{is_host_char, Scanner};

/// The RFC 3261 magic cookie that starts every branch of a compliant client.
pub const BRANCH_MAGIC_COOKIE: &str = "z9hG4bK";

/// The transport of a Via.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// SCTP.
    Sctp,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket (RFC 7118).
    Wss,
    /// Any other transport token, as written.
    Other(String),
}

impl Transport {
    fn from_token(t: &str) -> Transport {
        const KNOWN: [(&str, Transport); 6] = [
            ("UDP", Transport::Udp),
            ("TCP", Transport::Tcp),
            ("TLS", Transport::Tls),
            ("SCTP", Transport::Sctp),
            ("WS", Transport::Ws),
            ("WSS", Transport::Wss),
        ];
        KNOWN
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(t))
            .map_or_else(|| Transport::Other(t.to_owned()), |(_, v)| v.clone())
    }

    /// The transport as written in a Via.
    pub fn as_str(&self) -> &str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Sctp => "SCTP",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
            Transport::Other(s) => s,
        }
    }
}

/// One Via value: `SIP/2.0/UDP host:port;branch=...`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Via {
    /// The protocol name, `SIP`.
    ///
    /// Not copied when it is the usual `SIP` (nor the version when `2.0`): a Via is parsed in
    /// every message, and these would be two allocations each time.
    pub protocol: Cow<'static, str>,
    /// The protocol version, `2.0`.
    pub version: Cow<'static, str>,
    /// The transport.
    pub transport: Transport,
    /// The host of the sent-by.
    pub host: Host,
    /// The port of the sent-by, if written.
    pub port: Option<u16>,
    /// The parameters (branch, received, rport, maddr, ttl, extensions).
    pub params: Params,
}

impl Via {
    /// A `SIP/2.0/<transport>` Via with a branch, as a client transaction sends it.
    pub fn new(transport: Transport, host: Host, port: Option<u16>, branch: &str) -> Self {
        Via {
            protocol: Cow::Borrowed("SIP"),
            version: Cow::Borrowed("2.0"),
            transport,
            host,
            port,
            params: Params(vec![Param::new("branch", branch)]),
        }
    }

    /// Parses one Via value (not a comma-separated list), unfolded.
    ///
    /// Not memoized, unlike the addresses: a Via's branch is new in every transaction, so its
    /// text never comes back but in a retransmission, and a parsed message keeps its top Via
    /// (see `header::parsed`).
    pub fn parse(s: &str) -> Result<Via, HeaderError> {
        parse_via(s)
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.value("branch").flatten()
    }

    /// Whether the branch follows RFC 3261 (magic cookie plus at least one more character).
    /// A bare `z9hG4bK` (RFC 4475 §3.2.1) or no branch means RFC 2543 transaction matching,
    /// or a `400`: the transaction layer's choice.
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch().is_some_and(|b| {
            b.len() > BRANCH_MAGIC_COOKIE.len() && b.starts_with(BRANCH_MAGIC_COOKIE)
        })
    }

    /// The `received` parameter as written.
    pub fn received(&self) -> Option<&str> {
        self.params.value("received").flatten()
    }

    /// The `received` address, with or without IPv6 brackets (RFC 5118 §4.5 asks for both).
    pub fn received_ip(&self) -> Option<IpAddr> {
        let r = self.received()?;
        r.parse::<IpAddr>()
            .ok()
            .or_else(|| parse_ipv6(r).map(IpAddr::V6))
    }

    /// The `rport` parameter (RFC 3581): `None` if absent, `Some(None)` when present without a
    /// value (a request asking for it), `Some(Some(port))` when filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .value("rport")
            .map(|v| v.and_then(|p| p.parse().ok()))
    }
}

fn parse_via(s: &str) -> Result<Via, HeaderError> {
    let mut sc = Scanner::new(s);
    sc.skip_ws();
    let protocol = sc.token().ok_or(HeaderError::BadSentProtocol)?;
    let slash = |sc: &mut Scanner<'_>| {
        sc.skip_ws();
        let ok = sc.eat(b'/');
        sc.skip_ws();
        ok
    };
    if !slash(&mut sc) {
        return Err(HeaderError::BadSentProtocol);
    }
    let version = sc.token().ok_or(HeaderError::BadSentProtocol)?;
    if !slash(&mut sc) {
        return Err(HeaderError::BadSentProtocol);
    }
    let transport = sc.token().ok_or(HeaderError::BadSentProtocol)?;
    if !sc.skip_ws() {
        return Err(HeaderError::BadSentProtocol);
    }
    let host_text = if sc.peek() == Some(b'[') {
        let rest = sc.rest();
        let end = rest.find(']').ok_or(HeaderError::BadHost)?;
        sc.set_pos(sc.pos() + end + 1);
        rest.get(..=end).ok_or(HeaderError::BadHost)?
    } else {
        sc.take_while(is_host_char)
    };
    let host = Host::parse(host_text).map_err(|_| HeaderError::BadHost)?;
    let save = sc.pos();
    sc.skip_ws();
    let port = if sc.eat(b':') {
        sc.skip_ws();
        let digits = sc.take_while(|b| b.is_ascii_digit());
        Some(digits.parse::<u16>().map_err(|_| HeaderError::BadPort)?)
    } else {
        sc.set_pos(save);
        None
    };
    let params = parse_header_params(&mut sc)?;
    sc.expect_end()?;
    Ok(Via {
        protocol: usual(protocol, "SIP"),
        version: usual(version, "2.0"),
        transport: Transport::from_token(transport),
        host,
        port,
        params,
    })
}

/// `text`, borrowed from `usual` when it is spelled exactly so (its case is kept otherwise).
fn usual(text: &str, usual: &'static str) -> Cow<'static, str> {
    if text == usual {
        Cow::Borrowed(usual)
    } else {
        Cow::Owned(text.to_owned())
    }
}

impl Via {
    /// The text of this Via after `self.params.set(name, Some(value))` for each pair of `set`
    /// in order (their names all different), without copying the Via to change it: a UAS
    /// writes its request's top Via back with `received` and `rport` filled in.
    pub(crate) fn to_string_with(&self, set: &[(&str, &str)]) -> String {
        With { via: self, set }.to_string()
    }
}

/// A Via written with some parameter values replaced or added (see [`Via::to_string_with`]).
struct With<'a> {
    via: &'a Via,
    set: &'a [(&'a str, &'a str)],
}

impl fmt::Display for With<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.via;
        f.write_str(&v.protocol)?;
        f.write_str("/")?;
        f.write_str(&v.version)?;
        f.write_str("/")?;
        f.write_str(v.transport.as_str())?;
        f.write_str(" ")?;
        fmt::Display::fmt(&v.host, f)?;
        if let Some(p) = v.port {
            f.write_str(":")?;
            f.write_str(Digits::of(u64::from(p)).as_str())?;
        }
        if self.set.is_empty() {
            return fmt::Display::fmt(&v.params, f);
        }
        // `Params::set` replaces the value of the first parameter of that name, in place, or
        // appends one.
        let first_of = |name: &str| v.params.iter().position(|p| p.is(name));
        for (i, p) in v.params.iter().enumerate() {
            f.write_str(";")?;
            f.write_str(p.name())?;
            let new = self.set.iter().find(|(n, _)| first_of(n) == Some(i));
            if let Some(value) = new.map(|(_, v)| Some(*v)).unwrap_or(p.value()) {
                f.write_str("=")?;
                f.write_str(value)?;
            }
        }
        for (name, value) in self.set {
            if first_of(name).is_none() {
                f.write_str(";")?;
                f.write_str(name)?;
                f.write_str("=")?;
                f.write_str(value)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(
            &With {
                via: self,
                set: &[],
            },
            f,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_parses_and_prints() {
        let v = Via::parse("SIP/2.0/UDP pc33.example.com:5066;branch=z9hG4bK776asdhds;rport")
            .expect("valid");
        assert_eq!(v.transport, Transport::Udp);
        assert_eq!(v.host, Host::Domain("pc33.example.com".into()));
        assert_eq!(v.port, Some(5066));
        assert_eq!(v.branch(), Some("z9hG4bK776asdhds"));
        assert!(v.has_rfc3261_branch());
        assert_eq!(v.rport(), Some(None));
        assert_eq!(Via::parse(&v.to_string()), Ok(v));
    }

    #[test]
    fn whitespace_everywhere_is_allowed() {
        let v = Via::parse("SIP  /   2.0  /UDP    192.0.2.2 : 5060 ;  branch  =   z9hG4bK9ikj8  ")
            .expect("valid");
        assert_eq!(v.port, Some(5060));
        assert_eq!(v.branch(), Some("z9hG4bK9ikj8"));
    }

    #[test]
    fn ipv6_sent_by_and_received() {
        let v = Via::parse(
            "SIP/2.0/UDP [2001:db8::9:1]:6050;received=2001:db8::9:255;branch=z9hG4bKas3",
        )
        .expect("valid");
        assert_eq!(v.port, Some(6050));
        assert_eq!(v.received_ip(), "2001:db8::9:255".parse().ok());
        let v = Via::parse("SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];rport=5060")
            .expect("valid");
        assert_eq!(v.received_ip(), "2001:db8::9:255".parse().ok());
        assert_eq!(v.rport(), Some(Some(5060)));
    }

    #[test]
    fn writing_with_values_is_setting_them() {
        for s in [
            "SIP/2.0/UDP h:5060;branch=z9hG4bK1;rport",
            "SIP/2.0/UDP h;RPORT=9;branch=z9hG4bK1;received=1.2.3.4;rport",
            "SIP/2.0/TCP [::1]:5;%72port;x",
            "SIP/2.0/UDP h",
        ] {
            let via = Via::parse(s).expect("valid");
            for set in [
                &[("rport", "5061"), ("received", "10.0.0.1")][..],
                &[("received", "::2")][..],
                &[][..],
            ] {
                let mut expected = via.clone();
                for (n, v) in set {
                    expected.params.set(n, Some((*v).to_owned()));
                }
                assert_eq!(via.to_string_with(set), expected.to_string(), "{s} {set:?}");
            }
        }
    }

    #[test]
    fn unknown_transport_is_kept() {
        let v = Via::parse("SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en").expect("valid");
        assert_eq!(v.transport, Transport::Other("UNKNOWN".into()));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en"
        );
    }

    #[test]
    fn malformed_vias_are_refused() {
        let cases = [
            ("SIP/2.0/UDP 192.0.2.15;;", HeaderError::BadParam),
            ("SIP/2.0 host", HeaderError::BadSentProtocol),
            ("SIP/2.0/UDPhost", HeaderError::BadSentProtocol),
            ("SIP/2.0/UDP", HeaderError::BadSentProtocol),
            ("SIP/2.0/UDP host:99999", HeaderError::BadPort),
            ("SIP/2.0/UDP host extra", HeaderError::TrailingGarbage),
            ("SIP/2.0/UDP [::1", HeaderError::BadHost),
        ];
        for (s, e) in cases {
            assert_eq!(Via::parse(s), Err(e), "{s:?}");
        }
        let bare = Via::parse("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK").expect("valid syntax");
        assert!(!bare.has_rfc3261_branch());
    }
}

//! URIs: SIP and SIPS URIs parsed into parts (RFC 3261 §19.1), any other scheme kept opaque.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use super::digits::Digits;
use super::error::UriError;
use super::header::memo::{memoized, with_parsed, Memo};
use super::host::Host;
use super::params::{Param, Params};
use super::text::{all_escaped_or, is_unreserved, percent_decode};

thread_local! {
    /// The URIs of the message being handled (see [`super::header::memo`]).
    static PARSED: RefCell<Memo<Uri, UriError, 6>> = const { RefCell::new(Memo::new()) };
    /// The text of the SIP URIs written out last (see [`Uri::text`]), by the parsed URI.
    static WRITTEN: RefCell<Written> = const { RefCell::new(Written::new()) };
}

/// `uri` written out, into a buffer with room for a typical URI from the start
/// (`to_string` grows its buffer from empty: three or four reallocations a URI).
fn written(uri: &impl fmt::Display) -> Arc<str> {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(64);
    // Invariant: writing into a String cannot fail.
    let _ = write!(text, "{uri}");
    text.into()
}

/// How many written-out URIs [`Uri::text`] keeps per thread: a peer's From and To URIs.
const WRITTEN_SLOTS: usize = 4;

/// The last few SIP URIs written out, each with its text. A slot keeps its URI alive, so a
/// pointer found here is never a freed one reused.
struct Written {
    slots: [Option<(Arc<SipUri>, Arc<str>)>; WRITTEN_SLOTS],
    next: usize,
}

impl Written {
    const fn new() -> Self {
        Written {
            slots: [const { None }; WRITTEN_SLOTS],
            next: 0,
        }
    }

    fn text(&mut self, uri: &Arc<SipUri>) -> Arc<str> {
        let found = self
            .slots
            .iter()
            .flatten()
            .find(|(u, _)| Arc::ptr_eq(u, uri));
        if let Some((_, text)) = found {
            return Arc::clone(text);
        }
        let text = written(uri);
        if let Some(slot) = self.slots.get_mut(self.next) {
            *slot = Some((Arc::clone(uri), Arc::clone(&text)));
        }
        self.next = (self.next + 1) % WRITTEN_SLOTS;
        text
    }
}

/// A URI as it appears in a Request-URI, a name-addr or an addr-spec.
///
/// Unknown schemes parse: RFC 4475 §3.3.2 says a parser must accept `nobodyKnowsThisScheme:...`
/// in the Request-URI, and the user agent answers it with `416` after checking
/// [`Uri::is_sip`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Uri {
    /// A `sip:` or `sips:` URI. Shared: the parser's memo hands out the URIs a peer repeats
    /// (its Request-URI, the URIs in its From, To and Contact) several times per message,
    /// and a copy of all the parts cost about 8 allocations and 1.9k instructions per call
    /// under SIPp's uac (`bench/callgrind.sh`).
    Sip(Arc<SipUri>),
    /// Any other scheme (`tel:`, `http:`, `urn:`...), kept as written.
    Other(AbsoluteUri),
}

impl Uri {
    /// Parses a URI. Whitespace anywhere in it is an error (RFC 4475 §3.1.2.8, §3.1.2.14).
    pub fn parse(s: &str) -> Result<Uri, UriError> {
        memoized(&PARSED, s, parse_uri)
    }

    /// `read(&Uri::parse(s))`, without copying a URI parsed recently.
    pub(crate) fn parse_with<R>(s: &str, read: impl FnOnce(&Result<Uri, UriError>) -> R) -> R {
        with_parsed(&PARSED, s, parse_uri, read)
    }

    /// The URI written out, shared. A SIP URI the parser handed out again (the memo gives a
    /// peer's repeated URIs, such as the URIs of its From and To, as one shared value) gets
    /// the text written for it before: writing a URI out through `fmt` cost about 1k
    /// instructions and an allocation, twice for every inbound call.
    pub fn text(&self) -> Arc<str> {
        match self {
            Uri::Sip(sip) => WRITTEN
                .try_with(|w| match w.try_borrow_mut() {
                    Ok(mut w) => w.text(sip),
                    // Never nested (`text` calls out to nothing that comes back here).
                    Err(_) => written(sip),
                })
                .unwrap_or_else(|_| written(sip)),
            Uri::Other(_) => written(self),
        }
    }

    /// Parses a Request-URI: a URI without SIP URI headers (RFC 3261 §19.1.1 table;
    /// RFC 4475 §3.1.2.11).
    pub fn parse_request_uri(s: &str) -> Result<Uri, UriError> {
        let uri = Uri::parse(s)?;
        match &uri {
            Uri::Sip(sip) if !sip.headers.is_empty() => Err(UriError::HeadersNotAllowed),
            _ => Ok(uri),
        }
    }

    /// Whether this is a `sip:` or `sips:` URI. Anything else in a Request-URI is answered
    /// with `416 Unsupported URI Scheme`.
    pub fn is_sip(&self) -> bool {
        matches!(self, Uri::Sip(_))
    }

    /// The SIP URI, if it is one.
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(s) => Some(s.as_ref()),
            Uri::Other(_) => None,
        }
    }

    /// The scheme: `sip`, `sips`, or the other scheme as written.
    pub fn scheme(&self) -> &str {
        match self {
            Uri::Sip(s) if s.secure => "sips",
            Uri::Sip(_) => "sip",
            Uri::Other(o) => &o.scheme,
        }
    }
}

fn parse_uri(s: &str) -> Result<Uri, UriError> {
    if s.is_empty() {
        return Err(UriError::Empty);
    }
    if s.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(UriError::Whitespace);
    }
    if s.starts_with('<') && s.ends_with('>') {
        return Err(UriError::Bracketed);
    }
    let (scheme, rest) = s.split_once(':').ok_or(UriError::BadScheme)?;
    let mut sb = scheme.bytes();
    let scheme_ok = sb.next().is_some_and(|b| b.is_ascii_alphabetic())
        && sb.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return Err(UriError::BadScheme);
    }
    if scheme.eq_ignore_ascii_case("sip") {
        SipUri::parse_after_scheme(rest, false).map(Uri::from)
    } else if scheme.eq_ignore_ascii_case("sips") {
        SipUri::parse_after_scheme(rest, true).map(Uri::from)
    } else {
        if rest.is_empty() {
            return Err(UriError::Empty);
        }
        if rest.bytes().any(|b| {
            !b.is_ascii()
                || matches!(
                    b,
                    b'<' | b'>' | b'"' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}'
                )
        }) {
            return Err(UriError::BadCharacter);
        }
        Ok(Uri::Other(AbsoluteUri {
            scheme: scheme.to_owned(),
            rest: rest.to_owned(),
        }))
    }
}

impl From<SipUri> for Uri {
    fn from(u: SipUri) -> Self {
        Uri::Sip(Arc::new(u))
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(s) => s.fmt(f),
            Uri::Other(o) => o.fmt(f),
        }
    }
}

/// A URI of a scheme the codec does not interpret: `scheme:rest`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AbsoluteUri {
    scheme: String,
    rest: String,
}

impl AbsoluteUri {
    /// The scheme as written.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// Everything after the first colon, as written.
    pub fn rest(&self) -> &str {
        &self.rest
    }
}

impl fmt::Display for AbsoluteUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.scheme, self.rest)
    }
}

/// A header embedded in a SIP URI (`?name=value`), kept escaped as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UriHeader {
    /// The name as written.
    pub name: String,
    /// The value as written (escaped).
    pub value: String,
}

/// A `sip:` or `sips:` URI, its parts kept as written (escapes included).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SipUri {
    /// `sips:` rather than `sip:`.
    pub secure: bool,
    /// The user part, escaped as written (`sips%3Auser%40example.com`).
    pub user: Option<String>,
    /// The password, escaped as written.
    pub password: Option<String>,
    /// The host.
    pub host: Host,
    /// The port, if written.
    pub port: Option<u16>,
    /// The URI parameters, escaped as written.
    pub params: Params,
    /// The URI headers (`?Route=...`), escaped as written.
    pub headers: Vec<UriHeader>,
}

impl SipUri {
    /// A `sip:` URI with only a host.
    pub fn new(host: Host) -> Self {
        SipUri {
            secure: false,
            user: None,
            password: None,
            host,
            port: None,
            params: Params::new(),
            headers: Vec::new(),
        }
    }

    /// The user part with its escapes decoded. Bytes, not a string: `%00` is legal
    /// (RFC 4475 §3.1.1.4) and must not shorten the user.
    pub fn user_unescaped(&self) -> Option<Vec<u8>> {
        self.user.as_deref().map(percent_decode)
    }

    /// The value of URI parameter `name`: `None` if absent, `Some(None)` if it has no value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params.value(name)
    }

    fn parse_after_scheme(rest: &str, secure: bool) -> Result<SipUri, UriError> {
        let (userinfo, hostpart) = match rest.split_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(ui) => {
                let (user, password) = match ui.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (ui, None),
                };
                if user.is_empty() {
                    return Err(UriError::BadUser);
                }
                check(user, is_user_char, UriError::BadUser)?;
                if let Some(p) = password {
                    check(p, is_password_char, UriError::BadPassword)?;
                }
                (Some(user.to_owned()), password.map(str::to_owned))
            }
        };

        let host_end = if hostpart.starts_with('[') {
            hostpart.find(']').map(|i| i + 1).ok_or(UriError::BadHost)?
        } else {
            hostpart
                .bytes()
                .position(|b| matches!(b, b':' | b';' | b'?'))
                .unwrap_or(hostpart.len())
        };
        let (host_text, mut after) = hostpart
            .split_at_checked(host_end)
            .ok_or(UriError::BadHost)?;
        let host = Host::parse(host_text)?;

        let mut port = None;
        if let Some(p) = after.strip_prefix(':') {
            let end = p
                .bytes()
                .position(|b| matches!(b, b';' | b'?'))
                .unwrap_or(p.len());
            let (digits, tail) = p.split_at_checked(end).ok_or(UriError::BadPort)?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(UriError::BadPort);
            }
            port = Some(digits.parse::<u16>().map_err(|_| UriError::BadPort)?);
            after = tail;
        }

        let (param_text, header_text) = match after.split_once('?') {
            Some((p, h)) => (p, Some(h)),
            None => (after, None),
        };
        let mut params = Params::new();
        if !param_text.is_empty() {
            let body = param_text.strip_prefix(';').ok_or(UriError::BadHost)?;
            for item in body.split(';') {
                let (name, value) = match item.split_once('=') {
                    Some((n, v)) => (n, Some(v)),
                    None => (item, None),
                };
                if name.is_empty() || value.is_some_and(str::is_empty) {
                    return Err(UriError::BadParam);
                }
                check(name, is_param_char, UriError::BadParam)?;
                if let Some(v) = value {
                    check(v, is_param_char, UriError::BadParam)?;
                }
                params.push(Param::of(name, value));
            }
        }
        let mut headers = Vec::new();
        if let Some(h) = header_text {
            for item in h.split('&') {
                let (name, value) = item.split_once('=').ok_or(UriError::BadHeader)?;
                if name.is_empty() {
                    return Err(UriError::BadHeader);
                }
                check(name, is_hnv_char, UriError::BadHeader)?;
                check(value, is_hnv_char, UriError::BadHeader)?;
                headers.push(UriHeader {
                    name: name.to_owned(),
                    value: value.to_owned(),
                });
            }
        }
        Ok(SipUri {
            secure,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }
}

fn check(s: &str, allowed: fn(u8) -> bool, fault: UriError) -> Result<(), UriError> {
    all_escaped_or(s, allowed).map_err(|bad_escape| {
        if bad_escape {
            UriError::BadEscape
        } else {
            fault
        }
    })
}

fn is_user_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/')
}

fn is_password_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',')
}

fn is_param_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
}

fn is_hnv_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$')
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "sips:" } else { "sip:" })?;
        if let Some(user) = &self.user {
            f.write_str(user)?;
            if let Some(p) = &self.password {
                f.write_str(":")?;
                f.write_str(p)?;
            }
            f.write_str("@")?;
        }
        fmt::Display::fmt(&self.host, f)?;
        if let Some(port) = self.port {
            f.write_str(":")?;
            f.write_str(Digits::of(u64::from(port)).as_str())?;
        }
        fmt::Display::fmt(&self.params, f)?;
        for (i, h) in self.headers.iter().enumerate() {
            f.write_str(if i == 0 { "?" } else { "&" })?;
            f.write_str(&h.name)?;
            f.write_str("=")?;
            f.write_str(&h.value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(s: &str) -> SipUri {
        match Uri::parse(s) {
            Ok(Uri::Sip(u)) => SipUri::clone(&u),
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn text_is_the_uri_written_out_and_shared_for_a_repeated_uri() {
        let parse = |s: &str| Uri::parse(s).expect("valid");
        let a = parse("sip:alice@example.com;transport=udp");
        let again = parse("sip:alice@example.com;transport=udp");
        assert_eq!(&*a.text(), "sip:alice@example.com;transport=udp");
        assert!(Arc::ptr_eq(&a.text(), &again.text()), "written once");
        // Enough others to push it out of the memo: each gets its own text, and so does it.
        for i in 0..10 {
            assert_eq!(
                &*parse(&format!("sip:u{i}@h")).text(),
                format!("sip:u{i}@h")
            );
        }
        assert_eq!(&*a.text(), "sip:alice@example.com;transport=udp");
        assert_eq!(&*parse("tel:+1-201-555-0123").text(), "tel:+1-201-555-0123");
    }

    #[test]
    fn full_sip_uri_parses_and_prints() {
        let u = sip("sips:alice:secret@[2001:db8::1]:5061;transport=tcp;lr?Subject=hi&X=%20");
        assert!(u.secure);
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("secret"));
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.param("TRANSPORT"), Some(Some("tcp")));
        assert_eq!(u.param("lr"), Some(None));
        assert_eq!(u.headers.len(), 2);
        assert_eq!(Uri::parse(&u.to_string()), Ok(Uri::from(u)));
    }

    #[test]
    fn escaped_user_parts_decode() {
        let u = sip("sip:sips%3Auser%40example.com@example.net");
        assert_eq!(
            u.user_unescaped().as_deref(),
            Some(&b"sips:user@example.com"[..])
        );
        let u = sip("sip:user;par=u%40example.net@example.com");
        assert_eq!(
            u.user_unescaped().as_deref(),
            Some(&b"user;par=u@example.net"[..])
        );
        assert_eq!(u.host, Host::Domain("example.com".into()));
        let u = sip("sip:null-%00-null@example.com");
        assert_eq!(u.user_unescaped().map(|v| v.len()), Some(11));
    }

    #[test]
    fn other_schemes_stay_opaque() {
        let u = Uri::parse("nobodyKnowsThisScheme:totallyopaquecontent").expect("opaque");
        assert!(!u.is_sip());
        assert_eq!(u.scheme(), "nobodyKnowsThisScheme");
        assert_eq!(u.to_string(), "nobodyKnowsThisScheme:totallyopaquecontent");
        assert!(Uri::parse("tel:+1-201-555-0123").is_ok());
        assert!(Uri::parse("soap.beep://192.0.2.103:3002").is_ok());
    }

    #[test]
    fn malformed_uris_are_refused() {
        let cases = [
            ("", UriError::Empty),
            ("<sip:user@example.com>", UriError::Bracketed),
            ("<sip:user@example.com", UriError::BadScheme),
            ("sip:user@example.com; lr", UriError::Whitespace),
            (" sip:t.watson@example.org", UriError::Whitespace),
            ("sip:2001:db8::10", UriError::BadPort),
            ("sip:user@exa mple.com", UriError::Whitespace),
            ("sip:us<er@example.com", UriError::BadUser),
            ("sip:user@host:99999", UriError::BadPort),
            ("sip:user@host;;", UriError::BadParam),
            ("sip:%zz@host", UriError::BadEscape),
            ("sip:@host", UriError::BadUser),
            ("sip:user@", UriError::BadHost),
        ];
        for (s, e) in cases {
            assert_eq!(Uri::parse(s), Err(e), "{s:?}");
        }
        assert_eq!(
            Uri::parse_request_uri("sip:user@example.com?Route=%3Csip:example.com%3E"),
            Err(UriError::HeadersNotAllowed)
        );
    }

    #[test]
    fn unusual_but_legal_characters() {
        let u = sip("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com");
        assert_eq!(
            u.user.as_deref(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        assert_eq!(
            u.password.as_deref(),
            Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        );
    }
}

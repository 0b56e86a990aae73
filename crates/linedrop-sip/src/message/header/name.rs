//! Header names: canonical spellings, compact forms (RFC 3261 §7.3.3 and extensions) and
//! case-insensitive lookup.

use std::fmt;

macro_rules! header_names {
    ($($variant:ident => $canonical:literal $(, $compact:literal)?;)*) => {
        /// A header the codec knows by name. Unknown headers are still kept, and looked up by
        /// their text with [`Headers::get_all_by_name`](super::Headers::get_all_by_name).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum HeaderName {
            $(
                #[doc = concat!("`", $canonical, "`" $(, " (compact form `", $compact, "`)")?, ".")]
                $variant,
            )*
        }

        const TABLE: &[(HeaderName, &str, Option<&str>)] = &[
            $((HeaderName::$variant, $canonical, header_names!(@compact $($compact)?)),)*
        ];

        impl HeaderName {
            /// The canonical spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(HeaderName::$variant => $canonical,)*
                }
            }
        }
    };
    (@compact) => { None };
    (@compact $c:literal) => { Some($c) };
}

header_names! {
    Accept => "Accept";
    AcceptContact => "Accept-Contact", "a";
    AcceptEncoding => "Accept-Encoding";
    AcceptLanguage => "Accept-Language";
    AlertInfo => "Alert-Info";
    Allow => "Allow";
    AllowEvents => "Allow-Events", "u";
    AuthenticationInfo => "Authentication-Info";
    Authorization => "Authorization";
    CallId => "Call-ID", "i";
    CallInfo => "Call-Info";
    Contact => "Contact", "m";
    ContentDisposition => "Content-Disposition";
    ContentEncoding => "Content-Encoding", "e";
    ContentLanguage => "Content-Language";
    ContentLength => "Content-Length", "l";
    ContentType => "Content-Type", "c";
    CSeq => "CSeq";
    Date => "Date";
    ErrorInfo => "Error-Info";
    Event => "Event", "o";
    Expires => "Expires";
    From => "From", "f";
    Identity => "Identity", "y";
    InReplyTo => "In-Reply-To";
    MaxForwards => "Max-Forwards";
    MimeVersion => "MIME-Version";
    MinExpires => "Min-Expires";
    MinSe => "Min-SE";
    Organization => "Organization";
    Priority => "Priority";
    ProxyAuthenticate => "Proxy-Authenticate";
    ProxyAuthorization => "Proxy-Authorization";
    ProxyRequire => "Proxy-Require";
    RAck => "RAck";
    Reason => "Reason";
    RecordRoute => "Record-Route";
    ReferTo => "Refer-To", "r";
    ReferredBy => "Referred-By", "b";
    RejectContact => "Reject-Contact", "j";
    Replaces => "Replaces";
    ReplyTo => "Reply-To";
    RequestDisposition => "Request-Disposition", "d";
    Require => "Require";
    RetryAfter => "Retry-After";
    Route => "Route";
    RSeq => "RSeq";
    Server => "Server";
    SessionExpires => "Session-Expires", "x";
    Subject => "Subject", "s";
    SubscriptionState => "Subscription-State";
    Supported => "Supported", "k";
    Timestamp => "Timestamp";
    To => "To", "t";
    Unsupported => "Unsupported";
    UserAgent => "User-Agent";
    Via => "Via", "v";
    Warning => "Warning";
    WwwAuthenticate => "WWW-Authenticate";
}

impl HeaderName {
    /// Looks a name up, ignoring ASCII case and mapping compact forms to their header:
    /// `v`, `VIA` and `via` are all [`HeaderName::Via`].
    pub fn from_name(name: &str) -> Option<HeaderName> {
        HeaderName::from_bytes(name.as_bytes())
    }

    /// [`HeaderName::from_name`] for a name still in the received bytes (the parser names each
    /// header as it finds it, before the text is copied).
    pub(crate) fn from_bytes(name: &[u8]) -> Option<HeaderName> {
        // The parser looks up every name it reads: one hash of three bytes and, nearly
        // always, one comparison, rather than a walk down the table.
        let mut slot = spelling_hash(name);
        loop {
            let entry = LOOKUP.get(slot).copied().unwrap_or(0);
            if entry == 0 {
                return None;
            }
            let (h, full, compact) = TABLE.get(usize::from(entry & 0x7f).wrapping_sub(1))?;
            let spelled = if entry & 0x80 != 0 { (*compact)? } else { full };
            // Nearly every sender writes the canonical case: an exact comparison first, which
            // costs far less than one that folds case byte by byte.
            if spelled.len() == name.len()
                && (spelled.as_bytes() == name || spelled.as_bytes().eq_ignore_ascii_case(name))
            {
                return Some(*h);
            }
            slot = (slot + 1) % LOOKUP.len();
        }
    }

    /// The compact form, if the header has one.
    pub fn compact(self) -> Option<&'static str> {
        TABLE
            .iter()
            .find(|(h, _, _)| *h == self)
            .and_then(|(_, _, c)| *c)
    }
}

/// Where a spelling's search starts in [`LOOKUP`]: its length, first and last byte, case
/// folded.
const fn spelling_hash(s: &[u8]) -> usize {
    let (first, last) = match (s.first(), s.last()) {
        (Some(f), Some(l)) => (
            f.to_ascii_lowercase() as usize,
            l.to_ascii_lowercase() as usize,
        ),
        _ => (0, 0),
    };
    (s.len() * 31 + first * 7 + last) % 256
}

/// Every spelling (canonical and compact) by [`spelling_hash`], open addressing: an entry is
/// 1 + its index in [`TABLE`], with the high bit set for the compact form; 0 is empty.
static LOOKUP: [u8; 256] = {
    // Seven bits of index: the table must stay below 128 headers.
    assert!(TABLE.len() < 128);
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < TABLE.len() {
        let mut form = 0;
        while form < 2 {
            let spelling = match (form, TABLE[i].2) {
                (0, _) => Some(TABLE[i].1),
                (_, Some(c)) => Some(c),
                _ => None,
            };
            if let Some(sp) = spelling {
                let mut slot = spelling_hash(sp.as_bytes());
                // Evaluated at compile time: a full table fails the build, not a lookup.
                while t[slot] != 0 {
                    slot = (slot + 1) % 256;
                }
                t[slot] = (i as u8 + 1) | if form == 1 { 0x80 } else { 0 };
            }
            form += 1;
        }
        i += 1;
    }
    t
};

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_forms_and_case_map_to_one_name() {
        for n in ["Via", "v", "V", "vIA", "VIA"] {
            assert_eq!(HeaderName::from_name(n), Some(HeaderName::Via), "{n}");
        }
        let pairs = [
            ("i", HeaderName::CallId),
            ("m", HeaderName::Contact),
            ("e", HeaderName::ContentEncoding),
            ("l", HeaderName::ContentLength),
            ("c", HeaderName::ContentType),
            ("f", HeaderName::From),
            ("t", HeaderName::To),
            ("k", HeaderName::Supported),
            ("s", HeaderName::Subject),
            ("o", HeaderName::Event),
            ("u", HeaderName::AllowEvents),
            ("x", HeaderName::SessionExpires),
            ("call-id", HeaderName::CallId),
            ("cseq", HeaderName::CSeq),
            ("MaX-fOrWaRdS", HeaderName::MaxForwards),
        ];
        for (n, h) in pairs {
            assert_eq!(HeaderName::from_name(n), Some(h), "{n}");
        }
        assert_eq!(HeaderName::from_name("C%6Fntact"), None);
        assert_eq!(HeaderName::from_name("q"), None);
        assert_eq!(HeaderName::Via.compact(), Some("v"));
        assert_eq!(HeaderName::CSeq.compact(), None);
        assert_eq!(HeaderName::CallId.to_string(), "Call-ID");
    }

    #[test]
    fn every_spelling_is_found_in_any_case() {
        for (h, full, compact) in TABLE {
            for s in [Some(*full), *compact].into_iter().flatten() {
                for v in [s.to_owned(), s.to_ascii_lowercase(), s.to_ascii_uppercase()] {
                    assert_eq!(HeaderName::from_name(&v), Some(*h), "{v}");
                }
            }
            // Near misses agree with a walk down the table.
            let walk = |n: &str| {
                TABLE
                    .iter()
                    .find(|(_, f, c)| {
                        f.eq_ignore_ascii_case(n) || c.is_some_and(|c| c.eq_ignore_ascii_case(n))
                    })
                    .map(|(h, _, _)| *h)
            };
            for n in [
                format!("{full}x"),
                full[1..].to_owned(),
                full[..full.len() - 1].to_owned(),
            ] {
                assert_eq!(HeaderName::from_name(&n), walk(&n), "{n}");
            }
        }
        for unknown in ["", "X-Custom", "Contact2", "Cal-lID", "Via ", "ž"] {
            assert_eq!(HeaderName::from_name(unknown), None, "{unknown}");
        }
    }
}

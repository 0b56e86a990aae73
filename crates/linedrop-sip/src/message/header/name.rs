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
        // The headers of nearly every message first: the parser looks up every name it reads.
        const COMMON: [HeaderName; 10] = [
            HeaderName::Via,
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
            HeaderName::CSeq,
            HeaderName::Contact,
            HeaderName::MaxForwards,
            HeaderName::ContentType,
            HeaderName::ContentLength,
            HeaderName::RecordRoute,
        ];
        if let Some(h) = COMMON.iter().find(|h| {
            let full = h.as_str();
            full.len() == name.len() && full.eq_ignore_ascii_case(name)
        }) {
            return Some(*h);
        }
        if name.len() == 1 {
            return TABLE
                .iter()
                .find(|(_, _, c)| c.is_some_and(|c| c.eq_ignore_ascii_case(name)))
                .map(|(h, _, _)| *h);
        }
        TABLE
            .iter()
            .find(|(_, full, _)| full.len() == name.len() && full.eq_ignore_ascii_case(name))
            .map(|(h, _, _)| *h)
    }

    /// The compact form, if the header has one.
    pub fn compact(self) -> Option<&'static str> {
        TABLE
            .iter()
            .find(|(h, _, _)| *h == self)
            .and_then(|(_, _, c)| *c)
    }
}

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
}

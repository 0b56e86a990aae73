//! Typed accessors over [`Headers`]: parse on demand from the raw values.
//!
//! A message returned by the parser has had its Via, From, To, Call-ID, CSeq, Max-Forwards,
//! Content-Length and Contact checked already, so these return `Ok` for it (and From, To, the
//! top Via, Contact, CSeq and Call-ID are the parser's own readings, see [`super::parsed`]); the
//! others are checked only when read, so an unused malformed header never costs a `400`.

use std::borrow::Cow;

use super::cseq::CSeq;
use super::map::Headers;
use super::name::HeaderName;
use super::name_addr::{Contacts, NameAddr};
use super::parsed::Contact;
use super::reason::Reason;
use super::simple::{
    delta_with_params, parse_content_length, parse_delta_seconds, parse_max_forwards, MediaType,
    RetryAfter, SessionExpires,
};
use super::via::Via;
use crate::message::error::HeaderError;
use crate::message::method::Method;
use crate::message::text::{is_token, split_list, trim_wsp, ListElements};
use crate::message::uri::Uri;

impl Headers {
    /// Every element of every header named `name`, in order: repeated headers and
    /// comma-separated values are equivalent.
    pub(super) fn list_elements(
        &self,
        name: HeaderName,
    ) -> impl Iterator<Item = Cow<'_, str>> + '_ {
        self.unfolded_all(name).flat_map(|v| match v {
            Cow::Borrowed(b) => Elements::Borrowed(ListElements::new(b)),
            Cow::Owned(o) => Elements::Owned(
                ListElements::new(&o)
                    .map(|s| s.to_owned())
                    .collect::<Vec<_>>()
                    .into_iter(),
            ),
        })
    }

    fn parse_list<T>(
        &self,
        name: HeaderName,
        parse: impl Fn(&str) -> Result<T, HeaderError>,
    ) -> Result<Vec<T>, HeaderError> {
        self.list_elements(name)
            .map(|e| {
                if e.is_empty() {
                    Err(HeaderError::Empty)
                } else {
                    parse(&e)
                }
            })
            .collect()
    }

    /// Every Via value, top first, across repeated headers and comma-separated values.
    pub fn via(&self) -> Result<Vec<Via>, HeaderError> {
        self.parse_list(HeaderName::Via, Via::parse)
    }

    /// The topmost Via, parsing nothing else; `Missing` if there is none.
    pub fn top_via(&self) -> Result<Via, HeaderError> {
        if let Some(p) = self.parsed() {
            return Ok(p.top_via.clone());
        }
        let first = self.list_elements(HeaderName::Via).next();
        Via::parse(first.as_deref().ok_or(HeaderError::Missing)?)
    }

    /// Reads the top Via without copying it: `f` gets a borrow of the parsed value.
    pub(crate) fn with_top_via<R>(&self, f: impl FnOnce(&Via) -> R) -> Result<R, HeaderError> {
        if let Some(p) = self.parsed() {
            return Ok(f(&p.top_via));
        }
        let first = self.list_elements(HeaderName::Via).next();
        let first = first.as_deref().ok_or(HeaderError::Missing)?;
        Via::parse(first).map(|v| f(&v))
    }

    /// Reads From without copying it.
    pub(crate) fn with_from<R>(&self, f: impl FnOnce(&NameAddr) -> R) -> Result<R, HeaderError> {
        if let Some(p) = self.parsed() {
            return Ok(f(&p.from));
        }
        NameAddr::parse_arc(&self.single(HeaderName::From)?).map(|v| f(&v))
    }

    /// Reads To without copying it.
    pub(crate) fn with_to<R>(&self, f: impl FnOnce(&NameAddr) -> R) -> Result<R, HeaderError> {
        if let Some(p) = self.parsed() {
            return Ok(f(&p.to));
        }
        NameAddr::parse_arc(&self.single(HeaderName::To)?).map(|v| f(&v))
    }

    /// The URI of the first Contact address, read in place: `None` if there is no Contact,
    /// it is the wildcard, or it is malformed (where [`Headers::contact`] is an error).
    pub(crate) fn first_contact_uri(&self) -> Option<Uri> {
        match self.parsed() {
            Some(p) => match &p.contact {
                Contact::Addresses(l) => l.first().map(|n| n.uri.clone()),
                Contact::Wildcard | Contact::Absent => None,
            },
            None => match self.contact().ok()? {
                Some(Contacts::List(l)) => l.into_iter().next().map(|n| n.uri),
                Some(Contacts::Wildcard) | None => None,
            },
        }
    }

    /// The From header.
    pub fn from(&self) -> Result<NameAddr, HeaderError> {
        if let Some(p) = self.parsed() {
            return Ok(NameAddr::clone(&p.from));
        }
        NameAddr::parse(&self.single(HeaderName::From)?)
    }

    /// The To header.
    pub fn to(&self) -> Result<NameAddr, HeaderError> {
        if let Some(p) = self.parsed() {
            return Ok(NameAddr::clone(&p.to));
        }
        NameAddr::parse(&self.single(HeaderName::To)?)
    }

    /// The Call-ID, checked to be `word [@ word]`.
    pub fn call_id(&self) -> Result<&str, HeaderError> {
        let span = match self.parsed() {
            Some(p) => p.call_id.clone(),
            None => self.call_id_span()?,
        };
        Ok(self.text_at(span))
    }

    /// The CSeq header.
    pub fn cseq(&self) -> Result<CSeq, HeaderError> {
        if let Some(p) = self.parsed() {
            return Ok(p.cseq.clone());
        }
        CSeq::parse(&self.single(HeaderName::CSeq)?)
    }

    /// Max-Forwards, `0..=255`, if present.
    pub fn max_forwards(&self) -> Result<Option<u8>, HeaderError> {
        self.optional(HeaderName::MaxForwards)?
            .map(|v| parse_max_forwards(&v))
            .transpose()
    }

    /// Content-Length, if present.
    pub fn content_length(&self) -> Result<Option<usize>, HeaderError> {
        self.optional(HeaderName::ContentLength)?
            .map(|v| parse_content_length(&v))
            .transpose()
    }

    /// Content-Type, if present.
    pub fn content_type(&self) -> Result<Option<MediaType>, HeaderError> {
        self.optional(HeaderName::ContentType)?
            .map(|v| MediaType::parse(&v))
            .transpose()
    }

    /// The Contact headers: `None` if absent, the wildcard `*`, or the list of addresses.
    pub fn contact(&self) -> Result<Option<Contacts>, HeaderError> {
        if let Some(p) = self.parsed() {
            return Ok(p.contact.to_contacts());
        }
        let elements: Vec<Cow<'_, str>> = self.list_elements(HeaderName::Contact).collect();
        if elements.is_empty() {
            return Ok(None);
        }
        if elements.iter().any(|e| e.as_ref() == "*") {
            return if elements.len() == 1 {
                Ok(Some(Contacts::Wildcard))
            } else {
                Err(HeaderError::WildcardMixed)
            };
        }
        elements
            .iter()
            .map(|e| {
                if e.is_empty() {
                    Err(HeaderError::Empty)
                } else {
                    NameAddr::parse(e)
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|l| Some(Contacts::List(l)))
    }

    /// The Route set, in order. Each value must be a name-addr (`<...>`).
    pub fn route(&self) -> Result<Vec<NameAddr>, HeaderError> {
        self.parse_list(HeaderName::Route, NameAddr::parse_bracketed)
    }

    /// The Record-Route values, in order. Each value must be a name-addr (`<...>`).
    pub fn record_route(&self) -> Result<Vec<NameAddr>, HeaderError> {
        self.parse_list(HeaderName::RecordRoute, NameAddr::parse_bracketed)
    }

    /// Every Reason value (RFC 3326), in order.
    pub fn reason(&self) -> Result<Vec<Reason>, HeaderError> {
        self.parse_list(HeaderName::Reason, Reason::parse)
    }

    /// Session-Expires (RFC 4028), if present.
    pub fn session_expires(&self) -> Result<Option<SessionExpires>, HeaderError> {
        self.optional(HeaderName::SessionExpires)?
            .map(|v| SessionExpires::parse(&v))
            .transpose()
    }

    /// Min-SE in seconds (RFC 4028), if present.
    pub fn min_se(&self) -> Result<Option<u32>, HeaderError> {
        self.optional(HeaderName::MinSe)?
            .map(|v| delta_with_params(&v).map(|(d, _)| d))
            .transpose()
    }

    /// Expires in seconds, if present. A value beyond `u32` is `OutOfRange`; RFC 3261 §20.19
    /// lets the caller treat a malformed Expires as 3600.
    pub fn expires(&self) -> Result<Option<u32>, HeaderError> {
        self.optional(HeaderName::Expires)?
            .map(|v| parse_delta_seconds(&v))
            .transpose()
    }

    /// Retry-After, if present.
    pub fn retry_after(&self) -> Result<Option<RetryAfter>, HeaderError> {
        self.optional(HeaderName::RetryAfter)?
            .map(|v| RetryAfter::parse(&v))
            .transpose()
    }

    fn option_tags(&self, name: HeaderName) -> Result<Vec<String>, HeaderError> {
        let mut out = Vec::new();
        for v in self.unfolded_all(name) {
            // An empty Supported is legal: the sender supports no extension.
            if trim_wsp(&v).is_empty() {
                continue;
            }
            for e in split_list(&v) {
                if !is_token(e) {
                    return Err(if e.is_empty() {
                        HeaderError::Empty
                    } else {
                        HeaderError::BadToken
                    });
                }
                out.push(e.to_owned());
            }
        }
        Ok(out)
    }

    /// The option tags of Supported.
    pub fn supported(&self) -> Result<Vec<String>, HeaderError> {
        self.option_tags(HeaderName::Supported)
    }

    /// The option tags of Require.
    pub fn require(&self) -> Result<Vec<String>, HeaderError> {
        self.option_tags(HeaderName::Require)
    }

    /// The option tags of Proxy-Require.
    pub fn proxy_require(&self) -> Result<Vec<String>, HeaderError> {
        self.option_tags(HeaderName::ProxyRequire)
    }

    /// The option tags of Unsupported.
    pub fn unsupported(&self) -> Result<Vec<String>, HeaderError> {
        self.option_tags(HeaderName::Unsupported)
    }

    /// The methods of Allow.
    pub fn allow(&self) -> Result<Vec<Method>, HeaderError> {
        self.option_tags(HeaderName::Allow)?
            .iter()
            .map(|t| t.parse().map_err(|_| HeaderError::BadToken))
            .collect()
    }
}

/// The elements of one header line: borrowed from the message, or owned when the line was
/// folded (rare) and had to be unfolded first.
enum Elements<'a> {
    Borrowed(ListElements<'a>),
    Owned(std::vec::IntoIter<String>),
}

impl<'a> Iterator for Elements<'a> {
    type Item = Cow<'a, str>;

    fn next(&mut self) -> Option<Cow<'a, str>> {
        match self {
            Elements::Borrowed(e) => e.next().map(Cow::Borrowed),
            Elements::Owned(e) => e.next().map(Cow::Owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(lines: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (n, v) in lines {
            h.push_raw(n, v).expect("token name");
        }
        h
    }

    #[test]
    fn repeated_and_comma_separated_vias_are_equivalent() {
        let a = headers(&[
            ("Via", "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b"),
            ("v", "SIP/2.0/UDP c"),
        ]);
        let hosts: Vec<String> = a
            .via()
            .expect("valid")
            .iter()
            .map(|v| v.host.to_string())
            .collect();
        assert_eq!(hosts, ["a", "b", "c"]);
        assert_eq!(a.top_via().map(|v| v.host.to_string()).as_deref(), Ok("a"));
        let bad = headers(&[("Via", "SIP/2.0/UDP a,,")]);
        assert_eq!(bad.via(), Err(HeaderError::Empty));
    }

    #[test]
    fn contact_wildcard_and_lists() {
        let h = headers(&[("Contact", "*")]);
        assert_eq!(h.contact(), Ok(Some(Contacts::Wildcard)));
        let h = headers(&[("Contact", "*"), ("m", "<sip:a@b>")]);
        assert_eq!(h.contact(), Err(HeaderError::WildcardMixed));
        let h = headers(&[("m", "<sip:a@b>;q=0.5, \"B, C\" <sip:c@d>")]);
        match h.contact() {
            Ok(Some(Contacts::List(l))) => assert_eq!(l.len(), 2),
            other => panic!("{other:?}"),
        }
        assert_eq!(Headers::new().contact(), Ok(None));
    }

    #[test]
    fn route_requires_brackets() {
        let h = headers(&[
            ("Route", "<sip:p1;lr>, <sip:p2;lr>"),
            ("Record-Route", "sip:p3;lr"),
        ]);
        assert_eq!(h.route().map(|r| r.len()), Ok(2));
        assert_eq!(h.record_route(), Err(HeaderError::MissingAngleBrackets));
    }

    #[test]
    fn option_tags_allow_and_reason() {
        let h = headers(&[
            ("k", "timer, 100rel"),
            ("Supported", ""),
            ("Require", "nothingSupportsThis, nothingSupportsThisEither"),
            ("Allow", "INVITE, ACK,BYE"),
            ("Reason", "Q.850;cause=16, SIP;cause=200;text=\"done\""),
            ("x", "1800;refresher=uac"),
            ("Min-SE", "90"),
            ("Expires", "100000000000"),
        ]);
        assert_eq!(
            h.supported(),
            Ok(vec!["timer".to_owned(), "100rel".to_owned()])
        );
        assert_eq!(h.require().map(|r| r.len()), Ok(2));
        assert_eq!(
            h.allow(),
            Ok(vec![Method::Invite, Method::Ack, Method::Bye])
        );
        assert_eq!(h.reason().map(|r| r.len()), Ok(2));
        assert_eq!(
            h.session_expires().map(|s| s.map(|s| s.delta)),
            Ok(Some(1800))
        );
        assert_eq!(h.min_se(), Ok(Some(90)));
        assert_eq!(h.expires(), Err(HeaderError::OutOfRange));
    }

    #[test]
    fn singles_report_missing_and_duplicate() {
        let h = headers(&[("To", "<sip:a@b>"), ("t", "<sip:c@d>")]);
        assert_eq!(h.to(), Err(HeaderError::Duplicate));
        assert_eq!(h.from(), Err(HeaderError::Missing));
        assert_eq!(h.max_forwards(), Ok(None));
    }
}

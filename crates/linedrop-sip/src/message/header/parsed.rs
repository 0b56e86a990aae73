//! The headers the parser checks, kept as it parsed them.
//!
//! The parser must parse From, To, every Via, Contact, CSeq and Call-ID to refuse a malformed
//! message; the user agent then reads the same values many times while it handles the message
//! (matching, dialog lookup, each response built for it). Keeping the parser's results in the
//! message makes those reads a borrow, where each used to be a look-up in the per-thread memo
//! (a key comparison, and often a parse). The addresses are shared with that memo, so one it
//! already holds (the From of an ACK, a peer's Contact) costs neither a parse nor a copy. A
//! header changed after parsing drops them all (see `Headers::forget`): the typed accessors
//! then read the text again, as they do for a message the stack built.

use std::ops::Range;
use std::sync::Arc;

use super::cseq::CSeq;
use super::map::Headers;
use super::name::HeaderName;
use super::name_addr::{Contacts, NameAddr};
use super::via::Via;
use crate::message::error::HeaderError;

/// What the parser read from the headers every message must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// The span of the Call-ID value in the header text, checked.
    pub(crate) call_id: Range<usize>,
    pub(crate) cseq: CSeq,
    pub(crate) from: Arc<NameAddr>,
    pub(crate) to: Arc<NameAddr>,
    /// The first of the Vias (all of them were checked).
    pub(crate) top_via: Via,
    pub(crate) contact: Contact,
}

/// The Contact headers as [`Headers::contact`] reads them, the addresses shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Contact {
    /// No Contact header.
    Absent,
    /// `Contact: *`.
    Wildcard,
    /// One or more addresses, in order.
    Addresses(Vec<Arc<NameAddr>>),
}

impl Contact {
    /// The value [`Headers::contact`] returns.
    pub(crate) fn to_contacts(&self) -> Option<Contacts> {
        match self {
            Contact::Absent => None,
            Contact::Wildcard => Some(Contacts::Wildcard),
            Contact::Addresses(l) => Some(Contacts::List(
                l.iter().map(|a| NameAddr::clone(a)).collect(),
            )),
        }
    }
}

impl Parsed {
    /// Whether a change to the header `name` makes these values stale.
    pub(crate) fn covers(name: HeaderName) -> bool {
        matches!(
            name,
            HeaderName::CallId
                | HeaderName::CSeq
                | HeaderName::From
                | HeaderName::To
                | HeaderName::Via
                | HeaderName::Contact
        )
    }
}

impl Headers {
    /// From as [`Headers::from`] reads it, shared.
    pub(crate) fn parse_from(&self) -> Result<Arc<NameAddr>, HeaderError> {
        NameAddr::parse_arc(&self.single(HeaderName::From)?)
    }

    /// To as [`Headers::to`] reads it, shared.
    pub(crate) fn parse_to(&self) -> Result<Arc<NameAddr>, HeaderError> {
        NameAddr::parse_arc(&self.single(HeaderName::To)?)
    }

    /// Every Via checked as [`Headers::via`] does (the first fault wins, none at all is
    /// `Missing`), and the first one kept: without collecting the others.
    pub(crate) fn parse_top_via(&self) -> Result<Via, HeaderError> {
        let mut all = self.list_elements(HeaderName::Via);
        let top = match all.next() {
            None => return Err(HeaderError::Missing),
            Some(e) if e.is_empty() => return Err(HeaderError::Empty),
            Some(e) => Via::parse(&e)?,
        };
        for e in all {
            if e.is_empty() {
                return Err(HeaderError::Empty);
            }
            Via::parse(&e)?;
        }
        Ok(top)
    }

    /// Contact as [`Headers::contact`] reads it, shared, without collecting the elements
    /// first (every INVITE has one).
    pub(crate) fn parse_contact(&self) -> Result<Contact, HeaderError> {
        let mut all = self.list_elements(HeaderName::Contact);
        let Some(first) = all.next() else {
            return Ok(Contact::Absent);
        };
        if all.next().is_none() {
            return match first.as_ref() {
                "*" => Ok(Contact::Wildcard),
                "" => Err(HeaderError::Empty),
                e => Ok(Contact::Addresses(vec![NameAddr::parse_arc(e)?])),
            };
        }
        // Several: a wildcard among them is refused before any address is parsed.
        let (mut count, mut wildcard) = (0usize, false);
        for e in self.list_elements(HeaderName::Contact) {
            count += 1;
            wildcard |= e.as_ref() == "*";
        }
        if wildcard {
            return if count == 1 {
                Ok(Contact::Wildcard)
            } else {
                Err(HeaderError::WildcardMixed)
            };
        }
        let mut list = Vec::with_capacity(count);
        for e in self.list_elements(HeaderName::Contact) {
            if e.is_empty() {
                return Err(HeaderError::Empty);
            }
            list.push(NameAddr::parse_arc(&e)?);
        }
        Ok(Contact::Addresses(list))
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
    fn the_parser_reads_as_the_accessors_do() {
        let cases: [&[(&str, &str)]; 11] = [
            &[],
            &[("Via", "SIP/2.0/UDP a;branch=z9hG4bK1"), ("m", "<sip:a@b>")],
            &[("Via", "SIP/2.0/UDP a,,"), ("Contact", "*")],
            &[
                ("Via", "SIP/2.0/UDP a, bad"),
                ("Contact", "*"),
                ("m", "<sip:a@b>"),
            ],
            &[("v", "SIP/2.0/UDP a"), ("v", "SIP/2.0/UDP [::1")],
            &[("Via", ""), ("Contact", "<sip:a@b>, ")],
            &[
                ("Via", "SIP/2.0/UDP a\r\n ;branch=z9hG4bK2"),
                ("m", "sip:a@b?x=y"),
            ],
            &[("Contact", "\"A, B\" <sip:a@b>;q=0.5, sip:c@d")],
            &[("Contact", "<sip:a@b"), ("Contact", "*")],
            &[("Contact", "*"), ("Contact", "")],
            &[("Via", "SIP/2.0/UDP b, SIP/2.0/TCP c;branch=z9hG4bKx")],
        ];
        for lines in cases {
            let h = headers(lines);
            let top = h
                .via()
                .and_then(|v| v.first().cloned().ok_or(HeaderError::Missing));
            assert_eq!(h.parse_top_via(), top, "{lines:?}");
            assert_eq!(
                h.parse_contact().map(|c| c.to_contacts()),
                h.contact(),
                "{lines:?}"
            );
        }
        let h = headers(&[("f", "A <sip:a@b>;tag=1"), ("To", "sip:c@d"), ("t", "x")]);
        assert_eq!(h.parse_from().map(|f| NameAddr::clone(&f)), h.from());
        assert_eq!(h.parse_to(), Err(HeaderError::Duplicate));
    }

    const INVITE: &str = "INVITE sip:bob@b.example SIP/2.0\r\n\
        Via: SIP/2.0/UDP a.example;branch=z9hG4bK1\r\n\
        Max-Forwards: 70\r\n\
        To: Bob <sip:bob@b.example>\r\n\
        From: Alice <sip:alice@a.example>;tag=1\r\n\
        Call-ID: c1@a.example\r\n\
        CSeq: 1 INVITE\r\n\
        Contact: <sip:alice@a.example>\r\n\
        Content-Length: 0\r\n\r\n";

    fn parsed_invite() -> Headers {
        match crate::message::parse_message(INVITE.as_bytes()) {
            Ok(crate::message::Message::Request(r)) => r.headers().clone(),
            other => panic!("valid INVITE refused: {other:?}"),
        }
    }

    /// Every value kept, as the accessors return it, and whether they came from the parser.
    fn readings(h: &Headers) -> (bool, String) {
        let text = format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            h.call_id(),
            h.cseq(),
            h.from(),
            h.to(),
            h.top_via(),
            h.contact(),
            h.with_from(|f| f.tag().map(str::to_owned)),
            h.with_to(|t| t.uri.to_string()),
            h.with_top_via(|v| v.branch().map(str::to_owned)),
            h.first_contact_uri(),
        );
        (h.parsed().is_some(), text)
    }

    #[test]
    fn a_parsed_message_reads_what_its_text_says() {
        let h = parsed_invite();
        assert!(h.parsed().is_some());
        // The same readings as from the text alone (a list the stack built).
        let mut built = Headers::new();
        for f in h.iter() {
            built.push_raw(f.name(), f.value()).expect("token name");
        }
        assert_eq!(readings(&h).1, readings(&built).1);
        assert_eq!(h.call_id(), Ok("c1@a.example"));
        // A copy shares the readings.
        assert!(h.clone().parsed().is_some());
    }

    #[test]
    fn changing_a_parsed_header_drops_the_readings() {
        type Change = fn(&mut Headers);
        let changes: [(Change, bool); 12] = [
            (
                |h| h.set(HeaderName::To, "<sip:carol@c.example>;tag=9"),
                true,
            ),
            (|h| h.set_str(HeaderName::CallId, "c2@a.example"), true),
            (|h| h.push(HeaderName::Via, "SIP/2.0/TCP z.example"), true),
            (
                |h| h.push_front(HeaderName::Via, "SIP/2.0/TCP z.example"),
                true,
            ),
            (|h| h.push_front_str(HeaderName::CSeq, "2 INVITE"), true),
            (|h| h.push_str(HeaderName::Contact, "<sip:x@y>"), true),
            (|h| drop(h.push_raw("f", "<sip:eve@e.example>")), true),
            (|h| _ = h.remove(HeaderName::Contact), true),
            (|h| _ = h.remove_first(HeaderName::Via), true),
            (|h| h.push_copies(&parsed_invite(), HeaderName::From), true),
            // Headers the parser keeps nothing of leave the readings in place.
            (|h| h.set(HeaderName::MaxForwards, 69), false),
            (|h| drop(h.push_raw("X-Other", "1")), false),
        ];
        for (i, (change, drops)) in changes.into_iter().enumerate() {
            let mut h = parsed_invite();
            change(&mut h);
            assert_eq!(h.parsed().is_none(), drops, "change {i}");
            let mut built = Headers::new();
            for f in h.iter() {
                built.push_raw(f.name(), f.value()).expect("token name");
            }
            assert_eq!(readings(&h).1, readings(&built).1, "change {i}");
        }
    }

    #[test]
    fn covered_names() {
        for name in [HeaderName::From, HeaderName::Via, HeaderName::CallId] {
            assert!(Parsed::covers(name));
        }
        for name in [HeaderName::MaxForwards, HeaderName::RecordRoute] {
            assert!(!Parsed::covers(name));
        }
    }
}

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

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use super::cseq::CSeq;
use super::map::Headers;
use super::name::HeaderName;
use super::name_addr::{Contacts, NameAddr};
use super::via::Via;
use crate::message::error::HeaderError;
use crate::message::text::ListElements;

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

/// Where the headers the parser checks that may appear once are: found in one pass over the
/// lines, where looking each up by name would take one pass per header.
pub(crate) struct Located {
    /// For each of [`Located::NAMES`]: its first line and how many lines it has.
    lines: [(usize, usize); 6],
}

impl Located {
    const NAMES: [HeaderName; 6] = [
        HeaderName::CallId,
        HeaderName::CSeq,
        HeaderName::From,
        HeaderName::To,
        HeaderName::MaxForwards,
        HeaderName::ContentLength,
    ];

    fn slot(name: HeaderName) -> Option<usize> {
        Located::NAMES.iter().position(|n| *n == name)
    }

    /// Finds them in `h`.
    pub(crate) fn find(h: &Headers) -> Located {
        let mut lines = [(0, 0); 6];
        for (i, known) in h.known_names().enumerate() {
            let slot = match known {
                Some(HeaderName::CallId) => lines.get_mut(0),
                Some(HeaderName::CSeq) => lines.get_mut(1),
                Some(HeaderName::From) => lines.get_mut(2),
                Some(HeaderName::To) => lines.get_mut(3),
                Some(HeaderName::MaxForwards) => lines.get_mut(4),
                Some(HeaderName::ContentLength) => lines.get_mut(5),
                _ => None,
            };
            if let Some((first, count)) = slot {
                if *count == 0 {
                    *first = i;
                }
                *count += 1;
            }
        }
        Located { lines }
    }

    /// The first line of `name` and how many there are; `name` must be one of
    /// [`Located::NAMES`] (any other is reported absent).
    pub(crate) fn lines(&self, name: HeaderName) -> (usize, usize) {
        Located::slot(name)
            .and_then(|i| self.lines.get(i).copied())
            .unwrap_or((0, 0))
    }

    /// `h.single(name)`.
    pub(crate) fn single<'h>(
        &self,
        h: &'h Headers,
        name: HeaderName,
    ) -> Result<Cow<'h, str>, HeaderError> {
        h.single_at(self.lines(name))
    }

    /// `h.optional(name)`.
    pub(crate) fn optional<'h>(
        &self,
        h: &'h Headers,
        name: HeaderName,
    ) -> Result<Option<Cow<'h, str>>, HeaderError> {
        match self.single(h, name) {
            Ok(v) => Ok(Some(v)),
            Err(HeaderError::Missing) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Headers {
    /// Every Via checked as [`Headers::via`] does (the first fault wins, none at all is
    /// `Missing`), and the first one kept: without collecting the others.
    pub(crate) fn parse_top_via(&self) -> Result<Via, HeaderError> {
        let mut top = None;
        // Line by line, each split in place: no element is copied, even from a folded line.
        for line in self.unfolded_all(HeaderName::Via) {
            for e in ListElements::new(&line) {
                if e.is_empty() {
                    return Err(HeaderError::Empty);
                }
                let via = Via::parse(e)?;
                top.get_or_insert(via);
            }
        }
        top.ok_or(HeaderError::Missing)
    }

    /// Contact as [`Headers::contact`] reads it, shared, without collecting the elements
    /// first (every INVITE has one).
    pub(crate) fn parse_contact(&self) -> Result<Contact, HeaderError> {
        // One line of one address (nearly every message that has a Contact): read in place.
        let mut lines = self.unfolded_all(HeaderName::Contact);
        let Some(line) = lines.next() else {
            return Ok(Contact::Absent);
        };
        let mut elements = ListElements::new(&line);
        let first = elements.next().unwrap_or_default();
        if elements.next().is_none() && lines.next().is_none() {
            return match first {
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
            // The in-place read agrees with the owned one.
            assert_eq!(h.with_top_via(|v| v.clone()), h.top_via(), "{lines:?}");
        }
    }

    #[test]
    fn located_lines_read_as_lookups_by_name() {
        let h = headers(&[
            ("f", "A <sip:a@b>;tag=1"),
            ("To", "sip:c@d"),
            ("Subject", "x"),
            ("t", "x"),
            ("CSeq", "1\r\n INVITE"),
            ("i", " a@b "),
            ("l", "0"),
            ("Content-Length", "0"),
        ]);
        let at = Located::find(&h);
        for name in Located::NAMES {
            assert_eq!(at.single(&h, name), h.single(name), "{name:?}");
            assert_eq!(at.optional(&h, name), h.optional(name), "{name:?}");
        }
        assert_eq!(
            at.single(&h, HeaderName::Subject),
            Err(HeaderError::Missing)
        );
        assert_eq!(
            h.call_id_span_at(at.lines(HeaderName::CallId)),
            h.call_id_span()
        );
        assert_eq!(h.call_id(), Ok("a@b"));
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

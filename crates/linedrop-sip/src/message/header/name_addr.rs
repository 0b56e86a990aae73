//! Addresses with a display name and parameters: From, To, Contact, Route, Record-Route
//! (RFC 3261 §20.10, §20.20, §20.39, §20.30, §20.34).

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use crate::message::error::HeaderError;
use crate::message::params::{parse_header_params, Params};
use crate::message::text::{
    find_byte, is_token_char, is_wsp, trim_wsp, unquote, write_quoted, Scanner,
};
use crate::message::uri::Uri;

use super::memo::{memoized, with_parsed, Memo};

thread_local! {
    /// From, To and Contact of the message being handled (see [`super::memo`]), shared: the
    /// parser keeps them in the message without copying them. Eight: a peer's Contact and
    /// untagged To stay, and a call's From is still there when its ACK comes although another
    /// call's BYE came between (with four it was not, and the ACK's From was parsed again).
    static PARSED: RefCell<Memo<Arc<NameAddr>, HeaderError, 8>> =
        const { RefCell::new(Memo::new()) };
}

/// A display name: the text, and whether it was (or must be) quoted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DisplayName {
    text: String,
    quoted: bool,
}

impl DisplayName {
    /// A display name, quoted when written if it is not a sequence of tokens.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let quoted = !is_token_sequence(&text);
        DisplayName { text, quoted }
    }

    /// The text, quotes removed and quoted-pairs resolved.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether it is written as a quoted string.
    pub fn is_quoted(&self) -> bool {
        self.quoted
    }
}

fn is_token_sequence(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(' ')
        && !s.ends_with(' ')
        && !s.contains("  ")
        && s.bytes().all(|b| is_token_char(b) || b == b' ')
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.quoted || !is_token_sequence(&self.text) {
            write_quoted(f, &self.text)
        } else {
            f.write_str(&self.text)
        }
    }
}

/// A name-addr or addr-spec with header parameters: `"Alice" <sip:alice@a.example>;tag=1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NameAddr {
    /// The display name, if any.
    pub display_name: Option<DisplayName>,
    /// The URI.
    pub uri: Uri,
    /// The header parameters (tag, q, expires, extensions), as written.
    pub params: Params,
}

impl NameAddr {
    /// An address with only a URI.
    pub fn new(uri: impl Into<Uri>) -> Self {
        NameAddr {
            display_name: None,
            uri: uri.into(),
            params: Params::new(),
        }
    }

    /// Parses one value (not a comma-separated list), unfolded. Both the name-addr form and the
    /// bare addr-spec form are accepted; in the bare form the URI ends at the first `;`, which
    /// starts the header parameters, and a URI with headers (`?`) is refused (RFC 4475
    /// §3.1.2.13).
    pub fn parse(s: &str) -> Result<NameAddr, HeaderError> {
        with_parsed(&PARSED, s, parse_shared, |r| {
            r.as_ref().map(|a| NameAddr::clone(a)).map_err(Clone::clone)
        })
    }

    /// [`NameAddr::parse`] shared with the memo (see [`super::memo`]): a value parsed recently
    /// costs no parse and no copy.
    pub(crate) fn parse_arc(s: &str) -> Result<Arc<NameAddr>, HeaderError> {
        memoized(&PARSED, s, parse_shared)
    }

    /// Parses one value that must be in name-addr form (`<...>`), as Route and Record-Route
    /// require: there, a bare URI's parameters would silently change meaning.
    pub fn parse_bracketed(s: &str) -> Result<NameAddr, HeaderError> {
        parse_name_addr(s, true)
    }

    /// The `tag` parameter (From and To).
    pub fn tag(&self) -> Option<&str> {
        self.params.value("tag").flatten()
    }

    /// Sets the `tag` parameter: the UAS adds the To tag of its answers.
    pub fn set_tag(&mut self, tag: &str) {
        self.params.set("tag", Some(tag.to_owned()));
    }
}

pub(crate) fn parse_shared(s: &str) -> Result<Arc<NameAddr>, HeaderError> {
    parse_name_addr(s, false).map(Arc::new)
}

fn parse_name_addr(s: &str, require_brackets: bool) -> Result<NameAddr, HeaderError> {
    let mut sc = Scanner::new(s);
    sc.skip_ws();
    if sc.at_end() {
        return Err(HeaderError::Empty);
    }
    let mut display_name = None;
    let bracketed = if sc.peek() == Some(b'"') {
        let raw = sc.quoted()?;
        display_name = Some(DisplayName {
            text: unquote(raw),
            quoted: true,
        });
        sc.skip_ws();
        if !sc.eat(b'<') {
            return Err(HeaderError::MissingAngleBrackets);
        }
        true
    } else {
        let rest = sc.rest();
        let stop = rest
            .bytes()
            .position(|b| !(is_token_char(b) || is_wsp(b)))
            .unwrap_or(rest.len());
        match rest.as_bytes().get(stop) {
            Some(b'<') => {
                // The words, joined by one space: most names are one word, copied as is.
                let words = trim_wsp(rest.get(..stop).unwrap_or(""));
                let mut text = String::with_capacity(words.len());
                if !words.bytes().any(is_wsp) {
                    text.push_str(words);
                } else {
                    for w in words.split([' ', '\t']).filter(|w| !w.is_empty()) {
                        if !text.is_empty() {
                            text.push(' ');
                        }
                        text.push_str(w);
                    }
                }
                if !text.is_empty() {
                    display_name = Some(DisplayName {
                        text,
                        quoted: false,
                    });
                }
                sc.set_pos(sc.pos() + stop + 1);
                true
            }
            Some(b':') => false,
            _ if find_byte(rest.as_bytes(), b'<').is_some() => {
                return Err(HeaderError::BadDisplayName)
            }
            _ => false,
        }
    };

    let uri = if bracketed {
        let rest = sc.rest();
        let end = find_byte(rest.as_bytes(), b'>').ok_or(HeaderError::UnterminatedAngle)?;
        let inner = rest.get(..end).unwrap_or("");
        sc.set_pos(sc.pos() + end + 1);
        Uri::parse(inner).map_err(HeaderError::BadUri)?
    } else {
        if require_brackets {
            return Err(HeaderError::MissingAngleBrackets);
        }
        let text = sc.take_while(|b| b != b';' && b != b',' && !is_wsp(b));
        let uri = Uri::parse(text).map_err(HeaderError::BadUri)?;
        if find_byte(text.as_bytes(), b'?').is_some() {
            return Err(HeaderError::MissingAngleBrackets);
        }
        uri
    };
    let params = parse_header_params(&mut sc)?;
    sc.expect_end()?;
    Ok(NameAddr {
        display_name,
        uri,
        params,
    })
}

impl fmt::Display for NameAddr {
    /// Always writes the name-addr form, valid whatever the URI holds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display_name {
            fmt::Display::fmt(d, f)?;
            f.write_str(" ")?;
        }
        f.write_str("<")?;
        fmt::Display::fmt(&self.uri, f)?;
        f.write_str(">")?;
        fmt::Display::fmt(&self.params, f)
    }
}

/// The value of the Contact headers of a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Contacts {
    /// `Contact: *` (REGISTER removing every binding).
    Wildcard,
    /// One or more addresses, in order.
    List(Vec<NameAddr>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::uri::Uri;

    #[test]
    fn forms_parse_and_print() {
        let cases = [
            (
                r#""Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423"#,
                Some("Bell, Alexander"),
                Some("433423"),
            ),
            (
                "caller<sip:caller@example.com>;tag=323",
                Some("caller"),
                Some("323"),
            ),
            ("sip:caller@example.net;tag=2234923", None, Some("2234923")),
            ("<sip:user@example.com>", None, None),
            (
                "token1~` token2'+_ token3*%!.- <sip:mundane@example.com>",
                Some("token1~` token2'+_ token3*%!.-"),
                None,
            ),
            ("Anonymous <tel:+1-555>", Some("Anonymous"), None),
            ("isbn:2983792873", None, None),
        ];
        for (s, display, tag) in cases {
            let na = NameAddr::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(
                na.display_name.as_ref().map(DisplayName::text),
                display,
                "{s}"
            );
            assert_eq!(na.tag(), tag, "{s}");
            assert_eq!(NameAddr::parse(&na.to_string()), Ok(na.clone()), "{s}");
        }
    }

    #[test]
    fn bare_uri_params_belong_to_the_header() {
        let na = NameAddr::parse("sip:+19725552222@gw1.example.net;unknownparam").expect("valid");
        assert!(na.params.contains("unknownparam"));
        assert!(na.uri.as_sip().is_some_and(|u| u.params.is_empty()));
        let na = NameAddr::parse("<sip:+19725552222@gw1.example.net;unknownparam>").expect("valid");
        assert!(na.params.is_empty());
        assert!(na
            .uri
            .as_sip()
            .is_some_and(|u| u.params.contains("unknownparam")));
    }

    #[test]
    fn quoted_display_names_unescape() {
        let na = NameAddr::parse(
            r#""J Rosenberg \\\""       <sip:jdrosen@example.com>  ; tag = 98asjd8"#,
        )
        .expect("valid");
        assert_eq!(
            na.display_name.as_ref().map(DisplayName::text),
            Some(r#"J Rosenberg \""#)
        );
        assert_eq!(na.tag(), Some("98asjd8"));
        let na = NameAddr::parse(r#""%Z%45" <sip:resource@example.com>"#).expect("valid");
        assert_eq!(
            na.display_name.as_ref().map(DisplayName::text),
            Some("%Z%45")
        );
    }

    #[test]
    fn malformed_addresses_are_refused() {
        use crate::message::error::UriError;
        let cases = [
            (
                "\"Mr. J. User <sip:j.user@example.com>",
                HeaderError::UnterminatedQuote,
            ),
            (
                "\"Watson, Thomas\" < sip:t.watson@example.org >",
                HeaderError::BadUri(UriError::Whitespace),
            ),
            (
                "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
                HeaderError::BadDisplayName,
            ),
            (
                "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
                HeaderError::MissingAngleBrackets,
            ),
            ("\"Joe\" <sip:joe@example.org>;;;;", HeaderError::BadParam),
            ("<sip:joe@example.org", HeaderError::UnterminatedAngle),
            (
                "\"Joe\" sip:joe@example.org",
                HeaderError::MissingAngleBrackets,
            ),
            ("sip:a@b, sip:c@d", HeaderError::TrailingGarbage),
            ("", HeaderError::Empty),
        ];
        for (s, e) in cases {
            assert_eq!(NameAddr::parse(s), Err(e), "{s:?}");
        }
        assert_eq!(
            NameAddr::parse_bracketed("sip:proxy.example.com;lr"),
            Err(HeaderError::MissingAngleBrackets)
        );
    }

    #[test]
    fn display_names_quote_when_needed() {
        let mut na = NameAddr::new(Uri::parse("sip:a@b").expect("valid"));
        na.display_name = Some(DisplayName::new("Bell, Alexander"));
        na.set_tag("x1");
        assert_eq!(na.to_string(), r#""Bell, Alexander" <sip:a@b>;tag=x1"#);
        na.display_name = Some(DisplayName::new("Alice"));
        assert_eq!(na.to_string(), "Alice <sip:a@b>;tag=x1");
    }
}

//! Small typed headers: Content-Type, Session-Expires (RFC 4028), Retry-After, and the
//! numeric and token-list helpers shared by the accessors.

use std::fmt;

use crate::message::error::HeaderError;
use crate::message::params::{parse_header_params, Params};
use crate::message::text::{parse_digits, trim_wsp, Scanner};

/// Parses `delta-seconds` (a `u32`, RFC 3261 §25.1).
pub(crate) fn parse_delta_seconds(s: &str) -> Result<u32, HeaderError> {
    let n = parse_digits(trim_wsp(s))?;
    u32::try_from(n).map_err(|_| HeaderError::OutOfRange)
}

/// Parses Max-Forwards: `1*DIGIT` in `0..=255`.
pub(crate) fn parse_max_forwards(s: &str) -> Result<u8, HeaderError> {
    let n = parse_digits(trim_wsp(s))?;
    u8::try_from(n).map_err(|_| HeaderError::OutOfRange)
}

/// Parses Content-Length: `1*DIGIT`.
pub(crate) fn parse_content_length(s: &str) -> Result<usize, HeaderError> {
    let n = parse_digits(trim_wsp(s))?;
    usize::try_from(n).map_err(|_| HeaderError::OutOfRange)
}

/// Checks a Call-ID: `word [ "@" word ]` (RFC 3261 §25.1).
pub(crate) fn check_call_id(s: &str) -> Result<(), HeaderError> {
    let word = |w: &[u8]| !w.is_empty() && w.iter().all(|&b| is_call_id_word_char(b));
    let bytes = s.as_bytes();
    let ok = match bytes.iter().position(|&b| b == b'@') {
        Some(at) => {
            word(bytes.get(..at).unwrap_or_default())
                && word(bytes.get(at + 1..).unwrap_or_default())
        }
        None => word(bytes),
    };
    if ok {
        Ok(())
    } else {
        Err(HeaderError::BadCallId)
    }
}

/// The characters of a Call-ID `word` (RFC 3261 §25.1), one table entry per byte: every
/// message's Call-ID is checked.
fn is_call_id_word_char(b: u8) -> bool {
    static WORD: [bool; 256] = {
        let mut t = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            t[b] = c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b'-' | b'.'
                        | b'!'
                        | b'%'
                        | b'*'
                        | b'_'
                        | b'+'
                        | b'`'
                        | b'\''
                        | b'~'
                        | b'('
                        | b')'
                        | b'<'
                        | b'>'
                        | b':'
                        | b'\\'
                        | b'"'
                        | b'/'
                        | b'['
                        | b']'
                        | b'?'
                        | b'{'
                        | b'}'
                );
            b += 1;
        }
        t
    };
    WORD.get(usize::from(b)).copied().unwrap_or(false)
}

/// A media type: `application/sdp;charset=utf-8`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MediaType {
    /// The type, as written.
    pub mtype: String,
    /// The subtype, as written.
    pub subtype: String,
    /// The parameters, as written.
    pub params: Params,
}

impl MediaType {
    /// A media type without parameters.
    pub fn new(mtype: &str, subtype: &str) -> Self {
        MediaType {
            mtype: mtype.to_owned(),
            subtype: subtype.to_owned(),
            params: Params::new(),
        }
    }

    /// Parses a media type, unfolded.
    pub fn parse(s: &str) -> Result<MediaType, HeaderError> {
        let mut sc = Scanner::new(s);
        sc.skip_ws();
        let mtype = sc.token().ok_or(HeaderError::BadToken)?;
        sc.skip_ws();
        if !sc.eat(b'/') {
            return Err(HeaderError::BadToken);
        }
        sc.skip_ws();
        let subtype = sc.token().ok_or(HeaderError::BadToken)?;
        let params = parse_header_params(&mut sc)?;
        sc.expect_end()?;
        Ok(MediaType {
            mtype: mtype.to_owned(),
            subtype: subtype.to_owned(),
            params,
        })
    }

    /// Whether this is `mtype/subtype`, ignoring case and parameters.
    pub fn is(&self, mtype: &str, subtype: &str) -> bool {
        self.mtype.eq_ignore_ascii_case(mtype) && self.subtype.eq_ignore_ascii_case(subtype)
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}{}", self.mtype, self.subtype, self.params)
    }
}

/// Who refreshes a session (RFC 4028 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refresher {
    /// The user agent client of the refreshing transaction.
    Uac,
    /// The user agent server.
    Uas,
}

/// `Session-Expires: <delta>;refresher=uac` (RFC 4028).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionExpires {
    /// The session interval, in seconds.
    pub delta: u32,
    /// The parameters (refresher and extensions), as written.
    pub params: Params,
}

impl SessionExpires {
    /// A Session-Expires with an optional refresher.
    pub fn new(delta: u32, refresher: Option<Refresher>) -> Self {
        let mut params = Params::new();
        if let Some(r) = refresher {
            let v = match r {
                Refresher::Uac => "uac",
                Refresher::Uas => "uas",
            };
            params.set("refresher", Some(v.to_owned()));
        }
        SessionExpires { delta, params }
    }

    /// Parses a Session-Expires value, unfolded.
    pub fn parse(s: &str) -> Result<SessionExpires, HeaderError> {
        let (delta, params) = delta_with_params(s)?;
        let se = SessionExpires { delta, params };
        if se.params.contains("refresher") && se.refresher().is_none() {
            return Err(HeaderError::BadParam);
        }
        Ok(se)
    }

    /// The refresher parameter, if present and valid.
    pub fn refresher(&self) -> Option<Refresher> {
        match self.params.value("refresher").flatten() {
            Some(v) if v.eq_ignore_ascii_case("uac") => Some(Refresher::Uac),
            Some(v) if v.eq_ignore_ascii_case("uas") => Some(Refresher::Uas),
            _ => None,
        }
    }
}

impl fmt::Display for SessionExpires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.delta, self.params)
    }
}

/// `delta-seconds *( SEMI generic-param )`, shared by Session-Expires and Min-SE.
pub(crate) fn delta_with_params(s: &str) -> Result<(u32, Params), HeaderError> {
    let mut sc = Scanner::new(s);
    sc.skip_ws();
    let delta = parse_delta_seconds(sc.take_while(|b| b.is_ascii_digit()))?;
    let params = parse_header_params(&mut sc)?;
    sc.expect_end()?;
    Ok((delta, params))
}

/// `Retry-After: <delta> [(comment)] ;duration=<n>` (RFC 3261 §20.33).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RetryAfter {
    /// Seconds after which to retry.
    pub delta: u32,
    /// The comment, parentheses removed.
    pub comment: Option<String>,
    /// The parameters (duration and extensions), as written.
    pub params: Params,
}

impl RetryAfter {
    /// Parses a Retry-After value, unfolded.
    pub fn parse(s: &str) -> Result<RetryAfter, HeaderError> {
        let mut sc = Scanner::new(s);
        sc.skip_ws();
        let delta = parse_delta_seconds(sc.take_while(|b| b.is_ascii_digit()))?;
        sc.skip_ws();
        let comment = if sc.peek() == Some(b'(') {
            Some(take_comment(&mut sc)?)
        } else {
            None
        };
        let params = parse_header_params(&mut sc)?;
        sc.expect_end()?;
        if let Some(d) = params.value("duration") {
            parse_delta_seconds(d.unwrap_or(""))?;
        }
        Ok(RetryAfter {
            delta,
            comment,
            params,
        })
    }

    /// The duration parameter, in seconds.
    pub fn duration(&self) -> Option<u32> {
        self.params
            .value("duration")
            .flatten()
            .and_then(|d| parse_delta_seconds(d).ok())
    }
}

/// Takes a (possibly nested) comment at the cursor, returning its content.
fn take_comment(sc: &mut Scanner<'_>) -> Result<String, HeaderError> {
    let rest = sc.rest();
    let bytes = rest.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    sc.set_pos(sc.pos() + i + 1);
                    return Ok(rest.get(1..i).unwrap_or("").to_owned());
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(HeaderError::UnterminatedComment)
}

impl fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.delta)?;
        if let Some(c) = &self.comment {
            write!(f, " ({c})")?;
        }
        write!(f, "{}", self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_range_checked() {
        assert_eq!(parse_max_forwards("0068"), Ok(68));
        assert_eq!(parse_max_forwards("300"), Err(HeaderError::OutOfRange));
        assert_eq!(parse_content_length(" 150 "), Ok(150));
        assert_eq!(parse_content_length("-999"), Err(HeaderError::BadNumber));
        assert_eq!(parse_delta_seconds("4294967295"), Ok(u32::MAX));
        assert_eq!(
            parse_delta_seconds("4294967296"),
            Err(HeaderError::OutOfRange)
        );
    }

    #[test]
    fn call_ids() {
        assert_eq!(check_call_id("a84b4c76e66710@pc33.atlanta.com"), Ok(()));
        assert_eq!(
            check_call_id(r#"intmeth.word%ZK-!.*_+'@word`~)(><:\/"][?}{"#),
            Ok(())
        );
        assert_eq!(check_call_id("a b"), Err(HeaderError::BadCallId));
        assert_eq!(check_call_id("a@"), Err(HeaderError::BadCallId));
        assert_eq!(check_call_id(""), Err(HeaderError::BadCallId));
    }

    #[test]
    fn media_types() {
        let m = MediaType::parse("multipart/mixed;boundary=7a9cbec02ceef655").expect("valid");
        assert!(m.is("MULTIPART", "Mixed"));
        assert_eq!(m.params.value("boundary"), Some(Some("7a9cbec02ceef655")));
        assert_eq!(MediaType::parse(&m.to_string()), Ok(m));
        assert_eq!(MediaType::parse("application"), Err(HeaderError::BadToken));
    }

    #[test]
    fn session_expires() {
        let se = SessionExpires::parse("1800 ; refresher = uas").expect("valid");
        assert_eq!(se.delta, 1800);
        assert_eq!(se.refresher(), Some(Refresher::Uas));
        let built = SessionExpires::new(90, Some(Refresher::Uac));
        assert_eq!(built.to_string(), "90;refresher=uac");
        assert_eq!(SessionExpires::parse(&built.to_string()), Ok(built));
        assert_eq!(
            SessionExpires::parse("90;refresher=me"),
            Err(HeaderError::BadParam)
        );
        assert_eq!(SessionExpires::parse("x"), Err(HeaderError::BadNumber));
    }

    #[test]
    fn retry_after() {
        let r = RetryAfter::parse("18000 (in a (nested) meeting) ;duration=3600").expect("valid");
        assert_eq!(r.delta, 18000);
        assert_eq!(r.comment.as_deref(), Some("in a (nested) meeting"));
        assert_eq!(r.duration(), Some(3600));
        assert_eq!(RetryAfter::parse(&r.to_string()), Ok(r));
        assert_eq!(
            RetryAfter::parse("949302838503028349304023988"),
            Err(HeaderError::OutOfRange)
        );
        assert_eq!(
            RetryAfter::parse("5 (open"),
            Err(HeaderError::UnterminatedComment)
        );
    }
}

//! Parsing one complete message: a datagram, or a message cut out of a stream by
//! [`Framer`](super::Framer).
//!
//! The steps, in the order their errors are reported: size limit; leading CRLFs skipped; the
//! header section found (on a datagram, the end of the datagram also ends it); UTF-8; start line
//! (version before URI, so a bad version is always a `505`); header lines; body framing by
//! Content-Length (RFC 3261 §18.3); the headers the stack relies on (Call-ID, CSeq, From, To,
//! Via, Max-Forwards, Contact); CSeq method against the request method. The header section is
//! found and split into lines in one pass ([`super::head`]); a header line's fault found there
//! still comes after the UTF-8 and start-line checks. The message keeps what the last step
//! parsed ([`super::header::parsed`]).

use super::error::{HeaderError, ParseError};
use super::head::read_head;
use super::header::parsed::{Located, Parsed};
use super::header::{
    parse_content_length, parse_max_forwards, CSeq, HeaderName, Headers, NameAddr,
};
use super::method::Method;
use super::request::Request;
use super::response::Response;
use super::status::StatusCode;
use super::text::find_cr;
use super::uri::Uri;
use super::version::{check_version, VersionCheck};
use super::Message;

/// The default size limit: 64 KiB, the largest UDP payload.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// Limits applied while parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseConfig {
    /// The largest message accepted, in bytes; larger ones fail with
    /// [`ParseError::TooLarge`] so the agent can answer `513 Message Too Large`.
    pub max_message_size: usize,
}

impl ParseConfig {
    /// The configuration with a given size limit.
    pub fn with_max_message_size(max_message_size: usize) -> Self {
        ParseConfig { max_message_size }
    }
}

impl Default for ParseConfig {
    fn default() -> Self {
        ParseConfig {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }
}

/// How the message arrived, which decides how its body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// A datagram: Content-Length optional; extra bytes after the body are discarded.
    Datagram,
    /// Cut from a stream: Content-Length mandatory and exact.
    Stream,
}

/// Parses a complete message received as one datagram, with the default limits.
///
/// If Content-Length is absent the body is the rest of the datagram; if it is larger than what
/// follows the header section that is an error; if it is smaller the extra bytes are discarded
/// (RFC 3261 §18.3, RFC 4475 §3.1.1.8).
pub fn parse_message(bytes: &[u8]) -> Result<Message, ParseError> {
    parse_message_with(bytes, &ParseConfig::default())
}

/// [`parse_message`] with explicit limits.
pub fn parse_message_with(bytes: &[u8], config: &ParseConfig) -> Result<Message, ParseError> {
    if bytes.len() > config.max_message_size {
        return Err(ParseError::TooLarge {
            limit: config.max_message_size,
        });
    }
    parse_framed(bytes, Framing::Datagram)
}

/// Skips the CRLFs that may precede a start line (RFC 3261 §7.5 keep-alives).
pub(crate) fn skip_leading_crlf(bytes: &[u8]) -> &[u8] {
    let n = bytes
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(bytes.len());
    bytes.get(n..).unwrap_or_default()
}

/// The index of the CRLFCRLF that ends the header section, searching from `from`.
pub(crate) fn find_head_end(bytes: &[u8], from: usize) -> Option<usize> {
    // Jump from CR to CR rather than compare every window: most bytes are not CR.
    let mut i = from;
    loop {
        i += find_cr(bytes.get(i..)?)?;
        if bytes.get(i..i + 4) == Some(b"\r\n\r\n") {
            return Some(i);
        }
        i += 1;
    }
}

pub(crate) fn parse_framed(bytes: &[u8], framing: Framing) -> Result<Message, ParseError> {
    let bytes = skip_leading_crlf(bytes);
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    let head = read_head(bytes);
    let text = std::str::from_utf8(head.head).map_err(|_| ParseError::NotUtf8)?;
    // The start line and the block split at a CRLF, ASCII: at character boundaries.
    let start = parse_start_line(text.get(..head.start_line).unwrap_or(text))?;
    let block = text.get(head.start_line + 2..).unwrap_or("");
    let rest = head.rest;
    let mut headers = head.into_headers(block)?;
    let at = Located::find(&headers);
    let body = frame_body(&headers, &at, rest, framing)?;
    match start {
        StartLine::Request(method, uri) => {
            let parsed = validate_headers(&headers, &at, true)?;
            if parsed.cseq.method != method {
                return Err(ParseError::CSeqMethodMismatch);
            }
            headers.set_parsed(parsed);
            Ok(Message::Request(Request::from_parts(
                method, uri, headers, body,
            )))
        }
        StartLine::Response(status, reason) => {
            let parsed = validate_headers(&headers, &at, false)?;
            headers.set_parsed(parsed);
            Ok(Message::Response(Response::from_parts(
                status, reason, headers, body,
            )))
        }
    }
}

enum StartLine {
    Request(Method, Uri),
    Response(StatusCode, String),
}

fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    let is_status = line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"));
    if is_status {
        parse_status_line(line)
    } else {
        parse_request_line(line)
    }
}

fn parse_status_line(line: &str) -> Result<StartLine, ParseError> {
    let (version, rest) = line
        .split_once(' ')
        .ok_or(ParseError::BadStatusLine("missing status code"))?;
    match check_version(version) {
        VersionCheck::Supported => {}
        VersionCheck::Unsupported => return Err(ParseError::UnsupportedVersion),
        VersionCheck::Malformed => return Err(ParseError::BadStatusLine("malformed SIP version")),
    }
    // Without the SP after the code the line is strictly invalid; RFC 4475 §3.1.1.13 allows
    // a liberal receiver to take it as an empty reason phrase, and so do we.
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadStatusCode);
    }
    let status = code
        .parse::<u16>()
        .ok()
        .and_then(StatusCode::new)
        .ok_or(ParseError::BadStatusCode)?;
    if reason.chars().any(|c| c.is_control() && c != '\t') {
        return Err(ParseError::BadStatusLine(
            "control character in the reason phrase",
        ));
    }
    Ok(StartLine::Response(status, reason.to_owned()))
}

fn parse_request_line(line: &str) -> Result<StartLine, ParseError> {
    // Extra SP between the elements and at the end are accepted (RFC 4475 §3.1.2.9 and
    // §3.1.2.10 allow it); they are not written back.
    let line = line.trim_end_matches(' ');
    let (method, rest) = line
        .split_once(' ')
        .ok_or(ParseError::BadRequestLine("missing Request-URI"))?;
    let method: Method = method
        .parse()
        .map_err(|_| ParseError::BadRequestLine("method is not a token"))?;
    let rest = rest.trim_start_matches(' ');
    let (uri, version) = rest
        .rsplit_once(' ')
        .ok_or(ParseError::BadRequestLine("missing SIP version"))?;
    match check_version(version) {
        VersionCheck::Supported => {}
        VersionCheck::Unsupported => return Err(ParseError::UnsupportedVersion),
        VersionCheck::Malformed => return Err(ParseError::BadRequestLine("malformed SIP version")),
    }
    let uri =
        Uri::parse_request_uri(uri.trim_end_matches(' ')).map_err(ParseError::BadRequestUri)?;
    Ok(StartLine::Request(method, uri))
}

fn frame_body(
    headers: &Headers,
    at: &Located,
    rest: &[u8],
    framing: Framing,
) -> Result<Vec<u8>, ParseError> {
    // As `headers.content_length()` reads it.
    let declared = at
        .optional(headers, HeaderName::ContentLength)
        .and_then(|v| v.map(|v| parse_content_length(&v)).transpose())
        .map_err(header_error(HeaderName::ContentLength))?;
    match declared {
        None if framing == Framing::Stream => Err(ParseError::MissingContentLength),
        None => Ok(rest.to_vec()),
        Some(n) => match rest.get(..n) {
            Some(body) => Ok(body.to_vec()),
            None => Err(ParseError::ContentLengthExceedsBody {
                declared: n,
                available: rest.len(),
            }),
        },
    }
}

/// Maps a header fault to the precise parse error for `name`.
fn header_error(name: HeaderName) -> impl Fn(HeaderError) -> ParseError {
    move |fault| match fault {
        HeaderError::Missing => ParseError::MissingHeader(name),
        HeaderError::Duplicate => ParseError::DuplicateHeader(name),
        fault => ParseError::BadHeader { name, fault },
    }
}

/// Checks the headers every request and response must carry (RFC 3261 §8.1.1, §8.2.2), in
/// this order (the first fault is the one reported), and returns what it parsed: the message
/// keeps it for the user agent to read (see [`Parsed`]), and the caller compares the CSeq
/// method with the request method.
fn validate_headers(h: &Headers, at: &Located, is_request: bool) -> Result<Parsed, ParseError> {
    // Each read as its accessor on `Headers` reads it, from the lines `at` found.
    let call_id = h
        .call_id_span_at(at.lines(HeaderName::CallId))
        .map_err(header_error(HeaderName::CallId))?;
    let cseq = at
        .single(h, HeaderName::CSeq)
        .and_then(|v| CSeq::parse(&v))
        .map_err(header_error(HeaderName::CSeq))?;
    let from = at
        .single(h, HeaderName::From)
        .and_then(|v| NameAddr::parse_arc(&v))
        .map_err(header_error(HeaderName::From))?;
    let to = at
        .single(h, HeaderName::To)
        .and_then(|v| NameAddr::parse_arc(&v))
        .map_err(header_error(HeaderName::To))?;
    let top_via = h.parse_top_via().map_err(header_error(HeaderName::Via))?;
    if is_request {
        at.optional(h, HeaderName::MaxForwards)
            .and_then(|v| v.map(|v| parse_max_forwards(&v)).transpose())
            .map_err(header_error(HeaderName::MaxForwards))?;
    }
    let contact = h
        .parse_contact()
        .map_err(header_error(HeaderName::Contact))?;
    Ok(Parsed {
        call_id,
        cseq,
        from,
        to,
        top_via,
        contact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::text::is_token_char;

    const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n\
        Max-Forwards: 70\r\n\
        To: Bob <sip:bob@biloxi.example.com>\r\n\
        From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
        Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
        CSeq: 314159 INVITE\r\n\
        Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
        Content-Type: application/sdp\r\n\
        Content-Length: 4\r\n\r\nv=0\r";

    fn with(replace: &str, by: &str) -> Vec<u8> {
        INVITE.replacen(replace, by, 1).into_bytes()
    }

    #[test]
    fn ordinary_invite_parses() {
        let Ok(Message::Request(r)) = parse_message(INVITE.as_bytes()) else {
            panic!("valid INVITE refused");
        };
        assert_eq!(r.method(), &Method::Invite);
        assert_eq!(r.body(), b"v=0\r");
        assert_eq!(r.headers().len(), 9);
        assert_eq!(r.headers().max_forwards(), Ok(Some(70)));
    }

    #[test]
    fn start_line_faults() {
        let cases: [(&str, &str, ParseError); 6] = [
            (
                "SIP/2.0\r\nVia",
                "SIP/3.0\r\nVia",
                ParseError::UnsupportedVersion,
            ),
            (
                "SIP/2.0\r\nVia",
                "HTTP/1.1\r\nVia",
                ParseError::BadRequestLine("malformed SIP version"),
            ),
            (
                "INVITE sip",
                "INV ITE sip",
                ParseError::BadRequestUri(crate::message::error::UriError::Whitespace),
            ),
            (
                "INVITE sip",
                "INV@ITE sip",
                ParseError::BadRequestLine("method is not a token"),
            ),
            (
                "Max-Forwards: 70",
                "Max-Forwards 70",
                ParseError::BadHeaderLine {
                    line: 3,
                    fault: "missing colon",
                },
            ),
            (
                "Max-Forwards: 70",
                "Max-Forwards: 70\n",
                ParseError::BadHeaderLine {
                    line: 3,
                    fault: "bare CR or LF",
                },
            ),
        ];
        for (a, b, e) in cases {
            assert_eq!(parse_message(&with(a, b)).err(), Some(e), "{b:?}");
        }
    }

    #[test]
    fn header_names_must_be_tokens_before_the_colon() {
        let fault = |by: &str| match parse_message(&with("Max-Forwards: 70", by)) {
            Err(ParseError::BadHeaderLine { line: 3, fault }) => Some(fault),
            _ => None,
        };
        for by in [
            "Max Forwards: 70",
            ": 70",
            "Max@Forwards: 70",
            "Max-Forwards x: 70",
        ] {
            assert_eq!(fault(by), Some("header name is not a token"), "{by:?}");
        }
        for by in ["Max-Forwards 70", "Max-Forwards", "Max@Forwards 70"] {
            assert_eq!(fault(by), Some("missing colon"), "{by:?}");
        }
        // Whitespace between the name and the colon is allowed, and not part of the name.
        let Ok(Message::Request(r)) =
            parse_message(&with("Max-Forwards: 70", "Max-Forwards \t : 69"))
        else {
            panic!("whitespace before the colon refused");
        };
        assert_eq!(r.headers().max_forwards(), Ok(Some(69)));
        assert!(r.headers().iter().any(|f| f.name() == "Max-Forwards"));
    }

    #[test]
    fn header_lines_split_at_crlf_only() {
        let bare = |at: &str, by: &str, line: usize| {
            assert_eq!(
                parse_message(&with(at, by)).err(),
                Some(ParseError::BadHeaderLine {
                    line,
                    fault: "bare CR or LF"
                }),
                "{by:?}"
            );
        };
        bare("Max-Forwards: 70", "Max-Forwards: \r70", 3);
        bare("Max-Forwards: 70", "Max-Forwards: 70\r", 3);
        bare("Max-Forwards: 70", "Max\n-Forwards: 70", 3);
        bare("Content-Length: 4", "Content-Length: 4\r", 10);
        // A folded value continues on the next line and keeps its place.
        let folded = with("Max-Forwards: 70", "Subject: a\r\n b\r\nMax-Forwards: 70");
        let Ok(Message::Request(r)) = parse_message(&folded) else {
            panic!("folded header refused");
        };
        assert_eq!(r.headers().get(HeaderName::Subject), Some("a\r\n b"));
        assert_eq!(r.headers().max_forwards(), Ok(Some(70)));
        // Folded values the parser checks are read unfolded, whichever line they end on.
        let folded = with("CSeq: 314159 INVITE", "CSeq: 314159\r\n\tINVITE");
        let folded = String::from_utf8(folded)
            .unwrap_or_default()
            .replacen("To: Bob <", "To: Bob\r\n   <", 1)
            .replacen(
                "pc33.atlanta.example.com;branch",
                "pc33.atlanta.example.com\r\n ;branch",
                1,
            );
        let Ok(Message::Request(r)) = parse_message(folded.as_bytes()) else {
            panic!("folded CSeq, To and Via refused");
        };
        let h = r.headers();
        assert_eq!(h.cseq().map(|c| c.seq), Ok(314159));
        assert_eq!(
            h.to().map(|t| t.uri.to_string()).as_deref(),
            Ok("sip:bob@biloxi.example.com")
        );
        assert_eq!(
            h.top_via().map(|v| v.branch().map(str::to_owned)),
            Ok(Some("z9hG4bK776asdhds".into()))
        );
        assert_eq!(h.get(HeaderName::CSeq), Some("314159\r\n\tINVITE"));
        assert_eq!(find_head_end(b"a\r\nb\r\r\n\r\n", 0), Some(5));
        assert_eq!(find_head_end(b"a\r\n\r", 0), None);
        assert_eq!(find_head_end(b"\r\n\r\n\r\n\r\n", 1), Some(2));
    }

    /// The parser before the header section was read in one pass: the end of the section
    /// found first, then the start line split off, then the header lines split one by one.
    fn reference_parse(bytes: &[u8], framing: Framing) -> Result<Message, ParseError> {
        fn split_first_line(head: &str) -> (&str, &str) {
            head.split_once("\r\n").unwrap_or((head, ""))
        }
        fn header_block(block: &str) -> Result<Headers, ParseError> {
            let mut headers = Headers::for_parser(16);
            let bytes = block.as_bytes();
            let mut current: Option<(std::ops::Range<usize>, usize, usize, bool)> = None;
            let push = |h: &mut Headers,
                        (name, start, end, folded): (
                std::ops::Range<usize>,
                usize,
                usize,
                bool,
            )| {
                let raw = &block[start..end];
                let trimmed = raw.trim_matches([' ', '\t', '\r', '\n']);
                let lead = raw.len() - raw.trim_start_matches([' ', '\t', '\r', '\n']).len();
                let known = HeaderName::from_name(&block[name.clone()]);
                h.push_span(
                    name,
                    start + lead..start + lead + trimmed.len(),
                    known,
                    folded,
                );
            };
            let (mut offset, mut line_no) = (0, 1);
            while !block.is_empty() && offset <= bytes.len() {
                line_no += 1;
                let start = offset;
                let stop = bytes[start..]
                    .iter()
                    .position(|&b| b == b'\r' || b == b'\n')
                    .map_or(bytes.len(), |i| start + i);
                let fault = |fault| ParseError::BadHeaderLine {
                    line: line_no,
                    fault,
                };
                if stop < bytes.len() && bytes.get(stop..stop + 2) != Some(b"\r\n") {
                    return Err(fault("bare CR or LF"));
                }
                offset = stop + 2;
                let line = &bytes[start..stop];
                if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
                    let c = current
                        .as_mut()
                        .ok_or(fault("continuation line before the first header"))?;
                    c.2 = stop;
                    c.3 = true;
                    continue;
                }
                if let Some(c) = current.take() {
                    push(&mut headers, c);
                }
                let name_len = line.iter().take_while(|&&b| is_token_char(b)).count();
                let ws = line[name_len..]
                    .iter()
                    .take_while(|&&b| b == b' ' || b == b'\t')
                    .count();
                if name_len == 0 || line.get(name_len + ws) != Some(&b':') {
                    return Err(fault(if line.contains(&b':') {
                        "header name is not a token"
                    } else {
                        "missing colon"
                    }));
                }
                current = Some((
                    start..start + name_len,
                    start + name_len + ws + 1,
                    stop,
                    false,
                ));
            }
            if let Some(c) = current.take() {
                push(&mut headers, c);
            }
            headers.set_text(block.to_owned());
            Ok(headers)
        }
        let bytes = skip_leading_crlf(bytes);
        if bytes.is_empty() {
            return Err(ParseError::Empty);
        }
        let (head, rest) = match find_head_end(bytes, 0) {
            Some(i) => (&bytes[..i], &bytes[i + 4..]),
            None => (bytes.strip_suffix(b"\r\n").unwrap_or(bytes), &[][..]),
        };
        let head = std::str::from_utf8(head).map_err(|_| ParseError::NotUtf8)?;
        let (start_line, block) = split_first_line(head);
        let start = parse_start_line(start_line)?;
        let headers = header_block(block)?;
        let body = frame_body(&headers, &Located::find(&headers), rest, framing)?;
        match start {
            StartLine::Request(method, uri) => {
                let cseq = validate_headers(&headers, &Located::find(&headers), true)?
                    .cseq
                    .method;
                if cseq != method {
                    return Err(ParseError::CSeqMethodMismatch);
                }
                Ok(Message::Request(Request::from_parts(
                    method, uri, headers, body,
                )))
            }
            StartLine::Response(status, reason) => {
                validate_headers(&headers, &Located::find(&headers), false)?;
                Ok(Message::Response(Response::from_parts(
                    status, reason, headers, body,
                )))
            }
        }
    }

    #[test]
    fn one_pass_over_the_head_parses_as_the_split_passes_did() {
        let bases = [
            INVITE.to_owned(),
            INVITE.replacen(
                "Max-Forwards: 70",
                "Subject: a\r\n b\r\n\tc\r\nMax-Forwards: 70",
                1,
            ),
            "SIP/2.0 200 OK\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nt: <sip:a@b>;tag=2\r\n\
             f: <sip:c@d>;tag=1\r\ni: x@y\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n"
                .to_owned(),
        ];
        let pieces: [&[u8]; 12] = [
            b"\r",
            b"\n",
            b"\r\n",
            b"\r\n\r\n",
            b" ",
            b"\t",
            b":",
            b"\r\n ",
            b"\xff",
            b"x",
            b"\r\r\n",
            b"\n\r\n",
        ];
        // A fixed linear congruential sequence: the same cases every run.
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            usize::try_from(seed >> 33).unwrap_or(0) % n.max(1)
        };
        let mut checked = 0;
        for round in 0..6000 {
            let mut m = bases[round % bases.len()].clone().into_bytes();
            for _ in 0..1 + next(3) {
                let at = next(m.len() + 1);
                match next(4) {
                    0 => m.truncate(at),
                    1 if at < m.len() => {
                        m.remove(at);
                    }
                    _ => {
                        let piece = pieces[next(pieces.len())];
                        m.splice(at..at, piece.iter().copied());
                    }
                }
            }
            for framing in [Framing::Datagram, Framing::Stream] {
                assert_eq!(
                    parse_framed(&m, framing),
                    reference_parse(&m, framing),
                    "{:?} {framing:?}",
                    String::from_utf8_lossy(&m)
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 12000);
        for head in [
            "",
            "a",
            "a\r",
            "a\rb\r\nc",
            "a\r\n",
            "a\n\r\nb\r\nc",
            "a\r\n\r\nb",
        ] {
            let read = crate::message::head::read_head(head.as_bytes());
            assert_eq!(
                read.start_line,
                head.find("\r\n").unwrap_or(head.len()),
                "{head:?}"
            );
        }
    }

    #[test]
    fn framing_by_content_length() {
        let long = with("Content-Length: 4", "Content-Length: 5");
        assert_eq!(
            parse_message(&long).err(),
            Some(ParseError::ContentLengthExceedsBody {
                declared: 5,
                available: 4
            })
        );
        let short = with("Content-Length: 4", "Content-Length: 2");
        assert_eq!(
            parse_message(&short).map(|m| m.body().to_vec()),
            Ok(b"v=".to_vec())
        );
        let absent = with("Content-Length: 4\r\n", "");
        assert_eq!(parse_message(&absent).map(|m| m.body().len()), Ok(4));
        assert_eq!(
            parse_framed(&absent, Framing::Stream).err(),
            Some(ParseError::MissingContentLength)
        );
    }

    #[test]
    fn size_limit_and_keepalives() {
        let cfg = ParseConfig::with_max_message_size(100);
        assert_eq!(
            parse_message_with(INVITE.as_bytes(), &cfg).err(),
            Some(ParseError::TooLarge { limit: 100 })
        );
        assert_eq!(parse_message(b"\r\n\r\n").err(), Some(ParseError::Empty));
        let mut leading = b"\r\n\r\n".to_vec();
        leading.extend_from_slice(INVITE.as_bytes());
        assert!(parse_message(&leading).is_ok());
    }

    #[test]
    fn required_headers_and_cseq_method() {
        assert_eq!(
            parse_message(&with(
                "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n",
                ""
            ))
            .err(),
            Some(ParseError::MissingHeader(HeaderName::CallId))
        );
        assert_eq!(
            parse_message(&with("CSeq: 314159 INVITE", "CSeq: 314159 BYE")).err(),
            Some(ParseError::CSeqMethodMismatch)
        );
        assert_eq!(
            parse_message(&with("Max-Forwards: 70", "Max-Forwards: 256")).err(),
            Some(ParseError::BadHeader {
                name: HeaderName::MaxForwards,
                fault: HeaderError::OutOfRange
            })
        );
        assert_eq!(
            parse_message(&with("Max-Forwards: 70", "Content-Length: 4")).err(),
            Some(ParseError::DuplicateHeader(HeaderName::ContentLength))
        );
    }

    #[test]
    fn responses_parse() {
        let resp = "SIP/2.0 180 Ringing\r\n\
            Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n\
            To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n\
            From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
            Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
            CSeq: 314159 INVITE\r\n\
            Content-Length: 0\r\n\r\n";
        let Ok(Message::Response(r)) = parse_message(resp.as_bytes()) else {
            panic!("valid response refused");
        };
        assert_eq!(r.status(), StatusCode::RINGING);
        assert_eq!(r.reason(), "Ringing");
        let bad = resp.replacen("180", "1800", 1);
        assert_eq!(
            parse_message(bad.as_bytes()).err(),
            Some(ParseError::BadStatusCode)
        );
        let bad = resp.replacen("180", "099", 1);
        assert_eq!(
            parse_message(bad.as_bytes()).err(),
            Some(ParseError::BadStatusCode)
        );
    }
}

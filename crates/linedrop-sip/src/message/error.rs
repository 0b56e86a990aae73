//! Errors of the codec, and the one table that maps them to a SIP answer.

use super::header::HeaderName;
use super::status::StatusCode;

/// Why a message could not be parsed.
///
/// Each variant says what is wrong precisely enough to put in the reason phrase of the `400`
/// that answers a malformed request; [`ParseError::response_hint`] is the one place that maps
/// an error to the status code of that answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The input held nothing but CRLF keep-alives, or nothing at all. Never answered.
    #[error("empty message")]
    Empty,
    /// The message is longer than the configured limit (answered with `513`).
    #[error("message larger than {limit} bytes")]
    TooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// The start line or a header line is not valid UTF-8.
    #[error("header section is not valid UTF-8")]
    NotUtf8,
    /// The request line is not `Method SP Request-URI SP SIP-Version`.
    #[error("malformed request line: {0}")]
    BadRequestLine(&'static str),
    /// The status line is not `SIP-Version SP Status-Code SP Reason-Phrase`. Never answered.
    #[error("malformed status line: {0}")]
    BadStatusLine(&'static str),
    /// The status code is not three digits in `100..=699`. Never answered.
    #[error("status code is not three digits between 100 and 699")]
    BadStatusCode,
    /// The Request-URI is malformed.
    #[error("malformed Request-URI: {0}")]
    BadRequestUri(UriError),
    /// The SIP version is well formed but is not 2.0 (answered with `505`).
    #[error("unsupported SIP version")]
    UnsupportedVersion,
    /// A header line is malformed (no colon, a name that is not a token, a stray CR or LF).
    #[error("malformed header line {line}: {fault}")]
    BadHeaderLine {
        /// The 1-based line number in the message (the start line is line 1).
        line: usize,
        /// What is wrong with it.
        fault: &'static str,
    },
    /// A header the stack requires is absent.
    #[error("missing {0} header")]
    MissingHeader(HeaderName),
    /// A header that must appear once appears more than once.
    #[error("more than one {0} header")]
    DuplicateHeader(HeaderName),
    /// A header the stack relies on has a malformed value.
    #[error("invalid {name} header: {fault}")]
    BadHeader {
        /// Which header.
        name: HeaderName,
        /// What is wrong with its value.
        fault: HeaderError,
    },
    /// The method in the CSeq header is not the method of the request line.
    #[error("CSeq method does not match the request method")]
    CSeqMethodMismatch,
    /// Content-Length announces more bytes than the datagram carries (RFC 3261 §18.3).
    #[error("Content-Length {declared} exceeds the {available} bytes of body received")]
    ContentLengthExceedsBody {
        /// The value of Content-Length.
        declared: usize,
        /// The bytes that follow the header section.
        available: usize,
    },
    /// A message on a stream transport has no Content-Length (RFC 3261 §18.3).
    #[error("missing Content-Length on a stream transport")]
    MissingContentLength,
}

impl ParseError {
    /// The status and reason phrase to answer a request that failed with this error, or `None`
    /// when nothing should be sent.
    ///
    /// `505` for an unsupported version, `513` for an oversized message, `400 Bad Request - ...`
    /// naming the fault otherwise. Errors that only a response can have, and empty input, give
    /// `None`. Whether the message was a request at all, and whether enough of it was readable
    /// to build an answer, is for [`salvage_request_parts`](super::salvage_request_parts) to
    /// decide: a response that fails to parse is dropped, never answered.
    pub fn response_hint(&self) -> Option<(StatusCode, String)> {
        match self {
            ParseError::Empty | ParseError::BadStatusLine(_) | ParseError::BadStatusCode => None,
            ParseError::TooLarge { .. } => Some((
                StatusCode::MESSAGE_TOO_LARGE,
                "Message Too Large".to_owned(),
            )),
            ParseError::UnsupportedVersion => Some((
                StatusCode::VERSION_NOT_SUPPORTED,
                "Version Not Supported".to_owned(),
            )),
            other => Some((
                StatusCode::BAD_REQUEST,
                sanitize_reason(&format!("Bad Request - {other}")),
            )),
        }
    }
}

/// What is wrong with the value of one header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The header is required here but absent.
    #[error("missing")]
    Missing,
    /// The header may appear once but appears more than once.
    #[error("repeated")]
    Duplicate,
    /// The value, or one element of a comma-separated list, is empty.
    #[error("empty value")]
    Empty,
    /// A quoted string has no closing quote.
    #[error("unterminated quoted string")]
    UnterminatedQuote,
    /// A comment (in parentheses) is not closed.
    #[error("unterminated comment")]
    UnterminatedComment,
    /// A number is not a string of digits.
    #[error("not a number")]
    BadNumber,
    /// A number is outside its legal range.
    #[error("number out of range")]
    OutOfRange,
    /// A URI is malformed.
    #[error("{0}")]
    BadUri(UriError),
    /// An unquoted display name contains characters that are not token characters.
    #[error("unquoted display name with non-token characters")]
    BadDisplayName,
    /// A URI with parameters or headers is not enclosed in angle brackets.
    #[error("URI with parameters or headers must be enclosed in angle brackets")]
    MissingAngleBrackets,
    /// An opening angle bracket has no matching closing one.
    #[error("unterminated angle brackets")]
    UnterminatedAngle,
    /// A parameter is malformed (empty name, missing value after `=`).
    #[error("malformed parameter")]
    BadParam,
    /// A token is empty or contains characters outside the token set.
    #[error("malformed token")]
    BadToken,
    /// The sent-protocol of a Via (`SIP/2.0/UDP`) is malformed.
    #[error("malformed sent-protocol")]
    BadSentProtocol,
    /// A host is malformed.
    #[error("malformed host")]
    BadHost,
    /// A port is not a number in `0..=65535`.
    #[error("malformed port")]
    BadPort,
    /// Characters follow a complete value.
    #[error("unexpected characters after the value")]
    TrailingGarbage,
    /// A `*` Contact is combined with other Contact values.
    #[error("wildcard Contact mixed with other values")]
    WildcardMixed,
    /// A Call-ID is not `word [@ word]`.
    #[error("malformed Call-ID")]
    BadCallId,
}

/// What is wrong with a URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// The URI is empty.
    #[error("empty URI")]
    Empty,
    /// The URI contains whitespace or control characters (for instance embedded LWS).
    #[error("whitespace or control character inside the URI")]
    Whitespace,
    /// The URI contains a character that must be escaped (`<`, `"`, a non-ASCII byte, ...).
    #[error("character that must be escaped inside the URI")]
    BadCharacter,
    /// The URI is enclosed in angle brackets where a bare URI is required (RFC 4475 §3.1.2.7).
    #[error("URI enclosed in angle brackets")]
    Bracketed,
    /// The URI has no `scheme:` prefix, or the scheme is malformed.
    #[error("missing or malformed scheme")]
    BadScheme,
    /// The user part contains characters that must be escaped.
    #[error("invalid character in the user part")]
    BadUser,
    /// The password contains characters that must be escaped.
    #[error("invalid character in the password")]
    BadPassword,
    /// The host is not a domain name, an IPv4 address or an IPv6 reference.
    #[error("malformed host")]
    BadHost,
    /// The port is not a number in `0..=65535`.
    #[error("malformed port")]
    BadPort,
    /// A URI parameter is malformed.
    #[error("malformed URI parameter")]
    BadParam,
    /// A URI header (after `?`) is malformed.
    #[error("malformed URI header")]
    BadHeader,
    /// A `%` is not followed by two hexadecimal digits.
    #[error("malformed percent-escape")]
    BadEscape,
    /// The URI has headers (`?name=value`) where they are not allowed (the Request-URI).
    #[error("URI headers are not allowed in a Request-URI")]
    HeadersNotAllowed,
}

/// Keeps only the characters RFC 3261's Reason-Phrase allows unescaped, so that error text can
/// never break the status line (no CR, LF, `<`, `"`, `%`, ...).
pub(crate) fn sanitize_reason(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            let allowed = c.is_ascii_alphanumeric()
                || c == ' '
                || !c.is_ascii() && !c.is_control()
                || ";/?:@&=+$,-_.!~*'()".contains(c);
            if allowed {
                Some(c)
            } else if c.is_whitespace() {
                Some(' ')
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_map_errors_to_answers() {
        let (code, reason) = ParseError::MissingHeader(HeaderName::CallId)
            .response_hint()
            .expect("a request with a missing header is answered");
        assert_eq!(code, StatusCode::BAD_REQUEST);
        assert_eq!(reason, "Bad Request - missing Call-ID header");
        assert_eq!(
            ParseError::UnsupportedVersion.response_hint().map(|h| h.0),
            Some(StatusCode::VERSION_NOT_SUPPORTED)
        );
        assert_eq!(
            ParseError::TooLarge { limit: 10 }
                .response_hint()
                .map(|h| h.0),
            Some(StatusCode::MESSAGE_TOO_LARGE)
        );
        assert_eq!(ParseError::BadStatusCode.response_hint(), None);
        assert_eq!(ParseError::Empty.response_hint(), None);
    }

    #[test]
    fn reasons_never_carry_forbidden_characters() {
        let err = ParseError::BadHeader {
            name: HeaderName::Contact,
            fault: HeaderError::MissingAngleBrackets,
        };
        let (_, reason) = err.response_hint().expect("answered");
        assert!(
            !reason.contains(['<', '>', '"', '%', '\r', '\n']),
            "{reason}"
        );
        assert_eq!(sanitize_reason("a\r\nb<c>\"d%"), "a  bcd");
    }
}

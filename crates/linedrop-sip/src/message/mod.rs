//! The SIP message codec: parse, inspect, build and serialise requests and responses.
//!
//! Pure and sans-IO: bytes in, values out, values in, bytes out.
//!
//! # Receiving
//!
//! - A datagram: [`parse_message`] (or [`parse_message_with`] for a size limit other than
//!   64 KiB).
//! - A stream: a [`Framer`] per connection; push bytes as they are read and drain
//!   [`Framer::next_message`] until it returns `Ok(None)`.
//!
//! When a request fails to parse, [`salvage_request_parts`] reads what an answer needs from the
//! raw bytes and [`ParseError::response_hint`] picks the answer (`400 Bad Request - <fault>`,
//! `505`, `513`); responses that fail to parse are dropped:
//!
//! ```
//! use linedrop_sip::message::{parse_message, salvage_request_parts};
//!
//! let bytes = b"OPTIONS sip:a@example.com SIP/7.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
//!               To: <sip:a@example.com>\r\nFrom: <sip:b@example.com>;tag=1\r\n\
//!               Call-ID: 1@h\r\nCSeq: 1 OPTIONS\r\n\r\n";
//! let err = parse_message(bytes).unwrap_err();
//! let answer = salvage_request_parts(bytes)
//!     .zip(err.response_hint())
//!     .map(|(parts, (status, reason))| parts.response(status, &reason));
//! assert_eq!(answer.map(|r| r.status().as_u16()), Some(505));
//! ```
//!
//! # Unknown URI schemes
//!
//! A Request-URI of an unknown scheme parses (RFC 4475 §3.3.2: "a parser must accept this as a
//! well-formed SIP request"): it is kept as [`Uri::Other`], and the user agent answers `416`
//! when [`Uri::is_sip`] is false. The parser never answers semantics.
//!
//! # What the parser checks
//!
//! Syntax of the start line (a version other than 2.0 is [`ParseError::UnsupportedVersion`]),
//! of every header line, and of the headers the stack relies on: Call-ID, CSeq (below 2^31,
//! method equal to the request's), From, To, Via (at least one), Max-Forwards (`0..=255`),
//! Content-Length (one, numeric, framing the body) and Contact. Other headers are kept raw and
//! checked when read through their typed accessor on [`Headers`]. Where RFC 4475 lets a
//! receiver be liberal (extra SP in the request line, a missing final empty line in a
//! datagram, `;received=` with or without IPv6 brackets, the three-colon IPv6 form of RFC 5118
//! §4.10) the parser is; everywhere else it refuses.
//!
//! # Sending
//!
//! [`Request::new`] and [`Response::for_request`] build messages; [`Request::to_bytes`] and
//! [`Response::to_bytes`] serialise them with a correct Content-Length. Parsed headers are
//! written back byte-exact, so `parse(to_bytes(m)) == m` for a message built with these
//! methods.

mod digits;
mod error;
mod framer;
mod head;
mod header;
mod host;
mod method;
mod params;
mod parse;
mod request;
mod response;
mod salvage;
mod serialize;
mod status;
mod text;
mod uri;
mod version;

pub(crate) use digits::{ip_string, Digits};
pub use error::{HeaderError, ParseError, UriError};
pub use framer::{FrameError, Framer};
pub use header::{
    CSeq, Contacts, DisplayName, HeaderField, HeaderName, Headers, MediaType, NameAddr, Reason,
    Refresher, RetryAfter, SessionExpires, Transport, Via, BRANCH_MAGIC_COOKIE,
};
pub use host::Host;
pub use method::{InvalidMethod, Method};
pub use params::{Param, Params};
pub use parse::{parse_message, parse_message_with, ParseConfig, DEFAULT_MAX_MESSAGE_SIZE};
pub use request::Request;
pub use response::Response;
pub use salvage::{salvage_request_parts, SalvagedRequest};
pub use status::{CodeKind, StatusCode};
pub(crate) use text::find_cr_or_lf;
pub use text::percent_decode;
pub use uri::{AbsoluteUri, SipUri, Uri, UriHeader};
pub use version::Version;

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// The headers.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => r.headers(),
            Message::Response(r) => r.headers(),
        }
    }

    /// The headers, to change.
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Message::Request(r) => r.headers_mut(),
            Message::Response(r) => r.headers_mut(),
        }
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        match self {
            Message::Request(r) => r.body(),
            Message::Response(r) => r.body(),
        }
    }

    /// The request, if it is one.
    pub fn as_request(&self) -> Option<&Request> {
        match self {
            Message::Request(r) => Some(r),
            Message::Response(_) => None,
        }
    }

    /// The response, if it is one.
    pub fn as_response(&self) -> Option<&Response> {
        match self {
            Message::Request(_) => None,
            Message::Response(r) => Some(r),
        }
    }

    /// The message as sent on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }

    /// Appends the message, as sent on the wire, to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Message::Request(r) => r.write_to(out),
            Message::Response(r) => r.write_to(out),
        }
    }
}

impl From<Request> for Message {
    fn from(r: Request) -> Self {
        Message::Request(r)
    }
}

impl From<Response> for Message {
    fn from(r: Response) -> Self {
        Message::Response(r)
    }
}

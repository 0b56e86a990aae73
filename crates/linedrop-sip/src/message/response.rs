//! Responses and the builders the user agent uses to answer requests.

use std::borrow::Cow;
use std::fmt;

use super::digits::Digits;
use super::header::{HeaderName, Headers};
use super::request::Request;
use super::status::StatusCode;
use super::version::Version;

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    version: Version,
    status: StatusCode,
    /// Borrowed for a canonical phrase: most responses built carry one.
    reason: Cow<'static, str>,
    headers: Headers,
    body: Vec<u8>,
}

/// The headers a response copies from its request (RFC 3261 §8.2.6.2), in the order written.
pub(crate) const COPIED_FROM_REQUEST: [HeaderName; 5] = [
    HeaderName::Via,
    HeaderName::From,
    HeaderName::To,
    HeaderName::CallId,
    HeaderName::CSeq,
];

impl Response {
    /// A response with the canonical reason phrase (empty for an unregistered code), no
    /// headers and no body.
    pub fn new(status: StatusCode) -> Self {
        Response {
            version: Version::SIP_2_0,
            status,
            reason: Cow::Borrowed(status.canonical_reason().unwrap_or("")),
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// A response with the given reason phrase.
    pub fn with_reason(status: StatusCode, reason: impl Into<String>) -> Self {
        Response {
            version: Version::SIP_2_0,
            status,
            reason: Cow::Owned(reason.into()),
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// The response a UAS sends to `request` (RFC 3261 §8.2.6): every Via in order, From, To,
    /// Call-ID and CSeq copied as received, `Content-Length: 0`.
    ///
    /// Adding the To tag (mandatory on everything but `100`), Record-Route for dialog-creating
    /// responses, Contact and the copy of Timestamp into a `100` is the caller's job.
    pub fn for_request(request: &Request, status: StatusCode) -> Self {
        let mut r = Response::new(status);
        // Room for the copies, the To tag, Contact and Content-Length the caller adds: the
        // request's own header text is a bound on the first and leaves room for the rest.
        r.headers = Headers::with_capacity(request.headers().text_len() + 64, 12);
        for name in COPIED_FROM_REQUEST {
            r.headers.push_copies(request.headers(), name);
        }
        r.set_body(Vec::new());
        r
    }

    pub(crate) fn from_parts(
        status: StatusCode,
        reason: String,
        headers: Headers,
        body: Vec<u8>,
    ) -> Self {
        Response {
            version: Version::SIP_2_0,
            status,
            reason: Cow::Owned(reason),
            headers,
            body,
        }
    }

    /// Adds a header and returns the response, for building in one expression.
    pub fn with_header(mut self, name: HeaderName, value: impl fmt::Display) -> Self {
        self.headers.push(name, value);
        self
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The reason phrase as received (it may be empty, RFC 4475 §3.1.1.13).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Replaces the reason phrase. CR and LF are written as spaces.
    pub fn set_reason(&mut self, reason: impl Into<String>) {
        self.reason = Cow::Owned(reason.into());
    }

    /// The protocol version (always SIP/2.0).
    pub fn version(&self) -> Version {
        self.version
    }

    /// The headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The headers, to change. Serialisation rewrites Content-Length whatever is set here.
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Replaces the body and sets Content-Length to its length.
    pub fn set_body(&mut self, body: impl Into<Vec<u8>>) {
        self.body = body.into();
        let len = Digits::of(self.body.len() as u64);
        self.headers
            .set_str(HeaderName::ContentLength, len.as_str());
    }
}

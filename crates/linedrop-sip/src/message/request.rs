//! Requests and the builder methods the user agent uses to create them.

use std::fmt;

use super::digits::Digits;
use super::header::{HeaderName, Headers};
use super::method::Method;
use super::uri::Uri;
use super::version::Version;

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: Method,
    uri: Uri,
    version: Version,
    headers: Headers,
    body: Vec<u8>,
}

/// Bytes of header names and values a request we build starts with room for.
const REQUEST_TEXT: usize = 512;
/// Header lines a request we build starts with room for.
const REQUEST_LINES: usize = 12;

impl Request {
    /// A request with no headers and no body. The caller adds Via, From, To, Call-ID, CSeq,
    /// Max-Forwards (RFC 3261 §8.1.1) and, through [`Request::set_body`], the body.
    pub fn new(method: Method, uri: Uri) -> Self {
        Request {
            method,
            uri,
            version: Version::SIP_2_0,
            // Room for the headers a request we send carries (Via, From, To, Call-ID, CSeq,
            // Max-Forwards, Contact and a few more): grown from nothing, a request's text
            // and header list were reallocated about a dozen times as they were written.
            headers: Headers::with_capacity(REQUEST_TEXT, REQUEST_LINES),
            body: Vec::new(),
        }
    }

    pub(crate) fn from_parts(method: Method, uri: Uri, headers: Headers, body: Vec<u8>) -> Self {
        Request {
            method,
            uri,
            version: Version::SIP_2_0,
            headers,
            body,
        }
    }

    /// Adds a header and returns the request, for building in one expression.
    pub fn with_header(mut self, name: HeaderName, value: impl fmt::Display) -> Self {
        self.headers.push(name, value);
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The Request-URI. It may be of any scheme: check [`Uri::is_sip`] and answer `416`.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// Replaces the Request-URI.
    pub fn set_uri(&mut self, uri: Uri) {
        self.uri = uri;
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

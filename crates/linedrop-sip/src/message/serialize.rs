//! Writing messages to bytes.
//!
//! Headers are written as stored (name as written, raw value), so a parsed message is forwarded
//! byte-exact apart from the start line, which is rebuilt from its parts. Content-Length is
//! always made right: the first Content-Length keeps its name and place with the body's length
//! as value, any other is dropped, and one is appended if there was none.

use std::io::Write as _;

use super::digits::Digits;
use super::header::{parse_content_length, HeaderName, Headers};
use super::request::Request;
use super::response::Response;

impl Request {
    /// Appends the request, as sent on the wire, to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.method().as_str().as_bytes());
        out.push(b' ');
        // Invariant: writing into a Vec cannot fail.
        let _ = write!(out, "{}", self.uri());
        out.push(b' ');
        out.extend_from_slice(self.version().as_str().as_bytes());
        out.extend_from_slice(b"\r\n");
        write_headers_and_body(self.headers(), self.body(), out);
    }

    /// The request as sent on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(estimate(self.headers(), self.body()));
        self.write_to(&mut out);
        out
    }
}

impl Response {
    /// Appends the response, as sent on the wire, to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.version().as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(
            Digits::of(u64::from(self.status().as_u16()))
                .as_str()
                .as_bytes(),
        );
        out.push(b' ');
        let reason = self.reason().as_bytes();
        out.extend(
            reason
                .iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        out.extend_from_slice(b"\r\n");
        write_headers_and_body(self.headers(), self.body(), out);
    }

    /// The response as sent on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(estimate(self.headers(), self.body()));
        self.write_to(&mut out);
        out
    }
}

fn estimate(headers: &Headers, body: &[u8]) -> usize {
    // The stored text bounds the names and values (it may hold some replaced ones too).
    headers.text_len() + 4 * headers.len() + body.len() + 96
}

fn write_headers_and_body(headers: &Headers, body: &[u8], out: &mut Vec<u8>) {
    let mut wrote_length = false;
    for h in headers.iter() {
        if h.known() == Some(HeaderName::ContentLength) {
            if wrote_length {
                continue;
            }
            wrote_length = true;
            out.extend_from_slice(h.name().as_bytes());
            out.extend_from_slice(b": ");
            if parse_content_length(&h.unfolded()) == Ok(body.len()) {
                out.extend_from_slice(h.value().as_bytes());
            } else {
                out.extend_from_slice(Digits::of(body.len() as u64).as_str().as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            continue;
        }
        out.extend_from_slice(h.name().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !wrote_length {
        out.extend_from_slice(b"Content-Length: ");
        out.extend_from_slice(Digits::of(body.len() as u64).as_str().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

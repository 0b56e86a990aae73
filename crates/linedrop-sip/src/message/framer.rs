//! Cutting messages out of a byte stream (TCP, TLS) by Content-Length.

use super::error::ParseError;
use super::header::{parse_content_length, HeaderName};
use super::parse::{find_head_end, parse_framed, skip_leading_crlf, Framing, ParseConfig};
use super::Message;

/// An error from [`Framer::next_message`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct FrameError {
    /// What is wrong.
    pub error: ParseError,
    /// The bytes of the offending message (its header section at least), for
    /// [`salvage_request_parts`](super::salvage_request_parts) to answer it. Empty when the
    /// framing was lost before a message could be delimited.
    pub raw: Vec<u8>,
    /// Whether the stream can no longer be framed: the connection must be closed
    /// (RFC 4475 §3.1.2.3, §3.3.9). Every later call returns the same error.
    pub fatal: bool,
}

/// Turns a byte stream into messages, the way mini-redis's `Connection` turns one into frames.
///
/// Feed bytes with [`Framer::push`] as they are read, then call [`Framer::next_message`] until
/// it returns `Ok(None)`, which means "read more". CRLFs before a message (keep-alives, RFC 3261
/// §7.5, RFC 5626 §4.4.1) are skipped. Content-Length is mandatory on a stream; a message whose
/// framing is intact but whose content is malformed is reported and skipped, and the stream
/// goes on.
#[derive(Debug, Clone, Default)]
pub struct Framer {
    /// Bytes received and not yet consumed, from `start`.
    buf: Vec<u8>,
    /// The offset of the first unconsumed byte in `buf`; compacted lazily.
    start: usize,
    /// How far, from `start`, the search for the end of the header section has looked, so a
    /// header section arriving in many pieces is scanned once.
    scanned: usize,
    /// Header length and Content-Length of the message being completed, once known.
    pending: Option<(usize, usize)>,
    /// Body bytes of an oversized message still to be discarded.
    skip: usize,
    /// Limits.
    config: ParseConfig,
    /// The fatal error, once the framing is lost.
    failed: Option<ParseError>,
}

impl Framer {
    /// A framer with the default limits.
    pub fn new() -> Self {
        Framer::default()
    }

    /// A framer with explicit limits.
    pub fn with_config(config: ParseConfig) -> Self {
        Framer {
            config,
            ..Framer::default()
        }
    }

    /// Adds bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        let mut bytes = bytes;
        if self.skip > 0 {
            let n = self.skip.min(bytes.len());
            self.skip -= n;
            bytes = bytes.get(n..).unwrap_or_default();
        }
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The number of bytes buffered and not yet consumed.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next complete message: `Ok(None)` when more bytes are needed.
    pub fn next_message(&mut self) -> Result<Option<Message>, FrameError> {
        let Some(total) = self.frame()? else {
            return Ok(None);
        };
        let raw = self
            .buf
            .get(self.start..self.start + total)
            .unwrap_or_default();
        let result = parse_framed(raw, Framing::Stream);
        let raw_copy = if result.is_err() {
            raw.to_vec()
        } else {
            Vec::new()
        };
        self.consume(total);
        match result {
            Ok(m) => Ok(Some(m)),
            Err(error) => Err(FrameError {
                error,
                raw: raw_copy,
                fatal: false,
            }),
        }
    }

    /// The bytes of the next complete message, delimited by its Content-Length but not
    /// parsed: `Ok(None)` when more bytes are needed. For a reader that hands messages to a
    /// parser of its own (the driver's TCP reader gives them to the user agent), so that each
    /// message is parsed once. Errors are those of framing only (no or bad Content-Length,
    /// too large); a frame whose content is malformed is the parser's to find.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let Some(total) = self.frame()? else {
            return Ok(None);
        };
        let raw = self
            .buf
            .get(self.start..self.start + total)
            .unwrap_or_default()
            .to_vec();
        self.consume(total);
        Ok(Some(raw))
    }

    /// Delimits the next message: its length from `start` once it is complete.
    fn frame(&mut self) -> Result<Option<usize>, FrameError> {
        if let Some(error) = &self.failed {
            return Err(FrameError {
                error: error.clone(),
                raw: Vec::new(),
                fatal: true,
            });
        }
        let data = self.buf.get(self.start..).unwrap_or_default();
        let skipped = data.len() - skip_leading_crlf(data).len();
        if skipped > 0 {
            self.start += skipped;
            self.scanned = self.scanned.saturating_sub(skipped);
        }
        let data = self.buf.get(self.start..).unwrap_or_default();
        if data.is_empty() {
            return Ok(None);
        }
        let (head_len, body_len) = match self.pending {
            Some(p) => p,
            None => {
                let Some(end) = find_head_end(data, self.scanned.saturating_sub(3)) else {
                    self.scanned = data.len();
                    if data.len() > self.config.max_message_size {
                        return Err(self.fail(ParseError::TooLarge {
                            limit: self.config.max_message_size,
                        }));
                    }
                    return Ok(None);
                };
                let head_len = end + 4;
                let head = data.get(..head_len).unwrap_or_default();
                let body_len = match scan_content_length(head) {
                    Ok(n) => n,
                    Err(e) => return Err(self.fail(e)),
                };
                if head_len.saturating_add(body_len) > self.config.max_message_size {
                    let raw = head.to_vec();
                    self.consume(head_len);
                    self.discard(body_len);
                    return Err(FrameError {
                        error: ParseError::TooLarge {
                            limit: self.config.max_message_size,
                        },
                        raw,
                        fatal: false,
                    });
                }
                self.pending = Some((head_len, body_len));
                (head_len, body_len)
            }
        };
        let total = head_len + body_len;
        if data.len() < total {
            return Ok(None);
        }
        Ok(Some(total))
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.scanned = 0;
        self.pending = None;
        if self.start >= self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
    }

    /// Drops `n` body bytes of an oversized message, some buffered, the rest still to come.
    fn discard(&mut self, n: usize) {
        let here = n.min(self.buffered());
        self.consume(here);
        self.skip = n - here;
    }

    fn fail(&mut self, error: ParseError) -> FrameError {
        self.failed = Some(error.clone());
        self.buf = Vec::new();
        self.start = 0;
        FrameError {
            error,
            raw: Vec::new(),
            fatal: true,
        }
    }
}

/// Finds the one Content-Length of a header section at the byte level, so that framing does
/// not depend on anything else in the message being well formed.
fn scan_content_length(head: &[u8]) -> Result<usize, ParseError> {
    let mut found: Option<Vec<u8>> = None;
    let mut current: Option<Vec<u8>> = None;
    let mut lines = head.split(|&b| b == b'\n').skip(1);
    let mut finish = |current: &mut Option<Vec<u8>>| -> Result<(), ParseError> {
        if let Some(v) = current.take() {
            if found.replace(v).is_some() {
                return Err(ParseError::DuplicateHeader(HeaderName::ContentLength));
            }
        }
        Ok(())
    };
    for line in lines.by_ref() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            if let Some(v) = current.as_mut() {
                v.extend_from_slice(line);
            }
            continue;
        }
        finish(&mut current)?;
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line.get(..colon).unwrap_or_default();
        let name = std::str::from_utf8(name)
            .unwrap_or("")
            .trim_end_matches([' ', '\t']);
        if HeaderName::from_name(name) == Some(HeaderName::ContentLength) {
            current = Some(line.get(colon + 1..).unwrap_or_default().to_vec());
        }
    }
    finish(&mut current)?;
    let value = found.ok_or(ParseError::MissingContentLength)?;
    let value = std::str::from_utf8(&value).map_err(|_| ParseError::NotUtf8)?;
    parse_content_length(value).map_err(|fault| ParseError::BadHeader {
        name: HeaderName::ContentLength,
        fault,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::error::HeaderError;

    const OPTIONS: &[u8] = b"OPTIONS sip:bob@example.com SIP/2.0\r\n\
        Via: SIP/2.0/TCP a.example.com;branch=z9hG4bK1\r\n\
        To: <sip:bob@example.com>\r\n\
        From: <sip:alice@example.com>;tag=1\r\n\
        Call-ID: 1@a\r\n\
        CSeq: 1 OPTIONS\r\n\
        Content-Length: 3\r\n\r\nabc";

    #[test]
    fn byte_by_byte_with_keepalives() {
        let mut f = Framer::new();
        let mut stream = b"\r\n\r\n".to_vec();
        stream.extend_from_slice(OPTIONS);
        stream.extend_from_slice(b"\r\n");
        stream.extend_from_slice(OPTIONS);
        let mut got = Vec::new();
        for b in &stream {
            f.push(std::slice::from_ref(b));
            while let Some(m) = f.next_message().expect("valid stream") {
                got.push(m);
            }
        }
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|m| m.body() == b"abc"));
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn frames_are_the_raw_messages_unparsed() {
        let bad = String::from_utf8_lossy(OPTIONS).replace("CSeq: 1 OPTIONS", "CSeq: 1 BYE");
        let mut stream = b"\r\n".to_vec();
        stream.extend_from_slice(OPTIONS);
        stream.extend_from_slice(bad.as_bytes());
        stream.extend_from_slice(OPTIONS);
        let mut f = Framer::new();
        let mut got = Vec::new();
        for chunk in stream.chunks(7) {
            f.push(chunk);
            while let Some(frame) = f.next_frame().expect("framing intact") {
                got.push(frame);
            }
        }
        // The malformed one is delimited like any other: parsing is the reader's job.
        assert_eq!(got, [OPTIONS, bad.as_bytes(), OPTIONS]);
        assert_eq!(f.buffered(), 0);

        let no_len = String::from_utf8_lossy(OPTIONS).replace("Content-Length: 3\r\n", "");
        let mut f = Framer::new();
        f.push(no_len.as_bytes());
        let e = f.next_frame().expect_err("no Content-Length");
        assert!(e.fatal);
    }

    #[test]
    fn missing_or_bad_length_is_fatal() {
        let no_len = String::from_utf8_lossy(OPTIONS).replace("Content-Length: 3\r\n", "");
        let mut f = Framer::new();
        f.push(no_len.as_bytes());
        let e = f.next_message().expect_err("no Content-Length");
        assert!(e.fatal);
        assert_eq!(e.error, ParseError::MissingContentLength);
        assert!(f.next_message().is_err(), "stays failed");

        let neg = String::from_utf8_lossy(OPTIONS).replace("Content-Length: 3", "l: -3");
        let mut f = Framer::new();
        f.push(neg.as_bytes());
        let e = f.next_message().expect_err("negative");
        assert!(e.fatal);
        assert_eq!(
            e.error,
            ParseError::BadHeader {
                name: HeaderName::ContentLength,
                fault: HeaderError::BadNumber
            }
        );
    }

    #[test]
    fn malformed_message_is_skipped_and_stream_continues() {
        let bad = String::from_utf8_lossy(OPTIONS).replace("CSeq: 1 OPTIONS", "CSeq: 1 BYE");
        let mut f = Framer::new();
        f.push(bad.as_bytes());
        f.push(OPTIONS);
        let e = f.next_message().expect_err("mismatch");
        assert!(!e.fatal);
        assert_eq!(e.error, ParseError::CSeqMethodMismatch);
        assert_eq!(e.raw, bad.as_bytes());
        assert!(matches!(f.next_message(), Ok(Some(_))));
    }

    #[test]
    fn oversized_message_is_skipped() {
        let big =
            String::from_utf8_lossy(OPTIONS).replace("Content-Length: 3", "Content-Length: 300");
        let mut f = Framer::with_config(ParseConfig::with_max_message_size(250));
        f.push(big.as_bytes());
        let e = f.next_message().expect_err("too large");
        assert!(!e.fatal);
        assert_eq!(e.error, ParseError::TooLarge { limit: 250 });
        f.push(&[b'x'; 297]);
        f.push(OPTIONS);
        assert!(matches!(f.next_message(), Ok(Some(_))));
    }

    #[test]
    fn endless_header_section_is_fatal() {
        let mut f = Framer::with_config(ParseConfig::with_max_message_size(64));
        f.push(&[b'a'; 100]);
        let e = f.next_message().expect_err("too large");
        assert!(e.fatal);
    }
}

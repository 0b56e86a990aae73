//! The header section of a message read in one pass: where the start line ends, every header
//! line split into name and value, and where the section ends.
//!
//! Every byte of the section is looked at once, for CR and LF, rather than once to find the
//! empty line that ends the section and again to split it into lines. The faults of the header
//! lines are found during that pass but reported later, in the order the parser promises (UTF-8
//! and the start line first, see [`super::parse`]); after the first fault the pass only looks
//! for the end of the section.

use std::ops::Range;

use super::error::ParseError;
use super::header::{HeaderName, Headers};
use super::text::{find_cr_or_lf, is_token_char, is_wsp};

/// What one pass over a message's header section found. All positions are in the bytes read.
pub(crate) struct Head<'a> {
    /// The header section: the start line and the header lines, without the empty line.
    pub(crate) head: &'a [u8],
    /// Everything after the empty line (or nothing, if the datagram had none).
    pub(crate) rest: &'a [u8],
    /// The length of the start line.
    pub(crate) start_line: usize,
    /// The headers, their spans relative to the text after the start line, or the first
    /// fault of a header line.
    headers: Result<Headers, ParseError>,
}

impl<'a> Head<'a> {
    /// The headers, over `block`: the text of the header section after the start line (the
    /// same bytes as `head`, checked to be UTF-8).
    pub(crate) fn into_headers(self, block: &str) -> Result<Headers, ParseError> {
        let mut headers = self.headers?;
        headers.set_text(block.to_owned());
        Ok(headers)
    }
}

/// The first CRLF at or after `from`, and the first CR or LF on the way that is not part of
/// one (a bare CR or LF). Inlined: called once a line, its call costs as much as its work.
#[inline(always)]
fn next_crlf(bytes: &[u8], from: usize) -> (Option<usize>, Option<usize>) {
    let mut bare = None;
    let mut at = from;
    while let Some(i) = bytes.get(at..).and_then(find_cr_or_lf) {
        let i = at + i;
        if bytes.get(i..i + 2) == Some(b"\r\n") {
            return (Some(i), bare);
        }
        bare.get_or_insert(i);
        at = i + 1;
    }
    (None, bare)
}

/// A header being read: the span of its name, where its value starts, where its last line
/// ends, and whether it has continuation lines. Positions relative to the header block.
struct Current {
    name: Range<usize>,
    known: Option<HeaderName>,
    value_start: usize,
    value_end: usize,
    folded: bool,
}

impl Current {
    /// Adds the header to `headers`, its value trimmed of the whitespace (and, folded, the
    /// line breaks) at both ends.
    fn push(self, block: &[u8], headers: &mut Headers) {
        // Bytewise: all four are ASCII, and a char-set pattern costs more than these short runs.
        let not_lws = |b: &u8| !matches!(*b, b' ' | b'\t' | b'\r' | b'\n');
        let raw = block
            .get(self.value_start..self.value_end)
            .unwrap_or_default();
        let lead = raw.iter().position(not_lws).unwrap_or(raw.len());
        let after = raw.get(lead..).unwrap_or_default();
        let trail = after.iter().rev().position(not_lws).unwrap_or(after.len());
        // `trail` was counted after `lead`: the two never overlap.
        let start = self.value_start + lead;
        let end = self.value_end - trail;
        headers.push_span(self.name, start..end, self.known, self.folded);
    }
}

/// Reads the header section of `bytes` (a message with any leading CRLFs skipped): it ends at
/// the first CRLFCRLF, or, in a datagram without one, at the end (less a final CRLF).
pub(crate) fn read_head(bytes: &[u8]) -> Head<'_> {
    let (first, _) = next_crlf(bytes, 0);
    let Some(start_line) = first else {
        // One line and no CRLF at all: the start line is everything.
        return Head {
            head: bytes,
            rest: &[],
            start_line: bytes.len(),
            headers: Ok(Headers::new()),
        };
    };
    let block_start = start_line + 2;
    let block = bytes.get(block_start..).unwrap_or_default();
    let mut headers: Result<Headers, ParseError> = Ok(Headers::for_parser(16));
    let mut current: Option<Current> = None;
    let mut line_no = 1;
    // Where the current line starts, in `block`.
    let mut start = 0;
    let head_end = loop {
        if start == block.len() {
            // The data ended with a CRLF and no empty line: a datagram's last header line.
            break (block_start + start).saturating_sub(2);
        }
        line_no += 1;
        let (crlf, bare) = next_crlf(block, start);
        if crlf == Some(start) {
            // The empty line.
            break (block_start + start).saturating_sub(2);
        }
        let end = crlf.unwrap_or(block.len());
        if let Ok(h) = headers.as_mut() {
            let line = block.get(start..end).unwrap_or_default();
            let read = match bare {
                Some(_) => Err("bare CR or LF"),
                None => read_line(line, start, end, &mut current, block, h),
            };
            if let Err(fault) = read {
                headers = Err(ParseError::BadHeaderLine {
                    line: line_no,
                    fault,
                });
            }
        }
        match crlf {
            Some(at) => start = at + 2,
            // The end of a datagram without a final CRLF.
            None => break bytes.len(),
        }
    };
    if let (Some(c), Ok(h)) = (current, headers.as_mut()) {
        c.push(block, h);
    }
    Head {
        head: bytes.get(..head_end).unwrap_or(bytes),
        rest: bytes.get(head_end + 4..).unwrap_or_default(),
        start_line,
        headers,
    }
}

/// One header line (`line`, at `start..end` of `block`, free of CR and LF): a continuation
/// of the header being read, or a new one, which ends that one.
fn read_line(
    line: &[u8],
    start: usize,
    end: usize,
    current: &mut Option<Current>,
    block: &[u8],
    headers: &mut Headers,
) -> Result<(), &'static str> {
    if line.first().is_some_and(|&b| is_wsp(b)) {
        let c = current
            .as_mut()
            .ok_or("continuation line before the first header")?;
        c.value_end = end;
        c.folded = true;
        return Ok(());
    }
    if let Some(c) = current.take() {
        c.push(block, headers);
    }
    // The name is the token at the start of the line, then optional whitespace, then the
    // colon: one pass over the bytes. Anything else is a missing colon if the line has none,
    // else a name that is not a token (as if the name were everything before the first colon).
    let name_len = line
        .iter()
        .position(|&b| !is_token_char(b))
        .unwrap_or(line.len());
    let after = line.get(name_len..).unwrap_or_default();
    let ws = after
        .iter()
        .position(|&b| !is_wsp(b))
        .unwrap_or(after.len());
    let colon = name_len + ws;
    if name_len == 0 || line.get(colon) != Some(&b':') {
        return Err(if line.contains(&b':') {
            "header name is not a token"
        } else {
            "missing colon"
        });
    }
    *current = Some(Current {
        name: start..start + name_len,
        known: line.get(..name_len).and_then(HeaderName::from_bytes),
        value_start: start + colon + 1,
        value_end: end,
        folded: false,
    });
    Ok(())
}

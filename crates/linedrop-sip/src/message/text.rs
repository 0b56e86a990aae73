//! Lexical building blocks of RFC 3261 §25.1 shared by the header and URI parsers.
//!
//! Everything here works on header values that were already unfolded (see [`unfold`]), so the
//! only whitespace left is SP and HTAB.

use std::borrow::Cow;

use super::error::HeaderError;

/// Bit of [`CLASS`]: `token` characters, alphanumerics and `-.!%*_+`'~`.
const TOKEN: u8 = 1;
/// Bit of [`CLASS`]: `unreserved`, alphanumerics and the marks `-_.!~*'()`.
const UNRESERVED: u8 = 2;
/// Bit of [`CLASS`]: host name characters, alphanumerics and `-._`.
const HOST: u8 = 4;

/// The character classes of every byte, so that a scan tests one table entry per byte rather
/// than a chain of comparisons: every header value is scanned, byte by byte, several times.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let alnum = c.is_ascii_alphanumeric();
        if alnum
            || matches!(
                c,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            )
        {
            t[b] |= TOKEN;
        }
        if alnum
            || matches!(
                c,
                b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
            )
        {
            t[b] |= UNRESERVED;
        }
        if alnum || matches!(c, b'-' | b'.' | b'_') {
            t[b] |= HOST;
        }
        b += 1;
    }
    t
};

fn class(b: u8) -> u8 {
    // Invariant: a u8 indexes a 256-entry table.
    CLASS.get(usize::from(b)).copied().unwrap_or(0)
}

/// `token` characters: alphanumerics and `-.!%*_+`'~`.
#[inline]
pub(crate) fn is_token_char(b: u8) -> bool {
    class(b) & TOKEN != 0
}

/// Whether `s` is a non-empty `token`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// SP or HTAB.
#[inline]
pub(crate) fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `unreserved` of RFC 3261: alphanumerics and the marks `-_.!~*'()`.
#[inline]
pub(crate) fn is_unreserved(b: u8) -> bool {
    class(b) & UNRESERVED != 0
}

/// Characters allowed in a host name, or in the text of an IPv4 address. `_` is not in the
/// grammar but is common in the wild and harmless.
#[inline]
pub(crate) fn is_host_char(b: u8) -> bool {
    class(b) & HOST != 0
}

/// Removes line folding: every CRLF inside a raw value is followed by SP or HTAB (that is how
/// the header parser recognised the continuation), so dropping the CRLF leaves the whitespace
/// that RFC 3261 §7.3.1 says folding is equivalent to.
pub(crate) fn unfold(value: &str) -> Cow<'_, str> {
    if has_cr_or_lf(value) {
        Cow::Owned(value.replace("\r\n", "").replace(['\r', '\n'], " "))
    } else {
        Cow::Borrowed(value)
    }
}

/// Whether `s` holds a CR or an LF.
pub(crate) fn has_cr_or_lf(s: &str) -> bool {
    find_cr_or_lf(s.as_bytes()).is_some()
}

/// The index of the first CR or LF in `bytes`.
///
/// Every header line and every value read is scanned for them, and they are rare inside a
/// line, so eight bytes are tested at once for any byte below 0x0E (CR, LF, but also HTAB and
/// other controls) and only a word that has one is looked at byte by byte. `memchr` is slower
/// here: its set-up costs more than these short lines.
pub(crate) fn find_cr_or_lf(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let is_cr_or_lf = |b: &u8| *b == b'\r' || *b == b'\n';
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let word = <[u8; 8]>::try_from(chunk).map_or(0, u64::from_ne_bytes);
        // A byte below 0x0E sets its high bit here (the classic "has less than n" test).
        if word.wrapping_sub(ONES * 0x0E) & !word & HIGH != 0 {
            if let Some(i) = chunk.iter().position(is_cr_or_lf) {
                return Some(base + i);
            }
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(is_cr_or_lf)
        .map(|i| base + i)
}

/// The index of the first CR in `bytes`: the end of the header section is looked for from CR
/// to CR.
pub(crate) fn find_cr(bytes: &[u8]) -> Option<usize> {
    find_byte(bytes, b'\r')
}

/// The index of the first `needle` in `bytes`, eight bytes at a time as in [`find_cr_or_lf`]
/// (`memchr`'s set-up costs more than these short values).
pub(crate) fn find_byte(bytes: &[u8], needle: u8) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let splat = ONES * u64::from(needle);
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let word = <[u8; 8]>::try_from(chunk).map_or(0, u64::from_ne_bytes) ^ splat;
        // A zero byte (the needle before the xor) sets its high bit here.
        if word.wrapping_sub(ONES) & !word & HIGH != 0 {
            if let Some(i) = chunk.iter().position(|&b| b == needle) {
                return Some(base + i);
            }
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == needle)
        .map(|i| base + i)
}

/// Trims SP and HTAB at both ends.
pub(crate) fn trim_wsp(s: &str) -> &str {
    // Bytewise: a char-set pattern decodes every character it looks at, and every list
    // element of every header read is trimmed. SP and HTAB are ASCII, so the cuts fall on
    // character boundaries.
    let bytes = s.as_bytes();
    let start = bytes.iter().take_while(|&&b| is_wsp(b)).count();
    let end = bytes.len()
        - bytes
            .get(start..)
            .unwrap_or_default()
            .iter()
            .rev()
            .take_while(|&&b| is_wsp(b))
            .count();
    s.get(start..end).unwrap_or("")
}

/// Splits a comma-separated header value into its elements, ignoring commas inside quoted
/// strings and angle brackets. Elements are trimmed; empty elements are kept so that callers
/// can refuse them.
pub(crate) fn split_list(value: &str) -> Vec<&str> {
    ListElements::new(value).collect()
}

/// The elements of a comma-separated header value, as [`split_list`] finds them, without
/// collecting them: the first Via of a message is read without splitting the rest.
pub(crate) struct ListElements<'a> {
    value: &'a str,
    /// Where the next element starts; past the end once the last one was returned.
    start: usize,
}

impl<'a> ListElements<'a> {
    pub(crate) fn new(value: &'a str) -> Self {
        ListElements { value, start: 0 }
    }
}

impl<'a> Iterator for ListElements<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.value.as_bytes();
        let start = self.start;
        let rest = bytes.get(start..)?;
        // Only a comma ends an element: without one, the rest is the last element (most
        // headers hold a single value).
        if find_byte(rest, b',').is_none() {
            self.start = bytes.len() + 1;
            return Some(trim_wsp(self.value.get(start..).unwrap_or("")));
        }
        let mut in_quotes = false;
        let mut in_angle = false;
        let mut i = start;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'\\' if in_quotes => i += 1,
                b'"' => in_quotes = !in_quotes,
                b'<' if !in_quotes => in_angle = true,
                b'>' if !in_quotes => in_angle = false,
                b',' if !in_quotes && !in_angle => {
                    self.start = i + 1;
                    return Some(trim_wsp(self.value.get(start..i).unwrap_or("")));
                }
                _ => {}
            }
            i += 1;
        }
        self.start = bytes.len() + 1;
        Some(trim_wsp(self.value.get(start..).unwrap_or("")))
    }
}

/// Decodes `%HH` escapes into bytes. A `%` that does not start a valid escape is kept as is:
/// RFC 4475 §3.1.1.5 shows `%` where it is not an escape, and decoding never recurses.
pub fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|c| hex_val(*c)),
                bytes.get(i + 2).and_then(|c| hex_val(*c)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Whether every byte of `s` is allowed by `allowed` or is part of a valid `%HH` escape.
pub(crate) fn all_escaped_or(s: &str, allowed: impl Fn(u8) -> bool) -> Result<(), bool> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let ok = bytes.get(i + 1).and_then(|c| hex_val(*c)).is_some()
                && bytes.get(i + 2).and_then(|c| hex_val(*c)).is_some();
            if !ok {
                // `true`: the fault is a broken escape, not a forbidden character.
                return Err(true);
            }
            i += 3;
        } else if allowed(b) {
            i += 1;
        } else {
            return Err(false);
        }
    }
    Ok(())
}

/// Decodes the content of a quoted string (including its quotes), resolving quoted-pairs.
pub(crate) fn unquote(raw: &str) -> String {
    let inner = raw
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(raw);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes `text` as a quoted string, escaping what `qdtext` cannot hold. CR and LF cannot be
/// escaped at all (quoted-pair excludes them), so they become spaces rather than split the line.
pub(crate) fn write_quoted(out: &mut impl std::fmt::Write, text: &str) -> std::fmt::Result {
    out.write_char('"')?;
    for c in text.chars() {
        match c {
            '\r' | '\n' => out.write_char(' ')?,
            '"' | '\\' => {
                out.write_char('\\')?;
                out.write_char(c)?;
            }
            c if c.is_ascii_control() && c != '\t' => {
                out.write_char('\\')?;
                out.write_char(c)?;
            }
            c => out.write_char(c)?,
        }
    }
    out.write_char('"')
}

/// Parses a string of ASCII digits into a `u64`, refusing signs, spaces and overflow.
pub(crate) fn parse_digits(s: &str) -> Result<u64, HeaderError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HeaderError::BadNumber);
    }
    let mut n: u64 = 0;
    for b in s.bytes() {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(HeaderError::OutOfRange)?;
    }
    Ok(n)
}

/// A cursor over an unfolded header value.
pub(crate) struct Scanner<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Scanner { src, pos: 0 }
    }

    /// The unread part. Empty if the cursor ever lands inside a UTF-8 sequence, which only
    /// ASCII-driven moves could cause and which callers then see as "nothing left".
    pub(crate) fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos.min(self.src.len());
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Skips SP/HTAB; says whether anything was skipped.
    pub(crate) fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_wsp) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Takes the longest run of bytes accepted by `f`, which must accept only ASCII so that the
    /// run ends on a character boundary.
    #[inline]
    pub(crate) fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        let rest = self.src.as_bytes().get(start..).unwrap_or_default();
        self.pos = start + rest.iter().take_while(|&&b| b.is_ascii() && f(b)).count();
        self.src.get(start..self.pos).unwrap_or("")
    }

    /// Takes a non-empty token.
    pub(crate) fn token(&mut self) -> Option<&'a str> {
        let t = self.take_while(is_token_char);
        (!t.is_empty()).then_some(t)
    }

    /// Takes a quoted string, quotes included, if the cursor is at `"`.
    pub(crate) fn quoted(&mut self) -> Result<&'a str, HeaderError> {
        let bytes = self.src.as_bytes();
        let start = self.pos;
        if bytes.get(start) != Some(&b'"') {
            return Err(HeaderError::UnterminatedQuote);
        }
        let mut i = start + 1;
        loop {
            match bytes.get(i) {
                None => return Err(HeaderError::UnterminatedQuote),
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        self.src
            .get(start..self.pos)
            .ok_or(HeaderError::UnterminatedQuote)
    }

    /// Skips whitespace and fails unless nothing else is left.
    pub(crate) fn expect_end(&mut self) -> Result<(), HeaderError> {
        self.skip_ws();
        if self.at_end() {
            Ok(())
        } else {
            Err(HeaderError::TrailingGarbage)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfold_removes_crlf_keeps_whitespace() {
        assert_eq!(unfold("a\r\n b"), "a b");
        assert_eq!(unfold("plain"), "plain");
    }

    #[test]
    fn cr_and_lf_are_found_wherever_they_are() {
        for len in 0..40 {
            for at in 0..len {
                for (fill, mark) in [
                    (b'a', b'\r'),
                    (b'\t', b'\n'),
                    (0x0d_u8 + 1, b'\n'),
                    (0xff, b'\r'),
                ] {
                    let mut v = vec![fill; len];
                    assert_eq!(find_cr_or_lf(&v), None, "{len} {fill}");
                    if let Some(b) = v.get_mut(at) {
                        *b = mark;
                    }
                    assert_eq!(find_cr_or_lf(&v), Some(at), "{len} {at} {fill}");
                    if let Some(b) = v.get_mut(len - 1) {
                        *b = b'\n';
                    }
                    assert_eq!(find_cr_or_lf(&v), Some(at), "{len} {at} {fill}");
                }
            }
        }
    }

    #[test]
    fn bytes_are_found_wherever_they_are() {
        for needle in [b',', b'\r', 0x00, 0xff] {
            for len in 0..40 {
                for at in 0..len {
                    for fill in [b'a', needle ^ 1, needle ^ 0x80, 0x0c] {
                        let mut v = vec![fill; len];
                        assert_eq!(find_byte(&v, needle), None, "{len} {fill}");
                        if let Some(b) = v.get_mut(at) {
                            *b = needle;
                        }
                        assert_eq!(find_byte(&v, needle), Some(at), "{len} {at} {fill}");
                    }
                }
            }
        }
    }

    #[test]
    fn cr_is_found_wherever_it_is() {
        for len in 0..40 {
            for at in 0..len {
                for fill in [b'a', b'\n', 0x0c, 0x8d, 0xff] {
                    let mut v = vec![fill; len];
                    assert_eq!(find_cr(&v), None, "{len} {fill}");
                    if let Some(b) = v.get_mut(at) {
                        *b = b'\r';
                    }
                    assert_eq!(find_cr(&v), Some(at), "{len} {at} {fill}");
                    if let Some(b) = v.get_mut(len - 1) {
                        *b = b'\r';
                    }
                    assert_eq!(find_cr(&v), Some(at), "{len} {at} {fill}");
                }
            }
        }
    }

    #[test]
    fn trim_wsp_trims_sp_and_htab_only() {
        for v in [
            "",
            " ",
            "\t \t",
            "a",
            " a\t",
            "\t a b \t",
            "\u{a0}a\u{a0}",
            " é ",
            "\r a \n",
        ] {
            assert_eq!(trim_wsp(v), v.trim_matches([' ', '\t']), "{v:?}");
        }
    }

    #[test]
    fn split_list_respects_quotes_and_brackets() {
        assert_eq!(
            split_list(r#""a, b" <sip:x@y;p=1,2>, <sip:z> , "c\", d""#),
            vec![r#""a, b" <sip:x@y;p=1,2>"#, "<sip:z>", r#""c\", d""#]
        );
        assert_eq!(split_list("a,,b"), vec!["a", "", "b"]);
    }

    #[test]
    fn percent_decode_is_not_recursive_and_keeps_nul() {
        assert_eq!(percent_decode("v%61lue%25%34%31"), b"value%41");
        assert_eq!(percent_decode("null-%00-null"), b"null-\0-null");
        assert_eq!(percent_decode("%Z%45"), b"%ZE");
    }

    #[test]
    fn quoted_strings_round_trip() {
        let mut sc = Scanner::new(r#""J Rosenberg \\\"" rest"#);
        let raw = sc.quoted().expect("terminated");
        assert_eq!(unquote(raw), r#"J Rosenberg \""#);
        let mut out = String::new();
        write_quoted(&mut out, "a\"b\\c\u{7}").expect("string write");
        assert_eq!(unquote(&out), "a\"b\\c\u{7}");
        assert!(Scanner::new("\"open").quoted().is_err());
        assert!(Scanner::new("\"ends in backslash\\").quoted().is_err());
    }

    #[test]
    fn digits_refuse_signs_and_overflow() {
        assert_eq!(parse_digits("0068"), Ok(68));
        assert_eq!(parse_digits("-999"), Err(HeaderError::BadNumber));
        assert_eq!(
            parse_digits("36893488147419103232"),
            Err(HeaderError::OutOfRange)
        );
    }
}

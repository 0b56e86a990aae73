//! The ordered header list of a message.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::ops::Range;
use std::sync::Arc;

use super::name::HeaderName;
use super::parsed::Parsed;
use super::simple::check_call_id;
use crate::message::error::HeaderError;
use crate::message::text::{has_cr_or_lf, is_token, is_wsp, trim_wsp, unfold};

/// One stored header: spans into the shared text buffer plus the resolved name.
#[derive(Debug, Clone)]
struct Entry {
    name: Range<usize>,
    value: Range<usize>,
    known: Option<HeaderName>,
    /// The value spans continuation lines, so it holds CRLFs. Only the parser makes such a
    /// value (a value the stack writes has CR and LF replaced), so every other value is read
    /// without looking for them.
    folded: bool,
}

/// The headers of a message, in order, byte-exact as received.
///
/// Every header keeps its name as written (`v`, `VIA`, `Content-Length`) and its raw value
/// (folding included, surrounding whitespace trimmed); all text lives in one buffer, so a parsed
/// message costs two allocations for its headers whatever their number. Lookups go through
/// [`HeaderName`], which maps compact forms and any letter case to one header. Repeated headers
/// and comma-separated values are equivalent for multi-value headers: the typed accessors
/// (`via()`, `route()`, ...) read them all, in order.
#[derive(Clone, Default)]
pub struct Headers {
    buf: String,
    entries: Vec<Entry>,
    /// What the parser read from the headers it checks, until one of them changes. Shared:
    /// a copy of a received request costs no copy of its parsed values.
    parsed: Option<Arc<Parsed>>,
}

/// One header of a [`Headers`] list.
#[derive(Debug, Clone, Copy)]
pub struct HeaderField<'a> {
    name: &'a str,
    value: &'a str,
    known: Option<HeaderName>,
}

impl<'a> HeaderField<'a> {
    /// The name as written.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The raw value as received (line folding kept).
    pub fn value(&self) -> &'a str {
        self.value
    }

    /// The value with line folding removed.
    pub fn unfolded(&self) -> Cow<'a, str> {
        unfold(self.value)
    }

    /// The header, if the codec knows its name.
    pub fn known(&self) -> Option<HeaderName> {
        self.known
    }
}

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Headers::default()
    }

    /// An empty list for the parser, with room for `lines` headers: it adds each header it
    /// finds with [`Headers::push_span`] as it reads the lines, then hands over the text the
    /// spans point into with [`Headers::set_text`].
    pub(crate) fn for_parser(lines: usize) -> Self {
        Headers {
            buf: String::new(),
            entries: Vec::with_capacity(lines),
            parsed: None,
        }
    }

    /// Appends the header whose name and value are at these spans of the text (see
    /// [`Headers::set_text`]), `known` by that name; `folded` when the value spans
    /// continuation lines.
    pub(crate) fn push_span(
        &mut self,
        name: Range<usize>,
        value: Range<usize>,
        known: Option<HeaderName>,
        folded: bool,
    ) {
        self.forget(known);
        self.entries.push(Entry {
            name,
            value,
            known,
            folded,
        });
    }

    /// The text the spans given to [`Headers::push_span`] point into: the raw header lines.
    pub(crate) fn set_text(&mut self, buf: String) {
        self.buf = buf;
    }

    /// Keeps what the parser read from these headers, for the typed accessors to return.
    pub(crate) fn set_parsed(&mut self, parsed: Parsed) {
        self.parsed = Some(Arc::new(parsed));
    }

    /// What the parser read, while none of those headers has changed since.
    pub(crate) fn parsed(&self) -> Option<&Parsed> {
        self.parsed.as_deref()
    }

    /// Called before every change of a header named `name`: a change to one the parser read
    /// drops its readings, so an accessor never returns a value the text no longer says.
    fn forget(&mut self, name: Option<HeaderName>) {
        if self.parsed.is_some() && name.is_some_and(Parsed::covers) {
            self.parsed = None;
        }
    }

    /// The text at `span` of the buffer (a span this list handed out).
    pub(crate) fn text_at(&self, span: Range<usize>) -> &str {
        self.buf.get(span).unwrap_or("")
    }

    fn field(&self, e: &Entry) -> HeaderField<'_> {
        HeaderField {
            name: self.buf.get(e.name.clone()).unwrap_or(""),
            value: self.buf.get(e.value.clone()).unwrap_or(""),
            known: e.known,
        }
    }

    /// The number of header lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every header, in order.
    pub fn iter(&self) -> impl Iterator<Item = HeaderField<'_>> + '_ {
        self.entries.iter().map(|e| self.field(e))
    }

    /// The raw values of every header named `name`, in order.
    pub fn get_all(&self, name: HeaderName) -> impl Iterator<Item = &str> + '_ {
        // Slices only the values that match: every typed accessor goes through here.
        self.entries
            .iter()
            .filter(move |e| e.known == Some(name))
            .map(|e| self.buf.get(e.value.clone()).unwrap_or(""))
    }

    /// The values of every header named `name`, in order, with line folding removed.
    pub(crate) fn unfolded_all(&self, name: HeaderName) -> impl Iterator<Item = Cow<'_, str>> + '_ {
        self.entries
            .iter()
            .filter(move |e| e.known == Some(name))
            .map(|e| {
                let raw = self.buf.get(e.value.clone()).unwrap_or("");
                if e.folded {
                    unfold(raw)
                } else {
                    Cow::Borrowed(raw)
                }
            })
    }

    /// The raw value of the first header named `name`.
    pub fn get(&self, name: HeaderName) -> Option<&str> {
        self.get_all(name).next()
    }

    /// How many header lines are named `name`.
    pub fn count(&self, name: HeaderName) -> usize {
        self.get_all(name).count()
    }

    /// Whether a header named `name` is present.
    pub fn contains(&self, name: HeaderName) -> bool {
        self.get(name).is_some()
    }

    /// The raw values of every header whose name is `name`, for any header: known names match
    /// their compact form and any case, unknown names match ignoring ASCII case.
    pub fn get_all_by_name<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        let known = HeaderName::from_name(name);
        self.iter()
            .filter(move |f| match known {
                Some(k) => f.known == Some(k),
                None => f.known.is_none() && f.name.eq_ignore_ascii_case(name),
            })
            .map(|f| f.value)
    }

    /// The single value of a header that may appear once: `Missing` if absent, `Duplicate` if
    /// repeated. The value is unfolded and trimmed.
    pub(crate) fn single(&self, name: HeaderName) -> Result<Cow<'_, str>, HeaderError> {
        let mut all = self.unfolded_all(name);
        let first = all.next().ok_or(HeaderError::Missing)?;
        if all.next().is_some() {
            return Err(HeaderError::Duplicate);
        }
        Ok(first)
    }

    /// The span of the Call-ID value, checked to be `word [@ word]` (see
    /// [`Headers::call_id`]).
    pub(crate) fn call_id_span(&self) -> Result<Range<usize>, HeaderError> {
        let mut lines = (0, 0);
        for (i, e) in self.entries.iter().enumerate() {
            if e.known == Some(HeaderName::CallId) {
                lines = (if lines.1 == 0 { i } else { lines.0 }, lines.1 + 1);
            }
        }
        self.call_id_span_at(lines)
    }

    /// [`Headers::call_id_span`] for Call-ID lines already found: `count` of them, the first
    /// at line `first`.
    pub(crate) fn call_id_span_at(
        &self,
        (first, count): (usize, usize),
    ) -> Result<Range<usize>, HeaderError> {
        let first = match count {
            0 => return Err(HeaderError::Missing),
            1 => self.entries.get(first).ok_or(HeaderError::Missing)?,
            _ => return Err(HeaderError::Duplicate),
        };
        // A Call-ID cannot contain whitespace, so a folded one is malformed anyway.
        let raw = self.buf.get(first.value.clone()).unwrap_or("");
        let v = trim_wsp(raw);
        check_call_id(v)?;
        // `v` is `raw` less the whitespace at its ends.
        let lead = raw.bytes().take_while(|&b| is_wsp(b)).count();
        let start = first.value.start + lead;
        Ok(start..start + v.len())
    }

    /// The name each line is known by, in order: for finding several headers in one pass.
    pub(crate) fn known_names(&self) -> impl Iterator<Item = Option<HeaderName>> + '_ {
        self.entries.iter().map(|e| e.known)
    }

    /// [`Headers::single`] for lines already found: `count` lines of the header, the first at
    /// line `first`.
    pub(crate) fn single_at(
        &self,
        (first, count): (usize, usize),
    ) -> Result<Cow<'_, str>, HeaderError> {
        let e = match count {
            0 => return Err(HeaderError::Missing),
            1 => self.entries.get(first).ok_or(HeaderError::Missing)?,
            _ => return Err(HeaderError::Duplicate),
        };
        let raw = self.buf.get(e.value.clone()).unwrap_or("");
        Ok(if e.folded {
            unfold(raw)
        } else {
            Cow::Borrowed(raw)
        })
    }

    /// Like [`Headers::single`] but `None` when absent.
    pub(crate) fn optional(&self, name: HeaderName) -> Result<Option<Cow<'_, str>>, HeaderError> {
        match self.single(name) {
            Ok(v) => Ok(Some(v)),
            Err(HeaderError::Missing) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes `value` at the end of the buffer and returns its span. CR and LF are replaced by
    /// spaces: a value built by the stack must never be able to inject a header line.
    fn write_value(&mut self, value: impl fmt::Display) -> Range<usize> {
        let start = self.buf.len();
        // Invariant: writing into a String cannot fail.
        let _ = write!(self.buf, "{value}");
        self.finish_value(start)
    }

    /// [`Headers::write_value`] for text, without the `fmt` machinery.
    fn write_value_str(&mut self, value: &str) -> Range<usize> {
        let start = self.buf.len();
        self.buf.push_str(value);
        self.finish_value(start)
    }

    /// Cleans and trims the value written from `start` to the end of the buffer.
    fn finish_value(&mut self, start: usize) -> Range<usize> {
        if self.buf.get(start..).is_some_and(has_cr_or_lf) {
            let clean = self
                .buf
                .get(start..)
                .unwrap_or("")
                .replace(['\r', '\n'], " ");
            self.buf.truncate(start);
            self.buf.push_str(&clean);
        }
        let v = self.buf.get(start..).unwrap_or("");
        let lead = v.len() - v.trim_start().len();
        let len = v.trim().len();
        start + lead..start + lead + len
    }

    fn write_name(&mut self, name: &str) -> Range<usize> {
        let start = self.buf.len();
        self.buf.push_str(name);
        start..self.buf.len()
    }

    fn make_entry(&mut self, name: HeaderName, value: impl fmt::Display) -> Entry {
        self.forget(Some(name));
        let name_span = self.write_name(name.as_str());
        let value = self.write_value(value);
        Entry {
            name: name_span,
            value,
            known: Some(name),
            folded: false,
        }
    }

    /// Appends a header with the canonical spelling of `name`.
    pub fn push(&mut self, name: HeaderName, value: impl fmt::Display) {
        let e = self.make_entry(name, value);
        self.entries.push(e);
    }

    /// [`Headers::push`] for a value that is already text (a header copied from a request, a
    /// number written with [`Digits`](crate::message::Digits)): the same result, without
    /// going through `fmt`.
    pub(crate) fn push_str(&mut self, name: HeaderName, value: &str) {
        self.forget(Some(name));
        let name_span = self.write_name(name.as_str());
        let value = self.write_value_str(value);
        self.entries.push(Entry {
            name: name_span,
            value,
            known: Some(name),
            folded: false,
        });
    }

    /// Appends a copy of every header of `src` named `name`, in order, as
    /// [`Headers::push_str`] would with each value: a response copying its request's headers.
    /// A value `src` holds has no CR or LF unless it was folded, so only a folded one (or one
    /// with whitespace at an end to trim) goes through the cleaning of `push_str`.
    pub(crate) fn push_copies(&mut self, src: &Headers, name: HeaderName) {
        self.forget(Some(name));
        for e in src.entries.iter().filter(|e| e.known == Some(name)) {
            let value = src.buf.get(e.value.clone()).unwrap_or("");
            let clean = !e.folded
                && !value.starts_with(char::is_whitespace)
                && !value.ends_with(char::is_whitespace);
            if !clean {
                self.push_str(name, value);
                continue;
            }
            let name_span = self.write_name(name.as_str());
            let start = self.buf.len();
            self.buf.push_str(value);
            self.entries.push(Entry {
                name: name_span,
                value: start..self.buf.len(),
                known: Some(name),
                folded: false,
            });
        }
    }

    /// An empty list with room for `text` bytes of names and values and `lines` headers, for a
    /// message whose size is known in advance (a response copying its request's headers).
    pub(crate) fn with_capacity(text: usize, lines: usize) -> Self {
        Headers {
            buf: String::with_capacity(text),
            entries: Vec::with_capacity(lines),
            parsed: None,
        }
    }

    /// The bytes of names and values stored, for sizing a copy.
    pub(crate) fn text_len(&self) -> usize {
        self.buf.len()
    }

    /// [`Headers::push_front`] for a value that is already text.
    pub(crate) fn push_front_str(&mut self, name: HeaderName, value: &str) {
        self.forget(Some(name));
        let name_span = self.write_name(name.as_str());
        let value = self.write_value_str(value);
        self.entries.insert(
            0,
            Entry {
                name: name_span,
                value,
                known: Some(name),
                folded: false,
            },
        );
    }

    /// Inserts a header before every other header (a new top Via, for instance).
    pub fn push_front(&mut self, name: HeaderName, value: impl fmt::Display) {
        let e = self.make_entry(name, value);
        self.entries.insert(0, e);
    }

    /// Appends a header by name, which may be unknown to the codec. The name must be a token.
    pub fn push_raw(&mut self, name: &str, value: &str) -> Result<(), HeaderError> {
        if !is_token(name) {
            return Err(HeaderError::BadToken);
        }
        let known = HeaderName::from_name(name);
        self.forget(known);
        let name_span = self.write_name(name);
        let value = self.write_value(value);
        self.entries.push(Entry {
            name: name_span,
            value,
            known,
            folded: false,
        });
        Ok(())
    }

    /// Replaces every header named `name` by one header with `value`, at the position of the
    /// first one (or at the end if there was none).
    pub fn set(&mut self, name: HeaderName, value: impl fmt::Display) {
        let e = self.make_entry(name, value);
        self.set_entry(name, e);
    }

    /// [`Headers::set`] for a value that is already text.
    pub(crate) fn set_str(&mut self, name: HeaderName, value: &str) {
        self.forget(Some(name));
        let name_span = self.write_name(name.as_str());
        let value = self.write_value_str(value);
        let e = Entry {
            name: name_span,
            value,
            known: Some(name),
            folded: false,
        };
        self.set_entry(name, e);
    }

    fn set_entry(&mut self, name: HeaderName, e: Entry) {
        match self.entries.iter().position(|x| x.known == Some(name)) {
            Some(i) => {
                if let Some(slot) = self.entries.get_mut(i) {
                    *slot = e;
                }
                let mut idx = 0;
                self.entries.retain(|x| {
                    let keep = idx <= i || x.known != Some(name);
                    idx += 1;
                    keep
                });
            }
            None => self.entries.push(e),
        }
    }

    /// Removes every header named `name`; returns how many lines were removed.
    pub fn remove(&mut self, name: HeaderName) -> usize {
        self.forget(Some(name));
        let before = self.entries.len();
        self.entries.retain(|x| x.known != Some(name));
        before - self.entries.len()
    }

    /// Removes the first header line named `name` (all of its comma-separated values).
    pub fn remove_first(&mut self, name: HeaderName) -> bool {
        self.forget(Some(name));
        match self.entries.iter().position(|x| x.known == Some(name)) {
            Some(i) => {
                self.entries.remove(i);
                true
            }
            None => false,
        }
    }
}

impl PartialEq for Headers {
    /// Two lists are equal when they hold the same names (as written) and raw values, in the
    /// same order; the layout of the text buffer does not matter.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|(a, b)| a.name == b.name && a.value == b.value)
    }
}

impl Eq for Headers {}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|h| (h.name, h.value)))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_get_set_remove() {
        let mut h = Headers::new();
        h.push(HeaderName::Via, "SIP/2.0/UDP a");
        h.push_raw("v", "SIP/2.0/UDP b").expect("token name");
        h.push_raw("X-Custom", "1").expect("token name");
        h.push_front(HeaderName::Via, "SIP/2.0/UDP top");
        assert_eq!(
            h.get_all(HeaderName::Via).collect::<Vec<_>>(),
            ["SIP/2.0/UDP top", "SIP/2.0/UDP a", "SIP/2.0/UDP b"]
        );
        assert_eq!(h.get_all_by_name("x-custom").collect::<Vec<_>>(), ["1"]);
        assert_eq!(h.get_all_by_name("V").count(), 3);
        h.set(HeaderName::Via, "SIP/2.0/TCP only");
        assert_eq!(
            h.get_all(HeaderName::Via).collect::<Vec<_>>(),
            ["SIP/2.0/TCP only"]
        );
        assert_eq!(h.iter().next().map(|f| f.name()), Some("Via"));
        assert_eq!(h.remove(HeaderName::Via), 1);
        assert_eq!(h.len(), 1);
        assert!(h.push_raw("Bad Name", "x").is_err());
    }

    #[test]
    fn copies_are_pushes() {
        let mut src = Headers::for_parser(4);
        src.push_span(0..3, 5..10, Some(HeaderName::Via), true);
        src.push_span(12..13, 15..18, Some(HeaderName::Via), false);
        src.push_span(20..23, 26..28, Some(HeaderName::Via), false);
        src.set_text("Via: a\r\n b\r\nv: c\u{a0}\r\nVia:  d ".to_owned());
        src.push(HeaderName::Via, "e");
        src.push(HeaderName::To, "f");
        let mut pushed = Headers::new();
        for v in src.get_all(HeaderName::Via) {
            pushed.push_str(HeaderName::Via, v);
        }
        let mut copied = Headers::new();
        copied.push_copies(&src, HeaderName::Via);
        assert_eq!(copied, pushed);
        assert_eq!(
            copied.get_all(HeaderName::Via).collect::<Vec<_>>(),
            ["a   b", "c", "d", "e"]
        );
    }

    #[test]
    fn values_cannot_inject_lines() {
        let mut h = Headers::new();
        h.push(HeaderName::Subject, "hi\r\nVia: evil");
        assert_eq!(h.get(HeaderName::Subject), Some("hi  Via: evil"));
    }

    #[test]
    fn single_reports_missing_and_duplicates() {
        let mut h = Headers::new();
        assert_eq!(h.single(HeaderName::CallId), Err(HeaderError::Missing));
        h.push(HeaderName::CallId, "a@b");
        assert_eq!(h.single(HeaderName::CallId).as_deref(), Ok("a@b"));
        h.push_raw("i", "c@d").expect("token");
        assert_eq!(h.single(HeaderName::CallId), Err(HeaderError::Duplicate));
    }
}

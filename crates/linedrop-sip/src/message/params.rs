//! Parameter lists: `;name[=value]` after URIs and header values.

use std::fmt;

use super::error::HeaderError;
use super::text::{is_token_char, percent_decode, unquote, Scanner};

/// One parameter. Names and values are kept as written: a quoted value keeps its quotes, an
/// escaped URI parameter keeps its `%HH` escapes. Name and value share one allocation: the
/// parser makes one of these for every `tag`, `branch` and URI parameter it reads, and with a
/// string each for name and value they were a third of the SIP thread's allocations.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Param {
    /// `name`, or `name=value`.
    text: Box<str>,
    /// The length of the name; a value follows (after `=`) if the text is longer.
    name_len: usize,
}

impl Param {
    /// A parameter with a value.
    pub fn new(name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        Param::of(name.as_ref(), Some(value.as_ref()))
    }

    /// A parameter without a value (`;lr`).
    pub fn flag(name: impl AsRef<str>) -> Self {
        Param::of(name.as_ref(), None)
    }

    /// A parameter named `name` with `value` (or none).
    pub fn of(name: &str, value: Option<&str>) -> Self {
        let mut text = String::with_capacity(name.len() + value.map_or(0, |v| v.len() + 1));
        text.push_str(name);
        if let Some(v) = value {
            text.push('=');
            text.push_str(v);
        }
        Param {
            text: text.into_boxed_str(),
            name_len: name.len(),
        }
    }

    /// The name as written.
    pub fn name(&self) -> &str {
        self.text.get(..self.name_len).unwrap_or_default()
    }

    /// The value as written, `None` for a parameter without `=`.
    pub fn value(&self) -> Option<&str> {
        self.text.get(self.name_len + 1..)
    }

    /// The value with its quotes removed and quoted-pairs resolved, if it was quoted.
    pub fn unquoted_value(&self) -> Option<String> {
        self.value().map(|v| {
            if v.starts_with('"') {
                unquote(v)
            } else {
                v.to_owned()
            }
        })
    }

    /// Whether the name equals `name`, ignoring ASCII case and, for escaped URI parameter
    /// names, their escapes (RFC 4475 §3.1.1.3: `%6C%72` is `lr`).
    pub fn is(&self, name: &str) -> bool {
        let own = self.name();
        own.eq_ignore_ascii_case(name)
            // Names are a few bytes: a plain loop, not a substring search.
            || own.bytes().any(|b| b == b'%')
                && percent_decode(own).eq_ignore_ascii_case(name.as_bytes())
    }
}

impl fmt::Debug for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Param")
            .field("name", &self.name())
            .field("value", &self.value())
            .finish()
    }
}

/// An ordered list of parameters; lookups ignore case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Params(pub Vec<Param>);

impl Params {
    /// An empty list.
    pub fn new() -> Self {
        Params(Vec::new())
    }

    /// The first parameter named `name`.
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.0.iter().find(|p| p.is(name))
    }

    /// The value of the first parameter named `name`: `None` if absent, `Some(None)` if it
    /// has no value.
    pub fn value(&self, name: &str) -> Option<Option<&str>> {
        self.get(name).map(Param::value)
    }

    /// Whether a parameter named `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Appends a parameter.
    pub fn push(&mut self, param: Param) {
        self.0.push(param);
    }

    /// Replaces the value of the first parameter named `name`, or appends one.
    pub fn set(&mut self, name: &str, value: Option<String>) {
        match self.0.iter_mut().find(|p| p.is(name)) {
            Some(p) => *p = Param::of(p.name(), value.as_deref()),
            None => self.0.push(Param::of(name, value.as_deref())),
        }
    }

    /// Removes every parameter named `name`; says whether one was removed.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|p| !p.is(name));
        self.0.len() != before
    }

    /// Iterates in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Param> {
        self.0.iter()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for Params {
    /// Writes `;name=value` for each parameter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            f.write_str(";")?;
            // `name` or `name=value`: as it is written out.
            f.write_str(&p.text)?;
        }
        Ok(())
    }
}

/// Characters of an unquoted `gen-value`: a token or a host, so `:`, `[` and `]` too (RFC 5118
/// §4.5 needs `received=2001:db8::9:255` and `received=[2001:db8::9:255]`).
fn is_gen_value_char(b: u8) -> bool {
    is_token_char(b) || matches!(b, b':' | b'[' | b']')
}

/// Parses `*( SEMI generic-param )` with the whitespace RFC 3261 allows around `;` and `=`.
/// Stops before anything that is not `;` (a comma, the end, garbage for the caller to refuse).
pub(crate) fn parse_header_params(sc: &mut Scanner<'_>) -> Result<Params, HeaderError> {
    let mut params = Params::new();
    loop {
        let save = sc.pos();
        sc.skip_ws();
        if !sc.eat(b';') {
            sc.set_pos(save);
            return Ok(params);
        }
        sc.skip_ws();
        let name = sc.token().ok_or(HeaderError::BadParam)?;
        let after_name = sc.pos();
        sc.skip_ws();
        let value = if sc.eat(b'=') {
            sc.skip_ws();
            let v = if sc.peek() == Some(b'"') {
                sc.quoted()?
            } else {
                sc.take_while(is_gen_value_char)
            };
            if v.is_empty() {
                return Err(HeaderError::BadParam);
            }
            Some(v)
        } else {
            sc.set_pos(after_name);
            None
        };
        if params.0.capacity() == 0 {
            // Room for two at once: growing an empty Vec by one costs nearly twice as much as
            // allocating it, and most values carry one or two parameters.
            params.0 = Vec::with_capacity(2);
        }
        params.push(Param::of(name, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Params, HeaderError> {
        let mut sc = Scanner::new(s);
        let p = parse_header_params(&mut sc)?;
        sc.expect_end()?;
        Ok(p)
    }

    #[test]
    fn params_parse_with_whitespace_and_print() {
        let p = parse(" ;   tag    = 1918181833n ; lr;q=0.33").expect("valid");
        assert_eq!(p.value("TAG"), Some(Some("1918181833n")));
        assert_eq!(p.value("lr"), Some(None));
        assert_eq!(p.to_string(), ";tag=1918181833n;lr;q=0.33");
        assert_eq!(parse(&p.to_string()), Ok(p));
    }

    #[test]
    fn quoted_and_ipv6_values() {
        let p = parse(r#";text="a \"b\"";received=[2001:db8::1];x=2001:db8::2"#).expect("valid");
        assert_eq!(
            p.get("text").and_then(Param::unquoted_value).as_deref(),
            Some(r#"a "b""#)
        );
        assert_eq!(p.value("received"), Some(Some("[2001:db8::1]")));
        assert_eq!(p.value("x"), Some(Some("2001:db8::2")));
    }

    #[test]
    fn empty_names_and_values_are_refused() {
        assert_eq!(parse(";;"), Err(HeaderError::BadParam));
        assert_eq!(parse(";a="), Err(HeaderError::BadParam));
        assert_eq!(parse(";a=\"open"), Err(HeaderError::UnterminatedQuote));
    }

    #[test]
    fn escaped_names_match() {
        let p = Params(vec![Param::flag("%6C%72")]);
        assert!(p.contains("lr"));
    }
}

//! The Reason header (RFC 3326): why a request (BYE, CANCEL) was sent.

use std::fmt;

use crate::message::error::HeaderError;
use crate::message::params::{parse_header_params, Params};
use crate::message::text::{parse_digits, unquote, write_quoted, Scanner};

/// One Reason value: `Q.850;cause=16;text="Normal call clearing"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reason {
    /// The protocol: `SIP`, `Q.850` or another token.
    pub protocol: String,
    /// The cause: a SIP status code or a Q.850 cause value.
    pub cause: Option<u16>,
    /// The text, unquoted.
    pub text: Option<String>,
    /// Other parameters, as written.
    pub params: Params,
}

impl Reason {
    /// A `Q.850` reason.
    pub fn q850(cause: u16, text: Option<&str>) -> Self {
        Reason {
            protocol: "Q.850".to_owned(),
            cause: Some(cause),
            text: text.map(str::to_owned),
            params: Params::new(),
        }
    }

    /// A `SIP` reason carrying a status code.
    pub fn sip(cause: u16, text: Option<&str>) -> Self {
        Reason {
            protocol: "SIP".to_owned(),
            cause: Some(cause),
            text: text.map(str::to_owned),
            params: Params::new(),
        }
    }

    /// Parses one Reason value (not a comma-separated list), unfolded.
    pub fn parse(s: &str) -> Result<Reason, HeaderError> {
        let mut sc = Scanner::new(s);
        sc.skip_ws();
        let protocol = sc.token().ok_or(HeaderError::BadToken)?.to_owned();
        let mut params = parse_header_params(&mut sc)?;
        sc.expect_end()?;
        let cause = match params.value("cause") {
            None => None,
            Some(v) => {
                let n = parse_digits(v.ok_or(HeaderError::BadNumber)?)?;
                Some(u16::try_from(n).map_err(|_| HeaderError::OutOfRange)?)
            }
        };
        let text = params
            .value("text")
            .map(|v| v.map(unquote).unwrap_or_default());
        params.remove("cause");
        params.remove("text");
        Ok(Reason {
            protocol,
            cause,
            text,
            params,
        })
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.protocol)?;
        if let Some(c) = self.cause {
            write!(f, ";cause={c}")?;
        }
        if let Some(t) = &self.text {
            f.write_str(";text=")?;
            write_quoted(f, t)?;
        }
        write!(f, "{}", self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_parses_and_prints() {
        let r = Reason::parse(r#"Q.850 ; cause=16 ;text="Normal \"call\" clearing";x=1"#)
            .expect("valid");
        assert_eq!(r.protocol, "Q.850");
        assert_eq!(r.cause, Some(16));
        assert_eq!(r.text.as_deref(), Some(r#"Normal "call" clearing"#));
        assert!(r.params.contains("x"));
        assert_eq!(Reason::parse(&r.to_string()), Ok(r));
        let r = Reason::sip(200, Some("Call completed elsewhere"));
        assert_eq!(
            r.to_string(),
            r#"SIP;cause=200;text="Call completed elsewhere""#
        );
        assert_eq!(Reason::parse(&r.to_string()), Ok(r));
    }

    #[test]
    fn malformed_reasons_are_refused() {
        assert_eq!(Reason::parse("SIP;cause=abc"), Err(HeaderError::BadNumber));
        assert_eq!(
            Reason::parse("SIP;cause=99999"),
            Err(HeaderError::OutOfRange)
        );
        assert_eq!(Reason::parse(";cause=1"), Err(HeaderError::BadToken));
        assert_eq!(
            Reason::parse("SIP;text=\"open"),
            Err(HeaderError::UnterminatedQuote)
        );
    }
}

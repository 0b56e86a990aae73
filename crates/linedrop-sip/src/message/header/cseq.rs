//! The CSeq header (RFC 3261 §20.16).

use std::fmt;

use crate::message::digits::Digits;
use crate::message::error::HeaderError;
use crate::message::method::Method;
use crate::message::text::{parse_digits, Scanner};

/// `CSeq: <seq> <method>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CSeq {
    /// The sequence number, below 2^31 (RFC 3261 §8.1.1.5).
    pub seq: u32,
    /// The method.
    pub method: Method,
}

impl CSeq {
    /// The largest legal sequence number.
    pub const MAX_SEQ: u32 = (1 << 31) - 1;

    /// A CSeq.
    pub fn new(seq: u32, method: Method) -> Self {
        CSeq { seq, method }
    }

    /// Parses a CSeq value, unfolded. Leading zeros are allowed (RFC 4475 §3.1.1.1).
    pub fn parse(s: &str) -> Result<CSeq, HeaderError> {
        let mut sc = Scanner::new(s);
        sc.skip_ws();
        let digits = sc.take_while(|b| b.is_ascii_digit());
        let seq = parse_digits(digits)?;
        if seq > u64::from(Self::MAX_SEQ) {
            return Err(HeaderError::OutOfRange);
        }
        if !sc.skip_ws() {
            return Err(HeaderError::BadToken);
        }
        let method = sc.token().ok_or(HeaderError::BadToken)?;
        sc.expect_end()?;
        Ok(CSeq {
            // Invariant: checked against MAX_SEQ above.
            seq: u32::try_from(seq).map_err(|_| HeaderError::OutOfRange)?,
            method: method.parse().map_err(|_| HeaderError::BadToken)?,
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Digits::of(u64::from(self.seq)).as_str())?;
        f.write_str(" ")?;
        fmt::Display::fmt(&self.method, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cseq_parses_and_prints() {
        let c = CSeq::parse("0009\r\n  INVITE".replace("\r\n", "").as_str()).expect("valid");
        assert_eq!(c, CSeq::new(9, Method::Invite));
        assert_eq!(c.to_string(), "9 INVITE");
        assert_eq!(CSeq::parse(&c.to_string()), Ok(c));
        assert_eq!(
            CSeq::parse("29344 RE%47IST%45R").map(|c| c.method),
            Ok(Method::Extension("RE%47IST%45R".into()))
        );
        assert_eq!(
            CSeq::parse("2147483647 BYE").map(|c| c.seq),
            Ok(CSeq::MAX_SEQ)
        );
    }

    #[test]
    fn malformed_cseqs_are_refused() {
        let cases = [
            ("36893488147419103232 REGISTER", HeaderError::OutOfRange),
            ("2147483648 INVITE", HeaderError::OutOfRange),
            ("-1 INVITE", HeaderError::BadNumber),
            ("1INVITE", HeaderError::BadToken),
            ("1", HeaderError::BadToken),
            ("1 INVITE x", HeaderError::TrailingGarbage),
        ];
        for (s, e) in cases {
            assert_eq!(CSeq::parse(s), Err(e), "{s:?}");
        }
    }
}

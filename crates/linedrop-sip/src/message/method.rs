//! Request methods (RFC 3261 §7.1 and the extensions the stack knows).

use std::fmt;
use std::str::FromStr;

use super::text::is_token;

/// A request method. Methods are case-sensitive: `invite` is an extension method, not INVITE.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// INVITE (RFC 3261).
    Invite,
    /// ACK (RFC 3261).
    Ack,
    /// BYE (RFC 3261).
    Bye,
    /// CANCEL (RFC 3261).
    Cancel,
    /// OPTIONS (RFC 3261).
    Options,
    /// REGISTER (RFC 3261).
    Register,
    /// UPDATE (RFC 3311).
    Update,
    /// PRACK (RFC 3262).
    Prack,
    /// INFO (RFC 6086).
    Info,
    /// REFER (RFC 3515).
    Refer,
    /// NOTIFY (RFC 6665).
    Notify,
    /// SUBSCRIBE (RFC 6665).
    Subscribe,
    /// MESSAGE (RFC 3428).
    Message,
    /// Any other token. Never holds the name of a method above.
    Extension(String),
}

/// A method name that is not a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("method is not a token")]
pub struct InvalidMethod;

impl Method {
    /// The method as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Register => "REGISTER",
            Method::Update => "UPDATE",
            Method::Prack => "PRACK",
            Method::Info => "INFO",
            Method::Refer => "REFER",
            Method::Notify => "NOTIFY",
            Method::Subscribe => "SUBSCRIBE",
            Method::Message => "MESSAGE",
            Method::Extension(s) => s,
        }
    }
}

impl FromStr for Method {
    type Err = InvalidMethod;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "OPTIONS" => Method::Options,
            "REGISTER" => Method::Register,
            "UPDATE" => Method::Update,
            "PRACK" => Method::Prack,
            "INFO" => Method::Info,
            "REFER" => Method::Refer,
            "NOTIFY" => Method::Notify,
            "SUBSCRIBE" => Method::Subscribe,
            "MESSAGE" => Method::Message,
            other if is_token(other) => Method::Extension(other.to_owned()),
            _ => return Err(InvalidMethod),
        })
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_parse_case_sensitively() {
        assert_eq!("INVITE".parse(), Ok(Method::Invite));
        assert_eq!("invite".parse(), Ok(Method::Extension("invite".into())));
        assert_eq!(
            "RE%47IST%45R".parse(),
            Ok(Method::Extension("RE%47IST%45R".into()))
        );
        assert_eq!("IN VITE".parse::<Method>(), Err(InvalidMethod));
        assert_eq!("".parse::<Method>(), Err(InvalidMethod));
        for m in [
            "ACK",
            "BYE",
            "CANCEL",
            "OPTIONS",
            "UPDATE",
            "!interesting-Method0123456789_*+`.%indeed'~",
        ] {
            assert_eq!(m.parse::<Method>().map(|m| m.to_string()), Ok(m.to_owned()));
        }
    }
}

//! The protocol version of start lines.

use std::fmt;

/// A SIP version. Only SIP/2.0 is supported: any other version is refused at parse time with
/// [`ParseError::UnsupportedVersion`](super::ParseError::UnsupportedVersion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Version {
    _private: (),
}

impl Version {
    /// SIP/2.0.
    pub const SIP_2_0: Version = Version { _private: () };

    /// The version as written in a start line.
    pub const fn as_str(self) -> &'static str {
        "SIP/2.0"
    }
}

/// How a version string compares with SIP/2.0.
pub(crate) enum VersionCheck {
    /// `SIP/2.0` (the name is case-insensitive, RFC 3261 §25).
    Supported,
    /// `SIP/<digits>.<digits>` but not 2.0: answer 505.
    Unsupported,
    /// Not a SIP version at all.
    Malformed,
}

pub(crate) fn check_version(s: &str) -> VersionCheck {
    // The version every message carries, in the case nearly everyone writes it: no splitting.
    if s == "SIP/2.0" {
        return VersionCheck::Supported;
    }
    let Some((name, num)) = s.split_once('/') else {
        return VersionCheck::Malformed;
    };
    if !name.eq_ignore_ascii_case("SIP") {
        return VersionCheck::Malformed;
    }
    let Some((major, minor)) = num.split_once('.') else {
        return VersionCheck::Malformed;
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(major) || !digits(minor) {
        return VersionCheck::Malformed;
    }
    if major.trim_start_matches('0') == "2" && minor.trim_start_matches('0').is_empty() {
        VersionCheck::Supported
    } else {
        VersionCheck::Unsupported
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_classified() {
        assert!(matches!(check_version("SIP/2.0"), VersionCheck::Supported));
        assert!(matches!(check_version("sip/2.0"), VersionCheck::Supported));
        assert!(matches!(
            check_version("SIP/7.0"),
            VersionCheck::Unsupported
        ));
        assert!(matches!(
            check_version("SIP/2.1"),
            VersionCheck::Unsupported
        ));
        assert!(matches!(check_version("HTTP/1.1"), VersionCheck::Malformed));
        assert!(matches!(check_version("SIP/2"), VersionCheck::Malformed));
        assert_eq!(Version::SIP_2_0.to_string(), "SIP/2.0");
    }
}

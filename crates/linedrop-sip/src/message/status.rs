//! Status codes, their classes and canonical reason phrases.

use std::fmt;

/// A SIP status code, always in `100..=699`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(u16);

/// The class of a status code (RFC 3261 §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeKind {
    /// 1xx: the request is being processed.
    Provisional,
    /// 2xx: the request succeeded.
    Success,
    /// 3xx: try elsewhere.
    Redirection,
    /// 4xx: the request is wrong or cannot be served here.
    ClientError,
    /// 5xx: the server failed.
    ServerError,
    /// 6xx: the request cannot be served anywhere.
    GlobalFailure,
}

macro_rules! codes {
    ($($name:ident = $code:literal, $reason:literal;)*) => {
        impl StatusCode {
            $(
                #[doc = concat!("`", stringify!($code), " ", $reason, "`.")]
                pub const $name: StatusCode = StatusCode($code);
            )*

            /// The reason phrase the RFCs give this code, if it is a registered one.
            pub fn canonical_reason(self) -> Option<&'static str> {
                match self.0 {
                    $($code => Some($reason),)*
                    _ => None,
                }
            }
        }
    };
}

codes! {
    TRYING = 100, "Trying";
    RINGING = 180, "Ringing";
    CALL_IS_BEING_FORWARDED = 181, "Call Is Being Forwarded";
    QUEUED = 182, "Queued";
    SESSION_PROGRESS = 183, "Session Progress";
    EARLY_DIALOG_TERMINATED = 199, "Early Dialog Terminated";
    OK = 200, "OK";
    ACCEPTED = 202, "Accepted";
    NO_NOTIFICATION = 204, "No Notification";
    MULTIPLE_CHOICES = 300, "Multiple Choices";
    MOVED_PERMANENTLY = 301, "Moved Permanently";
    MOVED_TEMPORARILY = 302, "Moved Temporarily";
    USE_PROXY = 305, "Use Proxy";
    ALTERNATIVE_SERVICE = 380, "Alternative Service";
    BAD_REQUEST = 400, "Bad Request";
    UNAUTHORIZED = 401, "Unauthorized";
    PAYMENT_REQUIRED = 402, "Payment Required";
    FORBIDDEN = 403, "Forbidden";
    NOT_FOUND = 404, "Not Found";
    METHOD_NOT_ALLOWED = 405, "Method Not Allowed";
    NOT_ACCEPTABLE = 406, "Not Acceptable";
    PROXY_AUTHENTICATION_REQUIRED = 407, "Proxy Authentication Required";
    REQUEST_TIMEOUT = 408, "Request Timeout";
    GONE = 410, "Gone";
    CONDITIONAL_REQUEST_FAILED = 412, "Conditional Request Failed";
    REQUEST_ENTITY_TOO_LARGE = 413, "Request Entity Too Large";
    REQUEST_URI_TOO_LONG = 414, "Request-URI Too Long";
    UNSUPPORTED_MEDIA_TYPE = 415, "Unsupported Media Type";
    UNSUPPORTED_URI_SCHEME = 416, "Unsupported URI Scheme";
    UNKNOWN_RESOURCE_PRIORITY = 417, "Unknown Resource-Priority";
    BAD_EXTENSION = 420, "Bad Extension";
    EXTENSION_REQUIRED = 421, "Extension Required";
    SESSION_INTERVAL_TOO_SMALL = 422, "Session Interval Too Small";
    INTERVAL_TOO_BRIEF = 423, "Interval Too Brief";
    USE_IDENTITY_HEADER = 428, "Use Identity Header";
    PROVIDE_REFERRER_IDENTITY = 429, "Provide Referrer Identity";
    FLOW_FAILED = 430, "Flow Failed";
    ANONYMITY_DISALLOWED = 433, "Anonymity Disallowed";
    BAD_IDENTITY_INFO = 436, "Bad Identity-Info";
    UNSUPPORTED_CERTIFICATE = 437, "Unsupported Certificate";
    INVALID_IDENTITY_HEADER = 438, "Invalid Identity Header";
    FIRST_HOP_LACKS_OUTBOUND_SUPPORT = 439, "First Hop Lacks Outbound Support";
    MAX_BREADTH_EXCEEDED = 440, "Max-Breadth Exceeded";
    BAD_INFO_PACKAGE = 469, "Bad Info Package";
    CONSENT_NEEDED = 470, "Consent Needed";
    TEMPORARILY_UNAVAILABLE = 480, "Temporarily Unavailable";
    CALL_OR_TRANSACTION_DOES_NOT_EXIST = 481, "Call/Transaction Does Not Exist";
    LOOP_DETECTED = 482, "Loop Detected";
    TOO_MANY_HOPS = 483, "Too Many Hops";
    ADDRESS_INCOMPLETE = 484, "Address Incomplete";
    AMBIGUOUS = 485, "Ambiguous";
    BUSY_HERE = 486, "Busy Here";
    REQUEST_TERMINATED = 487, "Request Terminated";
    NOT_ACCEPTABLE_HERE = 488, "Not Acceptable Here";
    BAD_EVENT = 489, "Bad Event";
    REQUEST_PENDING = 491, "Request Pending";
    UNDECIPHERABLE = 493, "Undecipherable";
    SECURITY_AGREEMENT_REQUIRED = 494, "Security Agreement Required";
    SERVER_INTERNAL_ERROR = 500, "Server Internal Error";
    NOT_IMPLEMENTED = 501, "Not Implemented";
    BAD_GATEWAY = 502, "Bad Gateway";
    SERVICE_UNAVAILABLE = 503, "Service Unavailable";
    SERVER_TIMEOUT = 504, "Server Time-out";
    VERSION_NOT_SUPPORTED = 505, "Version Not Supported";
    MESSAGE_TOO_LARGE = 513, "Message Too Large";
    PRECONDITION_FAILURE = 580, "Precondition Failure";
    BUSY_EVERYWHERE = 600, "Busy Everywhere";
    DECLINE = 603, "Decline";
    DOES_NOT_EXIST_ANYWHERE = 604, "Does Not Exist Anywhere";
    NOT_ACCEPTABLE_ANYWHERE = 606, "Not Acceptable";
    UNWANTED = 607, "Unwanted";
    REJECTED = 608, "Rejected";
}

impl StatusCode {
    /// The code, if it is in `100..=699`.
    pub const fn new(code: u16) -> Option<StatusCode> {
        if code >= 100 && code <= 699 {
            Some(StatusCode(code))
        } else {
            None
        }
    }

    /// The numeric value.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// The class of the code.
    pub const fn kind(self) -> CodeKind {
        match self.0 / 100 {
            1 => CodeKind::Provisional,
            2 => CodeKind::Success,
            3 => CodeKind::Redirection,
            4 => CodeKind::ClientError,
            5 => CodeKind::ServerError,
            _ => CodeKind::GlobalFailure,
        }
    }

    /// Whether the code is 1xx.
    pub const fn is_provisional(self) -> bool {
        self.0 < 200
    }

    /// Whether the code is final (2xx to 6xx).
    pub const fn is_final(self) -> bool {
        self.0 >= 200
    }

    /// Whether the code is 2xx.
    pub const fn is_success(self) -> bool {
        self.0 >= 200 && self.0 < 300
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(super::digits::Digits::of(u64::from(self.0)).as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_range_checked_and_classified() {
        assert_eq!(StatusCode::new(99), None);
        assert_eq!(StatusCode::new(700), None);
        assert_eq!(StatusCode::new(486), Some(StatusCode::BUSY_HERE));
        assert_eq!(StatusCode::RINGING.kind(), CodeKind::Provisional);
        assert_eq!(StatusCode::OK.kind(), CodeKind::Success);
        assert_eq!(StatusCode::MOVED_TEMPORARILY.kind(), CodeKind::Redirection);
        assert_eq!(StatusCode::NOT_FOUND.kind(), CodeKind::ClientError);
        assert_eq!(
            StatusCode::SERVICE_UNAVAILABLE.kind(),
            CodeKind::ServerError
        );
        assert_eq!(StatusCode::DECLINE.kind(), CodeKind::GlobalFailure);
        assert_eq!(
            StatusCode::MESSAGE_TOO_LARGE.canonical_reason(),
            Some("Message Too Large")
        );
        assert_eq!(
            StatusCode::new(499).and_then(StatusCode::canonical_reason),
            None
        );
    }
}

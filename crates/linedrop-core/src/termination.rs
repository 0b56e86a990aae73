//! The termination record: written once, by the first cause that ends a call.

use std::time::SystemTime;

use crate::cause::{Cause, Origin, WireEnd};

/// Who ended a call, why and how. Set exactly once per call; later causes are counted as
/// late and never overwrite it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Termination {
    /// Who or what ended it.
    pub origin: Origin,
    /// Why, in TAPI's vocabulary.
    pub cause: Cause,
    /// How it showed on the wire.
    pub wire: WireEnd,
    /// The SIP final status that ended it (received, or sent by us), if any.
    pub sip_status: Option<u16>,
    /// The Q.850 cause from or for the `Reason` header (RFC 3326), if any.
    pub q850: Option<u8>,
    /// Free text (the `Reason` header's text, or the app's own words).
    pub text: Option<String>,
    /// When the end was decided.
    pub at: SystemTime,
}

/// What an owner may say when it drops or rejects a call. Every field is optional: the
/// engine fills in what the call's state implies (`cancelled` for an outbound call being set
/// up, `rejected` for an offered call, `normal` for a connected one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hangup {
    /// The cause to record (and to signal to the far end).
    pub cause: Option<Cause>,
    /// For an offered call: the SIP final status to answer (400-699).
    pub sip_status: Option<u16>,
    /// The Q.850 cause for the `Reason` header (1-127).
    pub q850: Option<u8>,
    /// Free text for the `Reason` header and the record.
    pub text: Option<String>,
}

impl Hangup {
    /// A hang-up with just a cause.
    pub fn cause(cause: Cause) -> Self {
        Self {
            cause: Some(cause),
            ..Self::default()
        }
    }
}

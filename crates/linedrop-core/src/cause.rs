//! Who ended a call and why: [`Origin`], the closed [`Cause`] enum, and the one table that
//! maps each cause to TAPI, SIP and Q.850.
//!
//! The mappings follow TAPI's `LINEDISCONNECTMODE_*`, TAPI 3's `DISCONNECT_CODE` and
//! `CALL_STATE_EVENT_CAUSE`, and RFC 3398 (ISUP/Q.850 ↔ SIP) for the SIP and Q.850 columns.
//! Reading from the wire is many-to-one (`from_sip_status`, `from_q850`); writing is one
//! value per cause. The two directions need not be inverses: a 480 we receive means the far
//! user did not respond (RFC 3398: Q.850 18), while we send 480 for several causes of ours.

use std::fmt;

/// Who or what ended the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// An owner dropped or rejected it.
    Local,
    /// The other party: BYE, CANCEL, or an error response.
    Remote,
    /// An application rule: a no-answer, offer or duration limit, a session timer, a handle
    /// released while the call was live, an app that went away.
    Policy,
    /// The network: transaction timeout, transport failure, keepalive failure, restart.
    Network,
    /// The engine shutting down.
    Shutdown,
}

impl Origin {
    /// Every origin.
    pub const ALL: [Origin; 5] = [
        Origin::Local,
        Origin::Remote,
        Origin::Policy,
        Origin::Network,
        Origin::Shutdown,
    ];

    /// The lower-case name used in the API and records.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Local => "local",
            Origin::Remote => "remote",
            Origin::Policy => "policy",
            Origin::Network => "network",
            Origin::Shutdown => "shutdown",
        }
    }

    /// Parses [`Origin::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the end showed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireEnd {
    /// A BYE (either direction) ended an established call.
    Bye,
    /// A CANCEL (either direction) ended a call still being set up.
    Cancel,
    /// A final non-2xx response (either direction) ended it.
    FinalResponse,
    /// Nothing was exchanged: a timeout, a transport failure, a restart.
    None,
}

impl WireEnd {
    /// Every value.
    pub const ALL: [WireEnd; 4] = [
        WireEnd::Bye,
        WireEnd::Cancel,
        WireEnd::FinalResponse,
        WireEnd::None,
    ];

    /// The lower-case name used in the API and records.
    pub fn as_str(self) -> &'static str {
        match self {
            WireEnd::Bye => "bye",
            WireEnd::Cancel => "cancel",
            WireEnd::FinalResponse => "final_response",
            WireEnd::None => "none",
        }
    }

    /// Parses [`WireEnd::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.as_str() == s)
    }
}

/// TAPI 2 `LINEDISCONNECTMODE_*` values.
#[allow(missing_docs)]
pub mod disconnect_mode {
    pub const NORMAL: u32 = 0x1;
    pub const UNKNOWN: u32 = 0x2;
    pub const REJECT: u32 = 0x4;
    pub const PICKUP: u32 = 0x8;
    pub const FORWARDED: u32 = 0x10;
    pub const BUSY: u32 = 0x20;
    pub const NOANSWER: u32 = 0x40;
    pub const BADADDRESS: u32 = 0x80;
    pub const UNREACHABLE: u32 = 0x100;
    pub const CONGESTION: u32 = 0x200;
    pub const INCOMPATIBLE: u32 = 0x400;
    pub const UNAVAIL: u32 = 0x800;
    pub const NODIALTONE: u32 = 0x1000;
    pub const NUMBERCHANGED: u32 = 0x2000;
    pub const OUTOFORDER: u32 = 0x4000;
    pub const TEMPFAILURE: u32 = 0x8000;
    pub const QOSUNAVAIL: u32 = 0x10000;
    pub const BLOCKED: u32 = 0x20000;
    pub const DONOTDISTURB: u32 = 0x40000;
    pub const CANCELLED: u32 = 0x80000;
}

/// TAPI 3 `CALL_STATE_EVENT_CAUSE` values for a disconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum CallStateEventCause {
    Normal = 1,
    Busy = 2,
    BadAddress = 3,
    NoAnswer = 4,
    Cancelled = 5,
    Rejected = 6,
    Failed = 7,
    Blocked = 8,
}

/// TAPI 3 `DISCONNECT_CODE`: the local reason an app gives to `Disconnect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum DisconnectCode {
    Normal = 0,
    NoAnswer = 1,
    Rejected = 2,
}

/// Why a call ended: a closed vocabulary in TAPI's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cause {
    /// Ordinary hang-up of a connected call.
    Normal,
    /// The called party is busy.
    Busy,
    /// The called party did not answer (our no-answer timer, or their 480/408-style answer).
    NoAnswer,
    /// An offered call was not taken within the line's offer timeout.
    OfferTimeout,
    /// Actively rejected (603 Decline, or our own rejection).
    Rejected,
    /// The caller abandoned a call still being set up (CANCEL, 487).
    Cancelled,
    /// The destination does not exist or is malformed.
    BadAddress,
    /// The destination could not be reached.
    Unreachable,
    /// The network or the far end is overloaded.
    Congestion,
    /// A temporary failure; retry later.
    TempFailure,
    /// No answer at all to our request (transaction timeout).
    Timeout,
    /// The far end cannot take this kind of call (media or extensions).
    Incompatible,
    /// Refused by policy of the far side or network (403).
    Blocked,
    /// The far end redirected the call (3xx); linedrop does not follow redirects.
    Redirected,
    /// No app takes calls on this line.
    Unattended,
    /// Any other failure.
    Failed,
    /// The session timer (RFC 4028) expired without a refresh.
    SessionExpired,
    /// The line's maximum call duration was reached.
    MaxDuration,
    /// In-dialog keepalives went unanswered or were refused.
    KeepaliveFailed,
    /// The transport under the call failed (TCP reset, unreachable host).
    TransportFailure,
    /// Our 2xx was never acknowledged.
    NotAcknowledged,
    /// The process stopped while the call was live; found and closed at the next start.
    Restart,
    /// The engine shut down.
    Shutdown,
    /// The last owner's handle was released implicitly while the call was live.
    HandleReleased,
    /// The app holding the call went away (closed, token revoked, lease ended).
    AppGone,
}

/// One row of the mapping table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CauseMapping {
    /// The cause.
    pub cause: Cause,
    /// Its API name.
    pub name: &'static str,
    /// TAPI 2 `LINEDISCONNECTMODE_*`.
    pub disconnect_mode: u32,
    /// TAPI 3 `CALL_STATE_EVENT_CAUSE`.
    pub event_cause: CallStateEventCause,
    /// TAPI 3 `DISCONNECT_CODE` when this cause is a local app's reason.
    pub disconnect_code: DisconnectCode,
    /// The SIP final response that carries this cause, when a call still being set up is
    /// ended by it. `None`: this cause never ends a call with a response of ours (the
    /// provider then answers [`FALLBACK_REJECT_STATUS`]).
    pub sip_status: Option<u16>,
    /// The Q.850 cause value for the `Reason` header (RFC 3326).
    pub q850: u8,
}

/// The final response used to end an unanswered inbound call for a cause whose row has no
/// SIP status (480 Temporarily Unavailable: the caller may try again).
pub const FALLBACK_REJECT_STATUS: u16 = 480;

macro_rules! rows {
    ($($cause:ident $name:literal $mode:ident $cec:ident $dc:ident $sip:expr, $q:literal;)*) => {
        /// The mapping table: one row per cause, in declaration order.
        pub const CAUSE_TABLE: &[CauseMapping] = &[$(CauseMapping {
            cause: Cause::$cause,
            name: $name,
            disconnect_mode: disconnect_mode::$mode,
            event_cause: CallStateEventCause::$cec,
            disconnect_code: DisconnectCode::$dc,
            sip_status: $sip,
            q850: $q,
        }),*];
    };
}

rows! {
    Normal           "normal"            NORMAL       Normal     Normal   None,      16;
    Busy             "busy"              BUSY         Busy       Rejected Some(486), 17;
    NoAnswer         "no_answer"         NOANSWER     NoAnswer   NoAnswer Some(480), 19;
    OfferTimeout     "offer_timeout"     NOANSWER     NoAnswer   NoAnswer Some(480), 19;
    Rejected         "rejected"          REJECT       Rejected   Rejected Some(603), 21;
    Cancelled        "cancelled"         CANCELLED    Cancelled  Normal   Some(487), 16;
    BadAddress       "bad_address"       BADADDRESS   BadAddress Normal   Some(404), 1;
    Unreachable      "unreachable"       UNREACHABLE  BadAddress Normal   Some(404), 3;
    Congestion       "congestion"        CONGESTION   Failed     Normal   Some(503), 34;
    TempFailure      "temp_failure"      TEMPFAILURE  Failed     Normal   Some(503), 41;
    Timeout          "timeout"           UNREACHABLE  Failed     Normal   Some(408), 102;
    Incompatible     "incompatible"      INCOMPATIBLE Failed     Normal   Some(488), 88;
    Blocked          "blocked"           BLOCKED      Blocked    Rejected Some(403), 21;
    Redirected       "redirected"        FORWARDED    Normal     Normal   Some(302), 23;
    Unattended       "unattended"        NOANSWER     NoAnswer   NoAnswer Some(480), 18;
    Failed           "failed"            UNAVAIL      Failed     Normal   Some(500), 127;
    SessionExpired   "session_expired"   UNREACHABLE  Failed     Normal   None,      102;
    MaxDuration      "max_duration"      NORMAL       Normal     Normal   None,      16;
    KeepaliveFailed  "keepalive_failed"  UNREACHABLE  Failed     Normal   None,      41;
    TransportFailure "transport_failure" OUTOFORDER   Failed     Normal   None,      38;
    NotAcknowledged  "not_acknowledged"  TEMPFAILURE  Failed     Normal   None,      102;
    Restart          "restart"           UNKNOWN      Failed     Normal   None,      41;
    Shutdown         "shutdown"          TEMPFAILURE  Failed     Normal   Some(503), 41;
    HandleReleased   "handle_released"   NORMAL       Normal     Normal   None,      16;
    AppGone          "app_gone"          NORMAL       Normal     Normal   None,      16;
}

impl Cause {
    /// This cause's row of [`CAUSE_TABLE`].
    pub fn mapping(self) -> &'static CauseMapping {
        // Invariant: CAUSE_TABLE has exactly one row per variant (tested below).
        CAUSE_TABLE
            .iter()
            .find(|row| row.cause == self)
            .expect("every cause has a row")
    }

    /// The API name (`"no_answer"`, ...).
    pub fn as_str(self) -> &'static str {
        self.mapping().name
    }

    /// Parses [`Cause::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        CAUSE_TABLE
            .iter()
            .find(|row| row.name == s)
            .map(|row| row.cause)
    }

    /// TAPI 2 `LINEDISCONNECTMODE_*`.
    pub fn disconnect_mode(self) -> u32 {
        self.mapping().disconnect_mode
    }

    /// TAPI 3 `CALL_STATE_EVENT_CAUSE`.
    pub fn event_cause(self) -> CallStateEventCause {
        self.mapping().event_cause
    }

    /// TAPI 3 `DISCONNECT_CODE`.
    pub fn disconnect_code(self) -> DisconnectCode {
        self.mapping().disconnect_code
    }

    /// The SIP final status that carries this cause, if it has one.
    pub fn sip_status(self) -> Option<u16> {
        self.mapping().sip_status
    }

    /// The status we answer when this cause ends an unanswered inbound call.
    pub fn reject_status(self) -> u16 {
        self.sip_status().unwrap_or(FALLBACK_REJECT_STATUS)
    }

    /// The Q.850 cause value.
    pub fn q850(self) -> u8 {
        self.mapping().q850
    }

    /// The cause a final response from the far end means (RFC 3398 §8.2.6.1 in spirit).
    pub fn from_sip_status(status: u16) -> Cause {
        match status {
            300..=399 => Cause::Redirected,
            401 | 402 | 403 | 407 => Cause::Blocked,
            404 | 410 | 484 | 485 | 604 => Cause::BadAddress,
            408 | 504 => Cause::Timeout,
            480 => Cause::NoAnswer,
            486 | 600 => Cause::Busy,
            487 => Cause::Cancelled,
            406 | 415 | 488 | 606 => Cause::Incompatible,
            503 => Cause::Congestion,
            500 | 502 => Cause::TempFailure,
            603 => Cause::Rejected,
            505..=599 | 501 => Cause::TempFailure,
            605..=699 => Cause::Rejected,
            _ => Cause::Failed,
        }
    }

    /// The cause a Q.850 value from the far end means.
    pub fn from_q850(q850: u8) -> Cause {
        match q850 {
            1 | 2 | 22 | 28 => Cause::BadAddress,
            3 => Cause::Unreachable,
            16 | 31 => Cause::Normal,
            17 => Cause::Busy,
            18..=20 => Cause::NoAnswer,
            21 => Cause::Rejected,
            55 | 57 | 87 => Cause::Blocked,
            23 => Cause::Redirected,
            34 | 42 | 47 => Cause::Congestion,
            38 | 41 | 44 => Cause::TempFailure,
            58 | 65 | 79 | 88 => Cause::Incompatible,
            102 => Cause::Timeout,
            _ => Cause::Failed,
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests;

//! The one error type of the session layer, in the spirit of TAPI's `LINEERR_*`.

use crate::state::CallState;

/// Why an engine operation was refused. A refused operation changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The handle was never valid, or has been released (`LINEERR_INVALCALLHANDLE`).
    #[error("invalid call handle")]
    InvalidHandle,
    /// The app is unknown or closed.
    #[error("invalid app")]
    InvalidApp,
    /// The line is unknown.
    #[error("invalid line")]
    InvalidLine,
    /// The app has not opened this line (or not with the privilege the operation needs).
    #[error("line not open for this app")]
    LineNotOpen,
    /// A monitor tried an owner's operation (`LINEERR_NOTOWNER`).
    #[error("not the owner of this call")]
    NotOwner,
    /// The call's state does not allow the operation (`LINEERR_INVALCALLSTATE`).
    #[error("cannot {op} a call in state {state}")]
    InvalidState {
        /// The refused operation.
        op: &'static str,
        /// The state the call was in.
        state: CallState,
    },
    /// Releasing or demoting the last owner of a live call: drop it first, or ask for
    /// release with drop.
    #[error("the call is still active and this is its last owner")]
    CallActive,
    /// The destination is not a usable address.
    #[error("bad address: {0}")]
    BadAddress(String),
    /// An argument is out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The engine is shutting down and takes no new calls.
    #[error("shutting down")]
    ShuttingDown,
    /// The provider could not do it.
    #[error("provider failed: {0}")]
    Provider(String),
}

impl Error {
    /// A stable, machine-readable code, mapped once to HTTP statuses by the API layer.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidHandle => "invalid_handle",
            Error::InvalidApp => "invalid_app",
            Error::InvalidLine => "invalid_line",
            Error::LineNotOpen => "line_not_open",
            Error::NotOwner => "not_owner",
            Error::InvalidState { .. } => "invalid_state",
            Error::CallActive => "call_active",
            Error::BadAddress(_) => "bad_address",
            Error::InvalidArgument(_) => "invalid_argument",
            Error::ShuttingDown => "shutting_down",
            Error::Provider(_) => "provider_failed",
        }
    }
}

/// What a provider may refuse synchronously.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The destination cannot be parsed or used.
    #[error("bad address: {0}")]
    BadAddress(String),
    /// The provider cannot take this call now (no transport, no capacity).
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl From<ProviderError> for Error {
    fn from(e: ProviderError) -> Self {
        match e {
            ProviderError::BadAddress(a) => Error::BadAddress(a),
            ProviderError::Unavailable(why) => Error::Provider(why),
        }
    }
}

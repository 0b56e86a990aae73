//! The API's one error shape, and the one table from errors to HTTP statuses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An API error: `{"error": {"code": "...", "message": "..."}}` with its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable, machine-readable code.
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
}

impl ApiError {
    /// An error with an explicit status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// A bad request naming what is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// No such call for this app.
    pub fn no_call(id: u64) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_handle",
            format!("no call {id} held by this app"),
        )
    }

    /// The engine task is gone (the daemon is stopping).
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the engine is stopping",
        )
    }
}

/// The session layer's errors, mapped once (DESIGN.md §1: each maps once to an HTTP status).
impl From<linedrop_core::Error> for ApiError {
    fn from(e: linedrop_core::Error) -> Self {
        use linedrop_core::Error as E;
        let status = match &e {
            E::InvalidHandle => StatusCode::NOT_FOUND,
            E::InvalidApp => StatusCode::UNAUTHORIZED,
            E::InvalidLine | E::BadAddress(_) | E::InvalidArgument(_) => StatusCode::BAD_REQUEST,
            E::LineNotOpen | E::NotOwner => StatusCode::FORBIDDEN,
            E::InvalidState { .. } | E::CallActive => StatusCode::CONFLICT,
            E::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            E::Provider(_) => StatusCode::BAD_GATEWAY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self {
            status,
            code: e.code(),
            message: e.to_string(),
        }
    }
}

impl From<linedrop_sip::driver::Closed> for ApiError {
    fn from(_: linedrop_sip::driver::Closed) -> Self {
        Self::unavailable()
    }
}

impl From<linedrop_store::StoreError> for ApiError {
    fn from(e: linedrop_store::StoreError) -> Self {
        match e {
            linedrop_store::StoreError::InvalidQuery(m) => Self::bad_request(m),
            other => {
                tracing::error!(error = %other, "record store");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "store_failed",
                    "the record store failed",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linedrop_core::{CallState, Error};

    #[test]
    fn each_session_error_has_one_status() {
        let cases = [
            (Error::InvalidHandle, 404),
            (Error::NotOwner, 403),
            (Error::LineNotOpen, 403),
            (Error::CallActive, 409),
            (
                Error::InvalidState {
                    op: "drop",
                    state: CallState::Idle,
                },
                409,
            ),
            (Error::BadAddress("x".into()), 400),
            (Error::InvalidArgument("x".into()), 400),
            (Error::ShuttingDown, 503),
            (Error::Provider("x".into()), 502),
        ];
        for (e, status) in cases {
            let code = e.code();
            let a = ApiError::from(e);
            assert_eq!((a.status.as_u16(), a.code), (status, code));
        }
    }
}

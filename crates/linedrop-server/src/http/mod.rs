//! The HTTP/WebSocket API (axum): one module per resource, each exposing `router()`.

mod calls;
mod error;
mod events;
mod extract;
mod records;
mod system;

use axum::extract::DefaultBodyLimit;
use axum::Router;

pub use error::ApiError;

use crate::state::AppState;

/// Every route, as (method, path): the OpenAPI document must describe each one.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/calls"),
    ("get", "/v1/calls"),
    ("get", "/v1/calls/{id}"),
    ("delete", "/v1/calls/{id}"),
    ("post", "/v1/calls/{id}/accept"),
    ("post", "/v1/calls/{id}/answer"),
    ("post", "/v1/calls/{id}/reject"),
    ("post", "/v1/calls/{id}/drop"),
    ("get", "/v1/events"),
    ("get", "/v1/records"),
    ("get", "/v1/records/{id}"),
    ("get", "/v1/ledger"),
    ("get", "/metrics"),
    ("get", "/healthz"),
];

/// The whole API.
pub fn router(state: AppState) -> Router {
    let limit = state.max_body;
    Router::new()
        .merge(calls::router())
        .merge(events::router())
        .merge(records::router())
        .merge(system::router())
        .fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "no_route",
                "no such route",
            )
        })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

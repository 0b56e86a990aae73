//! `/v1/calls`: make, list, read, answer, reject, drop and release calls.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use linedrop_core::{CallId, Cause, Hangup, Release};
use serde::Deserialize;
use serde_json::Value;

use super::error::ApiError;
use super::extract::{Body, Caller, Params};
use crate::json;
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/calls", post(create).get(list))
        .route("/v1/calls/{id}", get(show).delete(release))
        .route("/v1/calls/{id}/accept", post(accept))
        .route("/v1/calls/{id}/answer", post(answer))
        .route("/v1/calls/{id}/reject", post(reject))
        .route("/v1/calls/{id}/drop", post(drop_call))
}

/// `POST /v1/calls`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCall {
    /// The destination SIP URI.
    to: String,
    /// The line to call from (default: the app's first owned line).
    #[serde(default)]
    line: Option<String>,
}

/// The optional body of reject and drop.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HangupBody {
    #[serde(default)]
    cause: Option<String>,
    #[serde(default)]
    sip_status: Option<u16>,
    #[serde(default)]
    q850: Option<u8>,
    #[serde(default)]
    text: Option<String>,
}

impl HangupBody {
    fn into_hangup(self) -> Result<Hangup, ApiError> {
        let cause = match self.cause.as_deref() {
            None => None,
            Some(c) => Some(
                Cause::parse(c)
                    .ok_or_else(|| ApiError::bad_request(format!("unknown cause {c:?}")))?,
            ),
        };
        if self
            .text
            .as_ref()
            .is_some_and(|t| t.len() > 200 || t.contains(['\r', '\n', '"']))
        {
            return Err(ApiError::bad_request(
                "text must be at most 200 characters, on one line, without quotes",
            ));
        }
        Ok(Hangup {
            cause,
            sip_status: self.sip_status,
            q850: self.q850,
            text: self.text,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseParams {
    /// Drop a live call first instead of refusing with `call_active`.
    #[serde(default)]
    drop: bool,
}

async fn create(
    State(st): State<AppState>,
    Caller(app): Caller,
    Body(req): Body<NewCall>,
) -> Result<impl IntoResponse, ApiError> {
    validate_uri(&req.to)?;
    let line = match &req.line {
        Some(name) => st
            .names
            .line_named(name)
            .map(|l| l.id)
            .ok_or_else(|| ApiError::bad_request(format!("no line named {name:?}")))?,
        None => *app.owns.first().ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "line_not_open",
                "this app owns no line to call from",
            )
        })?,
    };
    let to = req.to.clone();
    let names = st.names.clone();
    let view = st
        .handle
        .call(move |e, now| {
            let h = e.dial(now, app.id, line, &to)?;
            e.info(h).map(|i| json::call(&i, &*names))
        })
        .await??;
    Ok((StatusCode::CREATED, Json(view)))
}

async fn list(State(st): State<AppState>, Caller(app): Caller) -> Result<Json<Value>, ApiError> {
    let names = st.names.clone();
    let calls = st
        .handle
        .call(move |e, _| {
            let handles = e.handles_of(app.id).unwrap_or_default();
            handles
                .iter()
                .filter_map(|(h, _)| e.info(*h).ok())
                .map(|i| json::call(&i, &*names))
                .collect::<Vec<_>>()
        })
        .await?;
    Ok(Json(serde_json::json!({ "calls": calls })))
}

async fn show(
    State(st): State<AppState>,
    Caller(app): Caller,
    Path(id): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    let names = st.names.clone();
    let view = st
        .handle
        .call(move |e, _| {
            let h = e
                .handle_for(app.id, CallId(id))
                .ok_or(ApiError::no_call(id))?;
            Ok::<_, ApiError>(json::call(&e.info(h)?, &*names))
        })
        .await??;
    Ok(Json(view))
}

/// Runs an owner operation on the app's handle to call `id` and answers with the call.
async fn act(
    st: AppState,
    app: crate::state::AppInfo,
    id: u64,
    op: impl FnOnce(
            &mut linedrop_core::Engine<linedrop_sip::ua::SipProvider>,
            linedrop_core::Now,
            linedrop_core::CallHandle,
        ) -> Result<(), linedrop_core::Error>
        + Send
        + 'static,
) -> Result<Json<Value>, ApiError> {
    let names = st.names.clone();
    let view = st
        .handle
        .call(move |e, now| {
            let h = e
                .handle_for(app.id, CallId(id))
                .ok_or(ApiError::no_call(id))?;
            op(e, now, h)?;
            Ok::<_, ApiError>(json::call(&e.info(h)?, &*names))
        })
        .await??;
    Ok(Json(view))
}

async fn accept(
    State(st): State<AppState>,
    Caller(app): Caller,
    Path(id): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    act(st, app, id, |e, now, h| e.accept(now, h)).await
}

async fn answer(
    State(st): State<AppState>,
    Caller(app): Caller,
    Path(id): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    act(st, app, id, |e, now, h| e.answer(now, h)).await
}

async fn reject(
    State(st): State<AppState>,
    Caller(app): Caller,
    Path(id): Path<u64>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let hangup = optional_body::<HangupBody>(&body)?.into_hangup()?;
    act(st, app, id, move |e, now, h| e.reject(now, h, hangup)).await
}

async fn drop_call(
    State(st): State<AppState>,
    Caller(app): Caller,
    Path(id): Path<u64>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let hangup = optional_body::<HangupBody>(&body)?.into_hangup()?;
    act(st, app, id, move |e, now, h| e.drop_call(now, h, hangup)).await
}

async fn release(
    State(st): State<AppState>,
    Caller(app): Caller,
    Path(id): Path<u64>,
    Params(p): Params<ReleaseParams>,
) -> Result<StatusCode, ApiError> {
    let how = if p.drop {
        Release::DropFirst
    } else {
        Release::Explicit
    };
    st.handle
        .call(move |e, now| {
            let h = e
                .handle_for(app.id, CallId(id))
                .ok_or(ApiError::no_call(id))?;
            e.release(now, h, how).map_err(ApiError::from)
        })
        .await??;
    Ok(StatusCode::NO_CONTENT)
}

/// An optional JSON body: empty means every field takes its default.
fn optional_body<T: serde::de::DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// A destination must be a `sip:` URI the SIP layer can parse.
fn validate_uri(to: &str) -> Result<(), ApiError> {
    let ok =
        to.len() <= 512 && linedrop_sip::message::Uri::parse(to.trim()).is_ok_and(|u| u.is_sip());
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_address",
            format!("{to:?} is not a SIP URI (sip:user@host[:port])"),
        ))
    }
}

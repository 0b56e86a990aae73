//! `/v1/records`: durable call records of the app's lines, filtered and paginated.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use linedrop_core::{CallId, Cause, Direction, Origin};
use linedrop_store::{Cursor, RecordQuery, Store};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{Caller, Params};
use crate::json;
use crate::state::AppState;

/// How long a query waits for the durable records not yet in the store (the journal's
/// newest, normally there within a second) before it reads what the store has: long enough
/// for a commit, short enough that a failing store still gets an answer.
const SETTLE_WAIT: Duration = Duration::from_secs(2);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/records", get(list))
        .route("/v1/records/{id}", get(show))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Filter {
    /// Created at or after (Unix milliseconds).
    from_ms: Option<u64>,
    /// Created before (Unix milliseconds).
    to_ms: Option<u64>,
    line: Option<String>,
    origin: Option<String>,
    cause: Option<String>,
    status: Option<u16>,
    direction: Option<String>,
    completed: Option<bool>,
    cursor: Option<String>,
    limit: Option<u32>,
}

fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

fn parse<T>(
    what: &str,
    v: Option<&str>,
    f: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    v.map(|s| f(s).ok_or_else(|| ApiError::bad_request(format!("unknown {what} {s:?}"))))
        .transpose()
}

async fn list(
    State(st): State<AppState>,
    Caller(app): Caller,
    Params(f): Params<Filter>,
) -> Result<Json<Value>, ApiError> {
    let mine: Vec<String> = app
        .lines
        .iter()
        .filter_map(|l| {
            st.names
                .lines
                .iter()
                .find(|x| x.id == *l)
                .map(|x| x.address.clone())
        })
        .collect();
    let line = match &f.line {
        Some(name) => {
            let l = st
                .names
                .line_named(name)
                .ok_or_else(|| ApiError::bad_request(format!("no line named {name:?}")))?;
            if !app.lines.contains(&l.id) {
                return Err(ApiError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "line_not_open",
                    format!("this app has no access to line {name:?}"),
                ));
            }
            Some(l.address.clone())
        }
        None => None,
    };
    let mut q = RecordQuery {
        created_from: f.from_ms.map(at),
        created_before: f.to_ms.map(at),
        line,
        origin: parse("origin", f.origin.as_deref(), Origin::parse)?,
        cause: parse("cause", f.cause.as_deref(), Cause::parse)?,
        sip_status: f.status,
        direction: parse("direction", f.direction.as_deref(), Direction::parse)?,
        completed: f.completed,
        cursor: parse("cursor", f.cursor.as_deref(), |c| c.parse::<Cursor>().ok())?,
        ..RecordQuery::default()
    };
    if let Some(limit) = f.limit {
        q.limit = limit;
    }
    let store = st.records.clone();
    let writer = st.writer.clone();
    let page = tokio::task::spawn_blocking(move || {
        writer.settle(SETTLE_WAIT);
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        // Records of other apps' lines are not this app's to see: filter, and keep the
        // cursor moving so pages stay consistent.
        let mut page = store.query(&q)?;
        page.records.retain(|r| mine.iter().any(|m| **m == *r.line));
        Ok::<_, linedrop_store::StoreError>(page)
    })
    .await
    .map_err(|_| ApiError::unavailable())??;
    let records: Vec<Value> = page.records.iter().map(json::record).collect();
    Ok(Json(
        json!({"records": records, "next_cursor": page.next_cursor.map(|c| c.to_string())}),
    ))
}

async fn show(
    State(st): State<AppState>,
    Caller(app): Caller,
    Path(id): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    let store = st.records.clone();
    let writer = st.writer.clone();
    let record = tokio::task::spawn_blocking(move || {
        writer.settle(SETTLE_WAIT);
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        store.get(CallId(id))
    })
    .await
    .map_err(|_| ApiError::unavailable())??;
    let mine = |address: &str| {
        app.lines.iter().any(|l| {
            st.names
                .lines
                .iter()
                .any(|x| x.id == *l && x.address == address)
        })
    };
    match record {
        Some(r) if mine(&r.line) => Ok(Json(json::record(&r))),
        _ => Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            format!("no record {id} on this app's lines"),
        )),
    }
}

//! `/v1/ledger`, `/metrics` and `/healthz`: what is live, for people and for Prometheus.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::Caller;
use crate::json;
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/ledger", get(ledger))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
}

/// Everything the ledger, the SIP layer and the writer count, in one snapshot.
async fn snapshot(
    st: &AppState,
) -> Result<
    (
        linedrop_core::Ledger,
        linedrop_sip::ua::SipStats,
        Vec<(linedrop_core::AppId, linedrop_core::CallId)>,
    ),
    ApiError,
> {
    Ok(st
        .handle
        .call(|e, now| {
            // A handle to a call idle for an hour and never released is probably forgotten.
            let suspects = e.leak_suspects(now, std::time::Duration::from_secs(3600));
            (e.ledger(), e.provider().stats().clone(), suspects)
        })
        .await?)
}

async fn ledger(State(st): State<AppState>, _caller: Caller) -> Result<Json<Value>, ApiError> {
    let (l, sip, suspects) = snapshot(&st).await?;
    let w = st.writer.stats();
    let mut v = json::ledger(&l);
    if let Value::Object(m) = &mut v {
        m.insert("records".into(), json!({"sent": w.sent, "committed": w.committed, "batches": w.batches, "parks": w.parks, "queued": w.queued(), "failed_commits": w.failed_commits, "applied": w.applied, "failed_applies": w.failed_applies}));
        m.insert("sip_counters".into(), json!({
            "received": sip.received, "sent": sip.sent, "retransmissions": sip.retransmissions,
            "malformed_answered": sip.malformed_answered, "malformed_dropped": sip.malformed_dropped,
            "stray_responses": sip.stray_responses, "unknown_dialog": sip.unknown_dialog,
            "tombstone_hits": sip.tombstone_hits, "stray_acks": sip.stray_acks, "transport_errors": sip.transport_errors,
        }));
        let names = &st.names;
        m.insert(
            "leak_suspects".into(),
            suspects
                .iter()
                .map(|(a, c)| json!({"app": crate::json::Names::app(&**names, *a), "call": c.0}))
                .collect(),
        );
    }
    Ok(Json(v))
}

/// Prometheus text exposition, written by hand: a dozen gauges and counters do not need an
/// exporter crate and its HTTP server.
async fn metrics(State(st): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let (l, sip, suspects) = snapshot(&st).await?;
    let w = st.writer.stats();
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, u64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    };
    let states: Vec<(String, u64)> = linedrop_core::CallState::ALL
        .iter()
        .map(|s| (format!("{{state=\"{}\"}}", s.as_str()), l.calls(*s)))
        .collect();
    let states: Vec<(&str, u64)> = states.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    metric(
        "linedrop_calls",
        "gauge",
        "Calls held by the engine, by state.",
        &states,
    );
    metric(
        "linedrop_handles",
        "gauge",
        "Valid call handles.",
        &[("", l.handles)],
    );
    metric(
        "linedrop_engine_timers",
        "gauge",
        "Armed engine timers.",
        &[("", l.timers)],
    );
    metric(
        "linedrop_sip_dialogs",
        "gauge",
        "SIP per-call state not yet freed.",
        &[("", l.provider.dialogs)],
    );
    metric(
        "linedrop_sip_transactions",
        "gauge",
        "Live SIP transactions.",
        &[("", l.provider.transactions)],
    );
    metric(
        "linedrop_sip_tombstones",
        "gauge",
        "Ended dialogs kept to answer late requests.",
        &[("", l.provider.tombstones)],
    );
    metric(
        "linedrop_sip_connections",
        "gauge",
        "Open TCP connections.",
        &[("", l.provider.connections)],
    );
    metric(
        "linedrop_leak_suspects",
        "gauge",
        "Handles idle for over an hour and not released.",
        &[("", suspects.len() as u64)],
    );
    metric(
        "linedrop_late_causes_total",
        "counter",
        "Causes that arrived after a call had ended.",
        &[("", l.late_causes)],
    );
    metric(
        "linedrop_forced_teardowns_total",
        "counter",
        "Calls forced idle past the teardown bound.",
        &[("", l.forced_teardowns)],
    );
    metric(
        "linedrop_sip_received_total",
        "counter",
        "SIP messages received.",
        &[("", sip.received)],
    );
    metric(
        "linedrop_sip_sent_total",
        "counter",
        "SIP messages sent.",
        &[("", sip.sent)],
    );
    metric(
        "linedrop_sip_retransmissions_total",
        "counter",
        "SIP retransmissions sent.",
        &[("", sip.retransmissions)],
    );
    metric(
        "linedrop_sip_malformed_total",
        "counter",
        "Malformed SIP messages.",
        &[
            ("{outcome=\"answered\"}", sip.malformed_answered),
            ("{outcome=\"dropped\"}", sip.malformed_dropped),
        ],
    );
    metric(
        "linedrop_records_committed_total",
        "counter",
        "Call records made durable (journalled).",
        &[("", w.committed)],
    );
    metric(
        "linedrop_records_applied_total",
        "counter",
        "Call records written to the record store (queries see them).",
        &[("", w.applied)],
    );
    metric(
        "linedrop_records_apply_failures_total",
        "counter",
        "Record store transactions that failed (their records stay journalled and are retried).",
        &[("", w.failed_applies)],
    );
    metric(
        "linedrop_records_queued",
        "gauge",
        "Call records waiting for the disk.",
        &[("", w.queued())],
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out))
}

async fn healthz() -> &'static str {
    "ok\n"
}

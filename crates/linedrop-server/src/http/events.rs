//! `GET /v1/events`: the app's event stream over WebSocket, replayed from a sequence number.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::error::ApiError;
use super::extract::{Caller, Params};
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/events", get(events))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Since {
    /// Replay every event after this sequence number (0: everything the window holds).
    #[serde(default)]
    since: Option<u64>,
}

async fn events(
    State(st): State<AppState>,
    Caller(app): Caller,
    Params(q): Params<Since>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    // Without `since`, a client starts from now: replaying history is asked for.
    let since = q.since.unwrap_or_else(|| st.hub.last_seq(app.id));
    Ok(ws.on_upgrade(move |socket| stream(socket, st, app.id, since)))
}

async fn stream(mut socket: WebSocket, st: AppState, app: linedrop_core::AppId, since: u64) {
    let (replay, mut live) = match st.hub.subscribe(app, since) {
        Ok(s) => s,
        Err(gap) => {
            let msg = serde_json::json!({"error": {
                "code": "replay_window_exceeded",
                "message": format!("events after {since} are no longer held; the oldest held is {}", gap.oldest),
                "oldest": gap.oldest,
            }});
            let _ = socket.send(Message::Text(msg.to_string().into())).await;
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
    };
    let mut last = since;
    for ev in replay {
        last = ev.seq();
        if socket
            .send(Message::Text(st.hub.text(&ev).into()))
            .await
            .is_err()
        {
            return;
        }
    }
    loop {
        tokio::select! {
            ev = live.recv() => match ev {
                Ok(ev) if ev.seq() <= last => {}
                Ok(ev) => {
                    last = ev.seq();
                    if socket.send(Message::Text(st.hub.text(&ev).into())).await.is_err() {
                        return;
                    }
                }
                // Too slow for the live feed: catch up from the window, or say it is lost.
                Err(RecvError::Lagged(_)) => match st.hub.subscribe(app, last) {
                    Ok((replay, rx)) => {
                        live = rx;
                        for ev in replay {
                            last = ev.seq();
                            if socket.send(Message::Text(st.hub.text(&ev).into())).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(_) => {
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                },
                Err(RecvError::Closed) => return,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

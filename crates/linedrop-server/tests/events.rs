//! Events over WebSocket: a client that disconnects and reconnects with its last sequence
//! number gets every event it missed, and is told plainly when the window no longer holds
//! them.

mod common;

use std::net::{SocketAddr, TcpStream};

use common::*;
use serde_json::Value;
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

fn connect(api: SocketAddr, since: Option<u64>) -> WebSocket<TcpStream> {
    let q = since.map(|s| format!("?since={s}")).unwrap_or_default();
    let mut req = format!("ws://{api}/v1/events{q}")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Authorization",
        format!("Bearer {TOKEN_A}").parse().unwrap(),
    );
    let stream = TcpStream::connect(api).unwrap();
    tungstenite::client(req, stream).unwrap().0
}

fn next(ws: &mut WebSocket<TcpStream>) -> Value {
    loop {
        if let Message::Text(t) = ws.read().unwrap() {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

/// Dials a destination that never answers and drops the call: five events for app A
/// (new_call, terminated, state dialing→disconnected, state →idle, ...).
fn make_events(addr: SocketAddr) -> u64 {
    let port = free_udp_port();
    let body = format!(r#"{{"to":"sip:nobody@127.0.0.1:{port}"}}"#);
    let (_, c) = api(addr, "POST", "/v1/calls", Some(TOKEN_A), Some(&body));
    let id = c["id"].as_u64().unwrap();
    api(
        addr,
        "DELETE",
        &format!("/v1/calls/{id}?drop=true"),
        Some(TOKEN_A),
        None,
    );
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_client_misses_nothing() {
    let (d, _dir) = daemon("replay_window = 1000").await;
    let addr = d.api_addr;
    tokio::task::spawn_blocking(move || {
        let mut ws = connect(addr, Some(0));
        make_events(addr);
        let first = next(&mut ws);
        assert_eq!(
            (first["seq"].as_u64(), first["type"].as_str()),
            (Some(1), Some("new_call"))
        );
        let second = next(&mut ws);
        assert_eq!(second["seq"], 2);
        drop(ws); // the client goes away after seeing seq 2

        make_events(addr); // more happens while it is gone
        let mut ws = connect(addr, Some(2));
        let mut seqs = Vec::new();
        let mut types = Vec::new();
        // Everything after 2: the rest of the first call, all of the second.
        while seqs.len() < 6 {
            let e = next(&mut ws);
            seqs.push(e["seq"].as_u64().unwrap());
            types.push(e["type"].as_str().unwrap().to_owned());
        }
        assert_eq!(
            seqs,
            (3..=8).collect::<Vec<_>>(),
            "no gap, no repeat: {types:?}"
        );
        assert!(types.contains(&"terminated".to_owned()));
    })
    .await
    .unwrap();
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_for_more_than_the_window_holds_is_an_error() {
    let (d, _dir) = daemon("replay_window = 3").await;
    let addr = d.api_addr;
    tokio::task::spawn_blocking(move || {
        make_events(addr);
        make_events(addr);
        let mut ws = connect(addr, Some(0));
        let e = next(&mut ws);
        assert_eq!(e["error"]["code"], "replay_window_exceeded", "{e}");
        assert!(e["error"]["oldest"].as_u64().unwrap() > 1);
    })
    .await
    .unwrap();
    d.stop().await;
}

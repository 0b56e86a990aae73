//! `linedrop watch`: live events over the API's WebSocket, one readable line each.

use anyhow::{anyhow, Context};
use serde_json::Value;
use tungstenite::client::IntoClientRequest;
use tungstenite::Message;

use crate::client::Target;

pub fn run(t: &Target, since: Option<u64>) -> anyhow::Result<()> {
    let ws_url = t.api.replacen("http://", "ws://", 1);
    let q = since.map(|s| format!("?since={s}")).unwrap_or_default();
    let mut req = format!("{ws_url}/v1/events{q}").into_client_request()?;
    req.headers_mut()
        .insert("Authorization", format!("Bearer {}", t.token).parse()?);
    let addr = t
        .api
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let stream =
        std::net::TcpStream::connect(&addr).with_context(|| format!("cannot reach {addr}"))?;
    let (mut socket, _) =
        tungstenite::client(req, stream).map_err(|e| anyhow!("WebSocket handshake: {e}"))?;
    loop {
        match socket.read()? {
            Message::Text(text) => {
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if let Some(err) = v.get("error") {
                    return Err(anyhow!(
                        "{}: {}",
                        err["code"].as_str().unwrap_or("error"),
                        err["message"].as_str().unwrap_or("")
                    ));
                }
                println!("{}", line(&v));
            }
            Message::Close(_) => return Ok(()),
            _ => {}
        }
    }
}

fn line(v: &Value) -> String {
    let head = format!(
        "#{:<5} call {:<6} {:<15}",
        v["seq"],
        v["call"],
        v["type"].as_str().unwrap_or("?")
    );
    let tail = match v["type"].as_str() {
        Some("new_call") => format!(
            "{} {} ({})",
            v["direction"].as_str().unwrap_or(""),
            v["state"].as_str().unwrap_or(""),
            v["privilege"].as_str().unwrap_or("")
        ),
        Some("state") => format!(
            "{} -> {}",
            v["from"].as_str().unwrap_or(""),
            v["to"].as_str().unwrap_or("")
        ),
        Some("terminated") => {
            let t = &v["termination"];
            format!(
                "{}/{} via {} status {} q850 {}",
                t["origin"].as_str().unwrap_or(""),
                t["cause"].as_str().unwrap_or(""),
                t["wire"].as_str().unwrap_or(""),
                t["sip_status"],
                t["q850"]
            )
        }
        Some("holders_changed") => format!("owners {} monitors {}", v["owners"], v["monitors"]),
        Some("released") => format!("by {}", v["by"].as_str().unwrap_or("")),
        _ => v.to_string(),
    };
    format!("{head} {tail}")
}

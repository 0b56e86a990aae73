//! A real daemon on free ports with a temporary database, and a small blocking API client.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use linedrop_server::{Config, Running};
use serde_json::Value;

pub const TOKEN_A: &str = "token-a-0123456789abcdef";
pub const TOKEN_B: &str = "token-b-0123456789abcdef";

/// A daemon with: line `auto` (answers, no hold) watched by app A; line `out` owned by A;
/// line `b` owned by app B.
pub async fn daemon(extra: &str) -> (Running, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[sip]\nudp = \"127.0.0.1:0\"\ntcp = \"127.0.0.1:0\"\nt1_ms = 50\ntimer_d_ms = 3200\n\
         [api]\nlisten = \"127.0.0.1:0\"\n{extra}\n\
         [store]\npath = \"{}\"\n\
         [[lines]]\nname = \"auto\"\naddress = \"sip:auto@127.0.0.1\"\nbehaviour = \"answer\"\n\
         [[lines]]\nname = \"out\"\naddress = \"sip:out@127.0.0.1\"\n\
         [[lines]]\nname = \"b\"\naddress = \"sip:b@127.0.0.1\"\n\
         [[apps]]\nname = \"a\"\ntoken = \"{TOKEN_A}\"\nowner = [\"out\"]\nmonitor = [\"auto\"]\n\
         [[apps]]\nname = \"b\"\ntoken = \"{TOKEN_B}\"\nowner = [\"b\"]\n",
        dir.path().join("records.db").display()
    );
    let path = dir.path().join("linedrop.toml");
    std::fs::write(&path, text).unwrap();
    let config = Config::load(Some(&path), &[]).unwrap();
    (linedrop_server::start(config).await.unwrap(), dir)
}

/// One API request (blocking; call from `spawn_blocking` or a plain thread).
pub fn api(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("http://{addr}{path}");
    let auth = token.map(|t| format!("Bearer {t}"));
    let resp = match method {
        "GET" => {
            let mut r = agent.get(&url);
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.call()
        }
        "DELETE" => {
            let mut r = agent.delete(&url);
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.call()
        }
        _ => {
            let mut r = agent.post(&url).header("Content-Type", "application/json");
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            match body {
                Some(b) => r.send(b),
                None => r.send_empty(),
            }
        }
    };
    let mut resp = resp.unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The same, from async code.
pub async fn api_async(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let (method, path, token, body) = (
        method.to_owned(),
        path.to_owned(),
        token.map(str::to_owned),
        body.map(str::to_owned),
    );
    tokio::task::spawn_blocking(move || {
        api(addr, &method, &path, token.as_deref(), body.as_deref())
    })
    .await
    .unwrap()
}

/// Releases app A's handle to call `id` (204), then checks the handle is gone for good
/// (404 `invalid_handle`).
pub async fn release_and_check_gone(addr: SocketAddr, id: u64) {
    let path = format!("/v1/calls/{id}");
    let (status, _) = api_async(addr, "DELETE", &path, Some(TOKEN_A), None).await;
    assert_eq!(status, 204);
    let (status, body) = api_async(addr, "GET", &path, Some(TOKEN_A), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("invalid_handle"))
    );
}

/// Polls `f` until it returns `Some`, or panics after `within`.
pub async fn eventually<T>(
    within: Duration,
    what: &str,
    mut f: impl AsyncFnMut() -> Option<T>,
) -> T {
    let end = Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether SIPp is installed; tests that need it say so and return when it is not.
pub fn have_sipp() -> bool {
    let ok = Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        eprintln!("skipped: sipp not installed (apt-get install sip-tester)");
    }
    ok
}

/// A free UDP port on 127.0.0.1 for SIPp to bind (released just before SIPp takes it).
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// SIPp with its built-in scenario `scenario` against `target`, bounded in calls and time.
pub fn sipp(args: &[&str]) -> Child {
    Command::new("sipp")
        .args(args)
        .args(["-timeout", "20", "-nostdin"])
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits for SIPp's exit code (0: every call succeeded), killing it after `within`.
pub fn wait_sipp(mut child: Child, within: Duration) -> i32 {
    let end = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            return -1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

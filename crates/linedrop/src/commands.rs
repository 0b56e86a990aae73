//! The client subcommands: one request (or a short poll) each, output one line per item.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::client::Target;
use crate::Command;

/// Parses `5s`, `500ms`, `2m`, `1h` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 5s, 500ms, 2m)"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("unknown unit {unit:?} in {s:?} (ms, s, m, h)")),
    };
    Ok(Duration::from_secs_f64(secs))
}

pub fn run(t: &Target, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve { .. } | Command::BenchDial(_) => {
            unreachable!("serve and bench-dial are not client commands")
        }
        Command::Call { uri, line, hold } => call(t, &uri, line, hold),
        Command::Calls => {
            let v = t.request("GET", "/v1/calls", None)?;
            for c in v["calls"].as_array().into_iter().flatten() {
                println!("{}", call_line(c));
            }
            Ok(())
        }
        Command::Show { id } => print_json(&t.request("GET", &format!("/v1/calls/{id}"), None)?),
        Command::Accept { id } => act(t, id, "accept", None),
        Command::Answer { id } => act(t, id, "answer", None),
        Command::Reject { id, status } => {
            act(t, id, "reject", status.map(|s| json!({"sip_status": s})))
        }
        Command::Drop { id, text } => act(t, id, "drop", text.map(|x| json!({"text": x}))),
        Command::Release { id, drop } => {
            let q = if drop { "?drop=true" } else { "" };
            t.request("DELETE", &format!("/v1/calls/{id}{q}"), None)?;
            println!("released {id}");
            Ok(())
        }
        Command::Watch { since } => crate::watch::run(t, since),
        Command::Records {
            json: as_json,
            limit,
            origin,
            cause,
        } => {
            let mut q = format!("/v1/records?limit={limit}");
            for (k, v) in [("origin", origin), ("cause", cause)] {
                if let Some(v) = v {
                    q.push_str(&format!("&{k}={v}"));
                }
            }
            let v = t.request("GET", &q, None)?;
            if as_json {
                return print_json(&v);
            }
            println!(
                "{:>8}  {:<24}  {:<8}  {:<9}  {:<8}  {:<14}  {:>6}  {:>8}  REMOTE",
                "ID", "CREATED", "DIR", "STATE", "ORIGIN", "CAUSE", "STATUS", "TALK_MS"
            );
            for r in v["records"].as_array().into_iter().flatten() {
                let term = &r["termination"];
                println!(
                    "{:>8}  {:<24}  {:<8}  {:<9}  {:<8}  {:<14}  {:>6}  {:>8}  {}",
                    r["id"],
                    s(&r["created_at"]),
                    s(&r["direction"]),
                    s(&r["state"]),
                    s(&term["origin"]),
                    s(&term["cause"]),
                    s(&term["sip_status"]),
                    s(&r["talk_ms"]),
                    s(&r["remote"]),
                );
            }
            Ok(())
        }
    }
}

/// A JSON value as a bare string (`-` for null).
fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(x) => x.clone(),
        other => other.to_string(),
    }
}

fn call_line(c: &Value) -> String {
    let term = &c["termination"];
    let end = if term.is_null() {
        String::new()
    } else {
        format!("  {}/{}", s(&term["origin"]), s(&term["cause"]))
    };
    format!(
        "{}  {}  {}  {} -> {}{}",
        c["id"],
        s(&c["state"]),
        s(&c["direction"]),
        s(&c["local"]),
        s(&c["remote"]),
        end
    )
}

fn print_json(v: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn act(t: &Target, id: u64, verb: &str, body: Option<Value>) -> anyhow::Result<()> {
    let v = t.request("POST", &format!("/v1/calls/{id}/{verb}"), body.as_ref())?;
    println!("{}", call_line(&v));
    Ok(())
}

/// Polls a call until `done` says so, or the deadline.
fn wait(
    t: &Target,
    id: u64,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let end = Instant::now() + within;
    loop {
        let c = t.request("GET", &format!("/v1/calls/{id}"), None)?;
        if done(&c) {
            return Ok(c);
        }
        if Instant::now() > end {
            bail!("call {id} still {} after {within:?}", s(&c["state"]));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn call(t: &Target, uri: &str, line: Option<String>, hold: Option<Duration>) -> anyhow::Result<()> {
    let mut body = json!({"to": uri});
    if let Some(l) = line {
        body["line"] = json!(l);
    }
    let c = t.request("POST", "/v1/calls", Some(&body))?;
    let id = c["id"]
        .as_u64()
        .context("the API answered without a call id")?;
    println!("{}", call_line(&c));
    let Some(hold) = hold else { return Ok(()) };
    let ended = |c: &Value| matches!(c["state"].as_str(), Some("disconnected" | "idle"));
    let c = wait(t, id, Duration::from_secs(120), |c| {
        ended(c) || c["state"] == "connected"
    })?;
    if c["state"] == "connected" {
        println!("{id} connected; holding {hold:?}");
        std::thread::sleep(hold);
        let c = t.request("GET", &format!("/v1/calls/{id}"), None)?;
        if !ended(&c) {
            t.request("POST", &format!("/v1/calls/{id}/drop"), None)?;
        }
    }
    let c = wait(t, id, Duration::from_secs(120), |c| c["state"] == "idle")?;
    println!("{}", call_line(&c));
    t.request("DELETE", &format!("/v1/calls/{id}"), None)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("5 parsecs").unwrap_err().contains("unit"));
        assert!(parse_duration("soon").is_err());
    }
}

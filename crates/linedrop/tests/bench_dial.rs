//! `linedrop bench-dial` end to end against SIPp's built-in `uas`: every call placed
//! connects, is dropped by us (origin local) and has its completed record; the ledger is
//! quiescent at the end.
#![allow(clippy::unwrap_used)]

mod common;
use common::have_sipp;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use linedrop_core::Origin;
use linedrop_store::{RecordQuery, SqliteStore, Store};

const CALLS: u64 = 5;

/// The value of `key=` in the dialer's summary line.
fn field(line: &str, key: &str) -> String {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
        .to_owned()
}

#[test]
fn bench_dial_places_holds_drops_and_records_every_call_against_sipp() {
    if !have_sipp() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let port = port.to_string();
    // SIPp exits 0 by itself once CALLS calls have completed successfully.
    let mut uas = Command::new("sipp")
        .args(["-sn", "uas", "-i", "127.0.0.1", "-p", &port, "-t", "u1"])
        .args(["-m", &CALLS.to_string(), "-timeout", "20", "-nostdin"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // SIPp binds before it reads anything; wait until the port is taken.
    let end = Instant::now() + Duration::from_secs(10);
    while std::net::UdpSocket::bind(format!("127.0.0.1:{port}")).is_ok() {
        assert!(Instant::now() < end, "SIPp never bound its port");
        std::thread::sleep(Duration::from_millis(20));
    }

    let db = dir.path().join("records.db");
    let out = Command::new(env!("CARGO_BIN_EXE_linedrop"))
        .arg("--db")
        .arg(&db)
        .args([
            "bench-dial",
            "--to",
            &format!("sip:service@127.0.0.1:{port}"),
        ])
        .args([
            "--calls",
            &CALLS.to_string(),
            "--rate",
            "20",
            "--hold-ms",
            "100",
        ])
        .args(["--t1-ms", "20", "--t4-ms", "100", "--quiesce-s", "20"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("bench-dial:"))
        .unwrap_or_else(|| {
            panic!(
                "no summary: {stdout} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert!(out.status.success(), "{line}");
    for (key, want) in [
        ("placed", CALLS.to_string()),
        ("connected", CALLS.to_string()),
        ("failed", "0".into()),
        ("records", CALLS.to_string()),
        ("quiescent", "true".into()),
    ] {
        assert_eq!(field(line, key), want, "{key} in {line}");
    }
    // T1 is 20 ms (so the transactions' linger, 64·T1, ends quickly): a stall of a loaded
    // machine past it retransmits a request or two, which is SIP doing its job (a CI run
    // saw 1). A transaction that kept retransmitting after its answer would do it in
    // every call.
    let retransmissions: u64 = field(line, "retransmissions").parse().unwrap();
    assert!(
        retransmissions < CALLS,
        "retransmissions in every call: {line}"
    );

    let status = uas.wait().unwrap();
    assert_eq!(status.code(), Some(0), "SIPp's uas saw a failed call");
    let records = SqliteStore::open(&db)
        .unwrap()
        .query(&RecordQuery {
            limit: 100,
            ..RecordQuery::default()
        })
        .unwrap()
        .records;
    assert_eq!(records.len() as u64, CALLS);
    for r in records {
        assert!(r.completed, "{r:?}");
        assert!(r.talk_duration.is_some(), "never connected: {r:?}");
        assert_eq!(r.termination.unwrap().origin, Origin::Local);
    }
}

//! The real binary as an operator runs it: exit codes for bad configuration and busy ports,
//! SIGTERM during live calls (every call ends with origin shutdown and has a complete
//! record), and kill -9 followed by a restart (every call still gets a record).
#![allow(clippy::unwrap_used)]

mod common;
use common::have_sipp;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use linedrop_core::{CallId, Origin};
use linedrop_store::{RecordQuery, SqliteStore, Store};

const TOKEN: &str = "process-test-token-0123";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_linedrop")
}

fn config(dir: &Path, udp: &str, api: &str) -> PathBuf {
    let text = format!(
        "[sip]\nudp = \"{udp}\"\nt1_ms = 50\ntimer_d_ms = 3200\n[api]\nlisten = \"{api}\"\n[store]\npath = \"{}\"\n\
         [shutdown]\ndeadline_ms = 5000\n\
         [[lines]]\nname = \"auto\"\naddress = \"sip:auto@127.0.0.1\"\nbehaviour = \"answer\"\n\
         [[lines]]\nname = \"out\"\naddress = \"sip:out@127.0.0.1\"\n\
         [[apps]]\nname = \"ops\"\ntoken = \"{TOKEN}\"\nowner = [\"out\"]\nmonitor = [\"auto\"]\n",
        dir.join("records.db").display()
    );
    let path = dir.join("linedrop.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts `linedrop serve` and reads the SIP and API addresses it prints.
fn serve(config: &Path) -> (Child, String, String) {
    serve_logging_to(config, Stdio::null())
}

/// [`serve`], with the daemon's log (its standard error) going to `log`.
fn serve_logging_to(config: &Path, log: impl Into<Stdio>) -> (Child, String, String) {
    let mut child = Command::new(bin())
        .args(["serve", "--config"])
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "linedrop: SIP on udp:127.0.0.1:PORT, API on http://127.0.0.1:PORT"
    let sip = line
        .split("udp:")
        .nth(1)
        .unwrap()
        .split([',', ' '])
        .next()
        .unwrap()
        .to_owned();
    let api = line.split("http://").nth(1).unwrap().trim().to_owned();
    (child, sip, api)
}

fn ledger(api: &str) -> serde_json::Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent
        .get(format!("http://{api}/v1/ledger"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
}

/// SIPp placing `calls` long calls to the auto-answer line, all up at once.
fn long_calls(sip: &str, calls: u32) -> Child {
    Command::new("sipp")
        .args([
            "-sn",
            "uac",
            sip,
            "-s",
            "auto",
            "-m",
            &calls.to_string(),
            "-l",
            &calls.to_string(),
        ])
        .args(["-r", "50", "-d", "60000", "-timeout", "30", "-nostdin"])
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_connected(api: &str, n: u64) {
    let end = Instant::now() + Duration::from_secs(15);
    while ledger(api)["calls"]["connected"].as_u64() != Some(n) {
        assert!(
            Instant::now() < end,
            "calls did not connect: {}",
            ledger(api)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<i32> {
    let end = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code();
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn all_records(db: &Path) -> Vec<linedrop_store::Record> {
    let store = SqliteStore::open(db).unwrap();
    store
        .query(&RecordQuery {
            limit: 1000,
            ..RecordQuery::default()
        })
        .unwrap()
        .records
}

#[test]
fn a_bad_config_or_a_busy_port_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[sip]\nudpp = \"127.0.0.1:0\"\n").unwrap();
    let out = Command::new(bin())
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("udpp"));

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let path = config(dir.path(), "127.0.0.1:0", &format!("127.0.0.1:{port}"));
    let out = Command::new(bin())
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("api.listen") && err.contains(&port.to_string()),
        "{err}"
    );
}

#[test]
fn sigterm_during_live_calls_ends_each_with_origin_shutdown_and_loses_no_record() {
    if !have_sipp() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("stderr.log");
    let (mut daemon, sip, api) = serve_logging_to(
        &config(dir.path(), "127.0.0.1:0", "127.0.0.1:0"),
        std::fs::File::create(&log_path).unwrap(),
    );
    let mut sipp = long_calls(&sip, 5);
    wait_connected(&api, 5);
    let pid = daemon.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert_eq!(
        wait_exit(&mut daemon, Duration::from_secs(15)),
        Some(0),
        "a graceful stop exits 0"
    );
    let _ = sipp.kill();
    let _ = sipp.wait();
    let records = all_records(&dir.path().join("records.db"));
    assert_eq!(records.len(), 5);
    for r in &records {
        assert!(r.completed, "{r:?}");
        let t = r.termination.as_ref().unwrap();
        assert_eq!(
            (t.origin, t.cause.as_str(), t.wire.as_str()),
            (Origin::Shutdown, "shutdown", "bye")
        );
    }
    // Each end is logged once, when its record is durable: the last commits of the stop
    // included.
    let log = std::fs::read_to_string(&log_path).unwrap();
    let ends: Vec<&str> = log.lines().filter(|l| l.contains("call ended")).collect();
    assert_eq!(ends.len(), 5, "{log}");
    for r in &records {
        let call = format!(
            "call ended call={} origin=\"shutdown\" cause=\"shutdown\"",
            r.id.0
        );
        assert_eq!(
            ends.iter().filter(|l| l.contains(&call)).count(),
            1,
            "{log}"
        );
    }
}

/// The graceful drain under load: SIPp keeps placing calls at 100 a second (each held
/// 1.5 s, then hung up by SIPp) when SIGTERM arrives. Every call the daemon ever created
/// has exactly one completed record (ids without gaps), the calls live at the signal end
/// with origin `shutdown`, the others with SIPp's BYE (origin `remote`), and the daemon
/// exits 0 within its deadline.
#[test]
fn sigterm_under_load_ends_every_live_call_with_shutdown_and_loses_no_record() {
    if !have_sipp() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The daemon's log, shown if a record is left open (a drain past its deadline says so).
    let log = dir.path().join("daemon.log");
    let (mut daemon, sip, api) = serve_logging_to(
        &config(dir.path(), "127.0.0.1:0", "127.0.0.1:0"),
        std::fs::File::create(&log).unwrap(),
    );
    let mut sipp = Command::new("sipp")
        .args(["-sn", "uac", &sip, "-s", "auto", "-m", "900", "-l", "300"])
        .args(["-r", "100", "-d", "1500", "-timeout", "60", "-nostdin"])
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Mid-run: calls are up, and some have already ended normally.
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let l = ledger(&api);
        let up = l["calls"]["connected"].as_u64().unwrap_or(0);
        let done = l["calls"]["idle"].as_u64().unwrap_or(0);
        if up >= 20 && done >= 20 {
            break;
        }
        assert!(Instant::now() < end, "no load in time: {l}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = daemon.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert_eq!(
        wait_exit(&mut daemon, Duration::from_secs(20)),
        Some(0),
        "a graceful stop exits 0"
    );
    let _ = sipp.kill();
    let _ = sipp.wait();
    let records = all_records(&dir.path().join("records.db"));
    let mut ids: Vec<u64> = records.iter().map(|r| r.id.0).collect();
    ids.sort_unstable();
    let first = ids[0];
    assert_eq!(
        ids,
        (first..first + ids.len() as u64).collect::<Vec<_>>(),
        "every call created has its record"
    );
    let (mut shutdown, mut remote) = (0, 0);
    for r in &records {
        assert!(
            r.completed,
            "{r:?}\ndaemon log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        let t = r.termination.as_ref().unwrap();
        match t.origin {
            Origin::Shutdown => shutdown += 1,
            Origin::Remote => remote += 1,
            _ => panic!("unexpected ending {t:?}"),
        }
    }
    assert!(
        shutdown >= 1 && remote >= 20,
        "shutdown {shutdown}, remote {remote}"
    );
    eprintln!(
        "{} calls: {shutdown} ended by the shutdown, {remote} by SIPp",
        records.len()
    );
}

#[test]
fn kill_9_during_live_calls_then_restart_gives_every_call_a_record() {
    if !have_sipp() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "127.0.0.1:0", "127.0.0.1:0");
    let (mut daemon, sip, api) = serve(&cfg);
    let mut sipp = long_calls(&sip, 4);
    wait_connected(&api, 4);
    // Records are written when calls are created; wait until they are durable (in the
    // journal: the store may get them only at the restart's replay), then kill.
    let end = Instant::now() + Duration::from_secs(10);
    while ledger(&api)["records"]["committed"].as_u64() < Some(4) {
        assert!(Instant::now() < end);
        std::thread::sleep(Duration::from_millis(20));
    }
    daemon.kill().unwrap(); // SIGKILL
    daemon.wait().unwrap();
    let _ = sipp.kill();
    let _ = sipp.wait();
    let before = all_records(&dir.path().join("records.db"));
    assert!(before.len() <= 4, "{before:?}");
    assert!(
        before.iter().all(|r| !r.completed),
        "nothing ended before the kill"
    );

    let (mut again, _, _) = serve(&cfg);
    let records = all_records(&dir.path().join("records.db"));
    let ids: Vec<CallId> = records.iter().map(|r| r.id).collect();
    assert_eq!(records.len(), 4, "{ids:?}");
    for r in records {
        assert!(r.completed);
        let t = r.termination.unwrap();
        assert_eq!((t.origin, t.cause.as_str()), (Origin::Network, "restart"));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &again.id().to_string()])
        .status();
    assert_eq!(wait_exit(&mut again, Duration::from_secs(10)), Some(0));
}

/// The CLI as a person uses it: one command to call a phone, hold and hang up; the
/// records afterwards; and an error as one line with a non-zero exit code.
#[test]
fn the_cli_calls_a_phone_holds_hangs_up_and_reads_the_record() {
    if !have_sipp() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "127.0.0.1:0", "127.0.0.1:0");
    let (mut daemon, _sip, api) = serve(&cfg);
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut phone = Command::new("sipp")
        .args([
            "-sn",
            "uas",
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-m",
            "1",
            "-timeout",
            "20",
            "-nostdin",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let cli = |args: &[&str]| {
        Command::new(bin())
            .arg("--config")
            .arg(&cfg)
            .arg("--api")
            .arg(format!("http://{api}"))
            .args(args)
            .output()
            .unwrap()
    };
    // SIPp binds its port a moment after it starts: retry the call until it answers.
    let uri = format!("sip:service@127.0.0.1:{port}");
    let end = Instant::now() + Duration::from_secs(10);
    let out = loop {
        let out = cli(&["call", &uri, "--hold", "300ms"]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if text.contains("connected; holding") || Instant::now() > end {
            break out;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.lines().last().unwrap().contains("idle") && text.contains("local/normal"),
        "{text}"
    );
    assert_eq!(
        wait_exit(&mut phone, Duration::from_secs(10)),
        Some(0),
        "the phone saw a clean call"
    );

    let out = cli(&["records"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        table
            .lines()
            .any(|l| l.contains("outbound") && l.contains("local") && l.contains("normal")),
        "{table}"
    );
    let out = cli(&["records", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["records"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["termination"]["wire"] == "bye"));

    let out = cli(&["show", "999999"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("invalid_handle"), "{err}");
    let _ = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    assert_eq!(wait_exit(&mut daemon, Duration::from_secs(10)), Some(0));
}

/// A second signal during a slow drain exits at once: here the drain waits on a call to a
/// peer that never answers (no CANCEL before a provisional; Timer B bounds it).
#[test]
fn a_second_signal_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut daemon, _sip, api) = serve(&config(dir.path(), "127.0.0.1:0", "127.0.0.1:0"));
    // A peer that reads nothing and answers nothing (and, bound, draws no ICMP errors).
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let body = format!(r#"{{"to":"sip:nobody@127.0.0.1:{port}"}}"#);
    let resp = agent
        .post(format!("http://{api}/v1/calls"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("Content-Type", "application/json")
        .send(body.as_str())
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let pid = daemon.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    // The first signal starts a drain that cannot finish for 64·T1 = 3.2 s.
    assert_eq!(
        wait_exit(&mut daemon, Duration::from_millis(300)),
        None,
        "still draining"
    );
    let second = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert_eq!(wait_exit(&mut daemon, Duration::from_secs(2)), Some(130));
    assert!(second.elapsed() < Duration::from_secs(2));
    drop(silent);
}

//! SIPp as a child process: started on its own port, bounded in time, killed when dropped,
//! and its message trace printed when a test fails. Its logs go to
//! `$TMPDIR/linedrop-interop/<scenario>-<u1|t1>-<pid>-<n>/` and are removed after a passing run
//! unless `LINEDROP_KEEP_SIPP_LOGS` is set.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::process::{Child, Command};

use super::Wire;

/// Longest any one message may take to arrive at SIPp before it fails the call.
const RECV_TIMEOUT_MS: u32 = 8_000;
/// SIPp's own overall bound; the test's waits are shorter, so SIPp is never what hangs.
const SIPP_TIMEOUT_S: u32 = 20;
/// How long SIPp may take to exit once its call is done.
const EXIT_WITHIN: Duration = Duration::from_secs(15);

/// Whether `sipp` can be run. Tests print a skip line and return when it cannot: CI
/// installs it (`.ci/run`), a developer may not have.
pub fn installed() -> bool {
    let found = std::process::Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        eprintln!("skipped: sipp not installed (apt-get install sip-tester)");
    }
    found
}

/// One SIPp run.
pub struct Sipp {
    /// The process; killed if still running when this is dropped.
    child: Child,
    /// Where its logs go.
    logs: PathBuf,
    /// Where it listens (its SIP port on 127.0.0.1).
    pub addr: SocketAddr,
}

/// How to run a scenario.
pub struct Run<'a> {
    /// Scenario file name in `tests/sipp/`, without `.xml`.
    pub scenario: &'a str,
    /// UDP or TCP.
    pub wire: Wire,
    /// `-d`: the scenario's `<pause/>` (ring or talk time), in ms.
    pub pause_ms: u32,
}

impl Run<'_> {
    /// SIPp as the caller: it sends its INVITE to `target` from a port of its own.
    pub async fn call(&self, target: SocketAddr) -> Sipp {
        self.start(Some(target)).await
    }

    /// SIPp as the callee: returns once it listens, on a port of its own.
    pub async fn listen(&self) -> Sipp {
        self.start(None).await
    }

    /// Starts SIPp on a free port and waits until it is bound (UDP) or listening (TCP).
    /// SIPp's own choice (`-p 0`) races with parallel runs over TCP, and so does ours
    /// (the port may be taken between our probe and SIPp's bind): SIPp then exits at once,
    /// before sending anything, and is started again on another port.
    async fn start(&self, target: Option<SocketAddr>) -> Sipp {
        for _ in 0..5 {
            let mut sipp = self.spawn(target, free_port());
            if sipp.wait_listening(self.wire).await {
                return sipp;
            }
            let errors = std::fs::read_to_string(sipp.logs.join("errors.log")).unwrap_or_default();
            assert!(
                errors.contains("in use"),
                "SIPp did not start:\n{}",
                sipp.dump()
            );
        }
        panic!("SIPp could not bind a port in 5 tries");
    }

    fn spawn(&self, target: Option<SocketAddr>, port: u16) -> Sipp {
        let logs = log_dir(self.scenario, self.wire);
        let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/sipp")
            .join(format!("{}.xml", self.scenario));
        let mut cmd = Command::new("sipp");
        if let Some(target) = target {
            cmd.arg(target.to_string());
        }
        cmd.arg("-sf").arg(&scenario);
        cmd.args([
            "-i",
            "127.0.0.1",
            "-mi",
            "127.0.0.1",
            "-s",
            "service",
            "-m",
            "1",
            "-nostdin",
        ]);
        cmd.args(["-p", &port.to_string()]);
        cmd.args(["-t", self.wire.sipp_flag()]);
        cmd.args(["-d", &self.pause_ms.to_string()]);
        cmd.args(["-recv_timeout", &RECV_TIMEOUT_MS.to_string()]);
        cmd.args(["-timeout", &format!("{SIPP_TIMEOUT_S}s")]);
        // Answer in-dialog OPTIONS/UPDATE/... with 200 rather than failing the call.
        cmd.arg("-aa");
        cmd.arg("-trace_msg")
            .arg("-message_file")
            .arg(logs.join("messages.log"));
        cmd.arg("-trace_err")
            .arg("-error_file")
            .arg(logs.join("errors.log"));
        cmd.current_dir(&logs);
        cmd.stdin(Stdio::null());
        cmd.stdout(file(&logs, "screen.log"));
        cmd.stderr(file(&logs, "stderr.log"));
        cmd.kill_on_drop(true);
        let child = cmd.spawn().expect("sipp runs");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        Sipp { child, logs, addr }
    }
}

impl Sipp {
    /// The URI linedrop dials to reach this SIPp.
    pub fn uri(&self, wire: Wire) -> String {
        match wire {
            Wire::Udp => format!("sip:service@{}", self.addr),
            Wire::Tcp => format!("sip:service@{};transport=tcp", self.addr),
        }
    }

    /// Waits for SIPp to exit and asserts it exited 0: every call of its scenario
    /// succeeded, as it sees it.
    pub async fn expect_success(&mut self) {
        let status = tokio::time::timeout(EXIT_WITHIN, self.child.wait()).await;
        let code = match status {
            Ok(Ok(s)) => s.code(),
            Ok(Err(e)) => panic!("waiting for SIPp: {e}"),
            Err(_) => panic!("SIPp still running after {EXIT_WITHIN:?}\n{}", self.dump()),
        };
        assert_eq!(
            code,
            Some(0),
            "SIPp failed (exit {code:?})\n{}",
            self.dump()
        );
    }

    /// Polls /proc until SIPp's port is bound (UDP) or listening (TCP); false if SIPp exits
    /// first. Reading /proc never touches the port, so it cannot race SIPp's bind.
    async fn wait_listening(&mut self, wire: Wire) -> bool {
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        for _ in 0..500 {
            tick.tick().await;
            if listening(self.addr.port(), wire) {
                return true;
            }
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
        }
        panic!("SIPp did not listen within 5 s\n{}", self.dump());
    }

    /// SIPp's logs, for a failure message.
    pub fn dump(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.logs.join(name)).unwrap_or_default();
        format!(
            "--- SIPp logs in {} ---\n--- errors ---\n{}\n--- stderr ---\n{}\n--- messages ---\n{}",
            self.logs.display(),
            read("errors.log"),
            read("stderr.log"),
            read("messages.log"),
        )
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.dump());
        } else if std::env::var_os("LINEDROP_KEEP_SIPP_LOGS").is_none() {
            // Logs are kept only for failures (or when asked).
            let _ = std::fs::remove_dir_all(&self.logs);
        }
    }
}

/// A port free on 127.0.0.1 for both UDP and TCP right now (the OS's next ephemeral one).
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP probe");
        let port = udp.local_addr().expect("probe address").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Whether /proc shows a UDP socket bound to, or a TCP socket listening on, 127.0.0.1:port.
fn listening(port: u16, wire: Wire) -> bool {
    let (table, state) = match wire {
        Wire::Udp => ("/proc/net/udp", None),
        Wire::Tcp => ("/proc/net/tcp", Some("0A")),
    };
    let local = format!("0100007F:{port:04X}");
    std::fs::read_to_string(table).is_ok_and(|t| {
        t.lines().skip(1).any(|line| {
            let mut f = line.split_whitespace().skip(1);
            let addr = f.next();
            let st = f.nth(1);
            addr == Some(local.as_str()) && state.is_none_or(|s| st == Some(s))
        })
    })
}

fn log_dir(scenario: &str, wire: Wire) -> PathBuf {
    static RUN: AtomicU32 = AtomicU32::new(0);
    let n = RUN.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join("linedrop-interop").join(format!(
        "{scenario}-{}-{}-{n}",
        wire.sipp_flag(),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("create the SIPp log dir");
    dir
}

fn file(dir: &Path, name: &str) -> Stdio {
    std::fs::File::create(dir.join(name)).map_or(Stdio::null(), Stdio::from)
}

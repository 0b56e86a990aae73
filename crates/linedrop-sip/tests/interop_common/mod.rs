//! Shared by the SIPp interop tests: a linedrop engine on a real driver (127.0.0.1, port 0,
//! short timers) with one test app owning one line, and SIPp as the peer ([`sipp`]).
//!
//! A test reacts to the engine's events as an app would (answer, drop), then asserts the
//! call's record, SIPp's verdict, and that after release the ledger returns to zero. Every
//! wait has a deadline and fails with what was seen so far (and SIPp's message trace).

#![allow(dead_code)] // Each test binary uses its own subset.

pub mod sipp;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use linedrop_core::{
    AppEvent, AppId, CallHandle, CallId, CallInfo, CallState, Cause, Engine, EngineConfig,
    EventKind, Ledger, LineConfig, LineId, LinePolicy, Now, Origin, Privilege, Release, WireEnd,
};
use linedrop_sip::driver::{self, ChannelOutputs, DriverConfig, DriverStats, Handle, Output};
use linedrop_sip::ua::{SipConfig, SipProvider};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long any one expected thing may take. SIPp's scenarios run in about a second.
const WAIT: Duration = Duration::from_secs(10);
/// T1 for linedrop: short, so that 64·T1 (transaction and tombstone lifetimes) is 3.2 s.
const T1: Duration = Duration::from_millis(50);
/// Timer D: after a non-2xx final response to our INVITE (486, or 487 after our CANCEL),
/// the INVITE client transaction absorbs retransmissions this long over UDP. RFC 3261 asks
/// at least 32 s of a deployment; the tests scale it with their short T1 like 64·T1.
const TIMER_D_UDP: Duration = Duration::from_millis(50 * 64);

/// The transport a test runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

impl Wire {
    /// SIPp's `-t` value.
    pub fn sipp_flag(self) -> &'static str {
        match self {
            Wire::Udp => "u1",
            Wire::Tcp => "t1",
        }
    }
}

/// What the line and the driver are set up with.
#[derive(Debug, Clone, Copy, Default)]
pub struct Setup {
    /// The line's limits (default: the core's).
    pub policy: Option<LinePolicy>,
    /// The driver's TCP idle timeout (default: 1 s).
    pub tcp_idle_timeout: Option<Duration>,
}

/// The engine under test, running on its driver in this test's runtime.
pub struct Linedrop {
    /// Runs code on the engine task.
    pub handle: Handle,
    /// The test app.
    pub app: AppId,
    /// Its line, `sip:service@127.0.0.1:<udp port>`.
    pub line: LineId,
    /// Where the driver listens for this test's transport.
    pub addr: SocketAddr,
    /// This test's transport.
    wire: Wire,
    /// The driver's counters.
    pub stats: Arc<DriverStats>,
    /// Events and records, as the driver hands them out.
    outputs: mpsc::UnboundedReceiver<Output>,
    /// Received and not yet claimed by a wait.
    pending: VecDeque<Output>,
    /// Everything received, for failure messages.
    seen: Vec<String>,
    /// Resolving it stops the driver.
    stop: Option<oneshot::Sender<()>>,
    /// The driver task; yields the engine back.
    task: Option<JoinHandle<Engine<SipProvider>>>,
}

impl Linedrop {
    /// Binds port 0 (UDP, plus TCP for `wire` = TCP), builds the engine and starts the driver.
    pub async fn start(wire: Wire, setup: Setup) -> Self {
        let mut cfg = DriverConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)));
        if wire == Wire::Tcp {
            cfg.tcp = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        }
        cfg.tcp_idle_timeout = setup.tcp_idle_timeout.unwrap_or(Duration::from_secs(1));
        let sockets = driver::bind(&cfg).expect("bind 127.0.0.1:0");
        let udp = sockets.udp_addr().expect("udp address");
        let tcp = sockets.tcp_addr().expect("tcp address");
        let stats = sockets.stats();
        let mut sip = SipConfig::new(udp);
        sip.tcp_addr = tcp;
        sip.timers.t1 = T1;
        sip.timers.t2 = T1 * 8;
        sip.timers.t4 = T1 * 10;
        sip.timers.d = TIMER_D_UDP;
        let ids = linedrop_core::CallIds::default();
        let provider = SipProvider::new(sip, ids.clone());
        let mut engine = Engine::new(EngineConfig { call_ids: ids }, provider);
        let mut line_cfg = LineConfig::new(format!("sip:service@{udp}"));
        if let Some(policy) = setup.policy {
            line_cfg.policy = policy;
        }
        let line = engine.add_line(line_cfg).expect("add line");
        let app = engine.open_app("interop");
        engine
            .open_line(app, line, Privilege::Owner)
            .expect("open line");

        let (handle, commands) = driver::channel(64);
        let (outputs, rx) = ChannelOutputs::new();
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(driver::run(sockets, engine, commands, outputs, shutdown));
        Self {
            handle,
            app,
            line,
            addr: tcp.filter(|_| wire == Wire::Tcp).unwrap_or(udp),
            wire,
            stats,
            outputs: rx,
            pending: VecDeque::new(),
            seen: Vec::new(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Runs `f` on the engine task.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine<SipProvider>, Now) -> T + Send + 'static,
    ) -> T {
        self.handle.call(f).await.expect("driver running")
    }

    /// Dials `uri` from the test line; returns the owner handle.
    pub async fn dial(&self, uri: String) -> CallHandle {
        let (app, line) = (self.app, self.line);
        self.call(move |e, now| e.dial(now, app, line, &uri))
            .await
            .expect("dial")
    }

    /// Waits for the first output `pick` accepts (already received ones first).
    pub async fn wait_for<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&Output) -> Option<T>,
    ) -> T {
        if let Some(i) = self.pending.iter().position(|o| pick(o).is_some()) {
            let o = self.pending.remove(i).expect("index just found");
            return pick(&o).expect("matched before");
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.outputs.recv()).await;
            let Ok(Some(o)) = next else {
                let wire = self.wire;
                panic!(
                    "[{wire:?}] no {what} within {WAIT:?}; outputs so far:\n{}",
                    self.history()
                );
            };
            self.seen.push(format!("{o:?}"));
            match pick(&o) {
                Some(t) => return t,
                None => self.pending.push_back(o),
            }
        }
    }

    /// Waits for a new inbound call to be offered to the app.
    pub async fn offered(&mut self) -> AppEvent {
        self.wait_for("offered call", |o| match o {
            Output::Event(
                e @ AppEvent {
                    kind:
                        EventKind::NewCall {
                            state: CallState::Offering,
                            ..
                        },
                    ..
                },
            ) => Some(e.clone()),
            _ => None,
        })
        .await
    }

    /// Waits for `call` to enter `state`.
    pub async fn reached(&mut self, call: CallId, state: CallState) {
        self.wait_for(&format!("call {call} in {state}"), |o| match o {
            Output::Event(AppEvent {
                call: c,
                kind: EventKind::State { to, .. },
                ..
            }) if c == &call && to == &state => Some(()),
            _ => None,
        })
        .await
    }

    /// Waits for the record of `call` reaching `Idle`.
    pub async fn ended(&mut self, call: CallId) -> CallInfo {
        self.wait_for(&format!("end record of call {call}"), |o| match o {
            Output::Record(r) => match &**r {
                linedrop_core::RecordUpdate::Ended(info) if info.id == call => Some(info.clone()),
                _ => None,
            },
            _ => None,
        })
        .await
    }

    /// Releases the handle, then waits (bounded) until the timers have run out and nothing
    /// is held: the ledger is quiescent.
    pub async fn release_and_quiesce(&mut self, handle: CallHandle) -> Ledger {
        self.call(move |e, now| e.release(now, handle, Release::Explicit))
            .await
            .expect("release");
        self.wait_quiescent().await
    }

    /// Waits (bounded) until the ledger is quiescent.
    pub async fn wait_quiescent(&mut self) -> Ledger {
        // Tombstones (and, over UDP, transactions) live 64·T1 = 3.2 s: allow twice that, or
        // Timer D over UDP.
        let longest = match self.wire {
            Wire::Udp => TIMER_D_UDP.max(T1 * 64 * 2),
            Wire::Tcp => T1 * 64 * 2,
        };
        let deadline = tokio::time::Instant::now() + longest + Duration::from_secs(2);
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tick.tick().await;
            let ledger = self.call(|e, _| e.ledger()).await;
            if ledger.is_quiescent() {
                return ledger;
            }
            if tokio::time::Instant::now() >= deadline {
                let wire = self.wire;
                panic!(
                    "[{wire:?}] ledger not quiescent: {ledger:#?}\noutputs:\n{}",
                    self.history()
                );
            }
        }
    }

    /// Stops the driver and returns the engine.
    pub async fn stop(mut self) -> Engine<SipProvider> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("driver started");
        task.await.expect("driver task")
    }

    fn history(&self) -> String {
        let mut s = String::new();
        for line in &self.seen {
            let _ = writeln!(s, "  {line}");
        }
        s
    }
}

impl Drop for Linedrop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("[{:?}] linedrop outputs:\n{}", self.wire, self.history());
        }
    }
}

/// Runs a case over UDP and over TCP at once (each with its own engine and SIPp), or prints
/// a skip line if SIPp is not installed. Concurrently because most of a case's time is spent
/// waiting for timers to run out, and `cargo test` runs only as many tests at once as there
/// are cores.
pub async fn over_udp_and_tcp<F: std::future::Future<Output = ()>>(case: impl Fn(Wire) -> F) {
    if !sipp::installed() {
        return;
    }
    tokio::join!(case(Wire::Udp), case(Wire::Tcp));
}

/// Asserts a call's termination: who, why, how, and the SIP status.
#[track_caller]
pub fn assert_ended(
    info: &CallInfo,
    origin: Origin,
    cause: Cause,
    wire: WireEnd,
    status: Option<u16>,
) {
    let t = info
        .termination
        .as_ref()
        .expect("an ended call has a termination");
    assert_eq!(
        (t.origin, t.cause, t.wire, t.sip_status),
        (origin, cause, wire, status),
        "termination of call {} ({}): {t:?}",
        info.id,
        info.remote
    );
    assert_eq!(info.state, CallState::Idle);
}

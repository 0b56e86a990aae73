//! The engine task: one `select!` over every input, then the drain the engine's contract
//! asks for.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::time::{Duration, Instant};

use linedrop_core::Engine;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::conns::Conns;
use super::outputs::Outputs;
use super::socket::Sockets;
use super::stats::ErrorLog;
use super::task::{earliest, Driver};
use super::tcp::{accept_loop, TcpEvent};
use super::udp::Udp;
use super::{clock, Command};
use crate::ua::SipProvider;

/// TCP events queued from the connection tasks to the engine task; a full queue makes the
/// readers wait, which is the back-pressure on a fast sender.
const TCP_EVENT_QUEUE: usize = 1024;

/// Commands (and TCP events) handled per wake-up before the outputs are flushed.
const BATCH: usize = 64;

/// The loop sleeps for timers only until points on this grid: a timer fires up to this much
/// late, and the timers due within one step share one wake-up. Every wake-up (a datagram,
/// say) also runs the timers already due, so under traffic most never need one of their
/// own. A call leaves several timers behind it (its transactions linger for RFC 3261's
/// timers I and J, up to 64·T1), each of which could wake the thread at its own
/// millisecond: a wake-up is two context switches.
/// SIP's timers tolerate a few milliseconds late: the shortest, T1 (500 ms by default), is
/// 125 steps.
const TIMER_GRID: Duration = Duration::from_millis(4);

/// The first point of the grid from `origin` at or after `at`.
fn on_grid(at: Instant, origin: Instant) -> Instant {
    let step = TIMER_GRID.as_nanos();
    let since = at.saturating_duration_since(origin).as_nanos();
    let steps = since.div_ceil(step);
    let offset = u64::try_from(steps * step).unwrap_or(u64::MAX);
    origin + Duration::from_nanos(offset)
}

/// What woke the loop.
enum Wake {
    Shutdown,
    Readable(io::Result<()>),
    Tcp(TcpEvent),
    Command(Option<Command>),
    Writable(io::Result<()>),
    Timer,
}

/// Aborts the accept loop when the driver returns, so the listener closes with it.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `engine` on `sockets` until `shutdown` resolves, then returns it.
///
/// This is the only task that touches the engine. It reads UDP directly (up to 64 datagrams
/// a wake-up, `recvmmsg(2)` on Linux), gets TCP messages and connection changes from per-connection tasks,
/// runs [`Command`]s from [`Handle`](super::Handle)s, and sleeps until the engine's (or the
/// idle sweep's, or the outputs') next deadline. After every wake-up it sends what the user
/// agent wants sent and hands events and records to `outputs`.
///
/// The loop goes on when every command sender is gone: only `shutdown` stops it. For a
/// graceful stop, [`drain`](super::drain) first.
pub async fn run(
    sockets: Sockets,
    engine: Engine<SipProvider>,
    mut commands: mpsc::Receiver<Command>,
    outputs: impl Outputs,
    shutdown: impl Future<Output = ()>,
) -> Engine<SipProvider> {
    let Sockets {
        udp,
        tcp,
        config,
        stats,
    } = sockets;
    let (tcp_tx, mut tcp_rx) = mpsc::channel(TCP_EVENT_QUEUE);
    let _accept = tcp.map(|l| AbortOnDrop(tokio::spawn(accept_loop(l, tcp_tx.clone()))));
    let mut d = Driver {
        engine,
        outputs,
        udp: Udp::new(udp),
        conns: Conns::new(config, tcp_tx),
        stats,
        errors: ErrorLog::default(),
        outputs_due: None,
    };
    let mut shutdown = pin!(shutdown);
    let mut sleep = pin!(tokio::time::sleep(std::time::Duration::ZERO));
    let mut armed: Option<Instant> = None;
    let mut commands_open = true;
    // The engine may hold outputs from before it was handed over (lines added, calls dialed).
    let start = clock::now();
    d.flush(start);
    loop {
        // The outputs' deadline is off the grid: it bounds a record's wait to be durable.
        let deadline = earliest(
            d.deadline().map(|at| on_grid(at, start.instant)),
            d.outputs_due,
        );
        if deadline != armed {
            if let Some(at) = deadline {
                sleep.as_mut().reset(at.into());
            }
            armed = deadline;
        }
        let wake = tokio::select! {
            () = &mut shutdown => Wake::Shutdown,
            r = d.udp.fd.readable() => Wake::Readable(r),
            Some(ev) = tcp_rx.recv() => Wake::Tcp(ev),
            c = commands.recv(), if commands_open => Wake::Command(c),
            r = d.udp.fd.writable(), if d.udp.has_backlog() => Wake::Writable(r),
            () = sleep.as_mut(), if armed.is_some() => Wake::Timer,
        };
        let now = clock::now();
        if !matches!(wake, Wake::Shutdown) {
            // Timers due by now run first, as they would have with a wake-up of their own.
            d.on_timer(now);
        }
        match wake {
            Wake::Shutdown => break,
            Wake::Readable(r) => d.on_readable(now, r),
            Wake::Tcp(first) => {
                d.on_tcp(now, first);
                for _ in 1..BATCH {
                    let Ok(next) = tcp_rx.try_recv() else { break };
                    d.on_tcp(now, next);
                }
            }
            Wake::Command(None) => commands_open = false,
            Wake::Command(Some(first)) => {
                first(&mut d.engine, now);
                for _ in 1..BATCH {
                    let Ok(next) = commands.try_recv() else { break };
                    next(&mut d.engine, now);
                }
            }
            Wake::Writable(r) => d.on_writable(now, r),
            // Fired (its timers ran above): re-arm from scratch even if the next deadline is
            // the same instant.
            Wake::Timer => armed = None,
        }
        d.flush(now);
    }
    d.finish();
    d.engine
}

//! `linedrop bench-dial`: a benchmark tool, hidden from the main help. It places calls
//! through the Rust API as an application embedded in the daemon would, to measure linedrop
//! as a caller (bench/run.sh `rate linedrop-out`, `cpu linedrop-out`).
//!
//! It starts the daemon's own wiring ([`linedrop_server::start`]: engine, SIP provider and
//! tokio driver, the SQLite record writer, the event hub), so what is measured is the
//! daemon as shipped; only the HTTP API is left out of the call path (it would measure HTTP
//! rather than SIP). Calls go in through the driver's [`Handle`], the same way into the
//! engine the API handlers use.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tokio::time::Instant;

use linedrop_core::{AppId, CallHandle, CallState, Hangup, LineId, Release};
use linedrop_server::config::{AppSection, LineSection};
use linedrop_server::Config;
use linedrop_sip::driver::Handle;
use linedrop_store::{SqliteStore, Store};

/// What to dial and how hard.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The destination SIP URI (e.g. sip:service@127.0.0.1:5070; add ;transport=tcp for TCP).
    #[arg(long)]
    pub to: String,
    /// How many calls to place.
    #[arg(long, default_value_t = 100)]
    pub calls: u64,
    /// Calls placed per second.
    #[arg(long, default_value_t = 10)]
    pub rate: u64,
    /// How long each call is held after it was placed before it is dropped, in ms.
    #[arg(long, default_value_t = 500)]
    pub hold_ms: u64,
    /// The local SIP address (UDP; TCP connections are opened on demand).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub sip: SocketAddr,
    /// RFC 3261 T1 in ms (quiescence comes 64·T1 after the last call).
    #[arg(long, default_value_t = 500)]
    pub t1_ms: u64,
    /// RFC 3261 T4 in ms (a BYE's transaction lingers T4 over UDP).
    #[arg(long, default_value_t = 5000)]
    pub t4_ms: u64,
    /// SO_RCVBUF/SO_SNDBUF in bytes (omit for the OS default).
    #[arg(long)]
    pub socket_buffer: Option<usize>,
    /// How long to wait at the end for the ledger to be quiescent, in seconds (0: do not
    /// wait; the records are still flushed).
    #[arg(long, default_value_t = 60)]
    pub quiesce_s: u64,
}

/// Counts of one run.
#[derive(Debug, Default)]
struct Tally {
    placed: u64,
    connected: u64,
    failed: u64,
}

/// A placed call waiting for its hold time to pass.
struct Held {
    due: Instant,
    handle: CallHandle,
}

/// One batch of engine work: the calls to place now and the held calls whose time is up.
struct Batch {
    dial: u64,
    drop: Vec<CallHandle>,
}

/// What a batch did: the new handles (or `None` for a dial the engine refused), and how many
/// of the dropped calls had connected.
struct Done {
    dialed: Vec<Option<CallHandle>>,
    connected: u64,
}

pub fn run(db: PathBuf, args: Args) -> ExitCode {
    let Some(runtime) = crate::runtime() else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(dial_all(db, args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("linedrop: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The daemon's configuration with one line and one app owning it, the API on a free port.
fn config(db: PathBuf, args: &Args) -> Config {
    let mut c = Config::default();
    c.sip.udp = args.sip;
    c.sip.t1_ms = args.t1_ms;
    c.sip.t4_ms = args.t4_ms;
    c.sip.socket_buffer = args.socket_buffer;
    c.api.listen = ([127, 0, 0, 1], 0).into();
    c.store.path = db;
    c.lines = vec![LineSection {
        name: "bench".into(),
        address: format!("sip:bench@{}", args.sip.ip()),
        ..c.default_line()
    }];
    c.apps = vec![AppSection {
        name: "bench".into(),
        token: "bench-dial-token-unused-0123".into(),
        owner: vec!["bench".into()],
        monitor: Vec::new(),
    }];
    c
}

async fn dial_all(db: PathBuf, args: Args) -> anyhow::Result<bool> {
    anyhow::ensure!(args.rate > 0, "--rate must be at least 1");
    let records_before = SqliteStore::open(&db)?.count()?;
    let running = linedrop_server::start(config(db.clone(), &args)).await?;
    let app = running
        .state
        .tokens
        .values()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no app configured"))?;
    let (app, line) = (app.id, app.owns[0]);
    let handle = running.handle.clone();

    let (tally, place_s) = place_and_drop(&handle, app, line, &args).await?;
    let quiescent = wait_quiescent(&handle, Duration::from_secs(args.quiesce_s)).await?;
    let stats = handle.call(|e, _| e.provider().stats().clone()).await?;
    let report = running.stop().await;
    let records = SqliteStore::open(&db)?.count()? - records_before;
    let achieved = tally.placed as f64 / place_s.max(1e-3);
    println!(
        "bench-dial: placed={} connected={} failed={} retransmissions={} records={} \
         place_s={place_s:.3} achieved_cps={achieved:.0} quiescent={quiescent} drained={}",
        tally.placed, tally.connected, tally.failed, stats.retransmissions, records, report.drained
    );
    Ok(tally.failed == 0
        && tally.connected == args.calls
        && (quiescent || args.quiesce_s == 0)
        && records == args.calls)
}

/// Places `calls` at `rate`, drops and releases each `hold_ms` after it was placed. Returns
/// the counts and the seconds it took to place them all (the last one counted as taking
/// 1/rate, so a run exactly on pace gives `calls / seconds == rate`).
async fn place_and_drop(
    handle: &Handle,
    app: AppId,
    line: LineId,
    args: &Args,
) -> anyhow::Result<(Tally, f64)> {
    let hold = Duration::from_millis(args.hold_ms);
    let mut tally = Tally::default();
    let mut held: VecDeque<Held> = VecDeque::new();
    let start = Instant::now();
    let mut attempted = 0u64;
    let mut last_dial = start;
    while attempted < args.calls || !held.is_empty() {
        // Asleep until the next call is due to be placed or dropped, not woken every
        // millisecond: a tick that finds nothing to do is the tool's cost, not linedrop's,
        // and at low rates it was most of what the tool's own thread did.
        let next_dial = (attempted < args.calls).then(|| start + dial_offset(attempted, args.rate));
        let next_drop = held.front().map(|h| h.due);
        if let Some(wake) = next_dial.into_iter().chain(next_drop).min() {
            tokio::time::sleep_until(wake).await;
        }
        let now = Instant::now();
        // Calls due by now at this rate (SIPp's pacing: catch up after a late wake-up).
        let due = calls_due(now - start, args.rate);
        let dial = due.min(args.calls).saturating_sub(attempted);
        let mut drop = Vec::new();
        while held.front().is_some_and(|h| h.due <= now) {
            drop.extend(held.pop_front().map(|h| h.handle));
        }
        if dial == 0 && drop.is_empty() {
            continue;
        }
        let to = args.to.clone();
        let batch = Batch { dial, drop };
        let done = handle
            .call(move |e, now| {
                let mut connected = 0;
                for h in batch.drop {
                    if e.info(h).is_ok_and(|i| i.state == CallState::Connected) {
                        connected += 1;
                    }
                    // The local BYE (or CANCEL, if it never connected), then the release.
                    let _ = e.drop_call(now, h, Hangup::default());
                    let _ = e.release(now, h, Release::DropFirst);
                }
                let dialed = (0..batch.dial)
                    .map(|_| e.dial(now, app, line, &to).ok())
                    .collect();
                Done { dialed, connected }
            })
            .await?;
        tally.connected += done.connected;
        attempted += dial;
        if dial > 0 {
            last_dial = now;
        }
        for h in done.dialed {
            match h {
                Some(handle) => {
                    tally.placed += 1;
                    held.push_back(Held {
                        due: now + hold,
                        handle,
                    });
                }
                None => tally.failed += 1,
            }
        }
    }
    tally.failed += tally.placed - tally.connected;
    let place_s = (last_dial - start).as_secs_f64() + 1.0 / args.rate as f64;
    Ok((tally, place_s))
}

/// How many calls are due `elapsed` into a run at `rate` per second: call `k` (from 0) is
/// due at `k / rate` seconds. In integer nanoseconds, so a wake-up at [`dial_offset`]`(k)`
/// always finds call `k` due (no float rounding to spin on).
fn calls_due(elapsed: Duration, rate: u64) -> u64 {
    (elapsed.as_nanos() * u128::from(rate) / 1_000_000_000) as u64 + 1
}

/// When call `k` (from 0) is due, from the start of a run at `rate` per second.
fn dial_offset(k: u64, rate: u64) -> Duration {
    let nanos = (u128::from(k) * 1_000_000_000).div_ceil(u128::from(rate));
    Duration::from_nanos(nanos as u64)
}

/// Polls the ledger until it is quiescent or `within` has passed.
async fn wait_quiescent(handle: &Handle, within: Duration) -> anyhow::Result<bool> {
    let end = Instant::now() + within;
    loop {
        if handle.call(|e, _| e.ledger().is_quiescent()).await? {
            return Ok(true);
        }
        if Instant::now() >= end {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_call_is_due_at_its_own_offset_and_not_before() {
        for rate in [1, 3, 7, 50, 999, 1000, 3333] {
            for k in 0..5000 {
                let at = dial_offset(k, rate);
                assert_eq!(calls_due(at, rate), k + 1, "rate {rate} call {k}");
                if !at.is_zero() {
                    assert_eq!(calls_due(at - Duration::from_nanos(1), rate), k);
                }
            }
        }
    }
}

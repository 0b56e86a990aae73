//! `linedrop-soak`: runs the soak (see the library docs) and prints its figures.
//!
//! `linedrop-soak [--calls N] [--seed S] [--loss P] [--window-s W] [--runs R] [--db DIR] [--tcp]`
//! (defaults: 20000 calls, seed 7, loss 0.1, window calls/10 s, 2 measured runs). The resident set is read
//! from /proc/self/statm at the start, after a first run of the whole workload (which
//! settles the allocator's arenas, SQLite's and the code pages), and after a second,
//! identical run, and after each further run: a leak shows as growth run over run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use linedrop_soak::{run, Report, SoakConfig};

/// Counts live heap bytes, so the soak reports memory in use exactly: the resident set
/// also holds what the allocator keeps for reuse after a run, which is not a leak.
#[allow(unsafe_code)]
mod heap {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Bytes allocated and not yet freed.
    pub static LIVE: AtomicUsize = AtomicUsize::new(0);

    /// The system allocator, counting.
    pub struct Counting;

    // SAFETY: every call is forwarded unchanged to `System`; the counter only observes.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: same contract as the caller's.
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                LIVE.fetch_add(layout.size(), Ordering::Relaxed);
            }
            p
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: same contract as the caller's.
            unsafe { System.dealloc(ptr, layout) };
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: same contract as the caller's.
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
                LIVE.fetch_add(new_size, Ordering::Relaxed);
            }
            p
        }
    }

    /// Live heap bytes now.
    pub fn live() -> usize {
        LIVE.load(Ordering::Relaxed)
    }
}

#[global_allocator]
static ALLOCATOR: heap::Counting = heap::Counting;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let runs: usize = get("--runs").and_then(|v| v.parse().ok()).unwrap_or(2);
    let tcp = args.iter().any(|a| a == "--tcp");
    let calls: usize = get("--calls")
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let seed: u64 = get("--seed").and_then(|v| v.parse().ok()).unwrap_or(7);
    let loss: f64 = get("--loss").and_then(|v| v.parse().ok()).unwrap_or(0.1);
    let window = get("--window-s")
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs((calls / 10).max(1) as u64));
    let dir = get("--db").map(PathBuf::from).unwrap_or_else(|| {
        std::env::temp_dir().join(format!("linedrop-soak-{}", std::process::id()))
    });
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let cfg = |calls: usize, name: &str| SoakConfig {
        calls,
        seed,
        loss,
        window,
        db: dir.join(name),
        tcp,
    };
    let start = rss_kib();
    // Warm-up: the same workload once, for the allocator's arenas, SQLite's caches, the
    // code pages.
    match run(&cfg(calls, "warmup.db")) {
        Ok(r) if r.ok() => {}
        Ok(r) => {
            print(&r, Duration::ZERO, start, None, None);
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("warm-up failed: {e}");
            return ExitCode::FAILURE;
        }
    }
    let before = rss_kib();
    let heap_before = heap::live();
    let mut ok = true;
    for n in 1..=runs.max(1) {
        #[allow(clippy::disallowed_methods)]
        let t0 = std::time::Instant::now();
        let report = match run(&cfg(calls, &format!("soak-{n}.db"))) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("soak failed: {e}");
                return ExitCode::FAILURE;
            }
        };
        let wall = t0.elapsed();
        println!("== measured run {n}");
        print(&report, wall, start, before, rss_kib());
        let heap_after = heap::live();
        println!(
            "live heap bytes  after warm-up run {heap_before}, after measured run {heap_after} ({:+})",
            heap_after as i64 - heap_before as i64
        );
        ok &= report.ok();
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print(r: &Report, wall: Duration, start: Option<u64>, before: Option<u64>, after: Option<u64>) {
    println!("calls            {}", r.calls);
    println!("records          {} (expected {})", r.records, 2 * r.calls);
    for (name, n) in &r.by_scenario {
        println!("  {name:<24} {n}");
    }
    println!(
        "messages         {} sent, {} lost ({} by the link, the rest to vanished peers)",
        r.datagrams.0, r.datagrams.1, r.datagrams.2
    );
    println!("tcp              {} opened, {} reset", r.tcp.0, r.tcp.1);
    println!("late causes      {}", r.late_causes);
    println!(
        "expired early    {} (session timer, refreshes lost)",
        r.expired_early
    );
    for (i, l) in r.ledgers.iter().enumerate() {
        println!("ledger[{i}]        quiescent={} {l:?}", l.is_quiescent());
    }
    println!("simulated        {:?}", r.simulated);
    println!("wall             {wall:?}");
    let kib = |v: Option<u64>| v.map_or("?".to_string(), |v| v.to_string());
    println!(
        "rss KiB          start {}, after warm-up run {}, after measured run {}",
        kib(start),
        kib(before),
        kib(after)
    );
    println!("mismatches       {}", r.mismatches.len());
    for m in r.mismatches.iter().take(20) {
        println!("  {m}");
    }
    println!("result           {}", if r.ok() { "ok" } else { "FAILED" });
}

/// The resident set in KiB, from /proc/self/statm (pages of 4 KiB on the machines we run).
fn rss_kib() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4)
}

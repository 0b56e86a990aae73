//! `linedrop`: the daemon (`linedrop serve`) and its command-line client.
//!
//! The clap types below hold only what the user typed (ripgrep's low/high split); `Target`
//! resolves the API address and token from flags, environment and the token file.

mod bench_dial;
mod client;
mod commands;
mod serve;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc, not glibc's malloc: under a steady call load glibc's per-thread arenas kept
/// growing with a constant live set (RSS +15-20 % over a 240k-400k-call soak after warm-up;
/// BENCHMARKS.md), while mimalloc stays flat and returns memory once calls drain. It also
/// costs about 10 % less CPU per call here.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A TAPI-style call-control engine over SIP.
#[derive(Debug, Parser)]
#[command(name = "linedrop", version, about)]
struct Cli {
    /// The API to talk to (client commands; default: the config's api.listen, else
    /// http://127.0.0.1:8080).
    #[arg(long, global = true, env = "LINEDROP_API")]
    api: Option<String>,
    /// The app's bearer token (default: the token file the daemon wrote beside its database).
    #[arg(long, global = true, env = "LINEDROP_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The daemon's database path, to find the token file beside it.
    #[arg(
        long,
        global = true,
        env = "LINEDROP_STORE_PATH",
        default_value = "linedrop.db"
    )]
    db: PathBuf,
    /// A TOML configuration file: the daemon's (for serve), or where a client command
    /// finds the API address and a token.
    #[arg(long, global = true, env = "LINEDROP_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon: SIP, the HTTP/WebSocket API, records in SQLite.
    Serve {
        /// Log JSON lines instead of human-readable text.
        #[arg(long)]
        json_logs: bool,
    },
    /// Place a call; with --hold, stay connected that long, hang up and print the record.
    Call {
        /// The destination, e.g. sip:service@127.0.0.1:5070.
        uri: String,
        /// The line to call from.
        #[arg(long)]
        line: Option<String>,
        /// How long to stay connected before hanging up (e.g. 5s, 500ms, 2m).
        #[arg(long, value_parser = commands::parse_duration)]
        hold: Option<std::time::Duration>,
    },
    /// List this app's calls.
    Calls,
    /// Show one call.
    Show {
        /// The call id.
        id: u64,
    },
    /// Claim an offered call (the caller hears ringing).
    Accept {
        /// The call id.
        id: u64,
    },
    /// Answer an offered call.
    Answer {
        /// The call id.
        id: u64,
    },
    /// Reject an offered call.
    Reject {
        /// The call id.
        id: u64,
        /// The SIP status to answer (400-699; default 603).
        #[arg(long)]
        status: Option<u16>,
    },
    /// End a call in whatever state it is.
    Drop {
        /// The call id.
        id: u64,
        /// Free text for the Reason header and the record.
        #[arg(long)]
        text: Option<String>,
    },
    /// Release this app's handle (the call's record stays in the store).
    Release {
        /// The call id.
        id: u64,
        /// Drop the call first if it is still live.
        #[arg(long)]
        drop: bool,
    },
    /// Print live events, one line each.
    Watch {
        /// Replay every event after this sequence number first.
        #[arg(long)]
        since: Option<u64>,
    },
    /// Benchmark tool: place calls at a fixed rate through the Rust API (the daemon's
    /// engine, SIP driver and record writer, without HTTP), hold, drop and release each,
    /// and print the counts. Used by bench/run.sh; not for production traffic.
    #[command(hide = true)]
    BenchDial(bench_dial::Args),
    /// List call records.
    Records {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Only this origin (local, remote, policy, network, shutdown).
        #[arg(long)]
        origin: Option<String>,
        /// Only this cause.
        #[arg(long)]
        cause: Option<String>,
    },
}

/// The multi-threaded runtime that `serve` and `bench-dial` run on; `None`, said on standard
/// error, if it cannot start.
fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("linedrop: cannot start the runtime: {e}");
            None
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { json_logs } => serve::run(cli.config, json_logs),
        Command::BenchDial(args) => bench_dial::run(cli.db, args),
        command => {
            let target = client::Target::resolve(
                cli.api.as_deref(),
                cli.token.as_deref(),
                &cli.db,
                cli.config.as_deref(),
            );
            match target.and_then(|t| commands::run(&t, command)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("linedrop: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

//! `linedrop serve`: logs, configuration, signals, exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use linedrop_server::Config;

/// Exit code for a configuration or startup error (a key or a port is named).
const EXIT_CONFIG: u8 = 2;

pub fn run(config: Option<PathBuf>, json_logs: bool) -> ExitCode {
    init_logs(json_logs);
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("LINEDROP_"))
        .collect();
    let config = match Config::load(config.as_deref(), &env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("linedrop: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("linedrop: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let running = match linedrop_server::start(config).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("linedrop: {e}");
                return ExitCode::from(EXIT_CONFIG);
            }
        };
        if let Some(path) = &running.token_file {
            tracing::info!(token_file = %path.display(), "default app token (the CLI reads it from there)");
        }
        println!("linedrop: SIP on udp:{}{}, API on http://{}", running.sip_udp,
            running.sip_tcp.map(|t| format!(" and tcp:{t}")).unwrap_or_default(), running.api_addr);
        wait_for_signal().await;
        tracing::info!("stopping: no new calls; ending live ones (a second signal exits at once)");
        tokio::spawn(async {
            wait_for_signal().await;
            eprintln!("linedrop: second signal, exiting now");
            std::process::exit(130);
        });
        let report = running.stop().await;
        tracing::info!(drained = report.drained, records = report.records_committed, "stopped");
        ExitCode::SUCCESS
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn init_logs(json: bool) {
    // Colours only for a person at a terminal. In a file or a journal the escape codes are
    // noise, and painting each field's name was over half the cost of the per-call
    // "call ended" line (callgrind: nu_ansi_term, 5.7 of its 10.2 M instructions per 600).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

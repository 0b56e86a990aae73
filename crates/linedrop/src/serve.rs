//! `linedrop serve`: logs, configuration, signals, exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use linedrop_server::end_log::{self, Style};
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
    let Some(runtime) = crate::runtime() else {
        return ExitCode::FAILURE;
    };
    runtime.block_on(async move {
        // Listening before the daemon says it is up: a supervisor may send SIGTERM as soon
        // as it reads the line below, and without a handler that signal kills the process
        // with no drain.
        let mut stop = StopSignals::listen();
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
        stop.next().await;
        tracing::info!("stopping: no new calls; ending live ones (a second signal exits at once)");
        tokio::spawn(async move {
            stop.next().await;
            eprintln!("linedrop: second signal, exiting now");
            std::process::exit(130);
        });
        let report = running.stop().await;
        tracing::info!(drained = report.drained, records = report.records_committed, "stopped");
        ExitCode::SUCCESS
    })
}

/// SIGTERM and SIGINT (Ctrl-C), from the moment they are listened for.
struct StopSignals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Self {
                term: signal(SignalKind::terminate()).ok(),
                int: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    /// The next stop signal.
    async fn next(&mut self) {
        #[cfg(unix)]
        {
            match (&mut self.term, &mut self.int) {
                (Some(term), Some(int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                (Some(one), None) | (None, Some(one)) => {
                    one.recv().await;
                }
                (None, None) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
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
    // The per-call "call ended" line, in the same format, without the formatter's generic
    // machinery (10k instructions a call). Coloured lines are left to the formatter.
    if !ansi {
        end_log::write_directly(if json { Style::Json } else { Style::Human });
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, SystemTime};

    use linedrop_core::{
        CallId, CallInfo, CallState, Cause, Direction, LineId, Origin, ProviderFacts, StateTimes,
        Termination, WireEnd,
    };
    use linedrop_server::end_log::{format_line, log_with_tracing, End, Style};

    /// What the formatter writes, kept for the test to read.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn through_formatter(json: bool, end: &End<'_>) -> String {
        let out = Captured::default();
        let w = out.clone();
        let builder = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || w.clone())
            .with_ansi(false);
        if json {
            tracing::subscriber::with_default(builder.json().finish(), || log_with_tracing(end));
        } else {
            tracing::subscriber::with_default(builder.finish(), || log_with_tracing(end));
        }
        let text = out.0.lock().unwrap().clone();
        String::from_utf8(text).unwrap()
    }

    /// The formatter's line with its timestamp put aside, to compare with ours at any time.
    fn without_timestamp(line: &str) -> String {
        match line.find("\"timestamp\":\"") {
            Some(i) => format!("{}{}", &line[..i + 13], &line[i + 13 + 27..]),
            None => line[27..].to_string(),
        }
    }

    #[test]
    fn the_hand_written_end_line_is_the_formatters_byte_for_byte() {
        for (id, origin, cause, status, setup, talk) in [
            (1, Origin::Remote, Cause::Normal, None, Some(0), Some(104)),
            (90, Origin::Local, Cause::Busy, Some(486), Some(1_234), None),
            (0, Origin::Shutdown, Cause::Normal, Some(200), None, None),
            (
                u64::MAX,
                Origin::Network,
                Cause::Timeout,
                Some(408),
                Some(u64::MAX / 2),
                Some(7),
            ),
        ] {
            let info = CallInfo {
                id: CallId(id),
                direction: Direction::Inbound,
                line: LineId::from_bits(1),
                local: "sip:bench@127.0.0.1".into(),
                remote: "sip:far@127.0.0.1".into(),
                state: CallState::Idle,
                created_at: SystemTime::now(),
                entered: StateTimes::default(),
                setup_duration: setup.map(Duration::from_millis),
                talk_duration: talk.map(Duration::from_millis),
                termination: None,
                late_causes: 0,
                holders: Vec::new(),
                facts: ProviderFacts::default(),
            };
            let t = Termination {
                origin,
                cause,
                wire: WireEnd::Bye,
                sip_status: status,
                q850: None,
                text: None,
                at: SystemTime::now(),
            };
            let end = End::of_info(&info, &t);
            for (json, style) in [(false, Style::Human), (true, Style::Json)] {
                let theirs = through_formatter(json, &end);
                let mut ours = Vec::new();
                assert!(format_line(style, SystemTime::now(), &end, &mut ours));
                let ours = String::from_utf8(ours).unwrap();
                assert_eq!(without_timestamp(&ours), without_timestamp(&theirs));
                // The timestamps have the same shape: both RFC 3339 with microseconds.
                assert_eq!(ours.len(), theirs.len(), "{ours}{theirs}");
            }
        }
    }
}

//! Starting and stopping the daemon: store, SIP driver, engine, API — and the graceful
//! drain (mini-redis's `server::run` shape: everything stops through one path).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use linedrop_core::{CallIds, Engine, EngineConfig, LineConfig, Privilege};
use linedrop_sip::driver::{self, DriverConfig, Handle};
use linedrop_sip::ua::{SipConfig, SipProvider};
use linedrop_store::{
    Durability, JournalConfig, Record, RecordWriter, SqliteStore, Store, WriterConfig,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::{AppSection, Config};
use crate::end_log;
use crate::hub::Hub;
use crate::sink::Sink;
use crate::state::{AppInfo, AppState, LineInfo, NameTable};

/// Why the daemon could not start (each maps to exit code 2 in the binary).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// A port could not be bound.
    #[error("cannot bind {key} to {addr}: {reason}")]
    Bind {
        /// The config key of the address.
        key: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why (address in use, permission).
        reason: String,
    },
    /// The record store could not be opened.
    #[error("record store: {0}")]
    Store(#[from] linedrop_store::StoreError),
    /// The token file could not be written or read.
    #[error("token file {path}: {reason}")]
    Token {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The configuration does not fit together (a line the SIP layer refuses).
    #[error("config: {0}")]
    Config(String),
}

/// What a graceful stop did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopReport {
    /// Whether every call reached `Idle` within the deadline.
    pub drained: bool,
    /// Records committed in total.
    pub records_committed: u64,
}

/// A running daemon.
pub struct Running {
    /// Where the API listens.
    pub api_addr: SocketAddr,
    /// Where SIP listens (UDP).
    pub sip_udp: SocketAddr,
    /// Where SIP listens (TCP), if enabled.
    pub sip_tcp: Option<SocketAddr>,
    /// The default app's token file, when the configuration has no apps.
    pub token_file: Option<PathBuf>,
    /// The default app's token, when the configuration has no apps.
    pub default_token: Option<String>,
    /// The way into the engine.
    pub handle: Handle,
    /// The shared API state.
    pub state: AppState,
    driver_stop: oneshot::Sender<()>,
    driver_task: driver::DriverThread,
    api_stop: oneshot::Sender<()>,
    api_task: JoinHandle<io::Result<()>>,
    writer: Arc<RecordWriter>,
    /// Purges old records while the daemon runs (when retention is configured).
    retention_task: Option<JoinHandle<()>>,
    deadline: Duration,
}

/// Starts everything; returns once the sockets are bound and the API serves.
pub async fn start(config: Config) -> Result<Running, ServeError> {
    let lines = if config.lines.is_empty() {
        vec![config.default_line()]
    } else {
        config.lines.clone()
    };
    let (apps, default_token, token_file) = if config.apps.is_empty() {
        let path = token_path(&config.store.path);
        let token = load_or_create_token(&path)?;
        let app = AppSection {
            name: "default".into(),
            token: token.clone(),
            owner: lines.iter().map(|l| l.name.clone()).collect(),
            monitor: Vec::new(),
        };
        (vec![app], Some(token), Some(path))
    } else {
        (config.apps.clone(), None, None)
    };

    // Records first: calls that were live when the process died are closed before any new
    // one is taken, and new ids start above every stored one.
    // The writer's store syncs each commit: with the journal in front, a commit comes about
    // once a second, and a journal segment is deleted only once its records are on disk.
    let mut store = SqliteStore::open_with(&config.store.path, Durability::Full)?;
    // The journal's records first: a call whose end was journalled keeps its real end.
    let journal = JournalConfig::beside(&config.store.path);
    let replayed = linedrop_store::replay_journal(&journal.path, &mut store)?;
    if replayed.records > 0 {
        tracing::info!(
            records = replayed.records,
            segments = replayed.segments,
            "records journalled before the last stop written to the store"
        );
    }
    for (segment, bytes) in &replayed.torn {
        tracing::warn!(
            segment = %segment.display(),
            bytes,
            "journal segment ended in a torn write (a batch never reported durable)"
        );
    }
    let orphans = store.close_orphans(wall_now())?;
    if !orphans.is_empty() {
        tracing::warn!(
            count = orphans.len(),
            "closed records of calls live at the last stop (origin network, cause restart)"
        );
    }
    if config.store.retention_days > 0 {
        let cutoff = wall_now() - Duration::from_secs(config.store.retention_days * 86_400);
        store.purge_completed_before(cutoff)?;
    }
    let first_id = store.max_call_id()?.map_or(1, |m| m + 1);
    let reader = SqliteStore::open(&config.store.path)?;
    // Checkpoints on their own thread, so no commit (and no BYE's record) waits for one.
    store.checkpoint_in_background()?;
    let writer = Arc::new(RecordWriter::spawn(
        store,
        WriterConfig {
            linger: Duration::from_millis(config.store.commit_linger_ms),
            on_apply: Some(Box::new({
                let mut lines = Vec::new();
                move |records: &[Record]| end_log::log_committed(records, &mut lines)
            })),
            journal: Some(journal),
            ..WriterConfig::default()
        },
    )?);

    let mut dcfg = DriverConfig::new(config.sip.udp);
    dcfg.tcp = config.sip.tcp;
    dcfg.socket_buffer = config.sip.socket_buffer;
    let sockets =
        driver::bind(&dcfg).map_err(|e| bind_error(&e, config.sip.udp, config.sip.tcp))?;
    let sip_udp = sockets
        .udp_addr()
        .map_err(|e| ServeError::Config(e.to_string()))?;
    let sip_tcp = sockets
        .tcp_addr()
        .map_err(|e| ServeError::Config(e.to_string()))?;
    let listener = tokio::net::TcpListener::bind(config.api.listen)
        .await
        .map_err(|e| ServeError::Bind {
            key: "api.listen",
            addr: config.api.listen,
            reason: e.to_string(),
        })?;
    let api_addr = listener
        .local_addr()
        .map_err(|e| ServeError::Config(e.to_string()))?;

    let ids = CallIds::starting_at(first_id);
    let mut sip = SipConfig::new(sip_udp);
    sip.tcp_addr = sip_tcp;
    sip.timers = config.timers();
    sip.auto_ringing = config.sip.auto_ringing;
    sip.rng_seed = random_seed();
    let mut engine = Engine::new(
        EngineConfig {
            call_ids: ids.clone(),
        },
        SipProvider::new(sip, ids),
    );
    let mut names = NameTable::default();
    for l in &lines {
        let id = engine
            .add_line(LineConfig {
                address: l.address.clone(),
                policy: l.policy(),
            })
            .map_err(|e| ServeError::Config(format!("line {:?}: {e}", l.name)))?;
        engine
            .provider_mut()
            .set_line_options(id, l.sip_options())
            .map_err(|e| ServeError::Config(format!("line {:?}: {e}", l.name)))?;
        names.lines.push(LineInfo {
            id,
            name: l.name.clone(),
            address: l.address.clone(),
        });
    }
    let mut tokens = HashMap::new();
    for a in &apps {
        let id = engine.open_app(&a.name);
        let mut info = AppInfo {
            id,
            name: a.name.clone(),
            owns: Vec::new(),
            lines: Vec::new(),
        };
        for (list, privilege) in [
            (&a.owner, Privilege::Owner),
            (&a.monitor, Privilege::Monitor),
        ] {
            for name in list {
                let Some(line) = names.line_named(name).map(|l| l.id) else {
                    continue;
                };
                engine.open_line(id, line, privilege).map_err(|e| {
                    ServeError::Config(format!("app {:?} line {name:?}: {e}", a.name))
                })?;
                if privilege == Privilege::Owner {
                    info.owns.push(line);
                }
                info.lines.push(line);
            }
        }
        names.apps.insert(id, a.name.clone());
        tokens.insert(a.token.clone(), info);
    }
    let names = Arc::new(names);
    let hub = Arc::new(Hub::new(config.api.replay_window, names.clone()));
    let driver_stats = sockets.stats();
    let sink = Sink {
        hub: hub.clone(),
        writer: writer.clone(),
        line_addresses: names
            .lines
            .iter()
            .map(|l| (l.id, Arc::from(l.address.as_str())))
            .collect(),
    };
    let (handle, commands) = driver::channel(4096);
    let (driver_stop, stopped) = oneshot::channel::<()>();
    let driver_task = driver::spawn_thread(sockets, engine, commands, sink, async {
        let _ = stopped.await;
    })
    .map_err(|e| ServeError::Config(format!("cannot start the SIP thread: {e}")))?;

    let state = AppState {
        handle: handle.clone(),
        tokens: Arc::new(tokens),
        names,
        hub,
        records: Arc::new(Mutex::new(reader)),
        writer: writer.clone(),
        driver_stats,
        max_body: config.api.max_body,
        started: wall_now(),
    };
    let retention_task = (config.store.retention_days > 0).then(|| {
        let keep = Duration::from_secs(config.store.retention_days * 86_400);
        tokio::spawn(purge_periodically(state.records.clone(), keep))
    });
    let router = crate::http::router(state.clone());
    let (api_stop, api_stopped) = oneshot::channel::<()>();
    let api_task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = api_stopped.await;
            })
            .await
    });
    tracing::info!(%api_addr, %sip_udp, ?sip_tcp, "linedrop serving");
    Ok(Running {
        api_addr,
        sip_udp,
        sip_tcp,
        token_file,
        default_token,
        handle,
        state,
        driver_stop,
        driver_task,
        api_stop,
        api_task,
        writer,
        retention_task,
        deadline: Duration::from_millis(config.shutdown.deadline_ms),
    })
}

impl Running {
    /// The graceful stop: no new calls (SIP 503), every live call ended with origin
    /// `shutdown` and torn down within the deadline, every record flushed.
    pub async fn stop(self) -> StopReport {
        let drained = driver::drain(&self.handle, self.deadline)
            .await
            .unwrap_or(false);
        if !drained {
            tracing::warn!("shutdown deadline passed with calls still tearing down");
        }
        let _ = self.driver_stop.send(());
        let engine = self.driver_task.join().await;
        // Whatever the engine still holds is written as it stands, so no record is lost.
        drop(engine);
        if let Err(e) = self.writer.flush() {
            tracing::error!(error = %e, "flushing records at shutdown");
        }
        let _ = self.api_stop.send(());
        let _ = self.api_task.await;
        if let Some(task) = self.retention_task {
            task.abort();
        }
        StopReport {
            drained,
            records_committed: self.writer.stats().committed,
        }
    }
}

/// Deletes completed records older than `keep`, hourly (the first run was at start).
async fn purge_periodically(store: Arc<Mutex<SqliteStore>>, keep: Duration) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    tick.tick().await; // the first tick is immediate; startup already purged
    loop {
        tick.tick().await;
        let store = store.clone();
        let purged = tokio::task::spawn_blocking(move || {
            let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
            store.purge_completed_before(wall_now() - keep)
        })
        .await;
        match purged {
            Ok(Ok(n)) if n > 0 => tracing::info!(records = n, "purged records past retention"),
            Ok(Err(e)) => tracing::error!(error = %e, "purging records"),
            _ => {}
        }
    }
}

fn bind_error(e: &io::Error, udp: SocketAddr, tcp: Option<SocketAddr>) -> ServeError {
    // The driver binds UDP first, then TCP; a failure names whichever it was if it can.
    let msg = e.to_string();
    let (key, addr) = match tcp {
        Some(t) if msg.contains(&t.to_string()) => ("sip.tcp", t),
        _ => ("sip.udp", udp),
    };
    ServeError::Bind {
        key,
        addr,
        reason: msg,
    }
}

/// The token file beside the database.
pub fn token_path(db: &Path) -> PathBuf {
    db.with_file_name("linedrop.token")
}

fn load_or_create_token(path: &Path) -> Result<String, ServeError> {
    let err = |e: io::Error| ServeError::Token {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    if let Ok(t) = std::fs::read_to_string(path) {
        let t = t.trim().to_owned();
        if t.len() >= 16 {
            return Ok(t);
        }
    }
    let token = random_hex(16);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    write_private(path, &token).map_err(err)?;
    Ok(token)
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> io::Result<()> {
    std::fs::write(path, text)
}

/// Random bytes as hex, from the OS.
fn random_hex(bytes: usize) -> String {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_ok();
    if !ok {
        // No /dev/urandom: fall back to the clock and the process id (tokens are then
        // guessable by a local user; the file mode still keeps them private).
        let seed = wall_now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (seed >> ((i % 16) * 8)) as u8 ^ std::process::id() as u8;
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_seed() -> u64 {
    u64::from_str_radix(&random_hex(8), 16).unwrap_or(0x6c64)
}

/// The daemon's wall-clock read outside the driver (startup and retention bookkeeping).
fn wall_now() -> SystemTime {
    SystemTime::now()
}

//! What the API handlers share: the way into the engine, names, events and records.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use linedrop_core::{AppId, LineId};
use linedrop_sip::driver::{DriverStats, Handle};
use linedrop_store::{RecordWriter, SqliteStore};

use crate::hub::Hub;
use crate::json::Names;

/// One configured app.
#[derive(Debug, Clone)]
pub struct AppInfo {
    /// Its engine id.
    pub id: AppId,
    /// Its name.
    pub name: String,
    /// The lines it owns (the first is where it dials from by default).
    pub owns: Vec<LineId>,
    /// Every line it owns or monitors (its records are those lines' records).
    pub lines: Vec<LineId>,
}

/// One configured line.
#[derive(Debug, Clone)]
pub struct LineInfo {
    /// Its engine id.
    pub id: LineId,
    /// Its name.
    pub name: String,
    /// Its SIP address.
    pub address: String,
}

/// The state behind every API handler.
#[derive(Clone)]
pub struct AppState {
    /// Commands to the engine task.
    pub handle: Handle,
    /// Apps by bearer token.
    pub tokens: Arc<HashMap<String, AppInfo>>,
    /// App and line names.
    pub names: Arc<NameTable>,
    /// Event streams.
    pub hub: Arc<Hub>,
    /// A read connection for record queries (the writer has its own).
    pub records: Arc<Mutex<SqliteStore>>,
    /// The record writer (for its counters).
    pub writer: Arc<RecordWriter>,
    /// The SIP driver's counters.
    pub driver_stats: Arc<DriverStats>,
    /// The largest request body accepted.
    pub max_body: usize,
    /// When the daemon started.
    pub started: SystemTime,
}

/// Names of the apps and lines the configuration set up.
#[derive(Debug, Default)]
pub struct NameTable {
    /// App names by id.
    pub apps: HashMap<AppId, String>,
    /// Lines.
    pub lines: Vec<LineInfo>,
}

impl Names for NameTable {
    fn app(&self, app: AppId) -> String {
        self.apps
            .get(&app)
            .cloned()
            .unwrap_or_else(|| app.to_string())
    }

    fn line(&self, line: LineId) -> String {
        self.lines
            .iter()
            .find(|l| l.id == line)
            .map_or_else(|| line.to_string(), |l| l.name.clone())
    }
}

impl NameTable {
    /// A line by name.
    pub fn line_named(&self, name: &str) -> Option<&LineInfo> {
        self.lines.iter().find(|l| l.name == name)
    }
}

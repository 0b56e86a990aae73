//! The daemon's configuration: defaults that work with no file, a TOML file, and
//! environment variables on top. Every error names the key it is about.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Everything `linedrop serve` needs.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// SIP transport and timers.
    pub sip: SipSection,
    /// The HTTP/WebSocket API.
    pub api: ApiSection,
    /// Call records.
    pub store: StoreSection,
    /// Graceful shutdown.
    pub shutdown: ShutdownSection,
    /// Local addresses calls are made from and offered to.
    pub lines: Vec<LineSection>,
    /// Applications and their tokens.
    pub apps: Vec<AppSection>,
}

/// `[sip]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SipSection {
    /// UDP address to bind.
    pub udp: SocketAddr,
    /// TCP address to listen on (omit for UDP only).
    pub tcp: Option<SocketAddr>,
    /// RFC 3261 T1 in milliseconds.
    pub t1_ms: u64,
    /// T2 in milliseconds.
    pub t2_ms: u64,
    /// T4 in milliseconds.
    pub t4_ms: u64,
    /// Timer D in milliseconds (RFC 3261: at least 32 s on UDP).
    pub timer_d_ms: u64,
    /// Socket buffer size in bytes (for load; omit for the OS default).
    pub socket_buffer: Option<usize>,
    /// Send 180 Ringing as soon as a call is offered (instead of 100 Trying); a call the
    /// line answers or rejects by itself gets its final response alone.
    pub auto_ringing: bool,
}

impl Default for SipSection {
    fn default() -> Self {
        Self {
            udp: ([127, 0, 0, 1], 5060).into(),
            tcp: None,
            t1_ms: 500,
            t2_ms: 4000,
            t4_ms: 5000,
            timer_d_ms: 32_000,
            socket_buffer: None,
            auto_ringing: true,
        }
    }
}

/// `[api]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSection {
    /// Address of the HTTP API.
    pub listen: SocketAddr,
    /// How many events per app are kept for clients that reconnect.
    pub replay_window: usize,
    /// Largest request body, in bytes.
    pub max_body: usize,
}

impl Default for ApiSection {
    fn default() -> Self {
        Self {
            listen: ([127, 0, 0, 1], 8080).into(),
            replay_window: 10_000,
            max_body: 16 * 1024,
        }
    }
}

/// `[store]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// The SQLite file.
    pub path: PathBuf,
    /// Completed records older than this many days are purged (0 keeps them forever).
    pub retention_days: u64,
    /// How long a record is held for others to share its journal write (group commit):
    /// adds at most this to the time to a durable record. 0 (the default) writes each
    /// wake-up's records when the SIP thread has handled what woke it, which already batches
    /// under load; a linger only makes the thread wake up for it between datagrams
    /// (measured at 1,000 calls/s: 2 ms cost 7 % more CPU per call than 0).
    pub commit_linger_ms: u64,
}

impl Default for StoreSection {
    fn default() -> Self {
        Self {
            path: PathBuf::from("linedrop.db"),
            retention_days: 0,
            commit_linger_ms: 0,
        }
    }
}

/// `[shutdown]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownSection {
    /// How long live calls get to end cleanly after SIGTERM, in milliseconds.
    pub deadline_ms: u64,
}

impl Default for ShutdownSection {
    fn default() -> Self {
        Self {
            deadline_ms: 10_000,
        }
    }
}

/// What a line does with a call no app takes.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Behaviour {
    /// Offer it to the owning app (refused with 480 when none is configured).
    #[default]
    Offer,
    /// Answer it (and hang up after `hold_ms`, if set).
    Answer,
    /// Reject it with `reject_status`.
    Reject,
}

/// `[[lines]]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LineSection {
    /// The name apps and the CLI use.
    pub name: String,
    /// The SIP address (`sip:user@host`); its user part routes inbound calls.
    pub address: String,
    /// Calls no app takes.
    #[serde(default)]
    pub behaviour: Behaviour,
    /// With `answer`: hang up this long after connecting.
    #[serde(default)]
    pub hold_ms: Option<u64>,
    /// With `reject`: the status (400-699).
    #[serde(default = "default_reject_status")]
    pub reject_status: u16,
    /// Outbound calls not answered within this many seconds are cancelled.
    #[serde(default = "default_no_answer")]
    pub no_answer_s: u64,
    /// Inbound calls not answered within this many seconds are refused.
    #[serde(default = "default_no_answer")]
    pub offer_timeout_s: u64,
    /// Calls are ended after this many seconds connected.
    #[serde(default = "default_max_duration")]
    pub max_duration_s: u64,
    /// The RFC 4028 session interval we offer, in seconds; 0 offers none (an offer from the
    /// far end is still honoured).
    #[serde(default = "default_session_expires")]
    pub session_expires_s: u64,
    /// The smallest session interval we accept (Min-SE), in seconds; smaller offers get 422.
    #[serde(default = "default_min_se")]
    pub min_se_s: u64,
    /// Probe connected calls with an in-dialog OPTIONS this often, in seconds; a 408/481
    /// or no answer ends the call (`keepalive_failed`). Absent or 0: no keepalive.
    #[serde(default)]
    pub keepalive_s: Option<u64>,
}

fn default_reject_status() -> u16 {
    486
}
fn default_no_answer() -> u64 {
    60
}
fn default_max_duration() -> u64 {
    4 * 3600
}
fn default_session_expires() -> u64 {
    1800
}
fn default_min_se() -> u64 {
    90
}

/// `[[apps]]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AppSection {
    /// Its name (in events, records and logs).
    pub name: String,
    /// Its bearer token.
    pub token: String,
    /// Lines it owns: it dials from them and is offered their calls.
    #[serde(default)]
    pub owner: Vec<String>,
    /// Lines it watches.
    #[serde(default)]
    pub monitor: Vec<String>,
}

/// A configuration problem, naming the key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file is not valid TOML for this configuration (unknown key, bad value).
    #[error("config file {path}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the key.
        reason: String,
    },
    /// A value is out of range or inconsistent.
    #[error("config key `{key}`: {reason}")]
    Invalid {
        /// The key.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

/// The environment variables that override the file, with the key each one sets.
pub const ENV_KEYS: &[(&str, &str)] = &[
    ("LINEDROP_SIP_UDP", "sip.udp"),
    ("LINEDROP_SIP_TCP", "sip.tcp"),
    ("LINEDROP_API_LISTEN", "api.listen"),
    ("LINEDROP_STORE_PATH", "store.path"),
];

impl Config {
    /// Reads `path` (if given), applies `env` (name, value) overrides, fills defaults and
    /// checks everything.
    pub fn load(path: Option<&Path>, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
                    path: path.to_owned(),
                    reason: e.to_string(),
                })?;
                toml::from_str::<Config>(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_owned(),
                    reason: e.to_string().replace('\n', " ").trim().to_owned(),
                })?
            }
            None => Config::default(),
        };
        for (name, value) in env {
            let Some((_, key)) = ENV_KEYS.iter().find(|(n, _)| n == name) else {
                continue;
            };
            config.set(key, value)?;
        }
        config.validate()?;
        Ok(config)
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let addr = || {
            value
                .parse::<SocketAddr>()
                .map_err(|e| ConfigError::Invalid {
                    key: key.to_owned(),
                    reason: format!("{value:?} is not an address (ip:port): {e}"),
                })
        };
        match key {
            "sip.udp" => self.sip.udp = addr()?,
            "sip.tcp" => self.sip.tcp = Some(addr()?),
            "api.listen" => self.api.listen = addr()?,
            "store.path" => self.store.path = PathBuf::from(value),
            _ => {}
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: String, reason: String| Err(ConfigError::Invalid { key, reason });
        if !(1..=60_000).contains(&self.sip.t1_ms) {
            return invalid("sip.t1_ms".into(), "must be 1-60000".into());
        }
        if self.sip.t2_ms < self.sip.t1_ms {
            return invalid("sip.t2_ms".into(), "must be at least sip.t1_ms".into());
        }
        if self.api.replay_window == 0 {
            return invalid("api.replay_window".into(), "must be at least 1".into());
        }
        if self.store.commit_linger_ms > 1_000 {
            // Every record waits up to this long to be durable: past a second it is a
            // mistake, not a tuning.
            return invalid("store.commit_linger_ms".into(), "must be 0-1000".into());
        }
        let mut names = BTreeSet::new();
        for (i, line) in self.lines.iter().enumerate() {
            let key = |k: &str| format!("lines[{i}].{k}");
            if !names.insert(line.name.as_str()) {
                return invalid(key("name"), format!("duplicate line name {:?}", line.name));
            }
            if !line.address.starts_with("sip:") || !line.address.contains('@') {
                return invalid(
                    key("address"),
                    format!("{:?} is not a sip:user@host URI", line.address),
                );
            }
            if line.behaviour == Behaviour::Reject && !(400..=699).contains(&line.reject_status) {
                return invalid(key("reject_status"), "must be 400-699".into());
            }
            for (k, v) in [
                ("no_answer_s", line.no_answer_s),
                ("offer_timeout_s", line.offer_timeout_s),
                ("max_duration_s", line.max_duration_s),
            ] {
                if v == 0 {
                    return invalid(key(k), "must be at least 1 (every state is bounded)".into());
                }
            }
            if line.min_se_s < 90 {
                return invalid(key("min_se_s"), "must be at least 90 (RFC 4028)".into());
            }
            if line.session_expires_s != 0 && line.session_expires_s < line.min_se_s {
                return invalid(
                    key("session_expires_s"),
                    "must be 0 (off) or at least min_se_s".into(),
                );
            }
        }
        let mut tokens = BTreeSet::new();
        let mut app_names = BTreeSet::new();
        for (i, app) in self.apps.iter().enumerate() {
            let key = |k: &str| format!("apps[{i}].{k}");
            if !app_names.insert(app.name.as_str()) {
                return invalid(key("name"), format!("duplicate app name {:?}", app.name));
            }
            if app.token.len() < 16 {
                return invalid(key("token"), "must be at least 16 characters".into());
            }
            if !tokens.insert(app.token.as_str()) {
                return invalid(key("token"), "two apps share a token".into());
            }
            for (k, list) in [("owner", &app.owner), ("monitor", &app.monitor)] {
                if let Some(bad) = list.iter().find(|l| !names.contains(l.as_str())) {
                    return invalid(key(k), format!("no line named {bad:?}"));
                }
            }
        }
        Ok(())
    }

    /// The default line, when the configuration names none: `sip:linedrop@<sip host>`.
    pub fn default_line(&self) -> LineSection {
        LineSection {
            name: "default".into(),
            address: format!("sip:linedrop@{}", self.sip.udp.ip()),
            behaviour: Behaviour::Offer,
            hold_ms: None,
            reject_status: default_reject_status(),
            no_answer_s: default_no_answer(),
            offer_timeout_s: default_no_answer(),
            max_duration_s: default_max_duration(),
            session_expires_s: default_session_expires(),
            min_se_s: default_min_se(),
            keepalive_s: None,
        }
    }

    /// The SIP timers.
    pub fn timers(&self) -> linedrop_sip::transaction::TimerConfig {
        linedrop_sip::transaction::TimerConfig {
            t1: Duration::from_millis(self.sip.t1_ms),
            t2: Duration::from_millis(self.sip.t2_ms),
            t4: Duration::from_millis(self.sip.t4_ms),
            d: Duration::from_millis(self.sip.timer_d_ms),
        }
    }
}

impl LineSection {
    /// The core's policy for this line.
    pub fn policy(&self) -> linedrop_core::LinePolicy {
        use linedrop_core::Unattended;
        linedrop_core::LinePolicy {
            no_answer: Duration::from_secs(self.no_answer_s),
            offer_timeout: Duration::from_secs(self.offer_timeout_s),
            max_duration: Duration::from_secs(self.max_duration_s),
            unattended: match self.behaviour {
                Behaviour::Offer => Unattended::Offer,
                Behaviour::Answer => Unattended::Answer {
                    hold: self.hold_ms.map(Duration::from_millis),
                },
                Behaviour::Reject => Unattended::Reject {
                    status: self.reject_status,
                },
            },
        }
    }

    /// The SIP options for this line: session timers and keepalive.
    pub fn sip_options(&self) -> linedrop_sip::ua::LineOptions {
        linedrop_sip::ua::LineOptions {
            session_expires: (self.session_expires_s > 0)
                .then(|| Duration::from_secs(self.session_expires_s)),
            min_se: Duration::from_secs(self.min_se_s),
            keepalive: self.keepalive_s.filter(|&k| k > 0).map(Duration::from_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        // One directory per call: tests run in parallel and must not share a file.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("linedrop.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(Some(&path), &[])
    }

    #[test]
    fn no_file_gives_working_defaults() {
        let c = Config::load(None, &[]).unwrap();
        assert_eq!(c.sip.udp, "127.0.0.1:5060".parse().unwrap());
        assert_eq!(c.api.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.store.path, PathBuf::from("linedrop.db"));
    }

    #[test]
    fn env_overrides_the_file_and_bad_values_name_the_key() {
        let env = [(
            "LINEDROP_API_LISTEN".to_string(),
            "127.0.0.1:9999".to_string(),
        )];
        let c = Config::load(None, &env).unwrap();
        assert_eq!(c.api.listen.port(), 9999);
        let env = [("LINEDROP_SIP_UDP".to_string(), "nonsense".to_string())];
        let e = Config::load(None, &env).unwrap_err().to_string();
        assert!(e.contains("sip.udp"), "{e}");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_by_name() {
        let e = parse("[sip]\nudpp = \"127.0.0.1:1\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("udpp"), "{e}");
        let e = parse("[sip]\nt1_ms = 0\n").unwrap_err().to_string();
        assert!(e.contains("sip.t1_ms"), "{e}");
        let e = parse("[store]\ncommit_linger_ms = 5000\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("store.commit_linger_ms"), "{e}");
        assert_eq!(
            parse("[store]\ncommit_linger_ms = 5\n")
                .unwrap()
                .store
                .commit_linger_ms,
            5
        );
        let e = parse("[[lines]]\nname = \"a\"\naddress = \"tel:1\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("lines[0].address"), "{e}");
        let e = parse("[[lines]]\nname=\"a\"\naddress=\"sip:a@h\"\n[[apps]]\nname=\"x\"\ntoken=\"0123456789abcdef\"\nowner=[\"b\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("apps[0].owner") && e.contains("\"b\""), "{e}");
    }

    #[test]
    fn session_timer_and_keepalive_options_are_read_and_checked_by_name() {
        let line = "[[lines]]\nname = \"a\"\naddress = \"sip:a@127.0.0.1\"\n";
        let c = parse(&format!(
            "{line}session_expires_s = 600\nmin_se_s = 120\nkeepalive_s = 25\n"
        ))
        .unwrap();
        let o = c.lines[0].sip_options();
        assert_eq!(o.session_expires, Some(Duration::from_secs(600)));
        assert_eq!(o.min_se, Duration::from_secs(120));
        assert_eq!(o.keepalive, Some(Duration::from_secs(25)));
        let d = parse(line).unwrap().lines[0].sip_options();
        assert_eq!(d, linedrop_sip::ua::LineOptions::default());
        let off = parse(&format!("{line}session_expires_s = 0\nkeepalive_s = 0\n")).unwrap();
        let o = off.lines[0].sip_options();
        assert_eq!((o.session_expires, o.keepalive), (None, None));
        let e = parse(&format!("{line}min_se_s = 30\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("lines[0].min_se_s"), "{e}");
        let e = parse(&format!("{line}session_expires_s = 100\nmin_se_s = 200\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("lines[0].session_expires_s"), "{e}");
    }

    #[test]
    fn a_full_file_parses() {
        let c = parse(
            "[sip]\nudp = \"127.0.0.1:0\"\ntcp = \"127.0.0.1:0\"\nt1_ms = 50\n\
             [[lines]]\nname = \"auto\"\naddress = \"sip:auto@127.0.0.1\"\nbehaviour = \"answer\"\nhold_ms = 1000\n\
             [[apps]]\nname = \"crm\"\ntoken = \"0123456789abcdef\"\nmonitor = [\"auto\"]\n",
        )
        .unwrap();
        assert_eq!(c.lines[0].behaviour, Behaviour::Answer);
        assert_eq!(
            c.lines[0].policy().unattended,
            linedrop_core::Unattended::Answer {
                hold: Some(Duration::from_secs(1))
            }
        );
    }
}

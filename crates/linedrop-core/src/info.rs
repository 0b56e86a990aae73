//! Post-connection data: what any holder can read about a call until it releases it.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::ids::{AppId, CallId, LineId};
use crate::provider::ProviderFacts;
use crate::state::CallState;
use crate::termination::Termination;

/// Which way a call was set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// We called out.
    Outbound,
    /// They called in.
    Inbound,
}

impl Direction {
    /// The lower-case name used in the API and records.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Outbound => "outbound",
            Direction::Inbound => "inbound",
        }
    }

    /// Parses [`Direction::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "outbound" => Some(Direction::Outbound),
            "inbound" => Some(Direction::Inbound),
            _ => None,
        }
    }
}

/// What a handle may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Privilege {
    /// May read and watch.
    Monitor,
    /// May also answer, reject and drop.
    Owner,
}

impl Privilege {
    /// The lower-case name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::Monitor => "monitor",
            Privilege::Owner => "owner",
        }
    }

    /// Parses [`Privilege::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "monitor" => Some(Privilege::Monitor),
            "owner" => Some(Privilege::Owner),
            _ => None,
        }
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One app's hold on a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    /// The app.
    pub app: AppId,
    /// Its privilege.
    pub privilege: Privilege,
}

/// When the call entered each state (wall clock), indexed by [`CallState::index`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateTimes(pub [Option<SystemTime>; 8]);

impl StateTimes {
    /// When the call entered `state`, if it did.
    pub fn at(&self, state: CallState) -> Option<SystemTime> {
        self.0[state.index()]
    }
}

/// Everything known about a call: readable in every state, `Idle` included, until release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    /// The global id.
    pub id: CallId,
    /// Which way it was set up.
    pub direction: Direction,
    /// The line it belongs to.
    pub line: LineId,
    /// Our party (the line's address, or the address the caller used). Shared, like the
    /// other texts a call keeps: each snapshot and record of a call copies none of them.
    pub local: Arc<str>,
    /// The other party.
    pub remote: Arc<str>,
    /// The current state.
    pub state: CallState,
    /// When it was created.
    pub created_at: SystemTime,
    /// When it entered each state.
    pub entered: StateTimes,
    /// From creation to connection (or to the end, if it never connected).
    pub setup_duration: Option<Duration>,
    /// From connection to the end (or to now's last reading, while connected).
    pub talk_duration: Option<Duration>,
    /// Who ended it, why and how; `None` while live.
    pub termination: Option<Termination>,
    /// Causes that arrived after the termination was written, and were ignored.
    pub late_causes: u32,
    /// Every app holding it.
    pub holders: Vec<Holder>,
    /// What the provider knows (Call-ID, tags, retransmissions).
    pub facts: ProviderFacts,
}

impl CallInfo {
    /// How many holders are owners.
    pub fn owners(&self) -> usize {
        self.holders
            .iter()
            .filter(|h| h.privilege == Privilege::Owner)
            .count()
    }

    /// How many holders are monitors.
    pub fn monitors(&self) -> usize {
        self.holders.len() - self.owners()
    }
}

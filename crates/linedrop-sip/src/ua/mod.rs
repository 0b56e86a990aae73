//! The user agent: SIP dialogs and the [`Provider`] the session core drives. Sans-IO.
//!
//! [`SipProvider`] turns the engine's verbs (place, ring, answer, end, close) into SIP
//! transactions, and messages from the wire into provider events. Its driver feeds it
//! messages ([`SipProvider::handle_message`]) and connection news, drains
//! [`SipProvider::poll_transmit`] after every input, and runs its timers through the engine.
//!
//! Every call ends on the wire the way RFC 3261 says, and always within
//! [`SipConfig::teardown_bound`]: BYE when confirmed; CANCEL while ringing (deferred until a
//! provisional response, bounded by Timer B); a final response while offered; a BYE after
//! the ACK (or after Timer L when none comes) when ended while our 2xx is unacknowledged; a
//! 2xx that crosses our CANCEL is acknowledged and then ended with BYE.
//!
//! A confirmed call whose far end vanished still ends: by the RFC 4028 session timer when
//! one was negotiated (offered in our INVITE with `Supported: timer`, honoured in theirs,
//! 422 with Min-SE below our floor; the refresher refreshes at half the interval by UPDATE
//! or re-INVITE, and a refresh that fails or never comes ends the call with BYE, origin
//! `policy`, cause `session_expired`), by the optional in-dialog OPTIONS keepalive (408, 481
//! or no answer: origin `network`, cause `keepalive_failed`), and at the latest by the
//! line's max duration. Per-line options: [`SipProvider::set_line_options`].
//!
//! Layout: `receive` (parsing, matching, the checks of RFC 3261 §8.2), `server` (the
//! callee's side), `client` (the caller's side and forks), `dialog` (in-dialog requests,
//! tombstones, the unacknowledged 2xx), `linger` (server transactions that only wait out
//! their last timer, kept without their machines), `ending` (the engine's `end` and failed
//! transactions, each turned into one termination), `build` (the requests we send),
//! `reply` (our responses, written straight to their bytes),
//! `negotiate` (RFC 4028 Session-Expires/Min-SE and the per-line [`LineOptions`]) and
//! `session` (the dialog timers `SessionRefresh`, `SessionExpiry` and `Keepalive`, and the
//! UPDATE, re-INVITE and OPTIONS they send).

mod build;
mod client;
mod config;
mod dialog;
mod dialog_key;
mod ending;
mod leg;
mod linger;
mod negotiate;
mod peer;
mod receive;
mod reply;
mod rng;
mod server;
mod session;
mod staged;
mod stats;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::num::{NonZeroU16, NonZeroU64};
use std::sync::Arc;
use std::time::{Duration, Instant};

use linedrop_core::{
    CallId, CallIds, IdMap, LineId, Now, Placement, Provider, ProviderError, ProviderEvent,
    ProviderFacts, ProviderLedger, Termination,
};

use crate::message::Method;
use crate::transaction::{
    InviteClient, InviteServer, Machine, NonInviteClient, NonInviteServer, TimerConfig, TsxOutput,
    Wire,
};

pub use config::SipConfig;
pub use negotiate::{LineOptions, MIN_SE_FLOOR};
pub use peer::{ConnId, Peer, Transmit, Transport};
pub use session::DialogTimer;
pub use stats::SipStats;

use dialog_key::{DialogKey, DialogMap};
use staged::Staged;

/// The cheap hasher of our own ids (and of dialog keys, which carry their own keyed hash).
type IdBuild = std::hash::BuildHasherDefault<linedrop_core::IdHasher>;
use ending::Failure;
use leg::{Leg, Phase};
use linger::Lingering;

/// One transaction and what it is for.
#[derive(Debug)]
pub(crate) enum Tsx {
    InviteClient(InviteClient),
    NonInviteClient(NonInviteClient),
    InviteServer(InviteServer),
    NonInviteServer(NonInviteServer),
}

impl Tsx {
    /// The machine, for what every kind of transaction offers.
    pub(crate) fn machine(&mut self) -> &mut dyn Machine {
        match self {
            Tsx::InviteClient(t) => t,
            Tsx::NonInviteClient(t) => t,
            Tsx::InviteServer(t) => t,
            Tsx::NonInviteServer(t) => t,
        }
    }

    /// The same, read-only.
    pub(crate) fn machine_ref(&self) -> &dyn Machine {
        match self {
            Tsx::InviteClient(t) => t,
            Tsx::NonInviteClient(t) => t,
            Tsx::InviteServer(t) => t,
            Tsx::NonInviteServer(t) => t,
        }
    }
}

/// Why a client transaction was started: decides what its outcome means for the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Our INVITE.
    Invite,
    /// Our CANCEL of the call's INVITE.
    Cancel,
    /// Our BYE ending the call.
    Bye,
    /// A BYE ending an extra fork of our INVITE (not a call of its own).
    ForkBye,
    /// Our session refresh (UPDATE or re-INVITE, RFC 4028).
    Refresh,
    /// Our keepalive OPTIONS.
    Keepalive,
    /// A server transaction (their request).
    Server,
}

#[derive(Debug)]
pub(crate) struct TsxEntry {
    pub(crate) tsx: Tsx,
    pub(crate) peer: Peer,
    pub(crate) call: Option<CallId>,
    pub(crate) purpose: Purpose,
    /// The key under which it is indexed (branch, and the method it matches). The branch
    /// is the index's own key, shared: a UDP transaction outlives its call by 64·T1, so
    /// a second copy would be paid by every one of the 64·R live transactions.
    pub(crate) key: (Arc<str>, MethodKey),
    /// Its entry in the timer set.
    pub(crate) deadline: Option<Instant>,
    /// A server transaction whose final response holds nothing but what the request holds
    /// (no tag of ours, no header of the moment): its status, so that once it only lingers
    /// a retransmitted request gets the response built again from it, and the bytes need
    /// not be kept ([`linger`]).
    pub(crate) rebuild: Option<NonZeroU16>,
    /// Our INVITE: the 2xx we acknowledged, by To tag (the call's dialog and any extra
    /// forks), with the ACK sent, so a retransmitted 2xx is acknowledged again and nothing
    /// more. Lives as long as the transaction (Timer M), even after the call is freed.
    pub(crate) acks: Vec<(Option<Arc<str>>, Wire)>,
}

impl TsxEntry {
    /// A transaction not yet started: no deadline, nothing to rebuild, no ACKs.
    pub(crate) fn new(
        tsx: Tsx,
        peer: Peer,
        call: Option<CallId>,
        purpose: Purpose,
        key: (Arc<str>, MethodKey),
    ) -> Self {
        Self {
            tsx,
            peer,
            call,
            purpose,
            key,
            deadline: None,
            rebuild: None,
            acks: Vec::new(),
        }
    }
}

/// How transactions are matched: CANCEL has its own, ACK goes with INVITE (RFC 3261
/// §17.1.3, §17.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum MethodKey {
    Invite,
    Cancel,
    Other,
    /// A server transaction (requests we received) keyed apart from our own.
    ServerInvite,
    ServerCancel,
    ServerOther,
}

impl MethodKey {
    /// Its slot in a [`BranchTsx`].
    fn slot(self) -> usize {
        self as usize
    }

    pub(crate) fn client(m: &Method) -> Self {
        match m {
            Method::Invite | Method::Ack => MethodKey::Invite,
            Method::Cancel => MethodKey::Cancel,
            _ => MethodKey::Other,
        }
    }

    pub(crate) fn server(m: &Method) -> Self {
        match m {
            Method::Invite | Method::Ack => MethodKey::ServerInvite,
            Method::Cancel => MethodKey::ServerCancel,
            _ => MethodKey::ServerOther,
        }
    }
}

/// The transactions of one branch, by the method they match (a CANCEL shares its
/// INVITE's branch, RFC 3261 §9.1). Keyed by the branch alone, the index is searched with
/// the `&str` of a received Via: no key is built (and allocated) to look one up.
///
/// Nearly every branch has one transaction, held inline; only a branch with more (an
/// INVITE and its CANCEL) takes a table of all six. An entry of the index is then 32 bytes
/// rather than 64, and the index holds two per call for 64·T1.
#[derive(Debug, Default)]
pub(crate) enum BranchTsx {
    /// Only transitional: a branch whose last transaction left is removed from the index.
    #[default]
    Empty,
    One(MethodKey, NonZeroU64),
    Many(Box<[Option<NonZeroU64>; 6]>),
}

impl BranchTsx {
    fn get(&self, m: MethodKey) -> Option<u64> {
        match self {
            BranchTsx::Empty => None,
            BranchTsx::One(k, id) => (*k == m).then_some(id.get()),
            BranchTsx::Many(all) => all[m.slot()].map(NonZeroU64::get),
        }
    }

    /// Puts `id` (or nothing) in `m`'s place.
    fn set(&mut self, m: MethodKey, id: Option<NonZeroU64>) {
        match (&mut *self, id) {
            (BranchTsx::Empty, Some(id)) => *self = BranchTsx::One(m, id),
            (BranchTsx::Empty, None) => {}
            (BranchTsx::One(k, _), new) if *k == m => match new {
                Some(id) => *self = BranchTsx::One(m, id),
                None => *self = BranchTsx::Empty,
            },
            (BranchTsx::One(_, _), None) => {}
            (BranchTsx::One(k, other), Some(id)) => {
                let mut all = Box::new([None; 6]);
                all[k.slot()] = Some(*other);
                all[m.slot()] = Some(id);
                *self = BranchTsx::Many(all);
            }
            (BranchTsx::Many(all), new) => {
                all[m.slot()] = new;
                if all.iter().all(Option::is_none) {
                    *self = BranchTsx::Empty;
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, BranchTsx::Empty)
    }
}

/// The SIP user agent: a [`Provider`] for the session engine. See the module docs.
#[derive(Debug)]
pub struct SipProvider {
    pub(crate) cfg: SipConfig,
    /// `cfg.timers`, shared by every transaction (see [`SipProvider::tsx_timers`]).
    tsx_timers: Arc<TimerConfig>,
    /// The engine's call id space (inbound calls take their ids here).
    call_ids: CallIds,
    pub(crate) ids: rng::Ids,
    /// Lines by the user part of their address.
    pub(crate) lines: HashMap<String, (LineId, String)>,
    /// Boxed: a leg is several hundred bytes, and a table of them inline would also pay
    /// that for every empty slot (a third or more of them after each growth).
    pub(crate) legs: IdMap<CallId, Box<Leg>>,
    pub(crate) dialogs: DialogMap<DialogKey, CallId>,
    /// Inbound calls by (Call-ID, their From tag), to spot merged requests.
    pub(crate) inbound: HashMap<(Arc<str>, Arc<str>), CallId>,
    /// Boxed, like the legs: an inline table pays an entry's few hundred bytes for every
    /// empty slot too. A UDP server transaction outlives its call by up to 64·T1, most of
    /// that in `lingering` rather than here.
    ///
    /// This table and the others that churn (`tsx_index`, `tsx_by_call`, `tombstone_set`)
    /// are [`Staged`]: a table that paused to grow or rehash stopped the SIP thread long
    /// enough to overflow the socket at load.
    pub(crate) tsx: Staged<u64, Box<TsxEntry>, IdBuild>,
    pub(crate) tsx_index: Staged<Arc<str>, BranchTsx, std::hash::RandomState>,
    /// Each call's live transactions, so per-call work never scans every transaction
    /// (a UDP server transaction outlives its call by Timer J: at R calls/s about 64·R are
    /// live, and a scan per call made the cost per call grow with the rate).
    pub(crate) tsx_by_call: Staged<CallId, Vec<u64>, IdBuild>,
    /// Server transactions that only wait out their last timer (see `linger`): indexed and
    /// timed like the others, under ids of their own, without their machines.
    pub(crate) lingering: Lingering,
    next_tsx: u64,
    timers: BTreeSet<(Instant, u64)>,
    /// Session timers and keepalives of confirmed dialogs (see `session`).
    pub(crate) dialog_timers: BTreeSet<(Instant, CallId, DialogTimer)>,
    /// SIP options by line (lines without an entry use `SipConfig::line_defaults`).
    pub(crate) line_options: IdMap<LineId, LineOptions>,
    /// Ended dialogs, kept to answer late requests, in expiry order (one fixed lifetime).
    pub(crate) tombstones: VecDeque<(Instant, Arc<DialogKey>)>,
    pub(crate) tombstone_set: Staged<Arc<DialogKey>, Instant, IdBuild>,
    pub(crate) transmits: VecDeque<Transmit>,
    /// INVITE server transactions whose first provisional response (100, or 180 with
    /// `auto_ringing`) is not decided yet, and when their INVITE came: settled by the
    /// next `poll_transmit` (`server::send_first_provisional`).
    pub(crate) undecided: Vec<(u64, Now)>,
    pub(crate) events: VecDeque<ProviderEvent>,
    pub(crate) connections: BTreeSet<ConnId>,
    pub(crate) stats: SipStats,
    /// Fault kinds already logged (each kind is logged once, then only counted).
    pub(crate) logged: BTreeSet<&'static str>,
}

impl SipProvider {
    /// A user agent taking inbound call ids from `ids` (the engine's).
    pub fn new(cfg: SipConfig, ids: CallIds) -> Self {
        Self {
            ids: rng::Ids::new(cfg.rng_seed),
            tsx_timers: Arc::new(cfg.timers),
            cfg,
            call_ids: ids,
            lines: HashMap::new(),
            legs: IdMap::default(),
            dialogs: DialogMap::default(),
            inbound: HashMap::new(),
            tsx: Staged::default(),
            tsx_index: Staged::default(),
            tsx_by_call: Staged::default(),
            lingering: Lingering::default(),
            next_tsx: 1,
            timers: BTreeSet::new(),
            dialog_timers: BTreeSet::new(),
            line_options: IdMap::default(),
            tombstones: VecDeque::new(),
            tombstone_set: Staged::default(),
            transmits: VecDeque::new(),
            undecided: Vec::new(),
            events: VecDeque::new(),
            connections: BTreeSet::new(),
            stats: SipStats::default(),
            logged: BTreeSet::new(),
        }
    }

    /// A user agent on 127.0.0.1:5060 with the default configuration, for unit tests.
    #[cfg(test)]
    pub(crate) fn for_tests() -> Self {
        Self::new(
            SipConfig::new("127.0.0.1:5060".parse().unwrap()),
            CallIds::default(),
        )
    }

    /// The configuration.
    pub fn config(&self) -> &SipConfig {
        &self.cfg
    }

    /// Counters of what was seen and done.
    pub fn stats(&self) -> &SipStats {
        &self.stats
    }

    /// The next message to send.
    ///
    /// The first call after an INVITE decides its first provisional response (100 Trying,
    /// or 180 with [`SipConfig::auto_ringing`]; RFC 3261 §17.2.1): none if the transaction
    /// user has already sent a provisional or final response to it, which is why a driver
    /// pumps the engine before it drains this.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if !self.undecided.is_empty() {
            self.send_first_provisional();
        }
        self.transmits.pop_front()
    }

    /// The driver opened or accepted a stream connection.
    pub fn handle_connection_opened(&mut self, _now: Now, conn: ConnId, _peer: Peer) {
        self.connections.insert(conn);
    }

    /// A stream connection is gone: calls on it end with origin `network`, its
    /// transactions fail.
    pub fn handle_connection_closed(&mut self, now: Now, conn: ConnId) {
        self.connections.remove(&conn);
        let calls: Vec<CallId> = self
            .legs
            .values()
            .filter(|l| l.peer.conn == Some(conn) && !l.is_done())
            .map(|l| l.id)
            .collect();
        for &id in &calls {
            self.transport_failed(id);
        }
        // The transactions on the connection fail, and so do those of the calls it carried
        // (one started before the connection was known, say), which would otherwise wait
        // for answers that cannot come.
        let tsxs: Vec<u64> = self
            .tsx
            .iter()
            .filter(|(_, e)| {
                e.peer.conn == Some(conn) || e.call.is_some_and(|c| calls.contains(&c))
            })
            .map(|(id, _)| *id)
            .collect();
        for id in tsxs {
            self.tsx_transport_error(now, id);
        }
    }

    /// A transmit to `to` could not be sent: the transactions that use it fail.
    pub fn handle_send_failure(&mut self, now: Now, to: Peer) {
        self.stats.transport_errors += 1;
        let tsxs: Vec<u64> = self
            .tsx
            .iter()
            .filter(|(_, e)| e.peer.addr == to.addr && e.peer.transport == to.transport)
            .map(|(id, _)| *id)
            .collect();
        for id in tsxs {
            self.tsx_transport_error(now, id);
        }
    }

    /// Whether a dialog or transaction still needs `conn`.
    pub fn connection_in_use(&self, conn: ConnId) -> bool {
        self.legs
            .values()
            .any(|l| l.peer.conn == Some(conn) && !l.is_done())
            || self.tsx.values().any(|e| e.peer.conn == Some(conn))
    }

    // ---- transactions ----

    pub(crate) fn add_tsx(
        &mut self,
        now: Instant,
        tsx: Tsx,
        peer: Peer,
        call: Option<CallId>,
        purpose: Purpose,
        key: (Arc<str>, MethodKey),
    ) -> u64 {
        self.insert_tsx(now, TsxEntry::new(tsx, peer, call, purpose, key))
    }

    /// Indexes and starts transaction `entry` (its deadline not yet set); returns its id.
    pub(crate) fn insert_tsx(&mut self, now: Instant, entry: TsxEntry) -> u64 {
        let id = self.next_tsx;
        self.next_tsx += 1;
        // Ids start at 1 and only grow.
        let slot = NonZeroU64::new(id);
        // One lookup per stage: a new branch (nearly every transaction) is hashed for the
        // search and once more to go in, not searched for again by an insert.
        self.tsx_index
            .get_or_default(Arc::clone(&entry.key.0))
            .set(entry.key.1, slot);
        if let Some(c) = entry.call {
            self.tsx_by_call.get_or_default(c).push(id);
        }
        // A fresh id: no older stage is searched for it.
        self.tsx.insert_fresh(id, Box::new(entry));
        self.sync_tsx(now, id);
        id
    }

    /// Drains a transaction's outputs and re-arms its timer; the one place a transaction's
    /// results reach the wire and the calls.
    pub(crate) fn sync_tsx(&mut self, now: Instant, id: u64) {
        loop {
            let Some(entry) = self.tsx.get_mut(&id) else {
                return;
            };
            let out = entry.tsx.machine().poll_output();
            let Some(out) = out else { break };
            let (peer, call, purpose) = (entry.peer, entry.call, entry.purpose);
            match out {
                TsxOutput::Transmit(bytes) => self.send(peer, bytes),
                TsxOutput::Timeout(timer) => {
                    self.on_tsx_failure(now, call, id, purpose, Failure::Timer(timer))
                }
                TsxOutput::TransportError => {
                    self.on_tsx_failure(now, call, id, purpose, Failure::Transport)
                }
                TsxOutput::AckTimeout => self.on_ack_timeout(now, call, id),
                TsxOutput::Terminated => {
                    self.remove_tsx(id);
                    return;
                }
            }
        }
        let Some(entry) = self.tsx.get_mut(&id) else {
            return;
        };
        let next = entry.tsx.machine_ref().poll_timeout().map(|(at, _)| at);
        if entry.deadline != next {
            if let Some(old) = entry.deadline.take() {
                self.timers.remove(&(old, id));
            }
            if let Some(at) = next {
                self.timers.insert((at, id));
            }
            entry.deadline = next;
        }
        self.settle(id);
    }

    fn remove_tsx(&mut self, id: u64) {
        if let Some(entry) = self.tsx.remove(&id) {
            if let Some(at) = entry.deadline {
                self.timers.remove(&(at, id));
            }
            self.unindex(&entry.key.0, entry.key.1, id);
            if let Some(c) = entry.call {
                self.tsx_by_call.update(&c, |ids| {
                    ids.retain(|t| *t != id);
                    !ids.is_empty()
                });
            }
            let retrans = entry.tsx.machine_ref().retransmissions();
            self.stats.retransmissions += u64::from(retrans);
            if let Some(leg) = entry.call.and_then(|c| self.legs.get_mut(&c)) {
                leg.retransmissions += u64::from(retrans);
                if leg.invite_tsx == Some(id) {
                    leg.invite_tsx = None;
                }
                if leg.reinvite_tsx == Some(id) {
                    leg.reinvite_tsx = None;
                }
                if leg.timers.refresh_tsx == Some(id) {
                    leg.timers.refresh_tsx = None;
                }
                if leg.timers.keepalive_tsx == Some(id) {
                    leg.timers.keepalive_tsx = None;
                }
            }
        }
    }

    /// Takes transaction `id` out of the index under `branch` and `m`. A newer transaction
    /// may have taken the key; only our own slot is cleared.
    fn unindex(&mut self, branch: &str, m: MethodKey, id: u64) {
        self.tsx_index.update(branch, |b| {
            if b.get(m) == Some(id) {
                b.set(m, None);
            }
            !b.is_empty()
        });
    }

    /// The timers for a new transaction: one table shared by all of them, not a copy
    /// each (64·R transactions are live at R calls/s).
    pub(crate) fn tsx_timers(&self) -> Arc<TimerConfig> {
        Arc::clone(&self.tsx_timers)
    }

    /// The transaction indexed under `branch` for `method`, if any.
    pub(crate) fn find_tsx(&self, branch: &str, method: MethodKey) -> Option<u64> {
        self.tsx_index.get(branch)?.get(method)
    }

    fn tsx_transport_error(&mut self, now: Now, id: u64) {
        let Some(entry) = self.tsx.get_mut(&id) else {
            return;
        };
        entry.tsx.machine().on_transport_error();
        self.sync_tsx(now.instant, id);
    }

    pub(crate) fn send(&mut self, to: Peer, bytes: Wire) {
        self.stats.sent += 1;
        self.transmits.push_back(Transmit { to, bytes });
    }

    /// Logs a fault kind the first time it is seen; afterwards it is only counted.
    pub(crate) fn log_once(&mut self, kind: &'static str, detail: &dyn std::fmt::Display) {
        if self.logged.insert(kind) {
            tracing::warn!(kind, %detail, "SIP fault (further ones of this kind are only counted)");
        }
    }

    // ---- call endings shared by the client and server sides ----

    /// Reports the far end's or the network's end of a call (once per leg).
    pub(crate) fn report_end(&mut self, id: CallId, ev: ProviderEvent) {
        if self.legs.get(&id).is_some_and(|l| !l.is_done()) {
            self.events.push_back(ev);
        }
    }

    /// The wire is done with the call: the engine may move it to `Idle`.
    pub(crate) fn torn_down(&mut self, id: CallId) {
        self.disarm_all(id);
        if let Some(leg) = self.legs.get_mut(&id) {
            if leg.phase != Phase::Done {
                leg.phase = Phase::Done;
                self.events.push_back(ProviderEvent::TornDown { call: id });
            }
        }
    }

    fn transport_failed(&mut self, id: CallId) {
        self.report_end(
            id,
            ProviderEvent::Ended {
                call: id,
                origin: linedrop_core::Origin::Network,
                cause: linedrop_core::Cause::TransportFailure,
                wire: linedrop_core::WireEnd::None,
                sip_status: None,
                q850: None,
                text: Some("connection lost".into()),
            },
        );
        self.torn_down(id);
    }

    fn expire_tombstones(&mut self, now: Instant) {
        while let Some((at, _)) = self.tombstones.front() {
            if *at > now {
                break;
            }
            if let Some((at, key)) = self.tombstones.pop_front() {
                if self.tombstone_set.get(&key) == Some(&at) {
                    self.tombstone_set.remove(&key);
                }
            }
        }
    }
}

impl Provider for SipProvider {
    fn add_line(&mut self, line: LineId, address: &str) -> Result<(), ProviderError> {
        let uri = build::parse_target(address)
            .ok_or_else(|| ProviderError::BadAddress(format!("{address} is not a sip: URI")))?;
        let user = uri
            .as_sip()
            .and_then(|u| u.user.clone())
            .unwrap_or_default();
        if self.lines.contains_key(&user) {
            return Err(ProviderError::BadAddress(format!(
                "a line already has user '{user}'"
            )));
        }
        self.lines.insert(user, (line, uri.to_string()));
        Ok(())
    }

    fn place(&mut self, now: Now, call: CallId, p: &Placement) -> Result<(), ProviderError> {
        self.place_call(now, call, p)
    }

    fn ring(&mut self, now: Now, call: CallId) {
        self.send_provisional(now, call, 180);
    }

    fn answer(&mut self, now: Now, call: CallId) {
        self.answer_call(now, call);
    }

    fn end(&mut self, now: Now, call: CallId, how: &Termination) {
        self.end_call(now, call, how);
    }

    fn close(&mut self, now: Now, call: CallId) {
        self.disarm_all(call);
        if let Some(mut leg) = self.legs.remove(&call) {
            if !leg.outbound {
                // The key is built from the leg's own strings (it is being dropped), not
                // from copies of them.
                let mut key = (
                    std::mem::take(&mut leg.call_id),
                    leg.remote_tag.take().unwrap_or_default(),
                );
                self.inbound.remove(&key);
                leg.call_id = std::mem::take(&mut key.0);
            }
            let key = DialogKey {
                call_id: std::mem::take(&mut leg.call_id),
                tag: std::mem::take(&mut leg.local_tag),
            };
            self.dialogs.remove(&key);
            // The dialog's tombstone answers requests that arrive after it is gone (a BYE
            // retransmitted with a new transaction) for the Timer J window. Its key is
            // shared by the set and the expiry queue: a tombstone is all that is left of
            // a call for 64·T1, so it holds one copy of its strings.
            let key = Arc::new(key);
            let expiry = now.instant + self.cfg.tombstone_ttl();
            self.tombstone_set.insert(Arc::clone(&key), expiry);
            self.tombstones.push_back((expiry, key));
        }
        for id in self.tsx_by_call.remove(&call).unwrap_or_default() {
            if let Some(entry) = self.tsx.get_mut(&id) {
                entry.call = None;
                self.settle(id);
            }
        }
    }

    fn poll_event(&mut self) -> Option<ProviderEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let tsx = self.timers.first().map(|(at, _)| *at);
        let tomb = self.tombstones.front().map(|(at, _)| *at);
        [tsx, tomb, self.next_dialog_timer()]
            .into_iter()
            .flatten()
            .min()
    }

    fn handle_timeout(&mut self, now: Now) {
        while let Some(&(at, id)) = self.timers.first() {
            if at > now.instant {
                break;
            }
            self.timers.remove(&(at, id));
            if self.end_linger(id) {
                continue;
            }
            if let Some(e) = self.tsx.get_mut(&id) {
                e.deadline = None;
                e.tsx.machine().handle_timeout(now.instant);
            }
            self.sync_tsx(now.instant, id);
        }
        self.run_dialog_timers(now.instant);
        self.expire_tombstones(now.instant);
    }

    fn teardown_bound(&self) -> Duration {
        self.cfg.teardown_bound()
    }

    fn facts(&self, call: CallId) -> ProviderFacts {
        match self.legs.get(&call) {
            Some(l) => ProviderFacts {
                call_ref: Some(l.call_id.clone()),
                local_tag: Some(l.local_tag.clone()),
                remote_tag: l.remote_tag.clone(),
                retransmissions: l.retransmissions
                    + self
                        .tsx_by_call
                        .get(&call)
                        .into_iter()
                        .flatten()
                        .filter_map(|id| self.tsx.get(id))
                        .map(|e| u64::from(e.tsx.machine_ref().retransmissions()))
                        .sum::<u64>(),
            },
            None => ProviderFacts::default(),
        }
    }

    fn ledger(&self) -> ProviderLedger {
        ProviderLedger {
            dialogs: self.legs.len() as u64,
            transactions: (self.tsx.len() + self.lingering.len()) as u64,
            timers: (self.timers.len() + self.dialog_timers.len()) as u64,
            tombstones: self.tombstone_set.len() as u64,
            connections: self.connections.len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_keeps_each_method_of_a_branch_and_a_removal_clears_only_its_own_slot() {
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let mut ua = SipProvider::for_tests();
        let peer = Peer::udp("127.0.0.2:5060".parse().unwrap());
        let add = |ua: &mut SipProvider, m| {
            let t = Tsx::InviteServer(InviteServer::new(ua.tsx_timers(), false));
            ua.add_tsx(now, t, peer, None, Purpose::Server, ("z9hG4bKx".into(), m))
        };
        let invite = add(&mut ua, MethodKey::ServerInvite);
        let cancel = add(&mut ua, MethodKey::ServerCancel);
        assert_eq!(
            ua.find_tsx("z9hG4bKx", MethodKey::ServerInvite),
            Some(invite)
        );
        assert_eq!(
            ua.find_tsx("z9hG4bKx", MethodKey::ServerCancel),
            Some(cancel)
        );
        assert_eq!(ua.find_tsx("z9hG4bKx", MethodKey::Invite), None);
        ua.remove_tsx(cancel);
        assert_eq!(
            ua.find_tsx("z9hG4bKx", MethodKey::ServerInvite),
            Some(invite)
        );
        assert_eq!(ua.find_tsx("z9hG4bKx", MethodKey::ServerCancel), None);
        // A newer transaction under the same key replaces the older in the index; the
        // older one's removal leaves it there.
        let newer = add(&mut ua, MethodKey::ServerInvite);
        ua.remove_tsx(invite);
        assert_eq!(
            ua.find_tsx("z9hG4bKx", MethodKey::ServerInvite),
            Some(newer)
        );
        ua.remove_tsx(newer);
        assert!(ua.tsx_index.is_empty(), "an empty branch leaves the index");
    }

    #[test]
    fn a_branch_holds_one_transaction_inline_and_more_in_a_table() {
        let id = |n| NonZeroU64::new(n);
        let mut b = BranchTsx::default();
        b.set(MethodKey::ServerInvite, id(1));
        assert!(matches!(b, BranchTsx::One(MethodKey::ServerInvite, _)));
        b.set(MethodKey::ServerInvite, id(2));
        assert_eq!(
            b.get(MethodKey::ServerInvite),
            Some(2),
            "a newer one replaces it"
        );
        b.set(MethodKey::ServerCancel, None);
        assert_eq!(
            b.get(MethodKey::ServerInvite),
            Some(2),
            "clearing another slot"
        );
        b.set(MethodKey::ServerCancel, id(3));
        assert!(matches!(b, BranchTsx::Many(_)));
        assert_eq!(
            (
                b.get(MethodKey::ServerInvite),
                b.get(MethodKey::ServerCancel)
            ),
            (Some(2), Some(3))
        );
        assert_eq!(b.get(MethodKey::Invite), None);
        b.set(MethodKey::ServerInvite, None);
        assert!(!b.is_empty());
        b.set(MethodKey::ServerCancel, None);
        assert!(b.is_empty(), "the last one gone");
        assert_eq!(std::mem::size_of::<BranchTsx>(), 16);
    }

    #[test]
    fn transactions_share_one_timer_table() {
        let ua = SipProvider::for_tests();
        let a = InviteServer::new(ua.tsx_timers(), false);
        let b = NonInviteServer::new(ua.tsx_timers(), false);
        assert_eq!(Arc::strong_count(&ua.tsx_timers), 3, "no copies");
        drop((a, b));
        assert_eq!(Arc::strong_count(&ua.tsx_timers), 1);
    }
}

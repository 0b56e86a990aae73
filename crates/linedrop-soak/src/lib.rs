//! A soak test for linedrop: thousands of calls between two engines over a seeded, lossy,
//! simulated network, each ending one of the ways calls end (either side hangs up, the
//! caller cancels, the callee rejects, the peer vanishes while ringing or connected, which
//! then ends by the RFC 4028 session timer), with every record written through the real
//! [`linedrop_store::RecordWriter`] into a real SQLite file.
//!
//! At the end it checks that every call has exactly one completed record on each side,
//! with the origin and cause that match what the test did, that the record count equals
//! twice the call count (one record per engine), and that after release both ledgers are
//! zero. The binary (`src/main.rs`) adds the resident-set measurement.
//!
//! The clock is simulated (it jumps to the next datagram, timer or action), so hours of
//! calls take seconds, and a seed replays a run exactly.
//!
//! Short mode (what CI runs, via `tests/short.rs`): `cargo test -p linedrop-soak`.
//! Long mode (for measuring; prints the figures):
//! `cargo run --release -p linedrop-soak -- --calls 50000 --loss 0.1 --seed 7`.

mod check;
pub mod net;
mod scenario;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use linedrop_core::{
    AppId, CallHandle, CallId, CallIds, CallState, Cause, Direction, Engine, EngineConfig,
    EventKind, Hangup, Ledger, LineConfig, LineId, Now, Origin, Privilege, Release,
};
use linedrop_sip::ua::{LineOptions, SipConfig, SipProvider};
use linedrop_store::{Durability, JournalConfig, RecordWriter, SqliteStore, Store, WriterConfig};

use net::{Link, Net, Rng};
pub use scenario::Scenario;

/// What to run.
#[derive(Debug, Clone)]
pub struct SoakConfig {
    /// How many calls.
    pub calls: usize,
    /// The seed of the scenarios, hold times and the link.
    pub seed: u64,
    /// The link's datagram loss probability.
    pub loss: f64,
    /// Calls start spread over this much simulated time.
    pub window: Duration,
    /// The SQLite file the records go to (created; must not exist).
    pub db: PathBuf,
    /// Carry SIP over simulated TCP connections (no loss; resets as a way to end).
    pub tcp: bool,
}

/// What a run found.
#[derive(Debug, Clone)]
pub struct Report {
    /// Calls placed.
    pub calls: usize,
    /// Records in the database at the end.
    pub records: u64,
    /// Calls by scenario.
    pub by_scenario: BTreeMap<&'static str, usize>,
    /// Connected calls whose session timer expired before the test's action, because the
    /// link lost every retransmission of a refresh (or of its answer) within the margin
    /// RFC 4028 leaves (15 s at the 90 s interval used here): one side records
    /// `policy/session_expired`, the other that or the BYE it got (`remote/normal`). An
    /// outcome of the loss, not of the test; counted, and checked on both sides.
    pub expired_early: usize,
    /// Everything that did not match what the test did (empty on success).
    pub mismatches: Vec<String>,
    /// Both engines' ledgers after release and quiescence.
    pub ledgers: [Ledger; 2],
    /// Causes that came after a call had ended, ignored and counted (both engines).
    pub late_causes: u64,
    /// Messages sent, lost in all, and lost by the link's loss alone (the rest went to a
    /// vanished peer).
    pub datagrams: (u64, u64, u64),
    /// TCP connections opened, and reset by the test.
    pub tcp: (u64, u64),
    /// Simulated time the run took.
    pub simulated: Duration,
}

impl Report {
    /// Whether every check passed.
    pub fn ok(&self) -> bool {
        self.mismatches.is_empty()
            && self.records == 2 * self.calls as u64
            && self.ledgers.iter().all(Ledger::is_quiescent)
    }
}

/// Something the test does at a given time.
#[derive(Debug, Clone, Copy)]
enum Action {
    Dial(usize),
    Answer(usize),
    CallerDrop(usize),
    CalleeDrop(usize),
    CalleeReject(usize),
    Vanish(usize),
    Reset(usize),
}

/// One call of the plan and what became of it.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) scenario: Scenario,
    pub(crate) hold: Duration,
    pub(crate) react: Duration,
    pub(crate) handles: [Option<CallHandle>; 2],
    pub(crate) ids: [Option<CallId>; 2],
    pub(crate) call_ref: Option<Arc<str>>,
    pub(crate) connected: [bool; 2],
    pub(crate) acted: bool,
    /// The test's action on the connected call (hang-up or vanish) has run.
    pub(crate) fired: bool,
    /// What each side recorded when it reached `Idle`.
    pub(crate) ended: [Option<(Origin, Cause)>; 2],
    pub(crate) idle: [bool; 2],
}

struct Sim {
    engines: Vec<Engine<SipProvider>>,
    addrs: [SocketAddr; 2],
    apps: [AppId; 2],
    lines: [LineId; 2],
    line_addr: [String; 2],
    net: Net,
    now: Now,
    plans: Vec<Plan>,
    actions: BTreeMap<(Instant, u64), Action>,
    action_seq: u64,
    by_id: [HashMap<CallId, usize>; 2],
    by_ref: HashMap<Arc<str>, usize>,
    writer: RecordWriter,
    mismatches: Vec<String>,
    idle_sides: usize,
    /// Over TCP: when the idle connections are next closed.
    next_sweep: Instant,
    tcp: bool,
}

/// How often idle TCP connections are looked for (a driver's idle timeout).
const SWEEP: Duration = Duration::from_secs(5);

/// Runs the soak and checks the outcome.
pub fn run(cfg: &SoakConfig) -> Result<Report, String> {
    // As the daemon writes them: through the journal, into a store that syncs its commits.
    let store = SqliteStore::open_with(&cfg.db, Durability::Full).map_err(|e| e.to_string())?;
    let config = WriterConfig {
        journal: Some(JournalConfig::beside(&cfg.db)),
        ..WriterConfig::default()
    };
    let writer = RecordWriter::spawn(store, config).map_err(|e| e.to_string())?;
    let mut sim = Sim::new(cfg, writer)?;
    let start = sim.now.instant;
    let mut rng = Rng::new(cfg.seed ^ 0x5eed);
    let mut by_scenario = BTreeMap::new();
    for i in 0..cfg.calls {
        let scenario = Scenario::pick(&mut rng, cfg.tcp);
        *by_scenario.entry(scenario.name()).or_insert(0) += 1;
        let at = start + cfg.window.mul_f64(i as f64 / cfg.calls.max(1) as f64);
        sim.plans.push(Plan {
            scenario,
            hold: rng.between(Duration::from_secs(1), Duration::from_secs(180)),
            react: rng.between(Duration::from_millis(100), scenario.max_react()),
            ..Plan::default()
        });
        sim.schedule(at, Action::Dial(i));
    }
    sim.run_until_done();
    // Let the tombstones and absorbing timers run out.
    let until = sim.now.instant + Duration::from_secs(600);
    sim.run_to(until);
    let ledgers = [sim.engines[0].ledger(), sim.engines[1].ledger()];
    let late_causes = ledgers.iter().map(|l| l.late_causes).sum();
    let simulated = sim.now.instant - start;
    let datagrams = (sim.net.sent, sim.net.lost, sim.net.lost_by_link);
    let tcp = (sim.net.tcp_opened, sim.net.tcp_reset);
    let Sim {
        writer,
        plans,
        mut mismatches,
        ..
    } = sim;
    writer.close().map_err(|e| e.to_string())?;
    let store = SqliteStore::open(&cfg.db).map_err(|e| e.to_string())?;
    let records = store.count().map_err(|e| e.to_string())?;
    let expired_early = check::check_records(&store, &plans, &mut mismatches)?;
    Ok(Report {
        calls: cfg.calls,
        records,
        by_scenario,
        expired_early,
        mismatches,
        ledgers,
        late_causes,
        datagrams,
        tcp,
        simulated,
    })
}

impl Sim {
    fn new(cfg: &SoakConfig, writer: RecordWriter) -> Result<Self, String> {
        // The run's one clock read: its base instant; time then moves only by simulation.
        let now = Now::new(
            Instant::now(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        );
        let addrs: [SocketAddr; 2] = [
            SocketAddr::from(([127, 0, 0, 1], 5060)),
            SocketAddr::from(([127, 0, 0, 2], 5060)),
        ];
        let mut engines = Vec::new();
        let mut apps = Vec::new();
        let mut lines = Vec::new();
        let mut line_addr = Vec::new();
        for (i, addr) in addrs.iter().enumerate() {
            let ids = CallIds::starting_at(1 + 100_000_000 * i as u64);
            let mut sip = SipConfig::new(*addr);
            if cfg.tcp {
                sip.tcp_addr = Some(*addr);
            }
            sip.rng_seed = cfg.seed ^ (i as u64 + 1);
            let mut e = Engine::new(
                EngineConfig {
                    call_ids: ids.clone(),
                },
                SipProvider::new(sip, ids),
            );
            let address = format!("sip:agent{i}@{addr}");
            let line = e
                .add_line(LineConfig::new(address.clone()))
                .map_err(|e| e.to_string())?;
            // The shortest session interval RFC 4028 allows, so a vanished peer is found
            // within a minute or two of simulated time.
            let opts = LineOptions {
                session_expires: Some(Duration::from_secs(90)),
                ..LineOptions::default()
            };
            e.provider_mut().set_line_options(line, opts)?;
            let app = e.open_app("soak");
            e.open_line(app, line, Privilege::Owner)
                .map_err(|e| e.to_string())?;
            engines.push(e);
            apps.push(app);
            lines.push(line);
            line_addr.push(address);
        }
        let link = Link {
            delay: Duration::from_millis(5),
            jitter: Duration::from_millis(20),
            loss: cfg.loss,
            duplicate: 0.02,
            tcp: cfg.tcp,
        };
        Ok(Sim {
            engines,
            addrs,
            apps: [apps[0], apps[1]],
            lines: [lines[0], lines[1]],
            line_addr: [line_addr[0].clone(), line_addr[1].clone()],
            net: Net::new(link, cfg.seed),
            now,
            plans: Vec::new(),
            actions: BTreeMap::new(),
            action_seq: 0,
            by_id: [HashMap::new(), HashMap::new()],
            by_ref: HashMap::new(),
            writer,
            mismatches: Vec::new(),
            idle_sides: 0,
            next_sweep: now.instant + SWEEP,
            tcp: cfg.tcp,
        })
    }

    fn schedule(&mut self, at: Instant, a: Action) {
        self.action_seq += 1;
        self.actions.insert((at, self.action_seq), a);
    }

    fn run_until_done(&mut self) {
        while self.idle_sides < 2 * self.plans.len() {
            if !self.step(None) {
                self.mismatches.push(format!(
                    "stalled with {} sides not idle",
                    2 * self.plans.len() - self.idle_sides
                ));
                return;
            }
        }
    }

    fn run_to(&mut self, until: Instant) {
        while self.step(Some(until)) {}
        self.now = self.now.advance_to(until);
    }

    /// Settles outputs, then moves to the next event (not past `until`) and runs it.
    /// False when nothing is left to do.
    fn step(&mut self, until: Option<Instant>) -> bool {
        self.settle();
        let timers = self.engines.iter().filter_map(|e| e.poll_timeout()).min();
        let sweep = (self.net.open_connections() > 0).then_some(self.next_sweep);
        let next = [
            self.net.next_arrival(),
            timers,
            self.actions.keys().next().map(|(t, _)| *t),
            sweep,
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else { return false };
        if until.is_some_and(|u| next > u) {
            return false;
        }
        self.now = self.now.advance_to(next);
        let now = self.now;
        self.net.deliver(now, &mut self.engines);
        while let Some(entry) = self.actions.first_entry() {
            if entry.key().0 > now.instant {
                break;
            }
            let a = entry.remove();
            self.act(a);
        }
        for e in &mut self.engines {
            if e.poll_timeout().is_some_and(|t| t <= now.instant) {
                e.handle_timeout(now);
            }
        }
        if self.next_sweep <= now.instant {
            self.next_sweep = now.instant + SWEEP;
            self.net.close_idle(now, &mut self.engines);
        }
        true
    }

    /// Moves every output into the network, the store and the test's reactions, until
    /// nothing more comes.
    fn settle(&mut self) {
        loop {
            let mut any = false;
            for i in 0..2 {
                while let Some(ev) = self.engines[i].poll_event() {
                    any = true;
                    self.on_event(i, ev.call, ev.handle, ev.kind);
                }
                while let Some(r) = self.engines[i].poll_record() {
                    if let Err(e) = self.writer.send(r, self.line_addr[i].as_str()) {
                        self.mismatches.push(format!("record not sent: {e}"));
                    }
                }
                self.net
                    .collect(self.now, i, &mut self.engines, &self.addrs);
            }
            if !any {
                return;
            }
        }
    }

    fn act(&mut self, a: Action) {
        let now = self.now;
        if let Action::CallerDrop(i)
        | Action::CalleeDrop(i)
        | Action::Vanish(i)
        | Action::Reset(i) = a
        {
            // A call the network already ended (see `Report::expired_early`) is left alone:
            // the judge compares its endings with what the loss explains.
            if !self.live(i) {
                return;
            }
            self.plans[i].fired = true;
        }
        let result = match a {
            Action::Dial(i) => {
                let tcp = if self.tcp { ";transport=tcp" } else { "" };
                let uri = format!("sip:agent1@{}{tcp}", self.addrs[1]);
                match self.engines[0].dial(now, self.apps[0], self.lines[0], &uri) {
                    Ok(h) => {
                        let info = self.engines[0].info(h).ok();
                        let id = info.as_ref().map(|i| i.id);
                        let call_ref = info.and_then(|i| i.facts.call_ref);
                        if let Some(id) = id {
                            self.by_id[0].insert(id, i);
                        }
                        if let Some(r) = &call_ref {
                            self.by_ref.insert(r.clone(), i);
                        }
                        let p = &mut self.plans[i];
                        p.handles[0] = Some(h);
                        p.ids[0] = id;
                        p.call_ref = call_ref;
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Action::Answer(i) => self.with(1, i, |e, h| e.answer(now, h)),
            Action::CallerDrop(i) => self.with(0, i, |e, h| e.drop_call(now, h, Hangup::default())),
            Action::CalleeDrop(i) => self.with(1, i, |e, h| e.drop_call(now, h, Hangup::default())),
            Action::CalleeReject(i) => self.with(1, i, |e, h| {
                let busy = Hangup {
                    cause: Some(Cause::Busy),
                    sip_status: Some(486),
                    ..Hangup::default()
                };
                e.reject(now, h, busy)
            }),
            Action::Vanish(i) => {
                if let Some(r) = self.plans[i].call_ref.clone() {
                    self.net.blackholed.insert(r.to_string());
                }
                Ok(())
            }
            Action::Reset(i) => {
                if let Some(r) = self.plans[i].call_ref.clone() {
                    self.net.reset_call(now, &r, &mut self.engines);
                }
                Ok(())
            }
        };
        if let Err(e) = result {
            self.mismatches.push(format!("{a:?}: {e}"));
        }
    }

    /// Whether neither side of call `i` has ended yet.
    fn live(&self, i: usize) -> bool {
        (0..2).all(|side| {
            self.plans[i].handles[side]
                .and_then(|h| self.engines[side].info(h).ok())
                .is_some_and(|info| info.termination.is_none())
        })
    }

    fn with(
        &mut self,
        side: usize,
        i: usize,
        f: impl FnOnce(&mut Engine<SipProvider>, CallHandle) -> Result<(), linedrop_core::Error>,
    ) -> Result<(), linedrop_core::Error> {
        match self.plans[i].handles[side] {
            Some(h) => f(&mut self.engines[side], h),
            None => Err(linedrop_core::Error::InvalidHandle),
        }
    }

    fn on_event(&mut self, side: usize, call: CallId, handle: CallHandle, kind: EventKind) {
        match kind {
            EventKind::NewCall {
                direction: Direction::Inbound,
                ..
            } => self.on_offer(call, handle),
            EventKind::State {
                to: CallState::Connected,
                ..
            } => self.on_connected(side, call),
            // Any provisional: a CANCEL can go (RFC 3261 §9.1), so the no-answer limit is
            // what ends a call that vanishes from here on.
            EventKind::State {
                to: CallState::Proceeding | CallState::Ringback,
                ..
            } if side == 0 => self.on_ringback(call),
            EventKind::State {
                to: CallState::Idle,
                ..
            } => self.on_idle(side, call, handle),
            _ => {}
        }
    }

    fn on_offer(&mut self, call: CallId, handle: CallHandle) {
        let now = self.now;
        let call_ref = self.engines[1]
            .info(handle)
            .ok()
            .and_then(|i| i.facts.call_ref);
        let Some(i) = call_ref.and_then(|r| self.by_ref.get(&r).copied()) else {
            self.mismatches
                .push(format!("unknown inbound call {call:?}"));
            return;
        };
        self.by_id[1].insert(call, i);
        let p = &mut self.plans[i];
        p.handles[1] = Some(handle);
        p.ids[1] = Some(call);
        let (scenario, at) = (p.scenario, now.instant + p.react);
        if scenario != Scenario::CalleeRejects {
            // Ring (180), so that a CANCEL may go at once.
            if let Err(e) = self.engines[1].accept(now, handle) {
                self.mismatches.push(format!("accept {i}: {e}"));
            }
        }
        let a = match scenario {
            Scenario::CalleeRejects => Action::CalleeReject(i),
            Scenario::CallerCancels => Action::CallerDrop(i),
            // Vanishes once the caller has heard a provisional (see `on_ringback`): before
            // that, the caller's end would be Timer B, not its no-answer limit.
            Scenario::VanishWhileRinging => return,
            _ => Action::Answer(i),
        };
        self.schedule(at, a);
    }

    fn on_ringback(&mut self, call: CallId) {
        let Some(&i) = self.by_id[0].get(&call) else {
            return;
        };
        let p = &mut self.plans[i];
        if p.scenario == Scenario::VanishWhileRinging && !p.acted {
            p.acted = true;
            let at = self.now.instant + p.react;
            self.schedule(at, Action::Vanish(i));
        }
    }

    fn on_connected(&mut self, side: usize, call: CallId) {
        let Some(&i) = self.by_id[side].get(&call) else {
            return;
        };
        let now = self.now.instant;
        let p = &mut self.plans[i];
        p.connected[side] = true;
        if !(p.connected[0] && p.connected[1]) || p.acted {
            return;
        }
        p.acted = true;
        let at = now + p.hold;
        let a = match p.scenario {
            Scenario::CallerHangsUp => Action::CallerDrop(i),
            Scenario::CalleeHangsUp => Action::CalleeDrop(i),
            Scenario::VanishWhileConnected => Action::Vanish(i),
            Scenario::ResetWhileConnected => Action::Reset(i),
            _ => return,
        };
        self.schedule(at, a);
    }

    fn on_idle(&mut self, side: usize, call: CallId, handle: CallHandle) {
        let now = self.now;
        let Some(&i) = self.by_id[side].get(&call) else {
            self.mismatches
                .push(format!("unknown call {call:?} went idle"));
            return;
        };
        self.plans[i].ended[side] = self.engines[side]
            .info(handle)
            .ok()
            .and_then(|info| info.termination)
            .map(|t| (t.origin, t.cause));
        if let Err(e) = self.engines[side].release(now, handle, Release::Explicit) {
            self.mismatches.push(format!("release {i}/{side}: {e}"));
        }
        self.by_id[side].remove(&call);
        let p = &mut self.plans[i];
        p.idle[side] = true;
        p.handles[side] = None;
        self.idle_sides += 1;
        if p.idle[0] && p.idle[1] {
            if let Some(r) = &p.call_ref {
                self.by_ref.remove(r);
                self.net.blackholed.remove(&**r);
            }
        }
    }
}

//! The session model's invariants, checked after every step of random operation sequences
//! against a small reference model of the rules (in the manner of firezone's proptest state
//! machines).
//!
//! Three apps and three lines; apps dial each other's lines and a scripted far end, answer,
//! reject, drop, release, change privilege, close lines and themselves; the far end rings,
//! answers, hangs up and fails; time jumps. After every step: exactly one termination per
//! ended call, `Idle` never left, info readable until release and `invalid_handle` after,
//! refused operations change nothing, per-app event sequence numbers have no gap, the
//! provider's state is closed at most once (and exactly once at the end), every call reaches
//! `Idle` no later than the engine promised, and at quiescence the ledger is all zeros.
//! Cases: 5,000 by default (`PROPTEST_CASES` overrides).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant, SystemTime};

use linedrop_core::*;
use proptest::prelude::*;

const TEARDOWN: Duration = Duration::from_secs(2);
const FAR: &str = "sip:far@far.test";

#[derive(Debug, Clone)]
enum Target {
    Line(u8),
    Far,
    Bad,
}

#[derive(Debug, Clone)]
enum Op {
    Dial {
        app: u8,
        line: u8,
        to: Target,
    },
    Accept {
        app: u8,
        pick: u8,
    },
    Answer {
        app: u8,
        pick: u8,
    },
    Reject {
        app: u8,
        pick: u8,
        status: Option<u16>,
    },
    Drop {
        app: u8,
        pick: u8,
        q850: Option<u8>,
    },
    Release {
        app: u8,
        pick: u8,
        how: u8,
    },
    SetPrivilege {
        app: u8,
        pick: u8,
        owner: bool,
    },
    Info {
        app: u8,
        pick: u8,
    },
    RemoteCall {
        line: u8,
    },
    RemoteProgress {
        pick: u8,
        ringing: bool,
    },
    RemoteAnswer {
        pick: u8,
    },
    RemoteEnd {
        pick: u8,
        status: Option<u16>,
    },
    NetworkFailure {
        pick: u8,
    },
    Tick {
        secs: u16,
    },
    CloseLine {
        app: u8,
        line: u8,
    },
    OpenLine {
        app: u8,
        line: u8,
        owner: bool,
    },
    CloseApp {
        app: u8,
    },
    Shutdown,
}

fn op() -> impl Strategy<Value = Op> {
    let app = 0u8..3;
    let line = 0u8..3;
    let pick = any::<u8>();
    let target = prop_oneof![4 => (0u8..3).prop_map(Target::Line), 3 => Just(Target::Far), 1 => Just(Target::Bad)];
    prop_oneof![
        6 => (app.clone(), line.clone(), target).prop_map(|(app, line, to)| Op::Dial { app, line, to }),
        3 => (app.clone(), pick).prop_map(|(app, pick)| Op::Accept { app, pick }),
        4 => (app.clone(), pick).prop_map(|(app, pick)| Op::Answer { app, pick }),
        2 => (app.clone(), pick, prop::option::of(prop_oneof![Just(486u16), Just(603), Just(200), 300u16..700]))
            .prop_map(|(app, pick, status)| Op::Reject { app, pick, status }),
        4 => (app.clone(), pick, prop::option::of(0u8..130)).prop_map(|(app, pick, q850)| Op::Drop { app, pick, q850 }),
        4 => (app.clone(), pick, 0u8..3).prop_map(|(app, pick, how)| Op::Release { app, pick, how }),
        2 => (app.clone(), pick, any::<bool>()).prop_map(|(app, pick, owner)| Op::SetPrivilege { app, pick, owner }),
        1 => (app.clone(), pick).prop_map(|(app, pick)| Op::Info { app, pick }),
        3 => line.clone().prop_map(|line| Op::RemoteCall { line }),
        2 => (pick, any::<bool>()).prop_map(|(pick, ringing)| Op::RemoteProgress { pick, ringing }),
        3 => pick.prop_map(|pick| Op::RemoteAnswer { pick }),
        3 => (pick, prop::option::of(prop_oneof![Just(486u16), Just(404), Just(503), Just(603)]))
            .prop_map(|(pick, status)| Op::RemoteEnd { pick, status }),
        1 => pick.prop_map(|pick| Op::NetworkFailure { pick }),
        4 => prop_oneof![0u16..5, 0u16..150].prop_map(|secs| Op::Tick { secs }),
        1 => (app.clone(), line.clone()).prop_map(|(app, line)| Op::CloseLine { app, line }),
        1 => (app.clone(), line.clone(), any::<bool>()).prop_map(|(app, line, owner)| Op::OpenLine { app, line, owner }),
        1 => app.clone().prop_map(|app| Op::CloseApp { app }),
        1 => prop_oneof![99 => Just(None), 1 => Just(Some(()))].prop_map(|s| match s {
            Some(()) => Op::Shutdown,
            None => Op::Tick { secs: 1 },
        }),
    ]
}

/// What the model remembers about one call.
#[derive(Debug, Default)]
struct Track {
    termination: Option<Termination>,
    idle: bool,
    /// The earliest `idle_deadline` the engine ever promised.
    deadline: Option<Instant>,
    created: u32,
    ended: u32,
    /// Apps that got a `Terminated` event for it.
    terminated_to: BTreeMap<AppId, u32>,
}

struct Sim {
    engine: Engine<LoopbackProvider>,
    base: Now,
    now: Now,
    apps: [AppId; 3],
    lines: [LineId; 3],
    addresses: [String; 3],
    /// What each app opened, as the model believes.
    opened: BTreeMap<(usize, usize), Privilege>,
    /// Handles the model believes valid, per app slot.
    known: [Vec<CallHandle>; 3],
    /// Handles that must be invalid forever.
    released: Vec<CallHandle>,
    /// Calls that have a scripted far end.
    scripted: Vec<CallId>,
    /// Inbound calls the model answered (a second answer is refused).
    answered: BTreeSet<CallId>,
    calls: HashMap<CallId, Track>,
    seqs: HashMap<AppId, u64>,
    shut: bool,
}

impl Sim {
    fn new() -> Self {
        let ids = CallIds::default();
        let provider = LoopbackProvider::new(ids.clone(), TEARDOWN);
        let mut engine = Engine::new(EngineConfig { call_ids: ids }, provider);
        let policy = LinePolicy {
            no_answer: Duration::from_secs(30),
            offer_timeout: Duration::from_secs(20),
            max_duration: Duration::from_secs(100),
            unattended: Unattended::Offer,
        };
        // Each line treats calls nobody owns differently (a line loses its owner when its
        // app closes it): refuse; answer and hang up after a hold; reject busy.
        let unattended = [
            Unattended::Offer,
            Unattended::Answer {
                hold: Some(Duration::from_secs(15)),
            },
            Unattended::Reject { status: 486 },
        ];
        let addresses = [
            "sip:l0@x.test".to_string(),
            "sip:l1@x.test".into(),
            "sip:l2@x.test".into(),
        ];
        let mut lines = [LineId::from_bits(0); 3];
        for i in 0..3 {
            let policy = LinePolicy {
                unattended: unattended[i],
                ..policy
            };
            let config = LineConfig {
                address: addresses[i].clone(),
                policy,
            };
            lines[i] = engine.add_line(config).unwrap();
        }
        let apps = ["a0", "a1", "a2"].map(|n| engine.open_app(n));
        let mut opened = BTreeMap::new();
        for (app, line, p) in [
            (0, 0, Privilege::Owner),
            (1, 1, Privilege::Owner),
            (1, 0, Privilege::Monitor),
            (2, 1, Privilege::Monitor),
            (2, 2, Privilege::Owner),
        ] {
            engine.open_line(apps[app], lines[line], p).unwrap();
            opened.insert((app, line), p);
        }
        // A test's one clock read: its base instant; time then moves only by hand.
        #[allow(clippy::disallowed_methods)]
        let base = Now::new(
            Instant::now(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        );
        Self {
            engine,
            base,
            now: base,
            apps,
            lines,
            addresses,
            opened,
            known: Default::default(),
            released: Vec::new(),
            scripted: Vec::new(),
            answered: BTreeSet::new(),
            calls: HashMap::new(),
            seqs: HashMap::new(),
            shut: false,
        }
    }

    /// A handle of `app`: a known one, or (if it has none) a released one.
    fn pick(&self, app: usize, pick: u8) -> Option<CallHandle> {
        let known = &self.known[app];
        if !known.is_empty() {
            return Some(known[pick as usize % known.len()]);
        }
        (!self.released.is_empty()).then(|| self.released[pick as usize % self.released.len()])
    }

    fn forget(&mut self, handle: CallHandle) {
        for k in &mut self.known {
            k.retain(|h| *h != handle);
        }
        self.released.push(handle);
    }

    fn snapshot(&self) -> String {
        let mut s = format!("{:?}\n", self.engine.ledger());
        for k in &self.known {
            for h in k {
                s.push_str(&format!("{h}: {:?}\n", self.engine.info(*h)));
            }
        }
        s
    }

    fn apply(&mut self, op: &Op) {
        let before = self.snapshot();
        let now = self.now;
        let result: Result<(), Error> = match *op {
            Op::Dial { app, line, ref to } => self.dial(app as usize, line as usize, to),
            Op::Accept { app, pick } => self.with_handle(app, pick, |s, h, pre| {
                let got = s.engine.accept(now, h);
                expect(&got, pre, true, |i, _| {
                    (i.state != CallState::Offering).then_some("invalid_state")
                });
                got
            }),
            Op::Answer { app, pick } => self.with_handle(app, pick, |s, h, pre| {
                let answered = pre.is_some_and(|(i, _)| s.answered.contains(&i.id));
                let got = s.engine.answer(now, h);
                expect(&got, pre, true, |i, _| {
                    (!i.state.is_inbound_setup() || answered).then_some("invalid_state")
                });
                if let (Ok(()), Some((i, _))) = (&got, pre) {
                    s.answered.insert(i.id);
                }
                got
            }),
            Op::Reject { app, pick, status } => self.with_handle(app, pick, |s, h, pre| {
                let answered = pre.is_some_and(|(i, _)| s.answered.contains(&i.id));
                let hangup = Hangup {
                    sip_status: status,
                    ..Hangup::default()
                };
                let got = s.engine.reject(now, h, hangup);
                expect(&got, pre, true, |i, _| {
                    if !i.state.is_inbound_setup() || answered {
                        Some("invalid_state")
                    } else if status.is_some_and(|st| !(400..=699).contains(&st)) {
                        Some("invalid_argument")
                    } else {
                        None
                    }
                });
                if got.is_ok() {
                    let t = s.engine.info(h).unwrap().termination.unwrap();
                    assert_eq!(t.origin, Origin::Local);
                    assert_eq!(t.sip_status, Some(status.unwrap_or(603)));
                }
                got
            }),
            Op::Drop { app, pick, q850 } => self.with_handle(app, pick, |s, h, pre| {
                let hangup = Hangup {
                    q850,
                    ..Hangup::default()
                };
                let got = s.engine.drop_call(now, h, hangup);
                expect(&got, pre, true, |i, _| match i.state {
                    CallState::Idle => Some("invalid_state"),
                    CallState::Disconnected => None,
                    _ if q850.is_some_and(|q| !(1..=127).contains(&q)) => Some("invalid_argument"),
                    _ => None,
                });
                if let (Ok(()), Some((i, _))) = (&got, pre) {
                    let t = s.engine.info(h).unwrap().termination.unwrap();
                    if i.state.is_live() {
                        assert_eq!(t.origin, Origin::Local, "a drop of a live call is local");
                        if let Some(q) = q850 {
                            assert_eq!(t.q850, Some(q));
                        }
                    } else {
                        assert_eq!(
                            Some(t),
                            i.termination,
                            "dropping an ending call changes nothing"
                        );
                    }
                }
                got
            }),
            Op::Release { app, pick, how } => self.with_handle(app, pick, |s, h, pre| {
                let how = [Release::Explicit, Release::DropFirst, Release::Implicit][how as usize];
                let got = s.engine.release(now, h, how);
                expect(&got, pre, false, |i, mine| {
                    let sole = mine == Privilege::Owner && i.owners() == 1;
                    (how == Release::Explicit && sole && i.state.is_live()).then_some("call_active")
                });
                if got.is_ok() {
                    s.forget(h);
                    assert_eq!(s.engine.info(h), Err(Error::InvalidHandle));
                }
                got
            }),
            Op::SetPrivilege { app, pick, owner } => self.with_handle(app, pick, |s, h, pre| {
                let p = if owner {
                    Privilege::Owner
                } else {
                    Privilege::Monitor
                };
                let got = s.engine.set_privilege(h, p);
                expect(&got, pre, false, |i, mine| {
                    let sole = mine == Privilege::Owner && i.owners() == 1;
                    (p == Privilege::Monitor && sole && i.state != CallState::Idle)
                        .then_some("invalid_state")
                });
                got
            }),
            Op::Info { app, pick } => self.with_handle(app, pick, |s, h, pre| {
                let got = s.engine.info(h).map(|_| ());
                expect(&got, pre, false, |_, _| None);
                got
            }),
            Op::RemoteCall { line } => {
                let address = self.addresses[line as usize].clone();
                if let Some(id) = self.engine.provider_mut().remote_call(FAR, &address) {
                    self.scripted.push(id);
                }
                self.engine.pump(now);
                Ok(())
            }
            Op::RemoteProgress { pick, ringing } => {
                if let Some(id) = self.scripted_pick(pick) {
                    let st = if ringing {
                        CallState::Ringback
                    } else {
                        CallState::Proceeding
                    };
                    self.engine.provider_mut().remote_progress(id, st);
                    self.engine.pump(now);
                }
                Ok(())
            }
            Op::RemoteAnswer { pick } => {
                if let Some(id) = self.scripted_pick(pick) {
                    self.engine.provider_mut().remote_answer(id);
                    self.engine.pump(now);
                }
                Ok(())
            }
            Op::RemoteEnd { pick, status } => {
                if let Some(id) = self.scripted_pick(pick) {
                    self.engine.provider_mut().remote_end(id, status);
                    self.engine.pump(now);
                }
                Ok(())
            }
            Op::NetworkFailure { pick } => {
                if let Some(id) = self.scripted_pick(pick) {
                    self.engine.provider_mut().network_failure(id);
                    self.engine.pump(now);
                }
                Ok(())
            }
            Op::Tick { secs } => {
                self.advance(Duration::from_secs(secs.into()));
                Ok(())
            }
            Op::CloseLine { app, line } => self.close_line(app as usize, line as usize),
            Op::OpenLine { app, line, owner } => {
                let (a, l) = (app as usize, line as usize);
                let p = if owner {
                    Privilege::Owner
                } else {
                    Privilege::Monitor
                };
                let got = self.engine.open_line(self.apps[a], self.lines[l], p);
                assert_eq!(got.is_ok(), !self.opened.contains_key(&(a, l)), "{got:?}");
                if got.is_ok() {
                    self.opened.insert((a, l), p);
                }
                got
            }
            Op::CloseApp { app } => {
                let a = app as usize;
                let old = self.apps[a];
                self.engine.close_app(now, old).unwrap();
                for h in std::mem::take(&mut self.known[a]) {
                    self.released.push(h);
                }
                self.opened.retain(|(x, _), _| *x != a);
                self.apps[a] = self.engine.open_app("reopened");
                assert_ne!(self.apps[a], old, "a new app never takes an old id");
                Ok(())
            }
            Op::Shutdown => {
                self.engine.shutdown(now);
                self.shut = true;
                Ok(())
            }
        };
        if result.is_err() {
            assert_eq!(self.snapshot(), before, "refused {op:?} changed something");
        }
        self.observe();
    }

    fn scripted_pick(&self, pick: u8) -> Option<CallId> {
        (!self.scripted.is_empty()).then(|| self.scripted[pick as usize % self.scripted.len()])
    }

    /// Runs `f` on one of `app`'s handles, with its info before the operation (`None` for
    /// a handle that must be invalid) and the app's privilege on it.
    fn with_handle(
        &mut self,
        app: u8,
        pick: u8,
        f: impl FnOnce(&mut Self, CallHandle, Option<(&CallInfo, Privilege)>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let a = app as usize;
        let Some(h) = self.pick(a, pick) else {
            return Ok(());
        };
        let pre = self.engine.info(h).ok();
        let mine = pre.as_ref().map(|i| {
            i.holders
                .iter()
                .find(|x| x.app == self.apps[a])
                .map(|x| x.privilege)
                .unwrap()
        });
        let got = f(self, h, pre.as_ref().zip(mine));
        if pre.is_none() {
            assert_eq!(got, Err(Error::InvalidHandle), "released handle accepted");
        }
        got
    }

    fn dial(&mut self, a: usize, l: usize, to: &Target) -> Result<(), Error> {
        let dest = match to {
            Target::Line(k) => self.addresses[*k as usize].clone(),
            Target::Far => FAR.to_string(),
            Target::Bad => "nohost".to_string(),
        };
        let got = self
            .engine
            .dial(self.now, self.apps[a], self.lines[l], &dest);
        let want = if self.opened.get(&(a, l)) != Some(&Privilege::Owner) {
            Some("line_not_open")
        } else if self.shut {
            Some("shutting_down")
        } else if matches!(to, Target::Bad) {
            Some("bad_address")
        } else {
            None
        };
        assert_eq!(got.as_ref().err().map(Error::code), want, "dial {got:?}");
        let h = got?;
        let info = self.engine.info(h).unwrap();
        assert_eq!(
            info.holders[0],
            Holder {
                app: self.apps[a],
                privilege: Privilege::Owner
            }
        );
        if matches!(to, Target::Far) {
            self.scripted.push(info.id);
        }
        Ok(())
    }

    fn close_line(&mut self, a: usize, l: usize) -> Result<(), Error> {
        let on_line: Vec<CallHandle> = self.known[a]
            .iter()
            .copied()
            .filter(|h| self.engine.info(*h).unwrap().line == self.lines[l])
            .collect();
        let got = self
            .engine
            .close_line(self.now, self.apps[a], self.lines[l]);
        assert_eq!(got.is_ok(), self.opened.contains_key(&(a, l)), "{got:?}");
        if got.is_ok() {
            self.opened.remove(&(a, l));
            for h in on_line {
                self.forget(h);
            }
        }
        got
    }

    fn advance(&mut self, by: Duration) {
        let target = self.now.instant + by;
        while let Some(at) = self.engine.poll_timeout() {
            if at > target {
                break;
            }
            self.now = self.now.advance_to(at);
            self.engine.handle_timeout(self.now);
        }
        self.now = self.now.advance_to(target);
    }

    fn instant_of(&self, wall: SystemTime) -> Instant {
        self.base.instant + wall.duration_since(self.base.wall).unwrap()
    }

    /// Drains outputs and checks every invariant.
    fn observe(&mut self) {
        while let Some(ev) = self.engine.poll_event() {
            let seq = self.seqs.entry(ev.app).or_insert(0);
            assert_eq!(ev.seq, *seq + 1, "gap in app {}'s events", ev.app);
            *seq = ev.seq;
            let track = self.calls.entry(ev.call).or_default();
            match &ev.kind {
                EventKind::NewCall { direction, .. } => {
                    if let Some(slot) = self.apps.iter().position(|a| *a == ev.app) {
                        self.known[slot].push(ev.handle);
                    }
                    // A call on the auto-answer line that no app owns was answered by the
                    // line itself: a later owner cannot answer or reject it again.
                    let info = self.engine.info(ev.handle).unwrap();
                    if *direction == Direction::Inbound
                        && info.owners() == 0
                        && info.line == self.lines[1]
                    {
                        self.answered.insert(ev.call);
                    }
                }
                EventKind::Terminated(t) => {
                    let n = track.terminated_to.entry(ev.app).or_insert(0);
                    *n += 1;
                    assert_eq!(*n, 1, "two terminations of {} for one app", ev.call);
                    if let Some(prev) = &track.termination {
                        assert_eq!(prev, t, "termination rewritten");
                    }
                }
                _ => {}
            }
        }
        while let Some(r) = self.engine.poll_record() {
            match r {
                RecordUpdate::Created(i) => self.calls.entry(i.id).or_default().created += 1,
                RecordUpdate::Ended(i) => {
                    assert_eq!(i.state, CallState::Idle);
                    assert!(
                        i.termination.is_some(),
                        "an ended record without a termination"
                    );
                    let t = self.calls.entry(i.id).or_default();
                    t.ended += 1;
                    assert_eq!(t.ended, 1, "two end records for {}", i.id);
                }
            }
        }
        let mut total = 0;
        for slot in 0..3 {
            for h in self.known[slot].clone() {
                total += 1;
                let info = self
                    .engine
                    .info(h)
                    .unwrap_or_else(|e| panic!("{h} should be valid: {e}"));
                self.check_call(h, &info);
            }
        }
        assert_eq!(
            self.engine.ledger().handles,
            total,
            "the model and the engine disagree on valid handles"
        );
        for h in &self.released {
            assert_eq!(self.engine.info(*h), Err(Error::InvalidHandle));
        }
        for (call, n) in self.engine.provider().closes() {
            assert_eq!(*n, 1, "{call} closed {n} times");
        }
        let ledger = self.engine.ledger();
        assert_eq!(
            ledger.forced_teardowns, 0,
            "the loopback always tears down in time"
        );
    }

    fn check_call(&mut self, h: CallHandle, info: &CallInfo) {
        assert_eq!(
            self.engine.provider().close_count(info.id),
            0,
            "closed while held"
        );
        let ended = matches!(info.state, CallState::Disconnected | CallState::Idle);
        assert_eq!(
            info.termination.is_some(),
            ended,
            "termination iff ended: {info:?}"
        );
        let deadline =
            (info.state != CallState::Idle).then(|| self.engine.idle_deadline(h).unwrap());
        let idle_at = info.entered.at(CallState::Idle).map(|w| self.instant_of(w));
        let track = self.calls.entry(info.id).or_default();
        if let Some(prev) = &track.termination {
            assert_eq!(
                Some(prev),
                info.termination.as_ref(),
                "termination rewritten"
            );
        }
        track.termination.clone_from(&info.termination);
        if track.idle {
            assert_eq!(info.state, CallState::Idle, "left idle");
        }
        track.idle = info.state == CallState::Idle;
        if let Some(d) = deadline {
            track.deadline = Some(track.deadline.map_or(d, |p| p.min(d)));
        }
        if let (Some(idle), Some(d)) = (idle_at, track.deadline) {
            assert!(
                idle <= d,
                "{} reached idle after its promised deadline",
                info.id
            );
        }
    }

    /// Releases everything, runs out the timers, and checks nothing is left.
    fn quiesce(&mut self) {
        for slot in 0..3 {
            for h in self.known[slot].clone() {
                self.engine
                    .release(self.now, h, Release::DropFirst)
                    .unwrap();
                self.forget(h);
            }
        }
        self.advance(Duration::from_secs(24 * 3600));
        self.observe();
        let ledger = self.engine.ledger();
        assert!(ledger.is_quiescent(), "not quiescent: {ledger:?}");
        for (id, t) in &self.calls {
            assert_eq!(
                (t.created, t.ended),
                (1, 1),
                "{id}: every call has one row, completed once"
            );
            assert_eq!(
                self.engine.provider().close_count(*id),
                1,
                "{id} closed exactly once"
            );
        }
    }
}

/// Checks an operation's outcome against the model's prediction. `rule` gives the expected
/// error code for a valid handle (`None`: success); ownership is checked here for all.
fn expect(
    got: &Result<(), Error>,
    pre: Option<(&CallInfo, Privilege)>,
    owner_op: bool,
    rule: impl FnOnce(&CallInfo, Privilege) -> Option<&'static str>,
) {
    let Some((info, mine)) = pre else { return };
    let want = if owner_op && mine == Privilege::Monitor {
        Some("not_owner")
    } else {
        rule(info, mine)
    };
    let got_code = got.as_ref().err().map(Error::code);
    assert_eq!(got_code, want, "state {} mine {mine:?}", info.state);
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn every_call_ends_once_and_releasing_everything_leaves_nothing(ops in prop::collection::vec(op(), 1..80)) {
        let mut sim = Sim::new();
        for op in &ops {
            sim.apply(op);
        }
        sim.quiesce();
    }
}

#[test]
fn monitors_get_not_owner_for_every_owner_operation() {
    let mut sim = Sim::new();
    sim.dial(0, 0, &Target::Far).unwrap();
    sim.observe();
    let mon = sim.known[1][0];
    let now = sim.now;
    assert_eq!(
        sim.engine.drop_call(now, mon, Hangup::default()),
        Err(Error::NotOwner)
    );
    assert_eq!(sim.engine.answer(now, mon), Err(Error::NotOwner));
    assert_eq!(sim.engine.accept(now, mon), Err(Error::NotOwner));
    assert_eq!(
        sim.engine.reject(now, mon, Hangup::default()),
        Err(Error::NotOwner)
    );
}

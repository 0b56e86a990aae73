//! Each way a call can end, through the loopback provider: the termination it gets, the
//! records it leaves, and that releasing it frees everything.

mod common;

use std::time::Duration;

use common::*;
use linedrop_core::*;

fn connected_pair(h: &mut Harness) -> (CallHandle, CallHandle) {
    let out = h.engine.dial(h.now, h.app, h.alice, BOB).unwrap();
    let inb = h.offered(h.app);
    h.engine.accept(h.now, inb).unwrap();
    assert_eq!(h.info(out).state, CallState::Ringback);
    h.engine.answer(h.now, inb).unwrap();
    assert_eq!(h.info(out).state, CallState::Connected);
    assert_eq!(h.info(inb).state, CallState::Connected);
    (out, inb)
}

#[test]
fn local_hangup_is_local_normal_bye_and_the_far_leg_sees_remote() {
    let mut h = Harness::new(Duration::from_secs(2));
    let (out, inb) = connected_pair(&mut h);
    h.advance(Duration::from_secs(10));
    h.engine.drop_call(h.now, out, Hangup::default()).unwrap();
    assert_eq!(
        h.info(out).state,
        CallState::Disconnected,
        "teardown still in flight"
    );
    h.advance(Duration::from_secs(2));
    let info = h.info(out);
    assert_eq!(info.state, CallState::Idle);
    let t = info.termination.unwrap();
    assert_eq!(
        (t.origin, t.cause, t.wire, t.q850),
        (Origin::Local, Cause::Normal, WireEnd::Bye, Some(16))
    );
    assert_eq!(info.talk_duration, Some(Duration::from_secs(10)));
    let far = h.termination(inb);
    assert_eq!(
        (far.origin, far.cause, far.wire),
        (Origin::Remote, Cause::Normal, WireEnd::Bye)
    );
    h.quiesce();
    assert!(h.engine.ledger().is_quiescent(), "{:?}", h.engine.ledger());
}

#[test]
fn cancel_before_answer_and_reject_of_an_offer() {
    let mut h = Harness::new(Duration::ZERO);
    let out = h.engine.dial(h.now, h.app, h.alice, BOB).unwrap();
    let inb = h.offered(h.app);
    h.engine.drop_call(h.now, out, Hangup::default()).unwrap();
    let t = h.termination(out);
    assert_eq!(
        (t.origin, t.cause, t.wire, t.sip_status),
        (Origin::Local, Cause::Cancelled, WireEnd::Cancel, Some(487))
    );
    let t = h.termination(inb);
    assert_eq!(
        (t.origin, t.cause, t.wire),
        (Origin::Remote, Cause::Cancelled, WireEnd::Cancel)
    );

    let out = h.engine.dial(h.now, h.app, h.alice, BOB).unwrap();
    let inb = h.offered(h.app);
    let busy = Hangup {
        sip_status: Some(486),
        ..Hangup::default()
    };
    h.engine.reject(h.now, inb, busy).unwrap();
    let t = h.termination(inb);
    assert_eq!(
        (t.origin, t.cause, t.wire, t.sip_status),
        (
            Origin::Local,
            Cause::Busy,
            WireEnd::FinalResponse,
            Some(486)
        )
    );
    let t = h.termination(out);
    assert_eq!(
        (t.origin, t.cause, t.sip_status),
        (Origin::Remote, Cause::Busy, Some(486))
    );
    assert_eq!(t.cause.disconnect_mode(), disconnect_mode::BUSY);
}

#[test]
fn remote_and_network_endings_from_a_scripted_far_end() {
    let mut h = Harness::new(Duration::from_secs(1));
    let out = h.engine.dial(h.now, h.app, h.alice, FAR).unwrap();
    let id = h.engine.call_id(out).unwrap();
    h.engine
        .provider_mut()
        .remote_progress(id, CallState::Proceeding);
    h.engine
        .provider_mut()
        .remote_progress(id, CallState::Ringback);
    h.engine.provider_mut().remote_answer(id);
    h.engine.pump(h.now);
    assert_eq!(h.info(out).state, CallState::Connected);
    h.engine.provider_mut().remote_end(id, None);
    h.engine.pump(h.now);
    let t = h.termination(out);
    assert_eq!(
        (t.origin, t.cause, t.wire),
        (Origin::Remote, Cause::Normal, WireEnd::Bye)
    );
    assert_eq!(h.info(out).state, CallState::Idle);

    let out = h.engine.dial(h.now, h.app, h.alice, FAR).unwrap();
    let id = h.engine.call_id(out).unwrap();
    h.engine.provider_mut().network_failure(id);
    h.engine.pump(h.now);
    let t = h.termination(out);
    assert_eq!(
        (t.origin, t.cause),
        (Origin::Network, Cause::TransportFailure)
    );
}

#[test]
fn policies_end_calls_with_their_own_causes_before_the_promised_instant() {
    let mut h = Harness::new(Duration::from_secs(2));
    // No answer: outbound to a far end that never answers.
    let start = h.now.instant;
    let out = h.engine.dial(h.now, h.app, h.alice, FAR).unwrap();
    let deadline = h.engine.idle_deadline(out).unwrap();
    assert_eq!(
        deadline - start,
        Duration::from_secs(30 + 100 + 2),
        "no-answer + a whole call + teardown"
    );
    h.advance(Duration::from_secs(40));
    let t = h.termination(out);
    assert_eq!(
        (t.origin, t.cause, t.wire),
        (Origin::Policy, Cause::NoAnswer, WireEnd::Cancel)
    );
    let idle_at = h.info(out).entered.at(CallState::Idle).unwrap();
    assert!(h.info(out).state == CallState::Idle);
    let created = h.info(out).created_at;
    assert_eq!(
        idle_at.duration_since(created).unwrap(),
        Duration::from_secs(32),
        "30 s limit + 2 s teardown"
    );

    // Offer timeout: an inbound call nobody answers.
    let id = h.engine.provider_mut().remote_call(FAR, ALICE).unwrap();
    h.engine.pump(h.now);
    let inb = h.offered(h.app);
    assert_eq!(h.engine.call_id(inb).unwrap(), id);
    h.advance(Duration::from_secs(21));
    let t = h.termination(inb);
    assert_eq!(
        (t.origin, t.cause, t.sip_status),
        (Origin::Policy, Cause::OfferTimeout, Some(480))
    );

    // Max duration.
    let out = h.engine.dial(h.now, h.app, h.alice, FAR).unwrap();
    let id = h.engine.call_id(out).unwrap();
    h.engine.provider_mut().remote_answer(id);
    h.engine.pump(h.now);
    h.advance(Duration::from_secs(101));
    let t = h.termination(out);
    assert_eq!(
        (t.origin, t.cause, t.wire),
        (Origin::Policy, Cause::MaxDuration, WireEnd::Bye)
    );
    assert_eq!(h.info(out).talk_duration, Some(Duration::from_secs(100)));
}

#[test]
fn a_later_cause_is_counted_and_never_overwrites() {
    let mut h = Harness::new(Duration::from_secs(5));
    let out = h.engine.dial(h.now, h.app, h.alice, FAR).unwrap();
    let id = h.engine.call_id(out).unwrap();
    h.engine.provider_mut().remote_answer(id);
    h.engine.pump(h.now);
    h.engine.drop_call(h.now, out, Hangup::default()).unwrap();
    // Their BYE crosses ours: the provider reports it after our end was written.
    let before = h.termination(out);
    h.engine.provider_mut().inject(ProviderEvent::Ended {
        call: id,
        origin: Origin::Remote,
        cause: Cause::Normal,
        wire: WireEnd::Bye,
        sip_status: None,
        q850: None,
        text: None,
    });
    h.engine.pump(h.now);
    assert_eq!(h.termination(out), before);
    assert_eq!(h.info(out).late_causes, 1);
    assert_eq!(h.engine.ledger().late_causes, 1);
    h.advance(Duration::from_secs(5));
    assert_eq!(h.info(out).state, CallState::Idle);
    h.drain();
    assert_eq!(h.terminated_events(id), 1);
}

#[test]
fn handles_stay_readable_after_idle_until_released_then_never_name_another_call() {
    let mut h = Harness::new(Duration::ZERO);
    let out = h.engine.dial(h.now, h.app, h.alice, FAR).unwrap();
    h.engine.drop_call(h.now, out, Hangup::default()).unwrap();
    assert_eq!(h.info(out).state, CallState::Idle);
    let id = h.engine.call_id(out).unwrap();
    assert_eq!(
        h.engine.provider().close_count(id),
        0,
        "not freed while held"
    );
    h.engine.release(h.now, out, Release::Explicit).unwrap();
    assert_eq!(h.engine.provider().close_count(id), 1);
    assert_eq!(h.engine.info(out), Err(Error::InvalidHandle));
    let next = h.engine.dial(h.now, h.app, h.alice, FAR).unwrap();
    assert_ne!(next, out);
    assert_eq!(
        h.engine.info(out),
        Err(Error::InvalidHandle),
        "stale handle stays stale"
    );
    assert_eq!(
        h.engine.release(h.now, out, Release::Explicit),
        Err(Error::InvalidHandle)
    );
}

#[test]
fn release_rules_for_the_last_owner_of_a_live_call() {
    let mut h = Harness::new(Duration::ZERO);
    let out = h.engine.dial(h.now, h.app, h.alice, FAR).unwrap();
    assert_eq!(
        h.engine.release(h.now, out, Release::Explicit),
        Err(Error::CallActive)
    );
    assert_eq!(
        h.info(out).state,
        CallState::Dialing,
        "refusal changed nothing"
    );
    h.engine.release(h.now, out, Release::DropFirst).unwrap();
    h.drain();
    let ended = h.records.iter().find_map(|r| match r {
        RecordUpdate::Ended(i) => Some(i.clone()),
        _ => None,
    });
    let t = ended.unwrap().termination.unwrap();
    assert_eq!((t.origin, t.cause), (Origin::Local, Cause::Cancelled));

    let out = h.engine.dial(h.now, h.app, h.alice, FAR).unwrap();
    h.engine.release(h.now, out, Release::Implicit).unwrap();
    h.drain();
    let t = h
        .records
        .iter()
        .rev()
        .find_map(|r| match r {
            RecordUpdate::Ended(i) => i.termination.clone(),
            _ => None,
        })
        .unwrap();
    assert_eq!((t.origin, t.cause), (Origin::Policy, Cause::HandleReleased));
    h.quiesce();
    assert!(h.engine.ledger().is_quiescent());
}

#[test]
fn shared_call_dropped_while_live_ends_with_policy() {
    use linedrop_core::shared::{Clock, ManualClock, Shared};
    use std::sync::Arc;
    let h = Harness::new(Duration::ZERO);
    let (app, line, now) = (h.app, h.alice, h.now);
    let clock = Arc::new(ManualClock::new(now));
    let shared = Shared::new(h.engine, clock.clone());
    let call = shared.dial(app, line, FAR).unwrap();
    let id = call.id().unwrap();
    drop(call);
    let mut engine = shared.lock();
    assert_eq!(
        engine.provider().close_count(id),
        1,
        "freed once the implicit release ends it"
    );
    let mut ended = None;
    while let Some(r) = engine.poll_record() {
        if let RecordUpdate::Ended(info) = r {
            ended = info.termination;
        }
    }
    let t = ended.unwrap();
    assert_eq!((t.origin, t.cause), (Origin::Policy, Cause::HandleReleased));
    assert!(clock.now() == now);
}

#[test]
fn closing_a_line_or_app_invalidates_its_handles_and_drops_solely_owned_calls() {
    let mut h = Harness::new(Duration::ZERO);
    let watcher = h.engine.open_app("watcher");
    h.engine
        .open_line(watcher, h.alice, Privilege::Monitor)
        .unwrap();
    let out = h.engine.dial(h.now, h.app, h.alice, FAR).unwrap();
    let id = h.engine.call_id(out).unwrap();
    let mon = h.engine.handle_for(watcher, id).unwrap();
    assert_eq!(
        h.engine.drop_call(h.now, mon, Hangup::default()),
        Err(Error::NotOwner)
    );
    h.engine.close_line(h.now, h.app, h.alice).unwrap();
    assert_eq!(h.engine.info(out), Err(Error::InvalidHandle));
    let t = h.engine.info(mon).unwrap().termination.unwrap();
    assert_eq!((t.origin, t.cause), (Origin::Policy, Cause::AppGone));
    assert_eq!(
        h.engine.provider().close_count(id),
        0,
        "the monitor still holds it"
    );
    h.engine.close_app(h.now, watcher).unwrap();
    assert_eq!(h.engine.info(mon), Err(Error::InvalidHandle));
    assert_eq!(h.engine.provider().close_count(id), 1);
}

#[test]
fn shutdown_ends_every_live_call_and_refuses_new_ones() {
    let mut h = Harness::new(Duration::from_secs(1));
    let (out, _inb) = connected_pair(&mut h);
    let ringing = h.engine.dial(h.now, h.app, h.alice, FAR).unwrap();
    assert_eq!(h.engine.shutdown(h.now), 3);
    assert_eq!(
        h.engine.dial(h.now, h.app, h.alice, FAR),
        Err(Error::ShuttingDown)
    );
    assert!(!h.engine.is_drained());
    h.advance(Duration::from_secs(1));
    assert!(h.engine.is_drained());
    for call in [out, ringing] {
        let t = h.termination(call);
        assert_eq!((t.origin, t.cause), (Origin::Shutdown, Cause::Shutdown));
    }
    // A call arriving during shutdown is turned away with 503.
    h.engine.provider_mut().remote_call(FAR, ALICE).unwrap();
    h.engine.pump(h.now);
    let inb = h.offered(h.app);
    let t = h.termination(inb);
    assert_eq!((t.origin, t.sip_status), (Origin::Shutdown, Some(503)));
}

#[test]
fn a_finished_drain_refuses_new_calls_without_making_them_calls() {
    let mut h = Harness::new(Duration::from_secs(1));
    let (out, _inb) = connected_pair(&mut h);
    h.engine.shutdown(h.now);
    // Not drained yet: asking does not close the engine, and a call arriving now is
    // still taken (and ended, with its record).
    assert!(!h.engine.finish_drain());
    h.engine.provider_mut().remote_call(FAR, ALICE).unwrap();
    h.engine.pump(h.now);
    let during = h.offered(h.app);
    assert_eq!(h.termination(during).sip_status, Some(503));
    h.advance(Duration::from_secs(1));
    assert!(h.engine.finish_drain());
    assert_eq!(h.termination(out).origin, Origin::Shutdown);
    h.drain();
    let (events, records) = (h.events.len(), h.records.len());
    let ignored = h.engine.ledger().ignored_provider_events;
    // After it: refused on the wire, closed in the provider, and no call, event or record.
    let late = h.engine.provider_mut().remote_call(FAR, ALICE).unwrap();
    h.engine.pump(h.now);
    h.drain();
    assert_eq!((h.events.len(), h.records.len()), (events, records));
    assert_eq!(h.engine.provider().close_count(late), 1);
    let l = h.engine.ledger();
    assert_eq!(l.refused_after_drain, 1);
    assert_eq!(l.ignored_provider_events, ignored);
    assert!(h.engine.is_drained() && h.engine.finish_drain());
}

#[test]
fn an_inbound_call_on_a_line_nobody_owns_is_refused_as_unattended() {
    let mut h = Harness::new(Duration::ZERO);
    let line = h
        .engine
        .add_line(LineConfig::new("sip:nobody@example.test"))
        .unwrap();
    let watcher = h.engine.open_app("watcher");
    h.engine
        .open_line(watcher, line, Privilege::Monitor)
        .unwrap();
    h.engine
        .provider_mut()
        .remote_call(FAR, "sip:nobody@example.test")
        .unwrap();
    h.engine.pump(h.now);
    let mon = h.offered(watcher);
    let t = h.termination(mon);
    assert_eq!(
        (t.origin, t.cause, t.sip_status),
        (Origin::Policy, Cause::Unattended, Some(480))
    );
}

#[test]
fn info_carries_parties_times_holders_and_provider_facts() {
    let mut h = Harness::new(Duration::ZERO);
    let (out, inb) = connected_pair(&mut h);
    let i = h.info(out);
    assert_eq!(
        (i.direction, &*i.local, &*i.remote),
        (Direction::Outbound, ALICE, BOB)
    );
    assert_eq!(h.info(inb).direction, Direction::Inbound);
    assert!(
        i.entered.at(CallState::Dialing).is_some() && i.entered.at(CallState::Connected).is_some()
    );
    assert!(i.entered.at(CallState::Offering).is_none());
    assert_eq!(i.owners(), 1);
    assert_eq!(
        i.facts.call_ref.as_deref(),
        Some(format!("loopback-{}", i.id).as_str())
    );
}

#[test]
fn unattended_lines_answer_with_a_hold_or_reject_with_their_status() {
    let mut h = Harness::new(Duration::ZERO);
    let hold = Duration::from_secs(5);
    let auto = LinePolicy {
        unattended: Unattended::Answer { hold: Some(hold) },
        ..policy()
    };
    let auto_line = h
        .engine
        .add_line(LineConfig {
            address: "sip:auto@example.test".into(),
            policy: auto,
        })
        .unwrap();
    let busy = LinePolicy {
        unattended: Unattended::Reject { status: 486 },
        ..policy()
    };
    h.engine
        .add_line(LineConfig {
            address: "sip:busy@example.test".into(),
            policy: busy,
        })
        .unwrap();
    let watcher = h.engine.open_app("watcher");
    h.engine
        .open_line(watcher, auto_line, Privilege::Monitor)
        .unwrap();

    let out = h
        .engine
        .dial(h.now, h.app, h.alice, "sip:auto@example.test")
        .unwrap();
    assert_eq!(
        h.info(out).state,
        CallState::Connected,
        "answered by the line itself"
    );
    let mon = h.offered(watcher);
    assert_eq!(h.info(mon).owners(), 0, "the line, not an app, answered it");
    h.advance(hold);
    let t = h.termination(mon);
    assert_eq!(
        (t.origin, t.cause, t.wire),
        (Origin::Policy, Cause::Normal, WireEnd::Bye)
    );
    assert_eq!(h.info(mon).talk_duration, Some(hold));
    let t = h.termination(out);
    assert_eq!((t.origin, t.cause), (Origin::Remote, Cause::Normal));

    let out = h
        .engine
        .dial(h.now, h.app, h.alice, "sip:busy@example.test")
        .unwrap();
    let t = h.termination(out);
    assert_eq!(
        (t.origin, t.cause, t.sip_status),
        (Origin::Remote, Cause::Busy, Some(486))
    );
    h.quiesce();
    assert!(h.engine.ledger().is_quiescent());
}

#[test]
fn a_call_nobody_holds_is_freed_at_idle_with_a_complete_record() {
    // The inbound leg lands on a line no app opened: the engine frees it as it reaches
    // Idle, and its Ended record is built from the call itself, not from copies.
    let mut h = Harness::new(Duration::ZERO);
    let hold = Duration::from_secs(5);
    let auto = LinePolicy {
        unattended: Unattended::Answer { hold: Some(hold) },
        ..policy()
    };
    let address = "sip:auto@example.test";
    h.engine
        .add_line(LineConfig {
            address: address.into(),
            policy: auto,
        })
        .unwrap();
    let out = h.engine.dial(h.now, h.app, h.alice, address).unwrap();
    h.advance(hold);
    let held = h.info(out);
    assert_eq!(held.state, CallState::Idle);
    let ended = |dir| {
        h.records
            .iter()
            .find_map(|r| match r {
                RecordUpdate::Ended(i) if i.direction == dir => Some(i.clone()),
                _ => None,
            })
            .expect("an Ended record")
    };
    // The held leg's record is what its holder reads.
    assert_eq!(ended(Direction::Outbound), held);
    let freed = ended(Direction::Inbound);
    assert_eq!(h.engine.provider().close_count(freed.id), 1, "closed once");
    assert_eq!((&*freed.local, &*freed.remote), (address, &*held.local));
    assert_eq!(freed.state, CallState::Idle);
    let t = freed.termination.clone().expect("its one termination");
    assert_eq!(
        (t.origin, t.cause, t.wire),
        (Origin::Policy, Cause::Normal, WireEnd::Bye)
    );
    assert_eq!(freed.talk_duration, Some(hold));
    assert!(freed.entered.at(CallState::Offering).is_some());
    assert!(freed.holders.is_empty());
    assert_eq!(
        freed.facts.call_ref.as_deref(),
        Some(format!("loopback-{}", freed.id).as_str())
    );
    let created = h
        .records
        .iter()
        .filter(|r| matches!(r, RecordUpdate::Created(i) if i.id == freed.id))
        .count();
    assert_eq!(created, 1);
    h.quiesce();
    assert!(h.engine.ledger().is_quiescent());
}

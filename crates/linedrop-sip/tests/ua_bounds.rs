//! The bound is real: in every state, kill the far end (no more packets at all) and check
//! that the call reaches `Idle` no later than the instant `Engine::idle_deadline` gave when
//! the peer vanished, with the origin and cause that fit what ended it.
//!
//! The far end is the scripted peer of `peer`: "killed" means the test stops feeding it,
//! so whatever the agent sends goes nowhere. The clock is simulated; hours cost nothing.

mod peer;

use std::time::{Duration, Instant};

use linedrop_core::*;
use linedrop_sip::ua::LineOptions;
use peer::*;

/// Lets time run with the far end dead until the call is `Idle`; asserts that happens by
/// the deadline the engine gave at the moment of death, and returns the call's final info.
fn dies_within_bound(rig: &mut Rig, h: CallHandle, state: CallState) -> CallInfo {
    assert_eq!(rig.state(h), state, "the call is in the state under test");
    let deadline: Instant = rig.engine.idle_deadline(h).unwrap();
    let limit = deadline - rig.now.instant;
    while rig.state(h) != CallState::Idle {
        assert!(
            rig.now.instant <= deadline,
            "{state:?}: still {:?} past its idle deadline ({limit:?} after the peer died)",
            rig.state(h)
        );
        rig.advance(Duration::from_secs(1));
        rig.clear();
    }
    // The last step may overshoot by up to a second; the state changed inside it.
    assert!(rig.now.instant <= deadline + Duration::from_secs(1));
    let info = rig.engine.info(h).unwrap();
    assert!(info.termination.is_some());
    rig.quiesce();
    info
}

fn ends(info: &CallInfo) -> (Origin, Cause) {
    let t = info.termination.as_ref().unwrap();
    (t.origin, t.cause)
}

fn inbound(rig: &mut Rig, extra: &[&str]) -> (CallHandle, Dialog) {
    let mut d = Dialog::inbound(rig);
    let b = rig.fresh("branch");
    d.invite_branch = Some(b.clone());
    rig.feed(d.request("INVITE", &b, extra, &far_sdp()));
    rig.clear();
    (rig.offered(), d)
}

fn outbound_connected(rig: &mut Rig, extra: &[&str]) -> CallHandle {
    let h = rig.dial();
    let invite = rig.one("INVITE");
    rig.feed(respond(invite.req(), 200, Some("bt"), extra));
    rig.clear();
    h
}

#[test]
fn dialing() {
    let mut rig = Rig::new();
    let h = rig.dial();
    let t = dies_within_bound(&mut rig, h, CallState::Dialing);
    assert_eq!(ends(&t), (Origin::Network, Cause::Timeout));
}

#[test]
fn proceeding() {
    let mut rig = Rig::new();
    let h = rig.dial();
    let invite = rig.one("INVITE");
    rig.feed(respond(invite.req(), 100, None, &[]));
    let t = dies_within_bound(&mut rig, h, CallState::Proceeding);
    assert_eq!(ends(&t), (Origin::Policy, Cause::NoAnswer));
}

#[test]
fn ringback() {
    let mut rig = Rig::new();
    let h = rig.dial();
    let invite = rig.one("INVITE");
    rig.feed(respond(invite.req(), 180, Some("bt"), &[]));
    let t = dies_within_bound(&mut rig, h, CallState::Ringback);
    assert_eq!(ends(&t), (Origin::Policy, Cause::NoAnswer));
}

#[test]
fn offering() {
    let mut rig = Rig::new();
    let (h, _) = inbound(&mut rig, &[]);
    let t = dies_within_bound(&mut rig, h, CallState::Offering);
    assert_eq!(ends(&t), (Origin::Policy, Cause::OfferTimeout));
}

#[test]
fn accepted() {
    let mut rig = Rig::new();
    let (h, _) = inbound(&mut rig, &[]);
    rig.accept(h);
    let t = dies_within_bound(&mut rig, h, CallState::Accepted);
    assert_eq!(ends(&t), (Origin::Policy, Cause::OfferTimeout));
}

#[test]
fn accepted_and_answered_but_the_ack_never_comes() {
    let mut rig = Rig::new();
    let (h, _) = inbound(&mut rig, &[]);
    rig.accept(h);
    rig.answer(h);
    let t = dies_within_bound(&mut rig, h, CallState::Accepted);
    assert_eq!(ends(&t), (Origin::Network, Cause::NotAcknowledged));
}

#[test]
fn connected_with_a_session_timer_the_peer_should_refresh() {
    let mut rig = Rig::new();
    let (h, mut d) = inbound(
        &mut rig,
        &["Supported: timer", "Session-Expires: 1800;refresher=uac"],
    );
    rig.answer(h);
    let ok = rig.one("200 INVITE");
    d.learn(&ok);
    let b = rig.fresh("branch");
    rig.feed(d.ack_2xx(&b));
    let t = dies_within_bound(&mut rig, h, CallState::Connected);
    assert_eq!(ends(&t), (Origin::Policy, Cause::SessionExpired));
    let info = &t;
    // RFC 4028 §10: 1800 - 32 s after the last refresh (here: the answer).
    assert_eq!(info.talk_duration, Some(Duration::from_secs(1768)));
}

#[test]
fn connected_as_the_refresher() {
    let mut rig = Rig::new();
    let h = outbound_connected(
        &mut rig,
        &["Session-Expires: 1800;refresher=uac", "Allow: UPDATE, BYE"],
    );
    let t = dies_within_bound(&mut rig, h, CallState::Connected);
    assert_eq!(ends(&t), (Origin::Policy, Cause::SessionExpired));
    // The refresh at 900 s goes unanswered for Timer F (32 s).
    assert_eq!(t.talk_duration, Some(Duration::from_secs(932)));
}

#[test]
fn connected_with_a_keepalive() {
    let mut rig = Rig::new();
    let line = rig.line;
    let opts = LineOptions {
        keepalive: Some(Duration::from_secs(30)),
        ..LineOptions::default()
    };
    rig.engine
        .provider_mut()
        .set_line_options(line, opts)
        .unwrap();
    let h = outbound_connected(&mut rig, &[]);
    let t = dies_within_bound(&mut rig, h, CallState::Connected);
    assert_eq!(ends(&t), (Origin::Network, Cause::KeepaliveFailed));
}

#[test]
fn connected_without_timers_ends_at_max_duration() {
    let mut rig = Rig::new();
    let h = outbound_connected(&mut rig, &[]);
    let t = dies_within_bound(&mut rig, h, CallState::Connected);
    assert_eq!(ends(&t), (Origin::Policy, Cause::MaxDuration));
}

#[test]
fn disconnected() {
    let mut rig = Rig::new();
    let h = outbound_connected(&mut rig, &[]);
    rig.hang_up(h, Hangup::default());
    let t = dies_within_bound(&mut rig, h, CallState::Disconnected);
    assert_eq!(ends(&t), (Origin::Local, Cause::Normal));
}

#[test]
fn disconnected_while_ringing() {
    let mut rig = Rig::new();
    let h = rig.dial();
    let invite = rig.one("INVITE");
    rig.feed(respond(invite.req(), 180, Some("bt"), &[]));
    rig.hang_up(h, Hangup::default());
    let t = dies_within_bound(&mut rig, h, CallState::Disconnected);
    assert_eq!(ends(&t), (Origin::Local, Cause::Cancelled));
}

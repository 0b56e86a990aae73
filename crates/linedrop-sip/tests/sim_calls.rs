//! Calls between two SIP user agents over a simulated network: every ending, the races of
//! RFC 5407, and timer expiries, on a clock that jumps (a 32 s Timer B costs nothing).

mod sim;

use std::time::Duration;

use linedrop_core::*;
use sim::{Link, Net};

fn connected(net: &mut Net) -> (CallHandle, CallHandle) {
    net.agents[1].auto_answer = true;
    let out = net.dial(0, 1);
    // Over a lossy link the INVITE, 200 or ACK may need retransmissions.
    for _ in 0..40 {
        net.run_for(Duration::from_millis(500));
        if net.state(0, out) == CallState::Connected
            && net
                .offered(1)
                .is_some_and(|h| net.state(1, h) == CallState::Connected)
        {
            break;
        }
    }
    let inb = net.offered(1).expect("offered");
    assert_eq!(net.state(0, out), CallState::Connected);
    assert_eq!(net.state(1, inb), CallState::Connected);
    (out, inb)
}

#[test]
fn caller_hangs_up_both_sides_agree_and_nothing_is_left() {
    let mut net = Net::new(2, Link::perfect(), 1);
    let (out, inb) = connected(&mut net);
    net.run_for(Duration::from_secs(30));
    let now = net.now;
    net.agents[0]
        .engine
        .drop_call(now, out, Hangup::default())
        .unwrap();
    net.run_for(Duration::from_secs(1));
    let t = net.termination(0, out);
    assert_eq!(
        (t.origin, t.cause, t.wire),
        (Origin::Local, Cause::Normal, WireEnd::Bye)
    );
    let t = net.termination(1, inb);
    assert_eq!(
        (t.origin, t.cause, t.wire, t.q850),
        (Origin::Remote, Cause::Normal, WireEnd::Bye, Some(16))
    );
    assert_eq!(net.state(0, out), CallState::Idle);
    assert_eq!(net.state(1, inb), CallState::Idle);
    let info = net.agents[0].engine.info(out).unwrap();
    assert_eq!(info.talk_duration.map(|d| d.as_secs()), Some(30));
    assert!(info.facts.call_ref.is_some() && info.facts.remote_tag.is_some());
    net.assert_quiescent_after_release();
}

#[test]
fn callee_rejects_busy_and_caller_records_remote_busy() {
    let mut net = Net::new(2, Link::perfect(), 2);
    let out = net.dial(0, 1);
    net.run_for(Duration::from_millis(100));
    let inb = net.offered(1).unwrap();
    let now = net.now;
    net.agents[1]
        .engine
        .reject(
            now,
            inb,
            Hangup {
                sip_status: Some(486),
                ..Hangup::default()
            },
        )
        .unwrap();
    net.run_for(Duration::from_secs(1));
    let t = net.termination(0, out);
    assert_eq!(
        (t.origin, t.cause, t.wire, t.sip_status),
        (
            Origin::Remote,
            Cause::Busy,
            WireEnd::FinalResponse,
            Some(486)
        )
    );
    let t = net.termination(1, inb);
    assert_eq!(
        (t.origin, t.cause, t.sip_status),
        (Origin::Local, Cause::Busy, Some(486))
    );
    assert_eq!(
        net.state(1, inb),
        CallState::Idle,
        "torn down once the ACK came"
    );
    net.assert_quiescent_after_release();
}

#[test]
fn caller_cancels_while_ringing() {
    let mut net = Net::new(2, Link::perfect(), 3);
    let out = net.dial(0, 1);
    net.run_for(Duration::from_millis(100));
    let inb = net.offered(1).unwrap();
    let now = net.now;
    net.agents[1].engine.accept(now, inb).unwrap();
    net.run_for(Duration::from_millis(100));
    assert_eq!(net.state(0, out), CallState::Ringback);
    let now = net.now;
    net.agents[0]
        .engine
        .drop_call(now, out, Hangup::default())
        .unwrap();
    net.run_for(Duration::from_secs(1));
    let t = net.termination(0, out);
    assert_eq!(
        (t.origin, t.cause, t.wire),
        (Origin::Local, Cause::Cancelled, WireEnd::Cancel)
    );
    let t = net.termination(1, inb);
    assert_eq!(
        (t.origin, t.cause, t.wire, t.sip_status),
        (Origin::Remote, Cause::Cancelled, WireEnd::Cancel, Some(487))
    );
    assert_eq!(net.state(0, out), CallState::Idle);
    assert_eq!(net.state(1, inb), CallState::Idle);
    net.assert_quiescent_after_release();
}

#[test]
fn a_vanished_callee_is_timer_b_after_32_seconds() {
    let mut net = Net::new(2, Link::perfect(), 4);
    net.agents[1].dead = true;
    let out = net.dial(0, 1);
    net.run_for(Duration::from_secs(31));
    assert_eq!(net.state(0, out), CallState::Dialing);
    net.run_for(Duration::from_secs(2));
    let t = net.termination(0, out);
    assert_eq!(
        (t.origin, t.cause, t.sip_status),
        (Origin::Network, Cause::Timeout, Some(408))
    );
    assert_eq!(net.state(0, out), CallState::Idle);
    assert!(
        net.agents[0]
            .engine
            .info(out)
            .unwrap()
            .facts
            .retransmissions
            >= 6,
        "INVITE retransmitted on UDP"
    );
    net.agents[1].dead = false;
    net.assert_quiescent_after_release();
}

#[test]
fn calls_complete_over_a_lossy_reordering_link() {
    for seed in 1..=20 {
        let mut net = Net::new(2, Link::lossy(0.2), seed);
        let (out, inb) = connected(&mut net);
        let now = net.now;
        net.agents[1]
            .engine
            .drop_call(now, inb, Hangup::default())
            .unwrap();
        net.run_for(Duration::from_secs(40));
        let t = net.termination(0, out);
        // With 20% loss the BYE usually gets through by retransmission; if every copy is
        // lost the caller's call still ends, bounded by the session rules.
        assert_eq!(
            (t.origin, t.wire),
            (Origin::Remote, WireEnd::Bye),
            "seed {seed}"
        );
        assert_eq!(net.state(1, inb), CallState::Idle, "seed {seed}");
        net.assert_quiescent_after_release();
    }
}

/// Two linedrop engines with the default session timer (1800 s): the callee lets the caller
/// refresh (it said `Supported: timer`), the caller refreshes by UPDATE every 900 s over a
/// link that loses 10% of datagrams, and a two-hour call stays up; then the callee vanishes
/// and both sides end by the session timer, never later than the engine's bound.
#[test]
fn default_session_timer_keeps_a_long_call_then_ends_it_when_the_peer_vanishes() {
    let mut net = Net::new(2, Link::lossy(0.1), 9);
    let (out, inb) = connected(&mut net);
    net.run_for(Duration::from_secs(2 * 3600));
    assert_eq!(net.state(0, out), CallState::Connected);
    assert_eq!(net.state(1, inb), CallState::Connected);
    let deadline = net.agents[0].engine.idle_deadline(out).unwrap();
    net.agents[1].dead = true;
    net.run_for(Duration::from_secs(1800));
    assert!(net.now.instant <= deadline);
    for (i, h) in [(0, out), (1, inb)] {
        let t = net.termination(i, h);
        assert_eq!(
            (t.origin, t.cause),
            (Origin::Policy, Cause::SessionExpired),
            "agent {i}"
        );
        assert_eq!(net.state(i, h), CallState::Idle);
    }
    net.agents[1].dead = false;
    net.assert_quiescent_after_release();
}

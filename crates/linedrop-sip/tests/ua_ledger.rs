//! The ledger sees every resource of the user agent: dialogs, transactions, their timers,
//! tombstones and connections. Each is counted while it lives and gone once the call is
//! released and its transactions' timers have run; no call ever needs the engine's forced
//! teardown.

mod peer;
mod sim;

use std::time::Duration;

use linedrop_core::*;
use linedrop_sip::ua::{ConnId, Peer};
use peer::*;

/// (dialogs, transactions, transaction timers, tombstones, connections).
fn provider(rig: &Rig) -> (u64, u64, u64, u64, u64) {
    let p = rig.engine.ledger().provider;
    (
        p.dialogs,
        p.transactions,
        p.timers,
        p.tombstones,
        p.connections,
    )
}

#[test]
fn each_resource_of_an_inbound_call_is_counted_until_its_timers_run_out() {
    let mut rig = Rig::new();
    let mut d = Dialog::inbound(&mut rig);
    let b = rig.fresh("branch");
    rig.feed(d.invite(&b));
    rig.clear();
    assert_eq!(
        provider(&rig),
        (1, 1, 0, 0, 0),
        "a dialog and its INVITE transaction (Proceeding: no timer)"
    );
    let h = rig.offered();
    rig.answer(h);
    d.learn(&rig.one("200 INVITE"));
    assert_eq!(
        provider(&rig),
        (1, 1, 1, 0, 0),
        "the 2xx is resent on G until the ACK, L bounds it"
    );
    let b = rig.fresh("branch");
    rig.feed(d.ack_2xx(&b));
    assert_eq!(
        provider(&rig),
        (1, 1, 1, 0, 0),
        "L still absorbs INVITE retransmissions"
    );
    let b = rig.fresh("branch");
    rig.feed(d.bye(&b, &[]));
    rig.one("200 BYE");
    assert_eq!(rig.state(h), CallState::Idle);
    assert_eq!(
        provider(&rig),
        (1, 2, 2, 0, 0),
        "the BYE's server transaction waits out Timer J"
    );
    let now = rig.now;
    rig.engine.release(now, h, Release::Explicit).unwrap();
    assert_eq!(
        provider(&rig),
        (0, 2, 2, 1, 0),
        "released: the dialog becomes a tombstone"
    );
    rig.advance(T1X64);
    assert_eq!(
        provider(&rig),
        (0, 0, 0, 0, 0),
        "L, J and the tombstone all ran out at 64·T1"
    );
    let l = rig.engine.ledger();
    assert!(l.is_quiescent(), "{l:?}");
    assert_eq!(
        (l.forced_teardowns, l.late_causes, l.ignored_provider_events),
        (0, 0, 0)
    );
}

#[test]
fn each_resource_of_an_outbound_call_is_counted_until_its_timers_run_out() {
    let mut rig = Rig::new();
    let h = rig.dial();
    let invite = rig.one("INVITE");
    assert_eq!(
        provider(&rig),
        (1, 1, 1, 0, 0),
        "Timers A and B: one deadline"
    );
    rig.feed(respond(invite.req(), 180, Some("bt"), &[]));
    assert_eq!(
        provider(&rig),
        (1, 1, 0, 0, 0),
        "Proceeding: the engine's no-answer limit bounds it"
    );
    rig.feed(respond(invite.req(), 200, Some("bt"), &[]));
    rig.one("ACK");
    assert_eq!(provider(&rig), (1, 1, 1, 0, 0), "Accepted: Timer M");
    rig.hang_up(h, Hangup::default());
    let bye = rig.one("BYE");
    assert_eq!(provider(&rig), (1, 2, 2, 0, 0));
    rig.feed(respond(bye.req(), 200, None, &[]));
    assert_eq!(
        provider(&rig),
        (1, 2, 2, 0, 0),
        "the BYE client waits out Timer K"
    );
    let now = rig.now;
    rig.engine.release(now, h, Release::Explicit).unwrap();
    assert_eq!(provider(&rig), (0, 2, 2, 1, 0));
    rig.advance(Duration::from_secs(5));
    assert_eq!(provider(&rig), (0, 1, 1, 1, 0), "K (T4) is over");
    rig.advance(T1X64);
    assert_eq!(provider(&rig), (0, 0, 0, 0, 0));
    assert!(rig.engine.ledger().is_quiescent());
}

#[test]
fn tombstones_expire_in_the_order_their_calls_were_released() {
    let mut rig = Rig::with_config(|c| c.tombstone_ttl = Some(Duration::from_secs(10)));
    let mut handles = Vec::new();
    for _ in 0..3 {
        let mut d = Dialog::inbound(&mut rig);
        let b = rig.fresh("branch");
        rig.feed(d.invite(&b));
        let h = rig.offered();
        rig.reject(h, Hangup::default());
        d.learn(rig.sent().last().unwrap());
        rig.feed(d.ack_failure());
        assert_eq!(rig.state(h), CallState::Idle);
        handles.push((h, d));
    }
    rig.clear();
    // Released 3 s apart: each tombstone lives 10 s from its own release.
    for (h, _) in &handles {
        let now = rig.now;
        rig.engine.release(now, *h, Release::Explicit).unwrap();
        rig.advance(Duration::from_secs(3));
    }
    // t = 9 s since the first release.
    assert_eq!(rig.counts().2, 3);
    rig.advance(Duration::from_secs(1));
    assert_eq!(rig.counts().2, 2, "the first expires at 10 s");
    // The first dialog is unknown now, the others still answered from their tombstones.
    let (_, d0) = &mut handles[0];
    let b = "z9hG4bKlate0".to_string();
    let bye = d0.bye(&b, &[]);
    rig.feed(bye);
    rig.one("481 BYE");
    let (_, d1) = &mut handles[1];
    let bye = d1.bye("z9hG4bKlate1", &[]);
    rig.feed(bye);
    rig.one("200 BYE");
    rig.advance(Duration::from_secs(3));
    assert_eq!(rig.counts().2, 1, "the second at 13 s");
    rig.advance(Duration::from_secs(3));
    assert_eq!(rig.counts().2, 0, "the third at 16 s");
    rig.quiesce();
}

#[test]
fn a_connection_is_counted_until_it_closes() {
    let mut rig = Rig::with_config(|c| c.tcp_addr = Some(UA.parse().unwrap()));
    let conn = ConnId(7);
    let now = rig.now;
    let peer = Peer::tcp(rig.far, Some(conn));
    rig.engine
        .provider_mut()
        .handle_connection_opened(now, conn, peer);
    assert_eq!(provider(&rig).4, 1);
    assert!(
        !rig.engine.ledger().is_quiescent(),
        "an open connection is a live resource"
    );
    assert!(
        !rig.engine.provider().connection_in_use(conn),
        "but no dialog needs it"
    );
    rig.engine
        .provider_mut()
        .handle_connection_closed(now, conn);
    assert_eq!(provider(&rig).4, 0);
    rig.quiesce();
}

/// Runs one inbound and one outbound call through each way of ending on the same agent, one
/// after the other, and checks the agent is empty at the end: resources of many calls in a
/// row do not pile up.
#[test]
fn many_calls_through_every_ending_leave_nothing() {
    let mut rig = Rig::new();
    for round in 0..5u32 {
        // Outbound, answered, we hang up.
        let h = rig.dial();
        let invite = rig.one("INVITE");
        rig.feed(respond(invite.req(), 200, Some("bt"), &[]));
        rig.one("ACK");
        rig.hang_up(h, Hangup::default());
        let bye = rig.one("BYE");
        rig.feed(respond(bye.req(), 200, None, &[]));
        // Outbound, busy.
        let h2 = rig.dial();
        let invite = rig.one("INVITE");
        rig.feed(respond(invite.req(), 486, Some("bt"), &[]));
        rig.one("ACK");
        // Outbound, cancelled while ringing.
        let h3 = rig.dial();
        let invite = rig.one("INVITE");
        rig.feed(respond(invite.req(), 180, Some("bt"), &[]));
        rig.hang_up(h3, Hangup::default());
        let cancel = rig.one("CANCEL");
        rig.feed(respond(cancel.req(), 200, None, &[]));
        rig.feed(respond(invite.req(), 487, Some("bt"), &[]));
        rig.one("ACK");
        // Inbound, they hang up.
        let mut d = Dialog::inbound(&mut rig);
        let b = rig.fresh("branch");
        rig.feed(d.invite(&b));
        let h4 = rig.offered();
        rig.answer(h4);
        d.learn(rig.sent().last().unwrap());
        let b = rig.fresh("branch");
        rig.feed(d.ack_2xx(&b));
        let b = rig.fresh("branch");
        rig.feed(d.bye(&b, &[]));
        // Inbound, they cancel.
        let mut d = Dialog::inbound(&mut rig);
        let b = rig.fresh("branch");
        rig.feed(d.invite(&b));
        let h5 = rig.offered();
        rig.feed(d.cancel(&[]));
        d.learn(rig.sent().last().unwrap());
        rig.feed(d.ack_failure());
        for h in [h, h2, h3, h4, h5] {
            assert_eq!(rig.state(h), CallState::Idle, "round {round}");
            assert_eq!(rig.terminations(h), 1);
            let now = rig.now;
            rig.engine.release(now, h, Release::Explicit).unwrap();
        }
        rig.clear();
        rig.advance(Duration::from_secs(1));
    }
    assert_eq!(
        rig.counts(),
        (0, rig.counts().1, 25),
        "25 tombstones, no dialog"
    );
    rig.quiesce();
}

/// Two agents over a lossy, reordering link, each seed ending its call a different way at a
/// different moment: whatever gets lost, each side writes one termination, no call needs
/// the engine's forced teardown, and both agents end empty.
#[test]
fn random_endings_over_a_lossy_link_always_end_once_and_leave_nothing() {
    for seed in 1..=300u64 {
        let mut net = sim::Net::new(2, sim::Link::lossy(0.3), seed);
        let out = net.dial(0, 1);
        net.run_for(Duration::from_millis(50 + seed * 37 % 400));
        let inb = net.offered(1);
        let now = net.now;
        // Who acts, how, and when, from the seed.
        match seed % 6 {
            0 => {
                let _ = net.agents[0].engine.drop_call(now, out, Hangup::default());
            }
            1 => {
                if let Some(h) = inb {
                    let _ = net.agents[1]
                        .engine
                        .reject(now, h, Hangup::cause(Cause::Busy));
                }
            }
            2 | 3 => {
                if let Some(h) = inb {
                    let _ = net.agents[1].engine.answer(now, h);
                }
                net.run_for(Duration::from_millis(seed * 53 % 700));
                let now = net.now;
                let (i, h) = if seed % 6 == 2 {
                    (0, Some(out))
                } else {
                    (1, inb)
                };
                if let Some(h) = h {
                    let _ = net.agents[i].engine.drop_call(now, h, Hangup::default());
                }
            }
            4 => {
                if let Some(h) = inb {
                    let _ = net.agents[1].engine.answer(now, h);
                }
                // Both hang up at the same instant: crossed BYEs (or BYE before ACK).
                net.run_for(Duration::from_millis(seed % 300));
                let now = net.now;
                let _ = net.agents[0].engine.drop_call(now, out, Hangup::default());
                if let Some(h) = inb {
                    let _ = net.agents[1].engine.drop_call(now, h, Hangup::default());
                }
            }
            _ => {
                // Nobody acts: the engine's limits end it.
            }
        }
        net.run_for(Duration::from_secs(400));
        let t = net.agents[0].engine.info(out).unwrap();
        assert_eq!(t.state, CallState::Idle, "seed {seed}: caller");
        if let Some(h) = inb {
            assert_eq!(net.state(1, h), CallState::Idle, "seed {seed}: callee");
        }
        for (i, a) in net.agents.iter().enumerate() {
            let l = a.engine.ledger();
            assert_eq!(l.forced_teardowns, 0, "seed {seed}: agent {i} {l:?}");
            let ends = a
                .events
                .iter()
                .filter(|e| matches!(e.kind, EventKind::Terminated(_)))
                .count();
            assert!(
                ends <= 1,
                "seed {seed}: agent {i} wrote {ends} terminations"
            );
        }
        net.assert_quiescent_after_release();
    }
}

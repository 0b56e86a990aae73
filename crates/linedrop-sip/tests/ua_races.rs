//! The races of RFC 5407 and RFC 3261, one test each, with the interleaving written out:
//! CANCEL crossing a 200 (ACK, then BYE), a CANCEL before any provisional (deferred),
//! crossed BYEs (both answered 200), BYE before the ACK, a retransmitted BYE after the end
//! (answered from the transaction, then from a tombstone for the Timer J window), a BYE for
//! an unknown dialog (481), BYE while a re-INVITE is pending, forked 2xx (ACK each, BYE the
//! extra ones), and a far-end end racing our own.
//!
//! Every test also checks that exactly one termination was written and that nothing is left
//! once the handles are released and the timers have run.

mod peer;

use std::time::Duration;

use linedrop_core::*;
use peer::*;

fn dial_ringing(rig: &mut Rig, far_tag: &str) -> (CallHandle, Sent) {
    let h = rig.dial();
    let invite = rig.one("INVITE");
    rig.feed(respond(invite.req(), 180, Some(far_tag), &[]));
    assert_eq!(rig.state(h), CallState::Ringback);
    (h, invite)
}

fn offered(rig: &mut Rig) -> (CallHandle, Dialog) {
    let mut d = Dialog::inbound(rig);
    let b = rig.fresh("branch");
    rig.feed(d.invite(&b));
    rig.one("100 INVITE");
    (rig.offered(), d)
}

fn connect_inbound(rig: &mut Rig) -> (CallHandle, Dialog) {
    let (h, mut d) = offered(rig);
    rig.answer(h);
    d.learn(&rig.one("200 INVITE"));
    let b = rig.fresh("branch");
    rig.feed(d.ack_2xx(&b));
    assert_eq!(rig.state(h), CallState::Connected);
    (h, d)
}

fn connect_outbound(rig: &mut Rig) -> (CallHandle, Dialog, Sent) {
    let (h, invite) = dial_ringing(rig, "bt");
    rig.feed(respond(invite.req(), 200, Some("bt"), &[]));
    rig.one("ACK");
    assert_eq!(rig.state(h), CallState::Connected);
    (h, Dialog::from_ua_invite(invite.req(), "bt"), invite)
}

// ---- CANCEL vs 200 ----

#[test]
fn a_200_crossing_our_cancel_is_acked_then_ended_with_bye() {
    let mut rig = Rig::new();
    let (h, invite) = dial_ringing(&mut rig, "bt");
    rig.hang_up(h, Hangup::default());
    let cancel = rig.one("CANCEL");
    // The far end answered before our CANCEL reached it.
    rig.feed(respond(invite.req(), 200, Some("bt"), &[]));
    let sent = rig.sent();
    let labels: Vec<String> = sent.iter().map(Sent::label).collect();
    assert_eq!(
        labels,
        ["ACK", "BYE"],
        "ACK the 2xx, then end the dialog (RFC 5407 §3.1.2)"
    );
    assert_eq!(to_tag(sent[1].msg()).as_deref(), Some("bt"));
    assert_eq!(
        reasons(sent[1].msg()),
        vec!["Q.850;cause=16"],
        "the BYE says why"
    );
    assert_eq!(rig.state(h), CallState::Disconnected);
    // The CANCEL is answered too late to matter.
    rig.feed(respond(cancel.req(), 200, None, &[]));
    // The 2xx is retransmitted (our ACK was lost): ACK again, but no second BYE.
    rig.feed(respond(invite.req(), 200, Some("bt"), &[]));
    rig.one("ACK");
    rig.feed(respond(sent[1].req(), 200, None, &[]));
    assert_eq!(rig.state(h), CallState::Idle);
    let t = rig.term(h);
    assert_eq!(
        (t.origin, t.cause, t.wire),
        (Origin::Local, Cause::Cancelled, WireEnd::Cancel)
    );
    assert_eq!(rig.terminations(h), 1);
    assert_eq!(
        rig.engine.ledger().ignored_provider_events,
        0,
        "never reported Connected"
    );
    rig.quiesce();
}

#[test]
fn our_cancel_answered_481_then_the_200_still_gets_ack_and_bye() {
    let mut rig = Rig::new();
    let (h, invite) = dial_ringing(&mut rig, "bt");
    rig.hang_up(h, Hangup::default());
    let cancel = rig.one("CANCEL");
    rig.feed(respond(cancel.req(), 481, None, &[]));
    rig.feed(respond(invite.req(), 200, Some("bt"), &[]));
    let sent = rig.sent();
    assert_eq!(
        sent.iter().map(Sent::label).collect::<Vec<_>>(),
        ["ACK", "BYE"]
    );
    rig.feed(respond(sent[1].req(), 200, None, &[]));
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

#[test]
fn their_cancel_crossing_our_200_changes_nothing() {
    let mut rig = Rig::new();
    let (h, mut d) = offered(&mut rig);
    rig.answer(h);
    d.learn(&rig.one("200 INVITE"));
    rig.feed(d.cancel(&[]));
    rig.one("200 CANCEL");
    let b = rig.fresh("branch");
    rig.feed(d.ack_2xx(&b));
    assert_eq!(
        rig.state(h),
        CallState::Connected,
        "a CANCEL after the 2xx has no effect (§9.2)"
    );
    let b = rig.fresh("branch");
    rig.feed(d.bye(&b, &[]));
    rig.one("200 BYE");
    let t = rig.term(h);
    assert_eq!(
        (t.origin, t.cause, t.wire),
        (Origin::Remote, Cause::Normal, WireEnd::Bye)
    );
    rig.quiesce();
}

// ---- CANCEL before any provisional ----

#[test]
fn a_cancel_waits_for_a_provisional_then_goes_out() {
    let mut rig = Rig::new();
    let h = rig.dial();
    let invite = rig.one("INVITE");
    rig.hang_up(h, Hangup::default());
    assert!(
        rig.sent().is_empty(),
        "no CANCEL before a provisional (§9.1)"
    );
    assert_eq!(rig.state(h), CallState::Disconnected);
    rig.advance(Duration::from_millis(600));
    assert_eq!(
        rig.labels(),
        ["INVITE"],
        "the INVITE is still retransmitted"
    );
    rig.feed(respond(invite.req(), 100, None, &[]));
    let cancel = rig.one("CANCEL");
    rig.feed(respond(cancel.req(), 200, None, &[]));
    rig.feed(respond(invite.req(), 487, Some("bt"), &[]));
    rig.one("ACK");
    assert_eq!(rig.state(h), CallState::Idle);
    let t = rig.term(h);
    assert_eq!(
        (t.origin, t.cause, t.wire, t.sip_status),
        (Origin::Local, Cause::Cancelled, WireEnd::Cancel, Some(487))
    );
    assert_eq!(
        rig.engine.ledger().ignored_provider_events,
        0,
        "no progress reported after the end"
    );
    rig.quiesce();
}

#[test]
fn a_deferred_cancel_of_a_silent_callee_ends_at_timer_b() {
    let mut rig = Rig::new();
    let h = rig.dial();
    rig.one("INVITE");
    rig.advance(Duration::from_secs(5));
    rig.hang_up(h, Hangup::default());
    rig.advance(T1X64 - Duration::from_secs(5) - Duration::from_millis(1));
    assert_eq!(rig.state(h), CallState::Disconnected);
    assert!(rig.labels().iter().all(|l| l == "INVITE"), "never a CANCEL");
    rig.advance(Duration::from_millis(1));
    assert_eq!(
        rig.state(h),
        CallState::Idle,
        "Timer B of the INVITE bounds the wait"
    );
    let t = rig.term(h);
    assert_eq!(
        (t.origin, t.cause),
        (Origin::Local, Cause::Cancelled),
        "our end, not a timeout"
    );
    assert_eq!(rig.terminations(h), 1);
    rig.quiesce();
}

#[test]
fn a_200_arriving_before_any_provisional_after_our_end_gets_ack_and_bye() {
    let mut rig = Rig::new();
    let h = rig.dial();
    let invite = rig.one("INVITE");
    rig.hang_up(h, Hangup::default());
    rig.feed(respond(invite.req(), 200, Some("bt"), &[]));
    let sent = rig.sent();
    assert_eq!(
        sent.iter().map(Sent::label).collect::<Vec<_>>(),
        ["ACK", "BYE"]
    );
    rig.feed(respond(sent[1].req(), 200, None, &[]));
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

#[test]
fn a_final_error_arriving_after_our_deferred_cancel_ends_it() {
    let mut rig = Rig::new();
    let h = rig.dial();
    let invite = rig.one("INVITE");
    rig.hang_up(h, Hangup::default());
    rig.feed(respond(invite.req(), 486, Some("bt"), &[]));
    rig.one("ACK");
    assert_eq!(rig.state(h), CallState::Idle);
    assert_eq!(rig.term(h).origin, Origin::Local, "our end came first");
    rig.quiesce();
}

// ---- crossed BYEs ----

#[test]
fn crossed_byes_are_both_answered_200() {
    let mut rig = Rig::new();
    let (h, mut d) = connect_inbound(&mut rig);
    rig.hang_up(h, Hangup::default());
    let ours = rig.one("BYE");
    let b = rig.fresh("branch");
    rig.feed(d.bye(&b, &[]));
    rig.one("200 BYE");
    assert_eq!(
        rig.state(h),
        CallState::Disconnected,
        "our BYE still waits for its answer"
    );
    rig.feed(respond(ours.req(), 200, None, &[]));
    assert_eq!(rig.state(h), CallState::Idle);
    let t = rig.term(h);
    assert_eq!(
        (t.origin, t.wire),
        (Origin::Local, WireEnd::Bye),
        "the first end is kept"
    );
    assert_eq!(rig.terminations(h), 1);
    assert_eq!(
        rig.engine.info(h).unwrap().late_causes,
        1,
        "their BYE counted as late"
    );
    rig.quiesce();
}

#[test]
fn crossed_byes_where_the_far_end_answers_ours_481() {
    let mut rig = Rig::new();
    let (h, mut d, _) = connect_outbound(&mut rig);
    rig.hang_up(h, Hangup::default());
    let ours = rig.one("BYE");
    let b = rig.fresh("branch");
    rig.feed(d.bye(&b, &[]));
    rig.one("200 BYE");
    rig.feed(respond(ours.req(), 481, None, &[]));
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

// ---- BYE before the ACK ----

#[test]
fn a_bye_before_the_ack_ends_the_call_and_stops_the_2xx() {
    let mut rig = Rig::new();
    let (h, mut d) = offered(&mut rig);
    rig.answer(h);
    d.learn(&rig.one("200 INVITE"));
    let b = rig.fresh("branch");
    rig.feed(d.bye(&b, &["Reason: Q.850;cause=31"]));
    rig.one("200 BYE");
    assert_eq!(rig.state(h), CallState::Idle);
    let t = rig.term(h);
    assert_eq!(
        (t.origin, t.cause, t.wire, t.q850),
        (Origin::Remote, Cause::Normal, WireEnd::Bye, Some(31))
    );
    rig.advance(Duration::from_secs(10));
    assert!(rig.sent().is_empty(), "the 2xx is no longer retransmitted");
    // The ACK arrives late: absorbed, nothing answered, no second end.
    let b = rig.fresh("branch");
    rig.feed(d.ack_2xx(&b));
    assert!(rig.sent().is_empty());
    rig.advance(T1X64);
    assert!(rig.sent().is_empty(), "no BYE at Timer L: the call is over");
    assert_eq!(rig.terminations(h), 1);
    rig.quiesce();
}

#[test]
fn our_end_before_the_ack_waits_for_it_then_sends_bye() {
    let mut rig = Rig::new();
    let (h, mut d) = offered(&mut rig);
    rig.answer(h);
    d.learn(&rig.one("200 INVITE"));
    rig.hang_up(h, Hangup::default());
    assert!(rig.sent().is_empty(), "no BYE before the ACK (§15)");
    let b = rig.fresh("branch");
    rig.feed(d.ack_2xx(&b));
    let bye = rig.one("BYE");
    rig.feed(respond(bye.req(), 200, None, &[]));
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

#[test]
fn our_end_before_an_ack_that_never_comes_sends_bye_at_timer_l() {
    let mut rig = Rig::new();
    let (h, mut d) = offered(&mut rig);
    rig.answer(h);
    d.learn(&rig.one("200 INVITE"));
    rig.hang_up(h, Hangup::default());
    rig.advance(T1X64);
    let sent = rig.sent();
    let bye = sent
        .iter()
        .find(|s| s.label() == "BYE")
        .expect("a BYE at Timer L");
    assert_eq!(bye.at, T1X64);
    let t = rig.term(h);
    assert_eq!(
        t.origin,
        Origin::Local,
        "our end is kept, not the missing ACK"
    );
    rig.feed(respond(bye.req(), 200, None, &[]));
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

// ---- late and unknown BYEs ----

#[test]
fn a_retransmitted_bye_is_answered_by_its_transaction_then_by_a_tombstone() {
    let mut rig = Rig::new();
    let (h, mut d) = connect_inbound(&mut rig);
    let b = rig.fresh("branch");
    let bye = d.bye(&b, &[]);
    rig.feed(&bye);
    rig.one("200 BYE");
    // The same BYE again (our 200 was lost): the server transaction answers it.
    rig.feed(&bye);
    rig.one("200 BYE");
    rig.engine.release(rig.now, h, Release::Explicit).unwrap();
    // The dialog is gone; its tombstone remains, and the transactions of the BYE and of
    // the INVITE (Timer L) run out their own windows.
    assert_eq!(rig.counts(), (0, 2, 1));
    // A BYE of the same dialog in a new transaction: the tombstone answers 200, not 481.
    rig.advance(Duration::from_secs(20));
    let b = rig.fresh("branch");
    rig.feed(d.bye(&b, &[]));
    rig.one("200 BYE");
    // Anything else in that dialog gets 481.
    let b = rig.fresh("branch");
    rig.feed(d.request("INFO", &b, &[], ""));
    rig.one("481 INFO");
    // After the Timer J window the dialog is unknown.
    rig.advance(T1X64);
    assert_eq!(rig.counts(), (0, 0, 0));
    let b = rig.fresh("branch");
    rig.feed(d.bye(&b, &[]));
    rig.one("481 BYE");
    assert_eq!(rig.engine.provider().stats().tombstone_hits, 2);
    rig.quiesce();
}

#[test]
fn after_the_release_a_bye_again_gets_the_same_bytes_and_an_invite_again_nothing() {
    let mut rig = Rig::new();
    let mut d = Dialog::inbound(&mut rig);
    let b = rig.fresh("branch");
    let invite = d.invite(&b);
    rig.feed(&invite);
    rig.clear();
    let h = rig.offered();
    rig.answer(h);
    d.learn(&rig.one("200 INVITE"));
    let b = rig.fresh("branch");
    rig.feed(d.ack_2xx(&b));
    let b = rig.fresh("branch");
    let bye = d.bye(&b, &[]);
    rig.feed(&bye);
    let first = rig.one("200 BYE");
    rig.engine.release(rig.now, h, Release::Explicit).unwrap();
    // Well inside Timer J and L: what is left of both transactions still answers.
    rig.advance(Duration::from_secs(20));
    rig.feed(&bye);
    let again = rig.one("200 BYE");
    assert_eq!(
        (&again.raw, again.to),
        (&first.raw, first.to),
        "the same 200"
    );
    rig.feed(&invite);
    assert!(
        rig.sent().is_empty(),
        "the INVITE again is absorbed, not a new call"
    );
    assert_eq!(rig.counts(), (0, 2, 1));
    rig.advance(T1X64);
    assert_eq!(rig.counts(), (0, 0, 0), "both end at their timers");
    assert_eq!(
        rig.engine.provider().stats().retransmissions,
        1,
        "the 200 sent again is counted"
    );
    rig.quiesce();
}

#[test]
fn a_bye_for_an_unknown_dialog_gets_481() {
    let mut rig = Rig::new();
    let mut d = Dialog::inbound(&mut rig);
    d.ua_tag = Some("nosuchtag".into());
    let b = rig.fresh("branch");
    rig.feed(d.bye(&b, &[]));
    rig.one("481 BYE");
    // Without a To tag it cannot name a dialog either; the response adds a tag of ours
    // (RFC 3261 §8.2.6.2).
    let mut d = Dialog::inbound(&mut rig);
    let b = rig.fresh("branch");
    rig.feed(d.bye(&b, &[]));
    let resp = rig.one("481 BYE");
    assert!(to_tag(resp.msg()).is_some(), "a tag of ours");
    assert_eq!(rig.engine.ledger().total_calls(), 0);
    rig.quiesce();
}

#[test]
fn an_invite_for_an_unknown_dialog_gets_481_and_its_ack_is_absorbed() {
    let mut rig = Rig::new();
    let mut d = Dialog::inbound(&mut rig);
    d.ua_tag = Some("nosuchtag".into());
    let b = rig.fresh("branch");
    rig.feed(d.invite(&b));
    rig.one("481 INVITE");
    rig.advance(Duration::from_millis(500));
    rig.one("481 INVITE"); // Timer G: an INVITE's final is resent until its ACK
    rig.feed(d.ack_failure());
    rig.advance(Duration::from_secs(5));
    assert!(rig.sent().is_empty());
    let stats = rig.engine.provider().stats();
    assert_eq!((stats.unknown_dialog, stats.stray_acks), (1, 0));
    rig.quiesce();
}

#[test]
fn a_bye_with_the_wrong_from_tag_gets_481_and_leaves_the_call() {
    let mut rig = Rig::new();
    let (h, d) = connect_inbound(&mut rig);
    let mut other = d.clone();
    other.far_tag = "someone-else".into();
    let b = rig.fresh("branch");
    rig.feed(other.bye(&b, &[]));
    rig.one("481 BYE");
    assert_eq!(rig.state(h), CallState::Connected);
    rig.quiesce();
}

// ---- BYE and re-INVITE ----

#[test]
fn a_bye_while_their_reinvite_awaits_its_ack() {
    let mut rig = Rig::new();
    let (h, mut d) = connect_inbound(&mut rig);
    let b = rig.fresh("branch");
    rig.feed(d.request("INVITE", &b, &[], &far_sdp()));
    let ok = rig.one("200 INVITE");
    assert!(
        !ok.msg().body().is_empty(),
        "the re-INVITE is answered with our session"
    );
    let b = rig.fresh("branch");
    rig.feed(d.bye(&b, &[]));
    rig.one("200 BYE");
    assert_eq!(rig.state(h), CallState::Idle);
    rig.advance(Duration::from_secs(5));
    assert!(
        rig.sent().is_empty(),
        "the re-INVITE's 2xx is no longer resent"
    );
    rig.advance(T1X64);
    assert!(rig.sent().is_empty(), "and no BYE for its missing ACK");
    assert_eq!(rig.terminations(h), 1);
    rig.quiesce();
}

#[test]
fn our_bye_while_their_reinvite_awaits_its_ack() {
    let mut rig = Rig::new();
    let (h, mut d, _) = connect_outbound(&mut rig);
    let b = rig.fresh("branch");
    rig.feed(d.request("INVITE", &b, &[], &far_sdp()));
    rig.one("200 INVITE");
    rig.hang_up(h, Hangup::default());
    let bye = rig.one("BYE");
    // The re-INVITE's ACK and our BYE cross.
    let b = rig.fresh("branch");
    rig.feed(d.ack_2xx(&b));
    assert!(rig.sent().is_empty());
    rig.feed(respond(bye.req(), 200, None, &[]));
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

#[test]
fn a_reinvite_after_our_bye_gets_481() {
    let mut rig = Rig::new();
    let (h, mut d) = connect_inbound(&mut rig);
    rig.hang_up(h, Hangup::default());
    let bye = rig.one("BYE");
    let b = rig.fresh("branch");
    rig.feed(d.request("INVITE", &b, &[], &far_sdp()));
    rig.one("481 INVITE");
    rig.feed(d.request("ACK", &b, &[], ""));
    assert!(rig.sent().is_empty(), "the ACK of the 481 is absorbed");
    rig.feed(respond(bye.req(), 200, None, &[]));
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

#[test]
fn a_second_reinvite_after_the_first_completes_is_accepted() {
    let mut rig = Rig::new();
    let (h, mut d) = connect_inbound(&mut rig);
    for _ in 0..3 {
        let b = rig.fresh("branch");
        rig.feed(d.request("INVITE", &b, &[], &far_sdp()));
        rig.one("200 INVITE");
        let b = rig.fresh("branch");
        rig.feed(d.ack_2xx(&b));
        assert!(rig.sent().is_empty());
        rig.advance(Duration::from_secs(40));
        assert!(
            rig.sent().is_empty(),
            "an ACKed re-INVITE needs nothing more"
        );
    }
    assert_eq!(rig.state(h), CallState::Connected);
    rig.quiesce();
}

#[test]
fn their_reinvite_of_our_call_is_completed_by_its_ack_whatever_its_cseq() {
    // The far end's CSeq space is its own: its re-INVITE may carry the number of our
    // INVITE, and its ACK must still complete the re-INVITE.
    let mut rig = Rig::new();
    let (h, mut d, invite) = connect_outbound(&mut rig);
    let b = rig.fresh("branch");
    rig.feed(d.request("INVITE", &b, &[], &far_sdp()));
    let ok = rig.one("200 INVITE");
    assert_eq!(
        cseq(ok.msg()),
        cseq(invite.msg()),
        "the same number in both directions"
    );
    let b = rig.fresh("branch");
    rig.feed(d.ack_2xx(&b));
    rig.advance(T1X64 + Duration::from_secs(1));
    assert!(rig.sent().is_empty(), "no 2xx retransmission, no BYE");
    assert_eq!(rig.state(h), CallState::Connected);
    rig.quiesce();
}

#[test]
fn a_reinvite_2xx_never_acked_ends_the_call_with_bye() {
    let mut rig = Rig::new();
    let (h, mut d) = connect_inbound(&mut rig);
    let b = rig.fresh("branch");
    rig.feed(d.request("INVITE", &b, &[], &far_sdp()));
    rig.one("200 INVITE");
    rig.advance(T1X64);
    let sent = rig.sent();
    let bye = sent
        .iter()
        .find(|s| s.label() == "BYE")
        .expect("BYE after Timer L (§13.3.1.4)");
    let t = rig.term(h);
    assert_eq!(
        (t.origin, t.cause, t.wire),
        (Origin::Network, Cause::NotAcknowledged, WireEnd::Bye)
    );
    rig.feed(respond(bye.req(), 200, None, &[]));
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

// ---- forks ----

#[test]
fn forked_2xx_are_each_acked_and_the_extra_ones_ended_with_bye() {
    let mut rig = Rig::new();
    let h = rig.dial();
    let invite = rig.one("INVITE");
    rig.feed(respond(invite.req(), 180, Some("fork-a"), &[]));
    rig.feed(respond(invite.req(), 180, Some("fork-b"), &[]));
    rig.feed(respond(invite.req(), 200, Some("fork-b"), &[]));
    let ack = rig.one("ACK");
    assert_eq!(
        to_tag(ack.msg()).as_deref(),
        Some("fork-b"),
        "the first 2xx makes the dialog"
    );
    assert_eq!(rig.state(h), CallState::Connected);
    rig.feed(respond(invite.req(), 200, Some("fork-a"), &[]));
    let sent = rig.sent();
    assert_eq!(
        sent.iter().map(Sent::label).collect::<Vec<_>>(),
        ["ACK", "BYE"]
    );
    assert!(sent
        .iter()
        .all(|s| to_tag(s.msg()).as_deref() == Some("fork-a")));
    assert_eq!(cseq(sent[0].msg()), 1);
    assert_eq!(cseq(sent[1].msg()), 2);
    // The extra fork's 2xx again (our ACK lost): ACK it again, no second BYE.
    rig.feed(respond(invite.req(), 200, Some("fork-a"), &[]));
    rig.one("ACK");
    // The kept dialog's 2xx again: ACK again.
    rig.feed(respond(invite.req(), 200, Some("fork-b"), &[]));
    let again = rig.one("ACK");
    assert_eq!(to_tag(again.msg()).as_deref(), Some("fork-b"));
    rig.feed(respond(sent[1].req(), 200, None, &[]));
    assert_eq!(
        rig.state(h),
        CallState::Connected,
        "the fork's BYE does not touch the call"
    );
    // A third fork answers late.
    rig.advance(Duration::from_secs(10));
    rig.feed(respond(invite.req(), 200, Some("fork-c"), &[]));
    let sent = rig.sent();
    assert_eq!(
        sent.iter().map(Sent::label).collect::<Vec<_>>(),
        ["ACK", "BYE"]
    );
    rig.feed(respond(sent[1].req(), 200, None, &[]));
    rig.hang_up(h, Hangup::default());
    let bye = rig.one("BYE");
    assert_eq!(to_tag(bye.msg()).as_deref(), Some("fork-b"));
    rig.feed(respond(bye.req(), 200, None, &[]));
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

#[test]
fn a_fork_answering_after_the_call_is_released_is_acked_and_ended() {
    let mut rig = Rig::new();
    let (h, _, invite) = connect_outbound(&mut rig);
    rig.hang_up(h, Hangup::default());
    let bye = rig.one("BYE");
    rig.feed(respond(bye.req(), 200, None, &[]));
    rig.engine.release(rig.now, h, Release::Explicit).unwrap();
    // The kept dialog's 2xx retransmitted after the release: only the ACK again.
    rig.feed(respond(invite.req(), 200, Some("bt"), &[]));
    rig.one("ACK");
    // A new fork's 2xx: ACK and BYE.
    rig.feed(respond(invite.req(), 200, Some("late-fork"), &[]));
    let sent = rig.sent();
    assert_eq!(
        sent.iter().map(Sent::label).collect::<Vec<_>>(),
        ["ACK", "BYE"]
    );
    rig.feed(respond(sent[1].req(), 200, None, &[]));
    rig.quiesce();
}

#[test]
fn a_fork_whose_bye_is_never_answered_times_out_quietly() {
    let mut rig = Rig::new();
    let (h, _, invite) = connect_outbound(&mut rig);
    rig.feed(respond(invite.req(), 200, Some("other"), &[]));
    assert_eq!(rig.labels(), ["ACK", "BYE"]);
    rig.advance(T1X64 + Duration::from_secs(1));
    assert_eq!(rig.state(h), CallState::Connected);
    rig.quiesce();
}

// ---- the far end's end racing ours ----

#[test]
fn their_bye_queued_before_our_drop_is_a_late_cause() {
    let mut rig = Rig::new();
    let (h, mut d) = connect_inbound(&mut rig);
    let b = rig.fresh("branch");
    let bye = d.bye(&b, &[]);
    // The driver fed the BYE but has not pumped the engine yet when the app drops the call.
    let now = rig.now;
    rig.engine.provider_mut().handle_message(
        now,
        linedrop_sip::ua::Peer::udp(rig.far),
        bye.as_bytes(),
    );
    rig.hang_up(h, Hangup::default());
    rig.pump();
    assert_eq!(
        rig.labels(),
        ["200 BYE"],
        "no BYE of ours: the dialog is already over"
    );
    assert_eq!(rig.state(h), CallState::Idle);
    let t = rig.term(h);
    assert_eq!(t.origin, Origin::Local, "the app's drop was written first");
    assert_eq!(rig.terminations(h), 1);
    rig.quiesce();
}

#[test]
fn their_cancel_queued_before_our_reject_is_a_late_cause() {
    let mut rig = Rig::new();
    let (h, mut d) = offered(&mut rig);
    let now = rig.now;
    let cancel = d.cancel(&[]);
    rig.engine.provider_mut().handle_message(
        now,
        linedrop_sip::ua::Peer::udp(rig.far),
        cancel.as_bytes(),
    );
    rig.reject(h, Hangup::default());
    rig.pump();
    let sent = rig.sent();
    assert_eq!(
        sent.iter().map(Sent::label).collect::<Vec<_>>(),
        ["200 CANCEL", "487 INVITE"],
        "one final response"
    );
    d.learn(&sent[1]);
    rig.feed(d.ack_failure());
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

#[test]
fn their_cancel_queued_before_our_answer_wins() {
    let mut rig = Rig::new();
    let (h, mut d) = offered(&mut rig);
    let now = rig.now;
    let cancel = d.cancel(&[]);
    let far = linedrop_sip::ua::Peer::udp(rig.far);
    rig.engine
        .provider_mut()
        .handle_message(now, far, cancel.as_bytes());
    rig.answer(h);
    let sent = rig.sent();
    let labels: Vec<String> = sent.iter().map(Sent::label).collect();
    assert_eq!(
        labels,
        ["200 CANCEL", "487 INVITE"],
        "no 200 to the INVITE after its 487"
    );
    d.learn(&sent[1]);
    rig.feed(d.ack_failure());
    assert_eq!(rig.state(h), CallState::Idle);
    let t = rig.term(h);
    assert_eq!((t.origin, t.cause), (Origin::Remote, Cause::Cancelled));
    rig.quiesce();
}

#[test]
fn an_early_bye_from_the_callee_ends_the_call_and_cancels_the_invite() {
    // RFC 3261 §15: the callee must not BYE an early dialog. If one does, the call ends once,
    // and our INVITE, still pending, is cancelled rather than left in Proceeding forever.
    let mut rig = Rig::new();
    let (h, invite) = dial_ringing(&mut rig, "bt");
    let mut d = Dialog::from_ua_invite(invite.req(), "bt");
    let b = rig.fresh("branch");
    rig.feed(d.bye(&b, &["Reason: Q.850;cause=21"]));
    let sent = rig.sent();
    assert_eq!(
        sent.iter().map(Sent::label).collect::<Vec<_>>(),
        ["200 BYE", "CANCEL"]
    );
    let t = rig.term(h);
    assert_eq!(
        (t.origin, t.cause, t.wire, t.q850),
        (Origin::Remote, Cause::Normal, WireEnd::Bye, Some(21))
    );
    assert_eq!(
        rig.state(h),
        CallState::Disconnected,
        "until the INVITE is over"
    );
    rig.feed(respond(sent[1].req(), 200, None, &[]));
    rig.feed(respond(invite.req(), 487, Some("bt"), &[]));
    rig.one("ACK");
    assert_eq!(rig.state(h), CallState::Idle);
    assert_eq!(rig.terminations(h), 1);
    rig.quiesce();
}

#[test]
fn an_early_bye_from_a_callee_that_then_goes_silent_ends_at_timer_b() {
    let mut rig = Rig::new();
    let (h, invite) = dial_ringing(&mut rig, "bt");
    let mut d = Dialog::from_ua_invite(invite.req(), "bt");
    let b = rig.fresh("branch");
    rig.feed(d.bye(&b, &[]));
    rig.clear();
    rig.advance(T1X64);
    assert_eq!(
        rig.state(h),
        CallState::Idle,
        "Timer B, re-armed by the CANCEL, bounds it"
    );
    rig.quiesce();
}

#[test]
fn a_bye_from_the_caller_on_its_early_dialog_gets_200_and_its_invite_487() {
    // RFC 3261 §15.1.2: the UAS answers the BYE, and the INVITE still pending gets 487.
    let mut rig = Rig::new();
    let (h, mut d) = offered(&mut rig);
    rig.accept(h);
    d.learn(&rig.one("180 INVITE"));
    let b = rig.fresh("branch");
    rig.feed(d.bye(&b, &[]));
    let sent = rig.sent();
    assert_eq!(
        sent.iter().map(Sent::label).collect::<Vec<_>>(),
        ["200 BYE", "487 INVITE"]
    );
    let t = rig.term(h);
    assert_eq!(
        (t.origin, t.cause, t.wire, t.sip_status),
        (Origin::Remote, Cause::Cancelled, WireEnd::Bye, Some(487))
    );
    rig.feed(d.ack_failure());
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

//! Every way a call ends maps to exactly one termination: our BYE, their BYE, our CANCEL,
//! their CANCEL, our rejection, their error response, Timer B and F, a 2xx never ACKed
//! (Timer L, then BYE), 481/408 to our BYE, a policy limit, and transport failure. The
//! Reason header (RFC 3326) goes out on our BYE and CANCEL and is read from theirs.
//!
//! Each test drives a live agent against a scripted far end (`peer`), checks the
//! termination, what went on the wire, and that nothing is left once the handles are
//! released and the timers have run.

mod peer;

use std::time::Duration;

use linedrop_core::*;
use linedrop_sip::ua::{ConnId, Peer};
use peer::*;

/// Dials the far end and gets the call connected: INVITE, 180, 200, ACK.
fn connect_outbound(rig: &mut Rig) -> (CallHandle, Dialog) {
    let h = rig.dial();
    let invite = rig.one("INVITE");
    let far_tag = rig.fresh("bt");
    rig.feed(respond(invite.req(), 180, Some(&far_tag), &[]));
    assert_eq!(rig.state(h), CallState::Ringback);
    rig.feed(respond(invite.req(), 200, Some(&far_tag), &[]));
    let ack = rig.one("ACK");
    assert_eq!(to_tag(ack.msg()).as_deref(), Some(far_tag.as_str()));
    assert_eq!(rig.state(h), CallState::Connected);
    (h, Dialog::from_ua_invite(invite.req(), &far_tag))
}

/// The far end calls; the agent answers; the far end ACKs.
fn connect_inbound(rig: &mut Rig) -> (CallHandle, Dialog) {
    let mut d = Dialog::inbound(rig);
    let b = rig.fresh("branch");
    rig.feed(d.invite(&b));
    rig.one("100 INVITE");
    let h = rig.offered();
    rig.answer(h);
    let ok = rig.one("200 INVITE");
    d.learn(&ok);
    let b = rig.fresh("branch");
    rig.feed(d.ack_2xx(&b));
    assert_eq!(rig.state(h), CallState::Connected);
    (h, d)
}

fn summary(t: &Termination) -> (Origin, Cause, WireEnd, Option<u16>) {
    (t.origin, t.cause, t.wire, t.sip_status)
}

#[test]
fn our_bye_carries_a_q850_reason_and_ends_local_normal() {
    let mut rig = Rig::new();
    let (h, _) = connect_outbound(&mut rig);
    rig.advance(Duration::from_secs(10));
    let hangup = Hangup {
        q850: Some(16),
        text: Some("done talking".into()),
        ..Hangup::default()
    };
    rig.hang_up(h, hangup);
    let bye = rig.one("BYE");
    assert_eq!(
        reasons(bye.msg()),
        vec!["Q.850;cause=16;text=\"done talking\""]
    );
    assert_eq!(
        rig.state(h),
        CallState::Disconnected,
        "torn down only when the BYE is answered"
    );
    rig.feed(respond(bye.req(), 200, None, &[]));
    assert_eq!(rig.state(h), CallState::Idle);
    let t = rig.term(h);
    assert_eq!(
        summary(&t),
        (Origin::Local, Cause::Normal, WireEnd::Bye, None)
    );
    assert_eq!(
        (t.q850, t.text.as_deref()),
        (Some(16), Some("done talking"))
    );
    assert_eq!(rig.terminations(h), 1);
    assert!(rig.quiesce().is_empty());
}

#[test]
fn their_bye_is_answered_and_its_q850_reason_recorded() {
    let mut rig = Rig::new();
    let (h, mut d) = connect_inbound(&mut rig);
    let b = rig.fresh("branch");
    rig.feed(d.bye(&b, &["Reason: Q.850;cause=17;text=\"User busy\""]));
    rig.one("200 BYE");
    assert_eq!(rig.state(h), CallState::Idle);
    let t = rig.term(h);
    assert_eq!(
        summary(&t),
        (Origin::Remote, Cause::Normal, WireEnd::Bye, None)
    );
    assert_eq!((t.q850, t.text.as_deref()), (Some(17), Some("User busy")));
    rig.quiesce();
}

#[test]
fn their_bye_with_sip_and_q850_reasons_gives_the_q850_cause_and_a_text() {
    let mut rig = Rig::new();
    let (h, mut d) = connect_outbound(&mut rig);
    let b = rig.fresh("branch");
    rig.feed(d.bye(
        &b,
        &[
            "Reason: SIP;cause=480;text=\"Gone away\"",
            "Reason: Q.850;cause=18",
        ],
    ));
    rig.one("200 BYE");
    let t = rig.term(h);
    assert_eq!(
        summary(&t),
        (Origin::Remote, Cause::Normal, WireEnd::Bye, None)
    );
    assert_eq!((t.q850, t.text.as_deref()), (Some(18), Some("Gone away")));
    rig.quiesce();
}

#[test]
fn their_bye_with_only_a_sip_reason_keeps_its_cause_in_the_text() {
    let mut rig = Rig::new();
    let (h, mut d) = connect_inbound(&mut rig);
    let b = rig.fresh("branch");
    rig.feed(d.bye(&b, &["Reason: SIP;cause=503"]));
    rig.one("200 BYE");
    let t = rig.term(h);
    assert_eq!((t.q850, t.text.as_deref()), (None, Some("SIP;cause=503")));
    rig.quiesce();
}

#[test]
fn our_cancel_carries_a_reason_and_ends_local_cancelled() {
    let mut rig = Rig::new();
    let h = rig.dial();
    let invite = rig.one("INVITE");
    rig.feed(respond(invite.req(), 180, Some("bt1"), &[]));
    rig.hang_up(
        h,
        Hangup {
            text: Some("changed my mind".into()),
            ..Hangup::default()
        },
    );
    let cancel = rig.one("CANCEL");
    assert_eq!(
        branch(cancel.msg()),
        branch(invite.msg()),
        "CANCEL matches the INVITE (§9.1)"
    );
    assert_eq!(
        reasons(cancel.msg()),
        vec!["Q.850;cause=16;text=\"changed my mind\""]
    );
    rig.feed(respond(cancel.req(), 200, None, &[]));
    assert_eq!(rig.state(h), CallState::Disconnected);
    rig.feed(respond(invite.req(), 487, Some("bt1"), &[]));
    let ack = rig.one("ACK");
    assert_eq!(
        branch(ack.msg()),
        branch(invite.msg()),
        "ACK of a non-2xx shares the branch"
    );
    assert_eq!(rig.state(h), CallState::Idle);
    let t = rig.term(h);
    assert_eq!(
        summary(&t),
        (Origin::Local, Cause::Cancelled, WireEnd::Cancel, Some(487))
    );
    assert_eq!(rig.terminations(h), 1);
    // The 487 retransmitted within Timer D is re-acknowledged.
    rig.feed(respond(invite.req(), 487, Some("bt1"), &[]));
    rig.one("ACK");
    rig.quiesce();
}

#[test]
fn their_cancel_is_answered_200_and_487_and_its_reason_recorded() {
    let mut rig = Rig::new();
    let mut d = Dialog::inbound(&mut rig);
    let b = rig.fresh("branch");
    rig.feed(d.invite(&b));
    rig.one("100 INVITE");
    let h = rig.offered();
    rig.accept(h);
    d.learn(&rig.one("180 INVITE"));
    rig.feed(d.cancel(&["Reason: SIP;cause=200;text=\"Call completed elsewhere\""]));
    let sent = rig.sent();
    let labels: Vec<String> = sent.iter().map(Sent::label).collect();
    assert_eq!(labels, ["200 CANCEL", "487 INVITE"]);
    assert_eq!(
        to_tag(sent[1].msg()),
        d.ua_tag,
        "the 487 keeps the early dialog's tag"
    );
    assert_eq!(
        to_tag(sent[0].msg()),
        d.ua_tag,
        "the 200 to the CANCEL has the same tag (RFC 3261 §9.2)"
    );
    assert_eq!(
        rig.state(h),
        CallState::Disconnected,
        "torn down once the 487 is ACKed"
    );
    rig.feed(d.ack_failure());
    assert!(rig.sent().is_empty(), "an ACK is never answered");
    assert_eq!(rig.state(h), CallState::Idle);
    let t = rig.term(h);
    assert_eq!(
        summary(&t),
        (Origin::Remote, Cause::Cancelled, WireEnd::Cancel, Some(487))
    );
    assert_eq!(t.text.as_deref(), Some("Call completed elsewhere"));
    rig.quiesce();
}

#[test]
fn our_rejection_sends_the_status_with_a_reason_and_waits_for_the_ack() {
    let mut rig = Rig::new();
    let mut d = Dialog::inbound(&mut rig);
    let b = rig.fresh("branch");
    rig.feed(d.invite(&b));
    rig.one("100 INVITE");
    let h = rig.offered();
    rig.reject(
        h,
        Hangup {
            sip_status: Some(486),
            ..Hangup::default()
        },
    );
    let busy = rig.one("486 INVITE");
    assert_eq!(
        reasons(busy.msg()),
        vec!["Q.850;cause=17"],
        "RFC 6432 Reason in the response"
    );
    d.learn(&busy);
    assert_eq!(rig.state(h), CallState::Disconnected);
    rig.feed(d.ack_failure());
    assert_eq!(rig.state(h), CallState::Idle);
    let t = rig.term(h);
    assert_eq!(
        summary(&t),
        (
            Origin::Local,
            Cause::Busy,
            WireEnd::FinalResponse,
            Some(486)
        )
    );
    assert_eq!(t.q850, Some(17));
    rig.quiesce();
}

#[test]
fn our_rejection_never_acked_is_resent_until_timer_h() {
    let mut rig = Rig::new();
    let mut d = Dialog::inbound(&mut rig);
    let b = rig.fresh("branch");
    rig.feed(d.invite(&b));
    rig.clear();
    let h = rig.offered();
    rig.reject(h, Hangup::default());
    rig.one("603 INVITE");
    rig.advance(T1X64 - Duration::from_millis(1));
    assert_eq!(rig.state(h), CallState::Disconnected);
    let resent = rig.sent();
    assert!(
        resent.len() >= 9 && resent.iter().all(|s| s.label() == "603 INVITE"),
        "Timer G"
    );
    rig.advance(Duration::from_millis(1));
    assert_eq!(rig.state(h), CallState::Idle, "Timer H ends the wait");
    let t = rig.term(h);
    assert_eq!(
        summary(&t),
        (
            Origin::Local,
            Cause::Rejected,
            WireEnd::FinalResponse,
            Some(603)
        )
    );
    rig.quiesce();
}

#[test]
fn their_error_response_is_acked_and_recorded_with_its_reason() {
    for (status, cause) in [
        (486, Cause::Busy),
        (603, Cause::Rejected),
        (404, Cause::BadAddress),
    ] {
        let mut rig = Rig::new();
        let h = rig.dial();
        let invite = rig.one("INVITE");
        rig.feed(respond(invite.req(), 100, None, &[]));
        assert_eq!(rig.state(h), CallState::Proceeding);
        rig.feed(respond(
            invite.req(),
            status,
            Some("bt"),
            &["Reason: Q.850;cause=21;text=\"nope\""],
        ));
        rig.one("ACK");
        assert_eq!(rig.state(h), CallState::Idle);
        let t = rig.term(h);
        assert_eq!(
            summary(&t),
            (Origin::Remote, cause, WireEnd::FinalResponse, Some(status))
        );
        assert_eq!((t.q850, t.text.as_deref()), (Some(21), Some("nope")));
        rig.quiesce();
    }
}

#[test]
fn their_error_response_without_reason_records_the_phrase() {
    let mut rig = Rig::new();
    let h = rig.dial();
    let invite = rig.one("INVITE");
    rig.feed(respond(invite.req(), 480, Some("bt"), &[]));
    rig.one("ACK");
    let t = rig.term(h);
    assert_eq!(
        summary(&t),
        (
            Origin::Remote,
            Cause::NoAnswer,
            WireEnd::FinalResponse,
            Some(480)
        )
    );
    assert_eq!(
        (t.q850, t.text.as_deref()),
        (None, Some("Temporarily Unavailable"))
    );
    rig.quiesce();
}

#[test]
fn timer_b_ends_an_unanswered_invite_after_64_t1() {
    let mut rig = Rig::new();
    let h = rig.dial();
    rig.one("INVITE");
    rig.advance(T1X64 - Duration::from_millis(1));
    assert_eq!(rig.state(h), CallState::Dialing);
    let resent: Vec<Duration> = rig.sent().iter().map(|s| s.at).collect();
    let secs: Vec<f64> = resent.iter().map(Duration::as_secs_f64).collect();
    assert_eq!(
        secs,
        [0.5, 1.5, 3.5, 7.5, 15.5, 31.5],
        "Timer A doubles from T1"
    );
    rig.advance(Duration::from_millis(1));
    assert_eq!(rig.state(h), CallState::Idle);
    let t = rig.term(h);
    assert_eq!(
        summary(&t),
        (Origin::Network, Cause::Timeout, WireEnd::None, Some(408))
    );
    assert_eq!(rig.engine.info(h).unwrap().facts.retransmissions, 6);
    assert!(
        rig.quiesce().is_empty(),
        "a timed-out INVITE is never CANCELled"
    );
}

#[test]
fn timer_f_ends_our_unanswered_bye() {
    let mut rig = Rig::new();
    let (h, _) = connect_inbound(&mut rig);
    rig.hang_up(h, Hangup::default());
    let bye = rig.one("BYE");
    assert_eq!(reasons(bye.msg()), vec!["Q.850;cause=16"]);
    rig.advance(T1X64 - Duration::from_millis(1));
    assert_eq!(rig.state(h), CallState::Disconnected);
    assert!(
        rig.sent().iter().all(|s| s.label() == "BYE"),
        "Timer E resends the BYE"
    );
    rig.advance(Duration::from_millis(1));
    assert_eq!(
        rig.state(h),
        CallState::Idle,
        "Timer F: the dialog is over (§15.1.1)"
    );
    assert_eq!(
        summary(&rig.term(h)),
        (Origin::Local, Cause::Normal, WireEnd::Bye, None)
    );
    rig.quiesce();
}

#[test]
fn a_2xx_never_acked_ends_with_bye_after_timer_l() {
    let mut rig = Rig::new();
    let mut d = Dialog::inbound(&mut rig);
    let b = rig.fresh("branch");
    rig.feed(d.invite(&b));
    rig.clear();
    let h = rig.offered();
    rig.answer(h);
    d.learn(&rig.one("200 INVITE"));
    rig.advance(T1X64 - Duration::from_millis(1));
    let resent = rig.sent();
    assert!(
        resent.len() >= 9 && resent.iter().all(|s| s.label() == "200 INVITE"),
        "2xx resent"
    );
    assert_eq!(
        rig.state(h),
        CallState::Offering,
        "not connected without the ACK"
    );
    rig.advance(Duration::from_millis(1));
    let bye = rig.one("BYE");
    assert_eq!(to_tag(bye.msg()).as_deref(), Some(d.far_tag.as_str()));
    assert_eq!(
        bye.msg()
            .headers()
            .get(linedrop_sip::message::HeaderName::From)
            .map(|f| f.contains(d.ua_tag.as_deref().unwrap())),
        Some(true)
    );
    assert_eq!(
        reasons(bye.msg()),
        vec![format!(
            "Q.850;cause={};text=\"no ACK for our 2xx\"",
            Cause::NotAcknowledged.q850()
        )]
    );
    let t = rig.term(h);
    assert_eq!(
        summary(&t),
        (Origin::Network, Cause::NotAcknowledged, WireEnd::Bye, None)
    );
    assert_eq!(rig.state(h), CallState::Disconnected);
    rig.feed(respond(bye.req(), 200, None, &[]));
    assert_eq!(rig.state(h), CallState::Idle);
    assert_eq!(rig.terminations(h), 1);
    rig.quiesce();
}

#[test]
fn a_481_or_408_to_our_bye_still_ends_the_dialog() {
    for status in [481, 408] {
        let mut rig = Rig::new();
        let (h, _) = connect_outbound(&mut rig);
        rig.hang_up(h, Hangup::default());
        let bye = rig.one("BYE");
        rig.feed(respond(bye.req(), status, None, &[]));
        assert_eq!(rig.state(h), CallState::Idle, "{status}");
        assert_eq!(
            summary(&rig.term(h)),
            (Origin::Local, Cause::Normal, WireEnd::Bye, None)
        );
        assert!(rig.quiesce().is_empty());
    }
}

#[test]
fn an_offer_nobody_takes_ends_by_policy_with_480() {
    let mut rig = Rig::new();
    let mut d = Dialog::inbound(&mut rig);
    let b = rig.fresh("branch");
    rig.feed(d.invite(&b));
    rig.clear();
    let h = rig.offered();
    rig.advance(Duration::from_secs(60));
    let resp = rig.one("480 INVITE");
    d.learn(&resp);
    rig.feed(d.ack_failure());
    let t = rig.term(h);
    assert_eq!(
        summary(&t),
        (
            Origin::Policy,
            Cause::OfferTimeout,
            WireEnd::FinalResponse,
            Some(480)
        )
    );
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

#[test]
fn ringing_past_the_no_answer_limit_is_cancelled_by_policy() {
    let mut rig = Rig::new();
    let h = rig.dial();
    let invite = rig.one("INVITE");
    rig.feed(respond(invite.req(), 180, Some("bt"), &[]));
    rig.advance(Duration::from_secs(60));
    let cancel = rig.one("CANCEL");
    assert_eq!(reasons(cancel.msg()), vec!["Q.850;cause=19"]);
    rig.feed(respond(cancel.req(), 200, None, &[]));
    rig.feed(respond(invite.req(), 487, Some("bt"), &[]));
    rig.one("ACK");
    assert_eq!(
        summary(&rig.term(h)),
        (Origin::Policy, Cause::NoAnswer, WireEnd::Cancel, Some(487))
    );
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

/// An inbound call over TCP on connection 1, connected.
fn connect_inbound_tcp(rig: &mut Rig) -> (CallHandle, Dialog, Peer) {
    let conn = ConnId(1);
    let from = Peer::tcp(rig.far, Some(conn));
    let now = rig.now;
    rig.engine
        .provider_mut()
        .handle_connection_opened(now, conn, from);
    let mut d = Dialog::inbound(rig);
    let b = rig.fresh("branch");
    let invite = d.invite(&b).replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    rig.feed_from(from, invite);
    let trying = rig.one("100 INVITE");
    assert_eq!(trying.to, from, "answers go back on the connection");
    let h = rig.offered();
    rig.answer(h);
    d.learn(&rig.one("200 INVITE"));
    let b = rig.fresh("branch");
    rig.feed_from(from, d.ack_2xx(&b).replace("SIP/2.0/UDP", "SIP/2.0/TCP"));
    assert_eq!(rig.state(h), CallState::Connected);
    (h, d, from)
}

#[test]
fn a_lost_connection_ends_its_calls_with_transport_failure() {
    let mut rig = Rig::with_config(|c| c.tcp_addr = Some(UA.parse().unwrap()));
    let (h, _, _) = connect_inbound_tcp(&mut rig);
    assert_eq!(rig.engine.ledger().provider.connections, 1);
    assert!(rig.engine.provider().connection_in_use(ConnId(1)));
    let now = rig.now;
    rig.engine
        .provider_mut()
        .handle_connection_closed(now, ConnId(1));
    rig.pump();
    assert_eq!(rig.state(h), CallState::Idle);
    let t = rig.term(h);
    assert_eq!(
        summary(&t),
        (
            Origin::Network,
            Cause::TransportFailure,
            WireEnd::None,
            None
        )
    );
    assert!(
        rig.sent().is_empty(),
        "nothing can be sent on a lost connection"
    );
    rig.quiesce();
}

#[test]
fn a_connection_lost_while_our_bye_is_out_ends_the_teardown() {
    let mut rig = Rig::with_config(|c| c.tcp_addr = Some(UA.parse().unwrap()));
    let (h, _, _) = connect_inbound_tcp(&mut rig);
    rig.hang_up(h, Hangup::default());
    rig.one("BYE");
    let now = rig.now;
    rig.engine
        .provider_mut()
        .handle_connection_closed(now, ConnId(1));
    rig.pump();
    assert_eq!(rig.state(h), CallState::Idle);
    assert_eq!(
        summary(&rig.term(h)),
        (Origin::Local, Cause::Normal, WireEnd::Bye, None)
    );
    rig.quiesce();
}

#[test]
fn an_invite_that_cannot_be_sent_is_a_transport_failure_not_a_timeout() {
    let mut rig = Rig::new();
    let h = rig.dial();
    rig.one("INVITE");
    let (now, far) = (rig.now, rig.far);
    rig.engine
        .provider_mut()
        .handle_send_failure(now, Peer::udp(far));
    rig.pump();
    assert_eq!(rig.state(h), CallState::Idle);
    let t = rig.term(h);
    assert_eq!(
        summary(&t),
        (
            Origin::Network,
            Cause::TransportFailure,
            WireEnd::None,
            None
        )
    );
    assert!(rig.quiesce().is_empty());
}

#[test]
fn an_answer_that_cannot_be_sent_ends_the_offered_call() {
    let mut rig = Rig::new();
    let mut d = Dialog::inbound(&mut rig);
    let b = rig.fresh("branch");
    rig.feed(d.invite(&b));
    rig.clear();
    let h = rig.offered();
    rig.answer(h);
    rig.one("200 INVITE");
    let (now, far) = (rig.now, rig.far);
    rig.engine
        .provider_mut()
        .handle_send_failure(now, Peer::udp(far));
    rig.pump();
    assert_eq!(
        rig.state(h),
        CallState::Idle,
        "never stuck waiting for an ACK"
    );
    let t = rig.term(h);
    assert_eq!(
        summary(&t),
        (
            Origin::Network,
            Cause::TransportFailure,
            WireEnd::None,
            None
        )
    );
    rig.quiesce();
}

#[test]
fn a_ringing_that_cannot_be_sent_ends_the_offered_call() {
    let mut rig = Rig::new();
    let mut d = Dialog::inbound(&mut rig);
    let b = rig.fresh("branch");
    rig.feed(d.invite(&b));
    rig.clear();
    let h = rig.offered();
    let (now, far) = (rig.now, rig.far);
    rig.engine
        .provider_mut()
        .handle_send_failure(now, Peer::udp(far));
    rig.pump();
    assert_eq!(rig.state(h), CallState::Idle);
    assert_eq!(
        summary(&rig.term(h)),
        (
            Origin::Network,
            Cause::TransportFailure,
            WireEnd::None,
            None
        )
    );
    rig.quiesce();
}

#[test]
fn a_lost_connection_ends_a_ringing_outbound_call_and_its_invite() {
    let mut rig = Rig::with_config(|c| c.tcp_addr = Some(UA.parse().unwrap()));
    let now = rig.now;
    let h = rig
        .engine
        .dial(now, rig.app, rig.line, &format!("{FAR_URI};transport=tcp"))
        .unwrap();
    let invite = rig.one("INVITE");
    assert_eq!(
        invite.to,
        Peer::tcp(rig.far, None),
        "any connection to the far end"
    );
    // The driver opened connection 3 for it; the far end rings on it.
    let conn = ConnId(3);
    let on_conn = Peer::tcp(rig.far, Some(conn));
    rig.engine
        .provider_mut()
        .handle_connection_opened(now, conn, on_conn);
    rig.feed_from(on_conn, respond(invite.req(), 180, Some("bt"), &[]));
    assert_eq!(rig.state(h), CallState::Ringback);
    assert!(rig.engine.provider().connection_in_use(conn));
    rig.engine
        .provider_mut()
        .handle_connection_closed(now, conn);
    rig.pump();
    assert_eq!(rig.state(h), CallState::Idle);
    let t = rig.term(h);
    assert_eq!(
        summary(&t),
        (
            Origin::Network,
            Cause::TransportFailure,
            WireEnd::None,
            None
        )
    );
    assert_eq!(rig.terminations(h), 1);
    assert_eq!(
        rig.counts().1,
        0,
        "the INVITE transaction failed with its connection"
    );
    rig.quiesce();
}

#[test]
fn during_shutdown_a_new_call_gets_503_with_retry_after_and_origin_shutdown() {
    let mut rig = Rig::new();
    let now = rig.now;
    rig.engine.shutdown(now);
    let mut d = Dialog::inbound(&mut rig);
    let b = rig.fresh("branch");
    rig.feed(d.invite(&b));
    let sent = rig.sent();
    let refusal = sent
        .iter()
        .find(|s| s.label() == "503 INVITE")
        .expect("a 503");
    let retry = refusal
        .resp()
        .headers()
        .get(linedrop_sip::message::HeaderName::RetryAfter);
    assert_eq!(retry, Some("30"));
    let h = rig.offered();
    let t = rig.term(h);
    assert_eq!(
        summary(&t),
        (
            Origin::Shutdown,
            Cause::Shutdown,
            WireEnd::FinalResponse,
            Some(503)
        )
    );
    rig.feed(d.ack_failure());
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

//! RFC 4028 session timers and in-dialog keepalives on the wire, in both roles: the offer in
//! our INVITE, 422 with Min-SE for a too-small offer, the refresher's UPDATE or re-INVITE at
//! half the interval, the BYE (origin `policy`, cause `session_expired`) when a refresh
//! fails or never comes, and the OPTIONS keepalive whose 408/481 or silence ends the call
//! (origin `network`, cause `keepalive_failed`). Also the policy limit that had no wire test
//! (max duration: BYE with Reason) and the first-cause-wins rule at the wire.

mod peer;

use std::time::Duration;

use linedrop_core::*;
use linedrop_sip::message::HeaderName;
use linedrop_sip::ua::LineOptions;
use peer::*;

fn summary(t: &Termination) -> (Origin, Cause, WireEnd, Option<u16>) {
    (t.origin, t.cause, t.wire, t.sip_status)
}

fn header(s: &Sent, name: HeaderName) -> Option<String> {
    s.msg().headers().get(name).map(str::to_owned)
}

/// The far end calls with `extra` headers; the agent answers; the far end ACKs. Returns the
/// handle, the dialog and the agent's 200.
fn connect_inbound(rig: &mut Rig, extra: &[&str]) -> (CallHandle, Dialog, Sent) {
    let mut d = Dialog::inbound(rig);
    let b = rig.fresh("branch");
    d.invite_branch = Some(b.clone());
    rig.feed(d.request("INVITE", &b, extra, &far_sdp()));
    rig.one("100 INVITE");
    let h = rig.offered();
    rig.answer(h);
    let ok = rig.one("200 INVITE");
    d.learn(&ok);
    let b = rig.fresh("branch");
    rig.feed(d.ack_2xx(&b));
    assert_eq!(rig.state(h), CallState::Connected);
    (h, d, ok)
}

/// The agent dials; the far end answers 200 with `extra` headers. Returns the handle, the
/// dialog and the agent's INVITE.
fn connect_outbound(rig: &mut Rig, extra: &[&str]) -> (CallHandle, Dialog, Sent) {
    let h = rig.dial();
    let invite = rig.one("INVITE");
    rig.feed(respond(invite.req(), 200, Some("bt"), extra));
    rig.one("ACK");
    assert_eq!(rig.state(h), CallState::Connected);
    let d = Dialog::from_ua_invite(invite.req(), "bt");
    (h, d, invite)
}

/// Advances in one-second steps until the agent sends something; returns it and when.
fn next_sent(rig: &mut Rig, within: Duration) -> (Duration, Vec<Sent>) {
    let start = rig.elapsed();
    while rig.elapsed() - start < within {
        rig.advance(Duration::from_secs(1));
        let sent = rig.sent();
        if !sent.is_empty() {
            return (rig.elapsed() - start, sent);
        }
    }
    panic!("the agent sent nothing within {within:?}");
}

#[test]
fn our_invite_offers_a_session_timer_and_timer_support() {
    let mut rig = Rig::new();
    let h = rig.dial();
    let invite = rig.one("INVITE");
    assert_eq!(
        header(&invite, HeaderName::SessionExpires).as_deref(),
        Some("1800")
    );
    assert_eq!(header(&invite, HeaderName::MinSe).as_deref(), Some("90"));
    assert_eq!(
        header(&invite, HeaderName::Supported).as_deref(),
        Some("timer")
    );
    rig.hang_up(h, Hangup::default());
    rig.quiesce();
}

#[test]
fn an_offer_below_our_min_se_gets_422_with_min_se_and_no_call() {
    let mut rig = Rig::new();
    let mut d = Dialog::inbound(&mut rig);
    let b = rig.fresh("branch");
    d.invite_branch = Some(b.clone());
    rig.feed(d.request(
        "INVITE",
        &b,
        &["Supported: timer", "Session-Expires: 60"],
        &far_sdp(),
    ));
    let resp = rig.one("422 INVITE");
    assert_eq!(header(&resp, HeaderName::MinSe).as_deref(), Some("90"));
    rig.feed(d.ack_failure());
    assert!(
        !rig.events
            .iter()
            .any(|e| matches!(e.kind, EventKind::NewCall { .. })),
        "a refused offer creates no call"
    );
    rig.quiesce();
}

#[test]
fn as_uas_with_a_uac_refresher_that_never_refreshes_we_bye_before_expiry() {
    let mut rig = Rig::new();
    let (h, mut d, ok) = connect_inbound(
        &mut rig,
        &["Supported: timer", "Session-Expires: 120;refresher=uac"],
    );
    assert_eq!(
        header(&ok, HeaderName::SessionExpires).as_deref(),
        Some("120;refresher=uac")
    );
    assert_eq!(header(&ok, HeaderName::Require).as_deref(), Some("timer"));
    // RFC 4028 §10: the non-refresher BYEs min(32 s, 120/3) before the interval ends: at 88 s.
    let (after, sent) = next_sent(&mut rig, Duration::from_secs(200));
    assert_eq!(after, Duration::from_secs(88));
    assert_eq!(sent.len(), 1);
    let bye = &sent[0];
    assert_eq!(bye.label(), "BYE");
    assert_eq!(reasons(bye.msg())[0].split(';').nth(1), Some("cause=102"));
    rig.feed(respond(bye.req(), 200, None, &[]));
    assert_eq!(
        summary(&rig.term(h)),
        (Origin::Policy, Cause::SessionExpired, WireEnd::Bye, None)
    );
    assert_eq!(rig.state(h), CallState::Idle);
    let _ = &mut d;
    rig.quiesce();
}

#[test]
fn as_uas_their_update_refresh_restarts_the_interval() {
    let mut rig = Rig::new();
    let (h, mut d, _) = connect_inbound(
        &mut rig,
        &["Supported: timer", "Session-Expires: 120;refresher=uac"],
    );
    rig.advance(Duration::from_secs(60));
    let b = rig.fresh("branch");
    rig.feed(d.request(
        "UPDATE",
        &b,
        &["Supported: timer", "Session-Expires: 120;refresher=uac"],
        "",
    ));
    let ok = rig.one("200 UPDATE");
    assert_eq!(
        header(&ok, HeaderName::SessionExpires).as_deref(),
        Some("120;refresher=uac")
    );
    // The expiry now counts from the refresh: 60 + 88 s.
    let (after, sent) = next_sent(&mut rig, Duration::from_secs(200));
    assert_eq!(after, Duration::from_secs(88));
    assert_eq!(sent[0].label(), "BYE");
    rig.feed(respond(sent[0].req(), 200, None, &[]));
    assert_eq!(rig.term(h).cause, Cause::SessionExpired);
    rig.quiesce();
}

#[test]
fn as_uas_their_reinvite_refresh_is_answered_with_the_session_expires() {
    let mut rig = Rig::new();
    let (h, mut d, _) = connect_inbound(
        &mut rig,
        &["Supported: timer", "Session-Expires: 100;refresher=uac"],
    );
    rig.advance(Duration::from_secs(50));
    let b = rig.fresh("branch");
    rig.feed(d.request(
        "INVITE",
        &b,
        &["Supported: timer", "Session-Expires: 100;refresher=uac"],
        &far_sdp(),
    ));
    let ok = rig.one("200 INVITE");
    assert_eq!(
        header(&ok, HeaderName::SessionExpires).as_deref(),
        Some("100;refresher=uac")
    );
    let b = rig.fresh("branch");
    rig.feed(d.ack_2xx(&b));
    rig.advance(Duration::from_secs(60));
    assert!(
        rig.sent().is_empty(),
        "refreshed at 50 s: no BYE before 50 + 67 s"
    );
    assert_eq!(rig.state(h), CallState::Connected);
    rig.hang_up(h, Hangup::default());
    rig.quiesce();
}

#[test]
fn as_uac_refresher_we_update_at_half_the_interval_and_keep_the_call() {
    let mut rig = Rig::new();
    let (h, _, _) = connect_outbound(
        &mut rig,
        &[
            "Session-Expires: 100;refresher=uac",
            "Allow: INVITE, ACK, CANCEL, BYE, UPDATE",
        ],
    );
    for round in 0..3 {
        let (after, sent) = next_sent(&mut rig, Duration::from_secs(200));
        assert_eq!(after, Duration::from_secs(50), "round {round}");
        assert_eq!(sent.len(), 1);
        let update = &sent[0];
        assert_eq!(update.label(), "UPDATE");
        assert_eq!(
            header(update, HeaderName::SessionExpires).as_deref(),
            Some("100;refresher=uac")
        );
        rig.feed(respond(
            update.req(),
            200,
            None,
            &["Session-Expires: 100;refresher=uac"],
        ));
    }
    assert_eq!(rig.state(h), CallState::Connected);
    rig.hang_up(h, Hangup::default());
    rig.quiesce();
}

#[test]
fn as_uac_without_update_we_refresh_by_reinvite_and_ack_its_2xx() {
    let mut rig = Rig::new();
    let (h, _, _) = connect_outbound(
        &mut rig,
        &[
            "Session-Expires: 100;refresher=uac",
            "Allow: INVITE, ACK, BYE",
        ],
    );
    let (after, sent) = next_sent(&mut rig, Duration::from_secs(200));
    assert_eq!(after, Duration::from_secs(50));
    let reinvite = &sent[0];
    assert_eq!(reinvite.label(), "INVITE");
    assert!(
        to_tag(reinvite.msg()).is_some(),
        "a re-INVITE is in the dialog"
    );
    rig.feed(respond(
        reinvite.req(),
        200,
        Some("bt"),
        &["Session-Expires: 100;refresher=uac"],
    ));
    let ack = rig.one("ACK");
    assert_eq!(cseq(ack.msg()), cseq(reinvite.msg()));
    assert_eq!(rig.state(h), CallState::Connected);
    rig.hang_up(h, Hangup::default());
    rig.quiesce();
}

#[test]
fn as_uac_a_refresh_answered_481_ends_with_bye_and_session_expired() {
    let mut rig = Rig::new();
    let (h, _, _) = connect_outbound(
        &mut rig,
        &["Session-Expires: 100;refresher=uac", "Allow: UPDATE, BYE"],
    );
    let (_, sent) = next_sent(&mut rig, Duration::from_secs(200));
    rig.feed(respond(sent[0].req(), 481, None, &[]));
    let bye = rig.one("BYE");
    assert_eq!(reasons(bye.msg())[0].split(';').nth(1), Some("cause=102"));
    rig.feed(respond(bye.req(), 481, None, &[]));
    assert_eq!(
        summary(&rig.term(h)),
        (
            Origin::Policy,
            Cause::SessionExpired,
            WireEnd::Bye,
            Some(481)
        )
    );
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

#[test]
fn as_uac_a_refresh_nobody_answers_ends_after_timer_f() {
    let mut rig = Rig::new();
    let (h, _, _) = connect_outbound(
        &mut rig,
        &["Session-Expires: 100;refresher=uac", "Allow: UPDATE, BYE"],
    );
    rig.advance(Duration::from_secs(50));
    let labels = rig.labels();
    assert_eq!(labels, vec!["UPDATE"]);
    rig.advance(T1X64 - Duration::from_millis(1));
    assert!(
        rig.labels().iter().all(|l| l == "UPDATE"),
        "only retransmissions"
    );
    rig.advance(Duration::from_millis(1));
    let bye = rig.one("BYE");
    rig.feed(respond(bye.req(), 200, None, &[]));
    assert_eq!(
        summary(&rig.term(h)),
        (Origin::Policy, Cause::SessionExpired, WireEnd::Bye, None)
    );
    rig.quiesce();
}

#[test]
fn a_2xx_without_session_expires_means_no_session_timer() {
    let mut rig = Rig::new();
    let (h, _, _) = connect_outbound(&mut rig, &[]);
    rig.advance(Duration::from_secs(3 * 3600));
    assert!(rig.sent().is_empty(), "no refresh, no BYE: RFC 4028 §7.2");
    assert_eq!(rig.state(h), CallState::Connected);
    rig.hang_up(h, Hangup::default());
    rig.quiesce();
}

fn with_keepalive(secs: u64) -> Rig {
    let mut rig = Rig::new();
    let line = rig.line;
    rig.engine
        .provider_mut()
        .set_line_options(
            line,
            LineOptions {
                keepalive: Some(Duration::from_secs(secs)),
                ..LineOptions::default()
            },
        )
        .unwrap();
    rig
}

#[test]
fn keepalive_options_every_interval_and_a_481_ends_the_call() {
    let mut rig = with_keepalive(30);
    let (h, _, _) = connect_inbound(&mut rig, &[]);
    let (after, sent) = next_sent(&mut rig, Duration::from_secs(100));
    assert_eq!(after, Duration::from_secs(30));
    assert_eq!(sent[0].label(), "OPTIONS");
    assert!(to_tag(sent[0].msg()).is_some(), "in the dialog");
    rig.feed(respond(sent[0].req(), 200, None, &[]));
    let (after, sent) = next_sent(&mut rig, Duration::from_secs(100));
    assert_eq!(after, Duration::from_secs(30));
    rig.feed(respond(sent[0].req(), 481, None, &[]));
    let bye = rig.one("BYE");
    assert_eq!(reasons(bye.msg())[0].split(';').nth(1), Some("cause=41"));
    rig.feed(respond(bye.req(), 481, None, &[]));
    assert_eq!(
        summary(&rig.term(h)),
        (
            Origin::Network,
            Cause::KeepaliveFailed,
            WireEnd::Bye,
            Some(481)
        )
    );
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

#[test]
fn keepalive_with_no_answer_ends_the_call_after_timer_f() {
    let mut rig = with_keepalive(20);
    let (h, _, _) = connect_outbound(&mut rig, &[]);
    rig.advance(Duration::from_secs(20));
    assert_eq!(rig.labels(), vec!["OPTIONS"]);
    rig.advance(T1X64);
    let sent = rig.labels();
    assert_eq!(sent.last().map(String::as_str), Some("BYE"), "{sent:?}");
    // The far end is gone: the BYE too times out, and the call is Idle all the same.
    rig.advance(T1X64);
    assert_eq!(
        summary(&rig.term(h)),
        (Origin::Network, Cause::KeepaliveFailed, WireEnd::Bye, None)
    );
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

#[test]
fn max_duration_ends_with_bye_carrying_its_reason() {
    let mut rig = Rig::new();
    let (h, _, _) = connect_inbound(&mut rig, &[]);
    rig.advance(Duration::from_secs(4 * 3600));
    let bye = rig.one("BYE");
    assert_eq!(
        reasons(bye.msg())[0].split(';').nth(1).map(str::to_owned),
        Some(format!("cause={}", Cause::MaxDuration.q850()))
    );
    rig.feed(respond(bye.req(), 200, None, &[]));
    assert_eq!(
        summary(&rig.term(h)),
        (Origin::Policy, Cause::MaxDuration, WireEnd::Bye, None)
    );
    rig.quiesce();
}

#[test]
fn session_expiry_and_their_crossing_bye_first_cause_wins_the_other_is_late() {
    let mut rig = Rig::new();
    let (h, mut d, _) = connect_inbound(
        &mut rig,
        &["Supported: timer", "Session-Expires: 90;refresher=uac"],
    );
    // Expiry at 90 - 30 = 60 s: our BYE goes out; their BYE crosses it.
    rig.advance(Duration::from_secs(60));
    let bye = rig.one("BYE");
    let b = rig.fresh("branch");
    rig.feed(d.bye(&b, &["Reason: Q.850;cause=16"]));
    assert_eq!(rig.labels(), vec!["200 BYE"], "their BYE is answered");
    rig.feed(respond(bye.req(), 200, None, &[]));
    let info = rig.engine.info(h).unwrap();
    let t = info.termination.clone().unwrap();
    assert_eq!((t.origin, t.cause), (Origin::Policy, Cause::SessionExpired));
    assert_eq!(info.late_causes, 1, "their BYE is counted, never written");
    assert_eq!(rig.terminations(h), 1);
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

#[test]
fn a_422_to_our_invite_is_retried_once_with_its_min_se() {
    let mut rig = Rig::new();
    let h = rig.dial();
    let invite = rig.one("INVITE");
    rig.feed(respond(invite.req(), 422, Some("bt"), &["Min-SE: 2400"]));
    let sent = rig.sent();
    let labels: Vec<String> = sent.iter().map(Sent::label).collect();
    assert_eq!(labels, vec!["ACK", "INVITE"]);
    let retry = &sent[1];
    assert_eq!(
        header(retry, HeaderName::SessionExpires).as_deref(),
        Some("2400")
    );
    assert_eq!(header(retry, HeaderName::MinSe).as_deref(), Some("2400"));
    assert_eq!(cseq(retry.msg()), cseq(invite.msg()) + 1);
    assert_eq!(
        retry.msg().headers().call_id().unwrap(),
        invite.msg().headers().call_id().unwrap()
    );
    assert_ne!(branch(retry.msg()), branch(invite.msg()));
    rig.feed(respond(
        retry.req(),
        200,
        Some("bt2"),
        &["Session-Expires: 2400;refresher=uas"],
    ));
    rig.one("ACK");
    assert_eq!(rig.state(h), CallState::Connected);
    // A second 422 would end the call; here the far end refreshes: we only wait.
    rig.advance(Duration::from_secs(1000));
    assert!(rig.sent().is_empty());
    rig.hang_up(h, Hangup::default());
    rig.quiesce();
}

#[test]
fn a_second_422_ends_the_call_with_its_status() {
    let mut rig = Rig::new();
    let h = rig.dial();
    let invite = rig.one("INVITE");
    rig.feed(respond(invite.req(), 422, Some("bt"), &["Min-SE: 2400"]));
    let retry = rig.sent().pop().unwrap();
    rig.feed(respond(retry.req(), 422, Some("bt"), &["Min-SE: 4800"]));
    rig.one("ACK");
    let t = rig.term(h);
    assert_eq!((t.origin, t.sip_status), (Origin::Remote, Some(422)));
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

#[test]
fn a_refresh_refused_491_is_retried_and_a_422_raises_the_interval() {
    let mut rig = Rig::new();
    let (h, _, _) = connect_outbound(
        &mut rig,
        &["Session-Expires: 100;refresher=uac", "Allow: UPDATE, BYE"],
    );
    let (_, sent) = next_sent(&mut rig, Duration::from_secs(200));
    rig.feed(respond(sent[0].req(), 491, None, &[]));
    let (after, sent) = next_sent(&mut rig, Duration::from_secs(200));
    assert_eq!(after, Duration::from_secs(4), "retried after 4 s");
    assert_eq!(sent[0].label(), "UPDATE");
    rig.feed(respond(sent[0].req(), 422, None, &["Min-SE: 300"]));
    let update = rig.one("UPDATE");
    assert_eq!(
        header(&update, HeaderName::SessionExpires).as_deref(),
        Some("300;refresher=uac")
    );
    rig.feed(respond(
        update.req(),
        200,
        None,
        &["Session-Expires: 300;refresher=uac"],
    ));
    let (after, _) = next_sent(&mut rig, Duration::from_secs(400));
    assert_eq!(after, Duration::from_secs(150));
    assert_eq!(rig.state(h), CallState::Connected);
    rig.hang_up(h, Hangup::default());
    rig.quiesce();
}

#[test]
fn as_uas_refresher_for_a_uac_without_timer_support_we_refresh_by_reinvite() {
    let mut rig = Rig::new();
    let (h, _, ok) = connect_inbound(&mut rig, &["Session-Expires: 120"]);
    assert_eq!(
        header(&ok, HeaderName::SessionExpires).as_deref(),
        Some("120;refresher=uas")
    );
    assert_eq!(
        header(&ok, HeaderName::Require),
        None,
        "the UAC cannot do timer"
    );
    let (after, sent) = next_sent(&mut rig, Duration::from_secs(200));
    assert_eq!(after, Duration::from_secs(60));
    let reinvite = &sent[0];
    assert_eq!(
        reinvite.label(),
        "INVITE",
        "their INVITE had no Allow: no UPDATE"
    );
    assert_eq!(
        reinvite.req().uri().to_string(),
        FAR_URI,
        "to their Contact"
    );
    assert_eq!(
        header(reinvite, HeaderName::SessionExpires).as_deref(),
        Some("120;refresher=uac")
    );
    rig.feed(respond(reinvite.req(), 200, None, &[]));
    rig.one("ACK");
    // A 2xx without Session-Expires: no session expiration any more (RFC 4028 §7.2).
    rig.advance(Duration::from_secs(3600));
    assert!(rig.sent().is_empty());
    assert_eq!(rig.state(h), CallState::Connected);
    rig.hang_up(h, Hangup::default());
    rig.quiesce();
}

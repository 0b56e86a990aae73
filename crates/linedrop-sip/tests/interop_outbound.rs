//! linedrop calls SIPp (over UDP and over TCP), and each way an outbound call can end shows
//! the same on both sides: SIPp's scenario passes (exit 0), linedrop's record says who
//! ended the call, why and how, and once the handle is released the ledger is back to zero.

mod interop_common;

use std::time::Duration;

use interop_common::sipp::Run;
use interop_common::{assert_ended, over_udp_and_tcp, Linedrop, Setup, Wire};
use linedrop_core::{CallState, Cause, Hangup, LinePolicy, Origin, WireEnd};

/// SIPp answers, linedrop hangs up: local / normal / BYE; SIPp checks our ACK and BYE.
async fn we_hang_up_over(wire: Wire) {
    let mut ld = Linedrop::start(wire, Setup::default()).await;
    let mut sipp = Run {
        scenario: "uas_basic",
        wire,
        pause_ms: 0,
    }
    .listen()
    .await;

    let h = ld.dial(sipp.uri(wire)).await;
    let call = ld.call(move |e, _| e.call_id(h)).await.expect("call id");
    ld.reached(call, CallState::Connected).await;
    ld.call(move |e, now| e.drop_call(now, h, Hangup::default()))
        .await
        .expect("drop");
    let info = ld.ended(call).await;
    assert_ended(&info, Origin::Local, Cause::Normal, WireEnd::Bye, None);
    sipp.expect_success().await;
    ld.release_and_quiesce(h).await;
}

#[tokio::test]
async fn we_hang_up() {
    over_udp_and_tcp(we_hang_up_over).await;
}

/// SIPp answers, then hangs up: remote / normal / BYE.
async fn callee_hangs_up_over(wire: Wire) {
    let mut ld = Linedrop::start(wire, Setup::default()).await;
    let mut sipp = Run {
        scenario: "uas_bye",
        wire,
        pause_ms: 200,
    }
    .listen()
    .await;

    let h = ld.dial(sipp.uri(wire)).await;
    let call = ld.call(move |e, _| e.call_id(h)).await.expect("call id");
    ld.reached(call, CallState::Connected).await;
    let info = ld.ended(call).await;
    assert_ended(&info, Origin::Remote, Cause::Normal, WireEnd::Bye, None);
    sipp.expect_success().await;
    ld.release_and_quiesce(h).await;
}

#[tokio::test]
async fn callee_hangs_up() {
    over_udp_and_tcp(callee_hangs_up_over).await;
}

/// SIPp rejects with 486: remote / busy / final response 486; SIPp checks our ACK.
async fn callee_busy_over(wire: Wire) {
    let mut ld = Linedrop::start(wire, Setup::default()).await;
    let mut sipp = Run {
        scenario: "uas_reject",
        wire,
        pause_ms: 0,
    }
    .listen()
    .await;

    let h = ld.dial(sipp.uri(wire)).await;
    let call = ld.call(move |e, _| e.call_id(h)).await.expect("call id");
    let info = ld.ended(call).await;
    assert_ended(
        &info,
        Origin::Remote,
        Cause::Busy,
        WireEnd::FinalResponse,
        Some(486),
    );
    sipp.expect_success().await;
    ld.release_and_quiesce(h).await;
}

#[tokio::test]
async fn callee_busy() {
    over_udp_and_tcp(callee_busy_over).await;
}

/// SIPp rings and never answers; the line's no-answer limit gives up: policy / no_answer /
/// CANCEL; SIPp sees the CANCEL, answers 200 and 487, and gets our ACK.
async fn no_answer_over(wire: Wire) {
    let policy = LinePolicy {
        no_answer: Duration::from_millis(800),
        ..LinePolicy::default()
    };
    let setup = Setup {
        policy: Some(policy),
        ..Setup::default()
    };
    let mut ld = Linedrop::start(wire, setup).await;
    let mut sipp = Run {
        scenario: "uas_noanswer",
        wire,
        pause_ms: 0,
    }
    .listen()
    .await;

    let h = ld.dial(sipp.uri(wire)).await;
    let call = ld.call(move |e, _| e.call_id(h)).await.expect("call id");
    ld.reached(call, CallState::Ringback).await;
    let info = ld.ended(call).await;
    assert_ended(
        &info,
        Origin::Policy,
        Cause::NoAnswer,
        WireEnd::Cancel,
        Some(487),
    );
    sipp.expect_success().await;
    ld.release_and_quiesce(h).await;
}

#[tokio::test]
async fn no_answer() {
    over_udp_and_tcp(no_answer_over).await;
}

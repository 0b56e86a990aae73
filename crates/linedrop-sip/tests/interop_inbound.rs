//! SIPp calls linedrop (over UDP and over TCP), and each way an inbound call can end shows
//! the same on both sides: SIPp's scenario passes (exit 0), linedrop's record says who
//! ended the call, why and how, and once the handle is released the ledger is back to zero.

mod interop_common;

use interop_common::sipp::Run;
use interop_common::{assert_ended, over_udp_and_tcp, Linedrop, Setup, Wire};
use linedrop_core::{CallState, Cause, Hangup, Origin, WireEnd};

/// SIPp calls, linedrop answers, SIPp hangs up: remote / normal / BYE.
async fn caller_hangs_up_over(wire: Wire) {
    let mut ld = Linedrop::start(wire, Setup::default()).await;
    let run = Run {
        scenario: "uac_basic",
        wire,
        pause_ms: 200,
    };
    let mut sipp = run.call(ld.addr).await;

    let offer = ld.offered().await;
    let h = offer.handle;
    ld.call(move |e, now| e.answer(now, h))
        .await
        .expect("answer");
    ld.reached(offer.call, CallState::Connected).await;
    let info = ld.ended(offer.call).await;
    assert_ended(&info, Origin::Remote, Cause::Normal, WireEnd::Bye, None);
    sipp.expect_success().await;
    ld.release_and_quiesce(h).await;
}

#[tokio::test]
async fn caller_hangs_up() {
    over_udp_and_tcp(caller_hangs_up_over).await;
}

/// SIPp calls, linedrop answers and then hangs up: local / normal / BYE, and SIPp sees
/// the BYE and answers 200.
async fn we_hang_up_over(wire: Wire) {
    let mut ld = Linedrop::start(wire, Setup::default()).await;
    let run = Run {
        scenario: "uac_remote_bye",
        wire,
        pause_ms: 0,
    };
    let mut sipp = run.call(ld.addr).await;

    let offer = ld.offered().await;
    let h = offer.handle;
    ld.call(move |e, now| e.answer(now, h))
        .await
        .expect("answer");
    ld.reached(offer.call, CallState::Connected).await;
    ld.call(move |e, now| e.drop_call(now, h, Hangup::default()))
        .await
        .expect("drop");
    let info = ld.ended(offer.call).await;
    assert_ended(&info, Origin::Local, Cause::Normal, WireEnd::Bye, None);
    sipp.expect_success().await;
    ld.release_and_quiesce(h).await;
}

#[tokio::test]
async fn we_hang_up() {
    over_udp_and_tcp(we_hang_up_over).await;
}

/// SIPp calls, linedrop rings (the app accepts without answering), SIPp CANCELs: remote /
/// cancelled / CANCEL, and SIPp gets 200 for its CANCEL and 487 for its INVITE.
async fn caller_cancels_over(wire: Wire) {
    let mut ld = Linedrop::start(wire, Setup::default()).await;
    let run = Run {
        scenario: "uac_cancel",
        wire,
        pause_ms: 300,
    };
    let mut sipp = run.call(ld.addr).await;

    let offer = ld.offered().await;
    let h = offer.handle;
    ld.call(move |e, now| e.accept(now, h))
        .await
        .expect("accept (ring)");
    let info = ld.ended(offer.call).await;
    assert_ended(
        &info,
        Origin::Remote,
        Cause::Cancelled,
        WireEnd::Cancel,
        Some(487),
    );
    sipp.expect_success().await;
    ld.release_and_quiesce(h).await;
}

#[tokio::test]
async fn caller_cancels() {
    over_udp_and_tcp(caller_cancels_over).await;
}

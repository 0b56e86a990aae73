//! Each error, raised by the operation that can raise it, and the promise that a refused
//! operation changes nothing.

mod common;

use std::time::Duration;

use common::*;
use linedrop_core::*;

/// Everything observable: the ledger, every handle's info, and what is queued.
fn snapshot(h: &Harness, apps: &[AppId]) -> String {
    let mut out = format!("{:?}\n", h.engine.ledger());
    for app in apps {
        if let Ok(handles) = h.engine.handles_of(*app) {
            for (handle, _) in handles {
                out.push_str(&format!("{handle}: {:?}\n", h.engine.info(handle)));
            }
        }
    }
    out
}

/// Runs `op` and checks it fails with `want` and leaves everything as it was.
fn refused<T: std::fmt::Debug>(
    h: &mut Harness,
    apps: &[AppId],
    want: Error,
    op: impl FnOnce(&mut Engine<LoopbackProvider>, Now) -> Result<T, Error>,
) {
    let before = snapshot(h, apps);
    let now = h.now;
    let got = op(&mut h.engine, now);
    assert_eq!(got.unwrap_err(), want);
    assert_eq!(
        snapshot(h, apps),
        before,
        "a refused operation changed something"
    );
}

#[test]
fn invalid_handle() {
    let mut h = Harness::new(Duration::ZERO);
    let app = h.app;
    let bogus = CallHandle::from_bits(0xdead_0000_0042);
    refused(&mut h, &[app], Error::InvalidHandle, |e, now| {
        e.drop_call(now, bogus, Hangup::default())
    });
    refused(&mut h, &[app], Error::InvalidHandle, |e, _| e.info(bogus));
    assert_eq!(Error::InvalidHandle.code(), "invalid_handle");
}

#[test]
fn invalid_app_and_line() {
    let mut h = Harness::new(Duration::ZERO);
    let (app, alice) = (h.app, h.alice);
    let gone = h.engine.open_app("gone");
    h.engine.close_app(h.now, gone).unwrap();
    refused(&mut h, &[app], Error::InvalidApp, |e, now| {
        e.dial(now, gone, alice, FAR)
    });
    let bogus_line = LineId::from_bits(99);
    refused(&mut h, &[app], Error::InvalidLine, |e, now| {
        e.dial(now, app, bogus_line, FAR)
    });
    refused(&mut h, &[app], Error::InvalidLine, |e, _| {
        e.open_line(app, bogus_line, Privilege::Owner)
    });
    assert_eq!(Error::InvalidApp.code(), "invalid_app");
    assert_eq!(Error::InvalidLine.code(), "invalid_line");
}

#[test]
fn line_not_open() {
    let mut h = Harness::new(Duration::ZERO);
    let (app, alice) = (h.app, h.alice);
    let watcher = h.engine.open_app("watcher");
    refused(&mut h, &[app], Error::LineNotOpen, |e, now| {
        e.dial(now, watcher, alice, FAR)
    });
    h.engine
        .open_line(watcher, alice, Privilege::Monitor)
        .unwrap();
    refused(&mut h, &[app, watcher], Error::LineNotOpen, |e, now| {
        e.dial(now, watcher, alice, FAR)
    });
    refused(&mut h, &[app, watcher], Error::LineNotOpen, |e, now| {
        e.close_line(now, watcher, h_bob())
    });
    assert_eq!(Error::LineNotOpen.code(), "line_not_open");

    fn h_bob() -> LineId {
        // The second line the harness adds.
        LineId::from_bits(1)
    }
}

#[test]
fn not_owner() {
    let mut h = Harness::new(Duration::ZERO);
    let (app, alice) = (h.app, h.alice);
    let watcher = h.engine.open_app("watcher");
    h.engine
        .open_line(watcher, alice, Privilege::Monitor)
        .unwrap();
    let out = h.engine.dial(h.now, app, alice, FAR).unwrap();
    let mon = h
        .engine
        .handle_for(watcher, h.engine.call_id(out).unwrap())
        .unwrap();
    let apps = [app, watcher];
    refused(&mut h, &apps, Error::NotOwner, |e, now| {
        e.drop_call(now, mon, Hangup::default())
    });
    refused(&mut h, &apps, Error::NotOwner, |e, now| e.answer(now, mon));
    refused(&mut h, &apps, Error::NotOwner, |e, now| {
        e.reject(now, mon, Hangup::default())
    });
    refused(&mut h, &apps, Error::NotOwner, |e, now| e.accept(now, mon));
    assert_eq!(Error::NotOwner.code(), "not_owner");
}

#[test]
fn invalid_state() {
    let mut h = Harness::new(Duration::ZERO);
    let (app, alice) = (h.app, h.alice);
    let out = h.engine.dial(h.now, app, alice, BOB).unwrap();
    let inb = h.offered(app);
    let st = |op, state| Error::InvalidState { op, state };
    refused(
        &mut h,
        &[app],
        st("answer", CallState::Dialing),
        |e, now| e.answer(now, out),
    );
    refused(
        &mut h,
        &[app],
        st("reject", CallState::Dialing),
        |e, now| e.reject(now, out, Hangup::default()),
    );
    refused(
        &mut h,
        &[app],
        st("accept", CallState::Dialing),
        |e, now| e.accept(now, out),
    );
    h.engine.answer(h.now, inb).unwrap();
    refused(
        &mut h,
        &[app],
        st("answer", CallState::Connected),
        |e, now| e.answer(now, inb),
    );
    refused(
        &mut h,
        &[app],
        st("demote the only owner of", CallState::Connected),
        |e, _| e.set_privilege(out, Privilege::Monitor),
    );
    h.engine.drop_call(h.now, out, Hangup::default()).unwrap();
    refused(&mut h, &[app], st("drop", CallState::Idle), |e, now| {
        e.drop_call(now, out, Hangup::default())
    });
    assert_eq!(st("drop", CallState::Idle).code(), "invalid_state");
}

#[test]
fn call_active() {
    let mut h = Harness::new(Duration::ZERO);
    let (app, alice) = (h.app, h.alice);
    let out = h.engine.dial(h.now, app, alice, FAR).unwrap();
    refused(&mut h, &[app], Error::CallActive, |e, now| {
        e.release(now, out, Release::Explicit)
    });
    assert_eq!(Error::CallActive.code(), "call_active");
}

#[test]
fn bad_address_and_provider_failure() {
    let mut h = Harness::new(Duration::ZERO);
    let (app, alice) = (h.app, h.alice);
    let want = Error::BadAddress("no-host-here has no host".into());
    refused(&mut h, &[app], want, |e, now| {
        e.dial(now, app, alice, "no-host-here")
    });
    refused(
        &mut h,
        &[app],
        Error::BadAddress("empty destination".into()),
        |e, now| e.dial(now, app, alice, "  "),
    );
    let to = format!("sip:x{UNAVAILABLE_HOST}");
    let want = Error::Provider(format!("no route to {to}"));
    refused(&mut h, &[app], want, |e, now| e.dial(now, app, alice, &to));
    assert_eq!(Error::BadAddress(String::new()).code(), "bad_address");
    assert_eq!(Error::Provider(String::new()).code(), "provider_failed");
}

#[test]
fn invalid_argument() {
    let mut h = Harness::new(Duration::ZERO);
    let (app, alice) = (h.app, h.alice);
    let out = h.engine.dial(h.now, app, alice, BOB).unwrap();
    let inb = h.offered(app);
    let bad_status = Hangup {
        sip_status: Some(200),
        ..Hangup::default()
    };
    let msg = "sip_status 200 is not a final error status (400-699)".to_string();
    refused(&mut h, &[app], Error::InvalidArgument(msg), |e, now| {
        e.reject(now, inb, bad_status)
    });
    let status_on_outbound = Hangup {
        sip_status: Some(486),
        ..Hangup::default()
    };
    let msg = "sip_status applies only to a call still being offered".to_string();
    refused(&mut h, &[app], Error::InvalidArgument(msg), |e, now| {
        e.drop_call(now, out, status_on_outbound)
    });
    let bad_q = Hangup {
        q850: Some(0),
        ..Hangup::default()
    };
    let msg = "q850 0 is outside 1-127".to_string();
    refused(&mut h, &[app], Error::InvalidArgument(msg), |e, now| {
        e.drop_call(now, out, bad_q)
    });
    assert_eq!(
        Error::InvalidArgument(String::new()).code(),
        "invalid_argument"
    );
}

#[test]
fn shutting_down() {
    let mut h = Harness::new(Duration::ZERO);
    let (app, alice) = (h.app, h.alice);
    h.engine.shutdown(h.now);
    refused(&mut h, &[app], Error::ShuttingDown, |e, now| {
        e.dial(now, app, alice, FAR)
    });
    assert_eq!(Error::ShuttingDown.code(), "shutting_down");
}

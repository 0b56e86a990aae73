//! One test per mapping row, each against values restated from the TAPI headers
//! (`reference/tapi-spec.md` §2-3) and RFC 3398, not read back from the table.

use super::disconnect_mode as m;
use super::*;

fn check(cause: Cause, name: &str, mode: u32, cec: u32, dc: u32, sip: Option<u16>, q850: u8) {
    assert_eq!(cause.as_str(), name);
    assert_eq!(Cause::parse(name), Some(cause));
    assert_eq!(cause.disconnect_mode(), mode, "{name}: LINEDISCONNECTMODE");
    assert_eq!(
        cause.event_cause() as u32,
        cec,
        "{name}: CALL_STATE_EVENT_CAUSE"
    );
    assert_eq!(
        cause.disconnect_code() as u32,
        dc,
        "{name}: DISCONNECT_CODE"
    );
    assert_eq!(cause.sip_status(), sip, "{name}: SIP status");
    assert_eq!(cause.q850(), q850, "{name}: Q.850");
    // A mode is exactly one defined bit in the low 20 bits.
    assert_eq!(mode.count_ones(), 1);
    assert!(mode <= m::CANCELLED);
}

macro_rules! row_tests {
    ($($test:ident: $cause:ident, $name:literal, $mode:expr, $cec:literal, $dc:literal, $sip:expr, $q:literal;)*) => {
        $(
            #[test]
            fn $test() {
                check(Cause::$cause, $name, $mode, $cec, $dc, $sip, $q);
            }
        )*

        #[test]
        fn table_has_one_row_per_cause_and_no_other() {
            let tested = [$(Cause::$cause),*];
            assert_eq!(CAUSE_TABLE.len(), tested.len());
            for c in tested {
                assert_eq!(CAUSE_TABLE.iter().filter(|r| r.cause == c).count(), 1, "{c:?}");
            }
        }
    };
}

// CEC: NORMAL 1, BUSY 2, BADADDRESS 3, NOANSWER 4, CANCELLED 5, REJECTED 6, FAILED 7,
// BLOCKED 8. DC: NORMAL 0, NOANSWER 1, REJECTED 2.
row_tests! {
    row_normal: Normal, "normal", 0x1, 1, 0, None, 16;
    row_busy: Busy, "busy", 0x20, 2, 2, Some(486), 17;
    row_no_answer: NoAnswer, "no_answer", 0x40, 4, 1, Some(480), 19;
    row_offer_timeout: OfferTimeout, "offer_timeout", 0x40, 4, 1, Some(480), 19;
    row_rejected: Rejected, "rejected", 0x4, 6, 2, Some(603), 21;
    row_cancelled: Cancelled, "cancelled", 0x80000, 5, 0, Some(487), 16;
    row_bad_address: BadAddress, "bad_address", 0x80, 3, 0, Some(404), 1;
    row_unreachable: Unreachable, "unreachable", 0x100, 3, 0, Some(404), 3;
    row_congestion: Congestion, "congestion", 0x200, 7, 0, Some(503), 34;
    row_temp_failure: TempFailure, "temp_failure", 0x8000, 7, 0, Some(503), 41;
    row_timeout: Timeout, "timeout", 0x100, 7, 0, Some(408), 102;
    row_incompatible: Incompatible, "incompatible", 0x400, 7, 0, Some(488), 88;
    row_blocked: Blocked, "blocked", 0x20000, 8, 2, Some(403), 21;
    row_redirected: Redirected, "redirected", 0x10, 1, 0, Some(302), 23;
    row_unattended: Unattended, "unattended", 0x40, 4, 1, Some(480), 18;
    row_failed: Failed, "failed", 0x800, 7, 0, Some(500), 127;
    row_session_expired: SessionExpired, "session_expired", 0x100, 7, 0, None, 102;
    row_max_duration: MaxDuration, "max_duration", 0x1, 1, 0, None, 16;
    row_keepalive_failed: KeepaliveFailed, "keepalive_failed", 0x100, 7, 0, None, 41;
    row_transport_failure: TransportFailure, "transport_failure", 0x4000, 7, 0, None, 38;
    row_not_acknowledged: NotAcknowledged, "not_acknowledged", 0x8000, 7, 0, None, 102;
    row_restart: Restart, "restart", 0x2, 7, 0, None, 41;
    row_shutdown: Shutdown, "shutdown", 0x8000, 7, 0, Some(503), 41;
    row_handle_released: HandleReleased, "handle_released", 0x1, 1, 0, None, 16;
    row_app_gone: AppGone, "app_gone", 0x1, 1, 0, None, 16;
}

#[test]
fn causes_with_a_status_are_read_back_from_it_where_rfc_3398_agrees() {
    // Every status we send for a cause reads back as a cause with the same TAPI meaning.
    for row in CAUSE_TABLE {
        if let Some(status) = row.sip_status {
            let back = Cause::from_sip_status(status);
            assert_eq!(
                back.event_cause(),
                row.cause.event_cause(),
                "{} sends {status}, which reads back as {back}",
                row.name
            );
        }
    }
}

#[test]
fn sip_statuses_from_the_wire() {
    let cases: &[(u16, Cause)] = &[
        (301, Cause::Redirected),
        (302, Cause::Redirected),
        (403, Cause::Blocked),
        (404, Cause::BadAddress),
        (408, Cause::Timeout),
        (410, Cause::BadAddress),
        (480, Cause::NoAnswer),
        (484, Cause::BadAddress),
        (486, Cause::Busy),
        (487, Cause::Cancelled),
        (488, Cause::Incompatible),
        (415, Cause::Incompatible),
        (400, Cause::Failed),
        (499, Cause::Failed),
        (500, Cause::TempFailure),
        (503, Cause::Congestion),
        (504, Cause::Timeout),
        (600, Cause::Busy),
        (603, Cause::Rejected),
        (604, Cause::BadAddress),
        (606, Cause::Incompatible),
        (699, Cause::Rejected),
    ];
    for &(status, cause) in cases {
        assert_eq!(Cause::from_sip_status(status), cause, "{status}");
    }
}

#[test]
fn q850_from_the_wire() {
    let cases: &[(u8, Cause)] = &[
        (1, Cause::BadAddress),
        (3, Cause::Unreachable),
        (16, Cause::Normal),
        (17, Cause::Busy),
        (18, Cause::NoAnswer),
        (19, Cause::NoAnswer),
        (21, Cause::Rejected),
        (34, Cause::Congestion),
        (41, Cause::TempFailure),
        (57, Cause::Blocked),
        (88, Cause::Incompatible),
        (102, Cause::Timeout),
        (127, Cause::Failed),
        (0, Cause::Failed),
    ];
    for &(q, cause) in cases {
        assert_eq!(Cause::from_q850(q), cause, "q850 {q}");
    }
}

#[test]
fn origins_and_wire_ends_round_trip() {
    for o in Origin::ALL {
        assert_eq!(Origin::parse(o.as_str()), Some(o));
    }
    for w in WireEnd::ALL {
        assert_eq!(WireEnd::parse(w.as_str()), Some(w));
    }
}

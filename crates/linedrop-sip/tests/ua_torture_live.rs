//! Every torture message of RFC 4475 and RFC 5118, sent to a live agent: what it answers on
//! the wire. `tests/torture.rs` checks the parser; this checks the user agent above it.
//!
//! A malformed request that still shows where to answer gets 400 with a reason phrase naming
//! the fault (or 505, 513); a malformed response, or anything unanswerable, is dropped and
//! counted. A well-formed request is answered as RFC 3261 §8.2 says for a user agent (501 for
//! an unknown method, 405 for one we do not take, 416, 420, 415, 406, 481 for an unknown
//! dialog), or becomes a call; a stray response gets nothing.

mod peer;

#[path = "data/torture/expected.rs"]
mod expected;

use std::time::Duration;

use expected::{Answer, CASES};
use linedrop_core::*;
use linedrop_sip::ua::Peer;
use peer::*;

/// What the live agent does with one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Live {
    /// Answers with this status (and nothing else).
    Status(u16),
    /// Offers a call to the app (and answers 100 Trying).
    Call,
    /// Sends nothing.
    Nothing,
}

use Live::{Call, Nothing, Status};

/// The agent's answer to every file, RFC 4475 then RFC 5118.
#[rustfmt::skip]
const LIVE: &[(&str, Live)] = &[
    // §3.1.1: valid. An INVITE with a To tag names a dialog we do not have (481, §12.2.2).
    ("wsinv.dat", Status(481)),
    ("intmeth.dat", Status(501)),          // unknown method (§8.2.1)
    ("esc01.dat", Call),
    ("escnull.dat", Status(405)),          // REGISTER: we are not a registrar
    ("esc02.dat", Status(501)),            // RE%47IST%45R is not REGISTER
    ("lwsdisp.dat", Status(200)),
    ("longreq.dat", Call),
    ("dblreq.dat", Status(405)),           // the REGISTER only; the trailing INVITE is noise
    ("semiuri.dat", Status(200)),
    ("transports.dat", Status(200)),
    ("mpart01.dat", Status(405)),          // MESSAGE
    ("unreason.dat", Nothing),             // a response matching nothing
    ("noreason.dat", Nothing),
    // §3.1.2: invalid.
    ("badinv01.dat", Status(400)),
    ("clerr.dat", Status(400)),
    ("ncl.dat", Status(400)),
    ("scalar02.dat", Status(400)),
    ("scalarlg.dat", Nothing),             // a malformed response
    ("quotbal.dat", Status(400)),
    ("ltgtruri.dat", Status(400)),
    ("lwsruri.dat", Status(400)),
    ("lwsstart.dat", Call),
    ("trws.dat", Status(200)),
    ("escruri.dat", Status(400)),
    ("baddate.dat", Call),
    ("regbadct.dat", Status(400)),
    ("badaspec.dat", Status(400)),
    ("baddn.dat", Status(400)),
    ("badvers.dat", Status(505)),
    ("mismatch01.dat", Status(400)),
    ("mismatch02.dat", Status(400)),
    ("bigcode.dat", Nothing),
    // §3.2: a bare z9hG4bK branch is matched the RFC 2543 way.
    ("badbranch.dat", Status(200)),
    // §3.3: application layer.
    ("insuf.dat", Status(400)),
    ("unkscm.dat", Status(416)),
    ("novelsc.dat", Status(416)),
    ("unksm2.dat", Status(405)),
    ("bext01.dat", Status(420)),
    ("invut.dat", Status(415)),
    ("regaut01.dat", Status(405)),
    ("multi01.dat", Status(400)),
    ("mcl01.dat", Status(400)),
    ("bcast.dat", Nothing),
    ("zeromf.dat", Status(200)),           // a user agent ignores Max-Forwards: 0
    ("cparam01.dat", Status(405)),
    ("cparam02.dat", Status(405)),
    ("regescrt.dat", Status(405)),
    ("sdp01.dat", Status(406)),            // Accept without application/sdp
    // §3.4: RFC 2543 syntax.
    ("inv2543.dat", Call),
    // RFC 5118.
    ("ipv6-good.dat", Status(405)),
    ("ipv6-bad.dat", Status(400)),
    ("port-ambiguous.dat", Status(405)),
    ("port-unambiguous.dat", Status(405)),
    ("via-received-param-with-delim.dat", Status(481)), // a BYE for no dialog
    ("via-received-param-no-delim.dat", Status(200)),
    ("ipv6-in-sdp.dat", Status(400)),      // the archive's Content-Length is too large
    ("mult-ip-in-header.dat", Status(481)),
    ("mult-ip-in-sdp.dat", Call),
    // The declared Content-Length cuts the SDP before its m= line: no media to answer.
    ("ipv4-mapped-ipv6.dat", Status(488)),
    ("ipv6-bug-abnf-3-colons.dat", Status(200)),
    ("ipv6-correct-abnf-2-colons.dat", Status(200)),
];

fn dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/torture").to_string()
}

/// A rig whose agent has lines for every user the torture INVITEs call.
fn rig() -> Rig {
    let mut rig = Rig::new();
    for uri in [
        "sip:user@example.com",
        "sip:vivekg@chair-dnrc.example.com",
        "sip:UserB@example.com",
        "sip:sips%3Auser%40example.com@example.net",
    ] {
        let l = rig.engine.add_line(LineConfig::new(uri)).unwrap();
        rig.engine.open_line(rig.app, l, Privilege::Owner).unwrap();
    }
    rig
}

/// Ends every offered call (603) and checks the agent is left with nothing.
fn reject_all_and_quiesce(rig: &mut Rig) {
    let now = rig.now;
    for (h, _) in rig.engine.handles_of(rig.app).unwrap() {
        if rig.state(h).is_live() {
            rig.engine.drop_call(now, h, Hangup::default()).unwrap();
        }
    }
    rig.quiesce();
}

#[test]
fn every_torture_message_gets_the_answer_the_rfcs_ask_for() {
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".dat"))
        .collect();
    files.sort();
    let mut listed: Vec<String> = LIVE.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed, "every file has exactly one row");
    for (file, live) in LIVE {
        let case = CASES
            .iter()
            .find(|c| c.file == *file)
            .expect("in expected.rs");
        let mut rig = rig();
        let bytes = std::fs::read(format!("{}/{file}", dir())).unwrap();
        let before = rig.engine.provider().stats().clone();
        rig.feed(&bytes);
        let sent = rig.sent();
        let statuses: Vec<String> = sent.iter().map(Sent::label).collect();
        let stats = rig.engine.provider().stats().clone();
        match live {
            Status(code) => {
                assert_eq!(sent.len(), 1, "{file}: {statuses:?}");
                assert!(
                    statuses[0].starts_with(&format!("{code} ")),
                    "{file}: {statuses:?}"
                );
            }
            Call => {
                assert_eq!(statuses, ["100 INVITE"], "{file}");
                assert_eq!(rig.engine.ledger().calls(CallState::Offering), 1, "{file}");
            }
            Nothing => assert!(sent.is_empty(), "{file}: {statuses:?}"),
        }
        // The codec's verdict and the agent's agree.
        match case.answer {
            Answer::Status(code) => {
                assert_eq!(*live, Status(code), "{file}");
                assert_eq!(
                    stats.malformed_answered,
                    before.malformed_answered + 1,
                    "{file}"
                );
                let phrase = sent[0].phrase();
                if code == 400 {
                    assert!(
                        phrase.starts_with("Bad Request - ") && phrase.len() > 20,
                        "{file}: the phrase names the fault: {phrase}"
                    );
                }
            }
            Answer::Drop => {
                assert_eq!(*live, Nothing, "{file}");
                assert_eq!(
                    stats.malformed_dropped,
                    before.malformed_dropped + 1,
                    "{file}: counted"
                );
            }
            Answer::PassUp => assert_eq!(
                stats.malformed_answered + stats.malformed_dropped,
                0,
                "{file}"
            ),
        }
        if *live == Nothing && case.answer == Answer::PassUp {
            assert_eq!(
                stats.stray_responses, 1,
                "{file}: a stray response is counted"
            );
        }
        // The same bytes again: a retransmission gets the same answer (from the
        // transaction for what parsed, statelessly for what did not), and never a second call.
        rig.feed(&bytes);
        let again: Vec<String> = rig.sent().iter().map(Sent::label).collect();
        match live {
            Call => assert_eq!(again, ["100 INVITE"], "{file}"),
            _ => assert_eq!(again, statuses, "{file}"),
        }
        assert!(rig.engine.ledger().total_calls() <= 1, "{file}");
        reject_all_and_quiesce(&mut rig);
    }
}

#[test]
fn ipv6_in_sdp_with_its_content_length_corrected_parses_and_gets_488_for_its_codec() {
    // The offer parses once its length is right; it offers only G.726 audio, which we do
    // not have, so the answer is 488 (RFC 3261 §13.3.1.1), not a call.
    let mut rig = rig();
    let text = std::fs::read_to_string(format!("{}/ipv6-in-sdp.dat", dir())).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let fixed = head.replace(
        "Content-Length: 268",
        &format!("Content-Length: {}", body.len()),
    );
    rig.feed(format!("{fixed}\r\n\r\n{body}"));
    assert_eq!(rig.labels(), ["488 INVITE"]);
    // The same offer with PCMU added becomes a call answered over IPv6 SDP.
    let pcmu = body.replace("RTP/AVP 2\r\n", "RTP/AVP 2 0\r\n");
    let fixed = head
        .replace(
            "Content-Length: 268",
            &format!("Content-Length: {}", pcmu.len()),
        )
        .replace("z9hG4bKas3-111", "z9hG4bKas3-112")
        .replace("tag=81x2", "tag=81x3");
    rig.feed(format!("{fixed}\r\n\r\n{pcmu}"));
    assert_eq!(rig.labels(), ["100 INVITE"]);
    let h = rig.offered();
    rig.answer(h);
    let ok = rig.one("200 INVITE");
    assert!(String::from_utf8_lossy(ok.msg().body()).contains("m=audio 4000 RTP/AVP 0"));
    reject_all_and_quiesce(&mut rig);
}

#[test]
fn an_rfc_2543_invite_is_matched_without_a_branch() {
    let mut rig = rig();
    let text = std::fs::read_to_string(format!("{}/inv2543.dat", dir())).unwrap();
    rig.feed(&text);
    assert_eq!(rig.labels(), ["100 INVITE"]);
    // Its retransmission is recognised without a branch: no second call.
    rig.feed(&text);
    assert_eq!(rig.labels(), ["100 INVITE"]);
    assert_eq!(rig.engine.ledger().total_calls(), 1);
    let h = rig.offered();
    rig.reject(
        h,
        Hangup {
            sip_status: Some(486),
            ..Hangup::default()
        },
    );
    let busy = rig.one("486 INVITE");
    let tag = to_tag(busy.msg()).unwrap();
    // The RFC 2543 ACK: same Request-URI, Call-ID, CSeq number, From and Via; our To tag.
    let ack = text
        .replace("INVITE sip:UserB@example.com", "ACK sip:UserB@example.com")
        .replace("CSeq: 56 INVITE", "CSeq: 56 ACK")
        .replace(
            "user=phone\r\nCall-ID",
            &format!("user=phone;tag={tag}\r\nCall-ID"),
        );
    let ack = ack
        .split("\r\n\r\n")
        .next()
        .unwrap()
        .replace("Content-Type: application/sdp", "Content-Length: 0");
    rig.feed(format!("{ack}\r\n\r\n"));
    assert!(rig.sent().is_empty());
    assert_eq!(
        rig.state(h),
        CallState::Idle,
        "the ACK matched the INVITE's transaction"
    );
    rig.quiesce();
}

#[test]
fn requests_without_branches_from_different_sources_are_different_transactions() {
    let mut rig = rig();
    let options = |call: &str| {
        format!(
            "OPTIONS sip:user@example.com SIP/2.0\r\nVia: SIP/2.0/UDP old.example.com\r\n\
             From: <sip:a@example.com>\r\nTo: <sip:user@example.com>\r\nCall-ID: {call}\r\n\
             CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
    };
    rig.feed(options("one"));
    rig.feed(options("two"));
    let sent = rig.sent();
    assert_eq!(
        sent.iter().map(Sent::label).collect::<Vec<_>>(),
        ["200 OPTIONS", "200 OPTIONS"]
    );
    assert_ne!(sent[0].raw, sent[1].raw, "each answered for itself");
    rig.quiesce();
}

#[test]
fn an_invite_with_max_forwards_zero_is_taken_by_a_user_agent() {
    let mut rig = rig();
    let text = std::fs::read_to_string(format!("{}/zeromf.dat", dir())).unwrap();
    let invite = text
        .replace(
            "OPTIONS sip:user@example.com",
            "INVITE sip:user@example.com",
        )
        .replace(" OPTIONS\r\n", " INVITE\r\n");
    rig.feed(invite);
    assert_eq!(rig.labels(), ["100 INVITE"]);
    reject_all_and_quiesce(&mut rig);
}

#[test]
fn a_request_over_the_size_limit_gets_513() {
    let mut rig = Rig::with_config(|c| c.max_message_size = 1500);
    let mut d = Dialog::inbound(&mut rig);
    let b = rig.fresh("branch");
    let big = format!("X-Padding: {}", "x".repeat(2000));
    rig.feed(d.request("OPTIONS", &b, &[&big], ""));
    let sent = rig.sent();
    assert_eq!(
        sent.iter().map(Sent::label).collect::<Vec<_>>(),
        ["513 OPTIONS"]
    );
    assert_eq!(rig.engine.provider().stats().malformed_answered, 1);
    rig.quiesce();
}

#[test]
fn garbage_and_bad_responses_are_dropped_and_counted_keepalives_ignored() {
    let mut rig = Rig::new();
    rig.feed(b"\x00\x01\x02 not sip at all");
    rig.feed("SIP/2.0 abc Broken\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\r\n");
    rig.feed("INVITE sip:alice@127.0.0.1 SIP/2.0\r\nCall-ID: no-via\r\n\r\n");
    rig.feed("\r\n\r\n");
    assert!(rig.sent().is_empty());
    let stats = rig.engine.provider().stats();
    assert_eq!(stats.malformed_dropped, 3, "{stats:?}");
    assert_eq!(stats.malformed_answered, 0);
    rig.quiesce();
}

#[test]
fn a_stray_response_and_a_stray_ack_get_nothing() {
    let mut rig = Rig::new();
    let mut d = Dialog::inbound(&mut rig);
    d.ua_tag = Some("gone".into());
    let b = rig.fresh("branch");
    rig.feed(d.ack_2xx(&b));
    rig.feed(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKnotours\r\n\
         From: <sip:alice@127.0.0.1>;tag=1\r\nTo: <sip:bob@127.0.0.2>;tag=2\r\nCall-ID: x\r\n\
         CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(rig.sent().is_empty());
    let stats = rig.engine.provider().stats();
    assert_eq!((stats.stray_acks, stats.stray_responses), (1, 1));
    rig.quiesce();
}

#[test]
fn an_unknown_method_in_a_dialog_is_501_and_a_known_one_we_do_not_take_405() {
    let mut rig = Rig::new();
    let mut d = Dialog::inbound(&mut rig);
    let b = rig.fresh("branch");
    rig.feed(d.invite(&b));
    rig.one("100 INVITE");
    let h = rig.offered();
    rig.answer(h);
    d.learn(&rig.one("200 INVITE"));
    let b = rig.fresh("branch");
    rig.feed(d.ack_2xx(&b));
    let b = rig.fresh("branch");
    rig.feed(d.request("FROBNICATE", &b, &[], ""));
    rig.one("501 FROBNICATE");
    let b = rig.fresh("branch");
    rig.feed(d.request("SUBSCRIBE", &b, &[], ""));
    let resp = rig.one("405 SUBSCRIBE");
    assert!(
        resp.msg()
            .headers()
            .get(linedrop_sip::message::HeaderName::Allow)
            .is_some(),
        "405 lists Allow"
    );
    let b = rig.fresh("branch");
    // (`timer` is supported since RFC 4028 landed: require something we lack.)
    rig.feed(d.request("OPTIONS", &b, &["Require: 100rel"], ""));
    let resp = rig.one("420 OPTIONS");
    assert_eq!(
        resp.msg()
            .headers()
            .get(linedrop_sip::message::HeaderName::Unsupported),
        Some("100rel")
    );
    assert_eq!(
        rig.state(h),
        CallState::Connected,
        "none of it touches the call"
    );
    rig.advance(Duration::from_secs(1));
    let _ = Peer::udp(rig.far);
    rig.quiesce();
}

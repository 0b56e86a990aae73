//! RFC 3261 §18.2.1 and RFC 3581: the agent says in the top Via of its responses where a
//! request really came from (`received`, `rport`), and sends the response back to that
//! source, so a peer behind a NAT or with a wrong sent-by still gets its answer.

mod peer;

use std::net::SocketAddr;

use linedrop_sip::message::HeaderName;
use linedrop_sip::ua::Peer;
use peer::*;

const OPTIONS: &str = "OPTIONS sip:alice@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP VIA_HOST;branch=z9hG4bKvia1BRANCH\r\n\
Max-Forwards: 70\r\n\
From: <sip:bob@127.0.0.2>;tag=f1\r\n\
To: <sip:alice@127.0.0.1>\r\n\
Call-ID: via-test-BRANCH@127.0.0.2\r\n\
CSeq: 1 OPTIONS\r\n\
Content-Length: 0\r\n\r\n";

fn ask(rig: &mut Rig, source: SocketAddr, via_host: &str, branch: &str) -> Sent {
    let text = OPTIONS
        .replace("VIA_HOST", via_host)
        .replace("BRANCH", branch);
    rig.feed_from(Peer::udp(source), text);
    rig.one("200 OPTIONS")
}

#[test]
fn rport_is_filled_in_and_the_answer_goes_to_the_source_port() {
    let mut rig = Rig::new();
    let source: SocketAddr = "127.0.0.2:5099".parse().unwrap();
    rig.also.push(source);
    let ok = ask(&mut rig, source, "127.0.0.2:5060;rport", "a");
    let via = ok.resp().headers().get(HeaderName::Via).unwrap().to_owned();
    assert!(via.contains("rport=5099"), "{via}");
    assert!(via.contains("received=127.0.0.2"), "{via}");
    assert_eq!(ok.to.addr, source, "answered where the request came from");
}

#[test]
fn a_sent_by_that_is_not_the_source_gets_received() {
    let mut rig = Rig::new();
    let far = rig.far;
    let ok = ask(&mut rig, far, "phone.example.test:5060", "b");
    let via = ok.resp().headers().get(HeaderName::Via).unwrap().to_owned();
    assert!(via.contains("received=127.0.0.2"), "{via}");
    assert!(!via.contains("rport"), "no rport unless asked: {via}");
}

#[test]
fn a_correct_sent_by_is_left_alone() {
    let mut rig = Rig::new();
    let far = rig.far;
    let ok = ask(&mut rig, far, "127.0.0.2:5060", "c");
    let via = ok.resp().headers().get(HeaderName::Via).unwrap().to_owned();
    assert!(!via.contains("received") && !via.contains("rport"), "{via}");
}

//! Route sets (RFC 3261 §12.1.1, §12.1.2, §12.2.1.1): in-dialog requests carry the route
//! set learned from Record-Route — in the received order for the callee, reversed for the
//! caller — go to the first route (loose routing), and use the remote target (the peer's
//! Contact) as Request-URI.

mod peer;

use linedrop_core::*;
use linedrop_sip::message::HeaderName;
use peer::*;

const P1: &str = "<sip:p1@127.0.0.3:5060;lr>";
const P2: &str = "<sip:p2@127.0.0.4:5060;lr>";

fn routes(s: &Sent) -> Vec<String> {
    s.req()
        .headers()
        .get_all(HeaderName::Route)
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_callee_keeps_the_record_route_order_and_sends_its_bye_to_the_first_route() {
    let mut rig = Rig::new();
    rig.also.push("127.0.0.3:5060".parse().unwrap());
    let mut d = Dialog::inbound(&mut rig);
    let b = rig.fresh("branch");
    d.invite_branch = Some(b.clone());
    let rr1 = format!("Record-Route: {P1}");
    let rr2 = format!("Record-Route: {P2}");
    rig.feed(d.request("INVITE", &b, &[&rr1, &rr2], &far_sdp()));
    rig.one("100 INVITE");
    let h = rig.offered();
    rig.answer(h);
    let ok = rig.one("200 INVITE");
    let echoed: Vec<String> = ok
        .resp()
        .headers()
        .get_all(HeaderName::RecordRoute)
        .map(str::to_owned)
        .collect();
    assert_eq!(
        echoed,
        vec![P1, P2],
        "a 2xx copies the Record-Route of the request"
    );
    d.learn(&ok);
    let b = rig.fresh("branch");
    rig.feed(d.ack_2xx(&b));
    assert_eq!(rig.state(h), CallState::Connected);

    rig.hang_up(h, Hangup::default());
    let bye = rig.one("BYE");
    assert_eq!(routes(&bye), vec![P1, P2]);
    assert_eq!(
        bye.req().uri().to_string(),
        FAR_URI,
        "Request-URI is the remote target"
    );
    assert_eq!(
        bye.to.addr.to_string(),
        "127.0.0.3:5060",
        "sent to the first route"
    );
    rig.feed(respond(bye.req(), 200, None, &[]));
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

#[test]
fn the_caller_reverses_the_record_route_for_its_ack_and_bye() {
    let mut rig = Rig::new();
    rig.also.push("127.0.0.4:5060".parse().unwrap());
    let h = rig.dial();
    let invite = rig.one("INVITE");
    let tag = rig.fresh("bt");
    let contact = "Contact: <sip:bob@127.0.0.2:5062>";
    let rr = format!("Record-Route: {P1}, {P2}");
    rig.feed(respond(invite.req(), 200, Some(&tag), &[contact, &rr]));
    let ack = rig.one("ACK");
    assert_eq!(routes(&ack), vec![P2, P1]);
    assert_eq!(ack.req().uri().to_string(), "sip:bob@127.0.0.2:5062");
    assert_eq!(ack.to.addr.to_string(), "127.0.0.4:5060");
    rig.hang_up(h, Hangup::default());
    let bye = rig.one("BYE");
    assert_eq!(routes(&bye), vec![P2, P1]);
    assert_eq!(bye.to.addr.to_string(), "127.0.0.4:5060");
    rig.feed(respond(bye.req(), 200, None, &[]));
    assert_eq!(rig.state(h), CallState::Idle);
    rig.quiesce();
}

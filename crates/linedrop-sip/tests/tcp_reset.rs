//! An abrupt TCP reset (RST, not a FIN) from the far end, on real sockets through the
//! driver: the calls the connection carried end at once with origin `network`, cause
//! `transport_failure`, whatever their state, and nothing is left afterwards.

mod interop_common;

use std::net::SocketAddr;
use std::time::Duration;

use interop_common::{Linedrop, Setup, Wire};
use linedrop_core::{CallState, Cause, Origin};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn invite(to: SocketAddr, me: SocketAddr) -> String {
    let sdp = "v=0\r\no=p 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
               m=audio 5004 RTP/AVP 0\r\n";
    format!(
        "INVITE sip:service@{to};transport=tcp SIP/2.0\r\n\
         Via: SIP/2.0/TCP {me};branch=z9hG4bK-reset-1\r\n\
         Max-Forwards: 70\r\n\
         To: <sip:service@{to}>\r\n\
         From: <sip:peer@{me}>;tag=p1\r\n\
         Call-ID: reset-1@127.0.0.1\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:peer@{me};transport=tcp>\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

fn ack(to: SocketAddr, me: SocketAddr, to_tag: &str) -> String {
    format!(
        "ACK sip:service@{to};transport=tcp SIP/2.0\r\n\
         Via: SIP/2.0/TCP {me};branch=z9hG4bK-reset-2\r\n\
         Max-Forwards: 70\r\n\
         To: <sip:service@{to}>;tag={to_tag}\r\n\
         From: <sip:peer@{me}>;tag=p1\r\n\
         Call-ID: reset-1@127.0.0.1\r\n\
         CSeq: 1 ACK\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// Reads until `needle` has arrived (bounded); returns all read so far.
async fn read_until(stream: &mut TcpStream, seen: &mut String, needle: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut buf = vec![0; 8192];
    while !seen.contains(needle) {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} in time; read: {seen}"))
            .expect("read");
        assert!(n > 0, "closed before {needle:?}; read: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

/// Closes with RST: a zero linger makes the close abortive.
fn reset(stream: TcpStream) {
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER");
    drop(stream);
}

#[tokio::test]
async fn a_reset_ends_a_connected_call_with_transport_failure() {
    let mut ld = Linedrop::start(Wire::Tcp, Setup::default()).await;
    let mut peer = TcpStream::connect(ld.addr).await.expect("connect");
    let me = peer.local_addr().expect("addr");
    peer.write_all(invite(ld.addr, me).as_bytes())
        .await
        .expect("write");
    let offered = ld.offered().await;
    let (h, call) = (offered.handle, offered.call);
    ld.call(move |e, now| e.answer(now, h))
        .await
        .expect("answer");
    let mut seen = String::new();
    read_until(&mut peer, &mut seen, "SIP/2.0 200").await;
    // The 200's head (the 100 before it has a To without our tag).
    let at = seen.find("SIP/2.0 200").expect("just read");
    let mut ok = seen.split_off(at);
    read_until(&mut peer, &mut ok, "\r\n\r\n").await;
    let to_tag = ok
        .lines()
        .find(|l| l.starts_with("To:"))
        .and_then(|l| l.split("tag=").nth(1))
        .expect("a To tag")
        .trim()
        .to_string();
    peer.write_all(ack(ld.addr, me, &to_tag).as_bytes())
        .await
        .expect("write");
    ld.reached(call, CallState::Connected).await;
    reset(peer);
    let info = ld.ended(call).await;
    let t = info.termination.expect("terminated");
    assert_eq!(
        (t.origin, t.cause),
        (Origin::Network, Cause::TransportFailure),
        "{t:?}"
    );
    let ledger = ld.release_and_quiesce(h).await;
    assert!(ledger.is_quiescent(), "{ledger:?}");
}

#[tokio::test]
async fn a_reset_ends_an_offered_call_with_transport_failure() {
    let mut ld = Linedrop::start(Wire::Tcp, Setup::default()).await;
    let mut peer = TcpStream::connect(ld.addr).await.expect("connect");
    let me = peer.local_addr().expect("addr");
    peer.write_all(invite(ld.addr, me).as_bytes())
        .await
        .expect("write");
    let offered = ld.offered().await;
    let (h, call) = (offered.handle, offered.call);
    let mut seen = String::new();
    read_until(&mut peer, &mut seen, "SIP/2.0 100").await;
    reset(peer);
    let info = ld.ended(call).await;
    let t = info.termination.expect("terminated");
    assert_eq!(
        (t.origin, t.cause),
        (Origin::Network, Cause::TransportFailure),
        "{t:?}"
    );
    let ledger = ld.release_and_quiesce(h).await;
    assert!(ledger.is_quiescent(), "{ledger:?}");
}

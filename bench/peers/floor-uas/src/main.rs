//! The floor of a SIP UAS over UDP, for `bench/run.sh`: one thread blocked in `recv_from`,
//! a 200 OK (with SDP) for every INVITE and a 200 OK for every BYE, built by copying the
//! request's Via, From, To, Call-ID and CSeq lines; ACKs and everything else are read and
//! dropped. No transactions, no dialogs, no timers, no retransmissions, no records, no
//! epoll: only the socket work every UAS answering SIPp's `uac` must do (three datagrams
//! in, two out per call) plus the least parsing that still yields valid responses. What a
//! real UAS costs above this is its own work.
//!
//!   floor-uas PORT        (listens on 127.0.0.1:PORT)

use std::net::UdpSocket;

const SDP: &[u8] = b"v=0\r\no=floor 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
t=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// Whether `line` is the header `name` (full form) or `compact` (its one-letter form, if it
/// has one).
fn is_header(line: &[u8], name: &[u8], compact: Option<u8>) -> bool {
    let colon = match line.iter().position(|&b| b == b':') {
        Some(i) => i,
        None => return false,
    };
    let head = line[..colon].trim_ascii_end();
    head.eq_ignore_ascii_case(name)
        || compact.is_some_and(|c| head.len() == 1 && head[0].eq_ignore_ascii_case(&c))
}

/// Appends the response to `request` (an INVITE or BYE) to `out`; false if it is neither or
/// lacks a header the response must copy.
fn respond(request: &[u8], out: &mut Vec<u8>) -> bool {
    let invite = request.starts_with(b"INVITE ");
    if !invite && !request.starts_with(b"BYE ") {
        return false;
    }
    let head_end = match request.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => i,
        None => return false,
    };
    out.clear();
    out.extend_from_slice(b"SIP/2.0 200 OK\r\n");
    let mut copied = 0;
    for line in request[..head_end].split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let to = is_header(line, b"To", Some(b't'));
        if to
            || is_header(line, b"Via", Some(b'v'))
            || is_header(line, b"From", Some(b'f'))
            || is_header(line, b"Call-ID", Some(b'i'))
            || is_header(line, b"CSeq", None)
        {
            out.extend_from_slice(line);
            if to && !line.windows(5).any(|w| w.eq_ignore_ascii_case(b";tag=")) {
                out.extend_from_slice(b";tag=floor");
            }
            out.extend_from_slice(b"\r\n");
            copied += 1;
        }
    }
    if copied < 5 {
        return false;
    }
    if invite {
        out.extend_from_slice(
            b"Contact: <sip:floor@127.0.0.1>\r\nContent-Type: application/sdp\r\n",
        );
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", SDP.len()).as_bytes());
        out.extend_from_slice(SDP);
    } else {
        out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    }
    true
}

fn main() {
    let port: u16 = match std::env::args().nth(1).and_then(|p| p.parse().ok()) {
        Some(p) => p,
        None => {
            eprintln!("usage: floor-uas PORT");
            std::process::exit(2);
        }
    };
    let socket = UdpSocket::bind(("127.0.0.1", port)).expect("bind");
    let mut buf = vec![0u8; 65_536];
    let mut out = Vec::with_capacity(2048);
    loop {
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(r) => r,
            Err(_) => continue,
        };
        if respond(&buf[..n], &mut out) {
            let _ = socket.send_to(&out, from);
        }
    }
}

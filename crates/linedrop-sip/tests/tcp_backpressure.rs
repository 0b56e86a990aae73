//! A TCP peer that reads slowly keeps its connection; one that stopped reading loses it.
//! On real sockets through the driver, with small socket buffers so that the driver's answers
//! queue up behind the kernel's: a burst of far more than a few hundred answers to a peer
//! that reads them afterwards is delivered in full, and a peer that never reads is closed
//! once the writer has made no progress for the stall timeout, or sooner if it keeps sending
//! while the answers queued for it pass their bound.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use linedrop_core::{CallIds, Engine, EngineConfig, LineConfig, Privilege};
use linedrop_sip::driver::{
    self, ChannelOutputs, DriverConfig, DriverStats, Handle, Output, StatsSnapshot,
};
use linedrop_sip::ua::{SipConfig, SipProvider};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

/// Socket buffers on both ends (the kernel doubles them): a few dozen answers fill them.
const SMALL_BUFFER: usize = 4096;

struct Driver {
    addr: SocketAddr,
    stats: Arc<DriverStats>,
    _handle: Handle,
    _stop: oneshot::Sender<()>,
    /// Events and records (none here: OPTIONS make no call); kept so the channel stays open.
    _outputs: mpsc::UnboundedReceiver<Output>,
}

/// A driver listening on TCP 127.0.0.1:0 with small socket buffers.
fn start(stall: Duration) -> Driver {
    let mut cfg = DriverConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)));
    cfg.tcp = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    cfg.socket_buffer = Some(SMALL_BUFFER);
    cfg.tcp_write_stall_timeout = stall;
    let sockets = driver::bind(&cfg).expect("bind 127.0.0.1:0");
    let udp = sockets.udp_addr().expect("udp address");
    let addr = sockets.tcp_addr().expect("tcp address").expect("tcp");
    let stats = sockets.stats();
    let mut sip = SipConfig::new(udp);
    sip.tcp_addr = Some(addr);
    let ids = CallIds::default();
    let mut engine = Engine::new(
        EngineConfig {
            call_ids: ids.clone(),
        },
        SipProvider::new(sip, ids),
    );
    let line = engine
        .add_line(LineConfig::new(format!("sip:service@{udp}")))
        .expect("line");
    let app = engine.open_app("backpressure");
    engine
        .open_line(app, line, Privilege::Owner)
        .expect("open line");
    let (handle, commands) = driver::channel(64);
    let (outputs, rx) = ChannelOutputs::new();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(driver::run(sockets, engine, commands, outputs, async {
        let _ = stopped.await;
    }));
    Driver {
        addr,
        stats,
        _handle: handle,
        _stop: stop,
        _outputs: rx,
    }
}

/// A connection to `to` with small socket buffers of its own.
async fn connect(to: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .set_recv_buffer_size(SMALL_BUFFER as u32)
        .expect("rcvbuf");
    socket
        .set_send_buffer_size(SMALL_BUFFER as u32)
        .expect("sndbuf");
    socket.connect(to).await.expect("connect")
}

/// `n` out-of-dialog OPTIONS, each its own transaction: each gets a 200.
fn options(n: usize, to: SocketAddr, me: SocketAddr) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        out.extend_from_slice(
            format!(
                "OPTIONS sip:service@{to};transport=tcp SIP/2.0\r\n\
                 Via: SIP/2.0/TCP {me};branch=z9hG4bK-bp-{i}\r\n\
                 Max-Forwards: 70\r\n\
                 To: <sip:service@{to}>\r\n\
                 From: <sip:peer@{me}>;tag=bp{i}\r\n\
                 Call-ID: bp-{i}@127.0.0.1\r\n\
                 CSeq: 1 OPTIONS\r\n\
                 Content-Length: 0\r\n\r\n"
            )
            .as_bytes(),
        );
    }
    out
}

/// Polls the driver's counters until `closed` holds for them; fails at `deadline`.
async fn wait_until(d: &Driver, deadline: Instant, closed: impl Fn(&StatsSnapshot) -> bool) {
    while !closed(&d.stats.snapshot()) {
        assert!(
            Instant::now() < deadline,
            "never closed: {:?}",
            d.stats.snapshot()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_burst_of_answers_to_a_reading_peer_is_delivered_in_full() {
    const N: usize = 2000;
    let d = start(Duration::from_secs(10));
    let mut peer = connect(d.addr).await;
    let me = peer.local_addr().expect("addr");
    // Everything is written before anything is read: the driver has read (and answered)
    // all but what the two small buffers hold, so its answers wait in its queue, far more
    // than a few hundred of them.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    tokio::time::timeout_at(deadline, peer.write_all(&options(N, d.addr, me)))
        .await
        .expect("the driver stopped reading (it closed the connection)")
        .expect("write");
    let (mut seen, mut answers) = (Vec::new(), 0);
    let mut buf = vec![0; 64 * 1024];
    while answers < N {
        let n = tokio::time::timeout_at(deadline, peer.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("{answers} of {N} answers in time"))
            .expect("read");
        assert!(n > 0, "closed after {answers} of {N} answers");
        seen.extend_from_slice(&buf[..n]);
        answers = seen
            .windows(b"SIP/2.0 200".len())
            .filter(|w| w == b"SIP/2.0 200")
            .count();
    }
    assert_eq!(answers, N);
    let s = d.stats.snapshot();
    assert_eq!((s.tcp_closed, s.send_failures), (0, 0), "{s:?}");
}

#[tokio::test]
async fn a_peer_that_stops_reading_is_closed_after_the_stall_timeout() {
    let stall = Duration::from_millis(300);
    let d = start(stall);
    let mut peer = connect(d.addr).await;
    let me = peer.local_addr().expect("addr");
    let first_write = Instant::now();
    // Enough answers to fill both small buffers, far fewer bytes than the queue's bound:
    // only the stall timeout can close this connection.
    let deadline = Instant::now() + Duration::from_secs(10);
    tokio::time::timeout(
        Duration::from_secs(10),
        peer.write_all(&options(200, d.addr, me)),
    )
    .await
    .expect("the driver stopped reading")
    .expect("write");
    wait_until(&d, deadline, |s| s.tcp_closed > 0).await;
    assert!(
        first_write.elapsed() >= stall,
        "closed before the stall timeout"
    );
    let s = d.stats.snapshot();
    assert_eq!((s.tcp_closed, s.tcp_stuck_closed), (1, 0), "{s:?}");
    assert!(
        s.io_errors >= 1,
        "the stall is counted as a write error: {s:?}"
    );
    drop(peer);
}

#[tokio::test]
async fn a_peer_that_keeps_sending_and_never_reads_is_closed_at_the_queue_bound() {
    // A stall timeout far beyond the test: only the bound on queued bytes can close it.
    let d = start(Duration::from_secs(600));
    let mut peer = connect(d.addr).await;
    let me = peer.local_addr().expect("addr");
    // 40,000 answers of about 300 bytes each (a 200 to such an OPTIONS) are about 12 MB,
    // three times the 4 MiB bound.
    let requests = options(40_000, d.addr, me);
    // Written from its own task: once the driver closes its side it stops reading, and the
    // rest of this write waits (or fails) for as long as the test lasts.
    let writer = tokio::spawn(async move {
        let _ = peer.write_all(&requests).await;
        peer
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    wait_until(&d, deadline, |s| s.tcp_stuck_closed > 0).await;
    let s = d.stats.snapshot();
    assert_eq!((s.tcp_closed, s.tcp_stuck_closed), (1, 1), "{s:?}");
    writer.abort();
}

//! SIPp calls linedrop through a seeded lossy UDP relay (drops, duplicates and reorders
//! datagrams both ways): whatever the loss does to each call, every call linedrop was
//! offered ends exactly once with a termination (SIPp's BYE, or, for a call SIPp gave up
//! on, the keepalive), and once released nothing is left.

mod interop_common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use interop_common::{sipp, Linedrop, Setup, Wire};
use linedrop_core::{CallState, Origin, Release};
use linedrop_sip::ua::LineOptions;
use tokio::net::UdpSocket;
use tokio::process::Command;

const CALLS: usize = 20;

/// What the relay did.
#[derive(Default)]
struct RelayStats {
    forwarded: AtomicU64,
    dropped: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
}

/// A UDP relay: datagrams from the client (whoever sends to `front` first) go to `target`
/// from `back`, and the answers go back; each one may be dropped, sent twice, or held back
/// until the next one passes (reordered), by a seeded generator.
struct Relay {
    front: SocketAddr,
    stats: Arc<RelayStats>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(target: SocketAddr, seed: u64) -> Relay {
        let front = UdpSocket::bind("127.0.0.1:0").await.expect("bind front");
        let back = UdpSocket::bind("127.0.0.1:0").await.expect("bind back");
        let addr = front.local_addr().expect("front address");
        let stats = Arc::new(RelayStats::default());
        let s = stats.clone();
        let task = tokio::spawn(async move {
            let mut rng = seed | 1;
            let mut unit = move || {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                (rng >> 11) as f64 / (1u64 << 53) as f64
            };
            let mut client: Option<SocketAddr> = None;
            // A held datagram: (toward the client?, bytes).
            let mut held: Option<(bool, Vec<u8>)> = None;
            let (mut a, mut b) = (vec![0u8; 65536], vec![0u8; 65536]);
            loop {
                let (to_client, bytes) = tokio::select! {
                    r = front.recv_from(&mut a) => match r {
                        Ok((n, from)) => { client = Some(from); (false, a[..n].to_vec()) }
                        Err(_) => continue,
                    },
                    r = back.recv_from(&mut b) => match r {
                        Ok((n, _)) => (true, b[..n].to_vec()),
                        Err(_) => continue,
                    },
                };
                let mut out = Vec::new();
                let roll = unit();
                if roll < 0.10 {
                    s.dropped.fetch_add(1, Ordering::Relaxed);
                } else if roll < 0.15 {
                    s.duplicated.fetch_add(1, Ordering::Relaxed);
                    out.push((to_client, bytes.clone()));
                    out.push((to_client, bytes));
                } else if roll < 0.20 && held.is_none() {
                    s.reordered.fetch_add(1, Ordering::Relaxed);
                    held = Some((to_client, bytes));
                    continue;
                } else {
                    out.push((to_client, bytes));
                }
                // The held one goes after this one: reordered.
                out.extend(held.take());
                for (to_client, bytes) in out {
                    s.forwarded.fetch_add(1, Ordering::Relaxed);
                    let _ = match (to_client, client) {
                        (true, Some(c)) => front.send_to(&bytes, c).await,
                        (true, None) => continue,
                        (false, _) => back.send_to(&bytes, target).await,
                    };
                }
            }
        });
        Relay {
            front: addr,
            stats,
            task,
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn sipp_through_a_lossy_relay_every_call_ends_once_and_nothing_is_left() {
    if !sipp::installed() {
        return;
    }
    let mut ld = Linedrop::start(Wire::Udp, Setup::default()).await;
    // SIPp gives up on a call when the loss hits it too hard, and then never hangs up:
    // the keepalive is what finds such a call (SIPp's INVITE offers no session timer).
    let line = ld.line;
    ld.call(move |e, _| {
        e.provider_mut().set_line_options(
            line,
            LineOptions {
                keepalive: Some(Duration::from_secs(1)),
                ..LineOptions::default()
            },
        )
    })
    .await
    .expect("line options");
    let relay = Relay::start(ld.addr, 0x10557).await;
    let port = {
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").expect("probe");
        probe.local_addr().expect("probe address").port()
    };
    let logs = std::env::temp_dir().join(format!("linedrop-lossy-{}", std::process::id()));
    std::fs::create_dir_all(&logs).expect("log dir");
    let mut sipp = Command::new("sipp")
        .arg(relay.front.to_string())
        .args(["-sn", "uac", "-s", "service", "-i", "127.0.0.1"])
        .args([
            "-m",
            &CALLS.to_string(),
            "-l",
            &CALLS.to_string(),
            "-r",
            "10",
        ])
        .args(["-d", "300", "-p", &port.to_string(), "-t", "u1"])
        .args([
            "-recv_timeout",
            "10000",
            "-timeout",
            "60s",
            "-nostdin",
            "-aa",
        ])
        .current_dir(&logs)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("sipp runs");
    let mut calls = Vec::new();
    for _ in 0..CALLS {
        let offer = ld.offered().await;
        let h = offer.handle;
        ld.call(move |e, now| e.answer(now, h))
            .await
            .expect("answer");
        calls.push((offer.call, h));
    }
    let mut endings = BTreeMap::new();
    for &(call, _) in &calls {
        let info = ld.ended(call).await;
        assert_eq!(info.state, CallState::Idle);
        let t = info.termination.expect("one termination");
        assert!(
            matches!(t.origin, Origin::Remote | Origin::Network),
            "unexpected ending {t:?}"
        );
        *endings
            .entry(format!("{}/{}", t.origin.as_str(), t.cause.as_str()))
            .or_insert(0) += 1;
    }
    let _ = tokio::time::timeout(Duration::from_secs(60), sipp.wait()).await;
    for (_, h) in calls {
        ld.call(move |e, now| e.release(now, h, Release::Explicit))
            .await
            .expect("release");
    }
    let ledger = ld.wait_quiescent().await;
    assert!(ledger.is_quiescent(), "{ledger:?}");
    let s = &relay.stats;
    let dropped = s.dropped.load(Ordering::Relaxed);
    eprintln!(
        "relay: {} forwarded, {dropped} dropped, {} duplicated, {} reordered; endings {endings:?}",
        s.forwarded.load(Ordering::Relaxed),
        s.duplicated.load(Ordering::Relaxed),
        s.reordered.load(Ordering::Relaxed),
    );
    assert!(dropped > 0, "the relay lost datagrams");
    std::fs::remove_dir_all(&logs).ok();
}

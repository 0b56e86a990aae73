//! The soak's short mode, as CI runs it: 1500 calls with random endings over a link that
//! loses 10% of datagrams, and 400 over simulated TCP with connection resets; every call
//! gets exactly one record per side with the expected origin and cause, and both ledgers
//! are zero after release.

use std::time::Duration;

use linedrop_soak::{run, SoakConfig};

#[test]
fn short_soak_every_call_one_matching_record_and_nothing_left() {
    let dir = std::env::temp_dir().join(format!("linedrop-soak-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("short.db");
    let _ = std::fs::remove_file(&db);
    let cfg = SoakConfig {
        calls: 1500,
        seed: 11,
        loss: 0.1,
        window: Duration::from_secs(300),
        db,
        tcp: false,
    };
    let r = run(&cfg).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        r.mismatches.is_empty(),
        "{:#?}",
        &r.mismatches[..r.mismatches.len().min(20)]
    );
    assert_eq!(r.records, 3000);
    assert_eq!(
        r.by_scenario.len(),
        6,
        "every scenario ran: {:?}",
        r.by_scenario
    );
    for l in &r.ledgers {
        assert!(l.is_quiescent(), "{l:?}");
    }
    // Of the datagrams that met the link (not those to a vanished peer), a tenth is lost.
    let (sent, lost, by_link) = r.datagrams;
    let rate = by_link as f64 / (sent - (lost - by_link)) as f64;
    assert!((0.08..0.12).contains(&rate), "link loss rate {rate}");
}

#[test]
fn short_soak_over_tcp_with_resets() {
    let dir = std::env::temp_dir().join(format!("linedrop-soak-tcp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("short-tcp.db");
    let _ = std::fs::remove_file(&db);
    let cfg = SoakConfig {
        calls: 400,
        seed: 12,
        loss: 0.0,
        window: Duration::from_secs(120),
        db,
        tcp: true,
    };
    let r = run(&cfg).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        r.mismatches.is_empty(),
        "{:#?}",
        &r.mismatches[..r.mismatches.len().min(20)]
    );
    assert_eq!(r.records, 800);
    assert_eq!(
        r.by_scenario.len(),
        7,
        "every scenario ran: {:?}",
        r.by_scenario
    );
    assert!(r.tcp.1 > 0, "connections were reset");
    for l in &r.ledgers {
        assert!(l.is_quiescent(), "{l:?}");
    }
}

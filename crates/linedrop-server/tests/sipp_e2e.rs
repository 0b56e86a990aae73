//! The daemon against SIPp, a real SIP peer: inbound to an auto-answer line, outbound
//! through the API, and what the records say afterwards.

mod common;

use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_calls_an_auto_answer_line_and_hangs_up_and_the_record_says_remote() {
    if !have_sipp() {
        return;
    }
    let (d, _dir) = daemon("").await;
    let target = d.sip_udp.to_string();
    let code = tokio::task::spawn_blocking(move || {
        let child = sipp(&[
            "-sn", "uac", &target, "-s", "auto", "-m", "3", "-r", "10", "-d", "500",
        ]);
        wait_sipp(child, Duration::from_secs(30))
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "SIPp saw a failed call");
    let records = eventually(
        Duration::from_secs(10),
        "three completed records",
        async || {
            let (_, r) = api_async(
                d.api_addr,
                "GET",
                "/v1/records?completed=true",
                Some(TOKEN_A),
                None,
            )
            .await;
            let r = r["records"].as_array()?.clone();
            (r.len() == 3).then_some(r)
        },
    )
    .await;
    for r in &records {
        let t = &r["termination"];
        assert_eq!(
            (
                t["origin"].as_str(),
                t["cause"].as_str(),
                t["wire"].as_str()
            ),
            (Some("remote"), Some("normal"), Some("bye")),
            "{r}"
        );
        assert_eq!(r["direction"], "inbound");
        // SIPp holds each call 500 ms between its ACK and its BYE. The record's times are
        // when linedrop handled each (and SIPp's pause runs on a clock it reads once per
        // loop), so on a loaded machine the talk time can come out under the hold: a CI run
        // read under 100 ms for a 100 ms hold. Hence a longer hold and room for that slack.
        let talk = r["talk_ms"].as_u64().unwrap();
        assert!((400..10_000).contains(&talk), "talk_ms {talk}: {r}");
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_dials_sipp_drops_reads_after_idle_releases_and_the_handle_is_gone() {
    if !have_sipp() {
        return;
    }
    let (d, _dir) = daemon("").await;
    let port = free_udp_port();
    let uas = tokio::task::spawn_blocking(move || {
        let child = sipp(&[
            "-sn",
            "uas",
            "-p",
            &port.to_string(),
            "-m",
            "1",
            "-i",
            "127.0.0.1",
        ]);
        wait_sipp(child, Duration::from_secs(30))
    });
    // SIPp needs a moment to bind; dial until its port answers.
    let id = eventually(Duration::from_secs(10), "SIPp to answer", async || {
        let body = format!(r#"{{"to":"sip:service@127.0.0.1:{port}"}}"#);
        let (status, call) =
            api_async(d.api_addr, "POST", "/v1/calls", Some(TOKEN_A), Some(&body)).await;
        assert_eq!(status, 201, "{call}");
        let id = call["id"].as_u64()?;
        let connected = eventually_connected(&d, id).await;
        if connected {
            Some(id)
        } else {
            api_async(
                d.api_addr,
                "DELETE",
                &format!("/v1/calls/{id}?drop=true"),
                Some(TOKEN_A),
                None,
            )
            .await;
            None
        }
    })
    .await;
    let (status, _) = api_async(
        d.api_addr,
        "POST",
        &format!("/v1/calls/{id}/drop"),
        Some(TOKEN_A),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let idle = eventually(Duration::from_secs(10), "idle", async || {
        let (_, c) = api_async(
            d.api_addr,
            "GET",
            &format!("/v1/calls/{id}"),
            Some(TOKEN_A),
            None,
        )
        .await;
        (c["state"] == "idle").then_some(c)
    })
    .await;
    let t = &idle["termination"];
    assert_eq!(
        (
            t["origin"].as_str(),
            t["cause"].as_str(),
            t["wire"].as_str()
        ),
        (Some("local"), Some("normal"), Some("bye"))
    );
    assert!(idle["sip"]["call_id"].is_string() && idle["sip"]["remote_tag"].is_string());
    assert!(idle["times"]["connected"].is_string() && idle["times"]["idle"].is_string());
    release_and_check_gone(d.api_addr, id).await;
    assert_eq!(uas.await.unwrap(), 0, "SIPp's uas saw a failed call");
    d.stop().await;
}

/// Whether call `id` connects within a second (SIPp may not have bound its port yet).
async fn eventually_connected(d: &linedrop_server::Running, id: u64) -> bool {
    for _ in 0..50 {
        let (_, c) = api_async(
            d.api_addr,
            "GET",
            &format!("/v1/calls/{id}"),
            Some(TOKEN_A),
            None,
        )
        .await;
        match c["state"].as_str() {
            Some("connected") => return true,
            Some("disconnected" | "idle") => return false,
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    false
}

//! The API's contract, on a real daemon: auth, the error shape, validation, isolation
//! between apps, and the OpenAPI document covering every route.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_needs_no_token_and_everything_else_does() {
    let (d, _dir) = daemon("").await;
    let (status, _) = api_async(d.api_addr, "GET", "/healthz", None, None).await;
    assert_eq!(status, 200);
    let (status, body) = api_async(d.api_addr, "GET", "/v1/calls", None, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, body) = api_async(
        d.api_addr,
        "GET",
        "/v1/calls",
        Some("wrong-token-0123456789"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_an_error_that_names_the_problem() {
    let (d, _dir) = daemon("max_body = 512").await;
    let a = Some(TOKEN_A);
    let (status, body) = api_async(
        d.api_addr,
        "POST",
        "/v1/calls",
        a,
        Some(r#"{"to":"not a uri"}"#),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_address"))
    );
    let (status, body) = api_async(
        d.api_addr,
        "POST",
        "/v1/calls",
        a,
        Some(r#"{"to":"sip:x@127.0.0.1","colour":1}"#),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_request"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{body}"
    );
    let (status, body) = api_async(d.api_addr, "POST", "/v1/calls", a, Some("{not json")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_request"))
    );
    let big = format!(r#"{{"to":"sip:{}@127.0.0.1"}}"#, "x".repeat(2000));
    let (status, body) = api_async(d.api_addr, "POST", "/v1/calls", a, Some(&big)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("body_too_large"))
    );
    let (status, body) = api_async(
        d.api_addr,
        "POST",
        "/v1/calls",
        a,
        Some(r#"{"to":"sip:x@127.0.0.1","line":"nope"}"#),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("nope"));
    let (status, body) = api_async(d.api_addr, "GET", "/v1/records?origin=sideways", a, None).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("sideways"));
    let (status, body) = api_async(d.api_addr, "GET", "/v1/nothing", a, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("no_route"))
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_sees_and_touches_only_its_own_calls() {
    let (d, _dir) = daemon("").await;
    // A destination that never answers: the call stays in dialing, which is enough here.
    let port = free_udp_port();
    let body = format!(r#"{{"to":"sip:nobody@127.0.0.1:{port}"}}"#);
    let (status, call) =
        api_async(d.api_addr, "POST", "/v1/calls", Some(TOKEN_A), Some(&body)).await;
    assert_eq!(status, 201, "{call}");
    let id = call["id"].as_u64().unwrap();
    assert_eq!(call["state"], "dialing");
    assert_eq!(call["holders"][0]["app"], "a");

    let (status, body) = api_async(
        d.api_addr,
        "GET",
        &format!("/v1/calls/{id}"),
        Some(TOKEN_B),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("invalid_handle"))
    );
    let (status, body) = api_async(
        d.api_addr,
        "POST",
        &format!("/v1/calls/{id}/drop"),
        Some(TOKEN_B),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("invalid_handle"))
    );
    let (_, list) = api_async(d.api_addr, "GET", "/v1/calls", Some(TOKEN_B), None).await;
    assert_eq!(list["calls"].as_array().unwrap().len(), 0);

    // The owner cannot release a live call it alone owns, but can drop and then release.
    let (status, body) = api_async(
        d.api_addr,
        "DELETE",
        &format!("/v1/calls/{id}"),
        Some(TOKEN_A),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("call_active"))
    );
    let (status, body) = api_async(
        d.api_addr,
        "POST",
        &format!("/v1/calls/{id}/drop"),
        Some(TOKEN_A),
        Some(r#"{"text":"changed my mind"}"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let t = &body["termination"];
    assert_eq!(
        (
            t["origin"].as_str(),
            t["cause"].as_str(),
            t["text"].as_str()
        ),
        (Some("local"), Some("cancelled"), Some("changed my mind"))
    );
    // Still readable after the end, until released; then gone for good.
    let idle = eventually(
        Duration::from_secs(10),
        "the call to reach idle",
        async || {
            let (_, c) = api_async(
                d.api_addr,
                "GET",
                &format!("/v1/calls/{id}"),
                Some(TOKEN_A),
                None,
            )
            .await;
            (c["state"] == "idle").then_some(c)
        },
    )
    .await;
    assert_eq!(idle["termination"]["cause"], "cancelled");
    release_and_check_gone(d.api_addr, id).await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_served_and_in_the_openapi_document() {
    let doc: Value = serde_json::from_str(include_str!("../openapi.json")).unwrap();
    for (method, path) in linedrop_server::http::ROUTES {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is missing from openapi.json"
        );
    }
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        linedrop_server::http::ROUTES.len(),
        "openapi.json documents a route the API does not have"
    );

    let (d, _dir) = daemon("").await;
    for (method, path) in linedrop_server::http::ROUTES {
        if *path == "/v1/events" {
            continue; // a WebSocket; tests/events.rs covers it
        }
        let path = path.replace("{id}", "999999");
        let (status, body) = api_async(
            d.api_addr,
            &method.to_uppercase(),
            &path,
            Some(TOKEN_A),
            None,
        )
        .await;
        assert_ne!(
            body["error"]["code"].as_str(),
            Some("no_route"),
            "{method} {path} is not routed"
        );
        assert!(status < 500, "{method} {path}: {status} {body}");
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_ledger_read_the_same_counts() {
    let (d, _dir) = daemon("").await;
    let (status, ledger) = api_async(d.api_addr, "GET", "/v1/ledger", Some(TOKEN_A), None).await;
    assert_eq!(status, 200);
    assert_eq!(ledger["quiescent"], true, "{ledger}");
    let (status, text) = api_async(d.api_addr, "GET", "/metrics", None, None).await;
    assert_eq!(status, 200);
    let text = text.as_str().unwrap().to_owned();
    assert!(
        text.contains("linedrop_calls{state=\"connected\"} 0"),
        "{text}"
    );
    assert!(text.contains("# TYPE linedrop_sip_transactions gauge"));
    d.stop().await;
}

//! Upstream failures: each answer arrives within the budget, and FAIL_OPEN decides.

use std::time::{Duration, Instant};

use crate::helpers::*;
use nl3_okta_hook::decision::{Outcome, FAIL_CLOSED_MESSAGE};
use nl3_okta_hook::hook::HookRequest;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, ResponseTemplate};

const BUDGET_MS: &str = "400";
const BUDGET: Duration = Duration::from_millis(400);

async fn mount_nl3(up: &Upstreams, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(API_PATH))
        .respond_with(response)
        .mount(&up.nl3)
        .await;
}

/// Runs one call with FAIL_OPEN on and off; checks the outcome, the answer and the time.
async fn assert_check_fails(up: &Upstreams, extra: &[(&str, &str)], cause: &str) {
    for (fail_open, expected) in [("true", Outcome::FailOpen), ("false", Outcome::FailClosed)] {
        let mut overrides = vec![("HOOK_TIMEOUT_MS", BUDGET_MS), ("FAIL_OPEN", fail_open)];
        overrides.extend_from_slice(extra);
        let hook = up.hook(&overrides).await;
        let started = Instant::now();
        let d = decide(&hook, &okta_headers(), &token_event()).await;
        let took = started.elapsed();
        report(fail_open, &d, took);
        assert_eq!(d.outcome, expected, "{}", d.reason);
        assert!(
            d.reason.contains(cause),
            "reason {:?} lacks {cause:?}",
            d.reason
        );
        assert!(took < BUDGET + SLACK, "took {took:?}");
        assert_eq!(d.answer.status, 200);
        match expected {
            Outcome::FailOpen => assert!(d.answer.json().get("error").is_none()),
            _ => assert_eq!(
                d.answer.json()["error"]["errorSummary"],
                FAIL_CLOSED_MESSAGE
            ),
        }
        assert_eq!(
            d.answer.json()["debugContext"]["decision"],
            expected.as_str()
        );
    }
}

#[tokio::test]
async fn nl3_refusing_connections() {
    let up = Upstreams::start().await;
    // A port that was just free: connecting to it is refused.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    assert_check_fails(&up, &[("API_URI", &url)], "NL3 request failed").await;
}

#[tokio::test]
async fn nl3_hanging() {
    let up = Upstreams::start_empty().await;
    mount_nl3(
        &up,
        ResponseTemplate::new(200).set_delay(Duration::from_secs(30)),
    )
    .await;
    assert_check_fails(&up, &[], "budget of").await;
}

#[tokio::test]
async fn nl3_trickling_bytes() {
    let up = Upstreams::start().await;
    // Answers headers at once, then one body byte every 100 ms: never a whole answer in time.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 8192];
                let _ = socket.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let mut tick = tokio::time::interval(Duration::from_millis(100));
                for _ in 0..1000 {
                    tick.tick().await;
                    if socket.write_all(b" ").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    assert_check_fails(&up, &[("API_URI", &url)], "budget of").await;
}

#[tokio::test]
async fn nl3_server_error() {
    let up = Upstreams::start_empty().await;
    mount_nl3(
        &up,
        ResponseTemplate::new(503).set_body_string("unavailable"),
    )
    .await;
    assert_check_fails(&up, &[], "HTTP 503").await;
}

#[tokio::test]
async fn nl3_answering_non_json() {
    let up = Upstreams::start_empty().await;
    mount_nl3(
        &up,
        ResponseTemplate::new(200).set_body_string("<html>oops</html>"),
    )
    .await;
    assert_check_fails(&up, &[], "not JSON").await;
}

#[tokio::test]
async fn nl3_rejecting_the_signature() {
    // The real stand-in verifies with the test key; sign with another one and it answers 400.
    let up = Upstreams::start().await;
    assert_check_fails(
        &up,
        &[("SIGNING_KEY", &b64("some-other-signing-key"))],
        "JWT rejected",
    )
    .await;
}

#[tokio::test]
async fn nl3_answering_401() {
    let up = Upstreams::start_empty().await;
    mount_nl3(
        &up,
        ResponseTemplate::new(401).set_body_json(json!({"message": "Unauthorized"})),
    )
    .await;
    assert_check_fails(&up, &[], "HTTP 401").await;
}

#[tokio::test]
async fn malformed_secret_is_a_failed_check() {
    let up = Upstreams::start().await;
    assert_check_fails(
        &up,
        &[("SIGNING_KEY", "%%% not base64")],
        "SIGNING_KEY is not base64",
    )
    .await;
    assert!(up.nl3_requests().await.is_empty());
}

#[tokio::test]
async fn ipinfo_quota_exhausted_leaves_location_empty_and_pauses_lookups() {
    let up = Upstreams::start_empty().await;
    up.mount_nl3_stand_in().await;
    Mock::given(method("GET"))
        .and(path_regex("^/"))
        .respond_with(ResponseTemplate::new(429).set_body_string("Too Many Requests"))
        .mount(&up.ipinfo)
        .await;
    let hook = up.hook(&[]).await;
    for _ in 0..3 {
        let started = Instant::now();
        let d = decide(&hook, &okta_headers(), &token_event()).await;
        report("true", &d, started.elapsed());
        assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    }
    let sent = up.nl3_requests().await;
    assert_eq!(sent.len(), 3);
    let body: serde_json::Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["userLocation"], "");
    // After the 429, ipinfo is left alone for a while.
    assert_eq!(up.ipinfo_requests().await.len(), 1);
}

#[tokio::test]
async fn ipinfo_hanging_costs_only_its_slice() {
    let up = Upstreams::start_empty().await;
    up.mount_nl3_stand_in().await;
    Mock::given(method("GET"))
        .and(path_regex("^/"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&up.ipinfo)
        .await;
    let hook = up
        .hook(&[("HOOK_TIMEOUT_MS", "1000"), ("IPINFO_TIMEOUT_MS", "150")])
        .await;
    let started = Instant::now();
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    let took = started.elapsed();
    report("true", &d, took);
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    assert!(took < Duration::from_millis(150) + SLACK, "took {took:?}");
    assert_eq!(
        d.answer.json()["debugContext"]["location"],
        "unavailable: ipinfo did not answer in time"
    );
    assert_eq!(up.nl3_requests().await.len(), 1);
}

#[tokio::test]
async fn lambda_deadline_nearer_than_the_budget_wins() {
    let up = Upstreams::start_empty().await;
    mount_nl3(
        &up,
        ResponseTemplate::new(200).set_delay(Duration::from_secs(30)),
    )
    .await;
    let hook = up.hook(&[("HOOK_TIMEOUT_MS", "2500")]).await;
    let started = Instant::now();
    let body = token_event().to_string();
    let d = hook
        .decide(HookRequest {
            headers: &okta_headers(),
            body: body.as_bytes(),
            lambda_deadline: Some(started + Duration::from_millis(400)),
        })
        .await;
    let took = started.elapsed();
    report("true", &d, took);
    assert_eq!(d.outcome, Outcome::FailOpen, "{}", d.reason);
    assert!(
        took < Duration::from_millis(400),
        "took {took:?}: past Lambda's deadline"
    );
}

/// docs/contract.md §3: a 2xx answer without a readable `locked` means the check did not happen.
#[tokio::test]
async fn nl3_answering_without_a_readable_locked() {
    for body in [
        json!({}),
        json!({"data": {"locked": true}}),
        json!({"locked": null}),
        json!({"locked": 1}),
        json!({"locked": "maybe"}),
    ] {
        let up = Upstreams::start_empty().await;
        mount_nl3(&up, ResponseTemplate::new(200).set_body_json(body)).await;
        assert_check_fails(&up, &[], "no readable locked value").await;
    }
}

/// A redirect is never followed: NL3's signed token must not travel to another host, and that
/// host's answer must not decide.
#[tokio::test]
async fn nl3_redirecting_elsewhere() {
    for status in [301, 302, 307, 308] {
        let up = Upstreams::start_empty().await;
        // The other host would say "not locked" to anything.
        let elsewhere = wiremock::MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"locked": false})))
            .mount(&elsewhere)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"locked": false})))
            .mount(&elsewhere)
            .await;
        let location = format!("{}/steal?x=1", elsewhere.uri());
        mount_nl3(
            &up,
            ResponseTemplate::new(status).insert_header("location", location.as_str()),
        )
        .await;
        assert_check_fails(&up, &[], "redirect to 127.0.0.1 (not followed)").await;
        let received = elsewhere.received_requests().await.unwrap();
        assert!(
            received.is_empty(),
            "HTTP {status}: the redirect was followed"
        );
    }
}

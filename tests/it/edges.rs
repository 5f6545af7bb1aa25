//! The edges a token hook must own, since anything but a 2xx answer lets Okta issue the token
//! unchecked: events of every shape and oddity, bodies far larger than Okta's, a Lambda deadline
//! already past. In process, through the same `App` the binary runs (`e2e.rs` runs the binary).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::helpers::*;
use nl3_okta_hook::app::{App, Invocation};
use nl3_okta_hook::config::{ConfigError, Observability};
use nl3_okta_hook::hook::Hook;
use nl3_shared::event::MAX_BODY_BYTES;
use serde_json::{json, Value};

/// A REST API v1 proxy event, the shape NL3's setup uses, with the given edits.
pub fn rest_event(edit: impl FnOnce(&mut Value)) -> Value {
    let mut event = json!({
        "resource": "/okta/hook",
        "path": "/okta/hook",
        "httpMethod": "POST",
        "headers": {
            "Authorization": b64(API_KEY),
            "Content-Type": "application/json",
            "Host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        },
        "multiValueHeaders": {},
        "requestContext": {"httpMethod": "POST", "stage": "prod", "requestId": "edge"},
        "body": token_event().to_string(),
        "isBase64Encoded": false,
    });
    edit(&mut event);
    event
}

/// An HTTP API v2 event (also what function URLs send), with the given edits.
fn http_event(edit: impl FnOnce(&mut Value)) -> Value {
    let mut event = json!({
        "version": "2.0",
        "routeKey": "POST /okta/hook",
        "rawPath": "/okta/hook",
        "rawQueryString": "",
        "headers": {"authorization": b64(API_KEY), "content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abcdef1234", "domainName": "d.example.com",
            "domainPrefix": "d", "requestId": "edge", "routeKey": "POST /okta/hook",
            "stage": "$default", "time": "t", "timeEpoch": 0,
            "http": {"method": "POST", "path": "/okta/hook", "protocol": "HTTP/1.1",
                     "sourceIp": "3.3.3.3", "userAgent": "Okta Hooks"},
        },
        "body": token_event().to_string(),
        "isBase64Encoded": false,
    });
    edit(&mut event);
    event
}

async fn app(up: &Upstreams, overrides: &[(&str, &str)]) -> App {
    App::new(
        Hook::from_settings(up.settings(overrides)).await,
        Observability::default(),
        || true,
    )
}

/// The response the app gives `event` (as the Runtime API loop hands it over), and its decoded
/// body.
async fn answer(app: &App, event: &Value, deadline_ms: u64) -> (Value, Value) {
    answer_text(app, &serde_json::to_vec(event).unwrap(), deadline_ms).await
}

/// The same for an event's JSON text as Lambda delivers it.
async fn answer_text(app: &App, event: &[u8], deadline_ms: u64) -> (Value, Value) {
    let invocation = Invocation {
        request_id: "edge".into(),
        deadline_ms,
        xray_trace_id: None,
    };
    let response: Value = serde_json::from_slice(&app.answer(event, &invocation).await).unwrap();
    let body = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    (response, body)
}

/// docs/contract.md §2: 200 with no `error` or a string `errorSummary`, or 400 with one.
fn assert_contract_shape(response: &Value, body: &Value) {
    let summary_is_text = body["error"]["errorSummary"].is_string();
    match response["statusCode"].as_u64() {
        Some(200) => assert!(body.get("error").is_none() || summary_is_text, "{body}"),
        Some(400) => assert!(summary_is_text, "{body}"),
        other => panic!("status {other:?}: {response}"),
    }
}

/// The events lambda_http 1.3 panicked on while converting them (an invocation error, so Okta
/// issued the token unchecked, also with FAIL_OPEN=false), found by the fuzzer and from AWS's
/// own sample events. Each now gets the hook's answer.
#[tokio::test]
async fn events_lambda_http_could_not_convert_get_the_hooks_answer() {
    let up = Upstreams::start().await;
    let app = app(&up, &[("FAIL_OPEN", "false")]).await;
    let cases = [
        (
            "body flagged base64 that is not, REST",
            rest_event(|e| {
                e["isBase64Encoded"] = json!(true);
                e["body"] = json!("eyJ%");
            }),
            400,
            "",
        ),
        (
            "body flagged base64 that is not, HTTP API",
            http_event(|e| {
                e["isBase64Encoded"] = json!(true);
                e["body"] = json!("not base64!");
            }),
            400,
            "",
        ),
        (
            "Host that is no authority",
            rest_event(|e| e["headers"]["Host"] = json!("a|b")),
            200,
            "allowed",
        ),
        (
            "AWS sample placeholder Host",
            http_event(|e| e["headers"]["host"] = json!("<url-id>.lambda-url.us-west-2.on.aws")),
            200,
            "allowed",
        ),
        (
            "X-Forwarded-Proto that makes no URL",
            rest_event(|e| e["headers"]["X-Forwarded-Proto"] = json!("a b")),
            200,
            "allowed",
        ),
        (
            "no Host, path without '/'",
            rest_event(|e| {
                e["headers"].as_object_mut().unwrap().remove("Host");
                e["path"] = json!(":99999");
            }),
            200,
            "allowed",
        ),
        (
            "REST event without httpMethod",
            rest_event(|e| {
                e.as_object_mut().unwrap().remove("httpMethod");
                e["requestContext"]
                    .as_object_mut()
                    .unwrap()
                    .remove("httpMethod");
            }),
            200,
            "allowed",
        ),
        (
            "raw query string with a space",
            http_event(|e| e["rawQueryString"] = json!("a b")),
            200,
            "allowed",
        ),
    ];
    for (what, event, status, decision) in cases {
        let (response, body) = answer(&app, &event, 0).await;
        assert_contract_shape(&response, &body);
        assert_eq!(response["statusCode"], status, "{what}: {body}");
        if !decision.is_empty() {
            assert_eq!(body["debugContext"]["decision"], decision, "{what}: {body}");
        }
    }
}

#[tokio::test]
async fn every_event_shape_is_answered_in_its_own_shape() {
    let up = Upstreams::start().await;
    let app = app(&up, &[]).await;
    let alb = |multi: bool| {
        let mut e = json!({
            "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:…"}},
            "httpMethod": "POST", "path": "/okta/hook",
            "body": token_event().to_string(), "isBase64Encoded": false,
        });
        let headers = json!({"authorization": b64(API_KEY), "host": "example.com:99999"});
        if multi {
            e["multiValueHeaders"] = json!({"authorization": [b64(API_KEY)], "host": ["h:1"]});
        } else {
            e["headers"] = headers;
        }
        e
    };
    let (response, body) = answer(&app, &alb(false), 0).await;
    assert_eq!(response["statusDescription"], "200 OK");
    assert_eq!(response["headers"]["content-type"], "application/json");
    assert_eq!(body["debugContext"]["decision"], "allowed", "{body}");
    let (response, body) = answer(&app, &alb(true), 0).await;
    assert_eq!(
        response["multiValueHeaders"]["content-type"],
        json!(["application/json"])
    );
    assert_eq!(body["debugContext"]["decision"], "allowed", "{body}");

    let (response, body) = answer(&app, &http_event(|_| {}), 0).await;
    assert_eq!(response["statusCode"], 200);
    assert!(response.get("statusDescription").is_none());
    assert_eq!(body["debugContext"]["decision"], "allowed");

    // Not an HTTP event at all: a clear 400, in the REST shape every caller understands.
    for odd in [
        json!({"hello": "world"}),
        json!([1]),
        json!("text"),
        json!(null),
    ] {
        let (response, body) = answer(&app, &odd, 0).await;
        assert_eq!(response["statusCode"], 400, "{odd}");
        assert!(
            body["error"]["errorSummary"]
                .as_str()
                .unwrap()
                .contains("not an API Gateway"),
            "{body}"
        );
    }
    // NL3 heard of the three good calls only.
    assert_eq!(up.nl3_requests().await.len(), 3);
}

#[tokio::test]
async fn bodies_far_larger_than_oktas_are_refused_before_they_are_read() {
    let up = Upstreams::start().await;
    let app = app(&up, &[]).await;
    let mut big = token_event();
    big["data"]["padding"] = json!("x".repeat(MAX_BODY_BYTES));
    let plain = rest_event(|e| e["body"] = json!(big.to_string()));
    let (response, body) = answer(&app, &plain, 0).await;
    assert_eq!(response["statusCode"], 400, "{body}");
    assert!(body["error"]["errorSummary"]
        .as_str()
        .unwrap()
        .contains("larger than"));
    let encoded = rest_event(|e| {
        e["body"] = json!(b64(big.to_string()));
        e["isBase64Encoded"] = json!(true);
    });
    let (response, _) = answer(&app, &encoded, 0).await;
    assert_eq!(response["statusCode"], 400);
    // A 6 MB event (Lambda's limit) is answered too.
    let huge = rest_event(|e| e["body"] = json!("y".repeat(6 * 1024 * 1024)));
    let (response, _) = answer(&app, &huge, 0).await;
    assert_eq!(response["statusCode"], 400);
    assert!(up.nl3_requests().await.is_empty());
}

#[tokio::test]
async fn a_lambda_deadline_already_past_leaves_no_time_to_wait() {
    let up = Upstreams::start().await;
    let app = app(&up, &[("FAIL_OPEN", "false")]).await;
    let past_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        - 1_000;
    let started = Instant::now();
    let (_, body) = answer(&app, &rest_event(|_| {}), past_ms).await;
    assert_eq!(body["debugContext"]["decision"], "fail_closed", "{body}");
    assert!(body["debugContext"]["reason"]
        .as_str()
        .unwrap()
        .contains("budget of 0 ms"));
    assert!(started.elapsed() < Duration::from_millis(200));
}

#[tokio::test]
async fn a_misconfigured_hook_answers_every_event_with_fail_open_deciding() {
    for (fail_open, decision) in [(true, "fail_open"), (false, "fail_closed")] {
        let app = App::new(
            Err(ConfigError::Missing("API_PATH")),
            Observability::default(),
            || fail_open,
        );
        let (response, body) = answer(&app, &rest_event(|_| {}), 0).await;
        assert_eq!(response["statusCode"], 200);
        assert_eq!(body["debugContext"]["decision"], decision);
        assert!(body["debugContext"]["reason"]
            .as_str()
            .unwrap()
            .contains("API_PATH is not set"));
    }
}

/// Found by reading `ApiKey` while writing the fuzz oracle, not by a crash: a form that is not
/// base64 is still compared (as the digest of the empty string, to keep the work constant), and
/// that comparison was not masked out, so `ApiKey::new("")` accepted every value that is not
/// base64 ("!!!", "Basic !!!"). Latent (the hook never holds an empty key, next test); fixed by
/// counting that comparison only when the form decoded.
#[test]
fn an_empty_api_key_accepts_only_an_empty_value() {
    let key = nl3_shared::api_key::ApiKey::new("");
    assert!(key.matches(b""));
    for value in [&b"!!!"[..], b"Basic !!!", b"not base64!"] {
        assert!(!key.matches(value), "{value:?}");
    }
}

#[test]
fn a_blank_api_key_never_becomes_the_hooks_key() {
    use nl3_shared::secrets::HookSecrets;
    for blank in ["", "  ", "\t"] {
        let secret = json!({"API_KEY": blank, "SIGNING_KEY": b64(SIGNING_KEY)}).to_string();
        assert!(HookSecrets::from_json(&secret, true).is_err(), "{blank:?}");
        let secrets = HookSecrets::from_json(&secret, false).unwrap();
        assert!(!secrets.has_api_key(), "{blank:?}");
        assert!(!secrets.accepts_api_key(b""), "{blank:?}");
    }
}

/// Every sample event in `events/`, read and answered in process (no emulator), as
/// `events/expected.tsv` says; `e2e.rs` does the same through the built binary.
#[tokio::test]
async fn every_sample_event_is_answered_in_process_as_expected() {
    let up = Upstreams::start().await;
    let app = app(
        &up,
        &[
            ("API_KEY", "local-dev-api-key"),
            ("LOCKED_MESSAGE", "Locked."),
        ],
    )
    .await;
    let cases = crate::e2e::expected_answers();
    assert!(cases.len() >= 20);
    for (file, status, decision) in cases {
        let path = format!("{}/events/{file}", env!("CARGO_MANIFEST_DIR"));
        let (response, body) = answer_text(&app, &std::fs::read(&path).unwrap(), 0).await;
        assert_contract_shape(&response, &body);
        assert_eq!(response["statusCode"], status, "{file}: {body}");
        if decision != "-" {
            assert_eq!(body["debugContext"]["decision"], decision, "{file}: {body}");
        }
    }
}

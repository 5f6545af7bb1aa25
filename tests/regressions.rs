//! Inputs the fuzzer (fuzz/) found, kept as tests.
//!
//! None of them reached the hook's own code: they are API Gateway events that lambda_http 1.3 /
//! aws_lambda_events 1.2 panic on while turning them into a request, before the handler runs: a
//! body flagged `isBase64Encoded` that is not base64; a `Host` or `X-Forwarded-Proto` header, or
//! a path, that makes no URL; a raw query string with a space. API Gateway does not send such
//! events (it encodes bodies and query strings itself and routes on `Host`), and lambda_runtime
//! catches the panic and reports an invocation error. The tests pin what matters to the hook: the
//! function survives such an event and answers the next one, and if lambda_http ever hands such
//! an event over instead of panicking, the hook answers it in a CONTRACT §2 shape.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use nl3_okta_hook::lambda_handler::App;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A REST API v1 proxy event, the shape NL3's setup uses, with the given edits.
fn rest_event(edit: impl FnOnce(&mut Value)) -> Value {
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
        "requestContext": {"httpMethod": "POST", "stage": "prod", "requestId": "fuzz"},
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
            "domainPrefix": "d", "requestId": "fuzz", "routeKey": "POST /okta/hook",
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

/// The events the fuzzer found (minimised by hand), each with the place lambda_http panics.
fn upstream_panics() -> Vec<(&'static str, Value)> {
    vec![
        (
            "aws_lambda_events encodings/http.rs:89 (base64 body), REST",
            rest_event(|e| {
                e["isBase64Encoded"] = json!(true);
                e["body"] = json!("eyJ%");
            }),
        ),
        (
            "aws_lambda_events encodings/http.rs:89 (base64 body), HTTP API",
            http_event(|e| {
                e["isBase64Encoded"] = json!(true);
                e["body"] = json!("not base64!");
            }),
        ),
        (
            "lambda_http request.rs:553 (Url::parse unwrap), Host",
            rest_event(|e| e["headers"]["Host"] = json!("a|b")),
        ),
        (
            "lambda_http request.rs:553 (Url::parse unwrap), X-Forwarded-Proto",
            rest_event(|e| e["headers"]["X-Forwarded-Proto"] = json!("a b")),
        ),
        (
            "lambda_http request.rs:229 (invalid URI), Host",
            rest_event(|e| e["headers"]["Host"] = json!("a{b")),
        ),
        (
            "lambda_http request.rs:544 (Url::parse unwrap), no Host, path without '/'",
            rest_event(|e| {
                e["headers"].as_object_mut().unwrap().remove("Host");
                e["requestContext"]["stage"] = json!("$default");
                e["path"] = json!(":99999");
            }),
        ),
        (
            "lambda_http request.rs:175 (invalid URI), raw query string",
            http_event(|e| e["rawQueryString"] = json!("a b")),
        ),
    ]
}

/// CONTRACT §2: 200 with no `error` or a string `errorSummary`, or 400 with one.
fn assert_contract_shape(status: u16, body: &Value) {
    let summary_is_text = body["error"]["errorSummary"].is_string();
    match status {
        200 => assert!(body.get("error").is_none() || summary_is_text, "{body}"),
        400 => assert!(summary_is_text, "{body}"),
        other => panic!("status {other}: {body}"),
    }
}

#[tokio::test]
async fn events_lambda_http_cannot_convert_never_reach_the_hook_or_get_a_contract_answer() {
    let up = Upstreams::start().await;
    let app = App::Ready(Box::new(up.hook(&[]).await));
    for (place, event) in upstream_panics() {
        let text = event.to_string();
        let converted = {
            let quiet = std::panic::take_hook();
            std::panic::set_hook(Box::new(|_| {}));
            let converted =
                catch_unwind(AssertUnwindSafe(|| lambda_http::request::from_str(&text)));
            std::panic::set_hook(quiet);
            converted
        };
        match converted {
            // Today: lambda_runtime's panic layer answers an invocation error (next test).
            Err(_) => {}
            // Once lambda_http stops panicking, the hook must answer these like any other call.
            Ok(Ok(request)) => {
                let response = app.handle(request).await;
                let status = response.status().as_u16();
                let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
                assert_contract_shape(status, &body);
                eprintln!("{place}: lambda_http no longer panics; the hook answered {status}");
            }
            Ok(Err(e)) => eprintln!("{place}: lambda_http now rejects the event: {e}"),
        }
    }
}

/// The function binary under a Lambda Runtime API stand-in: an event lambda_http panics on is
/// reported as an invocation error, and the function goes on to answer the next event.
#[tokio::test]
async fn the_function_survives_an_event_lambda_http_panics_on() {
    let up = Upstreams::start().await;
    let runtime_api = MockServer::start().await;
    let deadline_ms = (now_s() + 60) * 1000;
    let next = |id: &str, event: &Value| {
        ResponseTemplate::new(200)
            .insert_header("lambda-runtime-aws-request-id", id)
            .insert_header(
                "lambda-runtime-deadline-ms",
                deadline_ms.to_string().as_str(),
            )
            .insert_header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:nl3-okta-hook",
            )
            .set_body_json(event)
    };
    let next_path = "/2018-06-01/runtime/invocation/next";
    for (priority, id, event) in [
        (
            1,
            "bad-base64",
            rest_event(|e| {
                e["isBase64Encoded"] = json!(true);
                e["body"] = json!("eyJ%");
            }),
        ),
        (
            2,
            "bad-host",
            rest_event(|e| e["headers"]["Host"] = json!("a|b")),
        ),
        (3, "good", rest_event(|_| {})),
    ] {
        Mock::given(method("GET"))
            .and(path(next_path))
            .respond_with(next(id, &event))
            .up_to_n_times(1)
            .with_priority(priority)
            .mount(&runtime_api)
            .await;
    }
    // Afterwards the function waits for work, as in Lambda.
    Mock::given(method("GET"))
        .and(path(next_path))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(600)))
        .with_priority(10)
        .mount(&runtime_api)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(
            "^/2018-06-01/runtime/invocation/[^/]+/(response|error)$",
        ))
        .respond_with(ResponseTemplate::new(202))
        .mount(&runtime_api)
        .await;

    let runtime_host = runtime_api.uri().trim_start_matches("http://").to_string();
    let mut function = tokio::process::Command::new(env!("CARGO_BIN_EXE_nl3-okta-hook"))
        .env_clear()
        .envs(up.env())
        .env("AWS_LAMBDA_RUNTIME_API", &runtime_host)
        .env("AWS_LAMBDA_FUNCTION_NAME", "nl3-okta-hook")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_REGION", "us-east-1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let started = Instant::now();
    let posted = loop {
        let posted: Vec<(String, Value)> = runtime_api
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.method.as_str() == "POST")
            .map(|r| {
                let body = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
                (r.url.path().to_string(), body)
            })
            .collect();
        if posted.len() >= 3 || started.elapsed() > Duration::from_secs(30) {
            break posted;
        }
        if let Some(status) = function.try_wait().unwrap() {
            panic!("the function exited ({status}); it posted {posted:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = function.kill().await;

    let find = |id: &str| {
        posted
            .iter()
            .find(|(p, _)| p.contains(&format!("/invocation/{id}/")))
            .unwrap_or_else(|| panic!("nothing posted for {id}: {posted:#?}"))
    };
    for id in ["bad-base64", "bad-host"] {
        let (p, body) = find(id);
        assert!(p.ends_with("/error"), "{id}: {p} {body}");
    }
    let (p, answer) = find("good");
    assert!(p.ends_with("/response"), "{p} {answer}");
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["debugContext"]["decision"], "allowed", "{body}");
}

/// Found by reading `ApiKey` while writing the fuzz oracle, not by a crash: a form that is not
/// base64 is still compared (as the digest of the empty string, to keep the work constant), and
/// that comparison was not masked out, so `ApiKey::new("")` accepted every value that is not
/// base64 ("!!!", "Basic !!!"). Latent (the hook never holds an empty key, next test); fixed by
/// counting that comparison only when the form decoded.
#[test]
fn an_empty_api_key_accepts_only_an_empty_value() {
    let key = nl3_okta_hook::hook_auth::ApiKey::new("");
    assert!(key.matches(b""));
    for value in [&b"!!!"[..], b"Basic !!!", b"not base64!"] {
        assert!(!key.matches(value), "{value:?}");
    }
}

#[test]
fn a_blank_api_key_never_becomes_the_hooks_key() {
    use nl3_okta_hook::secrets::HookSecrets;
    for blank in ["", "  ", "\t"] {
        let secret = json!({"API_KEY": blank, "SIGNING_KEY": b64(SIGNING_KEY)}).to_string();
        assert!(HookSecrets::from_json(&secret, true).is_err(), "{blank:?}");
        assert!(
            HookSecrets::from_json(&secret, false)
                .unwrap()
                .api_key
                .is_none(),
            "{blank:?}"
        );
    }
}

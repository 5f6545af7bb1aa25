//! Properties over generated input: every request gets an answer of the CONTRACT §2 shapes, and
//! no log line ever carries a secret. (The constant-time property of the header-secret check is
//! a unit property test in `src/hook_auth.rs`, next to the code it watches.)

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use http::{HeaderMap, HeaderValue};
use nl3_okta_hook::decision::Hook;
use nl3_okta_hook::lambda_handler::log_decision;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, Request, ResponseTemplate};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::from),
        Just(json!("1.1.1.1")),
        Just(json!("::ffff:10.0.0.1")),
        Just(json!(LOCKED_USER)),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Places in Okta's payloads a mutation may hit.
const PATHS: &[&str] = &[
    "/eventType",
    "/data",
    "/data/identity",
    "/data/identity/claims/preferred_username",
    "/data/context",
    "/data/context/request",
    "/data/context/request/ipAddress",
    "/data/context/user/profile/login",
    "/data/context/session/login",
    "/data/assertion/subject/nameId",
];

fn body() -> impl Strategy<Value = Vec<u8>> {
    let sample = prop_oneof![Just(token_event()), Just(saml_event())];
    let mutated =
        (sample, prop::sample::select(PATHS), json_value()).prop_map(|(mut event, path, value)| {
            if let Some(slot) = event.pointer_mut(path) {
                *slot = value;
            }
            serde_json::to_vec(&event).unwrap()
        });
    prop_oneof![
        3 => mutated,
        1 => json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

fn headers() -> impl Strategy<Value = HeaderMap> {
    let value = prop_oneof![
        2 => Just(b64(API_KEY)),
        1 => Just(format!("Basic {}", b64(API_KEY))),
        1 => "[ -~]{0,60}",
        1 => Just("wrong-presented-credential".to_string()),
    ];
    (
        value,
        prop_oneof![
            Just("Authorization"),
            Just("authorization"),
            Just("X-Other")
        ],
    )
        .prop_map(|(value, name)| {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), v);
            }
            h
        })
}

/// CONTRACT §2: 200 with no `error` or a string `errorSummary`, or 400 with one; under 256 KB.
fn assert_contract_shape(status: u16, body: &Value) -> Result<(), TestCaseError> {
    let summary_is_text = body["error"]["errorSummary"].is_string();
    match status {
        200 => prop_assert!(body.get("error").is_none() || summary_is_text, "{body}"),
        400 => prop_assert!(summary_is_text, "{body}"),
        other => prop_assert!(false, "status {other}: {body}"),
    }
    prop_assert!(body.to_string().len() < 256 * 1024);
    Ok(())
}

fn run_cases(runtime: &tokio::runtime::Runtime, hook: &Hook, cases: u32) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(headers(), body()), |(headers, body)| {
            let d = runtime.block_on(decide_raw(hook, &headers, &body));
            log_decision(&d, "property-test");
            assert_contract_shape(d.answer.status, &d.answer.body)
        })
        .unwrap();
}

#[test]
fn every_input_gets_an_answer_of_the_contract_shapes() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let up = runtime.block_on(Upstreams::start());
    let hook = runtime.block_on(up.hook(&[]));
    run_cases(&runtime, &hook, 256);
    let closed =
        runtime.block_on(up.hook(&[("FAIL_OPEN", "false"), ("API_URI", "http://127.0.0.1:9")]));
    run_cases(&runtime, &closed, 64);
}

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn no_log_line_ever_contains_a_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    // The most the hook logs: AWS_LAMBDA_LOG_LEVEL=TRACE.
    let filter = nl3_okta_hook::logging::directives("TRACE");
    let subscriber = nl3_okta_hook::logging::json_subscriber(&filter, move || writer.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    // One thread: every event of the decisions below goes through the capturing subscriber.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let up = runtime.block_on(Upstreams::start());
    // An NL3 that answers 401 and echoes back the token it was sent.
    let echoing = runtime.block_on(Upstreams::start_empty());
    runtime.block_on(
        Mock::given(method("POST"))
            .respond_with(|request: &Request| {
                let token = request.headers["x-nl3-authorization-token"]
                    .to_str()
                    .unwrap()
                    .to_string();
                ResponseTemplate::new(401)
                    .set_body_json(json!({"message": format!("invalid token {token}")}))
            })
            .mount(&echoing.nl3),
    );
    let hooks = [
        runtime.block_on(up.hook(&[])),
        runtime.block_on(up.hook(&[("LOCKED_MESSAGE", "Locked.")])),
        runtime.block_on(echoing.hook(&[])),
        runtime.block_on(up.hook(&[("SIGNING_KEY", "%%not-base64-but-secret%%")])),
    ];
    for hook in &hooks {
        run_cases(&runtime, hook, 48);
        // and the plain paths: allowed, locked, forbidden
        for (headers, event) in [
            (okta_headers(), token_event()),
            (okta_headers(), with_user(saml_event(), LOCKED_USER)),
            (
                headers_with("Authorization", "wrong-presented-credential"),
                token_event(),
            ),
        ] {
            log_decision(
                &runtime.block_on(decide(hook, &headers, &event)),
                "plain-path",
            );
        }
    }

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.matches(r#""message":"decision""#).count() >= 4 * 51,
        "the capture missed decisions"
    );
    assert!(
        logs.contains("NL3 answered HTTP 401"),
        "the echo case did not run"
    );
    for secret in [
        API_KEY.to_string(),
        b64(API_KEY),
        b64(SIGNING_KEY),
        String::from_utf8_lossy(SIGNING_KEY).to_string(),
        IPINFO_TOKEN.to_string(),
        "%%not-base64-but-secret%%".to_string(),
        "wrong-presented-credential".to_string(),
    ] {
        assert!(
            !logs.contains(&secret),
            "a secret reached the logs: {secret}"
        );
    }
    assert!(!logs.contains("eyJ"), "a JWT reached the logs");
}

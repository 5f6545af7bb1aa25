//! Properties over generated input: every request gets an answer of the docs/contract.md §2 shapes, and
//! no log line ever carries a secret. (The constant-time property of the header-secret check is
//! a unit property test in `src/api_key.rs`, next to the code it watches.)
//!
//! Logs are captured by one global subscriber for the whole test binary, not a per-thread
//! default: with a single dispatcher, tracing caches each callsite's interest from the first
//! thread that hits it, so a thread-local capture loses every event the other (parallel) test
//! reached first (it saw no decision line at all under `cargo test`'s default threads).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use crate::helpers::*;
use http::{HeaderMap, HeaderValue};
use nl3_okta_hook::decision::{Failure, Outcome, Verdict};
use nl3_okta_hook::hook::Hook;
use nl3_okta_hook::logging::log_decision;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

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

/// Okta's OAuth hook authentication (docs/contract.md §1), for the hooks configured with it.
const OAUTH_PATH: &str = "/oauth2/default";
const OAUTH_AUDIENCE: &str = "api://nl3-hook";
const OAUTH_SCOPE: &str = "nl3.hook";

fn b64url(bytes: impl AsRef<[u8]>) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Something shaped like an access token: `eyJ…` header and claims, made-up signature; a known
/// or unknown `kid`, RS256 or not, claims that would pass or not.
fn jwt_like() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("k1".to_string()), "[a-z0-9]{1,8}"],
        prop_oneof![Just("RS256"), Just("HS256"), Just("none")],
        prop_oneof![Just(OAUTH_AUDIENCE.to_string()), "[a-z:/.]{1,20}"],
        prop::collection::vec(any::<u8>(), 16..300).prop_map(b64url),
    )
        .prop_map(|(kid, alg, aud, signature)| {
            let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
            let claims = json!({"iss": "any", "aud": aud, "exp": now_s() + 3600,
                                "scp": [OAUTH_SCOPE], "sub": "0oa1hookclient"});
            format!(
                "{}.{}.{signature}",
                b64url(header.to_string()),
                b64url(claims.to_string())
            )
        })
}

/// Presented credentials: the real API key in every accepted form, the other secrets, wrong
/// values, access-token-shaped bearer tokens.
fn credential() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just(b64(API_KEY)),
        1 => Just(format!("Basic {}", b64(API_KEY))),
        1 => Just(API_KEY.to_string()),
        1 => Just(b64(API_KEY).trim_end_matches('=').to_string()),
        1 => Just(b64(SIGNING_KEY)),
        1 => Just(IPINFO_TOKEN.to_string()),
        1 => "[ -~]{0,60}",
        1 => Just("wrong-presented-credential".to_string()),
        1 => "[A-Za-z0-9+/]{16,40}".prop_map(|v| format!("wrong-{v}")),
        2 => jwt_like().prop_map(|t| format!("Bearer {t}")),
    ]
}

fn headers() -> impl Strategy<Value = HeaderMap> {
    let value = credential();
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

/// docs/contract.md §2: 200 with no `error` or a string `errorSummary`, or 400 with one; under 256 KB.
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
    run_cases_with(runtime, hook, cases, (headers(), body()));
}

fn run_cases_with(
    runtime: &tokio::runtime::Runtime,
    hook: &Hook,
    cases: u32,
    input: impl Strategy<Value = (HeaderMap, Vec<u8>)>,
) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&input, |(headers, body)| {
            let d = runtime.block_on(decide_raw(hook, &headers, &body));
            log_decision(&d, "property-test", None);
            assert_contract_shape(d.answer.status, &d.answer.json())?;
            // Who gets through: only a call carrying the API key (no generated bearer token is
            // validly signed), unless the secrets themselves failed first.
            let secrets_failed = matches!(d.verdict, Verdict::CheckFailed(Failure::Secrets(_)));
            if secrets_failed {
                return Ok(());
            }
            if carries_api_key(&headers) {
                prop_assert_ne!(d.outcome, Outcome::Forbidden, "{}", d.reason);
            } else {
                prop_assert_eq!(d.outcome, Outcome::Forbidden, "{}", d.reason);
            }
            Ok(())
        })
        .unwrap();
}

/// The contract's rule (§5), written out plainly: the `Authorization` value, without an
/// optional `Basic ` scheme, is the key or its base64 (padded or not).
fn carries_api_key(headers: &HeaderMap) -> bool {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
    use base64::Engine;
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let value = value.trim();
    let forms = [value, value.strip_prefix("Basic ").unwrap_or(value).trim()];
    forms.iter().any(|form| {
        *form == API_KEY
            || [STANDARD, STANDARD_NO_PAD]
                .iter()
                .any(|e| e.decode(form).is_ok_and(|d| d == API_KEY.as_bytes()))
    })
}

/// Okta's samples with a secret where the user's name goes (never logged either).
fn secret_bearing_body() -> impl Strategy<Value = Vec<u8>> {
    let secret = prop_oneof![
        Just(API_KEY.to_string()),
        Just(b64(API_KEY)),
        Just(b64(SIGNING_KEY)),
        Just(IPINFO_TOKEN.to_string()),
    ];
    (prop_oneof![Just(token_event()), Just(saml_event())], secret)
        .prop_map(|(event, secret)| serde_json::to_vec(&with_user(event, &secret)).unwrap())
}

/// A hook that authenticates Okta's call with OAuth bearer tokens (API key accepted too), its
/// issuer's JWKS served by a stand-in with one RSA key, `k1`.
async fn oauth_hook(up: &Upstreams, issuer: &MockServer) -> Hook {
    let jwks = json!({"keys": [{
        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": "k1",
        "n": b64url([0xc5u8; 256]), "e": "AQAB",
    }]});
    Mock::given(method("GET"))
        .and(path(format!("{OAUTH_PATH}/v1/keys")))
        .respond_with(ResponseTemplate::new(200).set_body_json(jwks))
        .mount(issuer)
        .await;
    let issuer_url = format!("{}{OAUTH_PATH}", issuer.uri());
    up.hook(&[
        ("OAUTH_ISSUER", issuer_url.as_str()),
        ("OAUTH_AUDIENCE", OAUTH_AUDIENCE),
        ("OAUTH_SCOPE", OAUTH_SCOPE),
        ("OAUTH_ACCEPT_API_KEY", "true"),
    ])
    .await
}

#[test]
fn every_input_gets_an_answer_of_the_contract_shapes() {
    // Its log lines are captured too, and checked by `no_log_line_ever_contains_a_secret`.
    captured_logs();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let up = runtime.block_on(Upstreams::start());
    let hook = runtime.block_on(up.hook(&[]));
    run_cases(&runtime, &hook, 256);
    let closed =
        runtime.block_on(up.hook(&[("FAIL_OPEN", "false"), ("API_URI", "http://127.0.0.1:9")]));
    run_cases(&runtime, &closed, 64);
    let issuer = runtime.block_on(MockServer::start());
    let oauth = runtime.block_on(oauth_hook(&up, &issuer));
    run_cases(&runtime, &oauth, 64);
}

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Decision lines so far (`logging::log_decision`).
    fn decisions(&self) -> usize {
        self.text().matches(r#""message":"decision""#).count()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything any thread of this test binary logs, through the hook's own JSON subscriber at the
/// most it ever logs (`AWS_LAMBDA_LOG_LEVEL=TRACE`).
fn captured_logs() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let filter = nl3_shared::log_cap::lambda_level("TRACE");
        let subscriber = nl3_okta_hook::logging::json_subscriber(&filter, move || writer.clone());
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in this test binary");
        captured
    })
}

#[test]
fn no_log_line_ever_contains_a_secret() {
    let captured = captured_logs();
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
    let issuer = runtime.block_on(MockServer::start());
    let hooks = [
        runtime.block_on(up.hook(&[])),
        runtime.block_on(up.hook(&[("LOCKED_MESSAGE", "Locked.")])),
        runtime.block_on(echoing.hook(&[])),
        runtime.block_on(up.hook(&[("SIGNING_KEY", "%%not-base64-but-secret%%")])),
        runtime.block_on(oauth_hook(&up, &issuer)),
    ];
    let decisions_before = captured.decisions();
    for hook in &hooks {
        run_cases(&runtime, hook, 48);
        run_cases_with(&runtime, hook, 16, (headers(), secret_bearing_body()));
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
                None,
            );
        }
    }

    assert!(
        captured.decisions() - decisions_before >= hooks.len() * (48 + 16 + 3),
        "the capture missed decisions"
    );
    let logs = captured.text();
    assert!(
        logs.contains("bearer token: "),
        "the bearer-token cases did not run"
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
        "wrong-".to_string(), // every generated wrong credential
    ] {
        assert!(
            !logs.contains(&secret),
            "a secret reached the logs: {secret}"
        );
    }
    assert!(!logs.contains("eyJ"), "a JWT reached the logs");
}

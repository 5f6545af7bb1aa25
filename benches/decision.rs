//! The hook's own time per call, upstream time excluded (criterion): reading Okta's payload,
//! checking the header secret, and a whole warm decision against loopback stand-ins with the
//! location cached. Then the mean of (decision time − NL3 time − ipinfo time) over 1,000 calls.

use std::time::Duration;

use base64::Engine;
use criterion::Criterion;
use http::{HeaderMap, HeaderValue};
use nl3_okta_hook::config::Settings;
use nl3_okta_hook::decision::Outcome;
use nl3_okta_hook::hook::{Hook, HookRequest};
use nl3_okta_hook::okta::parse_event;
use nl3_shared::api_key::ApiKey;
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const API_KEY: &str = "bench-api-key";

fn token_event() -> String {
    let mut v: Value = serde_json::from_str(include_str!(
        "../tests/fixtures/okta/token-hook-request.json"
    ))
    .unwrap();
    v["data"]["context"]["request"]["ipAddress"] = json!("1.1.1.1");
    v.to_string()
}

fn headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    let value = base64::engine::general_purpose::STANDARD.encode(API_KEY);
    h.insert("authorization", HeaderValue::from_str(&value).unwrap());
    h
}

async fn hook() -> (Hook, MockServer, MockServer) {
    let nl3 = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"locked": "false"})))
        .mount(&nl3)
        .await;
    let ipinfo = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"city": "Miami", "region": "Florida", "loc": "25.7,-80.1"})),
        )
        .mount(&ipinfo)
        .await;
    let env = [
        ("APP_URI", "https://app.example.com".to_string()),
        ("API_URI", nl3.uri()),
        ("API_PATH", "/check".into()),
        ("IPINFO_URL", ipinfo.uri()),
        ("API_KEY", API_KEY.into()),
        ("SIGNING_KEY", "YmVuY2gtc2lnbmluZy1rZXk=".into()),
        ("IPINFO_TOKEN", "t".into()),
    ];
    let settings =
        Settings::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    let hook = Hook::from_settings(settings).await.unwrap();
    (hook, nl3, ipinfo)
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (hook, _nl3, _ipinfo) = runtime.block_on(hook());
    let body = token_event();
    let headers = headers();
    let request = || HookRequest {
        headers: &headers,
        body: body.as_bytes(),
        lambda_deadline: None,
    };

    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    c.bench_function("parse_event (Okta token sample)", |b| {
        b.iter(|| parse_event(std::hint::black_box(body.as_bytes())).unwrap())
    });
    let key = ApiKey::new(API_KEY);
    let presented = headers["authorization"].as_bytes().to_vec();
    c.bench_function("api_key_check (base64 form)", |b| {
        b.iter(|| key.matches(std::hint::black_box(&presented)))
    });
    c.bench_function("decide_warm (loopback NL3, cached location)", |b| {
        b.to_async(&runtime).iter(|| async {
            let d = hook.decide(request()).await;
            assert_eq!(d.outcome, Outcome::Allowed);
        })
    });
    c.final_summary();

    // The hook's own share of a warm call: everything but the time spent waiting on NL3/ipinfo.
    let calls = 1000;
    let own: Duration = runtime.block_on(async {
        let mut total = Duration::ZERO;
        for _ in 0..calls {
            let d = hook.decide(request()).await;
            let upstream = d.trace.nl3.unwrap_or_default() + d.trace.ipinfo.unwrap_or_default();
            total += d.elapsed.saturating_sub(upstream);
        }
        total
    });
    println!(
        "hook's own time per call (decision − NL3 − ipinfo, mean of {calls}): {:.1} µs",
        own.as_secs_f64() * 1e6 / calls as f64
    );
}

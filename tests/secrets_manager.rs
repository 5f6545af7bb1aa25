//! Secrets from a real Secrets Manager API (moto's server) through the real SDK client: caching,
//! rotation, and Secrets Manager being down at cold start and later.

mod common;

use std::time::{Duration, Instant};

use common::*;
use nl3_okta_hook::decision::{Hook, Outcome};
use nl3_okta_hook::secrets::{SecretSource, STALE_REFRESH_WAIT};

const SECRET_ID: &str = "nl3/okta-hook";

async fn create_secret(moto: &Moto, text: &str) {
    moto.client()
        .create_secret()
        .name(SECRET_ID)
        .secret_string(text)
        .send()
        .await
        .expect("create_secret on moto");
}

fn hook_with(up: &Upstreams, endpoint: &str, ttl: Duration, overrides: &[(&str, &str)]) -> Hook {
    let secrets = SecretSource::secrets_manager(sdk_client(endpoint), SECRET_ID.into(), ttl, true);
    Hook::new(up.settings(overrides), secrets).unwrap()
}

fn headers_for(api_key: &str) -> http::HeaderMap {
    headers_with("Authorization", &b64(api_key))
}

#[tokio::test]
async fn secret_is_fetched_once_and_served_from_the_cache() {
    let moto = Moto::start(0).await;
    create_secret(&moto, &secret_json(API_KEY)).await;
    let up = Upstreams::start().await;
    let hook = hook_with(&up, &moto.url, Duration::from_secs(900), &[]);
    for _ in 0..20 {
        let d = decide(&hook, &okta_headers(), &token_event()).await;
        assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    }
    assert_eq!(hook.secrets.fetch_count(), 1);
}

#[tokio::test]
async fn rotated_api_key_works_after_one_rate_limited_refresh() {
    let moto = Moto::start(0).await;
    create_secret(&moto, &secret_json("key-before-rotation")).await;
    let up = Upstreams::start().await;
    let hook = hook_with(&up, &moto.url, Duration::from_secs(900), &[]);
    let d = decide(&hook, &headers_for("key-before-rotation"), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);

    moto.client()
        .put_secret_value()
        .secret_id(SECRET_ID)
        .secret_string(secret_json("key-after-rotation"))
        .send()
        .await
        .unwrap();
    // Okta now sends the new key: the first failure refreshes the secret and the call passes.
    let started = Instant::now();
    let d = decide(&hook, &headers_for("key-after-rotation"), &token_event()).await;
    report("true", &d, started.elapsed());
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    assert_eq!(hook.secrets.fetch_count(), 2);

    // A caller with a wrong key cannot make the hook hammer Secrets Manager.
    for _ in 0..5 {
        let d = decide(&hook, &headers_for("wrong"), &token_event()).await;
        assert_eq!(d.outcome, Outcome::Forbidden);
    }
    assert_eq!(hook.secrets.fetch_count(), 2);
    // The old key no longer works.
    let d = decide(&hook, &headers_for("key-before-rotation"), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Forbidden);
}

#[tokio::test]
async fn unreachable_at_cold_start_fails_within_budget_then_recovers() {
    let up = Upstreams::start().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    for (fail_open, expected) in [("true", Outcome::FailOpen), ("false", Outcome::FailClosed)] {
        let hook = hook_with(
            &up,
            &endpoint,
            Duration::from_secs(900),
            &[("HOOK_TIMEOUT_MS", "400"), ("FAIL_OPEN", fail_open)],
        );
        let started = Instant::now();
        let d = decide(&hook, &okta_headers(), &token_event()).await;
        report(fail_open, &d, started.elapsed());
        assert_eq!(d.outcome, expected, "{}", d.reason);
        assert!(started.elapsed() < Duration::from_millis(400) + SLACK);
        assert!(d.reason.contains("secrets"), "{}", d.reason);
    }
    assert!(up.nl3_requests().await.is_empty());

    // Secrets Manager comes back: the same hook loads the secret on the next call.
    let hook = hook_with(
        &up,
        &endpoint,
        Duration::from_secs(900),
        &[("HOOK_TIMEOUT_MS", "400")],
    );
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::FailOpen);
    let moto = Moto::start(port).await;
    create_secret(&moto, &secret_json(API_KEY)).await;
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
}

#[tokio::test]
async fn unreachable_later_keeps_serving_the_cached_secret() {
    let moto = Moto::start(0).await;
    create_secret(&moto, &secret_json(API_KEY)).await;
    let up = Upstreams::start().await;
    // TTL zero: every call tries to refresh, so every call after the stop meets the outage.
    let hook = hook_with(
        &up,
        &moto.url,
        Duration::ZERO,
        &[("HOOK_TIMEOUT_MS", "1500")],
    );
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    moto.stop().await;
    for _ in 0..2 {
        let started = Instant::now();
        let d = decide(&hook, &okta_headers(), &token_event()).await;
        report("true", &d, started.elapsed());
        assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
        // The outage costs a call at most the short wait for a refresh, not the budget.
        assert!(
            started.elapsed() < STALE_REFRESH_WAIT + SLACK,
            "{:?}",
            started.elapsed()
        );
    }
    assert!(hook.secrets.fetch_count() >= 3);
}

#[tokio::test]
async fn malformed_or_missing_secret_is_a_failed_check() {
    let moto = Moto::start(0).await;
    create_secret(&moto, "{\"API_KEY\": \"k\"}").await;
    let up = Upstreams::start().await;
    let hook = hook_with(
        &up,
        &moto.url,
        Duration::from_secs(900),
        &[("FAIL_OPEN", "false")],
    );
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::FailClosed);
    assert!(d.reason.contains("SIGNING_KEY is missing"), "{}", d.reason);

    let secrets = SecretSource::secrets_manager(
        moto.client(),
        "no/such/secret".into(),
        Duration::from_secs(900),
        true,
    );
    let hook = Hook::new(up.settings(&[]), secrets).unwrap();
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::FailOpen);
    assert!(d.reason.contains("ResourceNotFound"), "{}", d.reason);
    assert!(up.nl3_requests().await.is_empty());
}

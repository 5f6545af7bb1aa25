//! Secrets from a real Secrets Manager API (moto's server) through the real SDK client: caching,
//! rotation, and Secrets Manager being down at cold start and later; and a stand-in answering
//! each version stage as a test says (failing one, hanging, slow), which moto cannot.

use std::time::{Duration, Instant};

use std::sync::Arc;

use crate::helpers::*;
use nl3_okta_hook::decision::{Decision, Outcome};
use nl3_okta_hook::hook::{Hook, HookRequest};
use nl3_shared::secret_source::{FORCED_REFRESH_INTERVAL, RETRY_AFTER_FAILURE, STALE_REFRESH_WAIT};

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

async fn rotate(moto: &Moto, api_key: &str) {
    moto.client()
        .put_secret_value()
        .secret_id(SECRET_ID)
        .secret_string(secret_json(api_key))
        .send()
        .await
        .expect("put_secret_value on moto");
}

/// A hook reading `secret_id` from the Secrets Manager at `endpoint`, with the TTL in seconds.
fn hook_for(
    up: &Upstreams,
    endpoint: &str,
    secret_id: &str,
    ttl_s: u64,
    overrides: &[(&str, &str)],
) -> Hook {
    let ttl = ttl_s.to_string();
    let mut all = vec![
        ("SECRET_ID", secret_id),
        ("SECRET_TTL_SECONDS", ttl.as_str()),
    ];
    all.extend_from_slice(overrides);
    hook_reading(up, endpoint, &all)
}

fn hook_with(up: &Upstreams, endpoint: &str, ttl_s: u64, overrides: &[(&str, &str)]) -> Hook {
    hook_for(up, endpoint, SECRET_ID, ttl_s, overrides)
}

fn headers_for(api_key: &str) -> http::HeaderMap {
    headers_with("Authorization", &b64(api_key))
}

/// Secrets Manager reads made by these decisions (each call reports its own).
fn reads(decisions: &[&Decision]) -> u32 {
    decisions.iter().map(|d| d.trace.secrets_fetches).sum()
}

#[tokio::test]
async fn secret_is_fetched_once_and_served_from_the_cache() {
    let moto = Moto::start(0).await;
    create_secret(&moto, &secret_json(API_KEY)).await;
    let up = Upstreams::start().await;
    let hook = hook_with(&up, &moto.url, 900, &[]);
    let mut fetches = 0;
    for _ in 0..20 {
        let d = decide(&hook, &okta_headers(), &token_event()).await;
        assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
        fetches += reads(&[&d]);
    }
    assert_eq!(fetches, 1);
}

#[tokio::test]
async fn rotated_api_key_works_from_its_first_call_and_the_old_one_within_the_grace() {
    let moto = Moto::start(0).await;
    create_secret(&moto, &secret_json("key-before-rotation")).await;
    let up = Upstreams::start().await;
    let hook = hook_with(&up, &moto.url, 900, &[]);
    let d = decide(&hook, &headers_for("key-before-rotation"), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);

    // Wrong keys from anyone, just before the rotation: they must not delay the new key.
    for _ in 0..3 {
        let d = decide(&hook, &headers_for("wrong"), &token_event()).await;
        assert_eq!(d.outcome, Outcome::Forbidden);
    }
    rotate(&moto, "key-after-rotation").await;
    // Okta now sends the new key: its first call re-reads the secret and passes.
    let started = Instant::now();
    let d = decide(&hook, &headers_for("key-after-rotation"), &token_event()).await;
    report("true", &d, started.elapsed());
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    assert_eq!(reads(&[&d]), 1);

    // Okta switched later than the secret (the other order): the previous key still works
    // within API_KEY_GRACE_SECONDS.
    let d = decide(&hook, &headers_for("key-before-rotation"), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    let d = decide(&hook, &headers_for("never-a-key"), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Forbidden);

    // With no grace, the old key is refused as soon as the new secret is read.
    let strict = hook_with(&up, &moto.url, 900, &[("API_KEY_GRACE_SECONDS", "0")]);
    let d = decide(&strict, &headers_for("key-before-rotation"), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Forbidden, "{}", d.reason);
    let d = decide(&strict, &headers_for("key-after-rotation"), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
}

/// A rotation in flight (nl3-okta-rotate): Okta already sends the AWSPENDING version's key
/// while AWSCURRENT still holds the old one; both pass, on one read of the three versions.
#[tokio::test]
async fn the_pending_key_is_accepted_while_a_rotation_is_in_flight() {
    let moto = Moto::start(0).await;
    create_secret(&moto, &secret_json("key-current")).await;
    let up = Upstreams::start().await;
    let hook = hook_with(&up, &moto.url, 900, &[]);
    let d = decide(&hook, &headers_for("key-current"), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    let d = decide(&hook, &headers_for("key-pending"), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Forbidden, "no pending version yet");

    moto.client()
        .put_secret_value()
        .secret_id(SECRET_ID)
        .client_request_token("0f4c3c1e-7d1a-4c3b-9a55-5a1d2b6c7e8f")
        .secret_string(secret_json("key-pending"))
        .version_stages("AWSPENDING")
        .send()
        .await
        .expect("put the pending version");
    // Okta switched to the pending key: its first call re-reads the secret (one refresh) and
    // passes; the current key still passes too.
    let d = decide(&hook, &headers_for("key-pending"), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    assert_eq!(reads(&[&d]), 1);
    let d = decide(&hook, &headers_for("key-current"), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    assert_eq!(reads(&[&d]), 0, "served from the cache");

    // With the AWSPENDING label gone (rotation over or rolled back), a fresh read drops it.
    moto.client()
        .update_secret_version_stage()
        .secret_id(SECRET_ID)
        .version_stage("AWSPENDING")
        .remove_from_version_id("0f4c3c1e-7d1a-4c3b-9a55-5a1d2b6c7e8f")
        .send()
        .await
        .unwrap();
    let fresh = hook_with(&up, &moto.url, 900, &[]);
    let d = decide(&fresh, &headers_for("key-pending"), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Forbidden, "{}", d.reason);
}

#[tokio::test]
async fn a_key_rotated_after_init_read_the_secret_is_read_again_for_the_call_that_waited_through_init(
) {
    let moto = Moto::start(0).await;
    create_secret(&moto, &secret_json("key-old")).await;
    let up = Upstreams::start().await;
    let process_started = Instant::now();
    let hook = hook_with(&up, &moto.url, 900, &[]);
    // Init reads the secret; the key is rotated, and Okta's call with the new key reaches the
    // process only then - yet it is counted as the on-demand cold start's call, from the
    // process start, which is earlier than that read.
    hook.warm_up(Duration::from_secs(2)).await;
    rotate(&moto, "key-new").await;
    let headers = headers_for("key-new");
    let body = token_event().to_string();
    let d = hook
        .decide_since(
            HookRequest {
                headers: &headers,
                body: body.as_bytes(),
                lambda_deadline: None,
            },
            process_started,
        )
        .await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    assert_eq!(reads(&[&d]), 1, "the secret read again for the new key");
}

#[tokio::test]
async fn concurrent_first_calls_with_a_rotated_key_all_pass_on_one_read() {
    let moto = Moto::start(0).await;
    create_secret(&moto, &secret_json("key-one")).await;
    let up = Upstreams::start().await;
    let hook = Arc::new(hook_with(&up, &moto.url, 900, &[]));
    let d = decide(&hook, &headers_for("key-one"), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    rotate(&moto, "key-two").await;

    let calls: Vec<_> = (0..16)
        .map(|_| {
            let hook = hook.clone();
            tokio::spawn(
                async move { decide(&hook, &headers_for("key-two"), &token_event()).await },
            )
        })
        .collect();
    let mut decisions = Vec::new();
    for call in calls {
        decisions.push(call.await.unwrap());
    }
    let refused = decisions
        .iter()
        .filter(|d| d.outcome != Outcome::Allowed)
        .count();
    assert_eq!(
        refused,
        0,
        "{:?}",
        decisions.iter().map(|d| &d.reason).collect::<Vec<_>>()
    );
    assert!(reads(&decisions.iter().collect::<Vec<_>>()) <= 2);
}

#[tokio::test]
async fn a_flood_of_wrong_keys_reads_the_secret_about_once_a_second() {
    let moto = Moto::start(0).await;
    create_secret(&moto, &secret_json(API_KEY)).await;
    let up = Upstreams::start().await;
    let hook = Arc::new(hook_with(
        &up,
        &moto.url,
        900,
        &[("HOOK_TIMEOUT_MS", "400")],
    ));
    decide(&hook, &okta_headers(), &token_event()).await;

    let started = Instant::now();
    let mut decisions = Vec::new();
    for _ in 0..6 {
        let wave: Vec<_> = (0..8)
            .map(|i| {
                let hook = hook.clone();
                tokio::spawn(async move {
                    decide(&hook, &headers_for(&format!("guess-{i}")), &token_event()).await
                })
            })
            .collect();
        for call in wave {
            decisions.push(call.await.unwrap());
        }
    }
    let elapsed = started.elapsed();
    assert!(decisions.iter().all(|d| d.outcome == Outcome::Forbidden));
    let read = reads(&decisions.iter().collect::<Vec<_>>());
    let bound = 1 + (elapsed.as_secs_f64() / FORCED_REFRESH_INTERVAL.as_secs_f64()).ceil() as u32;
    eprintln!(
        "FLOOD | {} wrong-key calls in {} ms | {read} Secrets Manager reads",
        decisions.len(),
        elapsed.as_millis()
    );
    assert!(read <= bound, "{read} reads in {elapsed:?}");
    // And each wrong-key call still ends inside the budget.
    assert!(decisions
        .iter()
        .all(|d| d.elapsed < Duration::from_millis(400) + SLACK));
}

#[tokio::test]
async fn unreachable_at_cold_start_fails_within_budget_then_recovers() {
    let up = Upstreams::start().await;
    let port = free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    for (fail_open, expected) in [("true", Outcome::FailOpen), ("false", Outcome::FailClosed)] {
        let hook = hook_with(
            &up,
            &endpoint,
            900,
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

    // A herd arriving while it is down shares the one failed read; the failure is remembered
    // for RETRY_AFTER_FAILURE, so the calls right after it do not ask again.
    let hook = Arc::new(hook_with(
        &up,
        &endpoint,
        900,
        &[("HOOK_TIMEOUT_MS", "400")],
    ));
    let herd: Vec<_> = (0..16)
        .map(|_| {
            let hook = hook.clone();
            tokio::spawn(async move { decide(&hook, &okta_headers(), &token_event()).await })
        })
        .collect();
    let mut decisions = Vec::new();
    for call in herd {
        decisions.push(call.await.unwrap());
    }
    let failed_at = Instant::now(); // the failure was remembered before this
    assert!(decisions.iter().all(|d| d.outcome == Outcome::FailOpen));
    assert_eq!(
        reads(&decisions.iter().collect::<Vec<_>>()),
        1,
        "one read for the herd"
    );

    // Secrets Manager comes back: once the remembered failure expires, the same hook loads the
    // secret on the next call. (Waiting out a documented interval, not synchronising.)
    let moto = Moto::start(port).await;
    create_secret(&moto, &secret_json(API_KEY)).await;
    tokio::time::sleep_until((failed_at + RETRY_AFTER_FAILURE).into()).await;
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
}

#[tokio::test]
async fn unreachable_later_keeps_serving_the_cached_secret() {
    let moto = Moto::start(0).await;
    create_secret(&moto, &secret_json(API_KEY)).await;
    let up = Upstreams::start().await;
    // TTL zero: every call tries to refresh, so every call after the stop meets the outage.
    let hook = hook_with(&up, &moto.url, 0, &[("HOOK_TIMEOUT_MS", "1500")]);
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    moto.stop().await;
    let mut fetches = 0;
    for _ in 0..2 {
        let started = Instant::now();
        let d = decide(&hook, &okta_headers(), &token_event()).await;
        report("true", &d, started.elapsed());
        assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
        fetches += reads(&[&d]);
        // The outage costs a call at most the short wait for a refresh, not the budget.
        assert!(
            started.elapsed() < STALE_REFRESH_WAIT + SLACK,
            "{:?}",
            started.elapsed()
        );
    }
    assert_eq!(fetches, 2, "with a zero TTL every call tries again");
}

#[tokio::test]
async fn malformed_or_missing_secret_is_a_failed_check() {
    let moto = Moto::start(0).await;
    create_secret(&moto, "{\"API_KEY\": \"k\"}").await;
    let up = Upstreams::start().await;
    let hook = hook_with(&up, &moto.url, 900, &[("FAIL_OPEN", "false")]);
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::FailClosed);
    assert!(d.reason.contains("SIGNING_KEY is missing"), "{}", d.reason);

    let hook = hook_for(&up, &moto.url, "no/such/secret", 900, &[]);
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::FailOpen);
    assert!(d.reason.contains("ResourceNotFound"), "{}", d.reason);
    assert!(up.nl3_requests().await.is_empty());
}

/// A Secrets Manager stand-in on loopback: `GetSecretValue` answered per version stage with what
/// each test mounts ([`stage`]), through the real SDK client.
pub(crate) async fn secrets_manager_stand_in() -> wiremock::MockServer {
    wiremock::MockServer::start().await
}

/// Answers `GetSecretValue` for `version_stage` with `answer`.
pub(crate) async fn stage(
    server: &wiremock::MockServer,
    version_stage: &str,
    answer: wiremock::ResponseTemplate,
) {
    use wiremock::matchers::{body_partial_json, header, method};
    wiremock::Mock::given(method("POST"))
        .and(header("x-amz-target", "secretsmanager.GetSecretValue"))
        .and(body_partial_json(
            serde_json::json!({"VersionStage": version_stage}),
        ))
        .respond_with(answer)
        .mount(server)
        .await;
}

/// A version of the secret holding `api_key`, as Secrets Manager answers it.
pub(crate) fn version(version_stage: &str, id: &str, api_key: &str) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(200).set_body_raw(
        serde_json::json!({
            "ARN": format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{SECRET_ID}"),
            "Name": SECRET_ID,
            "VersionId": id,
            "SecretString": secret_json(api_key),
            "VersionStages": [version_stage],
            "CreatedDate": now_s() as f64 - 60.0,
        })
        .to_string(),
        "application/x-amz-json-1.1",
    )
}

/// Secrets Manager's answer for a stage that does not exist.
pub(crate) fn not_found() -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(400).set_body_raw(
        r#"{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret value for staging label"}"#,
        "application/x-amz-json-1.1",
    )
}

/// A failed read that is not "not found" (retried once by the SDK, failing again).
fn internal_error() -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(500).set_body_raw(
        r#"{"__type":"InternalServiceError","message":"We encountered an internal error."}"#,
        "application/x-amz-json-1.1",
    )
}

/// Hardening issue 8: with only the AWSPENDING reads failing (500s), the pending key Okta
/// already sends was refused on every call until the reads recovered, and the log said "secret
/// fetched". Only Secrets Manager's not-found means absent: a failed read keeps the last known
/// key of that stage (AWSPREVIOUS likewise), and is logged as the failure it is.
#[tokio::test]
async fn a_failed_pending_or_previous_read_keeps_that_stages_last_known_key() {
    let sm = secrets_manager_stand_in().await;
    let every_stage = |pending: wiremock::ResponseTemplate,
                       previous: wiremock::ResponseTemplate| {
        let sm = &sm;
        async move {
            sm.reset().await;
            stage(sm, "AWSCURRENT", version("AWSCURRENT", "v2", "key-current")).await;
            stage(sm, "AWSPENDING", pending).await;
            stage(sm, "AWSPREVIOUS", previous).await;
        }
    };
    every_stage(
        version("AWSPENDING", "v3", "key-pending"),
        version("AWSPREVIOUS", "v1", "key-previous"),
    )
    .await;
    let up = Upstreams::start().await;
    // TTL zero: every call reads the three stages again.
    let hook = hook_with(&up, &sm.uri(), 0, &[]);
    for key in ["key-current", "key-pending", "key-previous"] {
        let d = decide(&hook, &headers_for(key), &token_event()).await;
        assert_eq!(d.outcome, Outcome::Allowed, "{key}: {}", d.reason);
    }

    // Only the pending and previous reads fail now.
    every_stage(internal_error(), internal_error()).await;
    let (logs, guard) = crate::decision::Lines::capture();
    for key in ["key-pending", "key-previous", "key-current"] {
        let d = decide(&hook, &headers_for(key), &token_event()).await;
        assert_eq!(d.outcome, Outcome::Allowed, "{key}: {}", d.reason);
        assert!(reads(&[&d]) >= 1, "{key}: the stages were read again");
    }
    drop(guard);
    let logs = logs.text();
    for stage in ["AWSPENDING", "AWSPREVIOUS"] {
        assert!(
            logs.lines().any(|l| l.contains(r#""level":"WARN""#)
                && l.contains(stage)
                && l.contains("could not be read")),
            "{stage}: {logs}"
        );
    }
    assert!(
        logs.contains(r#""failed_stages":"AWSPREVIOUS,AWSPENDING""#),
        "{logs}"
    );
    assert!(!logs.contains("key-pending") && !logs.contains("key-previous"));

    // AWSCURRENT moves on (a rotation finished) while AWSPREVIOUS still fails: the version that
    // was current is the previous one now, and its key keeps working within the grace period.
    sm.reset().await;
    stage(&sm, "AWSCURRENT", version("AWSCURRENT", "v4", "key-next")).await;
    stage(&sm, "AWSPENDING", internal_error()).await;
    stage(&sm, "AWSPREVIOUS", internal_error()).await;
    for key in ["key-next", "key-current"] {
        let d = decide(&hook, &headers_for(key), &token_event()).await;
        assert_eq!(d.outcome, Outcome::Allowed, "{key}: {}", d.reason);
    }

    // Not found does mean absent: those keys are no longer accepted.
    sm.reset().await;
    stage(&sm, "AWSCURRENT", version("AWSCURRENT", "v4", "key-next")).await;
    stage(&sm, "AWSPENDING", not_found()).await;
    stage(&sm, "AWSPREVIOUS", not_found()).await;
    for (key, expected) in [
        ("key-pending", Outcome::Forbidden),
        ("key-previous", Outcome::Forbidden),
        ("key-current", Outcome::Forbidden),
        ("key-next", Outcome::Allowed),
    ] {
        let d = decide(&hook, &headers_for(key), &token_event()).await;
        assert_eq!(d.outcome, expected, "{key}: {}", d.reason);
    }
}

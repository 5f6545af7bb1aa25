//! The sentinel (`nl3-okta-sentinel`, the admin crate's scheduled function) and `nl3-okta-admin
//! watch` against the Okta stand-in: its System Log pages (Link headers, 429s, malformed
//! entries, events of several hooks and types), the audit data it already serves, and a probe
//! that the stand-in answers by calling the built hook binary under the Lambda emulator.
//!
//! Each pass runs the built `nl3-okta-sentinel` binary: `--once EVENT` (the same handler the
//! Lambda runtime calls, without the runtime) and, once, under cargo-lambda's emulator. Its
//! credentials come from its own secret in moto's Secrets Manager, as in Lambda.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};

use nl3_testkit::emulator::Emulator;
use nl3_testkit::moto::Moto;
use nl3_testkit::okta::fixtures::*;
use nl3_testkit::okta::{seed, with, Org};
use nl3_testkit::upstreams::{Upstreams, API_KEY};
use nl3_testkit::{b64, free_port};

use crate::cli::{admin, admin_bin};
use crate::hook::emulated_hook;

const NAMESPACE: &str = "NL3OktaHookTest";
const SERVICE: &str = "nl3-okta-hook-test";
/// The scheduled run the tests make, and the events placed in its window (10:04 - 10:10 with
/// the minute of overlap: 10:04 to 10:10 for the next).
const T0: &str = "2026-11-30T10:05:00Z";
const T1: &str = "2026-11-30T10:10:00Z";
const IN_T0: &str = "2026-11-30T10:03:00.000Z";
const ALICE: &str = "alice@acme.example";
const TOKEN_HOOK_ID: &str = "calTOKEN00001";
const SAML_HOOK_ID: &str = "calSAML000001";

/// EventBridge's scheduled event.
fn scheduled(time: &str) -> Value {
    json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": time, "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/nl3-sentinel"], "detail": {}
    })
}

/// A System Log event about an inline hook, shaped as Okta's LogEvent (the stand-in checks it).
fn hook_event(
    uuid: &str,
    event_type: &str,
    published: &str,
    result: &str,
    reason: &str,
    hook: (&str, &str),
) -> Value {
    json!({
        "uuid": uuid, "published": published, "eventType": event_type, "version": "0",
        "severity": if result == "SUCCESS" { "INFO" } else { "WARN" },
        "displayMessage": "Inline hook executed", "legacyEventType": event_type,
        "actor": {"id": "0oaOIDC000001", "type": "PublicClientApp", "alternateId": "Portal", "displayName": "Portal"},
        "client": {"ipAddress": "203.0.113.9", "userAgent": {"rawUserAgent": "curl/8"}},
        // Okta leaves out an empty reason (the schema: minLength 1).
        "outcome": if reason.is_empty() { json!({"result": result}) } else { json!({"result": result, "reason": reason}) },
        "target": [
            {"id": "0oaOIDC000001", "type": "AppInstance", "alternateId": "Portal", "displayName": "Portal"},
            {"id": hook.0, "type": "InlineHook", "alternateId": HOOK_URL, "displayName": hook.1}
        ],
        "transaction": {"type": "WEB", "id": format!("tx-{uuid}"), "detail": {}},
        "debugContext": {"debugData": {"requestUri": "/oauth2/ausDEFAULT001/v1/token"}}
    })
}

fn token_failure(uuid: &str, published: &str, reason: &str) -> Value {
    hook_event(
        uuid,
        "inline_hook.executed",
        published,
        "FAILURE",
        reason,
        (TOKEN_HOOK_ID, "NL3 account protection (token)"),
    )
}

/// The covered org, with a System Log: NL3's token hook timed out, NL3's SAML hook's answer
/// could not be applied, both listed on the 2-event pages twice over (a page boundary repeats
/// one); a successful call; another team's hook failing; another event type about NL3's hook.
fn org_with_failures() -> Value {
    let mut s = covered_org();
    s["hooks"].as_array_mut().unwrap().push(hook(
        "calCLAIMS0001",
        "Claims",
        TOKEN,
        "ACTIVE",
        OTHER_URL,
    ));
    s["logPageSize"] = json!(2);
    s["logs"] = json!([
        token_failure("u-token-1", IN_T0, "Read timed out"),
        hook_event(
            "u-ok-1",
            "inline_hook.response.processed",
            IN_T0,
            "SUCCESS",
            "",
            (TOKEN_HOOK_ID, "NL3")
        ),
        hook_event(
            "u-claims-1",
            "inline_hook.executed",
            IN_T0,
            "FAILURE",
            "Read timed out",
            ("calCLAIMS0001", "Claims")
        ),
        token_failure("u-token-1", IN_T0, "Read timed out"),
        hook_event(
            "u-saml-1",
            "inline_hook.response.processed",
            "2026-11-30T10:03:30.000Z",
            "FAILURE",
            "Invalid command in the response",
            (SAML_HOOK_ID, "NL3 account protection (SAML)")
        ),
        hook_event(
            "u-session-1",
            "user.session.start",
            IN_T0,
            "FAILURE",
            "INVALID_CREDENTIALS",
            (TOKEN_HOOK_ID, "NL3")
        ),
        // Outside both windows.
        token_failure("u-old-1", "2026-11-30T09:00:00.000Z", "Read timed out"),
    ]);
    s
}

/// A Secrets Manager (moto) holding the sentinel's Okta credential secret (also the guard's
/// tests' sentinel runs).
pub(crate) struct Secrets {
    moto: Moto,
}

impl Secrets {
    pub(crate) async fn start() -> Self {
        Secrets {
            moto: Moto::start(0).await,
        }
    }

    /// The sentinel's environment for `org`: a secret of its own with `credentials`.
    async fn env(&self, org_url: &str, credentials: Value) -> Vec<(String, String)> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!("sentinel/okta-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        self.moto
            .client()
            .create_secret()
            .name(&name)
            .secret_string(credentials.to_string())
            .send()
            .await
            .expect("create_secret on moto");
        [
            ("OKTA_ORG_URL", org_url),
            ("OKTA_SECRET_ID", name.as_str()),
            ("NL3_HOOK_URL", HOOK_URL),
            ("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE),
            ("POWERTOOLS_SERVICE_NAME", SERVICE),
            ("AWS_ENDPOINT_URL", self.moto.url.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    pub(crate) async fn for_org(&self, org: &Org) -> Vec<(String, String)> {
        self.env(&org.base, json!({"OKTA_API_TOKEN": org.token}))
            .await
    }
}

/// One pass of the sentinel binary, read back from its stdout.
pub(crate) struct Pass {
    ok: bool,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Pass {
    fn lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    /// The run's EMF line (exactly one).
    fn emf(&self) -> Value {
        let runs: Vec<Value> = self
            .lines()
            .into_iter()
            .filter(|l| l["Sentinel"] == "run")
            .collect();
        assert_eq!(runs.len(), 1, "one EMF line per run:\n{self:?}");
        let line = runs[0].clone();
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["service"]]));
        assert_eq!(line["service"], SERVICE);
        // Every metric declared has its value, and only those.
        for m in directive["Metrics"].as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            assert!(
                line[name].is_number(),
                "{name} declared without a value: {line}"
            );
        }
        line
    }

    /// A metric of the run line; `None` when the line does not carry it.
    pub(crate) fn metric(&self, name: &str) -> Option<f64> {
        self.emf()[name].as_f64()
    }

    /// OktaHookFailures by HookType.
    pub(crate) fn by_hook_type(&self) -> Vec<(String, f64)> {
        self.lines()
            .into_iter()
            .filter(|l| l["Sentinel"] == "failures-by-hook-type")
            .map(|l| {
                assert_eq!(
                    l["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
                    json!([["service", "HookType"]])
                );
                (
                    l["HookType"].as_str().unwrap().to_string(),
                    l["OktaHookFailures"].as_f64().unwrap(),
                )
            })
            .collect()
    }

    /// The log lines whose message contains `message`.
    fn logged(&self, message: &str) -> Vec<Value> {
        self.lines()
            .into_iter()
            .filter(|l| {
                l["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(message))
            })
            .collect()
    }

    fn result(&self) -> Value {
        self.lines()
            .into_iter()
            .find_map(|l| l.get("result").cloned())
            .unwrap_or_else(|| panic!("no result line:\n{self:?}"))
    }
}

impl std::fmt::Debug for Pass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ok {} in {:?}\n--- stdout\n{}--- stderr\n{}",
            self.ok, self.took, self.stdout, self.stderr
        )
    }
}

/// `nl3-okta-sentinel --once <scheduled event at time>` with only `env` (and PATH).
pub(crate) async fn once(env: &[(String, String)], time: &str) -> Pass {
    once_event(env, &scheduled(time)).await
}

async fn once_event(env: &[(String, String)], event: &Value) -> Pass {
    let started = Instant::now();
    let out = tokio::process::Command::new(admin_bin("nl3-okta-sentinel"))
        .arg("--once")
        .arg(event.to_string())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .await
        .expect("run nl3-okta-sentinel");
    Pass {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
    }
}

/// An admin's change made in Okta: the rule's hook (`None`: detached), through Okta's API.
async fn set_rule_hook(org: &Org, rule_id: &str, hook_id: Option<&str>) {
    let path = format!(
        "/api/v1/authorizationServers/ausDEFAULT001/policies/00pPOLICY0001/rules/{rule_id}"
    );
    let mut rule = org.okta_get(&path).await;
    // What Okta writes itself is not sent back (as `setup` does).
    for read_only in ["id", "created", "lastUpdated", "_links"] {
        rule.as_object_mut().unwrap().remove(read_only);
    }
    match hook_id {
        Some(id) => rule["actions"]["token"]["inlineHook"] = json!({"id": id}),
        None => {
            rule["actions"]["token"]
                .as_object_mut()
                .unwrap()
                .remove("inlineHook");
        }
    }
    org.okta_put(&path, &rule).await;
}

#[tokio::test]
async fn a_detached_rule_raises_not_covered_in_one_run_and_reattaching_clears_it() {
    let secrets = Secrets::start().await;
    let org = seed(covered_org()).await;
    let env = secrets.for_org(&org).await;

    let pass = once(&env, T0).await;
    assert!(pass.ok, "{pass:?}");
    assert_eq!(pass.metric("NotCovered"), Some(0.0), "{pass:?}");
    assert_eq!(pass.metric("SentinelError"), Some(0.0), "{pass:?}");
    assert_eq!(pass.metric("SentinelRun"), Some(1.0));

    // Another admin detaches the hook from the Partners rule.
    set_rule_hook(&org, "0prRULE000002", None).await;
    let pass = once(&env, T1).await;
    // The rule, and the OIDC app whose tokens it mints: what `audit` counts.
    assert_eq!(pass.metric("NotCovered"), Some(2.0), "{pass:?}");
    assert_eq!(pass.metric("CannotBeCovered"), Some(0.0));
    assert_eq!(pass.metric("SentinelError"), Some(0.0));
    let audit = admin(&["audit", "--hook-url", HOOK_URL, "--json"], &org.env()).await;
    assert_eq!(audit.exits(1).json()["summary"]["notCovered"], 2);
    let items: Vec<Value> = pass
        .logged("not covered by the NL3 hook")
        .into_iter()
        .map(|l| {
            assert_eq!(l["level"], "WARN");
            l["fields"].clone()
        })
        .collect();
    assert_eq!(
        items,
        [
            json!({"message": "not covered by the NL3 hook", "kind": "rule", "id": "0prRULE000002",
                   "name": "default › Default Policy › Partners", "why": "no inline hook attached"}),
            json!({"message": "not covered by the NL3 hook", "kind": "OPENID_CONNECT app",
                   "id": "0oaOIDC000001", "name": "Portal",
                   "why": "rule(s) without the hook: default › Default Policy › Partners"}),
        ],
        "{pass:?}"
    );

    set_rule_hook(&org, "0prRULE000002", Some(TOKEN_HOOK_ID)).await;
    let pass = once(&env, T1).await;
    assert_eq!(pass.metric("NotCovered"), Some(0.0), "{pass:?}");
    assert!(pass.logged("not covered").is_empty());
    org.assert_clean().await;
}

#[tokio::test]
async fn a_failed_okta_call_raises_okta_hook_failures_and_the_next_window_clears_it() {
    let secrets = Secrets::start().await;
    let org = seed(org_with_failures()).await;
    let env = secrets.for_org(&org).await;

    let pass = once(&env, T0).await;
    eprintln!(
        "SENTINEL-PASS | one --once pass against the stand-in (3 log pages, audit, no probe) | {} ms process, {} ms run",
        pass.took.as_millis(),
        pass.result()["elapsedMs"]
    );
    // NL3's token hook (listed twice, counted once) and NL3's SAML hook; not the claims hook,
    // not the successful call, not the other event type (filtered), not the old event.
    assert_eq!(pass.metric("OktaHookFailures"), Some(2.0), "{pass:?}");
    assert_eq!(pass.metric("SentinelError"), Some(0.0), "{pass:?}");
    assert_eq!(
        pass.by_hook_type(),
        [("token".to_string(), 1.0), ("saml".to_string(), 1.0)]
    );
    let failures = pass.logged("Okta could not complete a call to the NL3 hook");
    let seen: Vec<(&str, &str, &str, &str, &str)> = failures
        .iter()
        .map(|l| {
            let f = &l["fields"];
            (
                f["uuid"].as_str().unwrap(),
                f["time"].as_str().unwrap(),
                f["hook_id"].as_str().unwrap(),
                f["outcome"].as_str().unwrap(),
                f["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "u-token-1",
                IN_T0,
                TOKEN_HOOK_ID,
                "FAILURE",
                "Read timed out"
            ),
            (
                "u-saml-1",
                "2026-11-30T10:03:30.000Z",
                SAML_HOOK_ID,
                "FAILURE",
                "Invalid command in the response"
            ),
        ]
    );
    let result = pass.result();
    assert_eq!(result["since"], "2026-11-30T09:59:00.000Z");
    assert_eq!(result["until"], "2026-11-30T10:05:00.000Z");
    // Okta is asked for the unsuccessful outcomes only: the successful call is never read, so
    // the four entries left in the window fill two pages of two.
    assert_eq!(result["failures"]["pages"], 2, "{result:#}");
    assert_eq!(result["failures"]["eventsRead"], 4, "{result:#}");

    // A late (or retried) run of the same schedule reads the same window: the same count.
    let late = once(&env, T0).await;
    assert_eq!(late.metric("OktaHookFailures"), Some(2.0));
    assert_eq!(late.result()["since"], result["since"]);

    // The next run's window starts after these events: cleared.
    let next = once(&env, T1).await;
    assert_eq!(next.metric("OktaHookFailures"), Some(0.0), "{next:?}");
    assert_eq!(
        next.by_hook_type(),
        [("token".to_string(), 0.0), ("saml".to_string(), 0.0)]
    );

    // What the sentinel asked: the window, the two event types, then the next pages.
    let requests = org.requests().await;
    let logs: Vec<&String> = requests
        .iter()
        .filter(|r| r.starts_with("GET /api/v1/logs"))
        .collect();
    assert!(
        logs[0].contains("since=2026-11-30T09%3A59%3A00.000Z")
            && logs[0].contains("until=2026-11-30T10%3A05%3A00.000Z")
            && logs[0].contains("inline_hook.executed")
            && logs[0].contains("inline_hook.response.processed")
            && logs[0].contains("outcome.result+ne+%22SUCCESS%22"),
        "{logs:#?}"
    );
    org.assert_clean().await;
}

#[tokio::test]
async fn malformed_entries_count_as_failures_of_unknown_reason_logged_by_uuid() {
    let secrets = Secrets::start().await;
    let mut s = covered_org();
    let mut no_outcome = token_failure("u-no-outcome", IN_T0, "x");
    no_outcome.as_object_mut().unwrap().remove("outcome");
    let mut no_target = token_failure("u-no-target", IN_T0, "x");
    no_target.as_object_mut().unwrap().remove("target");
    let mut no_uuid = token_failure("x", IN_T0, "x");
    no_uuid.as_object_mut().unwrap().remove("uuid");
    s["logs"] = json!([no_outcome, no_target, no_uuid]);
    let org = seed(s).await;
    let env = secrets.for_org(&org).await;

    let pass = once(&env, T0).await;
    assert_eq!(pass.metric("OktaHookFailures"), Some(3.0), "{pass:?}");
    assert_eq!(pass.by_hook_type()[2], ("unknown".to_string(), 3.0));
    let logged = pass.logged("could not be read: counted as a failed hook call");
    let uuids: Vec<&str> = logged
        .iter()
        .map(|l| l["fields"]["uuid"].as_str().unwrap())
        .collect();
    assert_eq!(uuids, ["u-no-outcome", "u-no-target", "(no uuid)"]);
    assert!(logged.iter().all(|l| l["fields"]["reason"]
        .as_str()
        .unwrap()
        .starts_with("unknown: ")));
    org.assert_clean().await;
}

#[tokio::test]
async fn okta_down_or_refusing_is_a_sentinel_error_never_zeros() {
    let secrets = Secrets::start().await;
    let dead = format!("http://127.0.0.1:{}", free_port());
    let env = secrets
        .env(&dead, json!({"OKTA_API_TOKEN": "00dead"}))
        .await;
    let pass = once(&env, T0).await;
    assert!(pass.ok, "the run itself completes: {pass:?}");
    assert_eq!(pass.metric("SentinelError"), Some(2.0), "{pass:?}");
    for absent in [
        "NotCovered",
        "CannotBeCovered",
        "OktaHookFailures",
        "ProbeFailed",
    ] {
        assert_eq!(
            pass.metric(absent),
            None,
            "{absent} must not look like all fine"
        );
    }
    assert!(pass.by_hook_type().is_empty());
    assert!(!pass.logged("sentinel part could not run").is_empty());

    // A token Okta refuses (401): the same.
    let org = seed(covered_org()).await;
    let env = secrets
        .env(&org.base, json!({"OKTA_API_TOKEN": "00not-a-token"}))
        .await;
    let pass = once(&env, T0).await;
    assert_eq!(pass.metric("SentinelError"), Some(2.0), "{pass:?}");
    assert_eq!(pass.metric("NotCovered"), None);
    assert!(pass.stdout.contains("Okta refused the credentials (401"));

    // No credentials to be had (the secret does not exist): every part counts as not run, and
    // the function fails with the reason.
    let mut env = secrets.for_org(&org).await;
    env.retain(|(k, _)| k != "OKTA_SECRET_ID");
    env.push(("OKTA_SECRET_ID".into(), "no-such-secret".into()));
    let pass = once(&env, T0).await;
    assert!(!pass.ok);
    assert_eq!(pass.metric("SentinelError"), Some(2.0), "{pass:?}");
    assert!(pass.stderr.contains("no-such-secret"), "{pass:?}");

    // An event without a time: a clear error (and SentinelError), not a deserialization failure.
    let env = secrets.for_org(&org).await;
    let pass = once_event(&env, &json!({"detail-type": "Scheduled Event"})).await;
    assert!(!pass.ok);
    assert!(
        pass.stderr.contains("the event has no \"time\""),
        "{pass:?}"
    );
    assert_eq!(pass.metric("SentinelError"), Some(2.0));
}

#[tokio::test]
async fn rate_limits_are_waited_out_or_reported_as_sentinel_error() {
    let secrets = Secrets::start().await;
    let org = seed(rate_limited_org(1)).await;
    let env = secrets.for_org(&org).await;
    let pass = once(&env, T0).await;
    assert_eq!(pass.metric("OktaHookFailures"), Some(2.0), "{pass:?}");
    assert_eq!(pass.metric("SentinelError"), Some(0.0));
    assert!(org
        .requests()
        .await
        .iter()
        .any(|r| r.starts_with("GET /api/v1/logs") && r.ends_with("-> 429")));

    // Beyond the wait (none allowed): the log part did not run, coverage did; the next run,
    // with Okta's limit over, clears it.
    let org = seed(rate_limited_org(1)).await;
    let env = with(
        secrets.for_org(&org).await,
        &[("SENTINEL_RATE_LIMIT_MAX_WAIT_SECS", "0")],
    );
    let pass = once(&env, T0).await;
    assert_eq!(pass.metric("SentinelError"), Some(1.0), "{pass:?}");
    assert_eq!(pass.metric("OktaHookFailures"), None);
    assert_eq!(pass.metric("NotCovered"), Some(0.0));
    assert!(pass.stdout.contains("429 Too Many Requests"), "{pass:?}");
    let pass = once(&env, T0).await;
    assert_eq!(pass.metric("SentinelError"), Some(0.0), "{pass:?}");
    assert_eq!(pass.metric("OktaHookFailures"), Some(2.0));
    org.assert_clean().await;
}

#[tokio::test]
async fn waits_for_okta_stop_at_the_functions_deadline_and_the_metrics_are_still_written() {
    let secrets = Secrets::start().await;
    // Okta keeps answering 429 for the System Log; each wait is allowed, but the function's
    // time (2 s here) runs out first.
    let org = seed(rate_limited_org(100)).await;
    let env = with(secrets.for_org(&org).await, &[("SENTINEL_ONCE_SECS", "2")]);
    let pass = once(&env, T0).await;
    assert!(pass.ok, "{pass:?}");
    assert!(pass.took < Duration::from_secs(10), "{pass:?}");
    assert_eq!(pass.metric("SentinelError"), Some(1.0), "{pass:?}");
    assert_eq!(pass.metric("OktaHookFailures"), None);
    assert_eq!(pass.metric("NotCovered"), Some(0.0));
    assert_eq!(
        pass.logged("sentinel part could not run")[0]["fields"]["part"],
        "okta_failures"
    );
    assert!(
        pass.stdout.contains("the function's time ran out"),
        "{pass:?}"
    );
}

/// [`org_with_failures`] whose first `n` System Log calls are answered 429.
fn rate_limited_org(n: u32) -> Value {
    let mut s = org_with_failures();
    s["logsRateLimited"] = json!(n);
    s
}

#[tokio::test]
async fn paging_stops_at_its_bound_and_says_so() {
    let secrets = Secrets::start().await;
    let mut s = org_with_failures();
    s["logPageSize"] = json!(1);
    let org = seed(s).await;
    let env = with(
        secrets.for_org(&org).await,
        &[("SENTINEL_MAX_LOG_PAGES", "2")],
    );
    let pass = once(&env, T0).await;
    // Two pages read (of five): what they hold is counted, and the run is an error, as the
    // rest of the window is unread.
    assert_eq!(pass.metric("OktaHookFailures"), Some(1.0), "{pass:?}");
    assert_eq!(pass.metric("SentinelError"), Some(1.0));
    let said = pass.logged("System Log paging stopped after 2 page(s)");
    assert_eq!(said.len(), 1, "{pass:?}");
    assert_eq!(said[0]["level"], "ERROR");
    org.assert_clean().await;
}

/// An org whose NL3 token hook calls the built hook under the emulator, with the header
/// secret `secret` (the hook expects base64 of its API_KEY).
fn probe_org(hook_url: &str, secret: &str) -> Value {
    let mut s = covered_org();
    for h in s["hooks"].as_array_mut().unwrap() {
        h["channel"]["config"]["uri"] = json!(hook_url);
        h["_secret"] = json!(secret);
    }
    s
}

#[tokio::test]
async fn the_probe_is_answered_by_the_built_hook_and_a_broken_one_raises_probe_failed() {
    let secrets = Secrets::start().await;
    let up = Upstreams::start().await;
    let emulator = emulated_hook(up.env()).await;
    let hook_url = emulator.function_url("/okta/hook");
    let probe = [("NL3_HOOK_URL", hook_url.as_str()), ("PROBE_LOGIN", ALICE)];

    // Okta calls the hook for alice, who is not locked: allowed, as expected.
    let org = seed(probe_org(&hook_url, &b64(API_KEY))).await;
    let env = with(secrets.for_org(&org).await, &probe);
    let pass = once(&env, T0).await;
    assert_eq!(pass.metric("ProbeFailed"), Some(0.0), "{pass:?}");
    eprintln!(
        "SENTINEL-PASS | one --once pass with the probe answered by the built hook under the emulator | {} ms process, {} ms run, {} ms probe",
        pass.took.as_millis(),
        pass.result()["elapsedMs"],
        pass.result()["probe"]["elapsedMs"]
    );
    assert!(pass.metric("ProbeDuration").is_some());
    assert_eq!(pass.metric("SentinelError"), Some(0.0));
    let result = pass.result();
    assert_eq!(result["probe"]["decision"], "allowed", "{result:#}");
    assert_eq!(result["probe"]["hookId"], TOKEN_HOOK_ID);
    let decisions = emulator.wait_for_decisions(1).await;
    assert_eq!(decisions[0]["decision"], "allowed", "{decisions:?}");
    org.assert_clean().await;

    // Okta holds a secret the hook does not accept: the hook answers "forbidden".
    let org = seed(probe_org(&hook_url, "d3Jvbmc=")).await;
    let env = with(secrets.for_org(&org).await, &probe);
    let pass = once(&env, T0).await;
    assert_eq!(pass.metric("ProbeFailed"), Some(1.0), "{pass:?}");
    assert_eq!(pass.result()["probe"]["decision"], "forbidden");
    let failed = pass.logged("probe failed");
    assert_eq!(failed.len(), 1);
    assert!(failed[0]["fields"]["why"]
        .as_str()
        .unwrap()
        .contains("expected \"allowed\""));
    // An admin puts the right secret back in Okta: the next run clears it.
    let hook_path = format!("/api/v1/inlineHooks/{TOKEN_HOOK_ID}");
    let mut hook = org.okta_get(&hook_path).await;
    hook["channel"]["config"]["authScheme"]["value"] = json!(b64(API_KEY));
    let body = json!({"name": hook["name"], "type": hook["type"], "version": hook["version"],
                      "channel": hook["channel"]});
    org.okta_put(&hook_path, &body).await;
    let pass = once(&env, T1).await;
    assert_eq!(pass.metric("ProbeFailed"), Some(0.0), "{pass:?}");
    org.assert_clean().await;

    // The hook cannot be reached at all: Okta's execute answers 400, ProbeFailed again.
    let dead = format!("http://127.0.0.1:{}/okta/hook", free_port());
    let org = seed(probe_org(&dead, &b64(API_KEY))).await;
    let env = with(
        secrets.for_org(&org).await,
        &[("NL3_HOOK_URL", dead.as_str()), ("PROBE_LOGIN", ALICE)],
    );
    let pass = once(&env, T0).await;
    assert_eq!(pass.metric("ProbeFailed"), Some(1.0), "{pass:?}");
    assert_eq!(pass.metric("SentinelError"), Some(0.0));

    // A decision other than the one expected (alice is not locked): ProbeFailed.
    let org = seed(probe_org(&hook_url, &b64(API_KEY))).await;
    let env = with(
        secrets.for_org(&org).await,
        &[
            ("NL3_HOOK_URL", hook_url.as_str()),
            ("PROBE_LOGIN", ALICE),
            ("PROBE_EXPECT", "locked"),
        ],
    );
    let pass = once(&env, T0).await;
    assert_eq!(
        pass.metric("ProbeFailed"),
        Some(1.0),
        "alice is not locked: {pass:?}"
    );

    // `watch --probe` shows the same on demand.
    let run = admin(
        &[
            "watch",
            "--since",
            "1h",
            "--hook-url",
            &hook_url,
            "--probe",
            ALICE,
        ],
        &org.env(),
    )
    .await;
    run.exits(0)
        .says(&["Probe for alice@acme.example: ok", "decision allowed"]);
}

#[tokio::test]
async fn the_sentinel_runs_under_the_lambda_emulator() {
    let secrets = Secrets::start().await;
    let org = seed(org_with_failures()).await;
    let env = secrets.for_org(&org).await;
    let emulator = Emulator::start_binary(admin_bin("nl3-okta-sentinel"), env).await;
    let result = emulator.invoke_json(&scheduled(T0)).await;
    assert_eq!(result["since"], "2026-11-30T09:59:00.000Z", "{result:#}");
    assert_eq!(
        result["failures"]["failures"].as_array().unwrap().len(),
        2,
        "{result:#}"
    );
    assert_eq!(result["coverage"]["notCovered"], 0);
    emulator.wait_for_lines(1, r#""Sentinel":"run""#).await;
    let logs = emulator.function_logs.snapshot();
    let emf: Value = logs
        .iter()
        .find(|l| l.contains(r#""Sentinel":"run""#))
        .map(|l| serde_json::from_str(l).unwrap())
        .unwrap();
    assert_eq!(emf["OktaHookFailures"], 2.0);
    assert_eq!(emf["SentinelError"], 0.0);
    org.assert_clean().await;
}

#[tokio::test]
async fn logs_at_trace_never_carry_a_credential() {
    let secrets = Secrets::start().await;
    // The probe's hook is a dead loopback port (Okta's execute answers 400): the probe runs and
    // fails, and nothing leaves loopback.
    let dead = format!("http://127.0.0.1:{}/okta/hook", free_port());
    let mut s = org_with_failures();
    for h in s["hooks"].as_array_mut().unwrap().iter_mut().take(2) {
        h["channel"]["config"]["uri"] = json!(dead);
    }
    s["oauth"] = json!(true);
    let org = seed(s).await;
    let key = org.private_key_pem.clone().unwrap();
    let env = with(
        secrets
            .env(
                &org.base,
                json!({"OKTA_CLIENT_ID": org.client_id, "OKTA_PRIVATE_KEY": key}),
            )
            .await,
        &[
            ("NL3_LOG", "trace"),
            ("PROBE_LOGIN", ALICE),
            ("NL3_HOOK_URL", dead.as_str()),
        ],
    );
    let pass = once(&env, T0).await;
    assert_eq!(pass.metric("OktaHookFailures"), Some(2.0), "{pass:?}");
    assert_eq!(pass.metric("ProbeFailed"), Some(1.0), "{pass:?}");
    assert_eq!(pass.metric("SentinelError"), Some(0.0), "{pass:?}");
    let all = format!("{}{}", pass.stdout, pass.stderr);
    // The key's body, any line of it; the API token of the org; access tokens; the hook secret.
    let key_lines: Vec<&str> = key
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 16)
        .collect();
    assert!(!key_lines.is_empty());
    for secret in key_lines.iter().copied().chain([
        org.token.as_str(),
        "Bearer ",
        "SSWS ",
        "at.",
        "client_assertion",
        "c2VjcmV0",
    ]) {
        assert!(
            !all.contains(secret),
            "{secret:?} reached the logs:\n{pass:?}"
        );
    }
    // TRACE is on: the capture is real.
    assert!(all.contains("okta call"), "{pass:?}");

    // The same with an API token.
    let org = seed(org_with_failures()).await;
    let env = with(secrets.for_org(&org).await, &[("NL3_LOG", "trace")]);
    let pass = once(&env, T0).await;
    let all = format!("{}{}", pass.stdout, pass.stderr);
    assert!(
        !all.contains(&org.token) && !all.contains("SSWS"),
        "{pass:?}"
    );
}

#[tokio::test]
async fn watch_lists_the_calls_okta_could_not_complete() {
    use aws_sdk_secretsmanager::primitives::{DateTime, DateTimeFormat};
    let ago = |minutes: u64| {
        DateTime::from(SystemTime::now() - Duration::from_secs(minutes * 60))
            .fmt(DateTimeFormat::DateTime)
            .unwrap()
    };
    let mut s = covered_org();
    s["logPageSize"] = json!(1);
    s["logs"] = json!([
        token_failure("u-recent", &ago(10), "Read timed out"),
        token_failure("u-recent", &ago(10), "Read timed out"),
        hook_event(
            "u-other",
            "inline_hook.executed",
            &ago(5),
            "FAILURE",
            "x",
            ("calCLAIMS0001", "Claims")
        ),
        token_failure("u-older", &ago(120), "Connection refused"),
    ]);
    let org = seed(s).await;
    let run = admin(&["watch", "--hook-url", HOOK_URL], &org.env()).await;
    run.exits(1).says(&[
        "1 call(s) of the NL3 hook Okta could not complete",
        "TIME",
        "HOOK",
        "OUTCOME",
        "REASON",
        "NL3 account protection (token) (calTOKEN00001, token)",
        "FAILURE",
        "Read timed out",
        "u-recent",
    ]);
    assert!(!run.stdout.contains("u-older"), "{run:?}");

    let run = admin(
        &["watch", "--since", "3h", "--hook-url", HOOK_URL, "--json"],
        &org.env(),
    )
    .await;
    let json = run.exits(1).json();
    let uuids: Vec<&str> = json["failures"]["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["uuid"].as_str().unwrap())
        .collect();
    assert_eq!(uuids, ["u-older", "u-recent"]);

    // Nothing failed in the last minute: exit 0.
    admin(
        &["watch", "--since", "60s", "--hook-url", HOOK_URL],
        &org.env(),
    )
    .await
    .exits(0)
    .says(&["0 call(s)"]);
    // Okta unreachable: exit 3 with the reason.
    let dead = with(
        Vec::new(),
        &[
            ("OKTA_ORG_URL", &format!("http://127.0.0.1:{}", free_port())),
            ("OKTA_API_TOKEN", "00x"),
        ],
    );
    admin(&["watch"], &dead)
        .await
        .exits(3)
        .says(&["could not be read"]);
    org.assert_clean().await;
}

#[tokio::test]
async fn a_window_cut_short_before_any_failure_publishes_no_zero() {
    let secrets = Secrets::start().await;
    let mut s = covered_org();
    s["logPageSize"] = json!(1);
    // Page 1 holds a failed call of another team's hook; NL3's three are on the pages after it.
    s["logs"] = json!([
        hook_event(
            "u-other",
            "inline_hook.response.processed",
            "2026-11-30T10:00:00.000Z",
            "FAILURE",
            "Read timed out",
            ("calCLAIMS0001", "Claims")
        ),
        token_failure("u-f1", "2026-11-30T10:01:00.000Z", "Read timed out"),
        token_failure("u-f2", "2026-11-30T10:02:00.000Z", "Read timed out"),
        token_failure("u-f3", "2026-11-30T10:03:00.000Z", "Read timed out"),
    ]);
    let org = seed(s).await;
    let env = with(
        secrets.for_org(&org).await,
        &[("SENTINEL_MAX_LOG_PAGES", "1")],
    );
    let pass = once(&env, T0).await;
    assert!(pass.ok, "{pass:?}");
    // Nothing counted in an unread window: no OktaHookFailures at all, not a clean zero.
    assert_eq!(pass.metric("OktaHookFailures"), None, "{pass:?}");
    assert_eq!(pass.emf()["OktaHookFailuresPartial"], true, "{pass:?}");
    assert_eq!(pass.metric("SentinelError"), Some(1.0));
    assert!(pass.by_hook_type().is_empty(), "{pass:?}");
    org.assert_clean().await;
}

#[tokio::test]
async fn a_schedule_beyond_okta_s_log_is_a_setting_error_with_its_metrics() {
    let secrets = Secrets::start().await;
    let org = seed(covered_org()).await;
    for schedule in ["rate(200000000000000 days)", "rate(91 days)"] {
        let env = with(
            secrets.for_org(&org).await,
            &[("SENTINEL_SCHEDULE", schedule)],
        );
        let pass = once(&env, T0).await;
        assert!(!pass.ok, "{pass:?}");
        assert!(!pass.stderr.contains("panicked"), "{pass:?}");
        assert!(pass.stderr.contains("SENTINEL_SCHEDULE"), "{pass:?}");
        // The EMF line is written first: an alarm sees the run and its error, and no zero.
        assert_eq!(pass.metric("SentinelError"), Some(2.0), "{pass:?}");
        assert_eq!(pass.metric("NotCovered"), None);
    }
}

//! Rolling out safely: `MODE=report` (globally and per `APPS` entry) checks everything and
//! refuses nothing but strangers, saying what it would have refused; break-glass accounts that
//! no NL3 outage can lock out; and no decision from a failure remembered just before a
//! recovery.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::helpers::*;
use nl3_okta_hook::config::Observability;
use nl3_okta_hook::decision::{Decision, Outcome};
use serde_json::{json, Value};

const CRM_URI: &str = "https://crm.example.com";
const CRM_KEY: &[u8] = b"crm-signing-key-0123456789";
const HR_URI: &str = "https://hr.example.com";
const HR_KEY: &[u8] = b"hr-signing-key-abcdefghijk";

/// Stand-ins that know the default app, the CRM and HR.
async fn upstreams() -> Upstreams {
    Upstreams::start_with_apps(&[(CRM_URI, CRM_KEY), (HR_URI, HR_KEY)]).await
}

/// The EMF line of a decision, read back.
fn emf(d: &Decision) -> Value {
    crate::metrics::emf(d, &Observability::default(), 1)
}

/// What the answer tells Okta, and what its debugContext says.
fn seen(d: &Decision) -> (bool, Value) {
    let answer = d.answer.json();
    (
        answer.get("error").is_none(),
        answer["debugContext"].clone(),
    )
}

fn assert_would_refuse(d: &Decision, reason: &str) {
    assert_eq!(d.outcome, Outcome::WouldRefuse, "{}", d.reason);
    assert_eq!(d.would_refuse, Some(reason));
    let (allowed, debug) = seen(d);
    assert!(allowed, "report mode lets it through: {:?}", d.answer);
    assert_eq!(debug["decision"], "would_refuse");
    assert_eq!(debug["wouldRefuse"], reason);
    assert!(d.reason.contains("MODE=report"), "{}", d.reason);
    // Counted, per app and reason, in a directive of its own.
    let line = emf(d);
    assert_eq!(line["WouldRefuse"], 1);
    assert_eq!(line["Reason"], reason);
    let directives = line["_aws"]["CloudWatchMetrics"].as_array().unwrap();
    assert!(
        directives
            .iter()
            .any(|m| m["Dimensions"] == json!([["service", "App", "Reason"]])
                && m["Metrics"][0]["Name"] == "WouldRefuse"),
        "{line}"
    );
}

#[tokio::test]
async fn report_mode_lets_through_what_it_would_refuse_and_says_why() {
    let up = upstreams().await;
    let hook = up.hook(&[("MODE", "report"), ("FAIL_OPEN", "false")]).await;
    let locked = decide(
        &hook,
        &okta_headers(),
        &with_user(token_event(), LOCKED_USER),
    )
    .await;
    assert_would_refuse(&locked, "locked");
    assert_eq!(
        up.nl3_requests().await.len(),
        1,
        "NL3 was asked all the same"
    );

    // Nothing to refuse: an ordinary answer, no WouldRefuse.
    let allowed = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(allowed.outcome, Outcome::Allowed);
    assert_eq!(emf(&allowed)["WouldRefuse"], 0);
    assert!(emf(&allowed).get("Reason").is_none());

    // A failed check that FAIL_OPEN=false would refuse.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let hook = up
        .hook(&[
            ("MODE", "report"),
            ("FAIL_OPEN", "false"),
            ("API_URI", &dead),
        ])
        .await;
    let failed = decide(&hook, &okta_headers(), &token_event()).await;
    assert_would_refuse(&failed, "failed_check");

    // An app UNLISTED_APPS=refuse would refuse.
    let apps = json!({"crm": {"APP_URI": CRM_URI, "SIGNING_KEY": b64(CRM_KEY)}}).to_string();
    let hook = up
        .hook(&[
            ("MODE", "report"),
            ("UNLISTED_APPS", "refuse"),
            ("APPS", &apps),
            ("APP_URI", ""),
        ])
        .await;
    let unlisted = decide(
        &hook,
        &okta_headers(),
        &token_for("stranger", "a@example.com"),
    )
    .await;
    assert_would_refuse(&unlisted, "unlisted_app");

    // Report mode never opens the hook to strangers: a wrong secret is still refused.
    let hook = up.hook(&[("MODE", "report")]).await;
    let stranger = decide(
        &hook,
        &headers_with("Authorization", "wrong"),
        &with_user(token_event(), LOCKED_USER),
    )
    .await;
    assert_eq!(stranger.outcome, Outcome::Forbidden);
    assert!(!seen(&stranger).0, "refused");
}

#[tokio::test]
async fn enforce_and_report_apps_side_by_side_in_one_deployment() {
    let up = upstreams().await;
    let apps = json!({
        "crm": {"APP_URI": CRM_URI, "SIGNING_KEY": b64(CRM_KEY), "MODE": "report"},
        "hr": {"APP_URI": HR_URI, "SIGNING_KEY": b64(HR_KEY)},
        "bad": {"APP_URI": HR_URI, "SIGNING_KEY": b64(HR_KEY), "MODE": "watch"},
    })
    .to_string();
    // Enforced by default; the CRM is being rolled out.
    let hook = up.hook(&[("APPS", &apps)]).await;
    let crm = decide(&hook, &okta_headers(), &token_for("crm", LOCKED_USER)).await;
    assert_would_refuse(&crm, "locked");
    assert_eq!(emf(&crm)["App"], "crm");
    let hr = decide(&hook, &okta_headers(), &token_for("hr", LOCKED_USER)).await;
    assert_eq!(hr.outcome, Outcome::Locked);
    assert!(!seen(&hr).0, "HR enforces");
    let default = decide(&hook, &okta_headers(), &token_for("other", LOCKED_USER)).await;
    assert_eq!(default.outcome, Outcome::Locked, "{}", default.reason);
    // A MODE that is neither value makes that one entry unusable, naming the field: a failed
    // check under the strictest policy (it states no readable MODE or FAIL_OPEN), not the
    // deployment's FAIL_OPEN=true.
    let bad = decide(&hook, &okta_headers(), &token_for("bad", "a@example.com")).await;
    assert_eq!(bad.outcome, Outcome::FailClosed);
    assert!(
        bad.reason
            .contains("app bad: MODE is not enforce or report"),
        "{}",
        bad.reason
    );

    // Reporting everywhere but one app that already enforces.
    let apps = json!({
        "hr": {"APP_URI": HR_URI, "SIGNING_KEY": b64(HR_KEY), "MODE": "enforce"},
    })
    .to_string();
    let hook = up.hook(&[("APPS", &apps), ("MODE", "REPORT")]).await;
    let hr = decide(&hook, &okta_headers(), &token_for("hr", LOCKED_USER)).await;
    assert_eq!(hr.outcome, Outcome::Locked);
    let default = decide(&hook, &okta_headers(), &token_for("other", LOCKED_USER)).await;
    assert_would_refuse(&default, "locked");
}

/// Hardening issue 9: a deployment in report mode that refuses on a failed check, and an app
/// enforced on purpose whose entry has an unrelated field that cannot be read. Its locked user
/// was let through as `would_refuse`, NL3 never asked, at INFO with no alarm. An unusable entry
/// is a failed check under the strictest policy it could mean, counted as one.
#[tokio::test]
async fn an_unusable_entry_is_a_failed_check_never_silently_report_mode() {
    let up = upstreams().await;
    let apps = json!({
        "hr": {"APP_URI": HR_URI, "SIGNING_KEY": b64(HR_KEY), "MODE": "enforce",
               "LOCKED_MESSAGE": 5},
    })
    .to_string();
    let hook = up
        .hook(&[("MODE", "report"), ("FAIL_OPEN", "false"), ("APPS", &apps)])
        .await;
    let d = decide(&hook, &okta_headers(), &token_for("hr", LOCKED_USER)).await;
    assert_eq!(d.outcome, Outcome::FailClosed, "{}", d.reason);
    assert_eq!(d.would_refuse, None);
    assert!(!seen(&d).0, "refused");
    assert!(
        d.reason.contains("app hr: LOCKED_MESSAGE is not a string"),
        "{}",
        d.reason
    );
    assert!(
        d.reason.ends_with("FAIL_OPEN=false refuses the sign-in"),
        "{}",
        d.reason
    );
    let line = emf(&d);
    assert_eq!(
        (line["FailClosed"].clone(), line["WouldRefuse"].clone()),
        (json!(1), json!(0))
    );
    assert_eq!(line["App"], "hr");

    // A deployment that fails open lends the entry nothing either: it states no FAIL_OPEN.
    let hook = up.hook(&[("MODE", "report"), ("APPS", &apps)]).await;
    let d = decide(&hook, &okta_headers(), &token_for("hr", LOCKED_USER)).await;
    assert_eq!(d.outcome, Outcome::FailClosed, "{}", d.reason);
    assert!(up.nl3_requests().await.is_empty(), "NL3 was never asked");

    // What an unusable entry states readably still holds: an app being rolled out in report
    // mode is not refused because of a typo in its entry.
    let apps = json!({
        "hr": {"APP_URI": HR_URI, "SIGNING_KEY": "%%% not base64", "MODE": "report"},
    })
    .to_string();
    let hook = up.hook(&[("FAIL_OPEN", "false"), ("APPS", &apps)]).await;
    let d = decide(&hook, &okta_headers(), &token_for("hr", LOCKED_USER)).await;
    assert_would_refuse(&d, "failed_check");
}

#[tokio::test]
async fn a_mode_that_is_neither_value_is_a_misconfigured_hook() {
    let up = upstreams().await;
    let settings = nl3_okta_hook::config::Settings::from_lookup(|name| {
        let env = up.env();
        match name {
            "MODE" => Some("watch".into()),
            _ => env.into_iter().find(|(k, _)| k == name).map(|(_, v)| v),
        }
    });
    let error = settings.unwrap_err();
    assert_eq!(
        error.to_string(),
        "MODE is invalid: expected enforce or report"
    );
}

#[tokio::test]
async fn break_glass_logins_pass_an_nl3_outage_and_are_refused_when_locked() {
    let up = upstreams().await;
    let logins = json!(["Admin@Example.com", "LOCKED.Admin@example.com"]).to_string();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let outage = up
        .hook(&[
            ("FAIL_OPEN", "false"),
            ("API_URI", &dead),
            ("BREAK_GLASS_LOGINS", &logins),
        ])
        .await;
    // An NL3 outage with FAIL_OPEN=false: the administrator (any case) still gets in...
    let admin = decide(
        &outage,
        &okta_headers(),
        &with_user(token_event(), "admin@example.COM"),
    )
    .await;
    assert_eq!(admin.outcome, Outcome::FailOpen, "{}", admin.reason);
    assert!(admin.reason.contains("break-glass"), "{}", admin.reason);
    assert!(seen(&admin).0);
    assert_eq!(seen(&admin).1["breakGlass"], true);
    assert_eq!(emf(&admin)["BreakGlass"], 1);
    // ...and everyone else is refused, as FAIL_OPEN=false says.
    let user = decide(
        &outage,
        &okta_headers(),
        &with_user(token_event(), "ann@example.com"),
    )
    .await;
    assert_eq!(user.outcome, Outcome::FailClosed);
    assert_eq!(emf(&user)["BreakGlass"], 0);

    // A lock still refuses a break-glass account: its owner asked for it.
    let hook = up
        .hook(&[("FAIL_OPEN", "false"), ("BREAK_GLASS_LOGINS", &logins)])
        .await;
    let locked = decide(
        &hook,
        &okta_headers(),
        &with_user(token_event(), "locked.admin@example.com"),
    )
    .await;
    assert_eq!(locked.outcome, Outcome::Locked, "{}", locked.reason);
    assert!(!seen(&locked).0);
    assert_eq!(emf(&locked)["BreakGlass"], 1, "every sign-in is counted");

    // Not a list of strings: the secrets cannot be used, and the log names the field.
    for bad in [r#""admin@example.com""#, r#"["a", 1]"#] {
        let hook = up
            .hook(&[("FAIL_OPEN", "false"), ("BREAK_GLASS_LOGINS", bad)])
            .await;
        let d = decide(&hook, &okta_headers(), &token_event()).await;
        assert_eq!(d.outcome, Outcome::FailClosed, "{bad}");
        assert!(
            d.reason
                .contains("BREAK_GLASS_LOGINS is not a list of strings"),
            "{}",
            d.reason
        );
    }
}

/// Hardening issue 10: with `FAIL_OPEN=false` a failed check never refuses a break-glass account
/// once the hook has authenticated the call and read the list — also when the default app's
/// `SIGNING_KEY` is not base64, which used to make the whole secret unusable — and the reason
/// never claims `FAIL_OPEN=true`. Only a failure that leaves the call unauthenticated (no setting
/// or no secret to read) is excepted, as docs/operations.md says.
#[tokio::test]
async fn break_glass_holds_for_every_failed_check_after_authentication() {
    let up = upstreams().await;
    let logins = json!(["admin@example.com"]).to_string();
    let admin = || with_user(token_event(), "admin@example.com");

    // NL3 down: allowed, and the reason says what FAIL_OPEN really is.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let outage = up
        .hook(&[
            ("FAIL_OPEN", "false"),
            ("API_URI", &dead),
            ("BREAK_GLASS_LOGINS", &logins),
        ])
        .await;
    let d = decide(&outage, &okta_headers(), &admin()).await;
    assert_eq!(d.outcome, Outcome::FailOpen, "{}", d.reason);
    assert!(!d.reason.contains("FAIL_OPEN=true"), "{}", d.reason);
    assert!(
        d.reason.ends_with(
            "FAIL_OPEN=false, but a break-glass account: a failed check never refuses it"
        ),
        "{}",
        d.reason
    );

    // The default app's signing key not base64: the call is still authenticated and the list
    // still read, so the administrator gets in and everyone else is refused.
    let broken_key = [
        ("FAIL_OPEN", "false"),
        ("SIGNING_KEY", "%%% not base64"),
        ("BREAK_GLASS_LOGINS", logins.as_str()),
    ];
    let hook = up.hook(&broken_key).await;
    let d = decide(&hook, &okta_headers(), &admin()).await;
    assert_eq!(d.outcome, Outcome::FailOpen, "{}", d.reason);
    assert!(seen(&d).0);
    assert!(
        d.reason
            .contains("the default app cannot be used: SIGNING_KEY is not base64"),
        "{}",
        d.reason
    );
    assert!(!d.reason.contains("%%%"), "{}", d.reason);
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::FailClosed, "{}", d.reason);
    // A stranger naming the administrator is still a stranger.
    let d = decide(&hook, &headers_with("Authorization", "wrong"), &admin()).await;
    assert_eq!(d.outcome, Outcome::Forbidden, "{}", d.reason);
    // An app with an entry of its own is not held up by the default's key.
    let apps = json!({"crm": {"APP_URI": CRM_URI, "SIGNING_KEY": b64(CRM_KEY)}}).to_string();
    let mut with_apps = broken_key.to_vec();
    with_apps.push(("APPS", &apps));
    let hook = up.hook(&with_apps).await;
    let d = decide(&hook, &okta_headers(), &token_for("crm", "ann@example.com")).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);

    // The documented exception: with no secret to read the call cannot be authenticated nor
    // the list known, so FAIL_OPEN=false refuses, and says so.
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let hook = hook_reading(
        &up,
        &nowhere,
        &[
            ("SECRET_ID", "nl3/unreachable"),
            ("FAIL_OPEN", "false"),
            ("HOOK_TIMEOUT_MS", "400"),
        ],
    );
    let d = decide(&hook, &okta_headers(), &admin()).await;
    assert_eq!(d.outcome, Outcome::FailClosed, "{}", d.reason);
    assert!(
        d.reason.ends_with("FAIL_OPEN=false refuses the sign-in"),
        "{}",
        d.reason
    );
}

#[tokio::test]
async fn a_call_right_after_secrets_manager_recovers_is_decided_on_the_fresh_secret() {
    let up = upstreams().await;
    let moto = Moto::start(0).await;
    let budget = [("SECRET_ID", "nl3/rollout"), ("HOOK_TIMEOUT_MS", "2500")];
    let hook = Arc::new(hook_reading(&up, &moto.url, &budget));
    // The first read fails (no such secret yet): remembered for RETRY_AFTER_FAILURE.
    let first = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(first.outcome, Outcome::FailOpen, "{}", first.reason);
    // Secrets Manager "recovers" at once.
    moto.client()
        .create_secret()
        .name("nl3/rollout")
        .secret_string(secret_json(API_KEY))
        .send()
        .await
        .unwrap();
    // Sixteen calls right after, each with 2.5 s of budget: they wait for the next allowed read
    // (one for all of them), instead of failing open on the remembered failure.
    let started = Instant::now();
    let herd: Vec<_> = (0..16)
        .map(|_| {
            let hook = hook.clone();
            tokio::spawn(async move { decide(&hook, &okta_headers(), &token_event()).await })
        })
        .collect();
    let mut reads = 0;
    for call in herd {
        let d = call.await.unwrap();
        assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
        reads += d.trace.secrets_fetches;
    }
    assert_eq!(reads, 1, "one read for the herd");
    let waited = started.elapsed();
    assert!(
        waited < nl3_shared::secret_source::RETRY_AFTER_FAILURE + SLACK,
        "waited {waited:?}"
    );

    // A call whose budget (300 ms) ends before the next allowed read decides at once, on the
    // failure.
    let short = [
        ("SECRET_ID", "nl3/not-there-either"),
        ("HOOK_TIMEOUT_MS", "300"),
    ];
    let hook = hook_reading(&up, &moto.url, &short);
    let _ = decide(&hook, &okta_headers(), &token_event()).await;
    let started = Instant::now();
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::FailOpen);
    assert_eq!(
        d.trace.secrets_fetches, 0,
        "decided on the remembered failure"
    );
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "{:?}",
        started.elapsed()
    );
}

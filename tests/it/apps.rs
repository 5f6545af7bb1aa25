//! Several apps, one hook: per-application NL3 settings (`APPS`), keyed by the OAuth client ID
//! (token hooks) or the SAML app's ID or issuer URI (SAML hooks). The NL3 stand-in verifies each
//! JWT with the signing key of the application its `iss` names, so a call checked as the wrong
//! app, or signed with another app's key, fails.

use std::time::Duration;

use crate::helpers::*;
use nl3_okta_hook::decision::Outcome;
use nl3_okta_hook::hook::Hook;
use nl3_testkit::standins::{self, Expect};
use serde_json::{json, Value};

const CRM_URI: &str = "https://crm.example.com";
const CRM_KEY: &[u8] = b"crm-signing-key-0123456789";
const HR_URI: &str = "https://hr.example.com";
const HR_KEY: &[u8] = b"hr-signing-key-abcdefghijk";
const PORTAL_URI: &str = "https://portal.example.com";
const PORTAL_KEY: &[u8] = b"portal-signing-key-xyz";
const SAML_ID: &str = "0oaHRsaml";
const SAML_ISSUER: &str = "http://www.okta.com/exkPortal";

fn apps() -> Value {
    json!({
        "crm-client-id": {"APP_URI": CRM_URI, "SIGNING_KEY": b64(CRM_KEY)},
        SAML_ID: {"APP_URI": HR_URI, "SIGNING_KEY": b64(HR_KEY),
                  "LOCKED_MESSAGE": "HR portal: your account is locked.", "FAIL_OPEN": false},
        SAML_ISSUER: {"APP_URI": PORTAL_URI, "SIGNING_KEY": b64(PORTAL_KEY)},
        "broken-client-id": {"APP_URI": CRM_URI, "SIGNING_KEY": "%%% not base64"},
    })
}

/// The stand-ins, expecting the default app and the three in `apps()`.
async fn upstreams() -> Upstreams {
    Upstreams::start_with_apps(&[
        (CRM_URI, CRM_KEY),
        (HR_URI, HR_KEY),
        (PORTAL_URI, PORTAL_KEY),
    ])
    .await
}

fn saml_for(id: &str, uri: &str, user: &str) -> Value {
    let mut e = with_user(saml_event(), user);
    e["data"]["context"]["protocol"]["issuer"] = json!({"id": id, "uri": uri, "name": "app"});
    e
}

/// The `iss` of the NL3 token of the last check.
async fn last_issuer(up: &Upstreams) -> String {
    let sent = up.nl3_requests().await;
    let token = sent.last().expect("NL3 was asked").headers["x-nl3-authorization-token"]
        .to_str()
        .unwrap()
        .to_string();
    jsonwebtoken::dangerous::insecure_decode::<Value>(&token)
        .unwrap()
        .claims["iss"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn each_app_is_checked_with_its_own_settings() {
    let up = upstreams().await;
    let apps = apps().to_string();
    let hook = up.hook(&[("APPS", &apps)]).await;
    let cases = [
        // A token hook for the CRM's client ID: checked as the CRM.
        (
            token_for("crm-client-id", "ana@example.com"),
            Outcome::Allowed,
            CRM_URI,
            "crm-client-id",
            None,
        ),
        // A SAML app keyed by its ID, with its own message and FAIL_OPEN.
        (
            saml_for(SAML_ID, "urn:x", LOCKED_USER),
            Outcome::Locked,
            HR_URI,
            SAML_ID,
            Some("HR portal: your account is locked."),
        ),
        // A SAML app keyed by its issuer URI, as NL3's AD FS table keys them.
        (
            saml_for("0oaOther", SAML_ISSUER, "bo@example.com"),
            Outcome::Allowed,
            PORTAL_URI,
            SAML_ISSUER,
            None,
        ),
        // Any other app: the top-level default.
        (
            token_for("another-client", "cy@example.com"),
            Outcome::Allowed,
            APP_URI,
            "default",
            None,
        ),
    ];
    for (event, outcome, issuer, app, summary) in cases {
        let d = decide(&hook, &okta_headers(), &event).await;
        assert_eq!(d.outcome, outcome, "{app}: {}", d.reason);
        assert_eq!(last_issuer(&up).await, issuer, "{app}");
        let debug = &d.answer.json()["debugContext"];
        assert_eq!(debug["app"], app);
        assert_eq!(debug["appUri"], issuer);
        assert_eq!(d.trace.app.as_deref(), Some(app));
        assert_eq!(d.answer.json()["error"]["errorSummary"].as_str(), summary);
        for key in [CRM_KEY, HR_KEY, PORTAL_KEY] {
            assert!(!d.answer.body.clone().contains(&b64(key)));
        }
    }
}

#[tokio::test]
async fn a_malformed_entry_is_unusable_alone() {
    let up = upstreams().await;
    let apps = apps().to_string();
    // The entry states no FAIL_OPEN: an unusable entry is refused whatever the deployment's.
    for (fail_open, expected) in [
        ("true", Outcome::FailClosed),
        ("false", Outcome::FailClosed),
    ] {
        let hook = up.hook(&[("APPS", &apps), ("FAIL_OPEN", fail_open)]).await;
        let d = decide(
            &hook,
            &okta_headers(),
            &token_for("broken-client-id", "ana@example.com"),
        )
        .await;
        assert_eq!(d.outcome, expected, "{}", d.reason);
        assert!(
            d.reason
                .contains("app broken-client-id: SIGNING_KEY is not base64"),
            "{}",
            d.reason
        );
        assert!(!d.reason.contains("%%%"));
        // The good entry next to it still works.
        let d = decide(
            &hook,
            &okta_headers(),
            &token_for("crm-client-id", "ana@example.com"),
        )
        .await;
        assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    }
    // APPS that is not an object of entries makes the whole secret malformed.
    let hook = up
        .hook(&[("APPS", "[\"crm\"]"), ("FAIL_OPEN", "false")])
        .await;
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::FailClosed);
    assert!(
        d.reason.contains("APPS is not a JSON object"),
        "{}",
        d.reason
    );
}

#[tokio::test]
async fn an_unlisted_app_without_a_default_follows_unlisted_apps() {
    let up = upstreams().await;
    let apps = apps().to_string();
    // No default: no APP_URI and no top-level SIGNING_KEY.
    let env: Vec<(String, String)> = up
        .env()
        .into_iter()
        .filter(|(k, _)| k != "APP_URI" && k != "SIGNING_KEY")
        .collect();
    let stranger = token_for("unknown-client", "ana@example.com");
    let cases = [
        ("check", Outcome::FailOpen, None),
        ("allow", Outcome::NotEnrolled, None),
        (
            "refuse",
            Outcome::UnlistedRefused,
            Some("Not for this app."),
        ),
    ];
    for (unlisted, expected, summary) in cases {
        let settings = settings_from(
            env.clone(),
            &[
                ("APPS", &apps),
                ("UNLISTED_APPS", unlisted),
                ("LOCKED_MESSAGE", "Not for this app."),
            ],
        );
        let hook = Hook::from_settings(settings).await.unwrap();
        let before = up.nl3_requests().await.len();
        let d = decide(&hook, &okta_headers(), &stranger).await;
        assert_eq!(d.outcome, expected, "{unlisted}: {}", d.reason);
        assert_eq!(
            d.answer.json()["error"]["errorSummary"].as_str(),
            summary,
            "{unlisted}"
        );
        assert_eq!(d.answer.json()["debugContext"]["app"], "unlisted");
        assert_eq!(up.nl3_requests().await.len(), before, "NL3 is not asked");
        // A listed app works all the same.
        let d = decide(
            &hook,
            &okta_headers(),
            &token_for("crm-client-id", "bo@example.com"),
        )
        .await;
        assert_eq!(d.outcome, Outcome::Allowed, "{unlisted}: {}", d.reason);
    }
}

#[tokio::test]
async fn one_apps_signing_key_rotates_through_secrets_manager() {
    let up = Upstreams::start_empty().await;
    let rotated: &[u8] = b"crm-signing-key-ROTATED-99";
    let expect_with = |crm_key: &[u8]| Expect {
        apps: vec![
            (APP_URI.into(), SIGNING_KEY.to_vec()),
            (CRM_URI.into(), crm_key.to_vec()),
        ],
        ..up.expect()
    };
    standins::mount_nl3(&up.nl3, &expect_with(CRM_KEY)).await;
    let secret = |crm_key: &[u8]| {
        json!({"API_KEY": API_KEY, "SIGNING_KEY": b64(SIGNING_KEY),
               "APPS": {"crm-client-id": {"APP_URI": CRM_URI, "SIGNING_KEY": b64(crm_key)}}})
        .to_string()
    };
    let moto = Moto::start(0).await;
    moto.client()
        .create_secret()
        .name("nl3/apps")
        .secret_string(secret(CRM_KEY))
        .send()
        .await
        .unwrap();
    let settings = up.settings(&[("SECRET_ID", "nl3/apps"), ("SECRET_TTL_SECONDS", "1")]);
    let hook = Hook::with_secrets_client(settings, sdk_client(&moto.url)).unwrap();
    let call = token_for("crm-client-id", "ana@example.com");
    let d = decide(&hook, &okta_headers(), &call).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);

    // NL3 now knows only the new key; the secret gets it; after the TTL the hook signs with it.
    moto.client()
        .put_secret_value()
        .secret_id("nl3/apps")
        .secret_string(secret(rotated))
        .send()
        .await
        .unwrap();
    up.nl3.reset().await;
    standins::mount_nl3(&up.nl3, &expect_with(rotated)).await;
    // Waiting out the documented TTL, not synchronising.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let d = decide(&hook, &okta_headers(), &call).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    assert_eq!(d.trace.secrets_fetches, 1);
    assert_eq!(last_issuer(&up).await, CRM_URI);
}

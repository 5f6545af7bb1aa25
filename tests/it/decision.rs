//! The decision path against NL3 and ipinfo stand-ins that verify what they receive.

use crate::helpers::*;
use nl3_okta_hook::decision::{Outcome, FORBIDDEN_MESSAGE};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

fn nl3_body(request: &wiremock::Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test]
async fn unlocked_token_sign_in_is_allowed_with_location_sent_to_nl3() {
    let up = Upstreams::start().await;
    let hook = up.hook(&[]).await;
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    assert_eq!(d.answer.status, 200);
    assert_eq!(d.answer.json()["commands"], json!([]));
    assert_eq!(d.answer.json()["debugContext"]["decision"], "allowed");
    assert!(d.answer.json().get("error").is_none());

    let sent = up.nl3_requests().await;
    assert_eq!(sent.len(), 1);
    let body = nl3_body(&sent[0]);
    assert_eq!(body["userIP"], "1.1.1.1");
    assert_eq!(body["userLocation"], "Miami, Florida");
    assert_eq!(body["integrationType"], "okta-oidc");
    assert_eq!(body["integrationData"]["org"], "AS13335 Cloudflare, Inc.");
    assert_eq!(sent[0].headers["x-forwarded-for"], "1.1.1.1");
    assert_eq!(sent[0].headers["x-nl3-device-location"], "25.7867,-80.1800");
    assert_eq!(up.ipinfo_requests().await.len(), 1);
}

#[tokio::test]
async fn locked_account_is_refused_with_locked_message() {
    let up = Upstreams::start().await;
    let hook = up.hook(&[("LOCKED_MESSAGE", "Locked by NL3.")]).await;
    let d = decide(
        &hook,
        &okta_headers(),
        &with_user(token_event(), LOCKED_USER),
    )
    .await;
    assert_eq!(d.outcome, Outcome::Locked, "{}", d.reason);
    assert_eq!(d.answer.status, 200);
    assert_eq!(d.answer.json()["error"]["errorSummary"], "Locked by NL3.");
    assert_eq!(d.answer.json()["debugContext"]["decision"], "locked");
}

#[tokio::test]
async fn saml_sign_in_is_checked_as_okta_saml() {
    let up = Upstreams::start().await;
    let hook = up.hook(&[]).await;
    let d = decide(&hook, &okta_headers(), &saml_event()).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    let d = decide(
        &hook,
        &okta_headers(),
        &with_user(saml_event(), LOCKED_USER),
    )
    .await;
    assert_eq!(d.outcome, Outcome::Locked, "{}", d.reason);

    let sent = up.nl3_requests().await;
    assert_eq!(nl3_body(&sent[0])["integrationType"], "okta-saml");
    assert_eq!(
        nl3_body(&sent[0])["userLocation"],
        "Mountain View, California"
    );
}

#[tokio::test]
async fn preview_without_identity_checks_the_profile_login() {
    let up = Upstreams::start().await;
    let hook = up.hook(&[]).await;
    let mut event = with_user(token_event(), LOCKED_USER);
    event["data"].as_object_mut().unwrap().remove("identity");
    let d = decide(&hook, &okta_headers(), &event).await;
    assert_eq!(d.outcome, Outcome::Locked, "{}", d.reason);
}

#[tokio::test]
async fn client_credentials_request_is_allowed_without_calling_nl3() {
    let up = Upstreams::start().await;
    let hook = up.hook(&[]).await;
    let mut event = token_event();
    let data = event["data"].as_object_mut().unwrap();
    data.remove("identity");
    let context = data["context"].as_object_mut().unwrap();
    context.remove("user");
    context.remove("session");
    let d = decide(&hook, &okta_headers(), &event).await;
    assert_eq!(d.outcome, Outcome::NoUser);
    assert_eq!(d.answer.status, 200);
    assert!(d.answer.json().get("error").is_none());
    assert!(up.nl3_requests().await.is_empty());
}

#[tokio::test]
async fn wrong_or_missing_secret_is_forbidden_and_never_reaches_nl3() {
    let up = Upstreams::start().await;
    let hook = up.hook(&[]).await;
    for headers in [
        headers_with("Authorization", "wrong-key"),
        headers_with("Authorization", &b64("wrong-key")),
        headers_with("X-Other", API_KEY),
    ] {
        let d = decide(&hook, &headers, &token_event()).await;
        assert_eq!(d.outcome, Outcome::Forbidden);
        assert_eq!(d.answer.status, 200);
        assert_eq!(d.answer.json()["error"]["errorSummary"], FORBIDDEN_MESSAGE);
        assert!(!d.answer.body.clone().contains("wrong-key"));
    }
    assert!(up.nl3_requests().await.is_empty());
}

#[tokio::test]
async fn every_documented_secret_form_is_accepted() {
    let up = Upstreams::start().await;
    let hook = up.hook(&[]).await;
    for value in [
        API_KEY.to_string(),
        b64(API_KEY),
        format!("Basic {}", b64(API_KEY)),
    ] {
        // HTTP API events lower-case header names; HeaderMap lookups must not care.
        let d = decide(
            &hook,
            &headers_with("authorization", &value),
            &token_event(),
        )
        .await;
        assert_eq!(d.outcome, Outcome::Allowed, "{value}: {}", d.reason);
    }
}

#[tokio::test]
async fn custom_header_name_is_honoured() {
    let up = Upstreams::start().await;
    let hook = up.hook(&[("API_KEY_HEADER", "X-Okta-Hook-Secret")]).await;
    let d = decide(
        &hook,
        &headers_with("x-okta-hook-secret", API_KEY),
        &token_event(),
    )
    .await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Forbidden);
}

#[tokio::test]
async fn bad_bodies_get_400_with_a_reason() {
    let up = Upstreams::start().await;
    let hook = up.hook(&[]).await;
    for (body, expected) in [
        (&b"this is not json"[..], "not JSON"),
        (b"{}", "eventType is missing"),
        (
            br#"{"eventType":"com.okta.import.transform","data":{}}"#,
            "unsupported eventType",
        ),
        (
            br#"{"eventType":"com.okta.saml.tokens.transform","data":[]}"#,
            "data is missing",
        ),
    ] {
        let d = decide_raw(&hook, &okta_headers(), body).await;
        assert_eq!(d.outcome, Outcome::BadRequest);
        assert_eq!(d.answer.status, 400);
        let answer = d.answer.json();
        let summary = answer["error"]["errorSummary"].as_str().unwrap();
        assert!(summary.contains(expected), "{summary}");
    }
    assert!(up.nl3_requests().await.is_empty());
}

#[tokio::test]
async fn private_and_malformed_ips_are_not_looked_up() {
    let up = Upstreams::start().await;
    let hook = up.hook(&[]).await;
    for ip in [
        "10.0.0.7",
        "127.0.0.1",
        "1.1.1.1/../../admin",
        "not-an-ip",
        "",
    ] {
        let mut event = token_event();
        event["data"]["context"]["request"]["ipAddress"] = json!(ip);
        let d = decide(&hook, &okta_headers(), &event).await;
        assert_eq!(d.outcome, Outcome::Allowed, "{ip}: {}", d.reason);
    }
    assert!(up.ipinfo_requests().await.is_empty());
    let sent = up.nl3_requests().await;
    assert_eq!(nl3_body(&sent[0])["userLocation"], "");
    assert_eq!(nl3_body(&sent[0])["integrationData"], json!({}));
    assert_eq!(sent[0].headers["x-forwarded-for"], "10.0.0.7");
    // An address that does not parse never reaches a header.
    assert!(sent[2].headers.get("x-forwarded-for").is_none());
}

#[tokio::test]
async fn repeated_ip_is_looked_up_once() {
    let up = Upstreams::start().await;
    let hook = up.hook(&[]).await;
    for _ in 0..5 {
        let d = decide(&hook, &okta_headers(), &token_event()).await;
        assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    }
    assert_eq!(up.ipinfo_requests().await.len(), 1);
    assert_eq!(hook.upstream_calls().ipinfo, 1);
    // and the location still reaches NL3 from the cache
    let sent = up.nl3_requests().await;
    assert_eq!(nl3_body(&sent[4])["userLocation"], "Miami, Florida");
}

#[tokio::test]
async fn locked_as_boolean_and_false_as_string_are_read_right() {
    for (answer, expected) in [
        (json!({"locked": true}), Outcome::Locked),
        (json!({"locked": false}), Outcome::Allowed),
        (json!({"locked": "false"}), Outcome::Allowed),
        (json!({"locked": "FALSE"}), Outcome::Allowed),
        // docs/contract.md §3 (2026-11-23): no readable `locked` is a failed check.
        (json!({"message": "no lock field"}), Outcome::FailOpen),
    ] {
        let up = Upstreams::start_empty().await;
        Mock::given(method("POST"))
            .and(path(API_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(&answer))
            .mount(&up.nl3)
            .await;
        let hook = up.hook(&[]).await;
        let d = decide(&hook, &okta_headers(), &token_event()).await;
        assert_eq!(d.outcome, expected, "{answer}: {}", d.reason);
    }
}

#[tokio::test]
async fn answers_and_debug_context_carry_no_secret() {
    let up = Upstreams::start().await;
    let hook = up.hook(&[]).await;
    let decisions = [
        decide(&hook, &okta_headers(), &token_event()).await,
        decide(
            &hook,
            &headers_with("Authorization", "nope"),
            &token_event(),
        )
        .await,
        decide(
            &hook,
            &okta_headers(),
            &with_user(token_event(), LOCKED_USER),
        )
        .await,
    ];
    for d in decisions {
        let text = d.answer.body.clone() + &d.reason;
        for secret in [
            API_KEY.to_string(),
            b64(API_KEY),
            b64(SIGNING_KEY),
            IPINFO_TOKEN.into(),
        ] {
            assert!(!text.contains(&secret), "{text}");
        }
        assert!(!text.contains("eyJ"), "a JWT leaked: {text}");
    }
}

/// A token request whose `preferred_username` (a claim admins map per app, possibly to an
/// attribute users can edit) names someone else than the Okta login.
fn token_claiming(login: &str, preferred_username: &str) -> Value {
    let mut e = with_user(token_event(), login);
    e["data"]["identity"]["claims"]["preferred_username"] = json!(preferred_username);
    e
}

/// A log writer for one test.
#[derive(Clone, Default)]
pub(crate) struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    /// Everything the hook logs on this thread from now until the guard is dropped (tokio's
    /// current-thread runtime polls every task on it), through its own JSON subscriber.
    pub(crate) fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let lines = Self::default();
        let writer = lines.clone();
        let subscriber = nl3_okta_hook::logging::json_subscriber("info", move || writer.clone());
        (lines, tracing::subscriber::set_default(subscriber))
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The decision line `log_decision` writes for `d`.
fn decision_line(d: &nl3_okta_hook::decision::Decision) -> Value {
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = nl3_okta_hook::logging::json_subscriber("info", move || writer.clone());
    tracing::subscriber::with_default(subscriber, || {
        nl3_okta_hook::logging::log_decision(d, "request-1", None)
    });
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    serde_json::from_str(text.trim()).expect("one JSON line")
}

/// Hardening issue 6: the token hook checked `preferred_username`, so a locked login whose token
/// claimed an unlocked colleague's name was allowed, and a break-glass entry matching the claim
/// rescued a locked login during an NL3 outage with `FAIL_OPEN=false`. The Okta login is checked
/// (and matched against break-glass entries) for both hook types.
#[tokio::test]
async fn the_token_hook_checks_the_okta_login_not_the_claimed_name() {
    let up = Upstreams::start().await;
    let hook = up.hook(&[]).await;
    let event = token_claiming(LOCKED_USER, "colleague@example.com");
    let d = decide(&hook, &okta_headers(), &event).await;
    assert_eq!(d.outcome, Outcome::Locked, "{}", d.reason);
    let sent = up.nl3_requests().await;
    let token = sent[0].headers["x-nl3-authorization-token"]
        .to_str()
        .unwrap();
    let claims = jsonwebtoken::dangerous::insecure_decode::<Value>(token)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], LOCKED_USER, "NL3 is asked about the login");
    // Okta's System Log and the decision line say which name was checked, never the names.
    assert_eq!(
        d.answer.json()["debugContext"]["usernameChecked"],
        "okta_login"
    );
    let line = decision_line(&d);
    assert_eq!(line["username_checked"], "okta_login", "{line}");
    assert_eq!(line["usernames_differ"], true, "{line}");
    assert!(!line.to_string().contains("@example.com"), "{line}");
    // Equal names add nothing.
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert!(d.answer.json()["debugContext"]
        .get("usernameChecked")
        .is_none());
    assert!(decision_line(&d).get("usernames_differ").is_none());

    // A deployment whose NL3 accounts are keyed by the app username may ask for it.
    let by_app = up.hook(&[("USERNAME_SOURCE", "app_username")]).await;
    let d = decide(&by_app, &okta_headers(), &event).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    assert_eq!(
        d.answer.json()["debugContext"]["usernameChecked"],
        "app_username"
    );

    // NL3 down, FAIL_OPEN=false: a break-glass entry naming the claimed colleague does not
    // rescue the locked login; one naming the login does, whichever name NL3 is asked about.
    let dead = format!("http://127.0.0.1:{}", free_port());
    for (source, entry, expected) in [
        ("okta_login", "colleague@example.com", Outcome::FailClosed),
        ("app_username", "colleague@example.com", Outcome::FailClosed),
        ("okta_login", LOCKED_USER, Outcome::FailOpen),
        ("app_username", LOCKED_USER, Outcome::FailOpen),
    ] {
        let logins = json!([entry]).to_string();
        let outage = up
            .hook(&[
                ("FAIL_OPEN", "false"),
                ("API_URI", &dead),
                ("BREAK_GLASS_LOGINS", &logins),
                ("USERNAME_SOURCE", source),
            ])
            .await;
        let d = decide(&outage, &okta_headers(), &event).await;
        assert_eq!(d.outcome, expected, "{source}, {entry}: {}", d.reason);
        assert_eq!(d.trace.break_glass, expected == Outcome::FailOpen);
    }
}

//! Okta's published inline hook requests (`tests/fixtures/okta/`), as Okta sends them to the hook.

use serde_json::{json, Value};

/// Okta's published token inline hook request, with a public client IP so ipinfo is asked.
pub fn token_event() -> Value {
    let mut v: Value = serde_json::from_str(include_str!(
        "../../tests/fixtures/okta/token-hook-request.json"
    ))
    .unwrap();
    v["data"]["context"]["request"]["ipAddress"] = json!("1.1.1.1");
    v
}

/// Okta's published SAML assertion inline hook request, with a public client IP.
pub fn saml_event() -> Value {
    let mut v: Value = serde_json::from_str(include_str!(
        "../../tests/fixtures/okta/saml-hook-request.json"
    ))
    .unwrap();
    v["data"]["context"]["request"]["ipAddress"] = json!("8.8.8.8");
    v
}

/// `event` signing in `user`.
pub fn with_user(mut event: Value, user: &str) -> Value {
    let data = &mut event["data"];
    if data.get("identity").is_some() {
        data["identity"]["claims"]["preferred_username"] = json!(user);
    }
    data["context"]["user"]["profile"]["login"] = json!(user);
    data["context"]["session"]["login"] = json!(user);
    event
}

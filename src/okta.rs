//! Okta's side: reading an inline hook request (docs/contract.md §1) and writing the answer
//! (§2). Reading is pure and never touches the network, so it can be fuzzed on its own.
//!
//! A leaf: imports nothing from the crate.

use serde_json::{json, Map, Value};

/// Okta inline hook bodies are a few KiB; anything far larger is not from Okta.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Okta logins are at most 100 characters; a much longer "username" is not from Okta.
pub const MAX_USERNAME_BYTES: usize = 1024;
/// Client IDs and SAML issuers are short; a longer one is no key of a configured app.
pub const MAX_APP_KEY_BYTES: usize = 512;

pub const TOKEN_EVENT_TYPE: &str = "com.okta.oauth2.tokens.transform";
pub const SAML_EVENT_TYPE: &str = "com.okta.saml.tokens.transform";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookType {
    /// Token inline hook: OIDC / OAuth 2.0 apps.
    Token,
    /// SAML assertion inline hook: custom SAML apps.
    Saml,
}

impl HookType {
    /// The `integrationType` NL3 expects (docs/contract.md §3).
    pub fn integration_type(self) -> &'static str {
        match self {
            Self::Token => "okta-oidc",
            Self::Saml => "okta-saml",
        }
    }

    /// Short name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Saml => "saml",
        }
    }
}

/// What the hook needs from Okta's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookEvent {
    pub hook_type: HookType,
    /// Who signs in; `None` for a client-credentials token request (nobody to check).
    pub username: Option<String>,
    /// `data.context.request.ipAddress`, untrusted text as Okta sent it.
    pub client_ip: Option<String>,
    /// Okta's `eventId`, for correlating our log line with Okta's System Log.
    pub event_id: Option<String>,
    /// Which application signs in, as per-application settings are keyed: the OAuth client ID
    /// for a token hook; the SAML app's ID, then its issuer URI, for a SAML hook.
    pub app_keys: Vec<String>,
}

/// Why a body is not an Okta inline hook event: the text goes back to the caller in a 400 answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadRequest {
    #[error("request body is empty")]
    EmptyBody,
    #[error("request body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("request body is not JSON: {0}")]
    NotJson(String),
    #[error("not an Okta inline hook event: {0}")]
    NotAnEvent(&'static str),
    #[error("unsupported eventType {0:?}: expected {TOKEN_EVENT_TYPE} or {SAML_EVENT_TYPE}")]
    UnsupportedEventType(String),
    #[error("username is longer than {MAX_USERNAME_BYTES} bytes")]
    UsernameTooLong,
}

/// Parses an inline hook request body.
pub fn parse_event(body: &[u8]) -> Result<HookEvent, BadRequest> {
    if body.len() > MAX_BODY_BYTES {
        return Err(BadRequest::TooLarge);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(BadRequest::EmptyBody);
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        // serde's message names line and column, never echoes the input.
        BadRequest::NotJson(e.to_string())
    })?;
    let root = value
        .as_object()
        .ok_or(BadRequest::NotAnEvent("body is not a JSON object"))?;
    let event_type = match root.get("eventType") {
        None => return Err(BadRequest::NotAnEvent("eventType is missing")),
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(BadRequest::NotAnEvent("eventType is not a string")),
    };
    let hook_type = match event_type {
        TOKEN_EVENT_TYPE => HookType::Token,
        SAML_EVENT_TYPE => HookType::Saml,
        other => {
            return Err(BadRequest::UnsupportedEventType(
                other.chars().take(100).collect(),
            ))
        }
    };
    let data = root
        .get("data")
        .and_then(Value::as_object)
        .ok_or(BadRequest::NotAnEvent("data is missing or not an object"))?;

    let username = username(hook_type, data);
    if username
        .as_ref()
        .is_some_and(|u| u.len() > MAX_USERNAME_BYTES)
    {
        return Err(BadRequest::UsernameTooLong);
    }
    Ok(HookEvent {
        app_keys: app_keys(hook_type, data),
        hook_type,
        username,
        client_ip: text_at(data, &["context", "request", "ipAddress"]),
        event_id: root
            .get("eventId")
            .and_then(Value::as_str)
            .map(|s| s.chars().take(100).collect()),
    })
}

/// Who signs in, in the order docs/contract.md §1 gives. Okta's admin Preview sends no `identity`, so a
/// token hook falls back to the user profile, then the session.
fn username(hook_type: HookType, data: &Map<String, Value>) -> Option<String> {
    let candidates: &[&[&str]] = match hook_type {
        HookType::Token => &[
            &["identity", "claims", "preferred_username"],
            &["context", "user", "profile", "login"],
            &["context", "session", "login"],
        ],
        HookType::Saml => &[
            &["context", "user", "profile", "login"],
            &["context", "session", "login"],
            &["assertion", "subject", "nameId"],
        ],
    };
    candidates.iter().find_map(|path| text_at(data, path))
}

/// The application's identifiers, in the order they are looked up (docs/contract.md §1).
fn app_keys(hook_type: HookType, data: &Map<String, Value>) -> Vec<String> {
    let paths: &[&[&str]] = match hook_type {
        HookType::Token => &[
            &["context", "protocol", "client", "id"],
            &["context", "protocol", "request", "client_id"],
        ],
        HookType::Saml => &[
            &["context", "protocol", "issuer", "id"],
            &["context", "protocol", "issuer", "uri"],
        ],
    };
    let mut keys: Vec<String> = Vec::new();
    for key in paths.iter().filter_map(|path| text_at(data, path)) {
        if key.len() <= MAX_APP_KEY_BYTES && !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// A non-blank string at `path`; anything else (absent, null, number, object) counts as absent.
fn text_at(data: &Map<String, Value>, path: &[&str]) -> Option<String> {
    let (first, rest) = path.split_first()?;
    let mut value = data.get(*first)?;
    for key in rest {
        value = value.get(key)?;
    }
    let text = value.as_str()?.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// An answer for Okta: HTTP status and JSON body (docs/contract.md §2).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// Let the sign-in through.
    pub fn allow(debug: Value) -> Self {
        Self {
            status: 200,
            body: json!({ "commands": [], "debugContext": debug }),
        }
    }

    /// Refuse the sign-in: Okta shows `summary` (token hook: `error_description`).
    pub fn refuse(summary: &str, debug: Value) -> Self {
        Self {
            status: 200,
            body: json!({ "error": { "errorSummary": summary }, "debugContext": debug }),
        }
    }

    /// The request could not be read: the only case that gets an HTTP error (Okta's rule).
    pub fn bad_request(summary: &str) -> Self {
        Self {
            status: 400,
            body: json!({ "error": { "errorSummary": summary } }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN_SAMPLE: &str = include_str!("../tests/fixtures/okta/token-hook-request.json");
    const SAML_SAMPLE: &str = include_str!("../tests/fixtures/okta/saml-hook-request.json");

    fn edited(sample: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
        let mut v: Value = serde_json::from_str(sample).unwrap();
        edit(&mut v);
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn okta_token_sample_reads_preferred_username() {
        let e = parse_event(TOKEN_SAMPLE.as_bytes()).unwrap();
        assert_eq!(e.hook_type, HookType::Token);
        assert_eq!(e.username.as_deref(), Some("administrator1@clouditude.net"));
        assert_eq!(e.client_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(e.event_id.as_deref(), Some("3OWo4oo-QQ-rBWfRyTmQYw"));
        assert_eq!(e.app_keys, ["customClientIdNative"]);
        assert_eq!(e.hook_type.integration_type(), "okta-oidc");
    }

    #[test]
    fn okta_saml_sample_reads_profile_login() {
        let e = parse_event(SAML_SAMPLE.as_bytes()).unwrap();
        assert_eq!(e.hook_type, HookType::Saml);
        assert_eq!(e.username.as_deref(), Some("administrator1@example.com"));
        assert_eq!(e.hook_type.integration_type(), "okta-saml");
        assert_eq!(
            e.app_keys,
            [
                "0oath92zlO60urQOP0g3",
                "http://www.okta.com/exkth8lMzFm0HZOTU0g3"
            ]
        );
    }

    #[test]
    fn token_preview_without_identity_falls_back_to_profile_then_session() {
        let body = edited(TOKEN_SAMPLE, |v| {
            v["data"].as_object_mut().unwrap().remove("identity");
            v["data"]["context"]["user"]["profile"]["login"] = json!("profile@example.com");
        });
        let e = parse_event(&body).unwrap();
        assert_eq!(e.username.as_deref(), Some("profile@example.com"));

        let body = edited(TOKEN_SAMPLE, |v| {
            v["data"].as_object_mut().unwrap().remove("identity");
            v["data"]["context"].as_object_mut().unwrap().remove("user");
            v["data"]["context"]["session"]["login"] = json!("session@example.com");
        });
        assert_eq!(
            parse_event(&body).unwrap().username.as_deref(),
            Some("session@example.com")
        );
    }

    #[test]
    fn client_credentials_request_has_no_user() {
        let body = edited(TOKEN_SAMPLE, |v| {
            let data = v["data"].as_object_mut().unwrap();
            data.remove("identity");
            let ctx = data["context"].as_object_mut().unwrap();
            ctx.remove("user");
            ctx.remove("session");
        });
        assert_eq!(parse_event(&body).unwrap().username, None);
    }

    #[test]
    fn saml_falls_back_to_name_id() {
        let body = edited(SAML_SAMPLE, |v| {
            let ctx = v["data"]["context"].as_object_mut().unwrap();
            ctx.remove("user");
            ctx.remove("session");
            v["data"]["assertion"]["subject"]["nameId"] = json!("nameid@example.com");
        });
        assert_eq!(
            parse_event(&body).unwrap().username.as_deref(),
            Some("nameid@example.com")
        );
    }

    #[test]
    fn wrong_types_count_as_absent() {
        let body = edited(TOKEN_SAMPLE, |v| {
            v["data"]["identity"]["claims"]["preferred_username"] = json!(42);
            v["data"]["context"]["request"]["ipAddress"] = json!({"x": 1});
            v["data"]["context"]["user"] = json!("not an object");
        });
        let e = parse_event(&body).unwrap();
        assert_eq!(e.username.as_deref(), Some("administrator1@clouditude.net")); // session.login
        assert_eq!(e.client_ip, None);
    }

    #[test]
    fn non_ascii_usernames_are_kept_and_long_ones_refused() {
        let body = edited(TOKEN_SAMPLE, |v| {
            v["data"]["identity"]["claims"]["preferred_username"] = json!("żółw@例え.jp");
        });
        assert_eq!(
            parse_event(&body).unwrap().username.as_deref(),
            Some("żółw@例え.jp")
        );
        let body = edited(TOKEN_SAMPLE, |v| {
            v["data"]["identity"]["claims"]["preferred_username"] = json!("a".repeat(2000));
        });
        assert_eq!(parse_event(&body), Err(BadRequest::UsernameTooLong));
    }

    #[test]
    fn bad_bodies_get_a_reason() {
        assert_eq!(parse_event(b""), Err(BadRequest::EmptyBody));
        assert!(matches!(
            parse_event(b"<xml/>"),
            Err(BadRequest::NotJson(_))
        ));
        assert_eq!(
            parse_event(b"[1,2]"),
            Err(BadRequest::NotAnEvent("body is not a JSON object"))
        );
        assert_eq!(
            parse_event(b"{}"),
            Err(BadRequest::NotAnEvent("eventType is missing"))
        );
        assert_eq!(
            parse_event(br#"{"eventType":"com.okta.oauth2.tokens.transform"}"#),
            Err(BadRequest::NotAnEvent("data is missing or not an object"))
        );
        let err = parse_event(br#"{"eventType":"com.okta.user.pre-registration","data":{}}"#)
            .unwrap_err();
        assert!(err.to_string().contains("com.okta.user.pre-registration"));
        let huge = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(parse_event(&huge), Err(BadRequest::TooLarge));
    }

    #[test]
    fn answers_have_the_contract_shapes() {
        let a = Answer::refuse("Locked", json!({"decision": "locked"}));
        assert_eq!(a.status, 200);
        assert_eq!(a.body["error"]["errorSummary"], "Locked");
        let a = Answer::allow(json!({}));
        assert_eq!(a.body["commands"], json!([]));
        assert!(a.body.get("error").is_none());
        let a = Answer::bad_request("nope");
        assert_eq!(a.status, 400);
        assert_eq!(a.body["error"]["errorSummary"], "nope");
    }
}

//! Okta's side: reading an inline hook request (docs/contract.md §1) and writing the answer
//! (§2). Reading is pure and never touches the network, so it can be fuzzed on its own.
//!
//! Imports only the JSON reader.

use std::borrow::Cow;

use serde_json::Value;

use crate::json::{self, JsonError, Kind, Reader};

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
    // The reader's message names a byte offset, never echoes the input.
    let picked = pick(body).map_err(|e| BadRequest::NotJson(e.to_string()))?;
    if !picked.object {
        return Err(BadRequest::NotAnEvent("body is not a JSON object"));
    }
    let hook_type = match picked.get(Slot::EventType) {
        None => return Err(BadRequest::NotAnEvent("eventType is missing")),
        Some(Found::Text(s)) if s == TOKEN_EVENT_TYPE => HookType::Token,
        Some(Found::Text(s)) if s == SAML_EVENT_TYPE => HookType::Saml,
        Some(Found::Text(other)) => {
            return Err(BadRequest::UnsupportedEventType(
                other.chars().take(100).collect(),
            ))
        }
        Some(_) => return Err(BadRequest::NotAnEvent("eventType is not a string")),
    };
    if picked.get(Slot::Data) != Some(&Found::Object) {
        return Err(BadRequest::NotAnEvent("data is missing or not an object"));
    }

    let username = username(hook_type, &picked);
    if username
        .as_ref()
        .is_some_and(|u| u.len() > MAX_USERNAME_BYTES)
    {
        return Err(BadRequest::UsernameTooLong);
    }
    Ok(HookEvent {
        app_keys: app_keys(hook_type, &picked),
        hook_type,
        username,
        client_ip: picked.text(Slot::IpAddress),
        event_id: match picked.get(Slot::EventId) {
            Some(Found::Text(id)) => Some(id.chars().take(100).collect()),
            _ => None,
        },
    })
}

/// Who signs in, in the order docs/contract.md §1 gives. Okta's admin Preview sends no `identity`, so a
/// token hook falls back to the user profile, then the session.
fn username(hook_type: HookType, picked: &Picked) -> Option<String> {
    let candidates: &[Slot] = match hook_type {
        HookType::Token => &[
            Slot::PreferredUsername,
            Slot::ProfileLogin,
            Slot::SessionLogin,
        ],
        HookType::Saml => &[Slot::ProfileLogin, Slot::SessionLogin, Slot::NameId],
    };
    candidates.iter().find_map(|&slot| picked.text(slot))
}

/// The application's identifiers, in the order they are looked up (docs/contract.md §1).
fn app_keys(hook_type: HookType, picked: &Picked) -> Vec<String> {
    let slots: &[Slot] = match hook_type {
        HookType::Token => &[Slot::ClientId, Slot::RequestClientId],
        HookType::Saml => &[Slot::IssuerId, Slot::IssuerUri],
    };
    let mut keys: Vec<String> = Vec::new();
    for key in slots.iter().filter_map(|&slot| picked.text(slot)) {
        if key.len() <= MAX_APP_KEY_BYTES && !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

// ---- reading only what the hook needs --------------------------------------------------------
//
// Okta's body is a few KiB of which the hook reads a handful of strings. Building it as a JSON
// tree cost more than everything else in a call; instead one pass reads the strings at the paths
// below and skips the rest (still checking that the whole body is JSON). A later duplicate key
// replaces an earlier one, subtree and all, as a JSON tree would.

/// What was at a wanted path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found<'de> {
    Text(Cow<'de, str>),
    Object,
    Other,
}

/// The paths read from Okta's body; [`Slot`]s index this list.
const PATHS: &[&[&str]] = &[
    &["eventType"],
    &["eventId"],
    &["data"],
    &["data", "identity", "claims", "preferred_username"],
    &["data", "context", "user", "profile", "login"],
    &["data", "context", "session", "login"],
    &["data", "assertion", "subject", "nameId"],
    &["data", "context", "protocol", "client", "id"],
    &["data", "context", "protocol", "request", "client_id"],
    &["data", "context", "protocol", "issuer", "id"],
    &["data", "context", "protocol", "issuer", "uri"],
    &["data", "context", "request", "ipAddress"],
];

#[derive(Clone, Copy)]
enum Slot {
    EventType,
    EventId,
    Data,
    PreferredUsername,
    ProfileLogin,
    SessionLogin,
    NameId,
    ClientId,
    RequestClientId,
    IssuerId,
    IssuerUri,
    IpAddress,
}

/// The body's top level: an object (with what was found at each path) or something else.
struct Picked<'de> {
    object: bool,
    found: [Option<Found<'de>>; PATHS.len()],
}

impl<'de> Picked<'de> {
    fn get(&self, slot: Slot) -> Option<&Found<'de>> {
        self.found[slot as usize].as_ref()
    }

    /// A non-blank string at the slot's path, trimmed; anything else counts as absent.
    fn text(&self, slot: Slot) -> Option<String> {
        match self.get(slot)? {
            Found::Text(text) => {
                let text = text.trim();
                (!text.is_empty()).then(|| text.to_string())
            }
            _ => None,
        }
    }
}

/// Reads `body` (the whole of it must be JSON) for the strings at [`PATHS`].
fn pick(body: &[u8]) -> Result<Picked<'_>, JsonError> {
    let mut picked = Picked {
        object: false,
        found: Default::default(),
    };
    let mut reader = Reader::new(body)?;
    picked.object = reader.peek()? == Kind::Object;
    node(&mut reader, 0, (1 << PATHS.len()) - 1, &mut picked)?;
    reader.finish()?;
    Ok(picked)
}

/// The paths in `wanted` (a bit per [`PATHS`] entry) that go on through `key` at `depth`.
fn through(wanted: u16, depth: usize, key: &str) -> u16 {
    (0..PATHS.len())
        .filter(|&i| wanted & (1 << i) != 0 && PATHS[i].get(depth) == Some(&key))
        .fold(0, |under, i| under | (1 << i))
}

/// Reads the value at `depth` under which the paths `wanted` continue (or end, when as long as
/// `depth`), recording what the paths ending here find.
fn node<'de>(
    reader: &mut Reader<'de>,
    depth: usize,
    wanted: u16,
    picked: &mut Picked<'de>,
) -> Result<(), JsonError> {
    let ending = (0..PATHS.len()).filter(|&i| wanted & (1 << i) != 0 && PATHS[i].len() == depth);
    let kind = reader.peek()?;
    let found = match kind {
        Kind::Object => Found::Object,
        // Kept whole: a too-long username is refused, not passed over.
        Kind::String if ending.clone().next().is_some() => {
            Found::Text(reader.string(MAX_BODY_BYTES)?.unwrap_or_default())
        }
        _ => Found::Other,
    };
    for i in ending {
        picked.found[i] = Some(found.clone());
    }
    match (kind, found) {
        (Kind::Object, _) => reader.object(MAX_SEGMENT_BYTES, |reader, key| {
            let under = key.map_or(0, |key| through(wanted, depth, &key));
            if under == 0 {
                return reader.skip();
            }
            // A repeated key replaces what the earlier one held.
            for i in (0..PATHS.len()).filter(|&i| under & (1 << i) != 0) {
                picked.found[i] = None;
            }
            node(reader, depth + 1, under, picked)
        }),
        (_, Found::Text(_)) => Ok(()),
        _ => reader.skip(),
    }
}

/// Longer than any key in [`PATHS`]: a longer key is read but never copied.
const MAX_SEGMENT_BYTES: usize = 32;

/// An answer for Okta: HTTP status and JSON body (docs/contract.md §2).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// The JSON text: written directly, as building a JSON tree per call cost more than the
    /// rest of the answer.
    pub body: String,
}

impl Answer {
    /// Let the sign-in through. `debug` is a JSON object's text.
    pub fn allow(debug: &str) -> Self {
        Self {
            status: 200,
            body: format!(r#"{{"commands":[],"debugContext":{debug}}}"#),
        }
    }

    /// Refuse the sign-in: Okta shows `summary` (token hook: `error_description`). `debug` is a
    /// JSON object's text.
    pub fn refuse(summary: &str, debug: &str) -> Self {
        let mut body = String::with_capacity(64 + summary.len() + debug.len());
        body.push_str(r#"{"error":{"errorSummary":"#);
        json::push_string(&mut body, summary);
        body.push_str(r#"},"debugContext":"#);
        body.push_str(debug);
        body.push('}');
        Self { status: 200, body }
    }

    /// The request could not be read: the only case that gets an HTTP error (Okta's rule).
    pub fn bad_request(summary: &str) -> Self {
        let mut body = String::from(r#"{"error":{"errorSummary":"#);
        json::push_string(&mut body, summary);
        body.push_str("}}");
        Self { status: 400, body }
    }

    /// The body as a JSON tree, for tests and tools.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tree_reading {
    use super::{
        BadRequest, HookEvent, HookType, MAX_APP_KEY_BYTES, MAX_BODY_BYTES, MAX_USERNAME_BYTES,
        SAML_EVENT_TYPE, TOKEN_EVENT_TYPE,
    };
    use serde_json::{Map, Value};

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        let a = Answer::refuse("Locked \"now\"\n", r#"{"decision":"locked"}"#);
        assert_eq!(a.status, 200);
        assert_eq!(
            a.json(),
            json!({"error": {"errorSummary": "Locked \"now\"\n"}, "debugContext": {"decision": "locked"}})
        );
        let a = Answer::allow("{}");
        assert_eq!(a.json(), json!({"commands": [], "debugContext": {}}));
        let a = Answer::bad_request("nope\u{1}");
        assert_eq!(a.status, 400);
        assert_eq!(a.json(), json!({"error": {"errorSummary": "nope\u{1}"}}));
    }

    // ---- the one-pass reading reads what the JSON tree held -----------------------------------

    use proptest::prelude::*;

    /// JSON whose objects may repeat a key (a JSON tree cannot hold that; Okta's parser and
    /// serde's take the last).
    #[derive(Debug, Clone)]
    enum J {
        Object(Vec<(String, J)>),
        Leaf(Value),
    }

    impl J {
        fn from_value(v: &Value) -> J {
            match v {
                Value::Object(m) => J::Object(
                    m.iter()
                        .map(|(k, v)| (k.clone(), J::from_value(v)))
                        .collect(),
                ),
                other => J::Leaf(other.clone()),
            }
        }

        /// JSON text; with `escaped`, every key and string written with `\u` escapes.
        fn render(&self, escaped: bool, out: &mut String) {
            let text = |s: &str, out: &mut String| {
                if escaped {
                    out.push('"');
                    for c in s.encode_utf16() {
                        out.push_str(&format!("\\u{c:04x}"));
                    }
                    out.push('"');
                } else {
                    out.push_str(&serde_json::to_string(s).unwrap());
                }
            };
            match self {
                J::Object(entries) => {
                    out.push('{');
                    for (n, (k, v)) in entries.iter().enumerate() {
                        if n > 0 {
                            out.push(',');
                        }
                        text(k, out);
                        out.push(':');
                        v.render(escaped, out);
                    }
                    out.push('}');
                }
                J::Leaf(Value::String(s)) => text(s, out),
                J::Leaf(v) => out.push_str(&v.to_string()),
            }
        }

        /// The entry a JSON tree would keep for `key` (the last), made an object if `create`.
        fn child(&mut self, key: &str) -> &mut J {
            if !matches!(self, J::Object(_)) {
                *self = J::Object(Vec::new());
            }
            let J::Object(entries) = self else {
                unreachable!()
            };
            match entries.iter().rposition(|(k, _)| k == key) {
                Some(i) => &mut entries[i].1,
                None => {
                    entries.push((key.to_string(), J::Object(Vec::new())));
                    &mut entries.last_mut().unwrap().1
                }
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Edit {
        Remove,
        Replace(Value),
        /// The same key again after the one a tree keeps (it wins) or before it (it loses).
        Repeat {
            value: Value,
            after: bool,
        },
    }

    fn any_leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(json!("")),
            Just(json!("   ")),
            Just(json!(" someone@example.com ")),
            Just(json!("żółw@例え.jp")),
            Just(json!(TOKEN_EVENT_TYPE)),
            Just(json!(SAML_EVENT_TYPE)),
            Just(json!("a\"b\\c")),
            Just(json!("x".repeat(1100))),
            Just(json!(42)),
            Just(json!(null)),
            Just(json!(true)),
            Just(json!({})),
            Just(json!({"login": "nested@example.com"})),
            Just(json!(["a"])),
        ]
    }

    fn any_edit() -> impl Strategy<Value = (usize, usize, Edit)> {
        let edit = prop_oneof![
            Just(Edit::Remove),
            any_leaf().prop_map(Edit::Replace),
            (any_leaf(), any::<bool>()).prop_map(|(value, after)| Edit::Repeat { value, after }),
        ];
        (0..PATHS.len(), 1..=5usize, edit)
    }

    fn apply(root: &mut J, path: &[&str], edit: &Edit) {
        let (last, parents) = path.split_last().unwrap();
        let mut node = root;
        for key in parents {
            node = node.child(key);
        }
        node.child(last); // make sure the object is there
        let J::Object(entries) = node else {
            unreachable!()
        };
        let at = entries.iter().rposition(|(k, _)| k == last).unwrap();
        match edit {
            Edit::Remove => entries.retain(|(k, _)| k != last),
            Edit::Replace(v) => entries[at].1 = J::from_value(v),
            Edit::Repeat { value, after } => {
                let entry = (last.to_string(), J::from_value(value));
                if *after {
                    entries.push(entry);
                } else {
                    entries.insert(at, entry);
                }
            }
        }
    }

    /// The readings to compare: the readers word why a body is not JSON differently.
    fn alike(reading: Result<HookEvent, BadRequest>) -> Result<HookEvent, BadRequest> {
        reading.map_err(|e| match e {
            BadRequest::NotJson(_) => BadRequest::NotJson(String::new()),
            other => other,
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn one_pass_reads_what_the_tree_held(
            saml in any::<bool>(),
            edits in prop::collection::vec(any_edit(), 0..6),
            escaped in any::<bool>(),
        ) {
            let sample: Value =
                serde_json::from_str(if saml { SAML_SAMPLE } else { TOKEN_SAMPLE }).unwrap();
            let mut root = J::from_value(&sample);
            for (path, depth, edit) in &edits {
                let path = PATHS[*path];
                apply(&mut root, &path[..(*depth).min(path.len())], edit);
            }
            let mut text = String::new();
            root.render(escaped, &mut text);
            prop_assert_eq!(
                alike(parse_event(text.as_bytes())),
                alike(tree_reading::parse_event(text.as_bytes())),
                "{}", text
            );
        }
    }

    #[test]
    fn bodies_that_are_not_json_objects_read_alike() {
        for body in [
            &b"<xml/>"[..],
            b"[1,2]",
            b"\"text\"",
            b"{\"eventType\":",
            b"{} {}",
            b"{\"a\":1,}",
            b"null",
            b"\xff\xfe",
            b"{\"data\":{},\"eventType\":\"com.okta.oauth2.tokens.transform\"} x",
        ] {
            assert_eq!(
                alike(parse_event(body)),
                alike(tree_reading::parse_event(body)),
                "{body:?}"
            );
        }
    }
}

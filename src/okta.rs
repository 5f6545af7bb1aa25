//! Okta's side: reading an inline hook request (docs/contract.md §1) and writing the answer
//! (§2). Reading is pure and never touches the network, so it can be fuzzed on its own.
//!
//! Okta's body is read through serde into structs that hold only the paths the hook reads
//! ([`nl3_shared::lenient`]: a value of the wrong type counts as absent, strings are borrowed where
//! they need no unescaping).
//!
//! Layer 1: imports the settings' `UsernameSource`.

use nl3_shared::check::IntegrationType;
use nl3_shared::lenient::{Obj, Text};
use nl3_shared::paths;
use serde::Serialize;
use serde_json::Value;

use crate::config::UsernameSource;

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
    pub fn integration_type(self) -> IntegrationType {
        match self {
            Self::Token => IntegrationType::OktaOidc,
            Self::Saml => IntegrationType::OktaSaml,
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
    /// Which name is checked, by the [`UsernameSource`] asked for (docs/contract.md §1): see
    /// [`HookEvent::username`].
    pub checked_as: Option<Name>,
    /// The Okta login: `data.context.user.profile.login`, else `data.context.session.login`.
    /// Break-glass entries are matched on it.
    pub login: Option<String>,
    /// The name the app knows the user by: a token's `preferred_username` claim, a SAML
    /// assertion's NameID.
    pub app_username: Option<String>,
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

/// The two names a request can carry for who signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Name {
    OktaLogin,
    AppUsername,
}

impl Name {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OktaLogin => "okta_login",
            Self::AppUsername => "app_username",
        }
    }
}

impl HookEvent {
    /// Who is checked: the name [`HookEvent::checked_as`] says; `None` for a client-credentials
    /// token request (nobody to check).
    pub fn username(&self) -> Option<&str> {
        match self.checked_as? {
            Name::OktaLogin => self.login.as_deref(),
            Name::AppUsername => self.app_username.as_deref(),
        }
    }

    /// The name break-glass entries are matched on: the Okta login whenever Okta sends one,
    /// whichever name is checked; else the name checked.
    pub fn break_glass_name(&self) -> Option<&str> {
        self.login.as_deref().or(self.username())
    }

    /// Whether the request carries both names and they differ (compared as the break-glass
    /// entries are: ASCII case aside): then the one checked is not the other.
    pub fn names_differ(&self) -> bool {
        match (&self.login, &self.app_username) {
            (Some(login), Some(app)) => !login.eq_ignore_ascii_case(app),
            _ => false,
        }
    }
}

/// Parses an inline hook request body, checking the Okta login (the default `USERNAME_SOURCE`).
pub fn parse_event(body: &[u8]) -> Result<HookEvent, BadRequest> {
    parse_event_as(body, UsernameSource::OktaLogin)
}

/// Parses an inline hook request body, checking the name `source` says.
pub fn parse_event_as(body: &[u8], source: UsernameSource) -> Result<HookEvent, BadRequest> {
    if body.len() > MAX_BODY_BYTES {
        return Err(BadRequest::TooLarge);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(BadRequest::EmptyBody);
    }
    // serde's message names a line and column (or a repeated field), never the input.
    let root: Obj<Body> =
        serde_json::from_slice(body).map_err(|e| BadRequest::NotJson(e.to_string()))?;
    let root = root
        .get()
        .ok_or(BadRequest::NotAnEvent("body is not a JSON object"))?;
    let hook_type = match &root.event_type {
        Text::Absent => return Err(BadRequest::NotAnEvent("eventType is missing")),
        Text::Str(s) if s == TOKEN_EVENT_TYPE => HookType::Token,
        Text::Str(s) if s == SAML_EVENT_TYPE => HookType::Saml,
        Text::Str(other) => {
            return Err(BadRequest::UnsupportedEventType(
                other.chars().take(100).collect(),
            ))
        }
        Text::Other => return Err(BadRequest::NotAnEvent("eventType is not a string")),
    };
    let data = root
        .data
        .get()
        .ok_or(BadRequest::NotAnEvent("data is missing or not an object"))?;

    let (login, app_username) = names(hook_type, data);
    if [&login, &app_username]
        .into_iter()
        .flatten()
        .any(|name| name.len() > MAX_USERNAME_BYTES)
    {
        return Err(BadRequest::UsernameTooLong);
    }
    // The name `source` asks for, else the other: the Preview sends no app username, a
    // request may carry no Okta login.
    let checked_as =
        match (source, &login, &app_username) {
            (_, None, None) => None,
            (UsernameSource::OktaLogin, Some(_), _)
            | (UsernameSource::AppUsername, Some(_), None) => Some(Name::OktaLogin),
            (UsernameSource::AppUsername, _, Some(_))
            | (UsernameSource::OktaLogin, None, Some(_)) => Some(Name::AppUsername),
        };
    let context = data.context.get();
    Ok(HookEvent {
        app_keys: app_keys(hook_type, data),
        hook_type,
        checked_as,
        login,
        app_username,
        client_ip: context
            .and_then(|c| c.request.get())
            .and_then(|r| r.ip_address.text()),
        event_id: root
            .event_id
            .as_str()
            .map(|id| id.chars().take(100).collect()),
    })
}

/// Who signs in (docs/contract.md §1): the Okta login (the user's profile, else the session),
/// and the name the app knows the user by (a token's `preferred_username`, a SAML assertion's
/// NameID). Okta's admin Preview sends no `identity`; a client-credentials token request, neither.
fn names(hook_type: HookType, data: &Data) -> (Option<String>, Option<String>) {
    let context = data.context.get();
    let preferred = || {
        data.identity
            .get()
            .and_then(|i| i.claims.get())
            .and_then(|c| c.preferred_username.text())
    };
    let profile = || {
        context
            .and_then(|c| c.user.get())
            .and_then(|u| u.profile.get())
            .and_then(|p| p.login.text())
    };
    let session = || {
        context
            .and_then(|c| c.session.get())
            .and_then(|s| s.login.text())
    };
    let name_id = || {
        data.assertion
            .get()
            .and_then(|a| a.subject.get())
            .and_then(|s| s.name_id.text())
    };
    let login = profile().or_else(session);
    let app_username = match hook_type {
        HookType::Token => preferred(),
        HookType::Saml => name_id(),
    };
    (login, app_username)
}

/// The application's identifiers, in the order they are looked up (docs/contract.md §1).
fn app_keys(hook_type: HookType, data: &Data) -> Vec<String> {
    let protocol = data.context.get().and_then(|c| c.protocol.get());
    let candidates = match (hook_type, protocol) {
        (_, None) => [None, None],
        (HookType::Token, Some(p)) => [
            p.client.get().and_then(|c| c.id.text()),
            p.request.get().and_then(|r| r.client_id.text()),
        ],
        (HookType::Saml, Some(p)) => {
            let issuer = p.issuer.get();
            [
                issuer.and_then(|i| i.id.text()),
                issuer.and_then(|i| i.uri.text()),
            ]
        }
    };
    let mut keys: Vec<String> = Vec::new();
    for key in candidates.into_iter().flatten() {
        if key.len() <= MAX_APP_KEY_BYTES && !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

// ---- the paths the hook reads ------------------------------------------------------------------
// Every field defaults to absent; unknown fields are skipped (still checked to be JSON).

paths! {
    Body {
        event_type as "eventType": Text<'a>, event_id as "eventId": Text<'a>, data: Obj<Data<'a>>
    }
    Data {
        identity: Obj<Identity<'a>>, context: Obj<Context<'a>>, assertion: Obj<Assertion<'a>>
    }
    Identity { claims: Obj<Claims<'a>> }
    Claims { preferred_username: Text<'a> }
    Context {
        user: Obj<User<'a>>, session: Obj<Login<'a>>, protocol: Obj<Protocol<'a>>,
        request: Obj<Request<'a>>
    }
    User { profile: Obj<Login<'a>> }
    Login { login: Text<'a> }
    Assertion { subject: Obj<Subject<'a>> }
    Subject { name_id as "nameId": Text<'a> }
    Protocol { client: Obj<Issuer<'a>>, request: Obj<ClientId<'a>>, issuer: Obj<Issuer<'a>> }
    ClientId { client_id: Text<'a> }
    Issuer { id: Text<'a>, uri: Text<'a> }
    Request { ip_address as "ipAddress": Text<'a> }
}

/// An answer for Okta: HTTP status and JSON body (docs/contract.md §2).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// The JSON text, as it goes into the Lambda response's `body`.
    pub body: String,
}

/// Okta's answer shapes: `commands` to let the sign-in through, `error` to refuse it.
#[derive(Serialize)]
struct AnswerBody<'a, D: Serialize> {
    #[serde(skip_serializing_if = "Option::is_none")]
    commands: Option<[(); 0]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorSummary<'a>>,
    #[serde(rename = "debugContext", skip_serializing_if = "Option::is_none")]
    debug_context: Option<&'a D>,
}

#[derive(Serialize)]
struct ErrorSummary<'a> {
    #[serde(rename = "errorSummary")]
    error_summary: &'a str,
}

impl Answer {
    fn new<D: Serialize>(status: u16, body: AnswerBody<'_, D>) -> Self {
        // Plain structs of strings: serializing them cannot fail.
        let body = serde_json::to_string(&body).unwrap_or_default();
        Self { status, body }
    }

    /// Let the sign-in through, with `debug` as `debugContext`.
    pub fn allow(debug: &impl Serialize) -> Self {
        Self::new(
            200,
            AnswerBody {
                commands: Some([]),
                error: None,
                debug_context: Some(debug),
            },
        )
    }

    /// Refuse the sign-in: Okta shows `summary` (token hook: `error_description`).
    pub fn refuse(summary: &str, debug: &impl Serialize) -> Self {
        Self::new(
            200,
            AnswerBody {
                commands: None,
                error: Some(ErrorSummary {
                    error_summary: summary,
                }),
                debug_context: Some(debug),
            },
        )
    }

    /// The request could not be read: the only case that gets an HTTP error (Okta's rule).
    pub fn bad_request(summary: &str) -> Self {
        Self::new::<()>(
            400,
            AnswerBody {
                commands: None,
                error: Some(ErrorSummary {
                    error_summary: summary,
                }),
                debug_context: None,
            },
        )
    }

    /// The body as a JSON tree, for tests and tools.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
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
    fn okta_token_sample_reads_the_okta_login() {
        let e = parse_event(TOKEN_SAMPLE.as_bytes()).unwrap();
        assert_eq!(e.hook_type, HookType::Token);
        assert_eq!(e.username(), Some("administrator1@clouditude.net"));
        assert_eq!(e.client_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(e.event_id.as_deref(), Some("3OWo4oo-QQ-rBWfRyTmQYw"));
        assert_eq!(e.app_keys, ["customClientIdNative"]);
        assert_eq!(e.hook_type.integration_type().as_str(), "okta-oidc");
    }

    #[test]
    fn okta_saml_sample_reads_profile_login() {
        let e = parse_event(SAML_SAMPLE.as_bytes()).unwrap();
        assert_eq!(e.hook_type, HookType::Saml);
        assert_eq!(e.username(), Some("administrator1@example.com"));
        assert_eq!(e.hook_type.integration_type().as_str(), "okta-saml");
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
        assert_eq!(e.username(), Some("profile@example.com"));

        let body = edited(TOKEN_SAMPLE, |v| {
            v["data"].as_object_mut().unwrap().remove("identity");
            v["data"]["context"].as_object_mut().unwrap().remove("user");
            v["data"]["context"]["session"]["login"] = json!("session@example.com");
        });
        assert_eq!(
            parse_event(&body).unwrap().username(),
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
        assert_eq!(parse_event(&body).unwrap().username(), None);
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
            parse_event(&body).unwrap().username(),
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
        assert_eq!(e.username(), Some("administrator1@clouditude.net")); // session.login
        assert_eq!(e.client_ip, None);
    }

    #[test]
    fn non_ascii_usernames_are_kept_and_long_ones_refused() {
        let body = edited(TOKEN_SAMPLE, |v| {
            v["data"]["context"]["user"]["profile"]["login"] = json!("żółw@例え.jp");
        });
        assert_eq!(parse_event(&body).unwrap().username(), Some("żółw@例え.jp"));
        // Either name over the limit is not from Okta, whichever is checked.
        for path in [
            "identity/claims/preferred_username",
            "context/user/profile/login",
        ] {
            let body = edited(TOKEN_SAMPLE, |v| {
                *v.pointer_mut(&format!("/data/{path}")).unwrap() = json!("a".repeat(2000));
            });
            for source in [UsernameSource::OktaLogin, UsernameSource::AppUsername] {
                assert_eq!(
                    parse_event_as(&body, source),
                    Err(BadRequest::UsernameTooLong),
                    "{path}"
                );
            }
        }
    }

    /// Hardening issue 6: a token whose `preferred_username` (mapped per app by an admin,
    /// possibly to an attribute users edit) names an unlocked colleague was checked under that
    /// name. The Okta login is checked whenever Okta sends it, for both hook types.
    #[test]
    fn the_okta_login_is_checked_unless_the_app_username_is_asked_for() {
        let token = edited(TOKEN_SAMPLE, |v| {
            v["data"]["identity"]["claims"]["preferred_username"] = json!("colleague@example.com");
            v["data"]["context"]["user"]["profile"]["login"] = json!("locked@example.com");
        });
        let e = parse_event(&token).unwrap();
        assert_eq!(e.username(), Some("locked@example.com"));
        assert_eq!(e.checked_as, Some(Name::OktaLogin));
        assert!(e.names_differ());
        assert_eq!(e.break_glass_name(), Some("locked@example.com"));
        // A deployment keyed by app usernames asks for the claim; break-glass entries are still
        // matched on the Okta login.
        let e = parse_event_as(&token, UsernameSource::AppUsername).unwrap();
        assert_eq!(e.username(), Some("colleague@example.com"));
        assert_eq!(e.checked_as, Some(Name::AppUsername));
        assert_eq!(e.break_glass_name(), Some("locked@example.com"));

        // SAML: the login, or the assertion's NameID when asked for.
        let saml = edited(SAML_SAMPLE, |v| {
            v["data"]["assertion"]["subject"]["nameId"] = json!("app.name");
        });
        let e = parse_event(&saml).unwrap();
        assert_eq!(e.username(), Some("administrator1@example.com"));
        assert!(e.names_differ());
        let e = parse_event_as(&saml, UsernameSource::AppUsername).unwrap();
        assert_eq!(e.username(), Some("app.name"));

        // Names equal but for ASCII case do not differ; a missing name falls back to the other.
        let same = edited(TOKEN_SAMPLE, |v| {
            v["data"]["identity"]["claims"]["preferred_username"] =
                json!("ADMINISTRATOR1@clouditude.net");
        });
        assert!(!parse_event(&same).unwrap().names_differ());
        let preview = edited(TOKEN_SAMPLE, |v| {
            v["data"].as_object_mut().unwrap().remove("identity");
        });
        let e = parse_event_as(&preview, UsernameSource::AppUsername).unwrap();
        assert_eq!(e.username(), Some("administrator1@clouditude.net"));
        assert_eq!(e.checked_as, Some(Name::OktaLogin));
        assert!(!e.names_differ());
        let no_login = edited(TOKEN_SAMPLE, |v| {
            let ctx = v["data"]["context"].as_object_mut().unwrap();
            ctx.remove("user");
            ctx.remove("session");
            v["data"]["identity"]["claims"]["preferred_username"] = json!("claim@example.com");
        });
        let e = parse_event(&no_login).unwrap();
        assert_eq!(e.username(), Some("claim@example.com"));
        assert_eq!(e.checked_as, Some(Name::AppUsername));
        assert_eq!(e.break_glass_name(), Some("claim@example.com"));
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
        let a = Answer::refuse("Locked \"now\"\n", &json!({"decision": "locked"}));
        assert_eq!(a.status, 200);
        assert_eq!(
            a.json(),
            json!({"error": {"errorSummary": "Locked \"now\"\n"}, "debugContext": {"decision": "locked"}})
        );
        let a = Answer::allow(&json!({}));
        assert_eq!(a.json(), json!({"commands": [], "debugContext": {}}));
        let a = Answer::bad_request("nope\u{1}");
        assert_eq!(a.status, 400);
        assert_eq!(a.json(), json!({"error": {"errorSummary": "nope\u{1}"}}));
    }

    #[test]
    fn what_the_hook_reads_is_decoded_strictly() {
        // A repeated field the hook reads, or a lone surrogate in one, fails the body: it never
        // reads as absent (which would let the next candidate name the user).
        let repeated = br#"{"eventType":"com.okta.oauth2.tokens.transform","data":{"identity":{"claims":{"preferred_username":"a","preferred_username":"b"}}}}"#;
        let err = parse_event(repeated).unwrap_err();
        assert!(
            matches!(&err, BadRequest::NotJson(m) if m.contains("duplicate field")),
            "{err}"
        );
        let lone = br#"{"eventType":"com.okta.oauth2.tokens.transform","data":{"identity":{"claims":{"preferred_username":"\ud800"}}}}"#;
        assert!(matches!(parse_event(lone), Err(BadRequest::NotJson(_))));
        // Keys it does not read may repeat; trailing bytes are not JSON.
        let body = br#"{"eventType":"com.okta.saml.tokens.transform","x":1,"x":2,"data":{}}"#;
        assert_eq!(parse_event(body).unwrap().hook_type, HookType::Saml);
        let trailing = br#"{"eventType":"com.okta.saml.tokens.transform","data":{}} x"#;
        assert!(matches!(parse_event(trailing), Err(BadRequest::NotJson(_))));
        // Escaped strings are read like plain ones.
        let escaped = br#"{"eventType":"com.okta.saml.tokens.transform","data":{"context":{"user":{"profile":{"login":"a@b.c"}}}}}"#;
        assert_eq!(parse_event(escaped).unwrap().username(), Some("a@b.c"));
    }
}

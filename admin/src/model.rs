//! Okta's objects as this side reads and writes them: inline hooks with their channel and auth
//! scheme (typed: no channel JSON is built or read anywhere else), authorization servers, access
//! policies and rules, apps, users, and the snapshot of an org that `audit`, `setup` and the
//! sentinel look at. Okta's own names (`InlineHook`, `channel.config.authScheme`) are kept.
//!
//! Reading is tolerant as Okta's document allows: a field of the wrong kind counts as absent;
//! what a hook's channel holds that this side does not use is kept and written back as it was.

use std::time::SystemTime;

use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};

use reqwest::Url;

pub const TOKEN_HOOK: &str = "com.okta.oauth2.tokens.transform";
pub const SAML_HOOK: &str = "com.okta.saml.tokens.transform";

/// The custom header an API Gateway key travels in.
pub const GATEWAY_KEY_HEADER: &str = "x-api-key";
/// The setting that gives it.
pub const GATEWAY_KEY_SETTING: &str = "GATEWAY_API_KEY";
/// NL3's documented header for the hook secret: the hook's own default for `API_KEY_HEADER`.
pub const DEFAULT_SECRET_HEADER: &str = nl3_shared::settings::DEFAULT_API_KEY_HEADER;

/// A string field; anything else (null, a number, missing) reads as empty.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        _ => String::new(),
    })
}

/// A non-empty string field, or `None`.
fn some_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Some(text(d)?).filter(|s| !s.is_empty()))
}

/// A list of objects; what is not a list reads as empty, items that do not read are dropped.
fn list<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// An inline hook (`InlineHook`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InlineHook {
    #[serde(default, deserialize_with = "text")]
    pub id: String,
    #[serde(default, deserialize_with = "text")]
    pub name: String,
    #[serde(rename = "type", default, deserialize_with = "text")]
    pub kind: String,
    #[serde(default, deserialize_with = "text")]
    pub status: String,
    #[serde(default, deserialize_with = "some_text")]
    pub version: Option<String>,
    #[serde(default)]
    pub channel: Channel,
}

/// How Okta calls a hook (`InlineHookChannel`): `HTTP` with a header secret, or `OAUTH`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Channel {
    #[serde(rename = "type", default, deserialize_with = "text")]
    pub kind: String,
    #[serde(
        default,
        deserialize_with = "some_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub version: Option<String>,
    #[serde(default)]
    pub config: ChannelConfig,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChannelConfig {
    #[serde(
        default,
        deserialize_with = "some_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub uri: Option<String>,
    #[serde(
        default,
        deserialize_with = "some_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub method: Option<String>,
    /// The hook's own custom headers (an API gateway's `x-api-key`, a tenant header …).
    #[serde(
        default,
        deserialize_with = "list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub headers: Vec<CustomHeader>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_scheme: Option<AuthScheme>,
    /// What else Okta holds (an OAuth channel's client, token URL, scope …): written back as is.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CustomHeader {
    #[serde(default, deserialize_with = "text")]
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `channel.config.authScheme`: `HEADER`, the header's name (`key`) and the secret (`value`,
/// which Okta never returns).
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthScheme {
    #[serde(
        rename = "type",
        default,
        deserialize_with = "some_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<String>,
    #[serde(
        default,
        deserialize_with = "some_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl std::fmt::Debug for AuthScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthScheme")
            .field("kind", &self.kind)
            .field("key", &self.key)
            .field("value", &self.value.as_ref().map(|_| ".."))
            .finish()
    }
}

/// The hook secret as Okta sends it: `base64(API_KEY)`, NL3's documented form (the hook accepts
/// raw or base64). Never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn of_api_key(api_key: &str) -> SecretValue {
        SecretValue(base64::engine::general_purpose::STANDARD.encode(api_key.trim().as_bytes()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("..")
    }
}

/// What `setup` writes into a hook: the secret, the header it travels in, and the gateway's key
/// for `x-api-key`. Never shown.
pub struct HeaderSecret {
    /// The header's name.
    pub header: String,
    pub value: SecretValue,
    pub gateway_key: Option<String>,
}

impl std::fmt::Debug for HeaderSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeaderSecret")
            .field("header", &self.header)
            .field("value", &self.value)
            .field("gateway_key", &self.gateway_key.as_ref().map(|_| ".."))
            .finish()
    }
}

impl HeaderSecret {
    /// `API_KEY` as Okta sends it, in `header` (default `Authorization`).
    pub fn new(api_key: &str, header: Option<&str>) -> HeaderSecret {
        HeaderSecret {
            header: header
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .unwrap_or(DEFAULT_SECRET_HEADER)
                .to_string(),
            value: SecretValue::of_api_key(api_key),
            gateway_key: None,
        }
    }
}

/// How a hook proves itself to the NL3 hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth<'a> {
    /// An HTTP channel with a header secret in this header.
    Header(&'a str),
    /// OAuth 2.0: no header secret.
    OAuth,
    /// Something else: why.
    Other(String),
}

impl Channel {
    /// The channel `setup` writes: HTTP, POST to `uri`, the header secret, the hook's own
    /// custom headers kept (`keep`), and the gateway's key as `x-api-key` when given.
    pub fn with_header_secret(uri: &str, secret: &HeaderSecret, keep: &[CustomHeader]) -> Channel {
        let mut headers = keep.to_vec();
        if let Some(key) = &secret.gateway_key {
            headers.retain(|h| !h.key.eq_ignore_ascii_case(GATEWAY_KEY_HEADER));
            headers.push(CustomHeader {
                key: GATEWAY_KEY_HEADER.into(),
                value: Some(key.clone()),
            });
        }
        Channel {
            kind: "HTTP".into(),
            version: Some("1.0.0".into()),
            config: ChannelConfig {
                uri: Some(uri.to_string()),
                method: Some("POST".into()),
                headers,
                auth_scheme: Some(AuthScheme {
                    kind: Some("HEADER".into()),
                    key: Some(secret.header.clone()),
                    value: Some(secret.value.as_str().to_string()),
                }),
                rest: Map::new(),
            },
        }
    }

    /// This channel as Okta has it (URI, method, custom headers, the header the secret travels
    /// in, what else it holds), with only the secret's value replaced: what rotation writes. The
    /// header is the hook's own: the hook function reads its secret there, so rotation never
    /// moves it.
    pub fn with_secret(&self, value: &SecretValue) -> Channel {
        let mut channel = self.clone();
        let scheme = channel
            .config
            .auth_scheme
            .get_or_insert_with(AuthScheme::default);
        scheme.kind = Some("HEADER".into());
        if scheme.key.is_none() {
            scheme.key = Some(DEFAULT_SECRET_HEADER.into());
        }
        scheme.value = Some(value.as_str().to_string());
        channel
    }

    pub fn auth(&self) -> Auth<'_> {
        let scheme = self.config.auth_scheme.as_ref();
        let scheme_kind = scheme.and_then(|s| s.kind.as_deref());
        match (
            self.kind.as_str(),
            scheme_kind,
            scheme.and_then(|s| s.key.as_deref()),
        ) {
            ("OAUTH", _, _) => Auth::OAuth,
            ("HTTP", Some("HEADER"), Some(key)) => Auth::Header(key),
            (kind, scheme, _) => Auth::Other(format!(
                "channel {}, authScheme {}",
                if kind.is_empty() { "missing" } else { kind },
                scheme.unwrap_or("missing")
            )),
        }
    }

    /// Sends the custom header `name` (any case).
    pub fn sends_header(&self, name: &str) -> bool {
        self.config
            .headers
            .iter()
            .any(|h| h.key.eq_ignore_ascii_case(name))
    }
}

/// The body of `PUT /api/v1/inlineHooks/{id}` (`InlineHookReplace`: these three fields only).
#[derive(Debug, Serialize)]
pub struct InlineHookReplace<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub channel: &'a Channel,
}

/// The body of `POST /api/v1/inlineHooks`.
#[derive(Debug, Serialize)]
pub struct InlineHookCreate<'a> {
    pub name: &'a str,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub version: &'a str,
    pub channel: &'a Channel,
}

impl InlineHook {
    pub fn active(&self) -> bool {
        self.status == "ACTIVE"
    }

    pub fn uri(&self) -> Option<&str> {
        self.channel.config.uri.as_deref()
    }

    /// Calls `url` (normalised, [`normalize_url`]); any hook does when no URL is given.
    pub fn calls(&self, url: Option<&str>) -> bool {
        match url {
            None => true,
            Some(url) => self.uri().map(normalize_url).as_deref() == Some(url),
        }
    }

    /// `token`, `SAML`, or Okta's type for another kind of hook.
    pub fn kind_label(&self) -> &str {
        kind_label(&self.kind)
    }

    /// `token hook "name" (id)`, for people.
    pub fn describe(&self) -> String {
        format!("{} hook {:?} ({})", self.kind_label(), self.name, self.id)
    }

    /// The PUT that gives this hook `channel`, its name and version kept.
    pub fn replacement<'a>(&'a self, channel: &'a Channel) -> InlineHookReplace<'a> {
        InlineHookReplace {
            name: &self.name,
            version: self.version.as_deref().unwrap_or("1.0.0"),
            channel,
        }
    }
}

pub fn kind_label(kind: &str) -> &str {
    match kind {
        TOKEN_HOOK => "token",
        SAML_HOOK => "SAML",
        other => other,
    }
}

/// The NL3 hooks of `kind` among `hooks`: those calling `url` (any, without one), active first.
pub fn nl3_hooks<'a>(
    hooks: &'a [InlineHook],
    kind: &str,
    url: Option<&str>,
) -> Vec<&'a InlineHook> {
    let mut ours: Vec<&InlineHook> = hooks
        .iter()
        .filter(|h| h.kind == kind && h.calls(url))
        .collect();
    ours.sort_by_key(|h| !h.active());
    ours
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or("").to_string()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn some(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(String::from)
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthServer {
    pub id: String,
    pub name: String,
    pub status: String,
    pub issuer: String,
}

impl AuthServer {
    pub fn from_json(v: &Value) -> AuthServer {
        AuthServer {
            id: s(&v["id"]),
            name: s(&v["name"]),
            status: s(&v["status"]),
            issuer: s(&v["issuer"]),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub server_id: String,
    pub id: String,
    pub name: String,
    pub status: String,
    /// `conditions.clients.include`: client IDs, or `ALL_CLIENTS`.
    pub clients: Vec<String>,
}

impl Policy {
    pub fn from_json(server_id: &str, v: &Value) -> Policy {
        Policy {
            server_id: server_id.to_string(),
            id: s(&v["id"]),
            name: s(&v["name"]),
            status: s(&v["status"]),
            clients: strings(&v["conditions"]["clients"]["include"]),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub server_id: String,
    pub policy_id: String,
    pub id: String,
    pub name: String,
    pub status: String,
    pub grant_types: Vec<String>,
    /// `actions.token.inlineHook.id`
    pub hook_id: Option<String>,
}

impl Rule {
    pub fn from_json(server_id: &str, policy_id: &str, v: &Value) -> Rule {
        Rule {
            server_id: server_id.to_string(),
            policy_id: policy_id.to_string(),
            id: s(&v["id"]),
            name: s(&v["name"]),
            status: s(&v["status"]),
            grant_types: strings(&v["conditions"]["grantTypes"]["include"]),
            hook_id: some(&v["actions"]["token"]["inlineHook"]["id"]),
        }
    }

    /// A rule for the client credentials grant only: tokens for machines, no user signs in.
    pub fn machine_only(&self) -> bool {
        !self.grant_types.is_empty() && self.grant_types.iter().all(|g| g == "client_credentials")
    }

    /// A rule as read with GET, made into the PUT that attaches `hook_id` (read-only fields
    /// dropped; the rest as Okta has it).
    pub fn attach_body(mut raw: Value, hook_id: &str) -> Value {
        strip_read_only(&mut raw, RULE_READ_ONLY);
        raw["actions"]["token"]["inlineHook"] = json!({ "id": hook_id });
        raw
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub id: String,
    pub label: String,
    pub name: String,
    pub status: String,
    pub sign_on_mode: String,
    /// OIDC apps: `credentials.oauthClient.client_id`.
    pub client_id: Option<String>,
    /// OIDC apps: the first of `settings.oauthClient.redirect_uris`.
    pub redirect_uri: Option<String>,
    /// SAML 2.0 apps: `settings.signOn.inlineHooks[0].id`.
    pub hook_id: Option<String>,
    /// SAML 2.0 apps: `settings.signOn.ssoAcsUrl`, else `destinationOverride`.
    pub acs_url: Option<String>,
    /// SAML 2.0 apps: `settings.signOn.audience`.
    pub audience: Option<String>,
    /// SAML 2.0 apps: a custom app integration (its SAML settings are its own), not a catalog app.
    pub custom_saml: bool,
}

impl App {
    pub fn from_json(v: &Value) -> App {
        let sign_on = &v["settings"]["signOn"];
        let acs_url = some(&sign_on["ssoAcsUrl"]).or_else(|| some(&sign_on["destinationOverride"]));
        App {
            id: s(&v["id"]),
            label: s(&v["label"]),
            name: s(&v["name"]),
            status: s(&v["status"]),
            sign_on_mode: s(&v["signOnMode"]),
            client_id: some(&v["credentials"]["oauthClient"]["client_id"]),
            redirect_uri: some(&v["settings"]["oauthClient"]["redirect_uris"][0]),
            hook_id: some(&sign_on["inlineHooks"][0]["id"]),
            // Custom SAML apps carry their own ACS URL; catalog (OIN) apps take theirs from the
            // catalog and keep only overrides.
            custom_saml: acs_url.is_some(),
            acs_url,
            audience: some(&sign_on["audience"]),
        }
    }

    /// An app as read with GET, made into the PUT that attaches the SAML hook `hook_id`.
    pub fn attach_body(mut raw: Value, hook_id: &str) -> Value {
        strip_read_only(&mut raw, APP_READ_ONLY);
        raw["settings"]["signOn"]["inlineHooks"] = json!([{ "id": hook_id }]);
        raw
    }
}

/// A user, as the requests Okta sends a hook describe one.
#[derive(Debug, Clone, Default)]
pub struct User {
    pub id: String,
    pub login: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: Option<String>,
    pub time_zone: Option<String>,
    pub password_changed: Option<String>,
}

impl User {
    pub fn from_json(v: &Value) -> User {
        let p = &v["profile"];
        User {
            id: s(&v["id"]),
            login: s(&p["login"]),
            first_name: some(&p["firstName"]),
            last_name: some(&p["lastName"]),
            locale: some(&p["locale"]),
            time_zone: some(&p["timeZone"]),
            password_changed: some(&v["passwordChanged"]),
        }
    }
}

/// An event hook (`EventHook`): Okta POSTs System Log events to its channel's URI.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventHook {
    #[serde(default, deserialize_with = "text")]
    pub id: String,
    #[serde(default, deserialize_with = "text")]
    pub name: String,
    #[serde(default, deserialize_with = "text")]
    pub status: String,
    #[serde(default, deserialize_with = "text")]
    pub verification_status: String,
    #[serde(default)]
    pub events: EventSubscriptions,
    #[serde(default)]
    pub channel: Channel,
}

/// `events`: the event types the hook is subscribed to.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EventSubscriptions {
    #[serde(rename = "type", default, deserialize_with = "text")]
    pub kind: String,
    #[serde(default, deserialize_with = "list")]
    pub items: Vec<String>,
}

impl EventSubscriptions {
    pub fn of(types: &[&str]) -> EventSubscriptions {
        EventSubscriptions {
            kind: "EVENT_TYPE".into(),
            items: types.iter().map(|t| t.to_string()).collect(),
        }
    }
}

/// The body of `POST /api/v1/eventHooks` and `PUT /api/v1/eventHooks/{id}`.
#[derive(Debug, Serialize)]
pub struct EventHookWrite<'a> {
    pub name: &'a str,
    pub events: &'a EventSubscriptions,
    pub channel: &'a Channel,
}

impl EventHook {
    pub fn active(&self) -> bool {
        self.status == "ACTIVE"
    }

    pub fn verified(&self) -> bool {
        self.verification_status == "VERIFIED"
    }

    /// The first of `hooks` that `wanted` takes, an ACTIVE and VERIFIED one before any other.
    pub fn pick(hooks: &[EventHook], wanted: impl Fn(&EventHook) -> bool) -> Option<&EventHook> {
        hooks
            .iter()
            .filter(|h| wanted(h))
            .min_by_key(|h| !(h.active() && h.verified()))
    }

    pub fn uri(&self) -> Option<&str> {
        self.channel.config.uri.as_deref()
    }

    pub fn calls(&self, url: Option<&str>) -> bool {
        match url {
            None => true,
            Some(url) => self.uri().map(normalize_url).as_deref() == Some(url),
        }
    }

    /// The event types of `wanted` it is not subscribed to.
    pub fn missing<'w>(&self, wanted: &[&'w str]) -> Vec<&'w str> {
        wanted
            .iter()
            .copied()
            .filter(|w| !self.events.items.iter().any(|i| i == w))
            .collect()
    }

    /// `event hook "name" (id)`, for people.
    pub fn describe(&self) -> String {
        format!("event hook {:?} ({})", self.name, self.id)
    }
}

impl Channel {
    /// An event hook's channel: as [`Channel::with_header_secret`], without `method` (Okta's
    /// document marks it read-only for event hooks).
    pub fn for_event_hook(uri: &str, secret: &HeaderSecret, keep: &[CustomHeader]) -> Channel {
        let mut channel = Channel::with_header_secret(uri, secret, keep);
        channel.config.method = None;
        channel
    }

    /// The channel written back to an event hook (rotation): `method` left out, as Okta's
    /// document marks it read-only there.
    pub fn for_event_hook_write(&self) -> Channel {
        let mut channel = self.clone();
        channel.config.method = None;
        channel
    }
}

/// One System Log event (`LogEvent`), as an event hook delivers it: the fields the guard reads,
/// each tolerant (a field of the wrong kind reads as absent).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    #[serde(default, deserialize_with = "text")]
    pub uuid: String,
    #[serde(default, deserialize_with = "text")]
    pub published: String,
    #[serde(default, deserialize_with = "text")]
    pub event_type: String,
    #[serde(default, deserialize_with = "lenient")]
    pub outcome: LogOutcome,
    #[serde(default, deserialize_with = "lenient")]
    pub actor: LogActor,
    #[serde(default, deserialize_with = "lenient")]
    pub client: LogClient,
    #[serde(default, deserialize_with = "list")]
    pub target: Vec<LogTarget>,
}

/// A struct read from anything: what does not read is its default.
fn lenient<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(serde_json::from_value(Value::deserialize(d)?).unwrap_or_default())
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogOutcome {
    #[serde(default, deserialize_with = "text")]
    pub result: String,
    #[serde(default, deserialize_with = "text")]
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogActor {
    #[serde(default, deserialize_with = "text")]
    pub id: String,
    #[serde(rename = "type", default, deserialize_with = "text")]
    pub kind: String,
    #[serde(default, deserialize_with = "text")]
    pub alternate_id: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogClient {
    #[serde(default, deserialize_with = "text")]
    pub ip_address: String,
    #[serde(default, deserialize_with = "lenient")]
    pub user_agent: LogUserAgent,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogUserAgent {
    #[serde(default, deserialize_with = "text")]
    pub raw_user_agent: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogTarget {
    #[serde(default, deserialize_with = "text")]
    pub id: String,
    #[serde(rename = "type", default, deserialize_with = "text")]
    pub kind: String,
    #[serde(default, deserialize_with = "text")]
    pub alternate_id: String,
    #[serde(default)]
    pub detail_entry: Option<Map<String, Value>>,
}

impl LogEvent {
    /// The first target of `kind` (Okta's document: search targets by type, not position).
    pub fn target(&self, kind: &str) -> Option<&LogTarget> {
        self.target
            .iter()
            .find(|t| t.kind == kind && !t.id.is_empty())
    }

    pub fn succeeded(&self) -> bool {
        self.outcome.result == "SUCCESS"
    }
}

/// A policy (`Policy`, as `GET /api/v1/policies` lists them) with the few fields the audit reads.
#[derive(Debug, Clone)]
pub struct SignOnPolicy {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub priority: i64,
    /// `conditions.people.groups.include`: the groups the policy applies to (empty: everyone).
    pub groups: Vec<String>,
    /// `system`: Okta's Default Policy, which is assigned to the Everyone group (by that
    /// group's id) and applies to every user.
    pub system: bool,
    pub rules: Vec<SignOnRule>,
}

/// A sign-on policy rule: its priority, status, the groups it includes and its access.
#[derive(Debug, Clone)]
pub struct SignOnRule {
    pub id: String,
    pub name: String,
    pub status: String,
    pub priority: i64,
    pub groups: Vec<String>,
    pub excluded_groups: Vec<String>,
    /// `actions.signon.access` (`OKTA_SIGN_ON`) or `actions.appSignOn.access` (`ACCESS_POLICY`):
    /// `ALLOW` or `DENY`.
    pub access: String,
}

impl SignOnPolicy {
    pub fn from_json(v: &Value, rules: &[Value]) -> SignOnPolicy {
        let mut rules: Vec<SignOnRule> = rules.iter().map(SignOnRule::from_json).collect();
        rules.sort_by_key(|r| r.priority);
        SignOnPolicy {
            id: s(&v["id"]),
            name: s(&v["name"]),
            kind: s(&v["type"]),
            status: s(&v["status"]),
            priority: v["priority"].as_i64().unwrap_or(i64::MAX),
            groups: strings(&v["conditions"]["people"]["groups"]["include"]),
            system: v["system"].as_bool().unwrap_or(false),
            rules,
        }
    }
}

impl SignOnRule {
    pub fn from_json(v: &Value) -> SignOnRule {
        let actions = &v["actions"];
        let access = actions["signon"]["access"]
            .as_str()
            .or(actions["appSignOn"]["access"].as_str())
            .unwrap_or("");
        SignOnRule {
            id: s(&v["id"]),
            name: s(&v["name"]),
            status: s(&v["status"]),
            priority: v["priority"].as_i64().unwrap_or(i64::MAX),
            groups: strings(&v["conditions"]["people"]["groups"]["include"]),
            excluded_groups: strings(&v["conditions"]["people"]["groups"]["exclude"]),
            access: access.to_string(),
        }
    }

    pub fn active(&self) -> bool {
        self.status == "ACTIVE"
    }
}

/// Removes what Okta marks read-only before a PUT of an object read with GET.
fn strip_read_only(value: &mut Value, paths: &[&[&str]]) {
    for path in paths {
        let (last, parents) = path.split_last().expect("non-empty path");
        let mut node = Some(&mut *value);
        for p in parents {
            node = node.and_then(|n| n.get_mut(*p));
        }
        if let Some(obj) = node.and_then(Value::as_object_mut) {
            obj.remove(*last);
        }
    }
}

const RULE_READ_ONLY: &[&[&str]] = &[&["id"], &["created"], &["lastUpdated"], &["_links"]];
const APP_READ_ONLY: &[&[&str]] = &[
    &["id"],
    &["created"],
    &["lastUpdated"],
    &["_links"],
    &["_embedded"],
    &["features"],
    &["orn"],
    &["status"],
    &["name"],
    &["credentials", "signing", "lastRotated"],
    &["credentials", "signing", "nextRotation"],
    &["settings", "emOptInStatus"],
];

/// Everything `audit`, `setup` and the sentinel's coverage look at.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub hooks: Vec<InlineHook>,
    pub servers: Vec<AuthServer>,
    pub policies: Vec<Policy>,
    pub rules: Vec<Rule>,
    pub apps: Vec<App>,
    /// The org's event hooks (the after-sign-in guard's).
    pub event_hooks: Vec<EventHook>,
    /// With `QUARANTINE_GROUP_ID`: the group, and the global session policies that must deny it.
    pub quarantine: Option<Quarantine>,
}

/// The smallest org the unit tests of `audit` and `setup` judge: one authorization server
/// (`aus1`) with one policy (`pol1`, for all clients) in `policy_status`.
#[cfg(test)]
impl Snapshot {
    pub fn one_server(policy_status: &str) -> Snapshot {
        Snapshot {
            servers: vec![AuthServer {
                id: "aus1".into(),
                name: "default".into(),
                status: "ACTIVE".into(),
                issuer: String::new(),
            }],
            policies: vec![Policy {
                server_id: "aus1".into(),
                id: "pol1".into(),
                name: "p".into(),
                status: policy_status.into(),
                clients: vec!["ALL_CLIENTS".into()],
            }],
            ..Snapshot::default()
        }
    }
}

/// The quarantine group as the org has it, and the `OKTA_SIGN_ON` policies with their rules.
#[derive(Debug, Clone, Default)]
pub struct Quarantine {
    pub group_id: String,
    /// The group's name; `None` when Okta has no such group.
    pub group_name: Option<String>,
    pub policies: Vec<SignOnPolicy>,
}

impl Snapshot {
    pub fn server(&self, id: &str) -> Option<&AuthServer> {
        self.servers.iter().find(|s| s.id == id)
    }
    pub fn policy(&self, server_id: &str, id: &str) -> Option<&Policy> {
        self.policies
            .iter()
            .find(|p| p.server_id == server_id && p.id == id)
    }
    pub fn hook(&self, id: &str) -> Option<&InlineHook> {
        self.hooks.iter().find(|h| h.id == id)
    }

    /// "server › policy › rule", for people.
    pub fn rule_path(&self, rule: &Rule) -> String {
        let server = self
            .server(&rule.server_id)
            .map(|s| s.name.as_str())
            .unwrap_or(&rule.server_id);
        let policy = self
            .policy(&rule.server_id, &rule.policy_id)
            .map(|p| p.name.as_str())
            .unwrap_or(&rule.policy_id);
        format!("{server} › {policy} › {}", rule.name)
    }

    /// A rule can mint tokens when it, its policy and its server are all active.
    pub fn rule_live(&self, rule: &Rule) -> bool {
        rule.status == "ACTIVE"
            && self
                .policy(&rule.server_id, &rule.policy_id)
                .is_some_and(|p| p.status == "ACTIVE")
            && self
                .server(&rule.server_id)
                .is_some_and(|s| s.status == "ACTIVE")
    }

    /// The rules through which `client_id` can get tokens from a custom authorization server:
    /// every rule of every policy whose clients include it (or `ALL_CLIENTS`), any status.
    pub fn rules_for_client<'a>(&'a self, client_id: &str) -> Vec<&'a Rule> {
        self.rules
            .iter()
            .filter(|r| {
                self.policy(&r.server_id, &r.policy_id).is_some_and(|p| {
                    p.clients
                        .iter()
                        .any(|c| c == "ALL_CLIENTS" || c == client_id)
                })
            })
            .collect()
    }
}

/// For comparing hook URLs: trimmed, without a trailing slash, scheme and host lowercased.
pub fn normalize_url(raw: &str) -> String {
    let trimmed = raw.trim().trim_end_matches('/');
    match Url::parse(trimmed) {
        Ok(url) => url.as_str().trim_end_matches('/').to_string(),
        Err(_) => trimmed.to_string(),
    }
}

/// RFC 3339 UTC with milliseconds, as Okta writes `published` and `eventTime`.
pub fn okta_time(t: SystemTime) -> String {
    let format = time::format_description::parse_borrowed::<2>(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z",
    )
    .expect("a valid format description");
    time::OffsetDateTime::from(t)
        .format(&format)
        .unwrap_or_default()
}

/// An RFC 3339 time (EventBridge's `time`, Okta's `published`).
pub fn parse_time(text: &str) -> Option<SystemTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(SystemTime::from)
}

/// A new random identifier (`jti`, an event's or request's id), 32 hex digits.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn hook(channel: Value) -> InlineHook {
        serde_json::from_value(json!({"id": "cal1", "name": "NL3", "type": TOKEN_HOOK,
            "status": "ACTIVE", "version": "1.0.0", "channel": channel}))
        .unwrap()
    }

    #[test]
    fn a_hooks_channel_is_read_typed_and_written_back_whole() {
        let h = hook(json!({"type": "HTTP", "version": "1.0.0", "config": {
            "uri": "https://H.example.com/okta/hook/", "method": "POST",
            "headers": [{"key": "X-Tenant", "value": "acme"}],
            "authScheme": {"type": "HEADER", "key": "X-NL3-Key", "value": null},
            "somethingNew": {"kept": true}}}));
        assert_eq!(h.channel.auth(), Auth::Header("X-NL3-Key"));
        assert!(h.calls(Some("https://h.example.com/okta/hook")));
        assert!(!h.calls(Some("https://other.example.com/okta/hook")));
        let secret = SecretValue::of_api_key("k3y");
        let channel = h.channel.with_secret(&secret);
        let body = serde_json::to_value(h.replacement(&channel)).unwrap();
        assert_eq!(body["name"], "NL3");
        assert_eq!(body["version"], "1.0.0");
        let config = &body["channel"]["config"];
        assert_eq!(
            config["headers"],
            json!([{"key": "X-Tenant", "value": "acme"}])
        );
        assert_eq!(config["somethingNew"], json!({"kept": true}));
        assert_eq!(
            config["authScheme"],
            json!({"type": "HEADER", "key": "X-NL3-Key", "value": "azN5"})
        );
        assert!(!format!("{secret:?}{channel:?}").contains("azN5"));
    }

    #[test]
    fn odd_channels_read_as_what_they_are() {
        assert_eq!(
            hook(json!({"type": "OAUTH", "config": {}})).channel.auth(),
            Auth::OAuth
        );
        assert!(matches!(
            hook(json!({"type": "HTTP", "config": {}})).channel.auth(),
            Auth::Other(_)
        ));
        let odd = hook(json!({"type": 7, "config": {"uri": ["x"], "headers": "none"}}));
        assert_eq!(odd.uri(), None);
        assert!(odd.channel.config.headers.is_empty());
        assert!(matches!(odd.channel.auth(), Auth::Other(why) if why.contains("missing")));
    }

    #[test]
    fn setup_writes_the_gateway_key_once_and_keeps_other_headers() {
        let mut secret = HeaderSecret::new("k3y", None);
        secret.gateway_key = Some("gw".into());
        let keep = [
            CustomHeader {
                key: "X-Team".into(),
                value: Some("iam".into()),
            },
            CustomHeader {
                key: "X-API-Key".into(),
                value: Some("old".into()),
            },
        ];
        let channel = Channel::with_header_secret("https://h/x", &secret, &keep);
        assert_eq!(
            serde_json::to_value(&channel).unwrap(),
            json!({"type": "HTTP", "version": "1.0.0", "config": {
                "uri": "https://h/x", "method": "POST",
                "headers": [{"key": "X-Team", "value": "iam"}, {"key": "x-api-key", "value": "gw"}],
                "authScheme": {"type": "HEADER", "key": "Authorization", "value": "azN5"}}})
        );
    }

    #[test]
    fn formats_and_reads_okta_times() {
        assert_eq!(okta_time(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_392_000_123);
        assert_eq!(okta_time(t), "2026-11-23T00:00:00.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(okta_time(leap), "2000-02-29T00:00:00.000Z");
        assert_eq!(parse_time("2026-11-23T00:00:00.123Z"), Some(t));
        assert_eq!(parse_time("yesterday"), None);
        assert_ne!(new_id(), new_id());
        assert_eq!(new_id().len(), 32);
    }
}

#[cfg(test)]
mod snapshot_tests {
    use super::*;

    #[test]
    fn the_snapshot_knows_which_rules_mint_an_apps_tokens_and_which_are_live() {
        let rule = |id: &str, policy: &str| {
            Rule::from_json(
                "aus1",
                policy,
                &json!({"id": id, "name": id, "status": "ACTIVE"}),
            )
        };
        let policy = |id: &str, clients: &[&str], status: &str| Policy {
            server_id: "aus1".into(),
            id: id.into(),
            name: id.into(),
            status: status.into(),
            clients: clients.iter().map(|c| c.to_string()).collect(),
        };
        let s = Snapshot {
            servers: vec![AuthServer::from_json(
                &json!({"id": "aus1", "name": "default", "status": "ACTIVE"}),
            )],
            policies: vec![
                policy("all", &["ALL_CLIENTS"], "ACTIVE"),
                policy("one", &["cid1"], "INACTIVE"),
            ],
            rules: vec![rule("r-all", "all"), rule("r-one", "one")],
            ..Snapshot::default()
        };
        let ids = |c: &str| -> Vec<String> {
            s.rules_for_client(c).iter().map(|r| r.id.clone()).collect()
        };
        assert_eq!(ids("cid1"), ["r-all", "r-one"]);
        assert_eq!(ids("cid2"), ["r-all"]);
        assert!(s.rule_live(&s.rules[0]));
        assert!(!s.rule_live(&s.rules[1]), "its policy is inactive");
        assert_eq!(s.rule_path(&s.rules[1]), "default › one › r-one");
    }

    #[test]
    fn apps_read_their_sign_on_and_attach_keeps_what_okta_has() {
        let raw = json!({"id": "0oa1", "label": "Wiki", "name": "wiki", "status": "ACTIVE",
            "signOnMode": "SAML_2_0", "created": "x", "_links": {},
            "settings": {"signOn": {"destinationOverride": "https://wiki/acs", "audience": "wiki"}}});
        let app = App::from_json(&raw);
        assert!(app.custom_saml);
        assert_eq!(app.acs_url.as_deref(), Some("https://wiki/acs"));
        let body = App::attach_body(raw, "cal1");
        assert_eq!(
            body["settings"]["signOn"]["inlineHooks"],
            json!([{"id": "cal1"}])
        );
        assert_eq!(body["settings"]["signOn"]["audience"], "wiki");
        for gone in ["id", "created", "_links", "status", "name"] {
            assert!(body.get(gone).is_none(), "{gone}");
        }
        assert!(!App::from_json(&json!({"signOnMode": "SAML_2_0"})).custom_saml);
    }
}

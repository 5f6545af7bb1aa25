//! What the hook's secret holds (docs/contract.md §5): `API_KEY` (the hook secret Okta's call
//! carries), `SIGNING_KEY` (the default application's NL3 key), `IPINFO_TOKEN`, per-application
//! entries (`APPS`) and `BREAK_GLASS_LOGINS`. Where the JSON comes from is the source's business
//! (`secret_source`).
//!
//! Two readings of the one secret, both [`SecretDocument`]s:
//!
//! - [`HookSecrets`], all of it: the hook, and a check that asks NL3 as the hook does (keys as
//!   digests or ready to sign, [`HookSecrets::resolve_app`] for the application a sign-in is
//!   checked as, [`HookSecrets::is_break_glass`]);
//! - [`KeysOnly`], `API_KEY` alone: a receiver of Okta's calls, which must never hold NL3's
//!   signing key. It neither parses nor keeps `SIGNING_KEY`, `APPS`, `IPINFO_TOKEN` or
//!   `BREAK_GLASS_LOGINS` (skipped unread, as any unknown field), from the secret or from the
//!   environment.
//!
//! Both keep the keys by version stage ([`ApiKeys`]): the current version's, and the previous
//! and pending versions' beside it.
//!
//! Layer 1: imports only leaves.

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use jsonwebtoken::EncodingKey;
use serde::Deserialize;

use crate::api_key::{decode_base64, ApiKey, Presented};
use crate::settings::{is_loopback, EnvField, Mode};

/// The secret's JSON is not what the reader can use. The text names fields, never values.
#[derive(Debug, Clone, thiserror::Error)]
#[error("secret is malformed: {0}")]
pub struct Malformed(pub String);

/// A reading of the hook's secret: what a `secret_source::SecretSource` reads, caches
/// and refreshes. Every reading keeps the `API_KEY`s by version stage.
pub trait SecretDocument: Sized + Send + Sync + 'static {
    /// The fields taken from the environment when there is no `SECRET_ID` (only those).
    const ENV_FIELDS: &'static [EnvField];

    /// Reads the current version's JSON. `API_KEY` may be absent only when `api_key_required`
    /// is false.
    fn from_json(raw: &str, api_key_required: bool) -> Result<Self, Malformed>;

    /// The `API_KEY` of another version of the secret (`AWSPREVIOUS`, `AWSPENDING`), if it has
    /// a usable one.
    fn api_key_of(raw: &str) -> Option<ApiKey>;

    fn api_keys(&self) -> &ApiKeys;

    fn api_keys_mut(&mut self) -> &mut ApiKeys;
}

/// The hook secret's `API_KEY` by version stage: the current version's, the previous version's
/// until its grace period ends, and the pending version's while a rotation is in flight.
#[derive(Clone, Default)]
pub struct ApiKeys {
    /// `None` only when the reader does not require one (OAuth authenticates the hook's calls).
    current: Option<ApiKey>,
    /// The previous version's key and when it stops being accepted.
    previous: Option<(ApiKey, SystemTime)>,
    /// The `AWSPENDING` version's key, while a rotation is in flight.
    pending: Option<ApiKey>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("current", &self.current.as_ref().map(|_| ".."))
            .field(
                "previous_until",
                &self.previous.as_ref().map(|(_, until)| until),
            )
            .field("pending", &self.pending.as_ref().map(|_| ".."))
            .finish()
    }
}

impl ApiKeys {
    fn current(key: Option<ApiKey>) -> Self {
        Self {
            current: key,
            previous: None,
            pending: None,
        }
    }

    /// The current version's key (`None`: no `API_KEY` configured).
    pub fn has_current(&self) -> bool {
        self.current.is_some()
    }

    /// Whether the previous version's `API_KEY` is accepted (within its grace period).
    pub fn accepts_previous(&self) -> bool {
        self.previous.is_some()
    }

    /// Whether a pending version's `API_KEY` is accepted (a rotation in flight).
    pub fn accepts_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Accepts the previous version's key too, until `until` (`None`: no previous key).
    pub(crate) fn set_previous(&mut self, key: Option<(ApiKey, SystemTime)>) {
        self.previous = key;
    }

    /// Accepts the pending version's key too (`None`: no pending key).
    pub(crate) fn set_pending(&mut self, key: Option<ApiKey>) {
        self.pending = key;
    }

    pub(crate) fn current_key(&self) -> Option<&ApiKey> {
        self.current.as_ref()
    }

    pub(crate) fn previous_key(&self) -> Option<&(ApiKey, SystemTime)> {
        self.previous.as_ref()
    }

    pub(crate) fn pending_key(&self) -> Option<&ApiKey> {
        self.pending.as_ref()
    }

    /// Whether `presented` carries the current `API_KEY`, the pending one, or the previous one
    /// within its grace period. All are compared whatever the first gave (constant time per call).
    pub fn accepts(&self, presented: &[u8]) -> bool {
        let presented = Presented::new(presented);
        let current = self
            .current
            .as_ref()
            .is_some_and(|k| k.matches_presented(&presented));
        let previous = self.previous.as_ref().is_some_and(|(k, until)| {
            k.matches_presented(&presented) & (SystemTime::now() < *until)
        });
        let pending = self
            .pending
            .as_ref()
            .is_some_and(|k| k.matches_presented(&presented));
        current | previous | pending
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// serde's message can quote a value ("invalid type: string \"…\""): keep only the class.
fn not_an_object(e: serde_json::Error, what: &str) -> Malformed {
    Malformed(format!(
        "not a JSON object with {what} ({:?} error)",
        e.classify()
    ))
}

// ---- API_KEY alone: a receiver of Okta's calls --------------------------------------------------

/// The one field a receiver reads; every other field is skipped unread.
#[derive(Deserialize)]
struct KeyField {
    #[serde(rename = "API_KEY")]
    api_key: Option<String>,
}

fn key_field(raw: &str) -> Result<Option<String>, Malformed> {
    serde_json::from_str::<KeyField>(raw)
        .map(|f| non_empty(f.api_key))
        .map_err(|e| not_an_object(e, "a string API_KEY"))
}

/// The hook secret read for its `API_KEY`s only: what a receiver of Okta's calls (an event hook
/// behind the hook's gateway) needs to authenticate them exactly as the hook does, and nothing
/// that signs NL3 tokens.
pub struct KeysOnly {
    keys: ApiKeys,
}

impl std::fmt::Debug for KeysOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeysOnly")
            .field("keys", &self.keys)
            .finish()
    }
}

impl SecretDocument for KeysOnly {
    const ENV_FIELDS: &'static [EnvField] = &[EnvField::Text("API_KEY")];

    fn from_json(raw: &str, api_key_required: bool) -> Result<Self, Malformed> {
        Self::from_json(raw, api_key_required)
    }

    fn api_key_of(raw: &str) -> Option<ApiKey> {
        key_field(raw).ok().flatten().map(|key| ApiKey::new(&key))
    }

    fn api_keys(&self) -> &ApiKeys {
        &self.keys
    }

    fn api_keys_mut(&mut self) -> &mut ApiKeys {
        &mut self.keys
    }
}

impl KeysOnly {
    /// Reads `API_KEY` alone. It may be absent only when `api_key_required` is false.
    pub fn from_json(raw: &str, api_key_required: bool) -> Result<Self, Malformed> {
        let key = match key_field(raw)? {
            Some(key) => Some(ApiKey::new(&key)),
            None if api_key_required => return Err(Malformed("API_KEY is missing".into())),
            None => None,
        };
        Ok(Self {
            keys: ApiKeys::current(key),
        })
    }

    /// The `API_KEY`s by version stage.
    pub fn api_keys(&self) -> &ApiKeys {
        &self.keys
    }
}

// ---- all of it: the hook, and a check that asks NL3 as the hook does ---------------------------

/// Secrets ready for use: API keys as digests, signing keys decoded and ready to sign.
pub struct HookSecrets {
    keys: ApiKeys,
    /// The default application's key; `None` only when `APPS` has entries. One that is not
    /// base64 makes the default application unusable, not the whole secret: Okta's calls are
    /// still authenticated, other apps' entries still work, break-glass logins still known.
    signing_key: Option<Result<EncodingKey, String>>,
    ipinfo_token: Option<String>,
    /// Per-application entries (`APPS`), by the key Okta's request names the app with.
    /// An entry that cannot be used is kept with the reason, so only its app's calls fail.
    apps: HashMap<String, Result<AppEntry, UnusableEntry>>,
    /// `BREAK_GLASS_LOGINS`, as [`login_key`] keeps them: a failed check never refuses these
    /// accounts.
    break_glass: HashSet<String>,
}

/// One `APPS` entry: an application registered at NL3 with a signing key of its own.
pub struct AppEntry {
    pub app_uri: String,
    signing_key: EncodingKey,
    pub locked_message: Option<String>,
    pub fail_open: Option<bool>,
    pub mode: Option<Mode>,
}

impl AppEntry {
    pub fn signing_key(&self) -> &EncodingKey {
        &self.signing_key
    }

    /// Reads one `APPS` entry; the reason names the field (never its value).
    fn from_json(entry: &serde_json::Value) -> Result<Self, String> {
        let object = entry.as_object().ok_or("the entry is not a JSON object")?;
        let text = |name: &str| -> Result<Option<String>, String> {
            match object.get(name) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(non_empty(Some(s.clone()))),
                Some(_) => Err(format!("{name} is not a string")),
            }
        };
        let app_uri = text("APP_URI")?.ok_or("APP_URI is missing")?;
        check_app_uri(&app_uri)?;
        let signing_key = text("SIGNING_KEY")?.ok_or("SIGNING_KEY is missing")?;
        let signing_key = decode_signing_key(&signing_key).ok_or("SIGNING_KEY is not base64")?;
        let fail_open = match object.get("FAIL_OPEN") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Bool(b)) => Some(*b),
            Some(_) => return Err("FAIL_OPEN is not true or false".into()),
        };
        let mode = match text("MODE")? {
            None => None,
            Some(mode) => Some(Mode::parse(&mode).ok_or("MODE is not enforce or report")?),
        };
        Ok(Self {
            app_uri,
            signing_key,
            locked_message: text("LOCKED_MESSAGE")?,
            fail_open,
            mode,
        })
    }
}

/// An `APPS` entry that cannot be used: its app's sign-ins are failed checks, under the `MODE`
/// and `FAIL_OPEN` the entry states readably, else the strictest (`enforce`, `false`) — never the
/// deployment's, which the entry may have meant to override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnusableEntry {
    /// Names the app and the field, never a value.
    pub why: String,
    /// The entry's `MODE`, when it states a readable one.
    pub mode: Option<Mode>,
    /// The entry's `FAIL_OPEN`, when it states a readable one.
    pub fail_open: Option<bool>,
}

impl UnusableEntry {
    fn new(key: &str, entry: &serde_json::Value, why: String) -> Self {
        let field = |name: &str| entry.as_object().and_then(|o| o.get(name));
        Self {
            why: format!("app {key}: {why}"),
            mode: field("MODE")
                .and_then(serde_json::Value::as_str)
                .and_then(Mode::parse),
            fail_open: field("FAIL_OPEN").and_then(serde_json::Value::as_bool),
        }
    }

    /// `MODE` for this app's sign-ins: the entry's, else `enforce`.
    pub fn mode(&self) -> Mode {
        self.mode.unwrap_or(Mode::Enforce)
    }

    /// `FAIL_OPEN` for this app's sign-ins: the entry's, else `false`.
    pub fn fail_open(&self) -> bool {
        self.fail_open.unwrap_or(false)
    }
}

/// An application's `APP_URI` is an absolute https URL (http only for loopback, for tests and
/// local runs): it is the NL3 token's issuer.
fn check_app_uri(uri: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(uri).map_err(|_| "APP_URI is not an absolute URL")?;
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        _ => Err("APP_URI is not an https URL (http only for loopback)".into()),
    }
}

/// NL3 signs with the base64-decoded key from its company portal (docs/contract.md §3).
fn decode_signing_key(text: &str) -> Option<EncodingKey> {
    let decoded = decode_base64(text.as_bytes()).filter(|k| !k.is_empty())?;
    Some(EncodingKey::from_secret(&decoded))
}

impl std::fmt::Debug for HookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookSecrets")
            .field("keys", &self.keys)
            .field(
                "signing_key",
                &self.signing_key.as_ref().map(|k| k.as_ref().map(|_| "..")),
            )
            .field("ipinfo_token", &self.ipinfo_token.as_ref().map(|_| ".."))
            .field("apps", &self.apps.keys().collect::<Vec<_>>())
            .field("break_glass_logins", &self.break_glass.len())
            .finish()
    }
}

#[derive(Deserialize)]
struct SecretFields {
    #[serde(rename = "API_KEY")]
    api_key: Option<String>,
    #[serde(rename = "SIGNING_KEY")]
    signing_key: Option<String>,
    #[serde(rename = "IPINFO_TOKEN")]
    ipinfo_token: Option<String>,
    #[serde(rename = "APPS")]
    apps: Option<serde_json::Value>,
    #[serde(rename = "BREAK_GLASS_LOGINS")]
    break_glass_logins: Option<serde_json::Value>,
}

fn fields(raw: &str) -> Result<SecretFields, Malformed> {
    serde_json::from_str(raw).map_err(|e| not_an_object(e, "string fields"))
}

impl SecretDocument for HookSecrets {
    const ENV_FIELDS: &'static [EnvField] = &[
        EnvField::Text("API_KEY"),
        EnvField::Text("SIGNING_KEY"),
        EnvField::Text("IPINFO_TOKEN"),
        EnvField::Json("APPS"),
        EnvField::Json("BREAK_GLASS_LOGINS"),
    ];

    fn from_json(raw: &str, api_key_required: bool) -> Result<Self, Malformed> {
        Self::from_json(raw, api_key_required)
    }

    fn api_key_of(raw: &str) -> Option<ApiKey> {
        let key = fields(raw).ok().and_then(|f| non_empty(f.api_key))?;
        Some(ApiKey::new(&key))
    }

    fn api_keys(&self) -> &ApiKeys {
        &self.keys
    }

    fn api_keys_mut(&mut self) -> &mut ApiKeys {
        &mut self.keys
    }
}

impl HookSecrets {
    /// Parses the secret's JSON. `API_KEY` may be absent only when `api_key_required` is false.
    pub fn from_json(raw: &str, api_key_required: bool) -> Result<Self, Malformed> {
        let fields = fields(raw)?;
        let api_key = match non_empty(fields.api_key) {
            Some(key) => Some(ApiKey::new(&key)),
            None if api_key_required => return Err(Malformed("API_KEY is missing".into())),
            None => None,
        };
        let apps = match fields.apps {
            None | Some(serde_json::Value::Null) => HashMap::new(),
            Some(serde_json::Value::Object(apps)) => apps
                .iter()
                .map(|(key, entry)| {
                    let read = AppEntry::from_json(entry)
                        .map_err(|why| UnusableEntry::new(key, entry, why));
                    (key.trim().to_string(), read)
                })
                .collect(),
            Some(_) => return Err(Malformed("APPS is not a JSON object of app entries".into())),
        };
        let not_a_list = || Malformed("BREAK_GLASS_LOGINS is not a list of strings".into());
        let break_glass = match fields.break_glass_logins {
            None | Some(serde_json::Value::Null) => HashSet::new(),
            Some(serde_json::Value::Array(logins)) => logins
                .iter()
                .map(|login| login.as_str().map(login_key))
                .collect::<Option<_>>()
                .ok_or_else(not_a_list)?,
            Some(_) => return Err(not_a_list()),
        };
        // Without per-application entries, the default application's key is required: a
        // secret with no NL3 key at all is none the hook can use.
        let signing_key = match non_empty(fields.signing_key) {
            Some(key) => Some(
                decode_signing_key(&key).ok_or_else(|| "SIGNING_KEY is not base64".to_string()),
            ),
            None if apps.is_empty() => return Err(Malformed("SIGNING_KEY is missing".into())),
            None => None,
        };
        Ok(Self {
            keys: ApiKeys::current(api_key),
            signing_key,
            ipinfo_token: non_empty(fields.ipinfo_token),
            apps,
            break_glass,
        })
    }
}

/// A login as break-glass entries are compared: surrounding ASCII whitespace dropped and ASCII
/// letters lowercased, nothing else. No Unicode case mapping or normalisation, so no look-alike
/// matches an entry: the Kelvin sign `\u{212A}` is not `k`, `ẞ` is not `ß`, a decomposed `é` is not
/// the composed one. Okta compares logins case-insensitively; a login with a non-ASCII letter
/// matches only when written in the entry exactly as Okta sends it.
pub fn login_key(login: &str) -> String {
    login
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .to_ascii_lowercase()
}

/// The NL3 application a sign-in is checked as (docs/contract.md §5), as the hook resolves it.
#[derive(Debug, Clone, Copy)]
pub enum ResolvedApp<'a> {
    /// The `APPS` entry of the first key Okta named that has one.
    Entry { key: &'a str, entry: &'a AppEntry },
    /// That entry cannot be used: a failed check, never under a laxer policy than the entry
    /// states ([`UnusableEntry`]).
    Unusable {
        key: &'a str,
        entry: &'a UnusableEntry,
    },
    /// No entry: the default application (`APP_URI` and `SIGNING_KEY`).
    Default {
        app_uri: &'a str,
        signing_key: &'a EncodingKey,
    },
    /// No entry, and the default application's `SIGNING_KEY` cannot be used (`why` names the
    /// field): a failed check under the deployment's policy, which is the default's own.
    DefaultUnusable { why: &'a str },
    /// No entry and no default: `UNLISTED_APPS` decides.
    Unlisted,
}

impl std::fmt::Debug for AppEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppEntry")
            .field("app_uri", &self.app_uri)
            .field("fail_open", &self.fail_open)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl<'a> ResolvedApp<'a> {
    /// How logs and metrics name it: the `APPS` key, `default` or `unlisted` (a bounded set).
    pub fn name(&self) -> &'a str {
        match self {
            Self::Entry { key, .. } | Self::Unusable { key, .. } => key,
            Self::Default { .. } | Self::DefaultUnusable { .. } => "default",
            Self::Unlisted => "unlisted",
        }
    }

    /// NL3's issuer (`APP_URI`) and signing key for this application, when it has usable ones.
    pub fn nl3(&self) -> Option<(&'a str, &'a EncodingKey)> {
        match self {
            Self::Entry { entry, .. } => Some((&entry.app_uri, entry.signing_key())),
            Self::Default {
                app_uri,
                signing_key,
            } => Some((app_uri, signing_key)),
            Self::Unusable { .. } | Self::DefaultUnusable { .. } | Self::Unlisted => None,
        }
    }

    /// The entry's `MODE` over the deployment's; for an unusable entry, its own or `enforce`.
    pub fn mode(&self, deployment: Mode) -> Mode {
        match self {
            Self::Entry { entry, .. } => entry.mode.unwrap_or(deployment),
            Self::Unusable { entry, .. } => entry.mode(),
            Self::Default { .. } | Self::DefaultUnusable { .. } | Self::Unlisted => deployment,
        }
    }

    /// The entry's `FAIL_OPEN` over the deployment's; for an unusable entry, its own or `false`.
    pub fn fail_open(&self, deployment: bool) -> bool {
        match self {
            Self::Entry { entry, .. } => entry.fail_open.unwrap_or(deployment),
            Self::Unusable { entry, .. } => entry.fail_open(),
            Self::Default { .. } | Self::DefaultUnusable { .. } | Self::Unlisted => deployment,
        }
    }

    /// The entry's `LOCKED_MESSAGE`, when it has its own.
    pub fn locked_message(&self) -> Option<&'a str> {
        match self {
            Self::Entry { entry, .. } => entry.locked_message.as_deref(),
            _ => None,
        }
    }
}

impl HookSecrets {
    /// Whether `login` is a break-glass account: equal to an entry up to the case of ASCII
    /// letters, every other character exactly ([`login_key`]).
    pub fn is_break_glass(&self, login: &str) -> bool {
        !self.break_glass.is_empty() && self.break_glass.contains(&login_key(login))
    }

    /// Accepts the previous version's `API_KEY` too, until `until` (the source sets the keys of
    /// the versions it reads; tests, through this).
    #[cfg(test)]
    fn with_previous(mut self, previous_raw: &str, until: SystemTime) -> Self {
        let key = Self::api_key_of(previous_raw).map(|key| (key, until));
        self.keys.set_previous(key);
        self
    }

    /// Accepts the pending version's `API_KEY` too (a rotation in flight).
    #[cfg(test)]
    fn with_pending(mut self, pending_raw: &str) -> Self {
        self.keys.set_pending(Self::api_key_of(pending_raw));
        self
    }

    pub fn has_api_key(&self) -> bool {
        self.keys.has_current()
    }

    /// Whether `presented` carries an accepted `API_KEY` ([`ApiKeys::accepts`]).
    pub fn accepts_api_key(&self, presented: &[u8]) -> bool {
        self.keys.accepts(presented)
    }

    /// The default application's signing key (`SIGNING_KEY`), when there is a usable one.
    pub fn signing_key(&self) -> Option<&EncodingKey> {
        self.signing_key.as_ref()?.as_ref().ok()
    }

    /// The application a sign-in is checked as: the `APPS` entry of the first of `keys` (the
    /// OIDC client ID, the SAML app's ID or issuer URI, in the order Okta's request gives them)
    /// that has one; else the default application, `default_app_uri` (`APP_URI`) with
    /// `SIGNING_KEY`, when both are there (unusable when that key is); else
    /// [`ResolvedApp::Unlisted`].
    pub fn resolve_app<'a, S: AsRef<str>>(
        &'a self,
        keys: &[S],
        default_app_uri: Option<&'a str>,
    ) -> ResolvedApp<'a> {
        let listed = keys
            .iter()
            .find_map(|k| self.apps.get_key_value(k.as_ref()));
        match (listed, default_app_uri, &self.signing_key) {
            (Some((key, Ok(entry))), _, _) => ResolvedApp::Entry { key, entry },
            (Some((key, Err(entry))), _, _) => ResolvedApp::Unusable { key, entry },
            (None, Some(app_uri), Some(Ok(signing_key))) => ResolvedApp::Default {
                app_uri,
                signing_key,
            },
            (None, Some(_), Some(Err(why))) => ResolvedApp::DefaultUnusable { why },
            (None, _, _) => ResolvedApp::Unlisted,
        }
    }

    pub fn ipinfo_token(&self) -> Option<&str> {
        self.ipinfo_token.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parses_the_three_fields_and_decodes_the_signing_key() {
        let s = HookSecrets::from_json(
            r#"{"API_KEY":"k","SIGNING_KEY":"c2lnbmluZy1rZXk=","IPINFO_TOKEN":"t"}"#,
            true,
        )
        .unwrap();
        assert!(s.accepts_api_key(b"k"));
        assert_eq!(s.ipinfo_token(), Some("t"));
    }

    #[test]
    fn malformed_secrets_name_the_field_not_the_value() {
        let cases = [
            (r#"not json"#, "not a JSON object"),
            (r#"{"SIGNING_KEY":"c2s="}"#, "API_KEY is missing"),
            (r#"{"API_KEY":"k"}"#, "SIGNING_KEY is missing"),
            (
                r#"{"API_KEY":"hunter2-value","SIGNING_KEY":5}"#,
                "not a JSON object",
            ),
        ];
        for (raw, expected) in cases {
            let err = HookSecrets::from_json(raw, true).unwrap_err().to_string();
            assert!(err.contains(expected), "{raw}: {err}");
            assert!(!err.contains("hunter2") && !err.contains("%%%"), "{err}");
        }
    }

    #[test]
    fn a_default_key_that_is_not_base64_makes_the_default_app_unusable_not_the_secret() {
        let s = HookSecrets::from_json(
            r#"{"API_KEY":"k","SIGNING_KEY":"%%%-not-b64","BREAK_GLASS_LOGINS":["a@example.com"],
                "APPS":{"crm":{"APP_URI":"https://crm.example.com","SIGNING_KEY":"Y3Jt"}}}"#,
            true,
        )
        .unwrap();
        // Okta's calls can still be authenticated and break-glass logins known.
        assert!(s.accepts_api_key(b"k"));
        assert!(s.is_break_glass("a@example.com"));
        assert!(s.signing_key().is_none());
        let app = s.resolve_app(&["other"], Some("https://app.example.com"));
        let ResolvedApp::DefaultUnusable { why } = app else {
            panic!("{app:?}")
        };
        assert_eq!(why, "SIGNING_KEY is not base64");
        assert_eq!(app.name(), "default");
        assert!(app.nl3().is_none());
        // The default's policy is the deployment's own.
        assert_eq!(app.mode(Mode::Report), Mode::Report);
        assert!(app.fail_open(true));
        // An app with an entry of its own is unaffected.
        assert!(matches!(
            s.resolve_app(&["crm"], Some("https://app.example.com")),
            ResolvedApp::Entry { .. }
        ));
        assert!(!format!("{s:?}").contains("%%%"));
    }

    #[test]
    fn api_key_is_optional_when_not_required() {
        let s = HookSecrets::from_json(r#"{"SIGNING_KEY":"c2s="}"#, false).unwrap();
        assert!(!s.has_api_key());
        assert!(!s.accepts_api_key(b""));
        assert!(s.ipinfo_token().is_none());
    }

    #[test]
    fn previous_key_is_accepted_only_within_its_grace() {
        let current = r#"{"API_KEY":"new","SIGNING_KEY":"c2s="}"#;
        let previous = r#"{"API_KEY":"old","SIGNING_KEY":"c2s="}"#;
        let later = SystemTime::now() + Duration::from_secs(60);
        let s = HookSecrets::from_json(current, true)
            .unwrap()
            .with_previous(previous, later);
        assert!(s.accepts_api_key(b"new") && s.accepts_api_key(b"old"));
        assert!(!s.accepts_api_key(b"other"));
        let past = SystemTime::now() - Duration::from_secs(1);
        let s = HookSecrets::from_json(current, true)
            .unwrap()
            .with_previous(previous, past);
        assert!(s.accepts_api_key(b"new") && !s.accepts_api_key(b"old"));
    }

    #[test]
    fn pending_key_is_accepted_beside_the_current_one() {
        let current = r#"{"API_KEY":"now","SIGNING_KEY":"c2s="}"#;
        let pending = r#"{"API_KEY":"next","SIGNING_KEY":"c2s="}"#;
        let s = HookSecrets::from_json(current, true)
            .unwrap()
            .with_pending(pending);
        assert!(s.accepts_api_key(b"now") && s.accepts_api_key(b"next"));
        assert!(!s.accepts_api_key(b"other"));
        // A pending version without API_KEY adds nothing.
        let s = HookSecrets::from_json(current, true)
            .unwrap()
            .with_pending(r#"{"SIGNING_KEY":"c2s="}"#);
        assert!(s.accepts_api_key(b"now") && !s.accepts_api_key(b""));
    }

    fn apps_secret() -> String {
        serde_json::json!({
            "API_KEY": "k",
            "APPS": {
                "crm-client": {"APP_URI": "https://crm.example.com", "SIGNING_KEY": "Y3Jt",
                               "LOCKED_MESSAGE": "CRM says no.", "FAIL_OPEN": false,
                               "MODE": "report"},
                "http://www.okta.com/exk1": {"APP_URI": "http://127.0.0.1:9", "SIGNING_KEY": "c2FtbA=="},
                "no-key": {"APP_URI": "https://a.example.com"},
                "bad-key": {"APP_URI": "https://a.example.com", "SIGNING_KEY": "%%hunter2%%"},
                "plain-http": {"APP_URI": "http://a.example.com", "SIGNING_KEY": "Y3Jt"},
                "relative": {"APP_URI": "crm", "SIGNING_KEY": "Y3Jt"},
                "not-an-object": "x",
            }
        })
        .to_string()
    }

    #[test]
    fn app_entries_are_read_and_a_bad_one_is_unusable_alone() {
        let s = HookSecrets::from_json(&apps_secret(), true).unwrap();
        assert!(s.signing_key().is_none(), "no default without SIGNING_KEY");
        let crm = s.resolve_app(&["nope", "crm-client"], Some("https://default.example.com"));
        let ResolvedApp::Entry { key, entry } = crm else {
            panic!("{crm:?}")
        };
        assert_eq!(key, "crm-client");
        assert_eq!(entry.app_uri, "https://crm.example.com");
        assert_eq!(crm.locked_message(), Some("CRM says no."));
        assert!(!crm.fail_open(true));
        assert_eq!(crm.mode(Mode::Enforce), Mode::Report);
        assert_eq!(crm.nl3().unwrap().0, "https://crm.example.com");
        assert!(matches!(
            s.resolve_app(&["http://www.okta.com/exk1"], None),
            ResolvedApp::Entry { .. }
        ));
        for (bad, expected) in [
            ("no-key", "app no-key: SIGNING_KEY is missing"),
            ("bad-key", "app bad-key: SIGNING_KEY is not base64"),
            ("plain-http", "app plain-http: APP_URI is not an https URL"),
            ("relative", "app relative: APP_URI is not an absolute URL"),
            (
                "not-an-object",
                "app not-an-object: the entry is not a JSON object",
            ),
        ] {
            let resolved = s.resolve_app(&[bad], None);
            let ResolvedApp::Unusable { key, entry } = resolved else {
                panic!("{bad}: {resolved:?}")
            };
            assert_eq!(key, bad);
            assert!(entry.why.starts_with(expected), "{}", entry.why);
            assert!(!entry.why.contains("hunter2"));
            assert!(resolved.nl3().is_none());
        }
        // No entry and no default application: unlisted, whatever APP_URI says.
        let unlisted = s.resolve_app(&["unlisted"], Some("https://default.example.com"));
        assert!(matches!(unlisted, ResolvedApp::Unlisted), "{unlisted:?}");
        assert_eq!(unlisted.name(), "unlisted");

        let err =
            HookSecrets::from_json(r#"{"API_KEY":"k","SIGNING_KEY":"c2s=","APPS":[1]}"#, true)
                .unwrap_err();
        assert!(
            err.to_string().contains("APPS is not a JSON object"),
            "{err}"
        );
    }

    #[test]
    fn an_unusable_entry_never_inherits_a_laxer_policy_from_the_deployment() {
        let raw = serde_json::json!({
            "API_KEY": "k", "SIGNING_KEY": "c2s=",
            "APPS": {
                // Enforced on purpose, but with a field that cannot be read.
                "enforced": {"APP_URI": "https://a.example.com", "SIGNING_KEY": "Y3Jt",
                             "MODE": "enforce", "LOCKED_MESSAGE": 5},
                // Says nothing of MODE or FAIL_OPEN: the strictest.
                "silent": {"APP_URI": "https://a.example.com"},
                "not-an-object": [1],
                // States both readably: those hold, even where laxer than the strictest.
                "reporting": {"APP_URI": "crm", "SIGNING_KEY": "Y3Jt", "MODE": "report",
                              "FAIL_OPEN": true},
                // A MODE that is neither value, a FAIL_OPEN that is not a boolean.
                "unreadable": {"APP_URI": "https://a.example.com", "SIGNING_KEY": "Y3Jt",
                               "MODE": "watch", "FAIL_OPEN": "yes"},
            }
        })
        .to_string();
        let s = HookSecrets::from_json(&raw, true).unwrap();
        for (key, mode, fail_open) in [
            ("enforced", Mode::Enforce, false),
            ("silent", Mode::Enforce, false),
            ("not-an-object", Mode::Enforce, false),
            ("reporting", Mode::Report, true),
            ("unreadable", Mode::Enforce, false),
        ] {
            let app = s.resolve_app(&[key], Some("https://app.example.com"));
            assert!(
                matches!(app, ResolvedApp::Unusable { .. }),
                "{key}: {app:?}"
            );
            // The deployment reports and fails open: the entry does not inherit either.
            assert_eq!(app.mode(Mode::Report), mode, "{key}");
            assert_eq!(app.fail_open(true), fail_open, "{key}");
            assert!(app.nl3().is_none(), "{key}");
        }
    }

    #[test]
    fn an_app_without_an_entry_is_the_default_with_the_deployments_policy() {
        let s = HookSecrets::from_json(
            r#"{"API_KEY":"k","SIGNING_KEY":"c2s=","APPS":{"crm":{"APP_URI":"https://crm.example.com","SIGNING_KEY":"Y3Jt","MODE":"report"}}}"#,
            true,
        )
        .unwrap();
        let none: [&str; 0] = [];
        for keys in [&["other"][..], &none[..]] {
            let app = s.resolve_app(keys, Some("https://app.example.com"));
            assert!(matches!(app, ResolvedApp::Default { .. }), "{app:?}");
            assert_eq!(app.name(), "default");
            assert_eq!(app.nl3().unwrap().0, "https://app.example.com");
            assert_eq!(app.mode(Mode::Report), Mode::Report);
            assert_eq!(app.mode(Mode::Enforce), Mode::Enforce);
            assert!(app.fail_open(true) && !app.fail_open(false));
            assert_eq!(app.locked_message(), None);
        }
        // Without APP_URI there is no default application.
        assert!(matches!(
            s.resolve_app(&["other"], None),
            ResolvedApp::Unlisted
        ));
    }

    #[test]
    fn break_glass_logins_are_matched_on_the_document() {
        let s = HookSecrets::from_json(
            r#"{"API_KEY":"k","SIGNING_KEY":"c2s=","BREAK_GLASS_LOGINS":[" Admin@Example.com "]}"#,
            true,
        )
        .unwrap();
        assert!(s.is_break_glass("admin@example.com"));
        assert!(s.is_break_glass("ADMIN@EXAMPLE.COM "));
        assert!(!s.is_break_glass("admin@example.org"));
        assert!(!s.is_break_glass(""));
    }

    #[test]
    fn break_glass_logins_match_by_ascii_case_alone_so_no_look_alike_matches() {
        let logins = serde_json::json!([
            "kevin@example.com",
            "straße@example.com",
            "e\u{301}lise@example.com",
            "ÅSA@example.com",
        ]);
        let s = HookSecrets::from_json(
            &serde_json::json!({"API_KEY": "k", "SIGNING_KEY": "c2s=", "BREAK_GLASS_LOGINS": logins})
                .to_string(),
            true,
        )
        .unwrap();
        for (login, matches) in [
            ("KEVIN@Example.COM", true),
            ("\u{212A}evin@example.com", false), // KELVIN SIGN, lowercased to k by Unicode
            ("straße@EXAMPLE.com", true),
            ("STRAẞE@example.com", false), // capital sharp s, lowercased to ß by Unicode
            ("strasse@example.com", false),
            ("e\u{301}lise@example.com", true),
            ("\u{e9}lise@example.com", false), // composed é: the same text only once normalised
            ("ÅSA@example.com", true),
            ("åsa@example.com", false), // a non-ASCII letter is compared as written
            ("kevin@example.com\u{a0}", false), // a no-break space is not trimmed
        ] {
            assert_eq!(s.is_break_glass(login), matches, "{login:?}");
        }
    }

    #[test]
    fn debug_output_hides_values() {
        let s = HookSecrets::from_json(
            r#"{"API_KEY":"hunter2","SIGNING_KEY":"c2s=","IPINFO_TOKEN":"tok-hunter2"}"#,
            true,
        )
        .unwrap()
        .with_pending(r#"{"API_KEY":"hunter2-pending"}"#);
        assert!(!format!("{s:?}").contains("hunter2"));
        let k = KeysOnly::from_json(r#"{"API_KEY":"hunter2"}"#, true).unwrap();
        assert!(!format!("{k:?}").contains("hunter2"));
    }

    #[test]
    fn keys_only_reads_api_key_and_nothing_that_signs() {
        // The signing key, APPS and the rest are skipped unread: a value that would make the
        // whole secret malformed for the hook (a number where a string goes, APPS not an
        // object, a list of numbers) does not matter to a receiver.
        let raw = r#"{"API_KEY":"k","SIGNING_KEY":5,"APPS":[1],"BREAK_GLASS_LOGINS":[2],"IPINFO_TOKEN":{}}"#;
        assert!(HookSecrets::from_json(raw, true).is_err());
        let k = KeysOnly::from_json(raw, true).unwrap();
        assert!(k.api_keys().has_current());
        assert!(k.api_keys().accepts(b"k") && !k.api_keys().accepts(b"x"));
        for (raw, expected) in [
            (r#"{"SIGNING_KEY":"c2s="}"#, "API_KEY is missing"),
            (r#"{"API_KEY":" "}"#, "API_KEY is missing"),
            (
                r#"{"API_KEY":5}"#,
                "not a JSON object with a string API_KEY",
            ),
            ("[]", "not a JSON object"),
        ] {
            let err = KeysOnly::from_json(raw, true).unwrap_err().to_string();
            assert!(err.contains(expected), "{raw}: {err}");
        }
        assert!(!KeysOnly::from_json("{}", false)
            .unwrap()
            .api_keys()
            .has_current());
        // Another version's key is read the same way.
        assert!(KeysOnly::api_key_of(r#"{"API_KEY":"old","SIGNING_KEY":5}"#).is_some());
        assert!(KeysOnly::api_key_of(r#"{"SIGNING_KEY":"c2s="}"#).is_none());
        // From the environment it takes API_KEY alone.
        assert_eq!(KeysOnly::ENV_FIELDS, &[EnvField::Text("API_KEY")]);
    }

    #[test]
    fn keys_by_stage_are_compared_together() {
        let mut keys = KeysOnly::from_json(r#"{"API_KEY":"now"}"#, true)
            .unwrap()
            .keys;
        keys.set_pending(Some(ApiKey::new("next")));
        keys.set_previous(Some((
            ApiKey::new("old"),
            SystemTime::now() + Duration::from_secs(60),
        )));
        assert!(keys.accepts_pending() && keys.accepts_previous());
        for accepted in ["now", "next", "old"] {
            assert!(keys.accepts(accepted.as_bytes()), "{accepted}");
        }
        assert!(!keys.accepts(b"other"));
        keys.set_pending(None);
        assert!(!keys.accepts(b"next") && !keys.accepts_pending());
    }
}

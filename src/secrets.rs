//! The hook's three secrets (`API_KEY`, `SIGNING_KEY`, `IPINFO_TOKEN`): from AWS Secrets Manager
//! when `SECRET_ID` is set, from the environment otherwise (docs/contract.md §5).
//!
//! Secrets Manager is read through the [`Refreshing`] cache: fetched once, refreshed after
//! `SECRET_TTL_SECONDS`, a stale secret keeps serving while Secrets Manager is down (up to
//! [`MAX_STALE`]), and a failed authentication may force a refresh, at most once per
//! [`FORCED_REFRESH_INTERVAL`].
//!
//! Rotation with no refusal window: the secret's `AWSCURRENT` version gives the keys, and for
//! `API_KEY_GRACE_SECONDS` after that version was created the `AWSPREVIOUS` version's `API_KEY`
//! is accepted too. Rotating is `put-secret-value` and updating Okta, in either order.
//! While a rotation is in flight (nl3-okta-rotate, docs/operations.md#rotating-the-hook-secret), the
//! `AWSPENDING` version's `API_KEY` is accepted as well: Okta may already send it before it
//! becomes `AWSCURRENT`.
//!
//! (Why not `aws_secretsmanager_caching`: it depends on the SDK with default features, which pulls
//! a second, legacy TLS stack into the binary, and its cache has no single flight or forced
//! refresh rate limit.)

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::api_key::{decode_base64, ApiKey, Presented};
use crate::cache::{CachePolicy, Got, Refreshing, Stale, WhenLimited};
use crate::config::Mode;
use jsonwebtoken::EncodingKey;

/// The shortest time between two forced refreshes: under a flood of wrong keys, Secrets Manager
/// is asked at most this often per execution environment.
pub const FORCED_REFRESH_INTERVAL: Duration = Duration::from_secs(1);
/// How long a call waits for a refresh when it could serve the cached (expired) secret instead.
pub const STALE_REFRESH_WAIT: Duration = Duration::from_millis(300);
/// How long past its TTL a secret keeps serving while Secrets Manager cannot be read.
pub const MAX_STALE: Duration = Duration::from_secs(24 * 3600);
/// A failed read is remembered this long (or the TTL, if shorter) before the next attempt.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Secrets ready for use: API keys as digests, signing keys decoded and ready to sign.
pub struct HookSecrets {
    /// `None` only when OAuth authenticates Okta's calls and no `API_KEY` is configured.
    api_key: Option<ApiKey>,
    /// The previous version's key and when it stops being accepted.
    previous_api_key: Option<(ApiKey, SystemTime)>,
    /// The `AWSPENDING` version's key, while a rotation is in flight.
    pending_api_key: Option<ApiKey>,
    /// The default application's key; `None` only when `APPS` has entries.
    signing_key: Option<EncodingKey>,
    ipinfo_token: Option<String>,
    /// Per-application entries (`APPS`), by the key Okta's request names the app with.
    apps: HashMap<String, AppEntry>,
    /// `BREAK_GLASS_LOGINS`, lowercased: a failed check never refuses these accounts.
    break_glass: HashSet<String>,
}

/// One application's NL3 settings from `APPS`, or why it cannot be used.
pub type AppEntry = Result<App, String>;

/// An application registered at NL3 with a signing key of its own.
pub struct App {
    pub app_uri: String,
    signing_key: EncodingKey,
    pub locked_message: Option<String>,
    pub fail_open: Option<bool>,
    pub mode: Option<Mode>,
}

impl App {
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

/// An application's `APP_URI` is an absolute https URL (http only for loopback, for tests and
/// local runs): it is the NL3 token's issuer.
fn check_app_uri(uri: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(uri).map_err(|_| "APP_URI is not an absolute URL")?;
    let host = url.host_str().unwrap_or("");
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if loopback => Ok(()),
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
            .field("api_key", &self.api_key.as_ref().map(|_| ".."))
            .field(
                "previous_api_key_until",
                &self.previous_api_key.as_ref().map(|(_, until)| until),
            )
            .field(
                "pending_api_key",
                &self.pending_api_key.as_ref().map(|_| ".."),
            )
            .field("signing_key", &self.signing_key.as_ref().map(|_| ".."))
            .field("ipinfo_token", &self.ipinfo_token.as_ref().map(|_| ".."))
            .field("apps", &self.apps.keys().collect::<Vec<_>>())
            .field("break_glass_logins", &self.break_glass.len())
            .finish()
    }
}

/// Why the secrets are not available. Messages name fields, never values.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SecretsError {
    #[error("secret is malformed: {0}")]
    Malformed(String),
    #[error("Secrets Manager call failed: {text}")]
    Fetch {
        text: String,
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    #[error("Secrets Manager did not answer in time")]
    TimedOut,
}

impl From<Stale> for SecretsError {
    fn from(_: Stale) -> Self {
        Self::TimedOut
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

fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn fields(raw: &str) -> Result<SecretFields, SecretsError> {
    serde_json::from_str(raw).map_err(|e| {
        // serde's message can quote a value ("invalid type: string \"…\""): keep only the class.
        SecretsError::Malformed(format!(
            "not a JSON object with string fields ({:?} error)",
            e.classify()
        ))
    })
}

/// The `API_KEY` of another version of the secret, if it has a usable one.
fn api_key_of(raw: &str) -> Option<ApiKey> {
    let key = fields(raw).ok().and_then(|f| non_empty(f.api_key))?;
    Some(ApiKey::new(&key))
}

impl HookSecrets {
    /// Parses the secret's JSON. `API_KEY` may be absent only when `api_key_required` is false.
    pub fn from_json(raw: &str, api_key_required: bool) -> Result<Self, SecretsError> {
        let fields = fields(raw)?;
        let api_key = match non_empty(fields.api_key) {
            Some(key) => Some(ApiKey::new(&key)),
            None if api_key_required => {
                return Err(SecretsError::Malformed("API_KEY is missing".into()))
            }
            None => None,
        };
        let apps = match fields.apps {
            None | Some(serde_json::Value::Null) => HashMap::new(),
            Some(serde_json::Value::Object(apps)) => apps
                .iter()
                .map(|(key, entry)| {
                    let entry = App::from_json(entry).map_err(|why| format!("app {key}: {why}"));
                    (key.trim().to_string(), entry)
                })
                .collect(),
            Some(_) => {
                return Err(SecretsError::Malformed(
                    "APPS is not a JSON object of app entries".into(),
                ))
            }
        };
        let not_a_list =
            || SecretsError::Malformed("BREAK_GLASS_LOGINS is not a list of strings".into());
        let break_glass = match fields.break_glass_logins {
            None | Some(serde_json::Value::Null) => HashSet::new(),
            Some(serde_json::Value::Array(logins)) => logins
                .iter()
                .map(|login| login.as_str().map(|l| l.trim().to_lowercase()))
                .collect::<Option<_>>()
                .ok_or_else(not_a_list)?,
            Some(_) => return Err(not_a_list()),
        };
        // Without per-application entries, the default application's key is required.
        let signing_key = match non_empty(fields.signing_key) {
            Some(key) => Some(
                decode_signing_key(&key)
                    .ok_or_else(|| SecretsError::Malformed("SIGNING_KEY is not base64".into()))?,
            ),
            None if apps.is_empty() => {
                return Err(SecretsError::Malformed("SIGNING_KEY is missing".into()))
            }
            None => None,
        };
        Ok(Self {
            api_key,
            previous_api_key: None,
            pending_api_key: None,
            signing_key,
            ipinfo_token: non_empty(fields.ipinfo_token),
            apps,
            break_glass,
        })
    }

    /// Whether `login` is a break-glass account (compared case-insensitively, as Okta compares
    /// logins).
    pub fn is_break_glass(&self, login: &str) -> bool {
        !self.break_glass.is_empty() && self.break_glass.contains(&login.trim().to_lowercase())
    }

    /// Accepts the previous version's `API_KEY` too, until `until`.
    fn with_previous(mut self, previous_raw: &str, until: SystemTime) -> Self {
        self.previous_api_key = api_key_of(previous_raw).map(|key| (key, until));
        self
    }

    /// Accepts the pending version's `API_KEY` too (a rotation in flight).
    fn with_pending(mut self, pending_raw: &str) -> Self {
        self.pending_api_key = api_key_of(pending_raw);
        self
    }

    pub fn has_api_key(&self) -> bool {
        self.api_key.is_some()
    }

    /// Whether `presented` carries the current `API_KEY`, the pending one, or the previous one
    /// within its grace period. All are compared whatever the first gave (constant time per call).
    pub fn accepts_api_key(&self, presented: &[u8]) -> bool {
        let presented = Presented::new(presented);
        let current = self
            .api_key
            .as_ref()
            .is_some_and(|k| k.matches_presented(&presented));
        let previous = self.previous_api_key.as_ref().is_some_and(|(k, until)| {
            k.matches_presented(&presented) & (SystemTime::now() < *until)
        });
        let pending = self
            .pending_api_key
            .as_ref()
            .is_some_and(|k| k.matches_presented(&presented));
        current | previous | pending
    }

    /// The default application's signing key (`SIGNING_KEY`), when there is one.
    pub fn signing_key(&self) -> Option<&EncodingKey> {
        self.signing_key.as_ref()
    }

    /// The entry of the application Okta names with any of `keys`, with the key that matched.
    pub fn app(&self, keys: &[String]) -> Option<(&str, &AppEntry)> {
        keys.iter()
            .find_map(|k| self.apps.get_key_value(k.as_str()))
            .map(|(k, entry)| (k.as_str(), entry))
    }

    pub fn ipinfo_token(&self) -> Option<&str> {
        self.ipinfo_token.as_deref()
    }
}

/// Where secrets come from, with the cache in front of Secrets Manager.
pub struct SecretSource(Source);

enum Source {
    /// Parsed once from the environment (or a malformed environment, reported on every call).
    Fixed(Result<Arc<HookSecrets>, SecretsError>),
    SecretsManager(Box<SecretsManager>),
}

struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    api_key_grace: Duration,
    api_key_required: bool,
    cache: Refreshing<HookSecrets, SecretsError>,
}

/// A Secrets Manager client tuned for a call with a 3 s deadline: short connect timeout and
/// one quick retry, so an outage is noticed in milliseconds rather than after the SDK's default
/// backoff (the stale secret or `FAIL_OPEN` then answers).
pub fn secrets_manager_client(
    builder: aws_sdk_secretsmanager::config::Builder,
    operation_timeout: Duration,
) -> aws_sdk_secretsmanager::Client {
    use aws_sdk_secretsmanager::config::retry::RetryConfig;
    use aws_sdk_secretsmanager::config::timeout::TimeoutConfig;
    let config = builder
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(20)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(500))
                .operation_timeout(operation_timeout)
                .build(),
        )
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// How Secrets Manager is read.
pub struct SecretsManagerSettings {
    pub secret_id: String,
    pub ttl: Duration,
    pub api_key_grace: Duration,
    pub api_key_required: bool,
}

impl SecretSource {
    pub fn from_environment(json: &str, api_key_required: bool) -> Self {
        Self(Source::Fixed(
            HookSecrets::from_json(json, api_key_required).map(Arc::new),
        ))
    }

    pub fn secrets_manager(
        client: aws_sdk_secretsmanager::Client,
        settings: SecretsManagerSettings,
    ) -> Self {
        let policy = CachePolicy {
            ttl: settings.ttl,
            max_stale: MAX_STALE,
            stale_wait: STALE_REFRESH_WAIT,
            // Never remember a failure longer than a success would be.
            retry_after_failure: RETRY_AFTER_FAILURE.min(settings.ttl),
            forced_interval: FORCED_REFRESH_INTERVAL,
        };
        Self(Source::SecretsManager(Box::new(SecretsManager {
            client,
            secret_id: settings.secret_id,
            api_key_grace: settings.api_key_grace,
            api_key_required: settings.api_key_required,
            cache: Refreshing::new(policy),
        })))
    }

    /// The current secrets, from the cache when fresh. Callers bound this with their deadline;
    /// after a failed read, one that leaves room for the next attempt waits for it.
    pub async fn get(&self, deadline: Option<Instant>) -> Got<HookSecrets, SecretsError> {
        match &self.0 {
            Source::Fixed(result) => Got {
                result: result.clone(),
                fetched: false,
            },
            Source::SecretsManager(sm) => {
                let deadline = deadline.map(tokio::time::Instant::from_std);
                sm.cache.get(deadline, || sm.fetch()).await
            }
        }
    }

    /// After a failed authentication: secrets read no earlier than `since` (the call's start),
    /// waiting for the rate limit's next slot if need be. `None` when the source cannot change.
    pub async fn refresh_since(
        &self,
        since: tokio::time::Instant,
    ) -> Option<Got<HookSecrets, SecretsError>> {
        match &self.0 {
            Source::Fixed(_) => None,
            Source::SecretsManager(sm) => Some(
                sm.cache
                    .refresh(since, WhenLimited::Wait, || sm.fetch())
                    .await,
            ),
        }
    }
}

fn fetch_error(
    e: aws_sdk_secretsmanager::error::SdkError<
        impl std::error::Error + Send + Sync + 'static,
        impl std::fmt::Debug + Send + Sync + 'static,
    >,
) -> SecretsError {
    use aws_sdk_secretsmanager::error::DisplayErrorContext;
    SecretsError::Fetch {
        text: DisplayErrorContext(&e).to_string(),
        source: Arc::new(e),
    }
}

impl SecretsManager {
    /// Reads `AWSCURRENT`, `AWSPENDING` and, when a grace period is set, `AWSPREVIOUS` in
    /// parallel.
    async fn fetch(&self) -> Result<HookSecrets, SecretsError> {
        let started = Instant::now();
        // By stage, like the others (moto, unlike AWS, reads a version it calls the default
        // when none is named, and misses a label moved by UpdateSecretVersionStage).
        let current = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_stage("AWSCURRENT")
            .send();
        let previous = async {
            if self.api_key_grace.is_zero() {
                return None;
            }
            let call = self
                .client
                .get_secret_value()
                .secret_id(&self.secret_id)
                .version_stage("AWSPREVIOUS")
                .send();
            // No previous version (a new secret) is the usual case, not an error.
            call.await.ok()
        };
        // No pending version (no rotation in flight), or one still without a value (Secrets
        // Manager creates it empty before createSecret), is the usual case, not an error.
        let pending = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_stage("AWSPENDING")
            .send();
        let (current, previous, pending) = tokio::join!(current, previous, pending);
        let current = current.map_err(fetch_error)?;
        let raw = current.secret_string().ok_or_else(|| {
            SecretsError::Malformed(
                "secret has no SecretString (binary secrets are not supported)".into(),
            )
        })?;
        let mut secrets = HookSecrets::from_json(raw, self.api_key_required)?;
        let created = current
            .created_date()
            .and_then(|d| u64::try_from(d.secs()).ok())
            .map(|s| UNIX_EPOCH + Duration::from_secs(s));
        if let (Some(created), Some(previous)) = (created, previous) {
            let until = created + self.api_key_grace;
            if let (Some(raw), true) = (previous.secret_string(), SystemTime::now() < until) {
                secrets = secrets.with_previous(raw, until);
            }
        }
        if let Some(pending) = pending
            .ok()
            .filter(|p| p.version_id() != current.version_id())
        {
            if let Some(raw) = pending.secret_string() {
                secrets = secrets.with_pending(raw);
            }
        }
        tracing::info!(
            secret_id = %self.secret_id,
            version = current.version_id().unwrap_or(""),
            previous_api_key_accepted = secrets.previous_api_key.is_some(),
            pending_api_key_accepted = secrets.pending_api_key.is_some(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "secret fetched from Secrets Manager"
        );
        Ok(secrets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                r#"{"API_KEY":"k","SIGNING_KEY":"%%%-not-b64"}"#,
                "SIGNING_KEY is not base64",
            ),
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

    #[test]
    fn app_entries_are_read_and_a_bad_one_is_unusable_alone() {
        let raw = serde_json::json!({
            "API_KEY": "k",
            "APPS": {
                "crm-client": {"APP_URI": "https://crm.example.com", "SIGNING_KEY": "Y3Jt",
                               "LOCKED_MESSAGE": "CRM says no.", "FAIL_OPEN": false},
                "http://www.okta.com/exk1": {"APP_URI": "http://127.0.0.1:9", "SIGNING_KEY": "c2FtbA=="},
                "no-key": {"APP_URI": "https://a.example.com"},
                "bad-key": {"APP_URI": "https://a.example.com", "SIGNING_KEY": "%%hunter2%%"},
                "plain-http": {"APP_URI": "http://a.example.com", "SIGNING_KEY": "Y3Jt"},
                "relative": {"APP_URI": "crm", "SIGNING_KEY": "Y3Jt"},
                "not-an-object": "x",
            }
        })
        .to_string();
        let s = HookSecrets::from_json(&raw, true).unwrap();
        assert!(s.signing_key().is_none(), "no default without SIGNING_KEY");
        let (key, crm) = s.app(&["nope".into(), "crm-client".into()]).unwrap();
        assert_eq!(key, "crm-client");
        let crm = crm.as_ref().unwrap();
        assert_eq!(crm.app_uri, "https://crm.example.com");
        assert_eq!(crm.locked_message.as_deref(), Some("CRM says no."));
        assert_eq!(crm.fail_open, Some(false));
        assert!(s
            .app(&["http://www.okta.com/exk1".into()])
            .unwrap()
            .1
            .is_ok());
        for (bad, why) in [
            ("no-key", "app no-key: SIGNING_KEY is missing"),
            ("bad-key", "app bad-key: SIGNING_KEY is not base64"),
            ("plain-http", "app plain-http: APP_URI is not an https URL"),
            ("relative", "app relative: APP_URI is not an absolute URL"),
            (
                "not-an-object",
                "app not-an-object: the entry is not a JSON object",
            ),
        ] {
            let reason = s.app(&[bad.into()]).unwrap().1.as_ref().err().unwrap();
            assert!(reason.starts_with(why), "{reason}");
            assert!(!reason.contains("hunter2"));
        }
        assert!(s.app(&["unlisted".into()]).is_none());

        let err =
            HookSecrets::from_json(r#"{"API_KEY":"k","SIGNING_KEY":"c2s=","APPS":[1]}"#, true)
                .unwrap_err();
        assert!(
            err.to_string().contains("APPS is not a JSON object"),
            "{err}"
        );
    }

    #[test]
    fn debug_output_hides_values() {
        let s = HookSecrets::from_json(
            r#"{"API_KEY":"hunter2","SIGNING_KEY":"c2s=","IPINFO_TOKEN":"tok-hunter2"}"#,
            true,
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}

//! The hook's three secrets (`API_KEY`, `SIGNING_KEY`, `IPINFO_TOKEN`): from AWS Secrets Manager
//! when `SECRET_ID` is set, from the environment otherwise (CONTRACT §5).
//!
//! Fetched once and cached across invocations. A cached value past its TTL is refetched; if that
//! fetch fails or is slow, the stale value keeps serving (Secrets Manager being down must not
//! break sign-ins that worked a minute ago, nor eat their budget). A hook call that fails authentication may force one early refresh,
//! at most once per [`FORCED_REFRESH_INTERVAL`], so a rotated `API_KEY` works without a redeploy.
//!
//! (Why not `aws_secretsmanager_caching`: it depends on the SDK with default features, which pulls
//! a second, legacy TLS stack into the binary. The cache the hook needs is the few lines below.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::EncodingKey;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::hook_auth::{decode_base64, ApiKey};
use crate::upstream::AtMostEvery;

/// The shortest time between two forced refreshes (after failed authentications).
pub const FORCED_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// How long a call waits for a refresh when it could serve the cached (expired) secret instead.
pub const STALE_REFRESH_WAIT: Duration = Duration::from_millis(300);
/// After a failed refresh, the cached secret is served this long before the next attempt.
pub const STALE_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Secrets ready for use: the API key as a digest, the signing key decoded and ready to sign.
pub struct HookSecrets {
    /// `None` only when OAuth authenticates Okta's calls and no `API_KEY` is configured.
    pub api_key: Option<ApiKey>,
    pub signing_key: EncodingKey,
    pub ipinfo_token: Option<String>,
}

impl std::fmt::Debug for HookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookSecrets")
            .field("api_key", &self.api_key.as_ref().map(|_| ".."))
            .field("signing_key", &"..")
            .field("ipinfo_token", &self.ipinfo_token.as_ref().map(|_| ".."))
            .finish()
    }
}

/// Why the secrets are not available. Messages name fields, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    #[error("secret is malformed: {0}")]
    Malformed(String),
    #[error("Secrets Manager call failed: {0}")]
    Fetch(String),
}

#[derive(Deserialize)]
struct SecretFields {
    #[serde(rename = "API_KEY")]
    api_key: Option<String>,
    #[serde(rename = "SIGNING_KEY")]
    signing_key: Option<String>,
    #[serde(rename = "IPINFO_TOKEN")]
    ipinfo_token: Option<String>,
}

impl HookSecrets {
    /// Parses the secret's JSON. `API_KEY` may be absent only when `api_key_required` is false.
    pub fn from_json(raw: &str, api_key_required: bool) -> Result<Self, SecretsError> {
        let fields: SecretFields = serde_json::from_str(raw).map_err(|e| {
            // serde's message can quote a value ("invalid type: string \"…\""): keep only the class.
            SecretsError::Malformed(format!(
                "not a JSON object with string fields ({:?} error)",
                e.classify()
            ))
        })?;
        let non_empty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        let api_key = match non_empty(fields.api_key) {
            Some(key) => Some(ApiKey::new(key.trim())),
            None if api_key_required => {
                return Err(SecretsError::Malformed("API_KEY is missing".into()))
            }
            None => None,
        };
        let signing_key = non_empty(fields.signing_key)
            .ok_or_else(|| SecretsError::Malformed("SIGNING_KEY is missing".into()))?;
        // NL3 signs with the base64-decoded key from its company portal (CONTRACT §3).
        let decoded = decode_base64(signing_key.trim().as_bytes())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| SecretsError::Malformed("SIGNING_KEY is not base64".into()))?;
        Ok(Self {
            api_key,
            signing_key: EncodingKey::from_secret(&decoded),
            ipinfo_token: non_empty(fields.ipinfo_token).map(|t| t.trim().to_string()),
        })
    }
}

/// Where secrets come from, with the cache in front of Secrets Manager.
pub enum SecretSource {
    /// Parsed once from the environment (or a malformed environment, reported on every call).
    Fixed(Result<Arc<HookSecrets>, SecretsError>),
    SecretsManager(Box<SecretsManagerCache>),
}

pub struct SecretsManagerCache {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    ttl: Duration,
    api_key_required: bool,
    cached: Mutex<Option<Cached>>,
    /// One fetch at a time: concurrent invocations wait for it instead of stampeding.
    fetching: tokio::sync::Mutex<()>,
    forced_refresh: AtMostEvery,
    fetches: AtomicU64,
}

#[derive(Clone)]
struct Cached {
    secrets: Arc<HookSecrets>,
    fetched_at: Instant,
    /// SHA-256 of the secret's text: an unchanged secret keeps its `Arc`, so a forced refresh
    /// can tell a real rotation from a re-read.
    text_digest: [u8; 32],
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

impl SecretSource {
    pub fn from_environment(raw_json: &str, api_key_required: bool) -> Self {
        Self::Fixed(HookSecrets::from_json(raw_json, api_key_required).map(Arc::new))
    }

    pub fn secrets_manager(
        client: aws_sdk_secretsmanager::Client,
        secret_id: String,
        ttl: Duration,
        api_key_required: bool,
    ) -> Self {
        Self::SecretsManager(Box::new(SecretsManagerCache {
            client,
            secret_id,
            ttl,
            api_key_required,
            cached: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
            forced_refresh: AtMostEvery::new(FORCED_REFRESH_INTERVAL),
            fetches: AtomicU64::new(0),
        }))
    }

    /// The current secrets, from the cache when fresh. Callers bound this with their deadline.
    pub async fn get(&self) -> Result<Arc<HookSecrets>, SecretsError> {
        match self {
            Self::Fixed(result) => result.clone(),
            Self::SecretsManager(cache) => cache.get().await,
        }
    }

    /// After a failed authentication: fetch again unless that was done recently. Returns the new
    /// secrets when a refresh happened and gave different ones, `None` otherwise.
    pub async fn refresh_after_auth_failure(&self) -> Option<Arc<HookSecrets>> {
        match self {
            Self::Fixed(_) => None,
            Self::SecretsManager(cache) => cache.forced_refresh().await,
        }
    }

    /// How many times Secrets Manager was called (for metrics and benchmarks).
    pub fn fetch_count(&self) -> u64 {
        match self {
            Self::Fixed(_) => 0,
            Self::SecretsManager(cache) => cache.fetches.load(Ordering::Relaxed),
        }
    }
}

impl SecretsManagerCache {
    fn cached(&self) -> Option<Cached> {
        self.cached
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    async fn get(&self) -> Result<Arc<HookSecrets>, SecretsError> {
        if let Some(c) = self.cached().filter(|c| c.fetched_at.elapsed() < self.ttl) {
            return Ok(c.secrets);
        }
        let _one_fetch = self.fetching.lock().await;
        // Someone else may have fetched while we waited.
        let stale = match self.cached() {
            Some(c) if c.fetched_at.elapsed() < self.ttl => return Ok(c.secrets),
            other => other,
        };
        let Some(stale) = stale else {
            return self.fetch().await;
        };
        // A stale secret still works: wait briefly for a fresh one, then carry on with the stale
        // one and leave Secrets Manager alone for a while, so an outage costs each call nothing.
        match tokio::time::timeout(STALE_REFRESH_WAIT, self.fetch()).await {
            Ok(Ok(secrets)) => Ok(secrets),
            outcome => {
                let why = match outcome {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out".to_string(),
                };
                tracing::warn!(error = %why, "secret refresh failed; serving the cached secret");
                self.keep_stale(stale.clone());
                Ok(stale.secrets)
            }
        }
    }

    /// Marks a stale entry fresh until [`STALE_RETRY_AFTER`] from now.
    fn keep_stale(&self, stale: Cached) {
        let fetched_at = Instant::now()
            .checked_sub(self.ttl.saturating_sub(STALE_RETRY_AFTER))
            .unwrap_or_else(Instant::now);
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(Cached {
            fetched_at,
            ..stale
        });
    }

    async fn forced_refresh(&self) -> Option<Arc<HookSecrets>> {
        if !self.forced_refresh.try_now() {
            return None;
        }
        let before = self.cached().map(|c| c.secrets);
        let _one_fetch = self.fetching.lock().await;
        match self.fetch().await {
            Ok(fresh) if before.as_ref().is_none_or(|b| !Arc::ptr_eq(b, &fresh)) => Some(fresh),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "forced secret refresh failed");
                None
            }
        }
    }

    /// One GetSecretValue call; on success the cache holds the result.
    async fn fetch(&self) -> Result<Arc<HookSecrets>, SecretsError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let output = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| {
                use aws_sdk_secretsmanager::error::DisplayErrorContext;
                SecretsError::Fetch(DisplayErrorContext(&e).to_string())
            })?;
        let raw = output.secret_string().ok_or_else(|| {
            SecretsError::Malformed(
                "secret has no SecretString (binary secrets are not supported)".into(),
            )
        })?;
        let text_digest: [u8; 32] = Sha256::digest(raw.as_bytes()).into();
        let secrets = match self.cached() {
            Some(c) if c.text_digest == text_digest => c.secrets,
            _ => Arc::new(HookSecrets::from_json(raw, self.api_key_required)?),
        };
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(Cached {
            secrets: secrets.clone(),
            fetched_at: Instant::now(),
            text_digest,
        });
        tracing::info!(
            secret_id = %self.secret_id,
            version = output.version_id().unwrap_or(""),
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
        assert!(s.api_key.unwrap().matches(b"k"));
        assert_eq!(s.ipinfo_token.as_deref(), Some("t"));
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
        assert!(s.api_key.is_none());
        assert!(s.ipinfo_token.is_none());
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

//! Okta's OAuth 2.0 hook authentication (docs/contract.md §1): the call carries `Authorization: Bearer
//! <access token>`, an RS256 JWT from the authorization server at the hook's `tokenUrl`.
//!
//! Verified: the signature with a key from the issuer's JWKS (RS256 only; the key must be RSA and
//! not declare another algorithm), `iss`, `aud`, `exp`/`nbf` with a small leeway, the scope in
//! `scp`, and `cid` when configured. The JWKS goes through the [`Refreshing`] cache
//! ([`JWKS_POLICY`]); a token signed with an unknown `kid` triggers one re-read, at most every
//! [`UNKNOWN_KID_REFETCH_INTERVAL`] (Okta rotates keys, and a flood of made-up `kid`s must not
//! become a flood of JWKS requests).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use nl3_shared::http_client::{describe, read_capped, redirect};
use serde::Deserialize;

use crate::config::OAuthSettings;
use nl3_shared::cache::{CachePolicy, Refreshing, Stale, WhenLimited};

pub const UNKNOWN_KID_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// Keys are re-read this often even without an unknown `kid`, so a revoked key stops working.
pub const JWKS_TTL: Duration = Duration::from_secs(3600);
/// Clock skew allowed on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 30;
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Why a bearer token is refused. Never quotes the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is not a JWT: {0}")]
    Malformed(String),
    #[error("token algorithm {0} is not RS256")]
    Algorithm(String),
    #[error("token has no kid")]
    NoKid,
    #[error("no key {0:?} in the issuer's JWKS")]
    UnknownKid(String),
    #[error("key {0:?} is not an RS256 RSA key")]
    KeyNotRs256(String),
    #[error("JWKS unavailable: {0}")]
    Jwks(String),
    #[error("token rejected: {0}")]
    Invalid(String),
    #[error("token lacks scope {0:?}")]
    MissingScope(String),
    #[error("token client id does not match OAUTH_CLIENT_ID")]
    WrongClient,
    #[error("JWKS did not arrive in time")]
    JwksTimedOut,
}

impl From<Stale> for TokenError {
    fn from(_: Stale) -> Self {
        Self::JwksTimedOut
    }
}

/// The access-token claims the hook checks beyond what `Validation` does.
#[derive(Debug, Deserialize)]
struct AccessClaims {
    /// Validation checks its value; this makes sure it is one string (an array holding the
    /// right issuer among others is not Okta's token).
    #[allow(dead_code)]
    iss: String,
    /// Okta puts granted scopes in `scp`, an array.
    #[serde(default)]
    scp: Option<ScopeClaim>,
    /// Other servers use a space-separated `scope` string.
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    cid: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ScopeClaim {
    List(Vec<String>),
    Text(String),
}

impl AccessClaims {
    fn has_scope(&self, wanted: &str) -> bool {
        let in_text = |t: &str| t.split_whitespace().any(|s| s == wanted);
        match &self.scp {
            Some(ScopeClaim::List(list)) if list.iter().any(|s| s == wanted) => return true,
            Some(ScopeClaim::Text(text)) if in_text(text) => return true,
            _ => {}
        }
        self.scope.as_deref().is_some_and(in_text)
    }
}

struct Jwks {
    keys: HashMap<String, Arc<DecodingKey>>,
    /// `kid`s present in the set but unusable for RS256 (another algorithm or key type).
    rejected: Vec<String>,
}

impl Jwks {
    fn key(&self, kid: &str) -> Option<Result<Arc<DecodingKey>, TokenError>> {
        if let Some(key) = self.keys.get(kid) {
            return Some(Ok(key.clone()));
        }
        self.rejected
            .iter()
            .any(|k| k == kid)
            .then(|| Err(TokenError::KeyNotRs256(kid.to_string())))
    }
}

/// The JWKS cache: fresh for [`JWKS_TTL`]; while the issuer is slow or down, cached keys keep
/// verifying for up to [`JWKS_MAX_STALE`] more (one caller waits at most [`JWKS_STALE_WAIT`]
/// for a re-read); a failed read is remembered for [`JWKS_RETRY_AFTER_FAILURE`].
pub const JWKS_POLICY: CachePolicy = CachePolicy {
    ttl: JWKS_TTL,
    max_stale: JWKS_MAX_STALE,
    stale_wait: JWKS_STALE_WAIT,
    retry_after_failure: JWKS_RETRY_AFTER_FAILURE,
    forced_interval: UNKNOWN_KID_REFETCH_INTERVAL,
};
pub const JWKS_MAX_STALE: Duration = Duration::from_secs(6 * 3600);
pub const JWKS_STALE_WAIT: Duration = Duration::from_millis(200);
pub const JWKS_RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// A verified (or refused) token, and whether this call read the JWKS to decide.
#[derive(Debug)]
pub struct Verification {
    pub result: Result<(), TokenError>,
    pub jwks_fetched: bool,
}

pub struct OAuthVerifier {
    config: OAuthSettings,
    http: reqwest::Client,
    jwks: Refreshing<Jwks, TokenError>,
    fetches: AtomicU64,
}

impl OAuthVerifier {
    pub fn new(config: OAuthSettings, http: reqwest::Client) -> Self {
        Self {
            config,
            http,
            jwks: Refreshing::new(JWKS_POLICY),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times the JWKS was fetched by this process.
    pub fn jwks_fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Verifies a bearer token. The caller bounds the time (its budget).
    /// Checks `token`; after a failed JWKS read, waits for the next attempt when `deadline`
    /// leaves room for it.
    pub async fn verify(&self, token: &str, deadline: Option<std::time::Instant>) -> Verification {
        let mut jwks_fetched = false;
        let deadline = deadline.map(tokio::time::Instant::from_std);
        let result = self.verify_inner(token, deadline, &mut jwks_fetched).await;
        Verification {
            result,
            jwks_fetched,
        }
    }

    async fn verify_inner(
        &self,
        token: &str,
        deadline: Option<tokio::time::Instant>,
        fetched: &mut bool,
    ) -> Result<(), TokenError> {
        let asked = tokio::time::Instant::now();
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenError::Algorithm(format!("{:?}", header.alg)));
        }
        let kid = header.kid.ok_or(TokenError::NoKid)?;
        let got = self.jwks.get(deadline, || self.fetch()).await;
        *fetched |= got.fetched;
        let key = match got.result?.key(&kid) {
            Some(key) => key?,
            None => {
                // Okta rotated its keys, or someone made up a kid: one re-read for everyone
                // asking, at most every UNKNOWN_KID_REFETCH_INTERVAL.
                let got = self
                    .jwks
                    .refresh(asked, WhenLimited::Cached, || self.fetch())
                    .await;
                *fetched |= got.fetched;
                got.result?
                    .key(&kid)
                    .unwrap_or_else(|| Err(TokenError::UnknownKid(kid.clone())))?
            }
        };

        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let claims = jsonwebtoken::decode::<AccessClaims>(token, &key, &validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?
            .claims;
        if !claims.has_scope(&self.config.scope) {
            return Err(TokenError::MissingScope(self.config.scope.clone()));
        }
        if let Some(expected) = &self.config.client_id {
            if claims.cid.as_deref() != Some(expected.as_str()) {
                return Err(TokenError::WrongClient);
            }
        }
        Ok(())
    }

    async fn fetch(&self) -> Result<Jwks, TokenError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let result = self.read_jwks().await;
        match &result {
            Ok(jwks) => {
                tracing::info!(keys = jwks.keys.len(), url = %self.config.jwks_url, "JWKS fetched")
            }
            Err(e) => {
                tracing::error!(error = %e, url = %self.config.jwks_url, "JWKS fetch failed: bearer tokens cannot be verified with new keys")
            }
        }
        result
    }

    async fn read_jwks(&self) -> Result<Jwks, TokenError> {
        let mut response = self
            .http
            .get(&self.config.jwks_url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| TokenError::Jwks(describe(&e)))?;
        if let Some(redirect) = redirect(&response) {
            return Err(TokenError::Jwks(redirect));
        }
        if !response.status().is_success() {
            return Err(TokenError::Jwks(format!(
                "HTTP {}",
                response.status().as_u16()
            )));
        }
        let body = read_capped(&mut response, MAX_JWKS_BYTES)
            .await
            .map_err(|e| TokenError::Jwks(e.to_string()))?;
        let set: JwkSet = serde_json::from_slice(&body)
            .map_err(|e| TokenError::Jwks(format!("not a JWK set: {e}")))?;
        let mut keys = HashMap::new();
        let mut rejected = Vec::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            // RS256 only: an RSA key that declares no algorithm or RS256. Anything else (an
            // HMAC "oct" key, an EC key, RS512 …) must not verify an RS256 token.
            let usable = matches!(jwk.algorithm, AlgorithmParameters::RSA(_))
                && matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::RS256));
            match usable.then(|| DecodingKey::from_jwk(jwk)) {
                Some(Ok(key)) => {
                    keys.insert(kid, Arc::new(key));
                }
                _ => rejected.push(kid),
            }
        }
        Ok(Jwks { keys, rejected })
    }
}

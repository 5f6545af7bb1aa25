//! Okta's OAuth 2.0 hook authentication (CONTRACT §1): the call carries `Authorization: Bearer
//! <access token>`, an RS256 JWT from the authorization server at the hook's `tokenUrl`.
//!
//! Verified: the signature with a key from the issuer's JWKS (RS256 only; the key must be RSA and
//! not declare another algorithm), `iss`, `aud`, `exp`/`nbf` with a small leeway, the scope in
//! `scp`, and `cid` when configured. The JWKS is fetched once and cached; a token signed with an
//! unknown `kid` triggers one refetch, at most every [`UNKNOWN_KID_REFETCH_INTERVAL`] (Okta
//! rotates keys, and a flood of made-up `kid`s must not become a flood of JWKS requests).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::config::OAuthConfig;
use crate::upstream::{describe, read_capped, AtMostEvery};

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
}

/// The access-token claims the hook checks beyond what `Validation` does.
#[derive(Debug, Deserialize)]
struct AccessClaims {
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
    fetched_at: Instant,
}

pub struct OAuthVerifier {
    config: OAuthConfig,
    http: reqwest::Client,
    jwks: Mutex<Option<Arc<Jwks>>>,
    fetching: tokio::sync::Mutex<()>,
    unknown_kid_refetch: AtMostEvery,
    fetches: AtomicU64,
}

impl OAuthVerifier {
    pub fn new(config: OAuthConfig, http: reqwest::Client) -> Self {
        Self {
            config,
            http,
            jwks: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
            unknown_kid_refetch: AtMostEvery::new(UNKNOWN_KID_REFETCH_INTERVAL),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times the JWKS was fetched.
    pub fn jwks_fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Verifies a bearer token. The caller bounds the time (its budget).
    pub async fn verify(&self, token: &str) -> Result<(), TokenError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenError::Algorithm(format!("{:?}", header.alg)));
        }
        let kid = header.kid.ok_or(TokenError::NoKid)?;
        let key = self.key(&kid).await?;

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

    /// The key for `kid`: cached, or after a (rate-limited) refetch.
    async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, TokenError> {
        let cached = self.jwks.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let jwks = match cached {
            Some(jwks) if jwks.fetched_at.elapsed() < JWKS_TTL => jwks,
            stale => match self.refetch().await {
                Ok(fresh) => fresh,
                // Keep using keys we already have while the issuer is unreachable.
                Err(e) => stale.ok_or(e)?,
            },
        };
        if let Some(key) = jwks.keys.get(kid) {
            return Ok(key.clone());
        }
        if jwks.rejected.iter().any(|k| k == kid) {
            return Err(TokenError::KeyNotRs256(kid.to_string()));
        }
        if !self.unknown_kid_refetch.try_now() {
            return Err(TokenError::UnknownKid(kid.to_string()));
        }
        let jwks = self.refetch().await?;
        match jwks.keys.get(kid) {
            Some(key) => Ok(key.clone()),
            None if jwks.rejected.iter().any(|k| k == kid) => {
                Err(TokenError::KeyNotRs256(kid.to_string()))
            }
            None => Err(TokenError::UnknownKid(kid.to_string())),
        }
    }

    async fn refetch(&self) -> Result<Arc<Jwks>, TokenError> {
        let _one_fetch = self.fetching.lock().await;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let jwks = Arc::new(self.fetch().await.inspect_err(|e| {
            tracing::error!(error = %e, url = %self.config.jwks_url, "JWKS fetch failed: bearer tokens cannot be verified");
        })?);
        tracing::info!(keys = jwks.keys.len(), url = %self.config.jwks_url, "JWKS fetched");
        *self.jwks.lock().unwrap_or_else(|e| e.into_inner()) = Some(jwks.clone());
        Ok(jwks)
    }

    async fn fetch(&self) -> Result<Jwks, TokenError> {
        let mut response = self
            .http
            .get(&self.config.jwks_url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| TokenError::Jwks(describe(&e)))?;
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
        Ok(Jwks {
            keys,
            rejected,
            fetched_at: Instant::now(),
        })
    }
}

//! Authenticating Okta's call (docs/contract.md §1, §5): the header secret (`API_KEY`, current or
//! previous within its grace period), an OAuth bearer token, or (during a migration,
//! `OAUTH_ACCEPT_API_KEY=true`) either.
//!
//! A key that does not match may have been rotated: the secret is then re-read (a read that
//! started after this call did, shared by concurrent callers, at most once a second) and the key
//! checked again, so a rotated key is accepted from its first call.
//!
//! Layer 3: imports the adapters (the secret and its source, OAuth) and leaves.

use std::sync::Arc;
use std::time::Instant;

use http::{HeaderMap, HeaderName};

use crate::config::AuthSettings;
use crate::oauth::{OAuthVerifier, TokenError};
use crate::secret_source::SecretSource;
use crate::secrets::HookSecrets;

/// Why a hook call is refused. Shown in logs and Okta's System Log: never a presented value.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthFailure {
    #[error("no {0} header")]
    MissingHeader(HeaderName),
    #[error("{0} header does not carry the API key")]
    Mismatch(HeaderName),
    #[error("no API_KEY is configured")]
    NoApiKey,
    #[error("OAuth is configured: a bearer token is required")]
    BearerRequired,
    #[error("bearer token: {0}")]
    Token(#[from] TokenError),
    #[error("credentials could not be verified within the budget")]
    NotInTime,
}

impl AuthFailure {
    /// Whether a freshly read secret could change the verdict (the key was rotated).
    pub fn may_be_rotation(&self) -> bool {
        matches!(self, Self::Mismatch(_) | Self::NoApiKey)
    }
}

/// The verdict on one call's credentials, and the upstream work it took.
#[derive(Debug)]
pub struct Authentication {
    /// The secrets that accepted the call (fresher than the ones passed in after a rotation).
    pub result: Result<Arc<HookSecrets>, AuthFailure>,
    /// This call read Secrets Manager again.
    pub secrets_fetched: bool,
    /// This call read the OAuth issuer's JWKS.
    pub jwks_fetched: bool,
}

/// Checks Okta's credentials on each call.
pub struct Authenticator {
    header: HeaderName,
    oauth: Option<OAuthVerifier>,
    accept_api_key: bool,
}

impl Authenticator {
    pub fn new(settings: &AuthSettings, http: reqwest::Client) -> Self {
        Self {
            header: settings.api_key_header.clone(),
            oauth: settings
                .oauth
                .clone()
                .map(|config| OAuthVerifier::new(config, http)),
            accept_api_key: settings.accept_api_key,
        }
    }

    /// How many times the JWKS was read by this process (0 without OAuth).
    pub fn jwks_fetch_count(&self) -> u64 {
        self.oauth.as_ref().map_or(0, |o| o.jwks_fetch_count())
    }

    /// Authenticates the call that started at `call_started`, with `secrets` as cached.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        secrets: Arc<HookSecrets>,
        source: &SecretSource,
        call_started: Instant,
        deadline: Instant,
    ) -> Authentication {
        let mut done = Authentication {
            result: Err(AuthFailure::NotInTime),
            secrets_fetched: false,
            jwks_fetched: false,
        };
        let why = match self.check(headers, &secrets, deadline, &mut done).await {
            Ok(()) => {
                done.result = Ok(secrets);
                return done;
            }
            Err(why) => why,
        };
        if !why.may_be_rotation() {
            done.result = Err(why);
            return done;
        }
        let Some(fresh) = source.refresh_since(call_started.into()).await else {
            done.result = Err(why);
            return done;
        };
        done.secrets_fetched = fresh.fetched;
        done.result = match fresh.result {
            Err(e) => {
                tracing::warn!(error = %e, "secret re-read after a key mismatch failed");
                Err(why)
            }
            Ok(fresh) => match self.check(headers, &fresh, deadline, &mut done).await {
                Ok(()) => {
                    tracing::info!("hook call authenticated after re-reading the secret");
                    Ok(fresh)
                }
                Err(why) => Err(why),
            },
        };
        done
    }

    async fn check(
        &self,
        headers: &HeaderMap,
        secrets: &HookSecrets,
        deadline: Instant,
        done: &mut Authentication,
    ) -> Result<(), AuthFailure> {
        if let Some(verifier) = &self.oauth {
            if let Some(token) = bearer_token(headers) {
                let verified = verifier.verify(token, Some(deadline)).await;
                done.jwks_fetched |= verified.jwks_fetched;
                return Ok(verified.result?);
            }
            if !self.accept_api_key {
                return Err(AuthFailure::BearerRequired);
            }
        }
        // HeaderMap lookups ignore case: HTTP API events arrive lower-cased, REST API ones not.
        let presented = headers
            .get(&self.header)
            .ok_or_else(|| AuthFailure::MissingHeader(self.header.clone()))?;
        if !secrets.has_api_key() {
            return Err(AuthFailure::NoApiKey);
        }
        if secrets.accepts_api_key(presented.as_bytes()) {
            Ok(())
        } else {
            Err(AuthFailure::Mismatch(self.header.clone()))
        }
    }
}

/// The token of an `Authorization: Bearer …` header.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

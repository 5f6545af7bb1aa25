//! Authenticating Okta's call (docs/contract.md §1, §5): the header secret (`API_KEY`, current,
//! pending, or previous within its grace period: `nl3_shared::header_secret`, which re-reads a
//! rotated secret), an OAuth bearer token, or (during a migration, `OAUTH_ACCEPT_API_KEY=true`)
//! either.
//!
//! Layer 2: imports OAuth and leaves (the header secret and the secret's source from the shared
//! crate).

use std::sync::Arc;
use std::time::Instant;

use http::HeaderMap;
use nl3_shared::header_secret::{HeaderSecret, HeaderSecretFailure};
use nl3_shared::secret_source::SecretSource;
use nl3_shared::secrets::HookSecrets;

use crate::config::AuthSettings;
use crate::oauth::{OAuthVerifier, TokenError};

/// Why a hook call is refused. Shown in logs and Okta's System Log: never a presented value.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthFailure {
    /// The header secret is missing, does not match, or none is configured.
    #[error(transparent)]
    Header(#[from] HeaderSecretFailure),
    #[error("OAuth is configured: a bearer token is required")]
    BearerRequired,
    #[error("bearer token: {0}")]
    Token(#[from] TokenError),
    #[error("credentials could not be verified within the budget")]
    NotInTime,
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
    header: HeaderSecret,
    oauth: Option<OAuthVerifier>,
    accept_api_key: bool,
}

impl Authenticator {
    pub fn new(settings: &AuthSettings, http: reqwest::Client) -> Self {
        Self {
            header: HeaderSecret::new(settings.api_key_header.clone()),
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
        source: &SecretSource<HookSecrets>,
        call_started: Instant,
        deadline: Instant,
    ) -> Authentication {
        if let Some(verifier) = &self.oauth {
            if let Some(token) = bearer_token(headers) {
                let verified = verifier.verify(token, Some(deadline)).await;
                return Authentication {
                    result: verified.result.map(|()| secrets).map_err(AuthFailure::from),
                    secrets_fetched: false,
                    jwks_fetched: verified.jwks_fetched,
                };
            }
            if !self.accept_api_key {
                return Authentication {
                    result: Err(AuthFailure::BearerRequired),
                    secrets_fetched: false,
                    jwks_fetched: false,
                };
            }
        }
        let checked = self
            .header
            .authenticate(headers, secrets, source, call_started)
            .await;
        Authentication {
            result: checked.result.map_err(AuthFailure::from),
            secrets_fetched: checked.secrets_fetched,
            jwks_fetched: false,
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

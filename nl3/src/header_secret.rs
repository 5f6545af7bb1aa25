//! Authenticating a call by the hook secret in a header (docs/contract.md §1, §5), as the hook
//! authenticates Okta's inline hook calls, so that a receiver of Okta's other calls behind the
//! same gateway (an event hook) accepts exactly what the hook accepts: the header named
//! `API_KEY_HEADER` carrying `API_KEY` — the current version's, the pending one's while a rotation
//! is in flight, the previous one's within its grace period — raw, base64 or after `Basic `,
//! compared in constant time ([`crate::secrets::ApiKeys::accepts`]).
//!
//! A key that does not match may have been rotated: the secret is then re-read (a read that
//! started after this call did, shared by concurrent callers, at most once a second:
//! [`SecretSource::refresh_since`]) and the key checked again, so a rotated key is accepted from
//! its first call. The caller bounds the whole with its deadline.
//!
//! Layer 3: imports the secret's source and document.

use std::sync::Arc;
use std::time::Instant;

use http::{HeaderMap, HeaderName};

use crate::secret_source::SecretSource;
use crate::secrets::SecretDocument;

/// Why a call's header secret is refused. Shown in logs and Okta's System Log: never a presented
/// value.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HeaderSecretFailure {
    #[error("no {0} header")]
    MissingHeader(HeaderName),
    #[error("{0} header does not carry the API key")]
    Mismatch(HeaderName),
    #[error("no API_KEY is configured")]
    NoApiKey,
}

impl HeaderSecretFailure {
    /// Whether a freshly read secret could change the verdict (the key was rotated).
    pub fn may_be_rotation(&self) -> bool {
        matches!(self, Self::Mismatch(_) | Self::NoApiKey)
    }
}

/// The verdict on one call's header secret, and whether this call read the secret again.
#[derive(Debug)]
pub struct HeaderChecked<D> {
    /// The secrets that accepted the call (fresher than the ones passed in after a rotation).
    pub result: Result<Arc<D>, HeaderSecretFailure>,
    /// This call read Secrets Manager again.
    pub secrets_fetched: bool,
}

/// Checks the hook secret in one header (`API_KEY_HEADER`).
#[derive(Debug, Clone)]
pub struct HeaderSecret {
    header: HeaderName,
}

impl HeaderSecret {
    pub fn new(header: HeaderName) -> Self {
        Self { header }
    }

    /// One check against `secrets` as they are, without re-reading them.
    pub fn check<D: SecretDocument>(
        &self,
        headers: &HeaderMap,
        secrets: &D,
    ) -> Result<(), HeaderSecretFailure> {
        // HeaderMap lookups ignore case: HTTP API events arrive lower-cased, REST API ones not.
        let presented = headers
            .get(&self.header)
            .ok_or_else(|| HeaderSecretFailure::MissingHeader(self.header.clone()))?;
        let keys = secrets.api_keys();
        if !keys.has_current() {
            return Err(HeaderSecretFailure::NoApiKey);
        }
        if keys.accepts(presented.as_bytes()) {
            Ok(())
        } else {
            Err(HeaderSecretFailure::Mismatch(self.header.clone()))
        }
    }

    /// Authenticates the call that started at `call_started`, with `secrets` as cached by
    /// `source`; after a key that does not match, once more with the secret re-read.
    pub async fn authenticate<D: SecretDocument>(
        &self,
        headers: &HeaderMap,
        secrets: Arc<D>,
        source: &SecretSource<D>,
        call_started: Instant,
    ) -> HeaderChecked<D> {
        let why = match self.check(headers, &*secrets) {
            Ok(()) => {
                return HeaderChecked {
                    result: Ok(secrets),
                    secrets_fetched: false,
                }
            }
            Err(why) => why,
        };
        let refreshed = match why.may_be_rotation() {
            true => source.refresh_since(call_started.into()).await,
            false => None,
        };
        let Some(fresh) = refreshed else {
            return HeaderChecked {
                result: Err(why),
                secrets_fetched: false,
            };
        };
        let result = match fresh.result {
            Err(e) => {
                tracing::warn!(error = %e, "secret re-read after a key mismatch failed");
                Err(why)
            }
            Ok(fresh) => match self.check(headers, &*fresh) {
                Ok(()) => {
                    tracing::info!("hook call authenticated after re-reading the secret");
                    Ok(fresh)
                }
                Err(why) => Err(why),
            },
        };
        HeaderChecked {
            result,
            secrets_fetched: fresh.fetched,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::{HookSecrets, KeysOnly};
    use http::HeaderValue;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    fn keys_only(json: &str) -> SecretSource<KeysOnly> {
        SecretSource::from_environment(json, true)
    }

    #[tokio::test]
    async fn a_receiver_accepts_what_the_hook_accepts() {
        let json = r#"{"API_KEY":"s3cr3t","SIGNING_KEY":"c2s="}"#;
        let receiver = keys_only(json);
        let hook: SecretSource<HookSecrets> = SecretSource::from_environment(json, true);
        let check = HeaderSecret::new(HeaderName::from_static("x-okta-secret"));
        for (value, accepted) in [
            ("s3cr3t", true),
            ("czNjcjN0", true),       // base64, as NL3's setup stores it
            ("Basic czNjcjN0", true), // after Basic
            ("s3cr3t-not", false),
            ("", false),
        ] {
            let h = headers("X-Okta-Secret", value);
            let secrets = receiver.get(None).await.result.unwrap();
            let got = check
                .authenticate(&h, secrets, &receiver, Instant::now())
                .await;
            assert_eq!(got.result.is_ok(), accepted, "{value:?}");
            let secrets = hook.get(None).await.result.unwrap();
            let got = check.authenticate(&h, secrets, &hook, Instant::now()).await;
            assert_eq!(
                got.result.is_ok(),
                accepted,
                "the hook's reading: {value:?}"
            );
            assert!(!got.secrets_fetched, "the environment is not read again");
        }
    }

    #[tokio::test]
    async fn failures_name_the_header_never_the_value() {
        let source = keys_only(r#"{"API_KEY":"s3cr3t"}"#);
        let secrets = source.get(None).await.result.unwrap();
        let check = HeaderSecret::new(http::header::AUTHORIZATION);
        let missing = check
            .authenticate(
                &headers("x-other", "s3cr3t"),
                secrets.clone(),
                &source,
                Instant::now(),
            )
            .await;
        let missing = missing.result.unwrap_err();
        assert_eq!(missing.to_string(), "no authorization header");
        assert!(!missing.may_be_rotation());
        let wrong = check
            .authenticate(
                &headers("authorization", "hunter2"),
                secrets,
                &source,
                Instant::now(),
            )
            .await;
        let wrong = wrong.result.unwrap_err();
        assert_eq!(
            wrong.to_string(),
            "authorization header does not carry the API key"
        );
        assert!(wrong.may_be_rotation());

        let none = SecretSource::<KeysOnly>::from_environment("{}", false);
        let secrets = none.get(None).await.result.unwrap();
        let err = check
            .check(&headers("authorization", "x"), &*secrets)
            .unwrap_err();
        assert_eq!(err.to_string(), "no API_KEY is configured");
    }
}

//! Where the hook's secret comes from (docs/contract.md §5): AWS Secrets Manager when `SECRET_ID`
//! is set, the environment otherwise; what it holds, and which reading of it a caller keeps
//! ([`HookSecrets`](crate::secrets::HookSecrets), or [`KeysOnly`](crate::secrets::KeysOnly) for a
//! receiver of Okta's calls), is [`crate::secrets`]' business: a source reads one
//! [`SecretDocument`].
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
//! becomes `AWSCURRENT`. Only Secrets Manager's "not found" means that a stage is absent: a read
//! of `AWSPENDING` or `AWSPREVIOUS` that fails otherwise keeps that stage's last known key (for
//! `AWSPREVIOUS` after `AWSCURRENT` moved, the last known current key, which the move made the
//! previous one), and is logged as the failure it is.
//!
//! (Why not `aws_secretsmanager_caching`: it depends on the SDK with default features, which pulls
//! a second, legacy TLS stack into the binary, and its cache has no single flight or forced
//! refresh rate limit.)
//!
//! Layer 2: imports the secret's document and leaves.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::api_key::ApiKey;
use crate::cache::{CachePolicy, Got, Refreshing, Stale, WhenLimited};
use crate::secrets::{Malformed, SecretDocument};
use crate::settings::SecretsSettings;

/// The shortest time between two forced refreshes: under a flood of wrong keys, Secrets Manager
/// is asked at most this often per execution environment.
pub const FORCED_REFRESH_INTERVAL: Duration = Duration::from_secs(1);
/// How long a call waits for a refresh when it could serve the cached (expired) secret instead.
pub const STALE_REFRESH_WAIT: Duration = Duration::from_millis(300);
/// How long past its TTL a secret keeps serving while Secrets Manager cannot be read.
pub const MAX_STALE: Duration = Duration::from_secs(24 * 3600);
/// A failed read is remembered this long (or the TTL, if shorter) before the next attempt.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Why the secrets are not available. Messages name fields, never values.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SecretsError {
    #[error(transparent)]
    Malformed(#[from] Malformed),
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

/// Where secrets come from, with the cache in front of Secrets Manager: a source of one reading
/// `D` of the secret.
pub struct SecretSource<D>(Source<D>);

enum Source<D> {
    /// Parsed once from the environment (or a malformed environment, reported on every call).
    Fixed(Result<Arc<D>, SecretsError>),
    SecretsManager(Box<SecretsManager<D>>),
}

struct SecretsManager<D> {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    api_key_grace: Duration,
    api_key_required: bool,
    cache: Refreshing<D, SecretsError>,
    /// The keys of the last successful read, by stage: what a stage whose read fails keeps.
    known: std::sync::Mutex<Known>,
}

/// The last successful read's `AWSCURRENT` version and keys by stage.
#[derive(Clone, Default)]
struct Known {
    version: Option<String>,
    current: Option<ApiKey>,
    previous: Option<(ApiKey, SystemTime)>,
    pending: Option<ApiKey>,
}

/// Whether a read failed because the stage (or the secret) does not exist: Secrets Manager's
/// `ResourceNotFoundException`, and nothing else.
pub fn not_found(
    e: &aws_sdk_secretsmanager::error::SdkError<
        aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError,
        impl std::fmt::Debug,
    >,
) -> bool {
    e.as_service_error()
        .is_some_and(|e| e.is_resource_not_found_exception())
}

/// A version stage that could not be read (not "not found"): logged as the failure it is.
fn stage_failed(
    stage: &'static str,
    secret_id: &str,
    e: &(impl std::error::Error + 'static),
) -> &'static str {
    use aws_sdk_secretsmanager::error::DisplayErrorContext;
    tracing::warn!(
        secret_id,
        stage,
        error = %DisplayErrorContext(e),
        "a version stage of the secret could not be read: its last known API_KEY is kept"
    );
    stage
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

/// [`secrets_manager_client`] from the AWS SDK's standard configuration (region, credentials,
/// `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`).
pub async fn client_from_environment(
    operation_timeout: Duration,
) -> aws_sdk_secretsmanager::Client {
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    secrets_manager_client((&aws).into(), operation_timeout)
}

/// How Secrets Manager is read.
pub struct SecretsManagerSettings {
    pub secret_id: String,
    pub ttl: Duration,
    pub api_key_grace: Duration,
    pub api_key_required: bool,
}

impl<D: SecretDocument> SecretSource<D> {
    /// The source `settings` name: the environment's JSON, or Secrets Manager through a client
    /// from the AWS SDK's standard configuration ([`client_from_environment`]).
    pub async fn from_settings(
        settings: SecretsSettings,
        operation_timeout: Duration,
        api_key_required: bool,
    ) -> Self {
        match settings {
            SecretsSettings::Environment { json } => {
                Self::from_environment(&json, api_key_required)
            }
            settings => Self::with_client(
                settings,
                client_from_environment(operation_timeout).await,
                api_key_required,
            ),
        }
    }

    /// The source `settings` name, Secrets Manager through `client`.
    pub fn with_client(
        settings: SecretsSettings,
        client: aws_sdk_secretsmanager::Client,
        api_key_required: bool,
    ) -> Self {
        match settings {
            SecretsSettings::Environment { json } => {
                Self::from_environment(&json, api_key_required)
            }
            SecretsSettings::SecretsManager {
                secret_id,
                ttl,
                api_key_grace,
            } => Self::secrets_manager(
                client,
                SecretsManagerSettings {
                    secret_id,
                    ttl,
                    api_key_grace,
                    api_key_required,
                },
            ),
        }
    }

    pub fn from_environment(json: &str, api_key_required: bool) -> Self {
        Self(Source::Fixed(
            D::from_json(json, api_key_required)
                .map(Arc::new)
                .map_err(SecretsError::from),
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
            known: Default::default(),
        })))
    }

    /// The current secrets, from the cache when fresh. Callers bound this with their deadline;
    /// after a failed read, one that leaves room for the next attempt waits for it.
    pub async fn get(&self, deadline: Option<Instant>) -> Got<D, SecretsError> {
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
    pub async fn refresh_since(&self, since: tokio::time::Instant) -> Option<Got<D, SecretsError>> {
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

impl<D: SecretDocument> SecretsManager<D> {
    /// Reads `AWSCURRENT`, `AWSPENDING` and, when a grace period is set, `AWSPREVIOUS` in
    /// parallel.
    async fn fetch(&self) -> Result<D, SecretsError> {
        let started = Instant::now();
        // By stage, like the others (moto, unlike AWS, reads a version it calls the default
        // when none is named, and misses a label moved by UpdateSecretVersionStage).
        let read = |stage: &'static str| {
            self.client
                .get_secret_value()
                .secret_id(&self.secret_id)
                .version_stage(stage)
                .send()
        };
        let previous = async {
            match self.api_key_grace.is_zero() {
                true => None,
                false => Some(read("AWSPREVIOUS").await),
            }
        };
        let (current, previous, pending) =
            tokio::join!(read("AWSCURRENT"), previous, read("AWSPENDING"));
        let current = current.map_err(fetch_error)?;
        let raw = current.secret_string().ok_or_else(|| {
            SecretsError::from(Malformed(
                "secret has no SecretString (binary secrets are not supported)".into(),
            ))
        })?;
        let mut secrets = D::from_json(raw, self.api_key_required)?;
        let version = current.version_id().map(str::to_string);
        let created = current
            .created_date()
            .and_then(|d| u64::try_from(d.secs()).ok())
            .map(|s| UNIX_EPOCH + Duration::from_secs(s));
        let until = created
            .map(|created| created + self.api_key_grace)
            .filter(|until| SystemTime::now() < *until);
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let moved = known.version.is_some() && known.version != version;

        // Only Secrets Manager's "not found" means a stage is absent: no previous version (a
        // new secret), no rotation in flight, or a pending version still without a value. Any
        // other failure keeps that stage's last known key, and says so.
        let mut failed = Vec::new();
        let previous_key = match previous {
            None => None,
            Some(Ok(previous)) => match (until, previous.secret_string()) {
                (Some(until), Some(raw)) => D::api_key_of(raw).map(|key| (key, until)),
                _ => None,
            },
            Some(Err(e)) if not_found(&e) => None,
            Some(Err(e)) => {
                failed.push(stage_failed("AWSPREVIOUS", &self.secret_id, &e));
                match moved {
                    // AWSCURRENT moved since: its last known version is now AWSPREVIOUS.
                    true => until
                        .zip(known.current.clone())
                        .map(|(until, key)| (key, until)),
                    false => known.previous.clone(),
                }
            }
        };
        let pending_key = match pending {
            Ok(pending) if pending.version_id() != current.version_id() => {
                pending.secret_string().and_then(D::api_key_of)
            }
            Ok(_) => None,
            Err(e) if not_found(&e) => None,
            Err(e) => {
                failed.push(stage_failed("AWSPENDING", &self.secret_id, &e));
                known.pending.clone()
            }
        };
        let keys = secrets.api_keys_mut();
        keys.set_previous(previous_key);
        keys.set_pending(pending_key);
        *self.known.lock().unwrap_or_else(|e| e.into_inner()) = Known {
            version,
            current: keys.current_key().cloned(),
            previous: keys.previous_key().cloned(),
            pending: keys.pending_key().cloned(),
        };
        tracing::info!(
            secret_id = %self.secret_id,
            version = current.version_id().unwrap_or(""),
            previous_api_key_accepted = secrets.api_keys().accepts_previous(),
            pending_api_key_accepted = secrets.api_keys().accepts_pending(),
            failed_stages = (!failed.is_empty()).then(|| failed.join(",")),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "secret fetched from Secrets Manager"
        );
        Ok(secrets)
    }
}

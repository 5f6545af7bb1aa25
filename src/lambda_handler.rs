//! Lambda glue: builds the hook from the environment once, and turns each API Gateway event
//! (REST API v1, HTTP API v2, Function URL) into a decision and back into a response.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_http::{Body, Request, RequestExt, Response};

use crate::config::{self, ConfigError, SecretsConfig, Settings};
use crate::decision::{self, Decision, Hook, HookRequest, Outcome};
use crate::metrics;
use crate::secrets::{self, SecretSource};

/// How long the init phase may spend fetching the secret before the first call.
const WARM_UP_LIMIT: Duration = Duration::from_secs(3);

/// The process's state: a ready hook, or the setting that stops it from being one.
pub enum App {
    Ready(Box<Hook>),
    Misconfigured { error: ConfigError, fail_open: bool },
}

impl App {
    /// Reads the environment and builds the hook. A bad setting is logged once, naming the
    /// variable; the process keeps running and answers every call (see [`decision::misconfigured`]).
    pub async fn from_env() -> Self {
        match Settings::from_env() {
            Ok(settings) => match build_hook(settings).await {
                Ok(hook) => Self::Ready(Box::new(hook)),
                Err(error) => Self::misconfigured(error),
            },
            Err(error) => Self::misconfigured(error),
        }
    }

    fn misconfigured(error: ConfigError) -> Self {
        let fail_open = config::fail_open_from_env();
        tracing::error!(error = %error, fail_open, "hook misconfigured: every call will be answered as a failed check");
        Self::Misconfigured { error, fail_open }
    }

    /// Fetches the secret and opens the NL3 and ipinfo connections during Lambda's init phase,
    /// so the first sign-in after a cold start waits for none of them.
    pub async fn warm_up(&self) {
        let Self::Ready(hook) = self else { return };
        let started = Instant::now();
        let secrets = async {
            let result = tokio::time::timeout(WARM_UP_LIMIT, hook.secrets.get()).await;
            match result {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "secrets not loaded at start-up; will retry per call")
                }
                Err(_) => tracing::warn!(
                    "secrets not loaded at start-up (timed out); will retry per call"
                ),
            }
            started.elapsed()
        };
        let connect = async {
            tokio::join!(
                hook.nl3.warm_up(WARM_UP_LIMIT),
                hook.geo.warm_up(WARM_UP_LIMIT)
            );
            started.elapsed()
        };
        let (secrets_ms, connect_ms) = tokio::join!(secrets, connect);
        tracing::info!(
            secrets_ms = secrets_ms.as_millis() as u64,
            connections_ms = connect_ms.as_millis() as u64,
            "warmed up during init"
        );
    }

    fn metrics_namespace(&self) -> &str {
        match self {
            Self::Ready(hook) => &hook.settings.metrics_namespace,
            Self::Misconfigured { .. } => metrics::DEFAULT_NAMESPACE,
        }
    }

    /// Answers one API Gateway event.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let context = request.lambda_context_ref();
        let request_id = context.map(|c| c.request_id.clone()).unwrap_or_default();
        let lambda_deadline = context.and_then(|c| deadline_instant(c.deadline));
        let decision = match self {
            Self::Ready(hook) => {
                hook.decide(HookRequest {
                    headers: request.headers(),
                    body: request.body().as_ref(),
                    lambda_deadline,
                })
                .await
            }
            Self::Misconfigured { error, fail_open } => decision::misconfigured(error, *fail_open),
        };
        log_decision(&decision, &request_id);
        metrics::emit(&decision, self.metrics_namespace());
        to_response(&decision)
    }
}

/// Builds the hook from the settings, with a Secrets Manager client when `SECRET_ID` is set.
pub async fn build_hook(settings: Settings) -> Result<Hook, ConfigError> {
    let api_key_required = settings.accepts_api_key();
    let secrets = match &settings.secrets {
        SecretsConfig::Environment { raw_json } => {
            SecretSource::from_environment(raw_json, api_key_required)
        }
        SecretsConfig::SecretsManager { secret_id, ttl } => {
            let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .load()
                .await;
            let client = secrets::secrets_manager_client((&aws).into(), settings.hook_timeout);
            SecretSource::secrets_manager(client, secret_id.clone(), *ttl, api_key_required)
        }
    };
    Hook::new(settings, secrets)
}

/// Lambda gives its deadline in milliseconds since the epoch.
fn deadline_instant(deadline_ms: u64) -> Option<Instant> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis() as u64;
    Some(Instant::now() + Duration::from_millis(deadline_ms.checked_sub(now_ms)?))
}

pub fn to_response(decision: &Decision) -> Response<Body> {
    let mut response = Response::new(Body::Text(decision.answer.body.to_string()));
    *response.status_mut() =
        http::StatusCode::from_u16(decision.answer.status).unwrap_or(http::StatusCode::OK);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// One line per call with what was decided, why, and where the time went. No secrets, no
/// username: Okta's System Log has the user, the eventId correlates the two.
pub fn log_decision(decision: &Decision, request_id: &str) {
    let t = &decision.trace;
    let ms = |d: Option<Duration>| d.map(|d| d.as_millis() as u64);
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                request_id,
                okta_event_id = t.event_id.as_deref(),
                hook_type = t.hook_type.map(|h| h.as_str()),
                decision = decision.outcome.as_str(),
                reason = %decision.reason,
                status = decision.answer.status,
                elapsed_ms = decision.elapsed.as_millis() as u64,
                secrets_ms = ms(t.secrets),
                auth_ms = ms(t.auth),
                ipinfo_ms = ms(t.ipinfo),
                ipinfo_cached = t.ipinfo.map(|_| t.ipinfo_cached),
                nl3_ms = ms(t.nl3),
                "decision"
            )
        };
    }
    match decision.outcome {
        Outcome::Allowed | Outcome::NoUser | Outcome::Locked => line!(info),
        _ => line!(warn),
    }
}

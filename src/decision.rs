//! The decision: from Okta's request to Okta's answer. A plain async function over plain inputs,
//! so tests drive it without Lambda.
//!
//! Order: secrets → authenticate the call → read the event → ipinfo → NL3. Everything that can
//! wait on the network runs inside one budget (`HOOK_TIMEOUT_MS`, or less when Lambda's own
//! deadline is nearer); when the budget runs out the answer is an NL3 failure, which `FAIL_OPEN`
//! decides.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::HeaderMap;
use serde_json::{json, Value};

use crate::config::{ConfigError, Settings};
use crate::geo::{self, GeoError, IpinfoClient, Location, Origin};
use crate::hook_auth::HookAuthenticator;
use crate::nl3::{CheckRequest, LockStatus, Nl3Client};
use crate::oauth::OAuthVerifier;
use crate::okta::{self, Answer, HookType};
use crate::secrets::{HookSecrets, SecretSource};

/// Shown to the user when the check could not be done and `FAIL_OPEN=false`.
pub const FAIL_CLOSED_MESSAGE: &str =
    "Sign-in is paused because the account protection check is unavailable. Please try again in a few minutes.";
/// Shown when the hook call is not authenticated (as NL3's reference handler).
pub const FORBIDDEN_MESSAGE: &str = "Okta Hook Forbidden";
/// Time kept back at the end of the budget so a slow credential check ends as "forbidden".
const AUTH_MARGIN: Duration = Duration::from_millis(30);
/// Time kept back from Lambda's deadline so the answer still gets out.
const LAMBDA_DEADLINE_MARGIN: Duration = Duration::from_millis(100);

/// What was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// NL3 says the account is not locked.
    Allowed,
    /// Nobody to check (client-credentials token request).
    NoUser,
    /// NL3 says the account is locked: the sign-in is refused.
    Locked,
    /// The hook call did not carry valid credentials.
    Forbidden,
    /// The check failed and `FAIL_OPEN=true` let the sign-in through.
    FailOpen,
    /// The check failed and `FAIL_OPEN=false` refused the sign-in.
    FailClosed,
    /// The request is not an Okta inline hook event.
    BadRequest,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::NoUser => "no_user",
            Self::Locked => "locked",
            Self::Forbidden => "forbidden",
            Self::FailOpen => "fail_open",
            Self::FailClosed => "fail_closed",
            Self::BadRequest => "bad_request",
        }
    }

    pub const ALL: [Outcome; 7] = [
        Self::Allowed,
        Self::NoUser,
        Self::Locked,
        Self::Forbidden,
        Self::FailOpen,
        Self::FailClosed,
        Self::BadRequest,
    ];
}

/// Where the time went and what the upstreams did, for logs and metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    pub hook_type: Option<HookType>,
    pub event_id: Option<String>,
    pub secrets: Option<Duration>,
    pub auth: Option<Duration>,
    pub ipinfo: Option<Duration>,
    pub ipinfo_error: Option<String>,
    pub ipinfo_cached: bool,
    pub nl3: Option<Duration>,
    pub nl3_error: Option<String>,
    /// Secrets Manager calls made while this call ran.
    pub secrets_fetches: u64,
    /// The stage running when the budget ran out.
    stage: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub outcome: Outcome,
    /// Why, in words for the Okta admin and the logs. Never a secret.
    pub reason: String,
    pub answer: Answer,
    pub elapsed: Duration,
    pub trace: Trace,
}

/// One inline hook call, as the decision needs it.
pub struct HookRequest<'a> {
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// Lambda's deadline for this invocation, when known.
    pub lambda_deadline: Option<Instant>,
}

/// Everything the decision uses, built once per process and shared by concurrent invocations.
pub struct Hook {
    pub settings: Settings,
    pub secrets: SecretSource,
    pub authenticator: HookAuthenticator,
    pub nl3: Nl3Client,
    pub geo: IpinfoClient,
}

enum Stop {
    Answer(Outcome, String),
    CheckFailed(String),
}

impl Hook {
    /// Wires the parts: one HTTP client for NL3 and ipinfo, reused across invocations so warm
    /// calls skip the TCP and TLS handshakes.
    pub fn new(settings: Settings, secrets: SecretSource) -> Result<Self, ConfigError> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.hook_timeout)
            .pool_idle_timeout(Duration::from_secs(50))
            .tcp_nodelay(true)
            .user_agent(concat!("nl3-okta-hook/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::Startup(format!("HTTP client: {e}")))?;
        let oauth = settings
            .oauth
            .clone()
            .map(|config| OAuthVerifier::new(config, http.clone()));
        Ok(Self {
            authenticator: HookAuthenticator::new(
                &settings.api_key_header,
                oauth,
                settings.accepts_api_key(),
            ),
            nl3: Nl3Client::new(
                http.clone(),
                settings.nl3_url(),
                settings.app_uri.clone(),
                settings.api_uri.clone(),
            ),
            geo: IpinfoClient::new(http, settings.ipinfo_url.clone(), settings.ipinfo_cache_ttl),
            secrets,
            settings,
        })
    }

    /// Decides one call. Never panics on input and never outlives the budget.
    pub async fn decide(&self, request: HookRequest<'_>) -> Decision {
        let started = Instant::now();
        let mut deadline = started + self.settings.hook_timeout;
        if let Some(lambda) = request.lambda_deadline {
            deadline = deadline.min(lambda.checked_sub(LAMBDA_DEADLINE_MARGIN).unwrap_or(lambda));
        }
        let mut trace = Trace::default();
        let fetches_before = self.secrets.fetch_count();
        let result = tokio::time::timeout_at(
            deadline.into(),
            self.decide_within(&request, deadline, &mut trace),
        )
        .await;
        let (outcome, reason) = match result {
            Ok(Ok((outcome, reason))) => (outcome, reason),
            Ok(Err(Stop::Answer(outcome, reason))) => (outcome, reason),
            Ok(Err(Stop::CheckFailed(reason))) => self.check_failed(reason),
            Err(_) => self.check_failed(format!(
                "budget of {} ms ran out during {}",
                deadline.saturating_duration_since(started).as_millis(),
                trace.stage
            )),
        };
        trace.secrets_fetches = self.secrets.fetch_count() - fetches_before;
        self.finish(outcome, reason, started.elapsed(), trace)
    }

    async fn decide_within(
        &self,
        request: &HookRequest<'_>,
        deadline: Instant,
        trace: &mut Trace,
    ) -> Result<(Outcome, String), Stop> {
        trace.stage = "secrets";
        let at = Instant::now();
        let secrets = self.secrets.get().await;
        trace.secrets = Some(at.elapsed());
        let secrets = secrets.map_err(|e| {
            tracing::error!(error = %e, "hook secrets unavailable");
            Stop::CheckFailed(format!("hook secrets unavailable: {e}"))
        })?;

        trace.stage = "authentication";
        let at = Instant::now();
        // Credentials that cannot be verified in time (a hanging JWKS) are not credentials:
        // stop just short of the budget and refuse, rather than let the budget decide.
        let verify_until = deadline
            .checked_sub(AUTH_MARGIN)
            .unwrap_or(deadline)
            .max(Instant::now());
        let secrets = tokio::time::timeout_at(
            verify_until.into(),
            self.authenticate(request.headers, secrets),
        )
        .await
        .unwrap_or_else(|_| Err("credentials could not be verified within the budget".into()));
        trace.auth = Some(at.elapsed());
        let secrets = secrets.map_err(|why| {
            tracing::warn!(reason = %why, "hook call not authenticated");
            Stop::Answer(
                Outcome::Forbidden,
                format!("hook call not authenticated: {why}"),
            )
        })?;

        let event = okta::parse_event(request.body)
            .map_err(|e| Stop::Answer(Outcome::BadRequest, e.to_string()))?;
        trace.hook_type = Some(event.hook_type);
        trace.event_id = event.event_id.clone();
        let Some(username) = event.username.as_deref() else {
            return Ok((
                Outcome::NoUser,
                "no user in the request (client credentials): nothing to check".into(),
            ));
        };

        let client_ip = event.client_ip.as_deref().unwrap_or("");
        let location = self
            .locate(client_ip, secrets.ipinfo_token.as_deref(), deadline, trace)
            .await;

        trace.stage = "NL3 check";
        let at = Instant::now();
        let shown_ip: String = client_ip.chars().take(100).collect();
        let check = CheckRequest {
            username,
            hook_type: event.hook_type,
            client_ip: &shown_ip,
            parsed_ip: client_ip.trim().parse().ok(),
            location: location.as_deref(),
        };
        let status = self.nl3.check(&check, &secrets.signing_key).await;
        trace.nl3 = Some(at.elapsed());
        match status {
            Ok(LockStatus::Locked) => Ok((Outcome::Locked, "NL3: account is locked".into())),
            Ok(LockStatus::NotLocked) => {
                Ok((Outcome::Allowed, "NL3: account is not locked".into()))
            }
            Err(e) => {
                tracing::error!(error = %e, "NL3 check failed");
                trace.nl3_error = Some(e.to_string());
                Err(Stop::CheckFailed(e.to_string()))
            }
        }
    }

    /// Checks the call's credentials; on failure refreshes the secrets once (rate-limited) in
    /// case `API_KEY` was rotated, and checks again.
    async fn authenticate(
        &self,
        headers: &HeaderMap,
        secrets: Arc<HookSecrets>,
    ) -> Result<Arc<HookSecrets>, String> {
        let why = match self.authenticator.authenticate(headers, &secrets).await {
            Ok(()) => return Ok(secrets),
            Err(why) => why,
        };
        if !why.may_be_rotation() {
            return Err(why.to_string());
        }
        match self.secrets.refresh_after_auth_failure().await {
            Some(fresh) => match self.authenticator.authenticate(headers, &fresh).await {
                Ok(()) => {
                    tracing::info!("hook call authenticated after refreshing the secret");
                    Ok(fresh)
                }
                Err(why) => Err(why.to_string()),
            },
            None => Err(why.to_string()),
        }
    }

    /// ipinfo, within its slice of the budget; any failure means no location.
    async fn locate(
        &self,
        client_ip: &str,
        token: Option<&str>,
        deadline: Instant,
        trace: &mut Trace,
    ) -> Option<Arc<Location>> {
        let ip = geo::lookup_address(client_ip)?;
        trace.stage = "ipinfo lookup";
        let at = Instant::now();
        let slice = self
            .settings
            .ipinfo_timeout
            .min(deadline.saturating_duration_since(at));
        let result = self.geo.locate(ip, token, slice).await;
        trace.ipinfo = Some(at.elapsed());
        // Read from this call's own result: a counter would also see concurrent invocations.
        trace.ipinfo_cached = matches!(result, Ok((_, Origin::Cache)) | Err(GeoError::Paused));
        match result {
            Ok((location, _)) => Some(location),
            Err(e) => {
                tracing::warn!(error = %e, "no location from ipinfo; the check goes on without it");
                trace.ipinfo_error = Some(e.to_string());
                None
            }
        }
    }

    fn check_failed(&self, reason: String) -> (Outcome, String) {
        check_failed(self.settings.fail_open, reason)
    }

    fn finish(
        &self,
        outcome: Outcome,
        reason: String,
        elapsed: Duration,
        trace: Trace,
    ) -> Decision {
        let debug = debug_context(outcome, &reason, elapsed, &trace);
        let answer = match outcome {
            Outcome::Allowed | Outcome::NoUser | Outcome::FailOpen => Answer::allow(debug),
            Outcome::Locked => Answer::refuse(&self.settings.locked_message, debug),
            Outcome::Forbidden => Answer::refuse(FORBIDDEN_MESSAGE, debug),
            Outcome::FailClosed => Answer::refuse(FAIL_CLOSED_MESSAGE, debug),
            Outcome::BadRequest => Answer::bad_request(&reason),
        };
        Decision {
            outcome,
            reason,
            answer,
            elapsed,
            trace,
        }
    }
}

fn check_failed(fail_open: bool, reason: String) -> (Outcome, String) {
    if fail_open {
        (
            Outcome::FailOpen,
            format!("{reason}; FAIL_OPEN=true lets the sign-in through"),
        )
    } else {
        (
            Outcome::FailClosed,
            format!("{reason}; FAIL_OPEN=false refuses the sign-in"),
        )
    }
}

/// The answer for every call when the hook could not start (a missing or invalid setting): the
/// check cannot be done, so `FAIL_OPEN` decides, and the reason names the setting.
pub fn misconfigured(error: &ConfigError, fail_open: bool) -> Decision {
    let started = Instant::now();
    let (outcome, reason) = check_failed(fail_open, format!("hook misconfigured: {error}"));
    let debug = debug_context(outcome, &reason, Duration::ZERO, &Trace::default());
    let answer = match outcome {
        Outcome::FailOpen => Answer::allow(debug),
        _ => Answer::refuse(FAIL_CLOSED_MESSAGE, debug),
    };
    Decision {
        outcome,
        reason,
        answer,
        elapsed: started.elapsed(),
        trace: Trace::default(),
    }
}

/// What Okta copies into its System Log (`inline_hook.response.processed`): the decision and
/// why, as strings. Never a secret.
fn debug_context(outcome: Outcome, reason: &str, elapsed: Duration, trace: &Trace) -> Value {
    let mut debug = json!({
        "hook": concat!("nl3-okta-hook ", env!("CARGO_PKG_VERSION")),
        "decision": outcome.as_str(),
        "reason": reason,
        "elapsedMs": elapsed.as_millis().to_string(),
    });
    let ms = |d: Option<Duration>| d.map(|d| d.as_millis().to_string());
    if let Some(nl3) = ms(trace.nl3) {
        debug["nl3Ms"] = nl3.into();
    }
    if let Some(ipinfo) = ms(trace.ipinfo) {
        debug["ipinfoMs"] = ipinfo.into();
    }
    if let Some(e) = &trace.ipinfo_error {
        debug["location"] = format!("unavailable: {e}").into();
    }
    debug
}

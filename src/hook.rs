//! The hook service: from Okta's request to a [`Decision`]. Built once per process from the
//! settings and shared by concurrent invocations; no Lambda types, so tests drive it directly.
//!
//! Order: secrets → authenticate the call → read the event → ipinfo → NL3. Everything that can
//! wait on the network runs inside one budget (`HOOK_TIMEOUT_MS`, or less when Lambda's own
//! deadline is nearer); when the budget runs out the check has failed, and `FAIL_OPEN` decides.
//!
//! Layer 4: imports authentication, the adapters, the decision data and leaves.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::HeaderMap;
use nl3_shared::check::{LockStatus, Nl3Client};
use nl3_shared::geo::{GeoError, IpinfoClient, Location, Origin};
use nl3_shared::http_client;
use nl3_shared::secret_source::SecretSource;
use nl3_shared::secrets::{HookSecrets, ResolvedApp};
use nl3_shared::settings::Mode;

use crate::auth::{AuthFailure, Authenticator};
use crate::config::{ConfigError, Policy, Settings, Unlisted, UsernameSource};
use crate::decision::{Decision, Failure, Stage, Trace, Unreadable, Verdict};
use crate::okta::{self, HookEvent};

/// What an `APPS` entry changes in the policy for its calls.
#[derive(Default)]
struct AppPolicy {
    locked_message: Option<String>,
    fail_open: Option<bool>,
    mode: Option<Mode>,
}

impl AppPolicy {
    fn over(self, base: &Policy) -> Policy {
        Policy {
            fail_open: self.fail_open.unwrap_or(base.fail_open),
            mode: self.mode.unwrap_or(base.mode),
            locked_message: self
                .locked_message
                .unwrap_or_else(|| base.locked_message.clone()),
            ..base.clone()
        }
    }
}

/// How the hook names itself to NL3, ipinfo and the JWKS.
const USER_AGENT: &str = concat!("nl3-okta-hook/", env!("CARGO_PKG_VERSION"));
/// Time kept back at the end of the budget so a slow credential check ends as "forbidden".
const AUTH_MARGIN: Duration = Duration::from_millis(30);
/// Time kept back from Lambda's deadline so the answer still gets out.
const LAMBDA_DEADLINE_MARGIN: Duration = Duration::from_millis(100);

/// One inline hook call, as the hook needs it.
pub struct HookRequest<'a> {
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// Lambda's deadline for this invocation, when known (already past: no time at all).
    pub lambda_deadline: Option<Instant>,
}

/// Upstream calls this process made, for tests and benchmarks (per-call figures are in
/// [`Trace`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamCalls {
    pub ipinfo: u64,
    pub jwks: u64,
}

/// Everything a decision uses.
pub struct Hook {
    policy: Policy,
    username_source: UsernameSource,
    /// Shared with the warm-up's read, which may outlive the warm-up (a slow Secrets Manager at
    /// a cold start): the first call then waits for that read instead of starting another.
    secrets: Arc<SecretSource<HookSecrets>>,
    auth: Authenticator,
    nl3: Nl3Client,
    geo: IpinfoClient,
}

impl Hook {
    /// Builds the hook; with `SECRET_ID`, the Secrets Manager client comes from the AWS SDK's
    /// standard configuration (region, credentials, `AWS_ENDPOINT_URL`).
    pub async fn from_settings(settings: Settings) -> Result<Self, ConfigError> {
        let secrets = SecretSource::from_settings(
            settings.secrets.clone(),
            settings.policy.hook_timeout,
            settings.auth.accept_api_key,
        )
        .await;
        Self::build(settings, secrets)
    }

    /// Builds the hook with this Secrets Manager client (used when `SECRET_ID` is set).
    pub fn with_secrets_client(
        settings: Settings,
        client: aws_sdk_secretsmanager::Client,
    ) -> Result<Self, ConfigError> {
        let secrets = SecretSource::with_client(
            settings.secrets.clone(),
            client,
            settings.auth.accept_api_key,
        );
        Self::build(settings, secrets)
    }

    fn build(settings: Settings, secrets: SecretSource<HookSecrets>) -> Result<Self, ConfigError> {
        let http = http_client::build(settings.policy.hook_timeout, USER_AGENT)
            .map_err(|e| ConfigError::Startup(format!("HTTP client: {e}")))?;
        Ok(Self {
            auth: Authenticator::new(&settings.auth, http.clone()),
            nl3: Nl3Client::new(http.clone(), settings.nl3),
            geo: IpinfoClient::new(http, settings.ipinfo),
            secrets: Arc::new(secrets),
            policy: settings.policy,
            username_source: settings.username_source,
        })
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn upstream_calls(&self) -> UpstreamCalls {
        UpstreamCalls {
            ipinfo: self.geo.lookup_count(),
            jwks: self.auth.jwks_fetch_count(),
        }
    }

    /// Fetches the secret and opens the NL3 and ipinfo connections, waiting at most `limit`:
    /// Lambda's init phase runs at full CPU. A secret read still running then goes on in the
    /// background, and the first call waits for it (within its own budget) instead of reading
    /// again. Returns how long the secret and the connections took.
    pub async fn warm_up(&self, limit: Duration) -> (Duration, Duration) {
        let started = Instant::now();
        let source = self.secrets.clone();
        let read = tokio::spawn(async move { source.get(None).await.result.err() });
        let secrets = async {
            match tokio::time::timeout(limit, read).await {
                Ok(Ok(None)) => {}
                Ok(Ok(Some(e))) => {
                    tracing::warn!(error = %e, "secrets not loaded at start-up; will retry per call")
                }
                Ok(Err(_)) => {} // the runtime is shutting down
                Err(_) => tracing::warn!(
                    "secrets not loaded at start-up (timed out): the first call waits for the read"
                ),
            }
            started.elapsed()
        };
        let connect = async {
            tokio::join!(self.nl3.warm_up(limit), self.geo.warm_up(limit));
            started.elapsed()
        };
        tokio::join!(secrets, connect)
    }

    /// Decides one call. Never panics on input and never outlives the budget.
    pub async fn decide(&self, request: HookRequest<'_>) -> Decision {
        self.decide_since(request, Instant::now()).await
    }

    /// Decides a call whose caller has been waiting since `started` (an on-demand cold start's
    /// first call waited through the init phase): the budget, `elapsed` and the metrics count
    /// from then.
    pub async fn decide_since(&self, request: HookRequest<'_>, started: Instant) -> Decision {
        // A secret read after this moment knows the key Okta sent; `started` cannot say so: a
        // secret read during init is later than an on-demand cold start's `started`, yet may
        // predate a call that only reached the process after init (then a rotation in between
        // went unseen, and Okta's new key was refused without a second read).
        let received = Instant::now();
        let mut deadline = started + self.policy.hook_timeout;
        if let Some(lambda) = request.lambda_deadline {
            let lambda = lambda.checked_sub(LAMBDA_DEADLINE_MARGIN).unwrap_or(lambda);
            deadline = deadline.min(lambda.max(started));
        }
        let mut trace = Trace::default();
        let mut app_policy = AppPolicy::default();
        let found = tokio::time::timeout_at(
            deadline.into(),
            self.find(&request, received, deadline, &mut trace, &mut app_policy),
        )
        .await;
        let verdict = found.unwrap_or_else(|_| {
            Verdict::CheckFailed(Failure::OutOfTime {
                stage: trace.stage,
                budget: deadline.saturating_duration_since(started),
            })
        });
        let policy = app_policy.over(&self.policy);
        Decision::conclude(verdict, &policy, started.elapsed(), trace)
    }

    async fn find(
        &self,
        request: &HookRequest<'_>,
        received: Instant,
        deadline: Instant,
        trace: &mut Trace,
        app_policy: &mut AppPolicy,
    ) -> Verdict {
        trace.stage = Stage::Secrets;
        let at = Instant::now();
        let got = self.secrets.get(Some(deadline)).await;
        trace.secrets = Some(at.elapsed());
        trace.secrets_fetches += u32::from(got.fetched);
        let secrets = match got.result {
            Ok(secrets) => secrets,
            Err(e) => {
                tracing::error!(error = %e, "hook secrets unavailable");
                return Verdict::CheckFailed(Failure::Secrets(e));
            }
        };

        trace.stage = Stage::Authentication;
        let secrets = match self
            .authenticate(request, secrets, received, deadline, trace)
            .await
        {
            Ok(secrets) => secrets,
            Err(why) => {
                tracing::warn!(reason = %why, "hook call not authenticated");
                return Verdict::Forbidden(why);
            }
        };

        let event = match okta::parse_event_as(request.body, self.username_source) {
            Ok(event) => event,
            Err(e) => return Verdict::Unreadable(Unreadable::Body(e)),
        };
        trace.hook_type = Some(event.hook_type);
        trace.event_id = event.event_id.clone();
        let Some(username) = event.username() else {
            return Verdict::NoUser;
        };
        if event.names_differ() {
            trace.checked_as = event.checked_as;
        }
        // On the Okta login whenever Okta sends one, whichever name NL3 is asked about.
        trace.break_glass = event
            .break_glass_name()
            .is_some_and(|name| secrets.is_break_glass(name));
        let app = secrets.resolve_app(&event.app_keys, self.nl3.default_issuer());
        trace.app = Some(app.name().to_string());
        // The app's own LOCKED_MESSAGE, FAIL_OPEN and MODE (an unusable entry's: never laxer
        // than it states), also for a check that fails below.
        *app_policy = AppPolicy {
            locked_message: app.locked_message().map(str::to_string),
            fail_open: Some(app.fail_open(self.policy.fail_open)),
            mode: Some(app.mode(self.policy.mode)),
        };
        let (issuer, signing_key) = match self.target(&event, app, trace) {
            Ok(target) => target,
            Err(verdict) => return verdict,
        };

        let client_ip = event.client_ip.as_deref().unwrap_or("");
        let location = self
            .locate(client_ip, secrets.ipinfo_token(), deadline, trace)
            .await;

        trace.stage = Stage::Nl3;
        let at = Instant::now();
        // Okta sends no user agent to an inline hook.
        let check = nl3_shared::ask::check_request(
            username,
            event.hook_type.integration_type(),
            client_ip,
            location.as_deref(),
            None,
        );
        let status = self.nl3.check(&check, issuer, signing_key).await;
        trace.nl3 = Some(at.elapsed());
        match status {
            Ok(LockStatus::Locked) => Verdict::Locked,
            Ok(LockStatus::NotLocked) => Verdict::NotLocked,
            Err(e) => {
                tracing::error!(error = %e, "NL3 check failed");
                trace.nl3_error = Some(e.to_string());
                Verdict::CheckFailed(Failure::Nl3(e))
            }
        }
    }

    /// Which NL3 settings answer for the app signing in (docs/contract.md §5): its own `APPS`
    /// entry, else the default (`APP_URI` and `SIGNING_KEY`), else `UNLISTED_APPS` decides.
    fn target<'a>(
        &self,
        event: &HookEvent,
        app: ResolvedApp<'a>,
        trace: &mut Trace,
    ) -> Result<(&'a str, &'a jsonwebtoken::EncodingKey), Verdict> {
        if let Some((issuer, signing_key)) = app.nl3() {
            trace.app_uri = Some(issuer.to_string());
            return Ok((issuer, signing_key));
        }
        match app {
            ResolvedApp::Unusable { key, entry } => {
                tracing::error!(app = key, error = %entry.why, "APPS entry unusable: a failed check");
                return Err(Verdict::CheckFailed(Failure::AppUnusable(
                    entry.why.clone(),
                )));
            }
            ResolvedApp::DefaultUnusable { why } => {
                tracing::error!(
                    error = why,
                    "the default app's settings are unusable: a failed check"
                );
                return Err(Verdict::CheckFailed(Failure::DefaultUnusable(
                    why.to_string(),
                )));
            }
            _ => {}
        }
        let named = event
            .app_keys
            .first()
            .map_or("(none named)", String::as_str);
        tracing::warn!(app = named, unlisted = ?self.policy.unlisted, "an app with no NL3 settings");
        Err(match self.policy.unlisted {
            Unlisted::Check => Verdict::CheckFailed(Failure::AppNotConfigured(named.to_string())),
            Unlisted::Allow => Verdict::Unlisted { refused: false },
            Unlisted::Refuse => Verdict::Unlisted { refused: true },
        })
    }

    /// Credentials that cannot be verified in time (a hanging JWKS) are not credentials: stop
    /// just short of the budget and refuse, rather than let the budget decide.
    async fn authenticate(
        &self,
        request: &HookRequest<'_>,
        secrets: Arc<HookSecrets>,
        received: Instant,
        deadline: Instant,
        trace: &mut Trace,
    ) -> Result<Arc<HookSecrets>, AuthFailure> {
        let at = Instant::now();
        let verify_until = deadline
            .checked_sub(AUTH_MARGIN)
            .unwrap_or(deadline)
            .max(at);
        let done = tokio::time::timeout_at(
            verify_until.into(),
            self.auth.authenticate(
                request.headers,
                secrets,
                &self.secrets,
                received,
                verify_until,
            ),
        )
        .await;
        trace.auth = Some(at.elapsed());
        let done = done.map_err(|_| AuthFailure::NotInTime)?;
        trace.secrets_fetches += u32::from(done.secrets_fetched);
        trace.jwks_fetched = done.jwks_fetched;
        done.result
    }

    /// ipinfo, within its slice of the budget; any failure means no location.
    async fn locate(
        &self,
        client_ip: &str,
        token: Option<&str>,
        deadline: Instant,
        trace: &mut Trace,
    ) -> Option<Arc<Location>> {
        // No await before a lookup starts: a client IP not to look up leaves this stage at once.
        trace.stage = Stage::Ipinfo;
        let at = Instant::now();
        let result = self.geo.locate_client(client_ip, token, deadline).await?;
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
}

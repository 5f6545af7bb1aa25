//! Lambda glue: builds the hook from the environment once, and turns each Lambda event into a
//! decision and back into a response in the event's own shape. Every event gets an answer: a
//! bad setting, an unreadable event and a failed check all become well-formed responses.
//!
//! Top layer: imports everything below it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::{self, ConfigError, Observability, Policy, Settings};
use crate::decision::{Decision, Failure, Trace, Unreadable, Verdict};
use crate::hook::{Hook, HookRequest};
use crate::{logging, metrics};
use nl3_shared::event::{HttpEvent, HttpResponse};

/// What Lambda tells about one invocation, beside its payload.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub request_id: String,
    /// Lambda's deadline, in milliseconds since the epoch.
    pub deadline_ms: u64,
    /// The X-Ray trace id, so a decision line can be found from a trace.
    pub xray_trace_id: Option<String>,
}

/// How long the init phase may spend fetching the secret before the first call, when no call is
/// waiting for it (provisioned concurrency, Managed Instances).
const WARM_UP_LIMIT: Duration = Duration::from_secs(3);
/// On an on-demand cold start, the warm-up stops this long before the first call's budget ends,
/// so that the call still answers within it.
const WARM_UP_MARGIN: Duration = Duration::from_millis(100);
/// A first call delivered this soon after the init phase ended was waiting for it (queued while
/// the environment started); one delivered later arrived afterwards (Lambda may initialise an
/// on-demand environment before any call needs it) and waited for nothing.
const QUEUED_DURING_INIT: Duration = Duration::from_millis(200);

/// The init phase, as the first call sees it.
struct Init {
    /// When the process started: an on-demand cold start's first call has waited since then.
    started: Instant,
    /// `AWS_LAMBDA_INITIALIZATION_TYPE` is `on-demand` (or unset, as in local runs): a call is
    /// waiting through the init phase. With provisioned concurrency or Managed Instances none is.
    on_demand: bool,
    /// When the init phase ended (the warm-up done).
    ended: OnceLock<Instant>,
}

impl Init {
    /// Since when the first call, delivered at `received`, has been waiting.
    fn waited_since(&self, received: Instant) -> Option<Instant> {
        let ended = *self.ended.get()?;
        (self.on_demand && received.saturating_duration_since(ended) <= QUEUED_DURING_INIT)
            .then_some(self.started)
    }

    /// How long the warm-up may take: on an on-demand cold start, what is left of the first
    /// call's budget (less a margin to answer in); else [`WARM_UP_LIMIT`].
    fn warm_up_limit(&self, budget: Duration) -> Duration {
        if !self.on_demand {
            return WARM_UP_LIMIT;
        }
        let until = self.started + budget.saturating_sub(WARM_UP_MARGIN);
        until
            .saturating_duration_since(Instant::now())
            .min(WARM_UP_LIMIT)
    }
}

enum State {
    Ready(Box<Hook>),
    /// A missing or invalid setting: every call is a failed check whose reason names it.
    Misconfigured {
        error: ConfigError,
        policy: Policy,
    },
}

/// The process's state.
pub struct App {
    state: State,
    names: Observability,
    cold: AtomicBool,
    init: Init,
}

impl App {
    /// Reads the environment and builds the hook, in a process that started at
    /// `process_started`. A bad setting is logged once, naming the variable; the process keeps
    /// running and answers every call.
    pub async fn from_env(process_started: Instant) -> Self {
        let lookup = |name: &str| std::env::var(name).ok();
        let built = match Settings::from_env() {
            Ok(settings) => Hook::from_settings(settings).await,
            Err(error) => Err(error),
        };
        let mut app = Self::new(built, config::observability(&lookup), || {
            config::fail_open(&lookup).unwrap_or(false)
        });
        app.init = Init {
            started: process_started,
            on_demand: std::env::var("AWS_LAMBDA_INITIALIZATION_TYPE")
                .map_or(true, |t| t.trim().is_empty() || t == "on-demand"),
            ended: OnceLock::new(),
        };
        app
    }

    /// From a built hook (or the setting that stopped it): for tests and the fuzz targets, which
    /// build the hook themselves.
    pub fn new(
        built: Result<Hook, ConfigError>,
        names: Observability,
        fail_open: impl FnOnce() -> bool,
    ) -> Self {
        let state = match built {
            Ok(hook) => State::Ready(Box::new(hook)),
            Err(error) => {
                let fail_open = fail_open();
                tracing::error!(error = %error, fail_open, "hook misconfigured: every call will be answered as a failed check");
                State::Misconfigured {
                    error,
                    policy: Policy {
                        fail_open,
                        locked_message: config::DEFAULT_LOCKED_MESSAGE.into(),
                        hook_timeout: Duration::from_millis(config::DEFAULT_HOOK_TIMEOUT_MS),
                        unlisted: config::Unlisted::Check,
                        mode: nl3_shared::settings::Mode::Enforce,
                    },
                }
            }
        };
        Self {
            state,
            names,
            cold: AtomicBool::new(true),
            // Built by a test or a fuzz target: no init phase anyone waited through.
            init: Init {
                started: Instant::now(),
                on_demand: false,
                ended: OnceLock::new(),
            },
        }
    }

    /// Fetches the secret and opens the NL3 and ipinfo connections during Lambda's init phase,
    /// so the first sign-in after a cold start waits for none of them — on an on-demand cold
    /// start only for as long as the call waiting through the init phase has budget left. Ends
    /// the init phase.
    pub async fn warm_up(&self) {
        if let State::Ready(hook) = &self.state {
            let limit = self.init.warm_up_limit(hook.policy().hook_timeout);
            let (secrets, connections) = hook.warm_up(limit).await;
            tracing::info!(
                secrets_ms = secrets.as_millis() as u64,
                connections_ms = connections.as_millis() as u64,
                limit_ms = limit.as_millis() as u64,
                "warmed up during init"
            );
        }
        let _ = self.init.ended.set(Instant::now());
    }

    /// Answers one Lambda payload, whatever its bytes, with the JSON the Runtime API posts back.
    pub async fn answer(&self, payload: &[u8], invocation: &Invocation) -> Vec<u8> {
        self.respond(payload, invocation).await.to_json()
    }

    /// Answers one Lambda payload, whatever its bytes, in the event's own response shape.
    async fn respond(&self, payload: &[u8], invocation: &Invocation) -> HttpResponse {
        self.handle(HttpEvent::from_slice(payload), invocation)
            .await
    }

    /// Answers one event, logs the decision and prints its metrics.
    async fn handle(&self, event: HttpEvent, invocation: &Invocation) -> HttpResponse {
        let decision = self.decide(&event, invocation).await;
        logging::log_decision(
            &decision,
            &invocation.request_id,
            invocation.xray_trace_id.as_deref(),
        );
        metrics::emit(&decision, &self.names);
        HttpResponse::json(event.kind, decision.answer.status, decision.answer.body)
    }

    /// The decision for one event, without logging it.
    async fn decide(&self, event: &HttpEvent, invocation: &Invocation) -> Decision {
        let received = Instant::now();
        let cold_start = self.cold.swap(false, Ordering::Relaxed);
        // The call that waited through an on-demand init phase: its budget, elapsedMs and
        // HookDuration count from the process start, the wait it really had.
        let waited_since = cold_start
            .then(|| self.init.waited_since(received))
            .flatten();
        let started = waited_since.unwrap_or(received);
        let trace = Trace {
            cold_start,
            init_wait: waited_since.map(|since| received.saturating_duration_since(since)),
            ..Trace::default()
        };
        let (hook, policy) = match &self.state {
            State::Ready(hook) => (hook, hook.policy()),
            State::Misconfigured { error, policy } => {
                let verdict = Verdict::CheckFailed(Failure::Misconfigured(error.clone()));
                return Decision::conclude(verdict, policy, started.elapsed(), trace);
            }
        };
        let body = match event.body() {
            Ok(body) => body,
            Err(e) => {
                let verdict = Verdict::Unreadable(Unreadable::Event(e));
                return Decision::conclude(verdict, policy, started.elapsed(), trace);
            }
        };
        let request = HookRequest {
            headers: &event.headers,
            body: &body,
            lambda_deadline: deadline_instant(invocation.deadline_ms),
        };
        let mut decision = hook.decide_since(request, started).await;
        decision.trace.cold_start = trace.cold_start;
        decision.trace.init_wait = trace.init_wait;
        decision
    }
}

/// Anything earlier is not a deadline in milliseconds since the epoch (cargo-lambda's emulator
/// sends its timeout, `600000`): unknown, not past.
const EARLIEST_DEADLINE_MS: u64 = 1_000_000_000_000;

/// Lambda gives its deadline in milliseconds since the epoch; one already past is now (no time
/// left at all, rather than the whole budget).
fn deadline_instant(deadline_ms: u64) -> Option<Instant> {
    if deadline_ms < EARLIEST_DEADLINE_MS {
        return None;
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis() as u64;
    Some(Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_in_the_past_leaves_no_time() {
        let past = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
            - 5_000;
        let at = deadline_instant(past).unwrap();
        assert!(at <= Instant::now());
        assert_eq!(deadline_instant(0), None);
        assert_eq!(deadline_instant(600_000), None, "cargo-lambda's emulator");
    }
}

//! The decision as data: what the hook found ([`Verdict`], typed, with the causes' sources), the
//! [`Outcome`] it maps to under the policy, and Okta's [`Answer`], all in one place
//! ([`Decision::conclude`]). No I/O here: the hook service produces verdicts, the observers
//! (logs, metrics) and the Lambda glue read decisions.
//!
//! Layer 3: imports the adapters' error types and leaves.

use std::time::Duration;

use nl3_shared::check::Nl3Error;
use nl3_shared::event::EventError;
use nl3_shared::secret_source::SecretsError;
use nl3_shared::settings::Mode;
use serde::Serialize;

use crate::auth::AuthFailure;
use crate::config::{ConfigError, Policy};
use crate::okta::{Answer, BadRequest, HookType, Name};

/// Shown to the user when the check could not be done and `FAIL_OPEN=false`.
pub const FAIL_CLOSED_MESSAGE: &str =
    "Sign-in is paused because the account protection check is unavailable. Please try again in a few minutes.";
/// Shown when the hook call is not authenticated (as NL3's reference handler).
pub const FORBIDDEN_MESSAGE: &str = "Okta Hook Forbidden";

/// Every outcome with its name (logs, `debugContext`) and its metric, listed once.
macro_rules! outcomes {
    ($($(#[$doc:meta])* $variant:ident => $name:literal, $metric:literal;)*) => {
        /// What was decided.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Outcome {
            $($(#[$doc])* $variant,)*
        }

        impl Outcome {
            pub const ALL: &'static [Outcome] = &[$(Self::$variant,)*];

            /// The name in logs and Okta's System Log (`debugContext.decision`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }

            /// The CloudWatch metric counting this outcome.
            pub fn metric(self) -> &'static str {
                match self {
                    $(Self::$variant => $metric,)*
                }
            }
        }
    };
}

outcomes! {
    /// NL3 says the account is not locked.
    Allowed => "allowed", "Allowed";
    /// Nobody to check (client-credentials token request).
    NoUser => "no_user", "NoUser";
    /// NL3 says the account is locked: the sign-in is refused.
    Locked => "locked", "Locked";
    /// The hook call did not carry valid credentials.
    Forbidden => "forbidden", "Forbidden";
    /// The check failed and `FAIL_OPEN=true` (or a break-glass account) let the sign-in through.
    FailOpen => "fail_open", "FailOpen";
    /// The check failed and `FAIL_OPEN=false` refused the sign-in.
    FailClosed => "fail_closed", "FailClosed";
    /// The request is not an Okta inline hook event the hook can read.
    BadRequest => "bad_request", "BadRequest";
    /// An application with no NL3 settings, allowed by `UNLISTED_APPS=allow`.
    NotEnrolled => "not_enrolled", "NotEnrolled";
    /// An application with no NL3 settings, refused by `UNLISTED_APPS=refuse`.
    UnlistedRefused => "unlisted_refused", "UnlistedRefused";
    /// `MODE=report`: a sign-in the hook would have refused, let through
    /// ([`Decision::would_refuse`] says why).
    WouldRefuse => "would_refuse", "WouldRefuse";
}

impl Outcome {
    /// What a refusal of this outcome is called where `MODE=report` lets it through; `None` for
    /// outcomes that let the sign-in through anyway (and for `Forbidden` and `BadRequest`, which
    /// report mode still answers: it never opens the hook to strangers).
    pub fn refusal(self) -> Option<&'static str> {
        match self {
            Self::Locked => Some("locked"),
            Self::FailClosed => Some("failed_check"),
            Self::UnlistedRefused => Some("unlisted_app"),
            _ => None,
        }
    }
}

/// Where a call was when its budget ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stage {
    #[default]
    Secrets,
    Authentication,
    Ipinfo,
    Nl3,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Secrets => "secrets",
            Self::Authentication => "authentication",
            Self::Ipinfo => "ipinfo lookup",
            Self::Nl3 => "NL3 check",
        }
    }
}

/// Why the lock check could not be done: `FAIL_OPEN` decides.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("hook misconfigured: {0}")]
    Misconfigured(#[source] ConfigError),
    #[error("hook secrets unavailable: {0}")]
    Secrets(#[source] SecretsError),
    #[error("{0}")]
    Nl3(#[source] Nl3Error),
    #[error("budget of {} ms ran out during {}", budget.as_millis(), stage.as_str())]
    OutOfTime { stage: Stage, budget: Duration },
    /// An `APPS` entry that cannot be used (the reason names the app and the field). Decided
    /// under the `FAIL_OPEN` and `MODE` the entry states, else the strictest: never the
    /// deployment's.
    #[error("{0} (an unusable APPS entry keeps the FAIL_OPEN and MODE it states, else FAIL_OPEN=false and MODE=enforce, never the deployment's)")]
    AppUnusable(String),
    #[error("app {0} has no NL3 settings and there is no default (APP_URI and SIGNING_KEY); UNLISTED_APPS=check")]
    AppNotConfigured(String),
    /// The default application's `SIGNING_KEY` cannot be used (the reason names the field).
    #[error("the default app cannot be used: {0}")]
    DefaultUnusable(String),
}

/// Why a request could not be read: answered 400.
#[derive(Debug, thiserror::Error)]
pub enum Unreadable {
    #[error("{0}")]
    Event(#[source] EventError),
    #[error("{0}")]
    Body(#[source] BadRequest),
}

/// What the hook found.
#[derive(Debug)]
pub enum Verdict {
    NotLocked,
    Locked,
    NoUser,
    Forbidden(AuthFailure),
    Unreadable(Unreadable),
    CheckFailed(Failure),
    /// `UNLISTED_APPS=allow` / `refuse` for an app without settings.
    Unlisted {
        refused: bool,
    },
}

impl Verdict {
    /// The outcome in `MODE=enforce`, under `fail_open`.
    fn enforced(&self, fail_open: bool) -> Outcome {
        match self {
            Self::NotLocked => Outcome::Allowed,
            Self::Locked => Outcome::Locked,
            Self::NoUser => Outcome::NoUser,
            Self::Forbidden(_) => Outcome::Forbidden,
            Self::Unreadable(_) => Outcome::BadRequest,
            Self::CheckFailed(_) if fail_open => Outcome::FailOpen,
            Self::CheckFailed(_) => Outcome::FailClosed,
            Self::Unlisted { refused: false } => Outcome::NotEnrolled,
            Self::Unlisted { refused: true } => Outcome::UnlistedRefused,
        }
    }

    /// Why, in words for the Okta admin and the logs, under `FAIL_OPEN=fail_open` (the policy's,
    /// not the break-glass exemption). Never a secret.
    fn reason(&self, fail_open: bool, break_glass: bool) -> String {
        match self {
            Self::NotLocked => "NL3: account is not locked".into(),
            Self::Locked => "NL3: account is locked".into(),
            Self::NoUser => "no user in the request (client credentials): nothing to check".into(),
            Self::Forbidden(why) => format!("hook call not authenticated: {why}"),
            Self::Unreadable(why) => why.to_string(),
            Self::CheckFailed(failure) if fail_open => {
                format!("{failure}; FAIL_OPEN=true lets the sign-in through")
            }
            Self::CheckFailed(failure) if break_glass => format!(
                "{failure}; FAIL_OPEN=false, but a break-glass account: a failed check never refuses it"
            ),
            Self::CheckFailed(failure) => format!("{failure}; FAIL_OPEN=false refuses the sign-in"),
            Self::Unlisted { refused: false } => {
                "the app has no NL3 settings; UNLISTED_APPS=allow lets it through unchecked".into()
            }
            Self::Unlisted { refused: true } => {
                "the app has no NL3 settings; UNLISTED_APPS=refuse refuses it".into()
            }
        }
    }
}

/// Where the time went and what the upstreams did in this call, for logs and metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    pub hook_type: Option<HookType>,
    pub event_id: Option<String>,
    /// The stage running now (when the budget ran out: the one it ran out in).
    pub stage: Stage,
    pub secrets: Option<Duration>,
    pub auth: Option<Duration>,
    pub ipinfo: Option<Duration>,
    pub ipinfo_error: Option<String>,
    pub ipinfo_cached: bool,
    pub nl3: Option<Duration>,
    pub nl3_error: Option<String>,
    /// Secrets Manager reads this call made (not other invocations').
    pub secrets_fetches: u32,
    /// This call read the OAuth issuer's JWKS.
    pub jwks_fetched: bool,
    /// The first call of this execution environment.
    pub cold_start: bool,
    /// An on-demand cold start's first call: how long it waited through the init phase before
    /// it was delivered (counted in the decision's `elapsed`).
    pub init_wait: Option<Duration>,
    /// Which NL3 settings answered: an `APPS` key, `default`, or `unlisted` (a bounded set,
    /// so it can be a metric dimension); `None` before the body was read.
    pub app: Option<String>,
    /// That entry's `APP_URI`.
    pub app_uri: Option<String>,
    /// The user is one of `BREAK_GLASS_LOGINS`.
    pub break_glass: bool,
    /// Set only when the request's Okta login and app username differ: which one was checked.
    pub checked_as: Option<Name>,
}

#[derive(Debug)]
pub struct Decision {
    pub outcome: Outcome,
    /// In `MODE=report`, what a refusal that was let through would have been (`locked`,
    /// `failed_check`, `unlisted_app`).
    pub would_refuse: Option<&'static str>,
    pub verdict: Verdict,
    /// Why, in words for the Okta admin and the logs. Never a secret.
    pub reason: String,
    pub answer: Answer,
    pub elapsed: Duration,
    pub trace: Trace,
}

impl Decision {
    /// The one mapping from what was found to what Okta is told.
    pub fn conclude(verdict: Verdict, policy: &Policy, elapsed: Duration, trace: Trace) -> Self {
        // A failed check never refuses a break-glass account.
        let fail_open = policy.fail_open || trace.break_glass;
        let enforced = verdict.enforced(fail_open);
        // MODE=report lets through what it would refuse, and says what that was.
        let would_refuse = match policy.mode {
            Mode::Report => enforced.refusal(),
            Mode::Enforce => None,
        };
        let outcome = match would_refuse {
            Some(_) => Outcome::WouldRefuse,
            None => enforced,
        };
        let mut reason = verdict.reason(policy.fail_open, trace.break_glass);
        if would_refuse.is_some() {
            reason.push_str("; MODE=report lets it through");
        }
        let debug = DebugContext::new(outcome, &reason, elapsed, &trace, would_refuse);
        let answer = match outcome {
            Outcome::Allowed
            | Outcome::NoUser
            | Outcome::FailOpen
            | Outcome::NotEnrolled
            | Outcome::WouldRefuse => Answer::allow(&debug),
            Outcome::Locked | Outcome::UnlistedRefused => {
                Answer::refuse(&policy.locked_message, &debug)
            }
            Outcome::Forbidden => Answer::refuse(FORBIDDEN_MESSAGE, &debug),
            Outcome::FailClosed => Answer::refuse(FAIL_CLOSED_MESSAGE, &debug),
            Outcome::BadRequest => Answer::bad_request(&reason),
        };
        Self {
            outcome,
            would_refuse,
            verdict,
            reason,
            answer,
            elapsed,
            trace,
        }
    }
}

/// What Okta copies into its System Log (`inline_hook.response.processed`): the decision and
/// why, as strings. Never a secret.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DebugContext<'a> {
    hook: &'static str,
    decision: &'static str,
    reason: &'a str,
    elapsed_ms: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    nl3_ms: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipinfo_ms: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    would_refuse: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    break_glass: bool,
    /// When the Okta login and the app username differ: which one NL3 was asked about.
    #[serde(skip_serializing_if = "Option::is_none")]
    username_checked: Option<&'static str>,
}

impl<'a> DebugContext<'a> {
    fn new(
        outcome: Outcome,
        reason: &'a str,
        elapsed: Duration,
        trace: &'a Trace,
        would_refuse: Option<&'static str>,
    ) -> Self {
        let ms = |d: Duration| d.as_millis().to_string();
        Self {
            hook: concat!("nl3-okta-hook ", env!("CARGO_PKG_VERSION")),
            decision: outcome.as_str(),
            reason,
            elapsed_ms: ms(elapsed),
            nl3_ms: trace.nl3.map(ms),
            ipinfo_ms: trace.ipinfo.map(ms),
            location: trace
                .ipinfo_error
                .as_ref()
                .map(|e| format!("unavailable: {e}")),
            app: trace.app.as_deref(),
            app_uri: trace.app_uri.as_deref(),
            would_refuse,
            break_glass: trace.break_glass,
            username_checked: trace.checked_as.map(Name::as_str),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(fail_open: bool) -> Policy {
        Policy {
            fail_open,
            locked_message: "Locked.".into(),
            hook_timeout: Duration::from_millis(2500),
            unlisted: crate::config::Unlisted::Check,
            mode: Mode::Enforce,
        }
    }

    #[test]
    fn outcome_names_and_metrics_are_distinct() {
        let names: std::collections::HashSet<_> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
        let metrics: std::collections::HashSet<_> =
            Outcome::ALL.iter().map(|o| o.metric()).collect();
        assert_eq!(names.len(), Outcome::ALL.len());
        assert_eq!(metrics.len(), Outcome::ALL.len());
    }

    #[test]
    fn every_verdict_maps_to_one_answer() {
        let failed = || {
            Verdict::CheckFailed(Failure::OutOfTime {
                stage: Stage::Nl3,
                budget: Duration::from_millis(400),
            })
        };
        let cases = [
            (Verdict::NotLocked, true, Outcome::Allowed, 200, None),
            (Verdict::Locked, true, Outcome::Locked, 200, Some("Locked.")),
            (Verdict::NoUser, false, Outcome::NoUser, 200, None),
            (
                Verdict::Forbidden(AuthFailure::Header(
                    nl3_shared::header_secret::HeaderSecretFailure::NoApiKey,
                )),
                true,
                Outcome::Forbidden,
                200,
                Some(FORBIDDEN_MESSAGE),
            ),
            (failed(), true, Outcome::FailOpen, 200, None),
            (
                failed(),
                false,
                Outcome::FailClosed,
                200,
                Some(FAIL_CLOSED_MESSAGE),
            ),
            (
                Verdict::Unreadable(Unreadable::Body(BadRequest::EmptyBody)),
                false,
                Outcome::BadRequest,
                400,
                Some("request body is empty"),
            ),
            (
                Verdict::Unlisted { refused: false },
                false,
                Outcome::NotEnrolled,
                200,
                None,
            ),
            (
                Verdict::Unlisted { refused: true },
                true,
                Outcome::UnlistedRefused,
                200,
                Some("Locked."),
            ),
        ];
        for (verdict, fail_open, outcome, status, summary) in cases {
            let d = Decision::conclude(
                verdict,
                &policy(fail_open),
                Duration::ZERO,
                Trace::default(),
            );
            assert_eq!(d.outcome, outcome);
            assert_eq!(d.answer.status, status);
            assert_eq!(
                d.answer.json()["error"]["errorSummary"].as_str(),
                summary,
                "{outcome:?}"
            );
            if status == 200 {
                assert_eq!(
                    d.answer.json()["debugContext"]["decision"],
                    outcome.as_str()
                );
            }
        }
    }

    #[test]
    fn failures_keep_their_cause_and_say_what_fail_open_did() {
        let d = Decision::conclude(
            Verdict::CheckFailed(Failure::Misconfigured(ConfigError::Missing("APP_URI"))),
            &policy(false),
            Duration::ZERO,
            Trace::default(),
        );
        assert_eq!(
            d.reason,
            "hook misconfigured: APP_URI is not set; FAIL_OPEN=false refuses the sign-in"
        );
        let Verdict::CheckFailed(failure) = &d.verdict else {
            panic!("{:?}", d.verdict)
        };
        let source = std::error::Error::source(failure).expect("the cause is kept");
        assert_eq!(source.to_string(), "APP_URI is not set");
    }
}

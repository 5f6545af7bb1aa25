//! The admin side's one error type. Each variant says what failed and what to do, and keeps its
//! source; the CLI's exit codes and the sentinel's `SentinelError` / `ProbeFailed` split are
//! derived from it here and nowhere else. No variant ever holds a credential or a key.

/// A source error of another crate (the AWS SDK's, reqwest's), kept for `source()`.
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line makes no sense: a flag, an argument, an ID that is not of the right kind.
    #[error("{0}")]
    Usage(String),
    /// A setting missing or invalid, or a secret, key or Secrets Manager version that cannot be
    /// used as it is: names the setting or the secret, never its value.
    #[error("{0}")]
    Setting(String),
    /// A setting whose reading failed for a reason of its own (a file, a key, the SDK).
    #[error("{what}")]
    SettingFrom {
        what: String,
        #[source]
        source: Source,
    },
    /// Okta refused the credentials (401), their rights (403), or the access-token request.
    #[error("{what}: {refusal}; {hint}")]
    OktaRefused {
        what: String,
        refusal: String,
        hint: &'static str,
    },
    /// No answer from Okta: connection refused, timeout, TLS.
    #[error("{what}: the call to {org} {kind} ({detail}); check OKTA_ORG_URL and the network")]
    OktaUnreachable {
        what: String,
        org: String,
        kind: &'static str,
        detail: String,
        #[source]
        source: reqwest::Error,
    },
    /// Okta kept answering 429 beyond what one call may wait.
    #[error(
        "{what}: Okta still answers 429 Too Many Requests after {retries} retries and {waited_s:.0} s \
         of waiting; try again later or raise this API's rate limit in Okta (Reports › Rate Limits)"
    )]
    RateLimited {
        what: String,
        retries: u32,
        waited_s: f64,
    },
    /// Okta answered 404, or the org has no such object (a hook, a rule, a user).
    #[error("{0}")]
    NotFound(String),
    /// Okta answered with another status.
    #[error("{what}: Okta answered {status}{summary}{hint}")]
    OktaStatus {
        what: String,
        status: u16,
        /// Okta's `errorCode: errorSummary (causes)`, with a leading space, or empty.
        summary: String,
        hint: &'static str,
    },
    /// Okta answered 2xx with something that cannot be used (not a list, a page repeated, …).
    #[error("{what}: {why}")]
    OktaAnswer { what: String, why: String },
    /// Okta answered the execute-hook call with an error: it could not complete its call to the
    /// hook (a timeout, a non-2xx, an answer it could not use). What the probe exists to see.
    #[error("{0}")]
    HookCall(Box<Error>),
    /// A hook answered Okta's call with a refusal where it must not (testSecret).
    #[error("{0}")]
    HookRefused(String),
    /// Secrets Manager refused or failed a call.
    #[error("{what}: Secrets Manager answered {detail}")]
    SecretsManager {
        what: String,
        detail: String,
        #[source]
        source: Source,
    },
    /// The queue (SQS) refused or failed a call.
    #[error("{what}: SQS answered {detail}")]
    Queue {
        what: String,
        detail: String,
        #[source]
        source: Source,
    },
    /// SQS took the call but refused some of its messages.
    #[error("{0}")]
    QueueRefused(String),
    /// The function's time ran out before the work was done.
    #[error("{0}")]
    OutOfTime(String),
    /// The secret's versions do not allow the step (another rotation, a missing version).
    #[error("{0}")]
    Rotation(String),
    /// A change stopped part-way: the error, then what is left behind and what to do.
    #[error("{source}; {left}")]
    Unfinished {
        #[source]
        source: Box<Error>,
        left: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The CLI's exit codes (docs/admin-cli.md).
pub const EXIT_OK: i32 = 0;
/// `audit`: something that can be covered is not; `preview`: the hook refused; `watch`: a failed
/// call or probe.
pub const EXIT_NOT_COVERED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_OKTA: i32 = 3;

impl Error {
    /// The innermost error, past what was left behind.
    pub fn root(&self) -> &Error {
        match self {
            Error::Unfinished { source, .. } | Error::HookCall(source) => source.root(),
            other => other,
        }
    }

    /// The same error with what is left behind said after it.
    pub fn left_behind(self, left: impl Into<String>) -> Error {
        Error::Unfinished {
            source: Box::new(self),
            left: left.into(),
        }
    }

    /// `2` for what the operator gives (usage, settings, secrets, rotation state), `3` for what
    /// Okta or AWS answered.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Unfinished { source, .. } => source.exit_code(),
            Error::Usage(_)
            | Error::Setting(_)
            | Error::SettingFrom { .. }
            | Error::Rotation(_) => EXIT_USAGE,
            Error::OktaRefused { .. }
            | Error::OktaUnreachable { .. }
            | Error::RateLimited { .. }
            | Error::NotFound(_)
            | Error::OktaStatus { .. }
            | Error::OktaAnswer { .. }
            | Error::HookCall(_)
            | Error::HookRefused(_)
            | Error::OutOfTime(_)
            | Error::Queue { .. }
            | Error::QueueRefused(_)
            | Error::SecretsManager { .. } => EXIT_OKTA,
        }
    }

    /// The sentinel's metric for a probe that did not get a judgeable answer: `ProbeFailed` when
    /// Okta could not complete its call to the hook, `SentinelError` when the probe itself could
    /// not run (Okta unreachable, credentials, the user lookup failing).
    pub fn probe_metric(&self) -> &'static str {
        match self {
            Error::HookCall(_) => "ProbeFailed",
            Error::Unfinished { source, .. } => source.probe_metric(),
            _ => "SentinelError",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_and_the_probe_split_come_from_the_kind() {
        let status = || Error::OktaStatus {
            what: "reading user".into(),
            status: 503,
            summary: String::new(),
            hint: "",
        };
        assert_eq!(Error::Usage("x".into()).exit_code(), EXIT_USAGE);
        assert_eq!(Error::Setting("x".into()).exit_code(), EXIT_USAGE);
        assert_eq!(status().exit_code(), EXIT_OKTA);
        // A 5xx on the probe's user lookup is the sentinel's failure, not the hook's.
        assert_eq!(status().probe_metric(), "SentinelError");
        let call = Error::HookCall(Box::new(status()));
        assert_eq!(call.probe_metric(), "ProbeFailed");
        assert_eq!(call.to_string(), status().to_string());
        let left = Error::Rotation("taken".into()).left_behind("nothing changed");
        assert_eq!(left.to_string(), "taken; nothing changed");
        assert_eq!(left.exit_code(), EXIT_USAGE);
        assert!(matches!(left.root(), Error::Rotation(_)));
    }
}

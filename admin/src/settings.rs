//! Every variable the admin side reads, parsed once into typed settings, each error naming the
//! variable (never a secret's value). The CLI reads its environment, the functions theirs, and
//! the functions' Okta credentials come from a secret's JSON fields, under the same names: all
//! through [`Vars`]. No other module reads the environment.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Url;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::normalize_url;
use nl3_shared::settings::is_loopback;

/// A lookup of one setting by name.
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + Send + Sync + 'a>;

/// Where settings come from: the process environment, a secret's JSON fields, or (in tests) a
/// list. Records what was asked for, so a test can hold `--help` to what the CLI reads.
pub struct Vars<'a> {
    get: Lookup<'a>,
    asked: Mutex<BTreeSet<String>>,
}

impl<'a> Vars<'a> {
    pub fn new(get: impl Fn(&str) -> Option<String> + Send + Sync + 'a) -> Self {
        Vars {
            get: Box::new(get),
            asked: Mutex::new(BTreeSet::new()),
        }
    }

    /// The process environment.
    pub fn env() -> Vars<'static> {
        Vars::new(|name| std::env::var(name).ok())
    }

    /// The string fields of a secret's JSON object.
    pub fn fields(fields: &'a Map<String, Value>) -> Vars<'a> {
        Vars::new(|name| fields.get(name).and_then(Value::as_str).map(String::from))
    }

    /// A fixed list (tests).
    pub fn list(pairs: &'a [(&'a str, &'a str)]) -> Vars<'a> {
        Vars::new(|name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    /// The names read so far.
    pub fn asked(&self) -> BTreeSet<String> {
        self.asked.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// The value, trimmed; empty counts as unset (SAM and Terraform pass `""`).
    pub fn text(&self, name: &str) -> Option<String> {
        if let Ok(mut asked) = self.asked.lock() {
            asked.insert(name.to_string());
        }
        (self.get)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &str, what: &str) -> Result<String> {
        self.text(name)
            .ok_or_else(|| Error::Setting(format!("{name} is not set: {what}")))
    }

    fn number(&self, name: &str, default: u64) -> Result<u64> {
        match self.text(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| Error::Setting(format!("{name} {v:?} is not a whole number"))),
        }
    }
}

/// How the tools prove themselves to Okta. Never shown: `Debug` hides the token and the key.
pub enum Credentials {
    /// `Authorization: SSWS <token>`: an admin's API token.
    ApiToken(String),
    /// An API Services app: client credentials grant with a `private_key_jwt` client assertion.
    PrivateKeyJwt {
        client_id: String,
        key: EncodingKey,
        key_id: Option<String>,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::ApiToken(_) => f.write_str("ApiToken(..)"),
            Credentials::PrivateKeyJwt {
                client_id, key_id, ..
            } => f
                .debug_struct("PrivateKeyJwt")
                .field("client_id", client_id)
                .field("key_id", key_id)
                .field("key", &"..")
                .finish(),
        }
    }
}

/// Where the credentials are read: the CLI's environment may name a key file; a function's
/// secret holds the key itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFile {
    Allowed,
    NotHere,
}

impl Credentials {
    /// `OKTA_API_TOKEN`, or `OKTA_CLIENT_ID` with `OKTA_PRIVATE_KEY` (or, from the CLI's
    /// environment, `OKTA_PRIVATE_KEY_FILE`) and optionally `OKTA_KEY_ID`.
    pub fn read(vars: &Vars, file: KeyFile) -> Result<Credentials> {
        if let Some(client_id) = vars.text("OKTA_CLIENT_ID") {
            let key_id = vars.text("OKTA_KEY_ID");
            let key_file = match file {
                KeyFile::Allowed => vars.text("OKTA_PRIVATE_KEY_FILE"),
                KeyFile::NotHere => None,
            };
            let pem = match (vars.text("OKTA_PRIVATE_KEY"), key_file) {
                (Some(pem), _) => pem,
                (None, Some(path)) => std::fs::read_to_string(&path).map_err(|e| {
                    Error::SettingFrom {
                        what: format!("cannot read OKTA_PRIVATE_KEY_FILE {path:?}: {}", e.kind()),
                        source: Box::new(e),
                    }
                })?,
                (None, None) => {
                    return Err(Error::Setting(
                        "OKTA_CLIENT_ID is set but neither OKTA_PRIVATE_KEY nor OKTA_PRIVATE_KEY_FILE: \
                         give the service app's RSA private key (PEM)"
                            .into(),
                    ))
                }
            };
            let bad = |source: jsonwebtoken::errors::Error| {
                Error::SettingFrom {
                what: "the private key is not an unencrypted RSA private key in PEM form (PKCS#1 or PKCS#8)"
                    .into(),
                source: Box::new(source),
            }
            };
            let key = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(bad)?;
            // Sign once now, so a bad key fails here and not in the middle of a run.
            jsonwebtoken::encode(&Header::new(Algorithm::RS256), &serde_json::json!({}), &key)
                .map_err(bad)?;
            return Ok(Credentials::PrivateKeyJwt {
                client_id,
                key,
                key_id,
            });
        }
        match vars.text("OKTA_API_TOKEN") {
            Some(token) => Ok(Credentials::ApiToken(token)),
            None => Err(Error::Setting(
                "no Okta credentials: set OKTA_API_TOKEN (an API token), or OKTA_CLIENT_ID with \
                 OKTA_PRIVATE_KEY or OKTA_PRIVATE_KEY_FILE (an API Services app using private_key_jwt)"
                    .into(),
            )),
        }
    }
}

/// `OKTA_ORG_URL`: https, or plain http for a loopback host only; no path, query or userinfo.
pub fn org_url(vars: &Vars) -> Result<Url> {
    let raw = vars.required("OKTA_ORG_URL", "e.g. https://your-org.okta.com")?;
    parse_org_url(&raw)
}

pub fn parse_org_url(raw: &str) -> Result<Url> {
    let bad = |why: &str| Error::Setting(format!("OKTA_ORG_URL {raw:?} {why}"));
    let url = Url::parse(raw.trim()).map_err(|_| bad("is not a URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(bad(
                "must use https (plain http only for loopback addresses)",
            ))
        }
        _ => return Err(bad("must use https")),
    }
    if url.host_str().is_none() {
        return Err(bad("has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "must be the org's base URL only, e.g. https://your-org.okta.com",
        ));
    }
    Ok(url)
}

/// A hook URL as given (`--hook-url`, `NL3_HOOK_URL`): Okta calls hooks over https only (plain
/// http for loopback addresses, for tests). Returned normalised, for comparing.
pub fn hook_url(raw: &str, what: &str) -> Result<String> {
    let url =
        Url::parse(raw.trim()).map_err(|_| Error::Usage(format!("{what} {raw:?} is not a URL")))?;
    if url.scheme() != "https" && !(url.scheme() == "http" && is_loopback(&url)) {
        return Err(Error::Usage(format!(
            "{what} {raw:?} must be an https URL: Okta calls inline hooks over https only"
        )));
    }
    Ok(normalize_url(raw))
}

/// The guard's receiver beside the hook, as the template deploys it: `…/okta/hook` → `…/okta/events`.
pub fn events_url_beside(hook_url: &str) -> Option<String> {
    hook_url
        .strip_suffix("/okta/hook")
        .map(|base| format!("{base}/okta/events"))
}

/// Okta access: where, with what, and how long one call may wait out a rate limit.
#[derive(Debug)]
pub struct Okta {
    pub org_url: Url,
    pub credentials: Credentials,
    pub rate_limit_max_wait: Duration,
}

/// The hook's secret, as `setup` gives it to Okta: from Secrets Manager or the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookSecretFrom {
    /// `SECRET_ID`: the hook's Secrets Manager secret (its `API_KEY`).
    SecretsManager(String),
    /// `API_KEY` itself. Never shown.
    Value(Redacted),
    Unset,
}

/// A value never printed: `Debug` shows `..`.
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted(pub String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("..")
    }
}

/// What Okta is told about the hook: its secret, the header it travels in, the gateway's key.
#[derive(Debug, Clone)]
pub struct Hook {
    pub secret: HookSecretFrom,
    /// `API_KEY_HEADER`, when set.
    pub api_key_header: Option<String>,
    /// `GATEWAY_API_KEY`: the API Gateway key, sent by Okta as `x-api-key`.
    pub gateway_api_key: Option<Redacted>,
    /// `API_KEY_GRACE_SECONDS`, as the hook reads it: how long after a rotation the previous
    /// key is still accepted (what rotation tells of hooks it did not give the new key).
    pub api_key_grace: Duration,
}

/// `API_KEY_GRACE_SECONDS`, read by the hook's rule (default and range).
fn api_key_grace(vars: &Vars) -> Result<Duration> {
    nl3_shared::settings::api_key_grace(&|name| vars.text(name)).map_err(shared)
}

impl Hook {
    pub fn read(vars: &Vars) -> Result<Hook> {
        let secret = match (vars.text("SECRET_ID"), vars.text("API_KEY")) {
            (Some(id), _) => HookSecretFrom::SecretsManager(id),
            (None, Some(key)) => HookSecretFrom::Value(Redacted(key)),
            (None, None) => HookSecretFrom::Unset,
        };
        Ok(Hook {
            secret,
            api_key_header: vars.text("API_KEY_HEADER"),
            gateway_api_key: vars.text("GATEWAY_API_KEY").map(Redacted),
            api_key_grace: api_key_grace(vars)?,
        })
    }
}

/// The decisions the hook names in `debugContext.decision` (its `Outcome`s): what a probe may
/// expect (`PROBE_EXPECT`, `--expect`).
pub const DECISIONS: &[&str] = &[
    "allowed",
    "no_user",
    "locked",
    "forbidden",
    "fail_open",
    "fail_closed",
    "bad_request",
    "not_enrolled",
    "unlisted_refused",
    "would_refuse",
];

/// A decision the probe may expect, checked against [`DECISIONS`]; `what` names where it came from.
pub fn decision(raw: &str, what: &str) -> Result<String> {
    if DECISIONS.contains(&raw) {
        Ok(raw.to_string())
    } else {
        Err(Error::Setting(format!(
            "{what} {raw:?} is not a decision of the hook (one of {})",
            DECISIONS.join(", ")
        )))
    }
}

/// `PROBE_LOGIN` and the decision the hook must give for that user (`PROBE_EXPECT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub login: String,
    pub expect: String,
}

/// What the CLI reads besides its flags: the defaults of `--hook-url`, `--probe` and `--expect`,
/// and its log filter. Okta access and the hook's secret are read when a command needs them.
#[derive(Debug, Clone)]
pub struct Cli {
    /// `NL3_HOOK_URL`, as given (checked where it is used, as `--hook-url` is).
    pub hook_url: Option<String>,
    /// `NL3_EVENTS_URL`: the guard's receiver, as given.
    pub events_url: Option<String>,
    /// `QUARANTINE_GROUP_ID`: the group a sign-on policy denies, where the guard holds locked users.
    pub quarantine_group: Option<String>,
    pub probe_login: Option<String>,
    pub probe_expect: Option<String>,
    /// `NL3_ADMIN_LOG` (default `warn`).
    pub log_filter: String,
}

/// Every variable the CLI reads, with what it is for: its `--help` lists them (a test holds this
/// to what the CLI really reads).
pub const CLI_VARIABLES: &[(&str, &str)] = &[
    ("OKTA_ORG_URL", "https://your-org.okta.com (plain http only for loopback addresses)"),
    ("OKTA_API_TOKEN", "an API token (sent as `Authorization: SSWS ...`), or:"),
    ("OKTA_CLIENT_ID", "an API Services app using private_key_jwt, with"),
    ("OKTA_PRIVATE_KEY", "its RSA private key (PEM text), or"),
    ("OKTA_PRIVATE_KEY_FILE", "a PEM file holding it"),
    ("OKTA_KEY_ID", "the key's `kid` (optional)"),
    ("NL3_HOOK_URL", "default for --hook-url"),
    ("NL3_EVENTS_URL", "default for --events-url: the after-sign-in guard's receiver (the stack's EventsUrl)"),
    ("QUARANTINE_GROUP_ID", "audit: the group a sign-on rule must deny; release: the group to take a user out of"),
    ("SECRET_ID", "setup: Secrets Manager secret whose JSON holds API_KEY (else API_KEY); rotate: the secret whose API_KEY is rotated (required)"),
    ("API_KEY", "setup, without SECRET_ID: the hook secret itself"),
    ("API_KEY_HEADER", "setup, rotate: the header Okta sends the secret in (default Authorization)"),
    ("API_KEY_GRACE_SECONDS", "rotate: how long the hook accepts the previous key after a rotation, as the hook's setting (default 3600)"),
    ("GATEWAY_API_KEY", "setup: the API Gateway key, sent by Okta as x-api-key (without it the gateway refuses Okta's calls and Okta lets sign-ins through unchecked)"),
    ("NL3_ADMIN_RATE_LIMIT_MAX_WAIT_SECS", "longest wait for Okta's rate limit per call (default 90)"),
    ("PROBE_LOGIN", "watch: default for --probe"),
    ("PROBE_EXPECT", "watch: default for --expect (default allowed)"),
    ("NL3_ADMIN_LOG", "log filter for the tool's own lines on stderr (default warn; debug: each call)"),
];

impl Cli {
    pub fn read(vars: &Vars) -> Cli {
        Cli {
            hook_url: vars.text("NL3_HOOK_URL"),
            events_url: vars.text("NL3_EVENTS_URL"),
            quarantine_group: vars.text("QUARANTINE_GROUP_ID"),
            probe_login: vars.text("PROBE_LOGIN"),
            probe_expect: vars.text("PROBE_EXPECT"),
            log_filter: vars.text("NL3_ADMIN_LOG").unwrap_or_else(|| "warn".into()),
        }
    }

    /// Okta access from the CLI's environment.
    pub fn okta(vars: &Vars) -> Result<Okta> {
        let org_url = org_url(vars)?;
        let credentials = Credentials::read(vars, KeyFile::Allowed)?;
        let secs = vars.number("NL3_ADMIN_RATE_LIMIT_MAX_WAIT_SECS", 90)?;
        Ok(Okta {
            org_url,
            credentials,
            rate_limit_max_wait: Duration::from_secs(secs),
        })
    }
}

/// The metrics' namespace and `service` dimension, as the hook's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    pub namespace: String,
    pub service: String,
}

impl Metrics {
    pub fn read(vars: &Vars) -> Metrics {
        Metrics {
            namespace: vars
                .text("POWERTOOLS_METRICS_NAMESPACE")
                .unwrap_or_else(|| nl3_shared::settings::DEFAULT_NAMESPACE.into()),
            service: vars
                .text("POWERTOOLS_SERVICE_NAME")
                .unwrap_or_else(|| nl3_shared::settings::DEFAULT_SERVICE.into()),
        }
    }
}

/// How a function logs: Lambda's advanced logging controls (`AWS_LAMBDA_LOG_LEVEL`,
/// `AWS_LAMBDA_LOG_FORMAT`) as the hook honours them, else `NL3_LOG` (default `info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logs {
    pub directives: String,
    pub text: bool,
}

impl Logs {
    pub fn read(vars: &Vars) -> Logs {
        let directives = match vars.text("AWS_LAMBDA_LOG_LEVEL") {
            Some(level) => nl3_shared::log_cap::lambda_level(&level),
            None => vars.text("NL3_LOG").unwrap_or_else(|| "info".into()),
        };
        Logs {
            directives,
            text: vars
                .text("AWS_LAMBDA_LOG_FORMAT")
                .is_some_and(|f| f.eq_ignore_ascii_case("text")),
        }
    }
}

/// A function's Okta access: `OKTA_ORG_URL`, and the secret holding its credentials
/// (`OKTA_SECRET_ID`, never the hook's secret, so the hook's role can never read an Okta admin
/// credential).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionOkta {
    pub org_url: Url,
    pub secret_id: String,
}

impl FunctionOkta {
    pub fn read(vars: &Vars) -> Result<FunctionOkta> {
        Ok(FunctionOkta {
            org_url: org_url(vars)?,
            secret_id: vars.required(
                "OKTA_SECRET_ID",
                "the secret that holds this function's Okta credentials",
            )?,
        })
    }
}

/// `NL3_HOOK_URL` where a function needs it.
fn function_hook_url(vars: &Vars) -> Result<String> {
    let raw = vars.required(
        "NL3_HOOK_URL",
        "the hook URL registered in Okta (the stack's HookUrl)",
    )?;
    Ok(normalize_url(&raw))
}

/// `nl3-okta-rotate`'s settings.
#[derive(Debug, Clone)]
pub struct Rotate {
    pub hook_url: String,
    /// `NL3_EVENTS_URL`: the guard's event hook, rotated with the inline hooks.
    pub events_url: Option<String>,
    pub api_key_header: Option<String>,
    pub api_key_grace: Duration,
}

impl Rotate {
    pub fn read(vars: &Vars) -> Result<Rotate> {
        let hook_url = function_hook_url(vars)?;
        Ok(Rotate {
            events_url: vars.text("NL3_EVENTS_URL").map(|u| normalize_url(&u)),
            hook_url,
            api_key_header: vars.text("API_KEY_HEADER"),
            api_key_grace: api_key_grace(vars)?,
        })
    }
}

/// How far one read of the System Log may go: pages, and time spent (rate-limit waits included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogBounds {
    pub max_pages: usize,
    pub max_time: Duration,
}

/// `nl3-okta-sentinel`'s settings.
#[derive(Debug, Clone)]
pub struct Sentinel {
    /// `NL3_HOOK_URL`, normalised: which hooks are NL3's.
    pub hook_url: String,
    /// `NL3_EVENTS_URL`, normalised: the guard's receiver, when the guard is deployed (its event
    /// hook is then watched: audited, and its failed deliveries counted).
    pub events_url: Option<String>,
    /// `QUARANTINE_GROUP_ID`: the audit checks a sign-on rule denies it.
    pub quarantine_group: Option<String>,
    /// The schedule's period (`SENTINEL_SCHEDULE`, a `rate(...)` expression).
    pub period: Duration,
    pub probe: Option<Probe>,
    pub log_bounds: LogBounds,
    /// `SENTINEL_RATE_LIMIT_MAX_WAIT_SECS`.
    pub rate_limit_max_wait: Duration,
}

pub const DEFAULT_SCHEDULE: &str = "rate(5 minutes)";

/// The decision the probe expects unless `PROBE_EXPECT` (or `watch --expect`) names another.
pub const DEFAULT_PROBE_EXPECT: &str = "allowed";

impl Sentinel {
    pub fn read(vars: &Vars) -> Result<Sentinel> {
        let hook_url = function_hook_url(vars)?;
        let schedule = vars
            .text("SENTINEL_SCHEDULE")
            .unwrap_or_else(|| DEFAULT_SCHEDULE.into());
        let probe = match vars.text("PROBE_LOGIN") {
            None => None,
            Some(login) => Some(Probe {
                login,
                expect: decision(
                    &vars
                        .text("PROBE_EXPECT")
                        .unwrap_or_else(|| DEFAULT_PROBE_EXPECT.into()),
                    "PROBE_EXPECT",
                )?,
            }),
        };
        Ok(Sentinel {
            hook_url,
            events_url: vars.text("NL3_EVENTS_URL").map(|u| normalize_url(&u)),
            quarantine_group: vars.text("QUARANTINE_GROUP_ID"),
            period: parse_rate(&schedule)?,
            probe,
            log_bounds: LogBounds {
                max_pages: vars.number("SENTINEL_MAX_LOG_PAGES", 10)?.max(1) as usize,
                max_time: Duration::from_secs(vars.number("SENTINEL_MAX_LOG_SECS", 60)?),
            },
            rate_limit_max_wait: Duration::from_secs(
                vars.number("SENTINEL_RATE_LIMIT_MAX_WAIT_SECS", 30)?,
            ),
        })
    }

    /// `PROBE_LOGIN` is set (even when the rest of the settings are not usable).
    pub fn probe_asked(vars: &Vars) -> bool {
        vars.text("PROBE_LOGIN").is_some()
    }

    /// `nl3-okta-sentinel --once`: the run's time limit outside Lambda (`SENTINEL_ONCE_SECS`,
    /// default 170 s: the template's timeout less the margin).
    pub fn once_limit(vars: &Vars) -> Duration {
        Duration::from_secs(
            vars.text("SENTINEL_ONCE_SECS")
                .and_then(|s| s.parse().ok())
                .unwrap_or(170),
        )
    }
}

/// The period of an EventBridge `rate(N minute[s]|hour[s]|day[s])` expression. A `cron(...)`
/// schedule has no fixed period, so no window could be derived from it.
pub fn parse_rate(expr: &str) -> Result<Duration> {
    let bad = || {
        Error::Setting(format!(
            "SENTINEL_SCHEDULE {expr:?} is not a rate(N minutes|hours|days) expression \
             (the window of each run is the period before it)"
        ))
    };
    let inner = expr
        .trim()
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(bad)?;
    let (n, unit) = inner.trim().split_once(' ').ok_or_else(bad)?;
    let n: u64 = n.parse().map_err(|_| bad())?;
    let unit_secs = match unit.trim() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        _ => return Err(bad()),
    };
    log_period(n, unit_secs).ok_or_else(|| {
        Error::Setting(format!(
            "SENTINEL_SCHEDULE {expr:?}: the period must be between 1 minute and 90 days"
        ))
    })
}

/// `n` units of `unit_secs` seconds, when that is more than nothing and within the 90 days of
/// System Log Okta keeps: a longer period has no window to read (and would overflow the
/// window's arithmetic).
pub fn log_period(n: u64, unit_secs: u64) -> Option<Duration> {
    n.checked_mul(unit_secs)
        .filter(|secs| (1..=90 * 86_400).contains(secs))
        .map(Duration::from_secs)
}

/// A setting of the shared crate's parsing, as this crate's error (the variable named).
fn shared(e: nl3_shared::settings::SettingsError) -> Error {
    Error::Setting(e.to_string())
}

/// `nl3-okta-events`'s settings: the hook secret's `API_KEY`s and where they travel, the queue.
pub struct Events {
    /// `SECRET_ID` (with `SECRET_TTL_SECONDS`, `API_KEY_GRACE_SECONDS`) or `API_KEY`: read as
    /// the hook reads them, `API_KEY` alone.
    pub secrets: nl3_shared::settings::SecretsSettings,
    /// `API_KEY_HEADER` (default `Authorization`).
    pub header: http::HeaderName,
    /// `EVENTS_QUEUE_URL`: the guard's SQS FIFO queue.
    pub queue_url: String,
}

impl Events {
    pub fn read(vars: &Vars) -> Result<Events> {
        let lookup = |name: &str| vars.text(name);
        Ok(Events {
            secrets: nl3_shared::settings::SecretsSettings::from_lookup(
                &lookup,
                <nl3_shared::secrets::KeysOnly as nl3_shared::secrets::SecretDocument>::ENV_FIELDS,
            )
            .map_err(shared)?,
            header: nl3_shared::settings::api_key_header(&lookup).map_err(shared)?,
            queue_url: vars.required(
                "EVENTS_QUEUE_URL",
                "the guard's SQS FIFO queue (the stack's EventsQueueUrl)",
            )?,
        })
    }
}

/// `nl3-okta-guard`'s settings: NL3 and ipinfo as the hook's, the hook secret, Okta, the
/// quarantine group.
pub struct Guard {
    pub nl3: nl3_shared::settings::Nl3Settings,
    pub ipinfo: nl3_shared::settings::IpinfoSettings,
    /// `MODE`: the deployment's, over which an `APPS` entry's own wins.
    pub mode: nl3_shared::settings::Mode,
    /// The hook secret (`SIGNING_KEY`, `IPINFO_TOKEN`, `APPS`, `BREAK_GLASS_LOGINS`).
    pub secrets: nl3_shared::settings::SecretsSettings,
    /// `GUARD_CHECK_TIMEOUT_MS` (default 5000): one check's time (NL3 and ipinfo).
    pub check_timeout: Duration,
    /// `QUARANTINE_GROUP_ID`.
    pub quarantine_group: Option<String>,
}

impl Guard {
    pub fn read(vars: &Vars) -> Result<Guard> {
        let lookup = |name: &str| vars.text(name);
        let check_timeout = Duration::from_millis(vars.number("GUARD_CHECK_TIMEOUT_MS", 5000)?);
        Ok(Guard {
            nl3: nl3_shared::settings::Nl3Settings::from_lookup(&lookup).map_err(shared)?,
            ipinfo: nl3_shared::settings::IpinfoSettings::from_lookup(&lookup, check_timeout)
                .map_err(shared)?,
            mode: nl3_shared::settings::Mode::from_lookup(&lookup).map_err(shared)?,
            secrets: nl3_shared::settings::SecretsSettings::from_lookup(
                &lookup,
                <nl3_shared::secrets::HookSecrets as nl3_shared::secrets::SecretDocument>::ENV_FIELDS,
            )
            .map_err(shared)?,
            check_timeout,
            quarantine_group: vars.text("QUARANTINE_GROUP_ID"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_url_must_be_https_or_loopback_http() {
        assert!(parse_org_url("https://acme.okta.com").is_ok());
        assert!(parse_org_url("https://acme.okta.com/").is_ok());
        assert!(parse_org_url("http://127.0.0.1:8080").is_ok());
        assert!(parse_org_url("http://[::1]:8080").is_ok());
        assert!(parse_org_url("http://localhost:1").is_ok());
        assert!(parse_org_url("http://acme.okta.com").is_err());
        assert!(parse_org_url("http://10.0.0.1").is_err());
        assert!(parse_org_url("https://acme.okta.com/oauth2/default").is_err());
        assert!(parse_org_url("https://u:p@acme.okta.com").is_err());
        assert!(parse_org_url("acme.okta.com").is_err());
    }

    #[test]
    fn hook_urls_are_https_or_loopback_and_normalised() {
        assert_eq!(
            hook_url("https://H.example.com/okta/hook/", "--hook-url").unwrap(),
            "https://h.example.com/okta/hook"
        );
        assert!(hook_url("http://localhost:9000/x", "--hook-url").is_ok());
        let e = hook_url("http://h.example.com/x", "--hook-url").unwrap_err();
        assert!(e.to_string().contains("must be an https URL"), "{e}");
        assert!(matches!(e, Error::Usage(_)));
    }

    #[test]
    fn credentials_come_from_the_vars_and_never_show() {
        let token = Credentials::read(
            &Vars::list(&[("OKTA_API_TOKEN", " 00abc ")]),
            KeyFile::NotHere,
        )
        .unwrap();
        assert!(matches!(&token, Credentials::ApiToken(t) if t == "00abc"));
        assert!(!format!("{token:?}").contains("00abc"));
        let err = Credentials::read(&Vars::list(&[("OKTA_CLIENT_ID", "0oa1")]), KeyFile::NotHere)
            .unwrap_err();
        assert!(err.to_string().contains("OKTA_PRIVATE_KEY"), "{err}");
        // A file path is the CLI's; a function reads only its secret.
        let vars = [("OKTA_CLIENT_ID", "0oa1"), ("OKTA_PRIVATE_KEY_FILE", "/k")];
        let err = Credentials::read(&Vars::list(&vars), KeyFile::NotHere).unwrap_err();
        assert!(err.to_string().contains("neither"), "{err}");
        let err = Credentials::read(&Vars::list(&[]), KeyFile::Allowed).unwrap_err();
        assert!(err.to_string().contains("no Okta credentials"), "{err}");
        let bad = [
            ("OKTA_CLIENT_ID", "0oa1"),
            (
                "OKTA_PRIVATE_KEY",
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            ),
        ];
        let err = Credentials::read(&Vars::list(&bad), KeyFile::NotHere).unwrap_err();
        assert!(
            err.to_string()
                .contains("not an unencrypted RSA private key"),
            "{err}"
        );
    }

    #[test]
    fn function_logs_follow_lambdas_controls() {
        assert_eq!(
            Logs::read(&Vars::list(&[])),
            Logs {
                directives: "info".into(),
                text: false
            }
        );
        let lambda = [
            ("AWS_LAMBDA_LOG_LEVEL", "FATAL"),
            ("NL3_LOG", "debug"),
            ("AWS_LAMBDA_LOG_FORMAT", "Text"),
        ];
        assert_eq!(
            Logs::read(&Vars::list(&lambda)),
            Logs {
                directives: "error".into(),
                text: true
            }
        );
        assert_eq!(
            Logs::read(&Vars::list(&[("NL3_LOG", "debug")])).directives,
            "debug"
        );
    }

    #[test]
    fn rate_expressions_give_the_period() {
        assert_eq!(
            parse_rate("rate(5 minutes)").unwrap(),
            Duration::from_secs(300)
        );
        assert_eq!(
            parse_rate("rate(1 hour)").unwrap(),
            Duration::from_secs(3600)
        );
        assert_eq!(
            parse_rate(" rate(2 days) ").unwrap(),
            Duration::from_secs(172_800)
        );
        for bad in [
            "cron(0/5 * * * ? *)",
            "rate(0 minutes)",
            "rate(5 weeks)",
            "5m",
            "",
        ] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_sentinel_checks_what_the_probe_expects() {
        let vars = [
            ("NL3_HOOK_URL", "https://h/x/"),
            ("PROBE_LOGIN", "probe@acme"),
            ("PROBE_EXPECT", "maybe"),
        ];
        let e = Sentinel::read(&Vars::list(&vars)).unwrap_err();
        assert!(
            e.to_string()
                .contains("PROBE_EXPECT \"maybe\" is not a decision"),
            "{e}"
        );
        let s = Sentinel::read(&Vars::list(&vars[..2])).unwrap();
        assert_eq!(s.hook_url, "https://h/x");
        assert_eq!(s.probe.unwrap().expect, "allowed");
        assert_eq!(s.log_bounds.max_pages, 10);
    }

    #[test]
    fn the_grace_is_read_by_the_hook_s_rule() {
        let grace = |value: &'static str| {
            let vars = [("API_KEY", "k"), ("API_KEY_GRACE_SECONDS", value)];
            let read = Hook::read(&Vars::list(&vars));
            read.map(|h| h.api_key_grace)
        };
        assert_eq!(grace("").unwrap(), Duration::from_secs(3600));
        assert_eq!(grace("600").unwrap(), Duration::from_secs(600));
        // Beyond the hook's week, the hook would not start: neither does the rotation.
        let e = grace("700000").unwrap_err();
        assert!(e.to_string().contains("API_KEY_GRACE_SECONDS"), "{e}");
    }
}

//! The sentinel: what only Okta sees, checked on a schedule (`nl3-okta-sentinel`) or on demand
//! (`nl3-okta-admin watch`, parts 2 and 3).
//!
//! 1. Coverage: the audit of `nl3-okta-admin audit` for `NL3_HOOK_URL` ([`Snapshot::read`] and
//!    [`audit::audit`]): `NotCovered`, `CannotBeCovered`, and a log line per item not covered.
//! 2. Okta's failed calls: the System Log of the run's window ([`syslog`]): `OktaHookFailures`.
//! 3. The probe (`PROBE_LOGIN`): Okta calls the token hook for that user, as `preview` does
//!    ([`preview::execute`]): `ProbeFailed` unless the answer is well-formed and has the
//!    expected decision.
//!
//! One EMF line per run, in the hook's namespace and `service` dimension. A part that cannot run
//! (Okta unreachable, 401/403, a rate limit beyond the wait, the log window not read to its
//! end) adds to `SentinelError` and emits none of its own metrics: never a zero that would look
//! like "all fine".

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{json, Value};

use crate::audit::{self, Verdict};
use crate::cli::PreviewArgs;
use crate::client::OktaClient;
use crate::org::{self, Snapshot, TOKEN_HOOK};
use crate::preview;
use crate::syslog::{self, Bounds, Failure, Window};
use crate::{normalize_url, AdminError};

/// Okta writes its log a little after the fact: each window reaches back this much further than
/// the schedule period, so an event published late into the previous window is still read.
pub const OVERLAP: Duration = Duration::from_secs(60);
pub const DEFAULT_SCHEDULE: &str = "rate(5 minutes)";
pub const DEFAULT_NAMESPACE: &str = "NL3OktaHook";
pub const DEFAULT_SERVICE: &str = "nl3-okta-hook";

/// What the sentinel is told through its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `NL3_HOOK_URL`, normalised: which hooks are NL3's.
    pub hook_url: String,
    /// The schedule's period (`SENTINEL_SCHEDULE`, a `rate(...)` expression).
    pub period: Duration,
    pub probe: Option<Probe>,
    pub namespace: String,
    pub service: String,
    pub log_bounds: Bounds,
    /// Longest wait for Okta's rate limit per call (`SENTINEL_RATE_LIMIT_MAX_WAIT_SECS`).
    pub rate_limit_max_wait: Duration,
}

/// `PROBE_LOGIN` and the decision the hook must give for that user (`PROBE_EXPECT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub login: String,
    pub expect: String,
}

/// The decisions the hook names in `debugContext.decision` (its `Outcome`s).
const DECISIONS: &[&str] = &[
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

impl Config {
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Config, AdminError> {
        let get = |name: &str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let hook_url = get("NL3_HOOK_URL").ok_or_else(|| {
            AdminError::Config(
                "NL3_HOOK_URL is not set: the URL Okta calls for the NL3 hook (the stack's HookUrl)"
                    .into(),
            )
        })?;
        let schedule = get("SENTINEL_SCHEDULE").unwrap_or_else(|| DEFAULT_SCHEDULE.into());
        let number = |name: &str, default: u64| -> Result<u64, AdminError> {
            match get(name) {
                None => Ok(default),
                Some(v) => v
                    .parse()
                    .map_err(|_| AdminError::Config(format!("{name} {v:?} is not a whole number"))),
            }
        };
        let probe = match get("PROBE_LOGIN") {
            None => None,
            Some(login) => {
                let expect = get("PROBE_EXPECT").unwrap_or_else(|| "allowed".into());
                if !DECISIONS.contains(&expect.as_str()) {
                    return Err(AdminError::Config(format!(
                        "PROBE_EXPECT {expect:?} is not a decision of the hook (one of {})",
                        DECISIONS.join(", ")
                    )));
                }
                Some(Probe { login, expect })
            }
        };
        Ok(Config {
            hook_url: normalize_url(&hook_url),
            period: parse_rate(&schedule)?,
            probe,
            namespace: get("POWERTOOLS_METRICS_NAMESPACE")
                .unwrap_or_else(|| DEFAULT_NAMESPACE.into()),
            service: get("POWERTOOLS_SERVICE_NAME").unwrap_or_else(|| DEFAULT_SERVICE.into()),
            log_bounds: Bounds {
                max_pages: number("SENTINEL_MAX_LOG_PAGES", 10)?.max(1) as usize,
                max_time: Duration::from_secs(number("SENTINEL_MAX_LOG_SECS", 60)?),
            },
            rate_limit_max_wait: Duration::from_secs(number(
                "SENTINEL_RATE_LIMIT_MAX_WAIT_SECS",
                30,
            )?),
        })
    }

    /// What the run asks Okta for (read-only, but for the probe's execute call).
    pub fn scopes(&self) -> Vec<&'static str> {
        let mut scopes = crate::SENTINEL_SCOPES.to_vec();
        if self.probe.is_some() {
            scopes.extend(crate::PROBE_SCOPES);
        }
        scopes.sort_unstable();
        scopes.dedup();
        scopes
    }
}

/// The period of an EventBridge `rate(N minute[s]|hour[s]|day[s])` expression. A `cron(...)`
/// schedule has no fixed period, so no window could be derived from it.
pub fn parse_rate(expr: &str) -> Result<Duration, AdminError> {
    let bad = || {
        AdminError::Config(format!(
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
    if n == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(n * unit_secs))
}

/// The window of a run scheduled at `time`: the period before it, plus [`OVERLAP`]. It depends
/// on the event only, so a late or retried run reads the same window.
pub fn window(time: SystemTime, period: Duration) -> Window {
    Window {
        since: time - period - OVERLAP,
        until: time,
    }
}

/// The scheduled event's `time` (EventBridge: RFC 3339, e.g. `2026-12-01T20:05:00Z`).
pub fn event_time(event: &Value) -> Result<SystemTime, AdminError> {
    use aws_sdk_secretsmanager::primitives::{DateTime, DateTimeFormat};
    let raw = event.get("time").ok_or_else(|| {
        AdminError::Usage(
            "the event has no \"time\": the sentinel expects EventBridge's scheduled event".into(),
        )
    })?;
    let text = raw
        .as_str()
        .ok_or_else(|| AdminError::Usage(format!("the event's \"time\" {raw} is not a string")))?;
    DateTime::from_str(text, DateTimeFormat::DateTime)
        .ok()
        .and_then(|t| SystemTime::try_from(t).ok())
        .ok_or_else(|| {
            AdminError::Usage(format!(
                "the event's \"time\" {text:?} is not an RFC 3339 time"
            ))
        })
}

/// One item the audit found not covered.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub kind: String,
    pub id: String,
    pub name: String,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    pub not_covered: usize,
    pub cannot_be_covered: usize,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failures {
    pub failures: Vec<Failure>,
    pub events_read: usize,
    pub pages: usize,
    pub truncated: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeResult {
    pub login: String,
    pub hook_id: String,
    pub hook_name: String,
    pub expect: String,
    /// `debugContext.decision` of the hook's answer, when it gave one.
    pub decision: Option<String>,
    pub failed: bool,
    pub why: String,
    /// The round trip through Okta (Okta calling the hook included).
    pub elapsed_ms: u64,
}

/// What one run found; a part that could not run holds why.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub since: String,
    pub until: String,
    #[serde(serialize_with = "part")]
    pub coverage: Option<Result<Coverage, String>>,
    #[serde(serialize_with = "part")]
    pub failures: Option<Result<Failures, String>>,
    #[serde(serialize_with = "part")]
    pub probe: Option<Result<ProbeResult, String>>,
    pub elapsed_ms: u64,
}

fn part<T: Serialize, S: serde::Serializer>(
    value: &Option<Result<T, String>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match value {
        None => s.serialize_none(),
        Some(Ok(v)) => v.serialize(s),
        Some(Err(e)) => json!({ "error": e }).serialize(s),
    }
}

/// Which parts to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub coverage: bool,
    pub failures: bool,
}

/// One pass: the parts asked for, each logged as it ends. Never fails: a part that cannot run
/// records why. A part still running at `deadline` (the function's own, less a margin, so the
/// EMF line is always written) is stopped and counts as not run.
pub async fn run(
    client: &OktaClient,
    hook_url: Option<&str>,
    window: Window,
    bounds: Bounds,
    probe: Option<&Probe>,
    parts: Parts,
    deadline: Instant,
) -> Run {
    let started = Instant::now();
    let coverage = if parts.coverage {
        Some(in_time(deadline, "coverage", coverage(client, hook_url)).await)
    } else {
        None
    };
    let failures = if parts.failures {
        Some(
            in_time(
                deadline,
                "okta_failures",
                failures(client, hook_url, window, bounds),
            )
            .await,
        )
    } else {
        None
    };
    let probe = match probe {
        Some(p) => Some(in_time(deadline, "probe", run_probe(client, hook_url, p)).await),
        None => None,
    };
    Run {
        since: preview::rfc3339(window.since),
        until: preview::rfc3339(window.until),
        coverage,
        failures,
        probe,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

/// `part`, unless `deadline` comes first (Okta's rate-limit waits add up over many calls).
async fn in_time<T>(
    deadline: Instant,
    name: &str,
    part: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    match tokio::time::timeout_at(deadline.into(), part).await {
        Ok(result) => result,
        Err(_) => {
            let why = "stopped: the function's time ran out before this part finished \
                       (Okta slow or rate-limiting)"
                .to_string();
            tracing::error!(part = name, error = %why, "sentinel part could not run");
            Err(why)
        }
    }
}

/// Part 1, the audit exactly as `nl3-okta-admin audit --hook-url` makes it.
async fn coverage(client: &OktaClient, hook_url: Option<&str>) -> Result<Coverage, String> {
    let snapshot = Snapshot::read(client).await.map_err(|e| {
        tracing::error!(part = "coverage", error = %e, "sentinel part could not run");
        e.to_string()
    })?;
    let report = audit::audit(&snapshot, &client.org_url(), hook_url);
    let mut items = Vec::new();
    for r in report
        .rules
        .iter()
        .filter(|r| r.verdict == Verdict::NotCovered)
    {
        items.push(Item {
            kind: "rule".into(),
            id: r.rule_id.clone(),
            name: format!("{} › {} › {}", r.server, r.policy, r.rule),
            why: r.reason.clone(),
        });
    }
    for a in report
        .saml_apps
        .iter()
        .chain(&report.oidc_apps)
        .filter(|a| a.verdict == Verdict::NotCovered)
    {
        items.push(Item {
            kind: format!("{} app", a.sign_on_mode),
            id: a.id.clone(),
            name: a.label.clone(),
            why: a.reason.clone(),
        });
    }
    for item in &items {
        tracing::warn!(
            kind = %item.kind, id = %item.id, name = %item.name, why = %item.why,
            "not covered by the NL3 hook"
        );
    }
    tracing::info!(
        part = "coverage",
        not_covered = report.summary.not_covered,
        cannot_be_covered = report.summary.cannot_be_covered,
        covered = report.summary.covered,
        "coverage audited"
    );
    Ok(Coverage {
        not_covered: report.summary.not_covered,
        cannot_be_covered: report.summary.cannot_be_covered,
        items,
    })
}

/// Part 2, the failed calls of NL3's hooks in the window.
async fn failures(
    client: &OktaClient,
    hook_url: Option<&str>,
    window: Window,
    bounds: Bounds,
) -> Result<Failures, String> {
    let fail = |e: AdminError| {
        tracing::error!(part = "okta_failures", error = %e, "sentinel part could not run");
        e.to_string()
    };
    let ours: HashMap<String, org::Hook> = org::read_hooks(client)
        .await
        .map_err(fail)?
        .into_iter()
        .filter(|h| audit::is_ours(h, hook_url))
        .map(|h| (h.id.clone(), h))
        .collect();
    let read = syslog::read(client, window, bounds).await.map_err(fail)?;
    let found = syslog::failures(&read.events, &ours);
    for f in &found {
        if f.malformed {
            tracing::warn!(
                uuid = %f.uuid, time = %f.time, event_type = %f.event_type, reason = %f.reason,
                "System Log entry could not be read: counted as a failed hook call"
            );
        } else {
            tracing::warn!(
                uuid = %f.uuid, time = %f.time, hook_id = %f.hook_id, hook = %f.hook_name,
                hook_type = f.hook_type, event_type = %f.event_type, outcome = %f.outcome,
                reason = %f.reason,
                "Okta could not complete a call to the NL3 hook"
            );
        }
    }
    if let Some(why) = &read.truncated {
        tracing::error!(
            part = "okta_failures",
            pages = read.pages,
            "System Log paging {why}"
        );
    }
    tracing::info!(
        part = "okta_failures",
        failures = found.len(),
        events = read.events.len(),
        pages = read.pages,
        since = %preview::rfc3339(window.since),
        until = %preview::rfc3339(window.until),
        "System Log read"
    );
    Ok(Failures {
        failures: found,
        events_read: read.events.len(),
        pages: read.pages,
        truncated: read.truncated,
    })
}

/// Part 3: Okta calls the token hook for the probe user.
async fn run_probe(
    client: &OktaClient,
    hook_url: Option<&str>,
    probe: &Probe,
) -> Result<ProbeResult, String> {
    let args = PreviewArgs {
        user: probe.login.clone(),
        app: None,
        hook_url: hook_url.map(String::from),
        hook_id: None,
        json: true,
    };
    let started = Instant::now();
    let executed = preview::execute(client, &args).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let executed = match executed {
        Ok(e) => e,
        // Okta answered the execute call, but not 2xx: it could not complete the hook call (Okta
        // answers 400 when the hook times out, errs or answers non-2xx). That is the failure
        // the probe exists to see.
        Err(AdminError::Unexpected(why)) => {
            let result = ProbeResult {
                login: probe.login.clone(),
                hook_id: String::new(),
                hook_name: String::new(),
                expect: probe.expect.clone(),
                decision: None,
                failed: true,
                why,
                elapsed_ms,
            };
            log_probe(&result);
            return Ok(result);
        }
        Err(e) => {
            tracing::error!(part = "probe", error = %e, "sentinel part could not run");
            return Err(e.to_string());
        }
    };
    debug_assert_eq!(executed.kind, TOKEN_HOOK);
    let decision = executed.answer["debugContext"]["decision"]
        .as_str()
        .map(String::from);
    let why = judge_answer(&executed.answer, decision.as_deref(), &probe.expect);
    let result = ProbeResult {
        login: probe.login.clone(),
        hook_id: executed.hook.id.clone(),
        hook_name: executed.hook.name.clone(),
        expect: probe.expect.clone(),
        decision,
        failed: why.is_some(),
        why: why.unwrap_or_else(|| "the hook answered as expected".into()),
        elapsed_ms,
    };
    log_probe(&result);
    Ok(result)
}

/// Why the hook's answer (as Okta passed it back) is not what the probe expects; `None` when it is.
fn judge_answer(answer: &Value, decision: Option<&str>, expect: &str) -> Option<String> {
    if !answer.is_object() {
        return Some("the answer is not a JSON object".into());
    }
    if answer
        .get("commands")
        .is_some_and(|c| !c.is_array() && !c.is_null())
    {
        return Some("the answer's commands is not a list".into());
    }
    let error = answer.get("error").filter(|e| !e.is_null());
    if error.is_some_and(|e| !e["errorSummary"].is_string()) {
        return Some("the answer's error has no errorSummary".into());
    }
    let Some(decision) = decision else {
        return Some("the answer has no debugContext.decision (not the NL3 hook's answer?)".into());
    };
    // The decision must agree with what Okta will do: refuse only with an error object.
    let refuses = !matches!(
        decision,
        "allowed" | "no_user" | "not_enrolled" | "fail_open" | "would_refuse"
    );
    if refuses != error.is_some() {
        return Some(format!(
            "the answer says {decision:?} but {} an error object",
            if error.is_some() { "carries" } else { "lacks" }
        ));
    }
    (decision != expect).then(|| format!("the hook decided {decision:?}, expected {expect:?}"))
}

fn log_probe(r: &ProbeResult) {
    if r.failed {
        tracing::error!(
            part = "probe", login = %r.login, hook_id = %r.hook_id, expect = %r.expect,
            decision = r.decision.as_deref().unwrap_or("-"), why = %r.why,
            elapsed_ms = r.elapsed_ms,
            "probe failed"
        );
    } else {
        tracing::info!(
            part = "probe", login = %r.login, hook_id = %r.hook_id,
            decision = r.decision.as_deref().unwrap_or("-"), elapsed_ms = r.elapsed_ms,
            "probe answered"
        );
    }
}

impl Run {
    /// Parts that could not run, or ran on part of their data (a truncated log window).
    pub fn errors(&self) -> u64 {
        let failed = |p: bool| u64::from(p);
        failed(matches!(self.coverage, Some(Err(_))))
            + failed(matches!(
                self.failures,
                Some(Err(_))
                    | Some(Ok(Failures {
                        truncated: Some(_),
                        ..
                    }))
            ))
            + failed(matches!(self.probe, Some(Err(_))))
    }

    /// OktaHookFailures by `HookType` (token and saml always, unknown when any).
    fn failures_by_type(&self) -> Option<Vec<(&'static str, u64)>> {
        let Some(Ok(f)) = &self.failures else {
            return None;
        };
        let count = |t: &str| f.failures.iter().filter(|x| x.hook_type == t).count() as u64;
        let mut out = vec![("token", count("token")), ("saml", count("saml"))];
        if count("unknown") > 0 {
            out.push(("unknown", count("unknown")));
        }
        Some(out)
    }

    /// The run's EMF line, then one line per hook type for `OktaHookFailures` by `HookType`
    /// (EMF carries one value per dimension per line). Only the parts that ran have metrics.
    pub fn emf(&self, namespace: &str, service: &str, timestamp_ms: u64) -> Vec<String> {
        let mut metrics: Vec<(&str, &str, f64)> = vec![
            ("SentinelRun", "Count", 1.0),
            ("SentinelError", "Count", self.errors() as f64),
            ("SentinelDuration", "Milliseconds", self.elapsed_ms as f64),
        ];
        if let Some(Ok(c)) = &self.coverage {
            metrics.push(("NotCovered", "Count", c.not_covered as f64));
            metrics.push(("CannotBeCovered", "Count", c.cannot_be_covered as f64));
        }
        if let Some(Ok(f)) = &self.failures {
            metrics.push(("OktaHookFailures", "Count", f.failures.len() as f64));
        }
        if let Some(Ok(p)) = &self.probe {
            metrics.push(("ProbeFailed", "Count", f64::from(u8::from(p.failed))));
            metrics.push(("ProbeDuration", "Milliseconds", p.elapsed_ms as f64));
        }
        let mut line = json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [["service"]],
                    "Metrics": metrics.iter().map(|(n, u, _)| json!({"Name": n, "Unit": u})).collect::<Vec<_>>(),
                }],
            },
            "service": service,
            "Sentinel": "run",
        });
        for (name, _, value) in &metrics {
            line[*name] = json!(value);
        }
        let mut lines = vec![line.to_string()];
        for (hook_type, n) in self.failures_by_type().unwrap_or_default() {
            lines.push(
                json!({
                    "_aws": {
                        "Timestamp": timestamp_ms,
                        "CloudWatchMetrics": [{
                            "Namespace": namespace,
                            "Dimensions": [["service", "HookType"]],
                            "Metrics": [{"Name": "OktaHookFailures", "Unit": "Count"}],
                        }],
                    },
                    "service": service,
                    "HookType": hook_type,
                    "OktaHookFailures": n,
                    "Sentinel": "failures-by-hook-type",
                })
                .to_string(),
            );
        }
        lines
    }
}

/// How long before the function's deadline a run stops its parts, to write its metrics.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// What the function does with one scheduled event: its settings and Okta credentials (from
/// `OKTA_SECRET_ID`, through `secrets`), the window from the event, the three parts, the EMF
/// lines on stdout, and a summary as the function's result. Whatever stops it, an EMF line with
/// `SentinelError` is written first.
pub async fn handle(
    event: &Value,
    env: &dyn Fn(&str) -> Option<String>,
    secrets: &aws_sdk_secretsmanager::Client,
    deadline: Instant,
) -> Result<Value, AdminError> {
    let get = |name: &str| {
        env(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let namespace = get("POWERTOOLS_METRICS_NAMESPACE").unwrap_or_else(|| DEFAULT_NAMESPACE.into());
    let service = get("POWERTOOLS_SERVICE_NAME").unwrap_or_else(|| DEFAULT_SERVICE.into());
    let print = |run: &Run| {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        for line in run.emf(&namespace, &service, now_ms) {
            println!("{line}");
        }
    };
    let probe_asked = get("PROBE_LOGIN").is_some();
    let not_run = |e: AdminError| {
        let why = e.to_string();
        tracing::error!(error = %why, "sentinel could not run");
        print(&Run {
            since: String::new(),
            until: String::new(),
            coverage: Some(Err(why.clone())),
            failures: Some(Err(why.clone())),
            probe: probe_asked.then(|| Err(why.clone())),
            elapsed_ms: 0,
        });
        e
    };
    let config = Config::from_env(env).map_err(not_run)?;
    let time = event_time(event).map_err(not_run)?;
    let client =
        crate::function::okta_client(env, secrets, &config.scopes(), config.rate_limit_max_wait)
            .await
            .map_err(not_run)?;
    let window = window(time, config.period);
    let run = run(
        &client,
        Some(&config.hook_url),
        window,
        config.log_bounds,
        config.probe.as_ref(),
        Parts {
            coverage: true,
            failures: true,
        },
        deadline,
    )
    .await;
    print(&run);
    tracing::info!(
        errors = run.errors(),
        elapsed_ms = run.elapsed_ms,
        since = %run.since,
        until = %run.until,
        "sentinel run done"
    );
    Ok(serde_json::to_value(&run).expect("serializable"))
}

/// `nl3-okta-admin watch`: parts 2 and 3 for the last `--since`, as a table (or `--json`).
/// Exit 0 when Okta completed every call and the probe (if asked) passed, 1 when not, 3 when a
/// part could not run.
pub async fn watch(client: &OktaClient, args: &crate::cli::WatchArgs) -> Result<i32, AdminError> {
    use std::fmt::Write;
    if !DECISIONS.contains(&args.expect.as_str()) {
        return Err(AdminError::Usage(format!(
            "--expect {:?} is not a decision of the hook (one of {})",
            args.expect,
            DECISIONS.join(", ")
        )));
    }
    let now = SystemTime::now();
    let window = Window {
        since: now - args.since,
        until: now,
    };
    let probe = args.probe.as_ref().map(|login| Probe {
        login: login.clone(),
        expect: args.expect.clone(),
    });
    // On demand there is no schedule to keep: read up to 100 pages (100 000 events) or 5 min.
    let bounds = Bounds {
        max_pages: 100,
        max_time: Duration::from_secs(300),
    };
    let parts = Parts {
        coverage: false,
        failures: true,
    };
    // On demand: 15 minutes at most, however Okta's rate limits go.
    let deadline = Instant::now() + Duration::from_secs(900);
    let run = run(
        client,
        args.hook_url.as_deref(),
        window,
        bounds,
        probe.as_ref(),
        parts,
        deadline,
    )
    .await;
    let code = if run.errors() > 0 {
        crate::EXIT_OKTA
    } else if matches!(&run.failures, Some(Ok(f)) if !f.failures.is_empty())
        || matches!(&run.probe, Some(Ok(p)) if p.failed)
    {
        crate::EXIT_NOT_COVERED
    } else {
        crate::EXIT_OK
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&run).expect("serializable")
        );
        return Ok(code);
    }
    let mut out = String::new();
    match &run.failures {
        Some(Ok(f)) => {
            let _ = writeln!(
                out,
                "Okta's System Log, {} to {} ({} event(s) on {} page(s)): {} call(s) of the NL3 hook Okta could not complete",
                run.since,
                run.until,
                f.events_read,
                f.pages,
                f.failures.len()
            );
            if let Some(why) = &f.truncated {
                let _ = writeln!(out, "INCOMPLETE: paging {why}");
            }
            if !f.failures.is_empty() {
                let rows: Vec<Vec<String>> = f
                    .failures
                    .iter()
                    .map(|x| {
                        vec![
                            x.time.clone(),
                            if x.hook_id.is_empty() {
                                "(unknown)".into()
                            } else {
                                format!("{} ({}, {})", x.hook_name, x.hook_id, x.hook_type)
                            },
                            x.outcome.clone(),
                            format!("{} [{} {}]", x.reason, x.event_type, x.uuid),
                        ]
                    })
                    .collect();
                out.push_str(&crate::output::table(
                    &["TIME", "HOOK", "OUTCOME", "REASON"],
                    &rows,
                ));
            }
        }
        Some(Err(e)) => {
            let _ = writeln!(out, "Okta's System Log could not be read: {e}");
        }
        None => {}
    }
    match &run.probe {
        Some(Ok(p)) => {
            let _ = writeln!(
                out,
                "Probe for {}: {} ({}; decision {}, expected {}; {} ms through Okta)",
                p.login,
                if p.failed { "FAILED" } else { "ok" },
                p.why,
                p.decision.as_deref().unwrap_or("-"),
                p.expect,
                p.elapsed_ms
            );
        }
        Some(Err(e)) => {
            let _ = writeln!(out, "Probe could not run: {e}");
        }
        None => {}
    }
    print!("{out}");
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_window_comes_from_the_event_time() {
        let event = json!({"time": "2026-12-01T20:05:00Z", "detail-type": "Scheduled Event"});
        let t = event_time(&event).unwrap();
        let w = window(t, Duration::from_secs(300));
        assert_eq!(preview::rfc3339(w.since), "2026-12-01T19:59:00.000Z");
        assert_eq!(preview::rfc3339(w.until), "2026-12-01T20:05:00.000Z");
        for bad in [
            json!({}),
            json!({"time": 5}),
            json!({"time": "yesterday"}),
            json!([1]),
        ] {
            assert!(event_time(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_probe_judges_the_answer() {
        let ok = json!({"commands": [], "debugContext": {"decision": "allowed"}});
        assert_eq!(judge_answer(&ok, Some("allowed"), "allowed"), None);
        let locked =
            json!({"error": {"errorSummary": "Locked"}, "debugContext": {"decision": "locked"}});
        assert_eq!(judge_answer(&locked, Some("locked"), "locked"), None);
        assert!(judge_answer(&locked, Some("locked"), "allowed").is_some());
        let fail_open = json!({"commands": [], "debugContext": {"decision": "fail_open"}});
        assert!(judge_answer(&fail_open, Some("fail_open"), "allowed").is_some());
        let lying = json!({"commands": [], "debugContext": {"decision": "locked"}});
        assert!(judge_answer(&lying, Some("locked"), "locked").is_some());
        assert!(judge_answer(&json!({"commands": []}), None, "allowed").is_some());
        assert!(judge_answer(&json!([]), None, "allowed").is_some());
        // MODE=report: a locked probe user is let through as would_refuse.
        let reported = json!({"commands": [], "debugContext": {"decision": "would_refuse"}});
        assert_eq!(
            judge_answer(&reported, Some("would_refuse"), "would_refuse"),
            None
        );
        assert!(judge_answer(&reported, Some("would_refuse"), "locked").is_some());
    }
}

//! The sentinel: what only Okta sees, checked on a schedule (`nl3-okta-sentinel`) or on demand
//! (`nl3-okta-admin watch`, parts 2 and 3).
//!
//! 1. Coverage: the audit of `nl3-okta-admin audit` for `NL3_HOOK_URL` ([`org::snapshot`] and
//!    [`audit::audit`]): `NotCovered`, `CannotBeCovered`, and a log line per item not covered.
//! 2. Okta's failed calls: the System Log of the run's window ([`syslog`]): `OktaHookFailures`.
//! 3. The probe (`PROBE_LOGIN`): Okta calls the token hook for that user, as `preview` does
//!    ([`preview::execute`]): `ProbeFailed` unless the answer is well-formed and has the
//!    expected decision.
//!
//! One run reads the org's inline hooks once, for all three parts. One EMF line per run, in the
//! hook's namespace and `service` dimension. A part that cannot run (Okta unreachable, 401/403,
//! a rate limit beyond the wait, the log window not read to its end) adds to `SentinelError` and
//! emits none of its own metrics: never a zero that would look like "all fine".

use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde_json::{json, Value};

use crate::audit::{self, Verdict};
use crate::emf;
use crate::error::Error;
use crate::model::{okta_time, EventHook, InlineHook, TOKEN_HOOK};
use crate::okta::OktaClient;
use crate::org;
use crate::preview::{self, HookChoice};
use crate::settings::{LogBounds, Metrics, Probe};
use crate::syslog::{self, Failure, Ours, Window};

/// Okta writes its log a little after the fact: each window reaches back this much further than
/// the schedule period, so an event published late into the previous window is still read.
pub const OVERLAP: Duration = Duration::from_secs(60);

/// How long before the function's deadline a run stops its parts, to write its metrics.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// The sentinel's scopes, all read-only: the audit's, and the System Log.
pub const SENTINEL_SCOPES: &[&str] = &[
    "okta.inlineHooks.read",
    "okta.authorizationServers.read",
    "okta.apps.read",
    "okta.eventHooks.read",
    "okta.logs.read",
];
/// What the probe adds: reading the probe user, and executing the hook (Okta's API lists
/// `okta.inlineHooks.manage` for `POST /api/v1/inlineHooks/{id}/execute`; no read scope allows it).
pub const PROBE_SCOPES: &[&str] = &["okta.users.read", "okta.inlineHooks.manage"];

/// What a run asks Okta for: the parts' scopes, the probe's when there is one.
pub fn scopes(parts: Parts, watched: Watched<'_>, probe: bool) -> Vec<&'static str> {
    let mut scopes: Vec<&'static str> = if parts.coverage {
        SENTINEL_SCOPES.to_vec()
    } else {
        vec!["okta.inlineHooks.read", "okta.logs.read"]
    };
    if watched.events_url.is_some() {
        scopes.push("okta.eventHooks.read");
    }
    if parts.coverage && watched.quarantine.is_some() {
        scopes.extend(audit::QUARANTINE_SCOPES);
    }
    if probe {
        scopes.extend(PROBE_SCOPES);
    }
    scopes.sort_unstable();
    scopes.dedup();
    scopes
}

/// The window of a run scheduled at `time`: the period before it, plus [`OVERLAP`]. It depends
/// on the event only, so a late or retried run reads the same window.
pub fn window(time: SystemTime, period: Duration) -> Window {
    Window {
        since: time
            .checked_sub(period + OVERLAP)
            .unwrap_or(SystemTime::UNIX_EPOCH),
        until: time,
    }
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
    pub contained_after_sign_in: usize,
    /// With the guard deployed: its event hook is ACTIVE, VERIFIED and subscribed.
    pub event_hook_ready: Option<bool>,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failures {
    pub failures: Vec<Failure>,
    pub events_read: usize,
    pub pages: usize,
    pub truncated: Option<String>,
    /// The guard's event hook is watched: its failed deliveries were read too.
    #[serde(skip)]
    pub event_hook: bool,
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

/// What a run watches: NL3's inline hooks (`NL3_HOOK_URL`), the guard's event hook
/// (`NL3_EVENTS_URL`, when the guard is deployed) and the quarantine group (`QUARANTINE_GROUP_ID`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Watched<'a> {
    pub hook_url: Option<&'a str>,
    pub events_url: Option<&'a str>,
    pub quarantine: Option<&'a str>,
}

/// The org's hooks, read once per run for every part.
#[derive(Debug, Clone, Default)]
struct Hooks {
    inline: Vec<InlineHook>,
    events: Vec<EventHook>,
}

/// One pass: the org's hooks read once, then the parts asked for, each logged as it ends.
/// Never fails: a part that cannot run records why. A part still running at `deadline` (the
/// function's own, less a margin, so the EMF line is always written) is stopped and counts as
/// not run.
pub async fn run(
    client: &OktaClient,
    watched: Watched<'_>,
    window: Window,
    bounds: LogBounds,
    probe: Option<&Probe>,
    parts: Parts,
    deadline: Instant,
) -> Run {
    let started = Instant::now();
    let with_event_hooks = parts.coverage || watched.events_url.is_some();
    let hooks = in_time(deadline, "hooks", async {
        let inline = org::hooks(client).await.map_err(|e| e.to_string())?;
        let events = if with_event_hooks {
            org::event_hooks(client).await.map_err(|e| e.to_string())?
        } else {
            vec![]
        };
        Ok(Hooks { inline, events })
    })
    .await;
    let hooks = hooks.as_ref().map_err(Clone::clone);
    let coverage = if parts.coverage {
        Some(
            in_time(
                deadline,
                "coverage",
                coverage(client, watched, hooks.clone()),
            )
            .await,
        )
    } else {
        None
    };
    let failures = if parts.failures {
        Some(
            in_time(
                deadline,
                "okta_failures",
                failures(client, watched, hooks.clone(), window, bounds),
            )
            .await,
        )
    } else {
        None
    };
    let probe = match probe {
        Some(p) => Some(
            in_time(
                deadline,
                "probe",
                run_probe(client, watched.hook_url, hooks.map(|h| &h.inline[..]), p),
            )
            .await,
        ),
        None => None,
    };
    Run {
        since: okta_time(window.since),
        until: okta_time(window.until),
        coverage,
        failures,
        probe,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

/// A part that cannot run: logged, and why.
fn not_run(part: &str, why: String) -> String {
    tracing::error!(part, error = %why, "sentinel part could not run");
    why
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

/// Part 1, the audit exactly as `nl3-okta-admin audit --hook-url --events-url` makes it.
async fn coverage(
    client: &OktaClient,
    watched: Watched<'_>,
    hooks: Result<&Hooks, String>,
) -> Result<Coverage, String> {
    let hooks = hooks.map_err(|why| not_run("coverage", why))?;
    let snapshot = org::snapshot_with(
        client,
        hooks.inline.clone(),
        hooks.events.clone(),
        watched.quarantine,
    )
    .await
    .map_err(|e| not_run("coverage", e.to_string()))?;
    let expect = audit::Expect {
        hook_url: watched.hook_url,
        events_url: watched.events_url,
    };
    let report = audit::audit(&snapshot, &client.org_url(), expect);
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
        .chain(&report.other_apps)
        .filter(|a| a.verdict == Verdict::NotCovered)
    {
        items.push(Item {
            kind: format!("{} app", a.sign_on_mode),
            id: a.id.clone(),
            name: a.label.clone(),
            why: a.reason.clone(),
        });
    }
    if report.guard.verdict == Verdict::NotCovered {
        items.push(Item {
            kind: "event hook".into(),
            id: report.guard.id.clone().unwrap_or_default(),
            name: report.guard.name.clone().unwrap_or_default(),
            why: report.guard.reason.clone(),
        });
    }
    if let Some(q) = report
        .quarantine
        .as_ref()
        .filter(|q| q.verdict == Verdict::NotCovered)
    {
        items.push(Item {
            kind: "quarantine group".into(),
            id: q.group_id.clone(),
            name: q.group_name.clone().unwrap_or_default(),
            why: q.reason.clone(),
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
        contained_after_sign_in: report.summary.contained_after_sign_in,
        event_hook_ready: watched.events_url.map(|_| report.guard.ready),
        items,
    })
}

/// Part 2, the failed calls of NL3's hooks in the window (and failed deliveries to the guard's
/// event hook, when it is watched).
async fn failures(
    client: &OktaClient,
    watched: Watched<'_>,
    hooks: Result<&Hooks, String>,
    window: Window,
    bounds: LogBounds,
) -> Result<Failures, String> {
    let hooks = hooks.map_err(|why| not_run("okta_failures", why))?;
    let ours = Ours::of(
        hooks.inline.iter().filter(|h| h.calls(watched.hook_url)),
        hooks
            .events
            .iter()
            .filter(|h| watched.events_url.is_some() && h.calls(watched.events_url)),
    );
    let read = syslog::read(client, window, bounds, ours.has_event_hook())
        .await
        .map_err(|e| not_run("okta_failures", e.to_string()))?;
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
        since = %okta_time(window.since),
        until = %okta_time(window.until),
        "System Log read"
    );
    Ok(Failures {
        failures: found,
        events_read: read.events.len(),
        pages: read.pages,
        truncated: read.truncated,
        event_hook: ours.has_event_hook(),
    })
}

/// Part 3: Okta calls the token hook for the probe user.
async fn run_probe(
    client: &OktaClient,
    hook_url: Option<&str>,
    hooks: Result<&[InlineHook], String>,
    probe: &Probe,
) -> Result<ProbeResult, String> {
    let hooks = hooks.map_err(|why| not_run("probe", why))?;
    let request = preview::Request {
        user: probe.login.clone(),
        app: None,
        hook: HookChoice::Url(hook_url.map(String::from)),
    };
    let started = Instant::now();
    let executed = preview::execute(client, &request, Some(hooks)).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let executed = match executed {
        Ok(e) => e,
        // Okta could not complete its call to the hook: the failure the probe exists to see.
        Err(e) if e.probe_metric() == "ProbeFailed" => {
            let result = ProbeResult {
                login: probe.login.clone(),
                hook_id: String::new(),
                hook_name: String::new(),
                expect: probe.expect.clone(),
                decision: None,
                failed: true,
                why: e.to_string(),
                elapsed_ms,
            };
            log_probe(&result);
            return Ok(result);
        }
        Err(e) => return Err(not_run("probe", e.to_string())),
    };
    debug_assert_eq!(executed.hook.kind, TOKEN_HOOK);
    let decision = executed.decision().map(String::from);
    let why = judge_answer(&executed.answer, &probe.expect);
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
fn judge_answer(answer: &Value, expect: &str) -> Option<String> {
    match crate::requests::hook_decision(answer) {
        Err(why) => Some(why),
        Ok(decision) => (decision != expect)
            .then(|| format!("the hook decided {decision:?}, expected {expect:?}")),
    }
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

    /// OktaHookFailures by `HookType` (token and saml always, events when the guard's event
    /// hook is watched, unknown when any) (only counts above zero when the window was not read
    /// to its end: a zero would claim what was not counted).
    fn failures_by_type(&self) -> Option<Vec<(&'static str, u64)>> {
        let Some(Ok(f)) = &self.failures else {
            return None;
        };
        let count = |t: &str| f.failures.iter().filter(|x| x.hook_type == t).count() as u64;
        let out = [
            ("token", count("token"), true),
            ("saml", count("saml"), true),
            ("events", count("events"), f.event_hook),
            ("unknown", count("unknown"), false),
        ]
        .into_iter()
        .filter(|(_, n, zero)| *n > 0 || (f.truncated.is_none() && *zero))
        .map(|(t, n, _)| (t, n))
        .collect();
        Some(out)
    }

    /// The run's EMF line, then one line per hook type for `OktaHookFailures` by `HookType`
    /// (EMF carries one value per dimension per line). Only the parts that ran have metrics.
    pub fn emf(&self, metrics: &Metrics, timestamp_ms: u64) -> Vec<String> {
        let mut values: Vec<(&str, &str, f64)> = vec![
            ("SentinelRun", "Count", 1.0),
            ("SentinelError", "Count", self.errors() as f64),
            ("SentinelDuration", "Milliseconds", self.elapsed_ms as f64),
        ];
        if let Some(Ok(c)) = &self.coverage {
            values.push(("NotCovered", "Count", c.not_covered as f64));
            values.push(("CannotBeCovered", "Count", c.cannot_be_covered as f64));
            values.push((
                "ContainedAfterSignIn",
                "Count",
                c.contained_after_sign_in as f64,
            ));
            if let Some(ready) = c.event_hook_ready {
                values.push(("EventHookNotReady", "Count", f64::from(u8::from(!ready))));
            }
        }
        // A window not read to its end publishes what it did count, flagged as partial, and no
        // value at all when it counted none: never a clean zero for an unread window.
        let partial = matches!(&self.failures, Some(Ok(f)) if f.truncated.is_some());
        if let Some(Ok(f)) = &self.failures {
            if !partial || !f.failures.is_empty() {
                values.push(("OktaHookFailures", "Count", f.failures.len() as f64));
            }
        }
        if let Some(Ok(p)) = &self.probe {
            values.push(("ProbeFailed", "Count", f64::from(u8::from(p.failed))));
            values.push(("ProbeDuration", "Milliseconds", p.elapsed_ms as f64));
        }
        let values: Vec<(&str, &str, Value)> = values
            .into_iter()
            .map(|(name, unit, value)| (name, unit, json!(value)))
            .collect();
        let mut line = emf::line(metrics, timestamp_ms, &["service"], &values);
        line["Sentinel"] = json!("run");
        if partial {
            line["OktaHookFailuresPartial"] = json!(true);
        }
        let mut lines = vec![line.to_string()];
        for (hook_type, n) in self.failures_by_type().unwrap_or_default() {
            let mut line = emf::line(
                metrics,
                timestamp_ms,
                &["service", "HookType"],
                &[("OktaHookFailures", "Count", json!(n))],
            );
            line["HookType"] = json!(hook_type);
            line["Sentinel"] = json!("failures-by-hook-type");
            lines.push(line.to_string());
        }
        lines
    }
}

impl Run {
    /// A run that could not start (settings, the event, Okta's credentials): every part asked
    /// for failed with `why`, so the EMF line says `SentinelError` and no zero.
    pub fn not_started(why: &Error, probe_asked: bool) -> Run {
        let why = why.to_string();
        Run {
            since: String::new(),
            until: String::new(),
            coverage: Some(Err(why.clone())),
            failures: Some(Err(why.clone())),
            probe: probe_asked.then_some(Err(why)),
            elapsed_ms: 0,
        }
    }

    /// The exit code of `watch`: 0 when Okta completed every call and the probe (if asked)
    /// passed, 1 when not, 3 when a part could not run.
    pub fn exit_code(&self) -> i32 {
        use crate::error::{EXIT_NOT_COVERED, EXIT_OK, EXIT_OKTA};
        if self.errors() > 0 {
            EXIT_OKTA
        } else if matches!(&self.failures, Some(Ok(f)) if !f.failures.is_empty())
            || matches!(&self.probe, Some(Ok(p)) if p.failed)
        {
            EXIT_NOT_COVERED
        } else {
            EXIT_OK
        }
    }

    /// The run as the function's result.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_the_period_before_the_event_and_a_minute() {
        let t = crate::model::parse_time("2026-12-01T20:05:00Z").unwrap();
        let w = window(t, Duration::from_secs(300));
        assert_eq!(okta_time(w.since), "2026-12-01T19:59:00.000Z");
        assert_eq!(okta_time(w.until), "2026-12-01T20:05:00.000Z");
    }

    #[test]
    fn the_probe_judges_the_answer() {
        let ok = json!({"commands": [], "debugContext": {"decision": "allowed"}});
        assert_eq!(judge_answer(&ok, "allowed"), None);
        let locked =
            json!({"error": {"errorSummary": "Locked"}, "debugContext": {"decision": "locked"}});
        assert_eq!(judge_answer(&locked, "locked"), None);
        assert!(judge_answer(&locked, "allowed").is_some());
        let fail_open = json!({"commands": [], "debugContext": {"decision": "fail_open"}});
        assert!(judge_answer(&fail_open, "allowed").is_some());
        let lying = json!({"commands": [], "debugContext": {"decision": "locked"}});
        assert!(judge_answer(&lying, "locked").is_some());
        assert!(judge_answer(&json!({"commands": []}), "allowed").is_some());
        assert!(judge_answer(&json!([]), "allowed").is_some());
        // MODE=report: a locked probe user is let through as would_refuse.
        let reported = json!({"commands": [], "debugContext": {"decision": "would_refuse"}});
        assert_eq!(judge_answer(&reported, "would_refuse"), None);
        assert!(judge_answer(&reported, "locked").is_some());
    }

    #[test]
    fn a_window_not_read_to_its_end_publishes_no_zero() {
        let failures = |n: usize, truncated: bool| Failures {
            failures: (0..n)
                .map(|i| Failure {
                    uuid: format!("u{i}"),
                    time: String::new(),
                    event_type: "inline_hook.executed".into(),
                    hook_id: "cal1".into(),
                    hook_name: "NL3".into(),
                    hook_type: "token",
                    outcome: "FAILURE".into(),
                    reason: "Timeout".into(),
                    malformed: false,
                })
                .collect(),
            events_read: n,
            pages: 1,
            truncated: truncated.then(|| "stopped after 1 page(s)".to_string()),
            event_hook: false,
        };
        let metrics = Metrics {
            namespace: "N".into(),
            service: "s".into(),
        };
        let run = |f: Failures| Run {
            since: String::new(),
            until: String::new(),
            coverage: None,
            failures: Some(Ok(f)),
            probe: None,
            elapsed_ms: 1,
        };
        let lines = |r: &Run| -> Vec<Value> {
            r.emf(&metrics, 0)
                .iter()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        // Read to its end: zeros are counted zeros.
        let whole = lines(&run(failures(0, false)));
        assert_eq!(whole[0]["OktaHookFailures"], 0.0);
        assert_eq!(whole.len(), 3, "token and saml lines: {whole:?}");
        // Cut short with nothing counted: no value at all.
        let cut = lines(&run(failures(0, true)));
        assert!(cut[0].get("OktaHookFailures").is_none(), "{cut:?}");
        assert_eq!(cut[0]["SentinelError"], 1.0);
        assert_eq!(cut[0]["OktaHookFailuresPartial"], true);
        assert_eq!(cut.len(), 1, "no zero by hook type: {cut:?}");
        // Cut short with some counted: what was counted, flagged partial.
        let some = lines(&run(failures(2, true)));
        assert_eq!(some[0]["OktaHookFailures"], 2.0);
        assert_eq!(some[0]["OktaHookFailuresPartial"], true);
        assert_eq!(some.len(), 2, "token only: {some:?}");
    }

    #[test]
    fn failed_deliveries_to_the_event_hook_have_their_hook_type() {
        let delivery = Failure {
            uuid: "u1".into(),
            time: String::new(),
            event_type: "event_hook.delivery".into(),
            hook_id: "who1".into(),
            hook_name: "NL3 after-sign-in guard".into(),
            hook_type: "events",
            outcome: "FAILURE".into(),
            reason: "Read timed out".into(),
            malformed: false,
        };
        let run = |failures: Vec<Failure>, event_hook: bool| Run {
            since: String::new(),
            until: String::new(),
            coverage: None,
            failures: Some(Ok(Failures {
                failures,
                events_read: 1,
                pages: 1,
                truncated: None,
                event_hook,
            })),
            probe: None,
            elapsed_ms: 1,
        };
        let by_type = |r: &Run| r.failures_by_type().unwrap();
        assert_eq!(
            by_type(&run(vec![delivery], true)),
            [("token", 0), ("saml", 0), ("events", 1)]
        );
        // Watched and none failed: a counted zero; not watched: no line.
        assert_eq!(by_type(&run(vec![], true))[2], ("events", 0));
        assert_eq!(by_type(&run(vec![], false)).len(), 2);
    }

    #[test]
    fn a_run_that_could_not_start_publishes_no_zero() {
        let run = Run::not_started(&Error::Setting("OKTA_ORG_URL is not set".into()), true);
        assert_eq!(run.errors(), 3);
        let metrics = Metrics {
            namespace: "N".into(),
            service: "s".into(),
        };
        let lines = run.emf(&metrics, 0);
        assert_eq!(lines.len(), 1);
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["SentinelError"], 3.0);
        for absent in ["NotCovered", "OktaHookFailures", "ProbeFailed"] {
            assert!(line.get(absent).is_none(), "{absent}: {line}");
        }
    }
}

//! What the CLI shows people: tables and plans as text; `--json` output is the serialised report
//! itself. Nothing here talks to Okta.

use std::fmt::Write;

use serde_json::{json, Value};

use crate::audit::{AppRow, Report};
use crate::preview::Executed;
use crate::rotation::HookPlan;
use crate::sentinel::Run;
use crate::setup::Plan;

/// Left-aligned columns, two spaces apart, widths in characters.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut l = String::from("  ");
        for (i, cell) in cells.iter().enumerate() {
            l.push_str(cell);
            if i + 1 < cells.len() {
                let pad = widths[i] - cell.chars().count() + 2;
                l.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// A titled table, or `(none)` under the title when there are no rows.
fn section(out: &mut String, title: &str, header: &[&str], rows: Vec<Vec<String>>) {
    let _ = writeln!(out, "\n{title}");
    if rows.is_empty() {
        out.push_str("  (none)\n");
    } else {
        out.push_str(&table(header, &rows));
    }
}

/// A titled bullet list; nothing at all when there are no lines.
fn list(out: &mut String, title: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title}");
    for line in lines {
        let _ = writeln!(out, "  - {line}");
    }
}

fn apps(out: &mut String, title: &str, rows: &[AppRow], hook_header: &str) {
    section(
        out,
        title,
        &["APP", "ID", "MODE", "STATUS", hook_header, "VERDICT", "WHY"],
        rows.iter()
            .map(|a| {
                vec![
                    a.label.clone(),
                    a.id.clone(),
                    a.sign_on_mode.clone(),
                    a.status.clone(),
                    if a.hooks.is_empty() {
                        "-".into()
                    } else {
                        a.hooks.join("; ")
                    },
                    a.verdict.label().into(),
                    a.reason.clone(),
                ]
            })
            .collect(),
    );
}

pub fn audit_table(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Okta org {}", report.org);
    let _ = writeln!(
        out,
        "NL3 hook URL {}",
        report
            .hook_url
            .as_deref()
            .unwrap_or("(not given: any hook counts)")
    );

    section(
        &mut out,
        "Inline hooks",
        &["HOOK", "ID", "TYPE", "STATUS", "AUTH", "URL", "NL3?"],
        report
            .hooks
            .iter()
            .map(|h| {
                vec![
                    h.name.clone(),
                    h.id.clone(),
                    h.kind.clone(),
                    h.status.clone(),
                    h.auth.clone(),
                    h.uri.clone().unwrap_or_else(|| "-".into()),
                    match h.ours {
                        Some(true) => "yes".into(),
                        Some(false) => "no".into(),
                        None => "?".into(),
                    },
                ]
            })
            .collect(),
    );

    section(
        &mut out,
        "Access policy rules of custom authorization servers (token inline hook)",
        &[
            "SERVER", "POLICY", "RULE", "RULE ID", "STATUS", "HOOK", "VERDICT", "WHY",
        ],
        report
            .rules
            .iter()
            .map(|r| {
                vec![
                    r.server.clone(),
                    r.policy.clone(),
                    r.rule.clone(),
                    r.rule_id.clone(),
                    r.status.clone(),
                    r.hook.clone().unwrap_or_else(|| "-".into()),
                    r.verdict.label().into(),
                    r.reason.clone(),
                ]
            })
            .collect(),
    );

    apps(
        &mut out,
        "SAML apps (SAML assertion inline hook)",
        &report.saml_apps,
        "HOOK",
    );
    apps(
        &mut out,
        "OIDC apps (tokens from custom authorization servers)",
        &report.oidc_apps,
        "RULES THAT CAN MINT ITS TOKENS",
    );
    if !report.other_apps.is_empty() {
        apps(
            &mut out,
            "Other apps (SWA, basic auth: no inline hook)",
            &report.other_apps,
            "HOOK",
        );
    }

    let g = &report.guard;
    let _ = writeln!(out, "\nAfter-sign-in guard (event hook)");
    match &g.id {
        None => {
            let _ = writeln!(out, "  {}: {}", g.verdict.label(), g.reason);
        }
        Some(id) => out.push_str(&table(
            &[
                "EVENT HOOK",
                "ID",
                "STATUS",
                "VERIFIED",
                "URL",
                "VERDICT",
                "WHY",
            ],
            &[vec![
                g.name.clone().unwrap_or_default(),
                id.clone(),
                g.status.clone().unwrap_or_default(),
                g.verification_status.clone().unwrap_or_default(),
                g.uri.clone().unwrap_or_else(|| "-".into()),
                g.verdict.label().into(),
                g.reason.clone(),
            ]],
        )),
    }
    if report.org_server.verdict == crate::audit::Verdict::ContainedAfterSignIn {
        let _ = writeln!(
            out,
            "  org authorization server: {}: {}",
            report.org_server.verdict.label(),
            report.org_server.reason
        );
    }
    if let Some(q) = &report.quarantine {
        let _ = writeln!(
            out,
            "  quarantine group {} ({}): {}: {}",
            q.group_id,
            q.group_name.as_deref().unwrap_or("not found"),
            q.verdict.label(),
            q.reason
        );
    }

    let s = &report.summary;
    let _ = writeln!(
        out,
        "\n{} covered, {} not covered, {} cannot be covered, {} contained after sign-in, {} not applicable",
        s.covered, s.not_covered, s.cannot_be_covered, s.contained_after_sign_in, s.not_applicable
    );
    list(
        &mut out,
        "NOT COVERED (fix with `nl3-okta-admin setup`):",
        &report.not_covered,
    );
    list(
        &mut out,
        "Warnings (cannot be covered by an inline hook):",
        &report.warnings,
    );
    for note in &report.notes {
        let _ = writeln!(out, "\nNote: {note}");
    }
    let _ = writeln!(
        out,
        "\n{}",
        if report.summary.not_covered == 0 {
            "Every sign-in that an inline hook can cover is covered."
        } else {
            "Some sign-ins that could be covered are not."
        }
    );
    out
}

/// `setup`'s plan: the steps, what is already in place, what is skipped.
pub fn plan(plan: &Plan, hook_url: &str) -> String {
    let mut out = format!("Plan for hook URL {hook_url}:\n");
    if plan.steps.is_empty() {
        out.push_str("  nothing to change\n");
    }
    for (i, step) in plan.steps.iter().enumerate() {
        let _ = writeln!(out, "  {}. {}", i + 1, step.describe());
    }
    if !plan.unchanged.is_empty() {
        out.push_str("Already in place:\n");
        for line in &plan.unchanged {
            let _ = writeln!(out, "  = {line}");
        }
    }
    if !plan.skipped.is_empty() {
        out.push_str("Skipped:\n");
        for line in &plan.skipped {
            let _ = writeln!(out, "  ! {line}");
        }
    }
    out
}

/// The rotation's hooks: which get `what`, and what else the operator must know (hooks left
/// alone, at another URL, with another header than `API_KEY_HEADER`).
pub fn rotation_plan(plan: &HookPlan, what: &str, grace: std::time::Duration) -> String {
    let mut out = String::new();
    for hook in &plan.header {
        let _ = writeln!(out, "  {} gets {what}", hook.describe());
    }
    for hook in &plan.event_hooks {
        let _ = writeln!(
            out,
            "  {} gets {what} (and is verified again)",
            hook.describe()
        );
    }
    for line in plan.notes(grace) {
        let _ = writeln!(out, "  {line}");
    }
    out
}

/// `preview --json`.
pub fn preview_json(e: &Executed, app: Option<&str>) -> Value {
    json!({
        "hook": {"id": e.hook.id, "name": e.hook.name, "type": e.hook.kind, "status": e.hook.status, "uri": e.hook.uri()},
        "user": e.user.login,
        "app": app,
        "decision": if e.refused() { "refused" } else { "allowed" },
        "answer": e.answer,
    })
}

/// `preview`: the hook, the request, the answer and why.
pub fn preview(e: &Executed, login: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Hook {:?} ({}, {}) → {}",
        e.hook.name,
        e.hook.id,
        e.hook.status,
        e.hook.uri().unwrap_or("-")
    );
    let _ = writeln!(
        out,
        "Request: {} hook for user {} ({}){}",
        e.hook.kind_label(),
        if e.user.login.is_empty() {
            login
        } else {
            &e.user.login
        },
        if e.user.id.is_empty() {
            "?"
        } else {
            &e.user.id
        },
        e.app
            .as_ref()
            .map(|a| format!(", app {:?} ({})", a.label, a.id))
            .unwrap_or_default()
    );
    if e.refused() {
        let summary = e.answer["error"]["errorSummary"].as_str().unwrap_or("");
        let _ = writeln!(
            out,
            "Answer: REFUSED, Okta would stop this sign-in: {summary:?}"
        );
    } else {
        let commands = e.answer["commands"].as_array().map_or(0, Vec::len);
        let _ = writeln!(out, "Answer: ALLOWED ({commands} command(s))");
    }
    match e.answer.get("debugContext") {
        Some(ctx) if !ctx.is_null() => {
            let _ = writeln!(
                out,
                "Why (debugContext):\n{}",
                serde_json::to_string_pretty(ctx).unwrap_or_default()
            );
        }
        _ => out.push_str("Why: the hook sent no debugContext\n"),
    }
    out
}

/// `watch`: Okta's failed calls of the window, and the probe.
pub fn watch(run: &Run) -> String {
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
                out.push_str(&table(&["TIME", "HOOK", "OUTCOME", "REASON"], &rows));
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let t = table(
            &["A", "BB"],
            &[
                vec!["long".into(), "x".into()],
                vec!["é".into(), "y".into()],
            ],
        );
        assert_eq!(t, "  A     BB\n  long  x\n  é     y\n");
    }
}

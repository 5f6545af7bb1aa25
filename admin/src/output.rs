//! Plain-text tables for people; `--json` output is the serialised report itself.

use std::fmt::Write;

use crate::audit::{AppRow, Report};

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
            .map(|row| {
                let h = &row.hook;
                vec![
                    h.name.clone(),
                    h.id.clone(),
                    h.kind.clone(),
                    h.status.clone(),
                    h.auth.clone(),
                    h.uri.clone().unwrap_or_else(|| "-".into()),
                    match row.ours {
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

    let s = &report.summary;
    let _ = writeln!(
        out,
        "\n{} covered, {} not covered, {} cannot be covered, {} not applicable",
        s.covered, s.not_covered, s.cannot_be_covered, s.not_applicable
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

//! Plain-text tables for people; `--json` output is the serialised report itself.

use std::fmt::Write;

use super::audit::{AppRow, Report};

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

fn apps(rows: &[AppRow], hook_header: &str) -> String {
    table(
        &["APP", "ID", "MODE", "STATUS", hook_header, "VERDICT", "WHY"],
        &rows
            .iter()
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
            .collect::<Vec<_>>(),
    )
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

    let _ = writeln!(out, "\nInline hooks");
    if report.hooks.is_empty() {
        out.push_str("  (none)\n");
    } else {
        out.push_str(&table(
            &["HOOK", "ID", "TYPE", "STATUS", "AUTH", "URL", "NL3?"],
            &report
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
                .collect::<Vec<_>>(),
        ));
    }

    let _ = writeln!(
        out,
        "\nAccess policy rules of custom authorization servers (token inline hook)"
    );
    if report.rules.is_empty() {
        out.push_str("  (none)\n");
    } else {
        out.push_str(&table(
            &[
                "SERVER", "POLICY", "RULE", "RULE ID", "STATUS", "HOOK", "VERDICT", "WHY",
            ],
            &report
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
                .collect::<Vec<_>>(),
        ));
    }

    let _ = writeln!(out, "\nSAML apps (SAML assertion inline hook)");
    if report.saml_apps.is_empty() {
        out.push_str("  (none)\n");
    } else {
        out.push_str(&apps(&report.saml_apps, "HOOK"));
    }

    let _ = writeln!(
        out,
        "\nOIDC apps (tokens from custom authorization servers)"
    );
    if report.oidc_apps.is_empty() {
        out.push_str("  (none)\n");
    } else {
        out.push_str(&apps(&report.oidc_apps, "RULES THAT CAN MINT ITS TOKENS"));
    }

    let s = &report.summary;
    let _ = writeln!(
        out,
        "\n{} covered, {} not covered, {} cannot be covered, {} not applicable",
        s.covered, s.not_covered, s.cannot_be_covered, s.not_applicable
    );
    if !report.not_covered.is_empty() {
        let _ = writeln!(out, "\nNOT COVERED (fix with `nl3-okta-admin setup`):");
        for line in &report.not_covered {
            let _ = writeln!(out, "  - {line}");
        }
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings (cannot be covered by an inline hook):");
        for line in &report.warnings {
            let _ = writeln!(out, "  - {line}");
        }
    }
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

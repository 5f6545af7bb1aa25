//! What is covered: every access-policy rule of every custom authorization server, every SAML
//! app and every OIDC app, each marked *covered*, *not covered*, *cannot be covered* or *not
//! applicable* (inactive, or no user signs in), with the reason.

use serde::Serialize;

use crate::model::{InlineHook, Rule, Snapshot, SAML_HOOK, TOKEN_HOOK};

/// OAuth 2.0 scopes the audit asks for (API Services app, `private_key_jwt`).
pub const SCOPES: &[&str] = &[
    "okta.inlineHooks.read",
    "okta.authorizationServers.read",
    "okta.apps.read",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Covered,
    NotCovered,
    CannotBeCovered,
    NotApplicable,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Covered => "covered",
            Verdict::NotCovered => "NOT COVERED",
            Verdict::CannotBeCovered => "cannot be covered",
            Verdict::NotApplicable => "n/a",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookRow {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub uri: Option<String>,
    /// `HTTP` or `OAUTH` (channel type), as Okta reports it.
    pub auth: String,
    /// Calls the NL3 hook (`--hook-url`); `None` when no hook URL was given.
    pub ours: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleRow {
    pub server: String,
    pub server_id: String,
    pub policy: String,
    pub policy_id: String,
    pub rule: String,
    pub rule_id: String,
    pub status: String,
    pub hook: Option<String>,
    pub verdict: Verdict,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRow {
    pub label: String,
    pub id: String,
    pub sign_on_mode: String,
    pub status: String,
    /// SAML: the assertion hook; OIDC: the rules that can mint its tokens.
    pub hooks: Vec<String>,
    pub verdict: Verdict,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub covered: usize,
    pub not_covered: usize,
    pub cannot_be_covered: usize,
    pub not_applicable: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub org: String,
    pub hook_url: Option<String>,
    pub hooks: Vec<HookRow>,
    pub rules: Vec<RuleRow>,
    pub saml_apps: Vec<AppRow>,
    pub oidc_apps: Vec<AppRow>,
    pub summary: Summary,
    /// One line per item not covered (exit code 1 when any).
    pub not_covered: Vec<String>,
    /// One line per item that cannot be covered (a warning, not a failure).
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

/// Why a hook reference does or does not protect anything.
pub enum HookState<'a> {
    Good(&'a InlineHook),
    Missing,
    Unknown(String),
    WrongType(&'a InlineHook),
    Inactive(&'a InlineHook),
    Elsewhere(&'a InlineHook),
}

pub fn hook_state<'a>(
    snapshot: &'a Snapshot,
    id: Option<&str>,
    kind: &str,
    hook_url: Option<&str>,
) -> HookState<'a> {
    let Some(id) = id else {
        return HookState::Missing;
    };
    match snapshot.hook(id) {
        None => HookState::Unknown(id.to_string()),
        Some(h) if h.kind != kind => HookState::WrongType(h),
        Some(h) if !h.calls(hook_url) => HookState::Elsewhere(h),
        Some(h) if !h.active() => HookState::Inactive(h),
        Some(h) => HookState::Good(h),
    }
}

fn describe(state: &HookState, hook_url: Option<&str>) -> (Verdict, String) {
    match state {
        HookState::Good(h) => (Verdict::Covered, format!("calls hook {:?}", h.name)),
        HookState::Missing => (Verdict::NotCovered, "no inline hook attached".into()),
        HookState::Unknown(id) => (
            Verdict::NotCovered,
            format!("names inline hook {id}, which does not exist"),
        ),
        HookState::WrongType(h) => (
            Verdict::NotCovered,
            format!("names hook {:?} of type {}", h.name, h.kind),
        ),
        HookState::Inactive(h) => (
            Verdict::NotCovered,
            format!("hook {:?} is {}: Okta skips it", h.name, h.status),
        ),
        HookState::Elsewhere(h) => (
            Verdict::NotCovered,
            format!(
                "hook {:?} calls {}, not {}",
                h.name,
                h.uri().unwrap_or("(no URL)"),
                hook_url.unwrap_or("")
            ),
        ),
    }
}

fn hook_name(snapshot: &Snapshot, id: &Option<String>) -> Option<String> {
    id.as_ref().map(|id| {
        snapshot
            .hook(id)
            .map(|h| h.name.clone())
            .unwrap_or_else(|| id.clone())
    })
}

/// Classifies one rule.
pub fn rule_verdict(snapshot: &Snapshot, rule: &Rule, hook_url: Option<&str>) -> (Verdict, String) {
    let state = hook_state(snapshot, rule.hook_id.as_deref(), TOKEN_HOOK, hook_url);
    if !snapshot.rule_live(rule) {
        let what = if rule.status != "ACTIVE" {
            "rule"
        } else if snapshot
            .policy(&rule.server_id, &rule.policy_id)
            .is_some_and(|p| p.status != "ACTIVE")
        {
            "policy"
        } else {
            "authorization server"
        };
        return match state {
            HookState::Good(_) => describe(&state, hook_url),
            _ => (
                Verdict::NotApplicable,
                format!("{what} inactive: mints no tokens"),
            ),
        };
    }
    if rule.machine_only() {
        return match state {
            HookState::Good(_) => describe(&state, hook_url),
            _ => (
                Verdict::NotApplicable,
                "client credentials grant only: no user signs in".into(),
            ),
        };
    }
    describe(&state, hook_url)
}

/// The audit of a snapshot. `hook_url` (normalised) says which hooks are NL3's.
pub fn audit(snapshot: &Snapshot, org: &str, hook_url: Option<&str>) -> Report {
    let hooks = snapshot
        .hooks
        .iter()
        .map(|h| HookRow {
            id: h.id.clone(),
            name: h.name.clone(),
            kind: h.kind.clone(),
            status: h.status.clone(),
            uri: h.uri().map(String::from),
            auth: h.channel.kind.clone(),
            ours: hook_url.map(|_| h.calls(hook_url)),
        })
        .collect();

    let mut rules = Vec::new();
    for rule in &snapshot.rules {
        let (verdict, reason) = rule_verdict(snapshot, rule, hook_url);
        let server = snapshot.server(&rule.server_id);
        let policy = snapshot.policy(&rule.server_id, &rule.policy_id);
        rules.push(RuleRow {
            server: server.map(|s| s.name.clone()).unwrap_or_default(),
            server_id: rule.server_id.clone(),
            policy: policy.map(|p| p.name.clone()).unwrap_or_default(),
            policy_id: rule.policy_id.clone(),
            rule: rule.name.clone(),
            rule_id: rule.id.clone(),
            status: rule.status.clone(),
            hook: hook_name(snapshot, &rule.hook_id),
            verdict,
            reason,
        });
    }

    let mut saml_apps = Vec::new();
    let mut oidc_apps = Vec::new();
    for app in &snapshot.apps {
        let active = app.status == "ACTIVE";
        match app.sign_on_mode.as_str() {
            "SAML_2_0" => {
                let state = hook_state(snapshot, app.hook_id.as_deref(), SAML_HOOK, hook_url);
                let (verdict, reason) = if !app.custom_saml {
                    (
                        Verdict::CannotBeCovered,
                        "catalog (OIN) app: Okta runs SAML assertion hooks for custom SAML apps only"
                            .to_string(),
                    )
                } else if !active && !matches!(state, HookState::Good(_)) {
                    (Verdict::NotApplicable, format!("app {}", app.status))
                } else {
                    describe(&state, hook_url)
                };
                saml_apps.push(AppRow {
                    label: app.label.clone(),
                    id: app.id.clone(),
                    sign_on_mode: app.sign_on_mode.clone(),
                    status: app.status.clone(),
                    hooks: hook_name(snapshot, &app.hook_id).into_iter().collect(),
                    verdict,
                    reason,
                });
            }
            "SAML_1_1" | "WS_FEDERATION" => saml_apps.push(AppRow {
                label: app.label.clone(),
                id: app.id.clone(),
                sign_on_mode: app.sign_on_mode.clone(),
                status: app.status.clone(),
                hooks: vec![],
                verdict: if active {
                    Verdict::CannotBeCovered
                } else {
                    Verdict::NotApplicable
                },
                reason: format!("Okta has no inline hook for {} sign-ins", app.sign_on_mode),
            }),
            "OPENID_CONNECT" => {
                let client_id = app.client_id.clone().unwrap_or_else(|| app.id.clone());
                let candidates = snapshot.rules_for_client(&client_id);
                let live: Vec<&Rule> = candidates
                    .iter()
                    .copied()
                    .filter(|r| snapshot.rule_live(r) && !r.machine_only())
                    .collect();
                let missing: Vec<String> = live
                    .iter()
                    .filter(|r| rule_verdict(snapshot, r, hook_url).0 == Verdict::NotCovered)
                    .map(|r| snapshot.rule_path(r))
                    .collect();
                let (verdict, reason) = if !active {
                    (Verdict::NotApplicable, format!("app {}", app.status))
                } else if live.is_empty() {
                    (
                        Verdict::CannotBeCovered,
                        "no active access policy of a custom authorization server includes this client: \
                         its tokens come from the org authorization server, which token hooks never see"
                            .to_string(),
                    )
                } else if missing.is_empty() {
                    (
                        Verdict::Covered,
                        format!(
                            "all {} rule(s) that can mint its tokens call the hook",
                            live.len()
                        ),
                    )
                } else {
                    (
                        Verdict::NotCovered,
                        format!("rule(s) without the hook: {}", missing.join("; ")),
                    )
                };
                oidc_apps.push(AppRow {
                    label: app.label.clone(),
                    id: app.id.clone(),
                    sign_on_mode: app.sign_on_mode.clone(),
                    status: app.status.clone(),
                    hooks: live.iter().map(|r| snapshot.rule_path(r)).collect(),
                    verdict,
                    reason,
                });
            }
            _ => {}
        }
    }

    let mut summary = Summary::default();
    let mut not_covered = Vec::new();
    let mut warnings = Vec::new();
    let mut count = |verdict: Verdict, name: String, reason: &str| match verdict {
        Verdict::Covered => summary.covered += 1,
        Verdict::NotCovered => {
            summary.not_covered += 1;
            not_covered.push(format!("{name}: {reason}"));
        }
        Verdict::CannotBeCovered => {
            summary.cannot_be_covered += 1;
            warnings.push(format!("{name}: {reason}"));
        }
        Verdict::NotApplicable => summary.not_applicable += 1,
    };
    for r in &rules {
        count(
            r.verdict,
            format!(
                "rule {:?} ({} › {}, {})",
                r.rule, r.server, r.policy, r.rule_id
            ),
            &r.reason,
        );
    }
    for a in &saml_apps {
        count(
            a.verdict,
            format!("{} app {:?} ({})", a.sign_on_mode, a.label, a.id),
            &a.reason,
        );
    }
    for a in &oidc_apps {
        count(
            a.verdict,
            format!("OIDC app {:?} ({})", a.label, a.id),
            &a.reason,
        );
    }

    let mut notes = Vec::new();
    if hook_url.is_none() {
        notes.push(
            "no --hook-url given: any token or SAML hook counts as the NL3 hook; give --hook-url to check where hooks point"
                .to_string(),
        );
    }
    if !oidc_apps.is_empty() {
        notes.push(format!(
            "any OIDC app may also ask the org authorization server ({org}/oauth2/v1) for ID tokens and Okta API tokens; \
             token hooks never run there"
        ));
    }
    Report {
        org: org.to_string(),
        hook_url: hook_url.map(String::from),
        hooks,
        rules,
        saml_apps,
        oidc_apps,
        summary,
        not_covered,
        warnings,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{App, AuthServer, Policy};
    use serde_json::{json, Value};

    const URL: &str = "https://hook.example.com/okta/hook";

    fn hook(id: &str, kind: &str, status: &str, uri: &str) -> InlineHook {
        serde_json::from_value(json!({"id": id, "name": id, "type": kind, "status": status,
            "channel": {"type": "HTTP", "config": {"uri": uri}}}))
        .unwrap()
    }

    fn rule(id: &str, status: &str, grants: &[&str], hook: Option<&str>) -> Rule {
        let mut raw = json!({"id": id, "name": id, "status": status,
            "conditions": {"grantTypes": {"include": grants}}, "actions": {"token": {}}});
        if let Some(h) = hook {
            raw["actions"]["token"]["inlineHook"] = json!({"id": h});
        }
        Rule::from_json("aus1", "pol1", &raw)
    }

    fn snapshot(rules: Vec<Rule>, policy_status: &str, apps: Vec<Value>) -> Snapshot {
        Snapshot {
            hooks: vec![
                hook("h1", TOKEN_HOOK, "ACTIVE", URL),
                hook("h2", TOKEN_HOOK, "INACTIVE", URL),
                hook("h3", TOKEN_HOOK, "ACTIVE", "https://other.example.com/x/"),
                hook("s1", SAML_HOOK, "ACTIVE", &format!("{URL}/")),
            ],
            servers: vec![AuthServer {
                id: "aus1".into(),
                name: "default".into(),
                status: "ACTIVE".into(),
                issuer: String::new(),
            }],
            policies: vec![Policy {
                server_id: "aus1".into(),
                id: "pol1".into(),
                name: "p".into(),
                status: policy_status.into(),
                clients: vec!["ALL_CLIENTS".into()],
            }],
            rules,
            apps: apps.iter().map(App::from_json).collect(),
        }
    }

    fn verdicts(report: &Report) -> Vec<(String, Verdict)> {
        report
            .rules
            .iter()
            .map(|r| (r.rule_id.clone(), r.verdict))
            .collect()
    }

    #[test]
    fn rules_are_judged_by_their_hook() {
        let user = &["authorization_code"];
        let s = snapshot(
            vec![
                rule("ok", "ACTIVE", user, Some("h1")),
                rule("none", "ACTIVE", user, None),
                rule("inactive-hook", "ACTIVE", user, Some("h2")),
                rule("elsewhere", "ACTIVE", user, Some("h3")),
                rule("saml-hook", "ACTIVE", user, Some("s1")),
                rule("ghost", "ACTIVE", user, Some("nope")),
                rule("off", "INACTIVE", user, None),
                rule("machines", "ACTIVE", &["client_credentials"], None),
            ],
            "ACTIVE",
            vec![],
        );
        let report = audit(&s, "https://acme.okta.com", Some(URL));
        use Verdict::*;
        let expected = [
            ("ok", Covered),
            ("none", NotCovered),
            ("inactive-hook", NotCovered),
            ("elsewhere", NotCovered),
            ("saml-hook", NotCovered),
            ("ghost", NotCovered),
            ("off", NotApplicable),
            ("machines", NotApplicable),
        ];
        assert_eq!(
            verdicts(&report),
            expected
                .iter()
                .map(|(id, v)| (id.to_string(), *v))
                .collect::<Vec<_>>()
        );
        assert_eq!(report.summary.not_covered, 5);
        // Without a hook URL, a hook calling elsewhere counts.
        let report = audit(&s, "https://acme.okta.com", None);
        assert_eq!(report.rules[3].verdict, Covered);
    }

    #[test]
    fn an_inactive_policy_mints_nothing_and_its_apps_fall_back_to_the_org_server() {
        let oidc = json!({"id": "0oa1", "label": "Portal", "status": "ACTIVE", "signOnMode": "OPENID_CONNECT",
            "credentials": {"oauthClient": {"client_id": "0oa1"}}});
        let saml = json!({"id": "0oa2", "label": "Wiki", "status": "ACTIVE", "signOnMode": "SAML_2_0",
            "settings": {"signOn": {"ssoAcsUrl": "https://wiki/acs", "inlineHooks": [{"id": "s1"}]}}});
        let s = snapshot(
            vec![rule("r", "ACTIVE", &["authorization_code"], None)],
            "INACTIVE",
            vec![oidc, saml],
        );
        let report = audit(&s, "https://acme.okta.com", Some(URL));
        assert_eq!(report.rules[0].verdict, Verdict::NotApplicable);
        assert_eq!(report.oidc_apps[0].verdict, Verdict::CannotBeCovered);
        // The SAML hook's URL has a trailing slash: still the NL3 hook.
        assert_eq!(report.saml_apps[0].verdict, Verdict::Covered);
        assert_eq!(report.summary.not_covered, 0);
        assert_eq!(report.warnings.len(), 1);
    }
}

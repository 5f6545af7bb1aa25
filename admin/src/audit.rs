//! What is covered: every access-policy rule of every custom authorization server, every app and
//! the org authorization server, each marked *covered* (an inline hook checks it before it
//! completes), *not covered*, *cannot be covered* (no inline hook runs there), *contained after
//! sign-in* (no inline hook runs there, and the after-sign-in guard's event hook is in place) or
//! *not applicable* (inactive, or no user signs in), with the reason; and the guard itself: its
//! event hook, and the sign-on rule that denies the quarantine group.

use serde::Serialize;

use crate::model::{EventHook, InlineHook, Quarantine, Rule, Snapshot, SAML_HOOK, TOKEN_HOOK};

/// OAuth 2.0 scopes the audit asks for (API Services app, `private_key_jwt`).
pub const SCOPES: &[&str] = &[
    "okta.inlineHooks.read",
    "okta.authorizationServers.read",
    "okta.apps.read",
    "okta.eventHooks.read",
];
/// What checking the quarantine group's sign-on rule adds.
pub const QUARANTINE_SCOPES: &[&str] = &["okta.groups.read", "okta.policies.read"];

/// The event types the guard needs its event hook subscribed to.
pub const GUARD_EVENTS: &[&str] = &["user.session.start", "user.authentication.sso"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Covered,
    NotCovered,
    CannotBeCovered,
    ContainedAfterSignIn,
    NotApplicable,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Covered => "covered",
            Verdict::NotCovered => "NOT COVERED",
            Verdict::CannotBeCovered => "cannot be covered",
            Verdict::ContainedAfterSignIn => "contained after sign-in",
            Verdict::NotApplicable => "n/a",
        }
    }
}

/// What the audit is told to look for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expect<'a> {
    /// `--hook-url` (normalised): which inline hooks are NL3's; any when `None`.
    pub hook_url: Option<&'a str>,
    /// `--events-url` (normalised): the guard's receiver. When given, the guard is expected and
    /// an event hook missing or not ready there is not covered.
    pub events_url: Option<&'a str>,
}

/// The guard's event hook, as the audit found it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardRow {
    pub events_url: Option<String>,
    pub id: Option<String>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub verification_status: Option<String>,
    pub uri: Option<String>,
    /// The event types the guard needs that it is not subscribed to.
    pub missing_events: Vec<String>,
    /// In place: ACTIVE, VERIFIED, subscribed to what the guard needs, at the receiver's URL.
    pub ready: bool,
    pub verdict: Verdict,
    pub reason: String,
}

/// The quarantine group's sign-on rule, as the audit found it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuarantineRow {
    pub group_id: String,
    pub group_name: Option<String>,
    /// "policy › rule" of the rule that decides for a quarantined user, when one does.
    pub rule: Option<String>,
    pub verdict: Verdict,
    pub reason: String,
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
    pub contained_after_sign_in: usize,
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
    /// SWA and other apps no hook of any kind sees before sign-in.
    pub other_apps: Vec<AppRow>,
    /// The org authorization server: tokens no token hook sees.
    pub org_server: AppRow,
    pub guard: GuardRow,
    pub quarantine: Option<QuarantineRow>,
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

/// The guard's event hook among `hooks`: the one calling `events_url` (any subscribed to the
/// guard's events, without one), ready ones first.
pub fn guard_row(hooks: &[EventHook], events_url: Option<&str>) -> GuardRow {
    let Some(hook) = EventHook::pick(hooks, |h| {
        h.calls(events_url)
            && (events_url.is_some() || h.missing(GUARD_EVENTS).len() < GUARD_EVENTS.len())
    }) else {
        let (verdict, reason) = match events_url {
            Some(url) => (
                Verdict::NotCovered,
                format!(
                    "no event hook calls {url}: register it with `nl3-okta-admin setup --events`"
                ),
            ),
            None => (
                Verdict::NotApplicable,
                "no event hook for the after-sign-in guard (give --events-url to expect one)"
                    .into(),
            ),
        };
        return GuardRow {
            events_url: events_url.map(String::from),
            id: None,
            name: None,
            status: None,
            verification_status: None,
            uri: None,
            missing_events: vec![],
            ready: false,
            verdict,
            reason,
        };
    };
    let missing: Vec<String> = hook
        .missing(GUARD_EVENTS)
        .iter()
        .map(|e| e.to_string())
        .collect();
    let mut problems = Vec::new();
    if !hook.active() {
        problems.push(format!("it is {}: Okta delivers nothing", hook.status));
    }
    if !hook.verified() {
        problems.push(format!(
            "it is {}: Okta delivers to verified hooks only (`nl3-okta-admin setup --events` verifies it)",
            if hook.verification_status.is_empty() { "not verified" } else { &hook.verification_status }
        ));
    }
    if !missing.is_empty() {
        problems.push(format!("it is not subscribed to {}", missing.join(", ")));
    }
    let ready = problems.is_empty();
    GuardRow {
        events_url: events_url.map(String::from),
        id: Some(hook.id.clone()),
        name: Some(hook.name.clone()),
        status: Some(hook.status.clone()),
        verification_status: Some(hook.verification_status.clone()),
        uri: hook.uri().map(String::from),
        missing_events: missing,
        ready,
        verdict: if ready {
            Verdict::Covered
        } else {
            Verdict::NotCovered
        },
        reason: if ready {
            format!("{} delivers every sign-in to the guard", hook.describe())
        } else {
            format!("{}: {}", hook.describe(), problems.join("; "))
        },
    }
}

/// Does a sign-on rule deny the quarantine group ahead of every rule that allows? Okta evaluates
/// the active global session policies by priority, the first that applies to the user decides,
/// and in it the first rule that applies: a policy or rule for another group ahead of the deny
/// could let a quarantined member of that group in.
pub fn quarantine_row(q: &Quarantine) -> QuarantineRow {
    let row = |rule: Option<String>, verdict, reason: String| QuarantineRow {
        group_id: q.group_id.clone(),
        group_name: q.group_name.clone(),
        rule,
        verdict,
        reason,
    };
    if q.group_name.is_none() {
        return row(
            None,
            Verdict::NotCovered,
            format!(
                "QUARANTINE_GROUP_ID {}: no such group in the org",
                q.group_id
            ),
        );
    }
    let group = q.group_id.as_str();
    let mut policies: Vec<_> = q.policies.iter().filter(|p| p.status == "ACTIVE").collect();
    policies.sort_by_key(|p| p.priority);
    // Okta's Default Policy is assigned to the Everyone group, by that group's id: so its groups
    // tell which id means every user, wherever another policy or a rule names it.
    let everyone: Vec<&str> = q
        .policies
        .iter()
        .filter(|p| p.system)
        .flat_map(|p| p.groups.iter().map(String::as_str))
        .collect();
    let includes = |groups: &[String]| {
        groups.is_empty()
            || groups
                .iter()
                .any(|g| g == group || everyone.contains(&g.as_str()))
    };
    let mut ahead = Vec::new();
    for policy in policies {
        if !policy.system && !includes(&policy.groups) {
            ahead.push(format!("policy {:?}", policy.name));
            continue;
        }
        for rule in policy.rules.iter().filter(|r| r.active()) {
            if rule.excluded_groups.iter().any(|g| g == group) {
                continue;
            }
            let applies = includes(&rule.groups);
            if !applies {
                ahead.push(format!("rule {:?} › {:?}", policy.name, rule.name));
                continue;
            }
            let path = format!("{} › {}", policy.name, rule.name);
            return if rule.access != "DENY" {
                row(
                    Some(path.clone()),
                    Verdict::NotCovered,
                    format!(
                        "the first rule for the quarantine group is {path}, which does not deny ({}): contained users can sign in again; add a rule denying the group ahead of it",
                        if rule.access.is_empty() { "no access action" } else { &rule.access }
                    ),
                )
            } else if !ahead.is_empty() {
                row(
                    Some(path.clone()),
                    Verdict::NotCovered,
                    format!(
                        "{path} denies the quarantine group, but {} come(s) first: a quarantined member of another group can be let in there; put the deny first",
                        ahead.join(", ")
                    ),
                )
            } else {
                row(
                    Some(path.clone()),
                    Verdict::Covered,
                    format!("{path} denies the quarantine group ahead of every rule that allows"),
                )
            };
        }
    }
    row(
        None,
        Verdict::NotCovered,
        "no active global session policy rule denies the quarantine group: contained users can sign in again"
            .into(),
    )
}

/// A sign-in no inline hook sees is contained after sign-in when the guard's event hook is in
/// place.
fn after_sign_in(verdict: Verdict, reason: String, guard: &GuardRow) -> (Verdict, String) {
    if verdict == Verdict::CannotBeCovered && guard.ready {
        (
            Verdict::ContainedAfterSignIn,
            format!(
                "{reason}; contained after sign-in: {} delivers its sign-ins to the guard",
                guard
                    .name
                    .as_deref()
                    .map(|n| format!("event hook {n:?}"))
                    .unwrap_or_default()
            ),
        )
    } else {
        (verdict, reason)
    }
}

/// The audit of a snapshot.
pub fn audit(snapshot: &Snapshot, org: &str, expect: Expect) -> Report {
    let hook_url = expect.hook_url;
    let guard = guard_row(&snapshot.event_hooks, expect.events_url);
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
    let mut other_apps = Vec::new();
    for app in &snapshot.apps {
        let active = app.status == "ACTIVE";
        // SAML 1.1, WS-Fed, SWA, basic auth and the like: no inline hook of any kind.
        let no_hook = || {
            after_sign_in(
                if active {
                    Verdict::CannotBeCovered
                } else {
                    Verdict::NotApplicable
                },
                format!("Okta has no inline hook for {} sign-ins", app.sign_on_mode),
                &guard,
            )
        };
        let (rows, hooks, (verdict, reason)) = match app.sign_on_mode.as_str() {
            "SAML_2_0" => {
                let state = hook_state(snapshot, app.hook_id.as_deref(), SAML_HOOK, hook_url);
                let judged = if !app.custom_saml {
                    after_sign_in(
                        Verdict::CannotBeCovered,
                        "catalog (OIN) app: Okta runs SAML assertion hooks for custom SAML apps only"
                            .to_string(),
                        &guard,
                    )
                } else if !active && !matches!(state, HookState::Good(_)) {
                    (Verdict::NotApplicable, format!("app {}", app.status))
                } else {
                    describe(&state, hook_url)
                };
                let hooks = hook_name(snapshot, &app.hook_id).into_iter().collect();
                (&mut saml_apps, hooks, judged)
            }
            "SAML_1_1" | "WS_FEDERATION" => (&mut saml_apps, vec![], no_hook()),
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
                let judged = if !active {
                    (Verdict::NotApplicable, format!("app {}", app.status))
                } else if live.is_empty() {
                    after_sign_in(
                        Verdict::CannotBeCovered,
                        "no active access policy of a custom authorization server includes this client: \
                         its tokens come from the org authorization server, which token hooks never see"
                            .to_string(),
                        &guard,
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
                let hooks = live.iter().map(|r| snapshot.rule_path(r)).collect();
                (&mut oidc_apps, hooks, judged)
            }
            "AUTO_LOGIN" | "BROWSER_PLUGIN" | "BASIC_AUTH" | "SECURE_PASSWORD_STORE" => {
                (&mut other_apps, vec![], no_hook())
            }
            _ => continue,
        };
        rows.push(AppRow {
            label: app.label.clone(),
            id: app.id.clone(),
            sign_on_mode: app.sign_on_mode.clone(),
            status: app.status.clone(),
            hooks,
            verdict,
            reason,
        });
    }
    let (verdict, reason) = if oidc_apps.is_empty() {
        (Verdict::NotApplicable, "no OIDC app".to_string())
    } else {
        after_sign_in(
            Verdict::CannotBeCovered,
            format!("ID tokens and Okta API tokens from {org}/oauth2/v1 never pass a token hook"),
            &guard,
        )
    };
    let org_server = AppRow {
        label: "org authorization server".into(),
        id: format!("{org}/oauth2/v1"),
        sign_on_mode: "OPENID_CONNECT".into(),
        status: "ACTIVE".into(),
        hooks: vec![],
        verdict,
        reason,
    };
    let quarantine = snapshot.quarantine.as_ref().map(quarantine_row);

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
        Verdict::ContainedAfterSignIn => summary.contained_after_sign_in += 1,
        Verdict::NotApplicable => summary.not_applicable += 1,
    };
    if guard.verdict == Verdict::NotCovered {
        count(
            guard.verdict,
            "the after-sign-in guard".into(),
            &guard.reason,
        );
    }
    if let Some(q) = &quarantine {
        count(
            q.verdict,
            format!("quarantine group {}", q.group_id),
            &q.reason,
        );
    }
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
    for a in &other_apps {
        count(
            a.verdict,
            format!("{} app {:?} ({})", a.sign_on_mode, a.label, a.id),
            &a.reason,
        );
    }
    // The org server is a note while nothing can cover it (as before), a row once contained.
    if org_server.verdict == Verdict::ContainedAfterSignIn {
        count(
            org_server.verdict,
            "org authorization server".into(),
            &org_server.reason,
        );
    }

    let mut notes = Vec::new();
    if hook_url.is_none() {
        notes.push(
            "no --hook-url given: any token or SAML hook counts as the NL3 hook; give --hook-url to check where hooks point"
                .to_string(),
        );
    }
    if org_server.verdict == Verdict::CannotBeCovered {
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
        other_apps,
        org_server,
        guard,
        quarantine,
        summary,
        not_covered,
        warnings,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::App;
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
            rules,
            apps: apps.iter().map(App::from_json).collect(),
            ..Snapshot::one_server(policy_status)
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
        let report = audit(
            &s,
            "https://acme.okta.com",
            Expect {
                hook_url: Some(URL),
                events_url: None,
            },
        );
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
        let report = audit(&s, "https://acme.okta.com", Expect::default());
        assert_eq!(report.rules[3].verdict, Covered);
    }

    #[test]
    fn the_default_policy_decides_for_the_quarantine_group_through_everyone() {
        use crate::model::SignOnPolicy;
        let rule = |id: &str, priority: i64, access: &str, groups: &[&str]| {
            json!({"id": id, "name": id, "status": "ACTIVE", "priority": priority,
                   "conditions": {"people": {"groups": {"include": groups}}},
                   "actions": {"signon": {"access": access}}})
        };
        let quarantine = |system: bool, rules: &[Value]| Quarantine {
            group_id: "00gQ".into(),
            group_name: Some("quarantine".into()),
            policies: vec![SignOnPolicy::from_json(
                &json!({"id": "00p1", "name": "Default Policy", "status": "ACTIVE",
                        "priority": 1, "system": system,
                        "conditions": {"people": {"groups": {"include": ["00gEVERYONE"]}}}}),
                rules,
            )],
        };
        let deny_first = [
            rule("deny", 1, "DENY", &["00gQ"]),
            rule("allow", 2, "ALLOW", &[]),
        ];
        // Okta's Default Policy is the Everyone group's, by that group's id.
        let row = quarantine_row(&quarantine(true, &deny_first));
        assert_eq!(row.verdict, Verdict::Covered, "{}", row.reason);
        assert_eq!(row.rule.as_deref(), Some("Default Policy › deny"));
        let allow_first = [
            rule("allow", 1, "ALLOW", &[]),
            rule("deny", 2, "DENY", &["00gQ"]),
        ];
        let row = quarantine_row(&quarantine(true, &allow_first));
        assert_eq!(row.verdict, Verdict::NotCovered);
        // Another policy for one group only: not known to apply to the quarantine group.
        let row = quarantine_row(&quarantine(false, &deny_first));
        assert_eq!(row.verdict, Verdict::NotCovered);

        // A policy of the admins' own, assigned to Everyone by its id (as the Default Policy
        // names it), ahead of the Default Policy: its deny rule covers the quarantine group, and
        // its allow rule for Everyone ahead of a deny does not.
        let with_custom = |rules: &[Value]| {
            let mut q = quarantine(true, &[rule("default-allow", 1, "ALLOW", &[])]);
            q.policies.push(SignOnPolicy::from_json(
                &json!({"id": "00p2", "name": "Staff", "status": "ACTIVE", "priority": 0,
                        "system": false,
                        "conditions": {"people": {"groups": {"include": ["00gEVERYONE"]}}}}),
                rules,
            ));
            q
        };
        let row = quarantine_row(&with_custom(&deny_first));
        assert_eq!(row.verdict, Verdict::Covered, "{}", row.reason);
        assert_eq!(row.rule.as_deref(), Some("Staff › deny"));
        let everyone_first = [
            rule("allow", 1, "ALLOW", &["00gEVERYONE"]),
            rule("deny", 2, "DENY", &["00gQ"]),
        ];
        let row = quarantine_row(&with_custom(&everyone_first));
        assert_eq!(row.verdict, Verdict::NotCovered);
        assert_eq!(row.rule.as_deref(), Some("Staff › allow"));
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
        let report = audit(
            &s,
            "https://acme.okta.com",
            Expect {
                hook_url: Some(URL),
                events_url: None,
            },
        );
        assert_eq!(report.rules[0].verdict, Verdict::NotApplicable);
        assert_eq!(report.oidc_apps[0].verdict, Verdict::CannotBeCovered);
        // The SAML hook's URL has a trailing slash: still the NL3 hook.
        assert_eq!(report.saml_apps[0].verdict, Verdict::Covered);
        assert_eq!(report.summary.not_covered, 0);
        assert_eq!(report.warnings.len(), 1);
    }
}

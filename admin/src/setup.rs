//! `setup`: registers (or updates) the NL3 token and SAML hooks, activates them, and attaches
//! them to the chosen access-policy rules and SAML apps. [`plan`] says what would change, from
//! the org as it is; [`apply`] carries it out; a second run finds nothing to change.

use reqwest::Method;

use crate::audit::GUARD_EVENTS;
use crate::audit::{hook_state, HookState};
use crate::error::{Error, Result};
use crate::model::{
    kind_label, nl3_hooks, App, Auth, Channel, CustomHeader, EventHook, EventHookWrite,
    EventSubscriptions, HeaderSecret, InlineHook, InlineHookCreate, InlineHookReplace, Rule,
    Snapshot, GATEWAY_KEY_HEADER, GATEWAY_KEY_SETTING, SAML_HOOK, TOKEN_HOOK,
};
use crate::okta::OktaClient;
use crate::org;

/// OAuth 2.0 scopes `setup` asks for.
pub const SCOPES: &[&str] = &[
    "okta.eventHooks.read",
    "okta.inlineHooks.read",
    "okta.inlineHooks.manage",
    "okta.authorizationServers.read",
    "okta.authorizationServers.manage",
    "okta.apps.read",
    "okta.apps.manage",
];

pub const TOKEN_HOOK_NAME: &str = "NL3 account protection (token)";
pub const SAML_HOOK_NAME: &str = "NL3 account protection (SAML)";
pub const EVENT_HOOK_NAME: &str = "NL3 after-sign-in guard";
/// What `setup --events` adds to the scopes.
pub const EVENT_SCOPES: &[&str] = &["okta.eventHooks.read", "okta.eventHooks.manage"];

/// Which hook an attach step uses: one that exists, or the one this run creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookRef {
    Existing(String),
    New,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    CreateHook {
        kind: &'static str,
        name: String,
    },
    UpdateHook {
        kind: &'static str,
        id: String,
        name: String,
        why: String,
        /// The hook's own custom headers (`channel.config.headers`, such as an API gateway's
        /// `x-api-key`): kept, as Okta would drop them with a channel written without them.
        keep: Vec<CustomHeader>,
    },
    ActivateHook {
        kind: &'static str,
        id: String,
        name: String,
    },
    AttachToRule {
        server_id: String,
        policy_id: String,
        rule_id: String,
        label: String,
        hook: HookRef,
        replaces: Option<String>,
    },
    AttachToApp {
        app_id: String,
        label: String,
        hook: HookRef,
        replaces: Option<String>,
    },
    /// The after-sign-in guard's event hook, subscribed to [`GUARD_EVENTS`].
    CreateEventHook {
        name: String,
    },
    UpdateEventHook {
        id: String,
        name: String,
        why: String,
        keep: Vec<CustomHeader>,
        /// What it is subscribed to, with what the guard needs added.
        events: Vec<String>,
    },
    ActivateEventHook {
        id: String,
        name: String,
    },
    /// Okta calls the receiver with its challenge; only a verified hook gets deliveries.
    VerifyEventHook {
        hook: HookRef,
        name: String,
    },
}

#[derive(Debug, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub skipped: Vec<String>,
    pub unchanged: Vec<String>,
    /// The guard's receiver, when the plan writes its event hook.
    pub events_url: Option<String>,
}

/// The receiver URL the plan's event hook steps write.
fn events_url(plan: &Plan) -> Result<&str> {
    plan.events_url
        .as_deref()
        .ok_or_else(|| Error::Usage("an event hook step without --events".into()))
}

impl Step {
    pub fn describe(&self) -> String {
        let hook = |kind: &str, h: &HookRef| match h {
            HookRef::Existing(id) => format!("the {} hook {id}", kind_label(kind)),
            HookRef::New => format!("the new {} hook", kind_label(kind)),
        };
        let replacing = |r: &Option<String>| {
            r.as_ref()
                .map(|r| format!(" (replacing {r})"))
                .unwrap_or_default()
        };
        match self {
            Step::CreateHook { kind, name } => {
                format!("create the {} hook {name:?} (POST /api/v1/inlineHooks)", kind_label(kind))
            }
            Step::UpdateHook {
                kind, id, name, why, ..
            } => format!(
                "update the {} hook {name:?} ({id}): {why} (PUT /api/v1/inlineHooks/{id})",
                kind_label(kind)
            ),
            Step::ActivateHook { kind, id, name } => format!(
                "activate the {} hook {name:?} ({id}) (POST /api/v1/inlineHooks/{id}/lifecycle/activate)",
                kind_label(kind)
            ),
            Step::AttachToRule {
                rule_id, label, hook: h, replaces, ..
            } => format!(
                "attach {} to rule {label} ({rule_id}){}",
                hook(TOKEN_HOOK, h),
                replacing(replaces)
            ),
            Step::AttachToApp {
                app_id, label, hook: h, replaces,
            } => format!(
                "attach {} to SAML app {label:?} ({app_id}){}",
                hook(SAML_HOOK, h),
                replacing(replaces)
            ),
            Step::CreateEventHook { name } => format!(
                "create the event hook {name:?} for {} (POST /api/v1/eventHooks)",
                GUARD_EVENTS.join(", ")
            ),
            Step::UpdateEventHook { id, name, why, .. } => format!(
                "update the event hook {name:?} ({id}): {why} (PUT /api/v1/eventHooks/{id})"
            ),
            Step::ActivateEventHook { id, name } => format!(
                "activate the event hook {name:?} ({id}) (POST /api/v1/eventHooks/{id}/lifecycle/activate)"
            ),
            Step::VerifyEventHook { hook, name } => match hook {
                HookRef::Existing(id) => format!(
                    "verify the event hook {name:?} ({id}): Okta calls the receiver with its challenge (POST /api/v1/eventHooks/{id}/lifecycle/verify)"
                ),
                HookRef::New => format!(
                    "verify the new event hook {name:?}: Okta calls the receiver with its challenge"
                ),
            },
        }
    }

    pub fn needs_secret(&self) -> bool {
        matches!(
            self,
            Step::CreateHook { .. }
                | Step::UpdateHook { .. }
                | Step::CreateEventHook { .. }
                | Step::UpdateEventHook { .. }
        )
    }
}

/// Why an existing hook's channel must be rewritten, if it must. A hook that authenticates with
/// OAuth 2.0 (docs/okta-setup.md's stronger option) is left as it is.
fn channel_mismatch(hook: &InlineHook, header: &str, gateway_key: bool) -> Option<String> {
    let channel = &hook.channel;
    match channel.auth() {
        Auth::OAuth => return None,
        Auth::Header(key) if key.eq_ignore_ascii_case(header) => {}
        _ if channel.kind != "HTTP" => {
            return Some(format!(
                "its channel type is {} instead of HTTP",
                if channel.kind.is_empty() {
                    "missing"
                } else {
                    &channel.kind
                }
            ))
        }
        _ => return Some(format!("its secret is not sent in the {header} header")),
    }
    if channel
        .config
        .method
        .as_deref()
        .is_some_and(|m| m != "POST")
    {
        return Some("its method is not POST".into());
    }
    if gateway_key && !channel.sends_header(GATEWAY_KEY_HEADER) {
        return Some(format!(
            "it sends no {GATEWAY_KEY_HEADER} header ({GATEWAY_KEY_SETTING} is set)"
        ));
    }
    None
}

/// Which rules and SAML apps get the hook: every one, or those named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    All,
    Named {
        rules: Vec<String>,
        apps: Vec<String>,
    },
}

/// What `setup` is asked to do.
#[derive(Debug, Clone)]
pub struct Request {
    /// The hook's URL, normalised.
    pub hook_url: String,
    pub targets: Targets,
    /// The header the hook secret travels in.
    pub header: String,
    /// `GATEWAY_API_KEY` is set: every NL3 hook must send an `x-api-key` header.
    pub gateway_key: bool,
    /// Set the header secret again on hooks that have it.
    pub update_secret: bool,
    /// Replace another team's hook on a target.
    pub replace_other_hooks: bool,
    /// `--events`: the after-sign-in guard's event hook, calling this receiver URL (normalised).
    pub events_url: Option<String>,
}

/// Builds the plan from the org as it is.
pub fn plan(snapshot: &Snapshot, args: &Request) -> Result<Plan> {
    let url = args.hook_url.as_str();
    let (header, gateway_key) = (args.header.as_str(), args.gateway_key);
    let mut plan = Plan::default();

    // Targets: rules (token hook) and SAML apps.
    let mut rules: Vec<&Rule> = Vec::new();
    let mut apps: Vec<&App> = Vec::new();
    let (named_rules, named_apps) = match &args.targets {
        Targets::All => (&[][..], &[][..]),
        Targets::Named { rules, apps } => (&rules[..], &apps[..]),
    };
    if args.targets == Targets::All {
        rules.extend(snapshot.rules.iter().filter(|r| !r.machine_only()));
        for app in &snapshot.apps {
            if app.sign_on_mode == "SAML_2_0" {
                if app.custom_saml {
                    apps.push(app);
                } else {
                    plan.skipped.push(format!(
                        "SAML app {:?} ({}): a catalog app; Okta runs SAML hooks for custom SAML apps only",
                        app.label, app.id
                    ));
                }
            }
        }
    } else {
        for id in named_rules {
            let rule = snapshot.rules.iter().find(|r| &r.id == id).ok_or_else(|| {
                Error::NotFound(format!(
                    "--rule {id}: no access-policy rule with this ID in any custom authorization server (see `nl3-okta-admin audit`)"
                ))
            })?;
            rules.push(rule);
        }
        for id in named_apps {
            let app = snapshot.apps.iter().find(|a| &a.id == id).ok_or_else(|| {
                Error::NotFound(format!(
                    "--app {id}: no active app with this ID (see `nl3-okta-admin audit`)"
                ))
            })?;
            match app.sign_on_mode.as_str() {
                "SAML_2_0" if app.custom_saml => apps.push(app),
                "SAML_2_0" => {
                    return Err(Error::Usage(format!(
                        "--app {id}: {:?} is a catalog SAML app; Okta runs SAML hooks for custom SAML apps only",
                        app.label
                    )))
                }
                "OPENID_CONNECT" => {
                    let client_id = app.client_id.clone().unwrap_or_else(|| app.id.clone());
                    let found: Vec<_> = snapshot
                        .rules_for_client(&client_id)
                        .into_iter()
                        .filter(|r| !r.machine_only())
                        .collect();
                    if found.is_empty() {
                        return Err(Error::Usage(format!(
                            "--app {id}: no access policy of a custom authorization server includes {:?}; its tokens come from the org \
                             authorization server, which token hooks never see. Add the app to a custom authorization server's access policy first",
                            app.label
                        )));
                    }
                    rules.extend(found);
                }
                mode => {
                    return Err(Error::Usage(format!(
                        "--app {id}: {:?} signs in with {mode}; Okta has no inline hook for it",
                        app.label
                    )))
                }
            }
        }
    }
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    rules.dedup_by(|a, b| a.id == b.id);

    for (kind, name, wanted) in [
        (TOKEN_HOOK, TOKEN_HOOK_NAME, !rules.is_empty()),
        (SAML_HOOK, SAML_HOOK_NAME, !apps.is_empty()),
    ] {
        if !wanted {
            continue;
        }
        let existing = nl3_hooks(&snapshot.hooks, kind, Some(url)).first().copied();
        let hook_ref = match existing {
            None => {
                plan.steps.push(Step::CreateHook {
                    kind,
                    name: name.to_string(),
                });
                HookRef::New
            }
            Some(hook) => {
                let why = if args.update_secret {
                    Some("--update-secret: set the header secret again".to_string())
                } else {
                    channel_mismatch(hook, header, gateway_key)
                };
                match why {
                    Some(why) => plan.steps.push(Step::UpdateHook {
                        kind,
                        id: hook.id.clone(),
                        name: hook.name.clone(),
                        why,
                        keep: hook.channel.config.headers.clone(),
                    }),
                    None => plan.unchanged.push(format!(
                        "{} hook {:?} ({}) calls {url}{}",
                        kind_label(kind),
                        hook.name,
                        hook.id,
                        if hook.channel.auth() == Auth::OAuth {
                            " with OAuth 2.0 (left as it is)"
                        } else {
                            ""
                        }
                    )),
                }
                if !hook.active() {
                    plan.steps.push(Step::ActivateHook {
                        kind,
                        id: hook.id.clone(),
                        name: hook.name.clone(),
                    });
                }
                HookRef::Existing(hook.id.clone())
            }
        };
        let chosen = match &hook_ref {
            HookRef::Existing(id) => Some(id.as_str()),
            HookRef::New => None,
        };
        // Is the current reference already the chosen hook, another NL3 hook, or someone else's?
        let decide = |current: Option<&str>| -> Result<(), Option<String>> {
            if current.is_some() && current == chosen {
                return Ok(());
            }
            match hook_state(snapshot, current, kind, Some(url)) {
                HookState::Elsewhere(h) => Err(Some(format!(
                    "hook {:?} ({}) calling {}",
                    h.name,
                    h.id,
                    h.uri().unwrap_or("-")
                ))),
                _ => Err(None),
            }
        };
        if kind == TOKEN_HOOK {
            for rule in &rules {
                match decide(rule.hook_id.as_deref()) {
                    Ok(()) => plan.unchanged.push(format!(
                        "rule {} ({}) calls the token hook",
                        snapshot.rule_path(rule),
                        rule.id
                    )),
                    Err(Some(other)) if !args.replace_other_hooks => plan.skipped.push(format!(
                        "rule {} ({}): has {other}; pass --replace-other-hooks to replace it",
                        snapshot.rule_path(rule),
                        rule.id
                    )),
                    Err(replaces) => plan.steps.push(Step::AttachToRule {
                        server_id: rule.server_id.clone(),
                        policy_id: rule.policy_id.clone(),
                        rule_id: rule.id.clone(),
                        label: snapshot.rule_path(rule),
                        hook: hook_ref.clone(),
                        replaces,
                    }),
                }
            }
        } else {
            for app in &apps {
                match decide(app.hook_id.as_deref()) {
                    Ok(()) => plan.unchanged.push(format!(
                        "SAML app {:?} ({}) calls the SAML hook",
                        app.label, app.id
                    )),
                    Err(Some(other)) if !args.replace_other_hooks => plan.skipped.push(format!(
                        "SAML app {:?} ({}): has {other}; pass --replace-other-hooks to replace it",
                        app.label, app.id
                    )),
                    Err(replaces) => plan.steps.push(Step::AttachToApp {
                        app_id: app.id.clone(),
                        label: app.label.clone(),
                        hook: hook_ref.clone(),
                        replaces,
                    }),
                }
            }
        }
    }
    if let Some(url) = &args.events_url {
        plan_event_hook(snapshot, args, url, &mut plan);
    }
    Ok(plan)
}

/// Why the guard's event hook must be rewritten, if it must.
fn event_hook_mismatch(hook: &EventHook, header: &str, gateway_key: bool) -> Option<String> {
    let missing = hook.missing(GUARD_EVENTS);
    if !missing.is_empty() {
        return Some(format!("it is not subscribed to {}", missing.join(", ")));
    }
    match hook.channel.auth() {
        Auth::Header(key) if key.eq_ignore_ascii_case(header) => {}
        _ => return Some(format!("its secret is not sent in the {header} header")),
    }
    if gateway_key && !hook.channel.sends_header(GATEWAY_KEY_HEADER) {
        return Some(format!(
            "it sends no {GATEWAY_KEY_HEADER} header ({GATEWAY_KEY_SETTING} is set)"
        ));
    }
    None
}

/// The guard's event hook: created, or updated, activated and verified as need be.
fn plan_event_hook(snapshot: &Snapshot, args: &Request, url: &str, plan: &mut Plan) {
    plan.events_url = Some(url.to_string());
    let steps_before = plan.steps.len();
    let Some(hook) = EventHook::pick(&snapshot.event_hooks, |h| h.calls(Some(url))) else {
        plan.steps.push(Step::CreateEventHook {
            name: EVENT_HOOK_NAME.into(),
        });
        plan.steps.push(Step::VerifyEventHook {
            hook: HookRef::New,
            name: EVENT_HOOK_NAME.into(),
        });
        return;
    };
    let why = if args.update_secret {
        Some("--update-secret: set the header secret again".to_string())
    } else {
        event_hook_mismatch(hook, &args.header, args.gateway_key)
    };
    let updated = why.is_some();
    if let Some(why) = why {
        let mut events = hook.events.items.clone();
        events.extend(hook.missing(GUARD_EVENTS).iter().map(|e| e.to_string()));
        plan.steps.push(Step::UpdateEventHook {
            id: hook.id.clone(),
            name: hook.name.clone(),
            why,
            keep: hook.channel.config.headers.clone(),
            events,
        });
    }
    if !hook.active() {
        plan.steps.push(Step::ActivateEventHook {
            id: hook.id.clone(),
            name: hook.name.clone(),
        });
    }
    if updated || !hook.verified() {
        plan.steps.push(Step::VerifyEventHook {
            hook: HookRef::Existing(hook.id.clone()),
            name: hook.name.clone(),
        });
    }
    if plan.steps.len() == steps_before {
        plan.unchanged.push(format!(
            "{} calls {url}, ACTIVE and VERIFIED, subscribed to {}",
            hook.describe(),
            GUARD_EVENTS.join(", ")
        ));
    }
}

/// What [`apply`] did so far, for the caller to show as it goes.
pub enum Progress<'a> {
    /// A hook was created, with its id.
    Created { name: &'a str, id: &'a str },
    /// A step is done.
    Done(&'a str),
}

/// Carries out the plan's steps in order, telling `progress` after each; `secret` is needed
/// when a step writes a hook ([`Step::needs_secret`]). A failure stops there: the steps told
/// to `progress` are done, the rest are not.
pub async fn apply(
    client: &OktaClient,
    plan: &Plan,
    hook_url: &str,
    secret: Option<&HeaderSecret>,
    progress: &mut dyn FnMut(Progress),
) -> Result<usize> {
    let secret_for = |what: &str| {
        secret.ok_or_else(|| Error::Setting(format!("{what}: the hook secret was not loaded")))
    };
    let mut new_token_hook: Option<String> = None;
    let mut new_saml_hook: Option<String> = None;
    let mut new_event_hook: Option<String> = None;
    let mut done = 0;
    for step in &plan.steps {
        let what = step.describe();
        match step {
            Step::CreateHook { kind, name } => {
                let channel = Channel::with_header_secret(hook_url, secret_for(&what)?, &[]);
                let body = InlineHookCreate {
                    name,
                    kind,
                    version: "1.0.0",
                    channel: &channel,
                };
                let url = client.url(&["api", "v1", "inlineHooks"]);
                let created = client.send(Method::POST, url, Some(&body), &what).await?;
                let id = created["id"].as_str().unwrap_or("").to_string();
                if id.is_empty() {
                    return Err(Error::OktaAnswer {
                        what,
                        why: "Okta's answer has no hook id".into(),
                    });
                }
                if created["status"].as_str() != Some("ACTIVE") {
                    let url =
                        client.url(&["api", "v1", "inlineHooks", &id, "lifecycle", "activate"]);
                    let what = format!("activating the new hook {id}");
                    client.send(Method::POST, url, None::<&()>, &what).await?;
                }
                progress(Progress::Created { name, id: &id });
                if *kind == TOKEN_HOOK {
                    new_token_hook = Some(id);
                } else {
                    new_saml_hook = Some(id);
                }
            }
            Step::UpdateHook { id, name, keep, .. } => {
                let channel = Channel::with_header_secret(hook_url, secret_for(&what)?, keep);
                let body = InlineHookReplace {
                    name,
                    version: "1.0.0",
                    channel: &channel,
                };
                let url = client.url(&["api", "v1", "inlineHooks", id]);
                client.send(Method::PUT, url, Some(&body), &what).await?;
            }
            Step::ActivateHook { id, .. } => {
                let url = client.url(&["api", "v1", "inlineHooks", id, "lifecycle", "activate"]);
                client.send(Method::POST, url, None::<&()>, &what).await?;
            }
            Step::AttachToRule {
                server_id,
                policy_id,
                rule_id,
                hook,
                ..
            } => {
                let hook_id = match hook {
                    HookRef::Existing(id) => id.clone(),
                    HookRef::New => new_token_hook.clone().expect("created before"),
                };
                let url = client.url(&[
                    "api",
                    "v1",
                    "authorizationServers",
                    server_id,
                    "policies",
                    policy_id,
                    "rules",
                    rule_id,
                ]);
                let rule = client
                    .get(url.clone(), &format!("{what}: reading the rule"))
                    .await?;
                let body = Rule::attach_body(rule, &hook_id);
                client.send(Method::PUT, url, Some(&body), &what).await?;
            }
            Step::AttachToApp { app_id, hook, .. } => {
                let hook_id = match hook {
                    HookRef::Existing(id) => id.clone(),
                    HookRef::New => new_saml_hook.clone().expect("created before"),
                };
                let url = client.url(&["api", "v1", "apps", app_id]);
                let app = client
                    .get(url.clone(), &format!("{what}: reading the app"))
                    .await?;
                let body = App::attach_body(app, &hook_id);
                client.send(Method::PUT, url, Some(&body), &what).await?;
            }
            Step::CreateEventHook { name } => {
                let channel = Channel::for_event_hook(events_url(plan)?, secret_for(&what)?, &[]);
                let events = EventSubscriptions::of(GUARD_EVENTS);
                let body = EventHookWrite {
                    name,
                    events: &events,
                    channel: &channel,
                };
                let created = org::create_event_hook(client, &body, &what).await?;
                progress(Progress::Created {
                    name,
                    id: &created.id,
                });
                new_event_hook = Some(created.id);
            }
            Step::UpdateEventHook {
                id,
                name,
                keep,
                events,
                ..
            } => {
                let channel = Channel::for_event_hook(events_url(plan)?, secret_for(&what)?, keep);
                let events = EventSubscriptions {
                    kind: "EVENT_TYPE".into(),
                    items: events.clone(),
                };
                let body = EventHookWrite {
                    name,
                    events: &events,
                    channel: &channel,
                };
                org::replace_event_hook(client, id, &body, &what).await?;
            }
            Step::ActivateEventHook { id, .. } => {
                org::event_hook_lifecycle(client, id, "activate", &what).await?;
            }
            Step::VerifyEventHook { hook, .. } => {
                let id = match hook {
                    HookRef::Existing(id) => id.clone(),
                    HookRef::New => new_event_hook.clone().expect("created before"),
                };
                org::event_hook_lifecycle(client, &id, "verify", &what).await?;
            }
        }
        done += 1;
        progress(Progress::Done(&what));
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const URL: &str = "https://hook.example.com/okta/hook";

    fn hook(id: &str, kind: &str, status: &str, uri: &str, auth_key: &str) -> InlineHook {
        serde_json::from_value(json!({"id": id, "name": id, "type": kind, "status": status,
            "channel": {"type": "HTTP", "config": {"uri": uri, "method": "POST",
                "headers": [{"key": "X-Team", "value": "iam"}],
                "authScheme": {"type": "HEADER", "key": auth_key}}}}))
        .unwrap()
    }

    fn rule(id: &str, grants: &[&str], hook: Option<&str>) -> Rule {
        let mut raw = json!({"id": id, "name": id, "status": "ACTIVE",
            "conditions": {"grantTypes": {"include": grants}}, "actions": {"token": {}}});
        if let Some(h) = hook {
            raw["actions"]["token"]["inlineHook"] = json!({"id": h});
        }
        Rule::from_json("aus1", "pol1", &raw)
    }

    fn saml_app(id: &str, custom: bool, hook: Option<&str>) -> App {
        let mut raw: Value = json!({"id": id, "label": id, "status": "ACTIVE", "signOnMode": "SAML_2_0",
            "settings": {"signOn": {}}});
        if custom {
            raw["settings"]["signOn"]["ssoAcsUrl"] = json!("https://app/acs");
        }
        if let Some(h) = hook {
            raw["settings"]["signOn"]["inlineHooks"] = json!([{"id": h}]);
        }
        App::from_json(&raw)
    }

    fn org(hooks: Vec<InlineHook>, rules: Vec<Rule>, apps: Vec<App>) -> Snapshot {
        Snapshot {
            hooks,
            rules,
            apps,
            ..Snapshot::one_server("ACTIVE")
        }
    }

    fn request(targets: Targets) -> Request {
        Request {
            hook_url: URL.into(),
            targets,
            header: "Authorization".into(),
            gateway_key: false,
            update_secret: false,
            replace_other_hooks: false,
            events_url: None,
        }
    }

    #[test]
    fn from_nothing_the_plan_creates_both_hooks_and_attaches_them() {
        let user = &["authorization_code"];
        let s = org(
            vec![],
            vec![
                rule("r1", user, None),
                rule("m1", &["client_credentials"], None),
            ],
            vec![saml_app("wiki", true, None), saml_app("sfdc", false, None)],
        );
        let plan = plan(&s, &request(Targets::All)).unwrap();
        let described: Vec<String> = plan.steps.iter().map(Step::describe).collect();
        assert_eq!(
            described,
            [
                "create the token hook \"NL3 account protection (token)\" (POST /api/v1/inlineHooks)",
                "attach the new token hook to rule default › p › r1 (r1)",
                "create the SAML hook \"NL3 account protection (SAML)\" (POST /api/v1/inlineHooks)",
                "attach the new SAML hook to SAML app \"wiki\" (wiki)",
            ]
        );
        assert!(plan.skipped[0].contains("\"sfdc\""), "{:?}", plan.skipped);
        assert!(plan.steps.iter().filter(|s| s.needs_secret()).count() == 2);
    }

    #[test]
    fn an_org_already_set_up_plans_nothing_and_another_teams_hook_is_skipped() {
        let s = org(
            vec![
                hook("t1", TOKEN_HOOK, "ACTIVE", URL, "Authorization"),
                hook("s1", SAML_HOOK, "ACTIVE", URL, "Authorization"),
                hook(
                    "x1",
                    TOKEN_HOOK,
                    "ACTIVE",
                    "https://other/x",
                    "Authorization",
                ),
            ],
            vec![
                rule("r1", &["authorization_code"], Some("t1")),
                rule("r2", &["authorization_code"], Some("x1")),
            ],
            vec![saml_app("wiki", true, Some("s1"))],
        );
        let plan = plan(&s, &request(Targets::All)).unwrap();
        assert!(plan.steps.is_empty(), "{:?}", plan.steps);
        assert!(
            plan.skipped[0].contains("pass --replace-other-hooks"),
            "{:?}",
            plan.skipped
        );
        let mut replace = request(Targets::All);
        replace.replace_other_hooks = true;
        let plan = super::plan(&s, &replace).unwrap();
        assert!(matches!(
            &plan.steps[..],
            [Step::AttachToRule { rule_id, replaces: Some(other), .. }] if rule_id == "r2" && other.contains("x1")
        ));
    }

    #[test]
    fn a_hook_sending_its_secret_elsewhere_or_without_the_gateway_key_is_updated_keeping_its_headers(
    ) {
        let s = org(
            vec![hook("t1", TOKEN_HOOK, "INACTIVE", URL, "X-Other")],
            vec![rule("r1", &["authorization_code"], Some("t1"))],
            vec![],
        );
        let plan = plan(&s, &request(Targets::All)).unwrap();
        assert!(
            matches!(
                &plan.steps[..],
                [Step::UpdateHook { why, keep, .. }, Step::ActivateHook { .. }]
                    if why.contains("not sent in the Authorization header") && keep[0].key == "X-Team"
            ),
            "{:?}",
            plan.steps
        );
        let s = org(
            vec![hook("t1", TOKEN_HOOK, "ACTIVE", URL, "Authorization")],
            vec![rule("r1", &["authorization_code"], Some("t1"))],
            vec![],
        );
        let mut gateway = request(Targets::All);
        gateway.gateway_key = true;
        let plan = super::plan(&s, &gateway).unwrap();
        assert!(
            matches!(
                &plan.steps[..],
                [Step::UpdateHook { why, .. }] if why.contains("it sends no x-api-key header")
            ),
            "{:?}",
            plan.steps
        );
    }

    #[test]
    fn named_targets_are_checked() {
        let s = org(
            vec![],
            vec![rule("r1", &["authorization_code"], None)],
            vec![saml_app("sfdc", false, None)],
        );
        let named = |rules: &[&str], apps: &[&str]| {
            request(Targets::Named {
                rules: rules.iter().map(|s| s.to_string()).collect(),
                apps: apps.iter().map(|s| s.to_string()).collect(),
            })
        };
        assert!(matches!(
            plan(&s, &named(&["nope"], &[])),
            Err(Error::NotFound(_))
        ));
        let e = plan(&s, &named(&[], &["sfdc"])).unwrap_err();
        assert!(e.to_string().contains("catalog SAML app"), "{e}");
        let p = plan(&s, &named(&["r1", "r1"], &[])).unwrap();
        assert_eq!(
            p.steps.len(),
            2,
            "one hook created, the rule attached once: {:?}",
            p.steps
        );
    }
}

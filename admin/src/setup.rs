//! `setup`: registers (or updates) the NL3 token and SAML hooks, activates them, and attaches
//! them to the chosen access-policy rules and SAML apps. Prints the plan first; `--dry-run` stops
//! there; a second run finds nothing to change.

use std::fmt::Write;

use reqwest::Method;
use serde_json::{json, Value};

use crate::audit::{hook_state, is_ours, HookState};
use crate::cli::SetupArgs;
use crate::client::{segment, OktaClient};
use crate::org::{Hook, Snapshot, SAML_HOOK, TOKEN_HOOK};
use crate::secret::{self, HeaderSecret};
use crate::{AdminError, EXIT_OK};

pub const TOKEN_HOOK_NAME: &str = "NL3 account protection (token)";
pub const SAML_HOOK_NAME: &str = "NL3 account protection (SAML)";

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
        headers: Option<Value>,
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
}

#[derive(Debug, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub skipped: Vec<String>,
    pub unchanged: Vec<String>,
}

fn kind_label(kind: &str) -> &'static str {
    if kind == SAML_HOOK {
        "SAML"
    } else {
        "token"
    }
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
        }
    }

    fn needs_secret(&self) -> bool {
        matches!(self, Step::CreateHook { .. } | Step::UpdateHook { .. })
    }
}

/// The NL3 hook of `kind` already in the org: one calling `hook_url`, active ones first.
fn find_hook<'a>(snapshot: &'a Snapshot, kind: &str, hook_url: &str) -> Option<&'a Hook> {
    let mut ours: Vec<&Hook> = snapshot
        .hooks
        .iter()
        .filter(|h| h.kind == kind && is_ours(h, Some(hook_url)))
        .collect();
    ours.sort_by_key(|h| !h.active());
    ours.first().copied()
}

/// Why an existing hook's channel must be rewritten, if it must. A hook that authenticates with
/// OAuth 2.0 (docs/okta-setup.md's stronger option) is left as it is.
fn channel_mismatch(hook: &Hook, header: &str, gateway_key: bool) -> Option<String> {
    let channel = &hook.raw["channel"];
    let config = &channel["config"];
    if channel["type"].as_str() == Some("OAUTH") {
        return None;
    }
    if channel["type"].as_str() != Some("HTTP") {
        return Some(format!(
            "its channel type is {} instead of HTTP",
            channel["type"].as_str().unwrap_or("missing")
        ));
    }
    if config["authScheme"]["type"].as_str() != Some("HEADER")
        || !config["authScheme"]["key"]
            .as_str()
            .is_some_and(|k| k.eq_ignore_ascii_case(header))
    {
        return Some(format!("its secret is not sent in the {header} header"));
    }
    if config["method"].as_str().is_some_and(|m| m != "POST") {
        return Some("its method is not POST".into());
    }
    let sends_gateway_key = config["headers"].as_array().is_some_and(|headers| {
        headers.iter().any(|h| {
            h["key"]
                .as_str()
                .is_some_and(|k| k.eq_ignore_ascii_case(secret::GATEWAY_KEY_HEADER))
        })
    });
    if gateway_key && !sends_gateway_key {
        return Some(format!(
            "it sends no {} header ({} is set)",
            secret::GATEWAY_KEY_HEADER,
            secret::GATEWAY_KEY_SETTING
        ));
    }
    None
}

/// Builds the plan from the org as it is; `gateway_key`: `GATEWAY_API_KEY` is set, so every NL3
/// hook must send an `x-api-key` header.
pub fn plan(
    snapshot: &Snapshot,
    args: &SetupArgs,
    header: &str,
    gateway_key: bool,
) -> Result<Plan, AdminError> {
    let url = args.hook_url.as_str();
    let mut plan = Plan::default();

    // Targets: rules (token hook) and SAML apps.
    let mut rules: Vec<&crate::org::Rule> = Vec::new();
    let mut apps: Vec<&crate::org::App> = Vec::new();
    if args.all {
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
        for id in &args.rules {
            let rule = snapshot.rules.iter().find(|r| &r.id == id).ok_or_else(|| {
                AdminError::NotFound(format!(
                    "--rule {id}: no access-policy rule with this ID in any custom authorization server (see `nl3-okta-admin audit`)"
                ))
            })?;
            rules.push(rule);
        }
        for id in &args.apps {
            let app = snapshot.apps.iter().find(|a| &a.id == id).ok_or_else(|| {
                AdminError::NotFound(format!(
                    "--app {id}: no active app with this ID (see `nl3-okta-admin audit`)"
                ))
            })?;
            match app.sign_on_mode.as_str() {
                "SAML_2_0" if app.custom_saml => apps.push(app),
                "SAML_2_0" => {
                    return Err(AdminError::Usage(format!(
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
                        return Err(AdminError::Usage(format!(
                            "--app {id}: no access policy of a custom authorization server includes {:?}; its tokens come from the org \
                             authorization server, which token hooks never see. Add the app to a custom authorization server's access policy first",
                            app.label
                        )));
                    }
                    rules.extend(found);
                }
                mode => {
                    return Err(AdminError::Usage(format!(
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
        let existing = find_hook(snapshot, kind, url);
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
                        headers: Some(hook.raw["channel"]["config"]["headers"].clone())
                            .filter(|h| h.is_array()),
                    }),
                    None => plan.unchanged.push(format!(
                        "{} hook {:?} ({}) calls {url}{}",
                        kind_label(kind),
                        hook.name,
                        hook.id,
                        if hook.auth == "OAUTH" {
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
                    h.uri.as_deref().unwrap_or("-")
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
    Ok(plan)
}

pub fn render_plan(plan: &Plan, hook_url: &str) -> String {
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

/// The hook's channel: the header secret, the hook's own custom headers kept (`headers`), and the
/// gateway's key as `x-api-key` when `GATEWAY_API_KEY` gives one.
fn hook_channel(hook_url: &str, secret: &HeaderSecret, headers: Option<&Value>) -> Value {
    let mut headers: Vec<Value> = headers
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(key) = &secret.gateway_key {
        headers.retain(|h| {
            !h["key"]
                .as_str()
                .is_some_and(|k| k.eq_ignore_ascii_case(secret::GATEWAY_KEY_HEADER))
        });
        headers.push(json!({"key": secret::GATEWAY_KEY_HEADER, "value": key}));
    }
    let mut channel = json!({
        "type": "HTTP",
        "version": "1.0.0",
        "config": {
            "uri": hook_url,
            "method": "POST",
            "authScheme": {"type": "HEADER", "key": secret.key, "value": secret.value}
        }
    });
    if !headers.is_empty() {
        channel["config"]["headers"] = Value::Array(headers);
    }
    channel
}

/// Removes what Okta marks read-only before a PUT of an object read with GET.
fn strip_read_only(value: &mut Value, paths: &[&[&str]]) {
    for path in paths {
        let (last, parents) = path.split_last().expect("non-empty path");
        let mut node = Some(&mut *value);
        for p in parents {
            node = node.and_then(|n| n.get_mut(*p));
        }
        if let Some(obj) = node.and_then(Value::as_object_mut) {
            obj.remove(*last);
        }
    }
}

const RULE_READ_ONLY: &[&[&str]] = &[&["id"], &["created"], &["lastUpdated"], &["_links"]];
const APP_READ_ONLY: &[&[&str]] = &[
    &["id"],
    &["created"],
    &["lastUpdated"],
    &["_links"],
    &["_embedded"],
    &["features"],
    &["orn"],
    &["status"],
    &["name"],
    &["credentials", "signing", "lastRotated"],
    &["credentials", "signing", "nextRotation"],
    &["settings", "emOptInStatus"],
];

/// Carries out the plan's steps in order.
pub async fn apply(
    client: &OktaClient,
    plan: &Plan,
    hook_url: &str,
    secret: Option<&HeaderSecret>,
) -> Result<usize, AdminError> {
    let mut new_token_hook: Option<String> = None;
    let mut new_saml_hook: Option<String> = None;
    let mut done = 0;
    for step in &plan.steps {
        let what = step.describe();
        match step {
            Step::CreateHook { kind, name } => {
                let secret = secret.expect("secret loaded for hook steps");
                let body = json!({
                    "name": name,
                    "type": kind,
                    "version": "1.0.0",
                    "channel": hook_channel(hook_url, secret, None),
                });
                let created = client
                    .write(Method::POST, "/api/v1/inlineHooks", Some(&body), &what)
                    .await?;
                let id = created["id"].as_str().unwrap_or("").to_string();
                if id.is_empty() {
                    return Err(AdminError::Unexpected(format!(
                        "{what}: Okta's answer has no hook id"
                    )));
                }
                if created["status"].as_str() != Some("ACTIVE") {
                    let path = format!("/api/v1/inlineHooks/{}/lifecycle/activate", segment(&id));
                    client
                        .write(
                            Method::POST,
                            &path,
                            None,
                            &format!("activating the new hook {id}"),
                        )
                        .await?;
                }
                println!("  created {name:?}: {id}");
                if *kind == TOKEN_HOOK {
                    new_token_hook = Some(id);
                } else {
                    new_saml_hook = Some(id);
                }
            }
            Step::UpdateHook {
                id, name, headers, ..
            } => {
                let secret = secret.expect("secret loaded for hook steps");
                let body = json!({
                    "name": name,
                    "version": "1.0.0",
                    "channel": hook_channel(hook_url, secret, headers.as_ref()),
                });
                let path = format!("/api/v1/inlineHooks/{}", segment(id));
                client.write(Method::PUT, &path, Some(&body), &what).await?;
            }
            Step::ActivateHook { id, .. } => {
                let path = format!("/api/v1/inlineHooks/{}/lifecycle/activate", segment(id));
                client.write(Method::POST, &path, None, &what).await?;
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
                let path = format!(
                    "/api/v1/authorizationServers/{}/policies/{}/rules/{}",
                    segment(server_id),
                    segment(policy_id),
                    segment(rule_id)
                );
                let mut rule = client
                    .get(&path, &format!("{what}: reading the rule"))
                    .await?;
                strip_read_only(&mut rule, RULE_READ_ONLY);
                rule["actions"]["token"]["inlineHook"] = json!({ "id": hook_id });
                client.write(Method::PUT, &path, Some(&rule), &what).await?;
            }
            Step::AttachToApp { app_id, hook, .. } => {
                let hook_id = match hook {
                    HookRef::Existing(id) => id.clone(),
                    HookRef::New => new_saml_hook.clone().expect("created before"),
                };
                let path = format!("/api/v1/apps/{}", segment(app_id));
                let mut app = client
                    .get(&path, &format!("{what}: reading the app"))
                    .await?;
                strip_read_only(&mut app, APP_READ_ONLY);
                app["settings"]["signOn"]["inlineHooks"] = json!([{ "id": hook_id }]);
                client.write(Method::PUT, &path, Some(&app), &what).await?;
            }
        }
        done += 1;
        println!("  done: {what}");
    }
    Ok(done)
}

pub async fn run(
    client: &OktaClient,
    args: &SetupArgs,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<i32, AdminError> {
    let header = env("API_KEY_HEADER")
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "Authorization".into());
    let gateway_key = env("GATEWAY_API_KEY").is_some_and(|k| !k.trim().is_empty());
    let snapshot = Snapshot::read(client).await?;
    let plan = plan(&snapshot, args, &header, gateway_key)?;
    print!("{}", render_plan(&plan, &args.hook_url));
    if plan.steps.is_empty() {
        println!("Nothing changed.");
        return Ok(EXIT_OK);
    }
    // Fail before changing anything when the secret is needed but unavailable.
    let secret = if plan.steps.iter().any(Step::needs_secret) {
        Some(secret::load(env).await?)
    } else {
        None
    };
    if args.dry_run {
        println!("--dry-run: nothing changed.");
        return Ok(EXIT_OK);
    }
    println!("Applying:");
    let done = apply(client, &plan, &args.hook_url, secret.as_ref()).await?;
    println!(
        "{done} change(s) made. Check with `nl3-okta-admin audit --hook-url {}`.",
        args.hook_url
    );
    Ok(EXIT_OK)
}

//! Rotation of the hook's header secret (`API_KEY`) with Secrets Manager's four-step protocol,
//! Okta following: `createSecret` puts a new key into the secret as `AWSPENDING`, `setSecret`
//! gives it to every header-authenticated inline hook in Okta that calls the hook's URL,
//! `testSecret` has Okta call each of them (execute-hook API), `finishSecret` makes it
//! `AWSCURRENT`. The hook accepts the `AWSPENDING` key while a rotation is in flight, so no
//! sign-in is refused between `setSecret` and `finishSecret`.
//!
//! The `nl3-okta-rotate` function runs one step per invocation, `nl3-okta-admin rotate` all
//! four (and `--roll-back`): both through [`Rotation::run_step`]. No key is ever in a line.

use std::collections::HashMap;

use base64::Engine;
use reqwest::Method;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::{
    Auth, EventHook, EventHookWrite, InlineHook, SecretValue, SAML_HOOK, TOKEN_HOOK,
};
use crate::okta::OktaClient;
use crate::org;
use crate::requests::{check_request, hook_decision};
use crate::secrets::{HookSecret, Versions, CURRENT, PENDING};

/// OAuth 2.0 scopes of the rotation (API Services app): reading and replacing inline hooks, and
/// executing them (the execute-hook API needs `okta.inlineHooks.manage`).
pub const ROTATE_SCOPES: &[&str] = &["okta.inlineHooks.read", "okta.inlineHooks.manage"];
/// What rotating the guard's event hook adds (replacing and verifying it).
pub const EVENT_HOOK_SCOPES: &[&str] = &["okta.eventHooks.read", "okta.eventHooks.manage"];

/// The rotation's scopes: the event hooks' too when the guard's receiver is set.
pub fn scopes(events_url: Option<&str>) -> Vec<&'static str> {
    let mut scopes = ROTATE_SCOPES.to_vec();
    if events_url.is_some() {
        scopes.extend(EVENT_HOOK_SCOPES);
    }
    scopes
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Create,
    Set,
    Test,
    Finish,
}

impl Step {
    pub const ALL: [Step; 4] = [Step::Create, Step::Set, Step::Test, Step::Finish];

    pub fn name(self) -> &'static str {
        match self {
            Step::Create => "createSecret",
            Step::Set => "setSecret",
            Step::Test => "testSecret",
            Step::Finish => "finishSecret",
        }
    }

    pub fn parse(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// Secrets Manager's rotation event: `{"Step", "SecretId", "ClientRequestToken"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationEvent {
    pub step: Step,
    pub secret_id: String,
    /// The version being rotated to (`ClientRequestToken`).
    pub token: String,
}

/// The org's inline hooks, by what rotation does with them.
#[derive(Debug, Default)]
pub struct HookPlan {
    /// Token and SAML hooks calling the hook's URL with an HTTP header secret: they get the new
    /// key, in the header each already uses.
    pub header: Vec<InlineHook>,
    /// Hooks calling the hook's URL that authenticate with OAuth 2.0, or otherwise not with a
    /// header: left alone.
    pub left_alone: Vec<(InlineHook, String)>,
    /// Token and SAML hooks with a header secret calling another URL: not rotated, and named,
    /// since one may still reach the hook function (another host name for it, a stage).
    pub elsewhere: Vec<InlineHook>,
    /// The guard's event hooks (calling `NL3_EVENTS_URL` with a header secret): they get the new
    /// key with the inline hooks, and are verified again (Okta unverifies a changed channel).
    pub event_hooks: Vec<EventHook>,
    /// `API_KEY_HEADER`, when set: a hook sending its secret in another header is named.
    expected_header: Option<String>,
}

impl HookPlan {
    pub fn of(hooks: Vec<InlineHook>, hook_url: &str, expected_header: Option<&str>) -> HookPlan {
        let mut plan = HookPlan {
            expected_header: expected_header.map(String::from),
            ..HookPlan::default()
        };
        for hook in hooks {
            let inline = hook.kind == TOKEN_HOOK || hook.kind == SAML_HOOK;
            if !hook.calls(Some(hook_url)) {
                if inline && matches!(hook.channel.auth(), Auth::Header(_)) {
                    plan.elsewhere.push(hook);
                }
                continue;
            }
            let why = if !inline {
                Some(format!(
                    "a {} hook: the NL3 hook answers token and SAML hooks only",
                    hook.kind
                ))
            } else {
                match hook.channel.auth() {
                    Auth::Header(_) => None,
                    Auth::OAuth => {
                        Some("authenticates with OAuth 2.0: no header secret to rotate".to_string())
                    }
                    Auth::Other(what) => Some(format!("sends no header secret ({what})")),
                }
            };
            match why {
                None => plan.header.push(hook),
                Some(why) => plan.left_alone.push((hook, why)),
            }
        }
        plan
    }

    pub fn left_alone_lines(&self) -> Vec<String> {
        self.left_alone
            .iter()
            .map(|(h, why)| format!("left alone: {}: {why}", h.describe()))
            .collect()
    }

    /// What the operator must know beside the hooks that get the key: hooks left alone, hooks
    /// at another URL (with when their key stops working, `grace` after finishSecret), and hooks
    /// whose header is not `API_KEY_HEADER`.
    pub fn notes(&self, grace: std::time::Duration) -> Vec<String> {
        let mut lines = self.left_alone_lines();
        for hook in &self.elsewhere {
            lines.push(format!(
                "not rotated: {} calls {}, not the hook URL; if it reaches this hook function, its key is refused {} s (API_KEY_GRACE_SECONDS) after finishSecret: register it at the hook URL, or give it the new key with `nl3-okta-admin setup`",
                hook.describe(),
                hook.uri().unwrap_or("-"),
                grace.as_secs()
            ));
        }
        if let Some(expected) = &self.expected_header {
            for hook in &self.header {
                if let Auth::Header(key) = hook.channel.auth() {
                    if !key.eq_ignore_ascii_case(expected) {
                        lines.push(format!(
                            "{} sends its secret in the {key} header, not {expected} (API_KEY_HEADER): rotation keeps {key}; if the hook function reads {expected}, it refuses these calls. Move the header explicitly with `nl3-okta-admin setup --update-secret`",
                            hook.describe()
                        ));
                    }
                }
            }
        }
        lines
    }

    pub fn none_matching(&self, hook_url: &str) -> Error {
        let others = if self.left_alone.is_empty() {
            String::new()
        } else {
            format!(
                " (left alone: {})",
                self.left_alone
                    .iter()
                    .map(|(h, why)| format!("{}: {why}", h.describe()))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        };
        Error::NotFound(format!(
            "no token or SAML inline hook in Okta calls {hook_url} with an HTTP header secret, so \
             no hook can be given the new key{others}; check NL3_HOOK_URL (the hook URL registered \
             in Okta, the stack's HookUrl output) or register the hook with `nl3-okta-admin setup`"
        ))
    }
}

/// A new `API_KEY`: 32 random bytes (256 bits) from the system's CSPRNG, base64url without
/// padding (43 printable characters, safe in JSON and in a header).
pub fn new_api_key() -> Result<String> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|e| Error::SettingFrom {
        what: "the system's random generator failed".into(),
        source: Box::new(e),
    })?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// A new version id for a manual rotation, a UUID as Secrets Manager's own.
pub fn new_version() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// What a failed step leaves behind, and how to finish or roll back (docs/operations.md, Rotating
/// the hook secret).
pub fn left_behind(step: Step, secret_id: &str, token: &str) -> String {
    match step {
        Step::Create => format!(
            "nothing changed in Okta and AWSCURRENT of {secret_id} is as it was; the next attempt \
             starts again"
        ),
        Step::Set => format!(
            "AWSCURRENT of {secret_id} is unchanged; hooks already given the new key send \
             version {token} (AWSPENDING), which the hook accepts while it is pending; finish \
             with `nl3-okta-admin rotate` or roll back (docs/operations.md, Rotating the hook secret)"
        ),
        Step::Test => format!(
            "AWSCURRENT of {secret_id} is unchanged; Okta sends version {token} (AWSPENDING), \
             which the hook accepts while it is pending; fix the cause and finish with \
             `nl3-okta-admin rotate`, or roll back (docs/operations.md, Rotating the hook secret)"
        ),
        Step::Finish => format!(
            "Okta sends version {token} of {secret_id}, which the hook accepts while it is \
             AWSPENDING or AWSCURRENT; finish with `nl3-okta-admin rotate`"
        ),
    }
}

/// The steps, against one Secrets Manager and (for setSecret and testSecret) one Okta org.
pub struct Rotation<'a> {
    pub secrets: &'a aws_sdk_secretsmanager::Client,
    pub okta: Option<&'a OktaClient>,
    /// `NL3_HOOK_URL`, normalised.
    pub hook_url: String,
    /// `API_KEY_HEADER`: only to name hooks whose header differs (rotation never moves one).
    pub expected_header: Option<String>,
    /// `API_KEY_GRACE_SECONDS`: how long the hook accepts the previous key after finishSecret.
    pub grace: std::time::Duration,
    /// `NL3_EVENTS_URL`, normalised: the guard's event hook, rotated with the inline hooks.
    pub events_url: Option<String>,
}

impl Rotation<'_> {
    fn versions<'s>(&'s self, secret_id: &'s str) -> Versions<'s> {
        Versions {
            client: self.secrets,
            secret_id,
        }
    }

    fn okta(&self) -> Result<&OktaClient> {
        self.okta.ok_or_else(|| {
            Error::Setting("this step needs Okta, and no Okta client was set up".into())
        })
    }

    /// The version of a rotation in flight: `AWSPENDING` without being `AWSCURRENT`.
    pub async fn in_flight(&self, secret_id: &str) -> Result<Option<String>> {
        let stages = self.versions(secret_id).stages().await?;
        Ok(in_flight(&stages, None))
    }

    /// Runs one step; the lines say what it did (no secret in them). Secrets Manager creates
    /// the token's version (empty, AWSPENDING) before it calls createSecret; a manual rotation
    /// has createSecret create it. The other steps need it to be AWSPENDING.
    pub async fn run_step(&self, event: &RotationEvent) -> Result<Vec<String>> {
        let RotationEvent {
            step,
            secret_id,
            token,
        } = event;
        let stages = self.versions(secret_id).stages().await?;
        match stages.get(token) {
            Some(labels) if has(labels, CURRENT) => {
                let mut lines = vec![format!(
                    "{}: version {token} is already AWSCURRENT: nothing to do",
                    step.name()
                )];
                if *step == Step::Finish && has(labels, PENDING) {
                    lines.extend(self.drop_pending(secret_id, token).await?);
                }
                return Ok(lines);
            }
            Some(labels) if has(labels, PENDING) => {}
            _ if *step == Step::Finish && self.carried_over(secret_id, token).await? => {
                return Ok(vec![format!(
                    "finishSecret: AWSCURRENT already holds version {token}'s key (carried over \
                     with the current fields): nothing to do"
                )]);
            }
            Some(labels) => {
                return Err(Error::Rotation(format!(
                    "{}: version {token} of secret {secret_id} is not AWSPENDING (its labels: \
                     {labels:?}): another rotation has taken its place; start a new one",
                    step.name()
                )))
            }
            None if *step == Step::Create => {}
            None => {
                return Err(Error::NotFound(format!(
                    "{}: ClientRequestToken {token} is not a version of secret {secret_id}, so \
                     this event belongs to no rotation of this secret (createSecret makes that \
                     version)",
                    step.name()
                )))
            }
        }
        match step {
            Step::Create => self.create(secret_id, token, &stages).await,
            Step::Set => self.set(secret_id, token).await,
            Step::Test => self.test().await,
            Step::Finish => self.finish(secret_id, token, &stages).await,
        }
    }

    /// createSecret: a new `API_KEY` beside AWSCURRENT's other fields, as version `token`
    /// (AWSPENDING). When another version is still AWSPENDING (a rotation in flight, started by
    /// the CLI or a second operator), Okta may already send its key and writing `token` takes
    /// that version's label: `token` gets that key, so the hook keeps accepting it.
    async fn create(
        &self,
        secret_id: &str,
        token: &str,
        stages: &HashMap<String, Vec<String>>,
    ) -> Result<Vec<String>> {
        let versions = self.versions(secret_id);
        let current = versions.current().await?;
        // A retry: the pending version may already hold its value.
        if stages.contains_key(token) && versions.pending(token).await?.is_some() {
            return Ok(vec![format!(
                "createSecret: version {token} already holds a new API_KEY (a retry): nothing new"
            )]);
        }
        let in_flight = match in_flight(stages, Some(token)) {
            Some(other) => versions.pending(&other).await?.map(|p| (other, p)),
            None => None,
        };
        let mut fields = current.fields;
        let line = match in_flight
            .as_ref()
            .and_then(|(other, p)| Some((other, p.api_key()?)))
        {
            Some((other, key)) => {
                fields.insert("API_KEY".into(), Value::String(key.to_string()));
                format!(
                    "createSecret: version {other} was AWSPENDING, a rotation in flight whose key \
                     Okta may already send: version {token} resumes it with that API_KEY \
                     (AWSPENDING), every other field copied from AWSCURRENT"
                )
            }
            None => {
                fields.insert("API_KEY".into(), Value::String(new_api_key()?));
                format!(
                    "createSecret: version {token} holds a new API_KEY (AWSPENDING), every other \
                     field copied from AWSCURRENT"
                )
            }
        };
        versions
            .put_pending(token, &HookSecret { fields })
            .await
            .map_err(|e| with_step(e, "createSecret"))?;
        Ok(vec![line])
    }

    /// The pending version of `token`: it must hold a value.
    async fn pending(&self, secret_id: &str, token: &str) -> Result<HookSecret> {
        self.versions(secret_id).pending(token).await?.ok_or_else(|| {
            Error::Rotation(format!(
                "the AWSPENDING version {token} of secret {secret_id:?} has no value (did createSecret run?)"
            ))
        })
    }

    /// The org's hooks, by what rotation does with them.
    pub async fn plan(&self) -> Result<HookPlan> {
        let okta = self.okta()?;
        let mut plan = HookPlan::of(
            org::hooks(okta).await?,
            &self.hook_url,
            self.expected_header.as_deref(),
        );
        if let Some(url) = &self.events_url {
            plan.event_hooks = org::event_hooks(okta)
                .await?
                .into_iter()
                .filter(|h| h.calls(Some(url)) && matches!(h.channel.auth(), Auth::Header(_)))
                .collect();
        }
        Ok(plan)
    }

    async fn set(&self, secret_id: &str, token: &str) -> Result<Vec<String>> {
        let pending = self.pending(secret_id, token).await?;
        self.give_key(&pending.secret_value(), "setSecret", "the new key")
            .await
    }

    /// Every header hook calling the hook's URL gets `value`, in the header it already uses
    /// (setSecret; a roll-back).
    async fn give_key(&self, value: &SecretValue, step: &str, which: &str) -> Result<Vec<String>> {
        let okta = self.okta()?;
        let plan = self.plan().await?;
        if plan.header.is_empty() {
            return Err(plan.none_matching(&self.hook_url));
        }
        let mut lines: Vec<String> = plan
            .notes(self.grace)
            .into_iter()
            .map(|l| format!("{step}: {l}"))
            .collect();
        let mut done: Vec<String> = Vec::new();
        for hook in &plan.header {
            let url = okta.url(&["api", "v1", "inlineHooks", &hook.id]);
            let what = format!("giving {} {which} (PUT {})", hook.describe(), url.path());
            let channel = hook.channel.with_secret(value);
            if let Err(e) = okta
                .send(Method::PUT, url, Some(&hook.replacement(&channel)), &what)
                .await
            {
                let not_yet: Vec<String> = plan.header[done.len()..]
                    .iter()
                    .map(InlineHook::describe)
                    .collect();
                return Err(e.left_behind(format!(
                    "already given {which}: {}; not yet: {}",
                    if done.is_empty() {
                        "none".into()
                    } else {
                        done.join(", ")
                    },
                    not_yet.join(", ")
                )));
            }
            lines.push(format!("{step}: {} now sends {which}", hook.describe()));
            done.push(hook.describe());
        }
        for hook in &plan.event_hooks {
            let what = format!(
                "giving {} {which} (PUT /api/v1/eventHooks/{})",
                hook.describe(),
                hook.id
            );
            let channel = hook.channel.with_secret(value).for_event_hook_write();
            let body = EventHookWrite {
                name: &hook.name,
                events: &hook.events,
                channel: &channel,
            };
            let given = async {
                org::replace_event_hook(okta, &hook.id, &body, &what).await?;
                org::event_hook_lifecycle(okta, &hook.id, "verify", &what).await
            };
            if let Err(e) = given.await {
                return Err(e.left_behind(format!(
                    "already given {which}: {}; the receiver accepts the new key while it is \
                     AWSPENDING; run the step again to verify {} (Okta delivers to verified \
                     hooks only)",
                    done.join(", "),
                    hook.describe()
                )));
            }
            lines.push(format!(
                "{step}: {} now sends {which} (verified again: the receiver accepted it)",
                hook.describe()
            ));
            done.push(hook.describe());
        }
        Ok(lines)
    }

    /// Okta calls each active header hook with a well-formed request (testSecret; a roll-back).
    /// It proves the hook *authenticated* Okta's call: any decision but `forbidden`, in a
    /// well-formed answer, passes (a deployment refusing unlisted apps, or failing closed while
    /// NL3 is down, still finishes its rotation).
    async fn test(&self) -> Result<Vec<String>> {
        let okta = self.okta()?;
        let plan = self.plan().await?;
        if plan.header.is_empty() {
            return Err(plan.none_matching(&self.hook_url));
        }
        let org = okta.org_url();
        let mut lines = plan.left_alone_lines();
        let mut failed = Vec::new();
        for hook in &plan.header {
            if !hook.active() {
                // It has the new key for when it is activated; Okta calls only active hooks.
                lines.push(format!(
                    "testSecret: {} is {}: not called (it has the new key for when it is active)",
                    hook.describe(),
                    hook.status
                ));
                continue;
            }
            let answer = match org::execute(okta, hook, &check_request(&hook.kind, &org)).await {
                Ok(answer) => answer,
                Err(e) => {
                    failed.push(e.to_string());
                    continue;
                }
            };
            match hook_decision(&answer) {
                Ok("forbidden") => {
                    let header = match hook.channel.auth() {
                        Auth::Header(key) => key.to_string(),
                        _ => "?".into(),
                    };
                    failed.push(format!(
                        "{} refused the key Okta sent in its {header} header (decision \
                         \"forbidden\"): the hook function did not accept it; check that it reads \
                         its secret from {header} (API_KEY_HEADER) and from this secret \
                         (SECRET_ID)",
                        hook.describe()
                    ))
                }
                Ok(decision) => lines.push(format!(
                    "testSecret: {} accepted Okta's call (decision {decision:?})",
                    hook.describe()
                )),
                Err(why) => failed.push(format!(
                    "{} answered Okta with something that is not the NL3 hook's answer: {why}",
                    hook.describe()
                )),
            }
        }
        if failed.is_empty() {
            Ok(lines)
        } else {
            Err(Error::HookRefused(format!(
                "testSecret: {}",
                failed.join("; ")
            )))
        }
    }

    /// finishSecret: `token` becomes AWSCURRENT. When AWSCURRENT's other fields changed since
    /// createSecret copied them (an operator put a new `SIGNING_KEY`, `APPS` …), promoting
    /// `token` would undo that: its `API_KEY` is carried over onto the current fields in a new
    /// version, which becomes AWSCURRENT, and `token` is retired.
    async fn finish(
        &self,
        secret_id: &str,
        token: &str,
        stages: &HashMap<String, Vec<String>>,
    ) -> Result<Vec<String>> {
        let versions = self.versions(secret_id);
        let current_id = stages
            .iter()
            .find(|(_, labels)| has(labels, CURRENT))
            .map(|(id, _)| id.clone());
        let pending = self.pending(secret_id, token).await?;
        let current = versions.current().await?;
        let changed = changed_fields(&current, &pending);
        let mut lines = if changed.is_empty() {
            versions
                .make_current(token, current_id.as_deref())
                .await
                .map_err(|e| with_step(e, "finishSecret"))?;
            vec![format!(
                "finishSecret: version {token} is AWSCURRENT; {} is AWSPREVIOUS",
                current_id.as_deref().unwrap_or("no version")
            )]
        } else {
            let mut fields = current.fields.clone();
            fields.insert(
                "API_KEY".into(),
                Value::String(pending.api_key().unwrap_or_default().to_string()),
            );
            let carried = new_version();
            versions
                .put_current(&carried, &HookSecret { fields })
                .await
                .map_err(|e| with_step(e, "finishSecret"))?;
            vec![format!(
                "finishSecret: AWSCURRENT's {} changed while the rotation was in flight; \
                 version {carried} holds version {token}'s API_KEY with AWSCURRENT's other \
                 fields and is AWSCURRENT ({} is AWSPREVIOUS); version {token} is retired",
                changed.join(", "),
                current_id.as_deref().unwrap_or("no version")
            )]
        };
        lines.extend(self.drop_pending(secret_id, token).await?);
        Ok(lines)
    }

    /// A finishSecret retried after its key was carried over: AWSCURRENT holds `token`'s key.
    async fn carried_over(&self, secret_id: &str, token: &str) -> Result<bool> {
        let versions = self.versions(secret_id);
        let Some(version) = versions.by_id(token).await? else {
            return Ok(false);
        };
        Ok(version.api_key().is_some() && versions.current().await?.api_key() == version.api_key())
    }

    /// The rotation is over: `AWSPENDING` leaves the new version (the hook stops reading a
    /// third key; Secrets Manager accepts either state after a rotation).
    async fn drop_pending(&self, secret_id: &str, token: &str) -> Result<Vec<String>> {
        self.versions(secret_id)
            .drop_pending(token)
            .await
            .map_err(|e| with_step(e, "finishSecret"))?;
        Ok(vec![format!(
            "finishSecret: AWSPENDING removed from version {token}"
        )])
    }

    /// `rotate --roll-back`: gives every header hook AWSCURRENT's key again (each in the header
    /// it uses), has Okta call each, then takes AWSPENDING off the version in flight (in this
    /// order, so that no sign-in is refused on the way back).
    pub async fn roll_back(&self, secret_id: &str, token: &str) -> Result<Vec<String>> {
        let current = self.versions(secret_id).current().await?;
        let left = format!(
            "version {token} stays AWSPENDING and the hook accepts its key and AWSCURRENT's; run \
             `nl3-okta-admin rotate --roll-back` again"
        );
        let mut lines = self
            .give_key(&current.secret_value(), "roll-back", "AWSCURRENT's key")
            .await
            .map_err(|e| e.left_behind(&left))?;
        lines.extend(self.test().await.map_err(|e| e.left_behind(&left))?);
        lines.extend(self.drop_pending(secret_id, token).await?);
        Ok(lines)
    }
}

/// A version that is AWSPENDING without being AWSCURRENT, other than `except`.
fn in_flight(stages: &HashMap<String, Vec<String>>, except: Option<&str>) -> Option<String> {
    stages
        .iter()
        .find(|(id, s)| Some(id.as_str()) != except && has(s, PENDING) && !has(s, CURRENT))
        .map(|(id, _)| id.clone())
}

/// The fields other than `API_KEY` whose values differ between two versions (names only).
fn changed_fields(current: &HookSecret, pending: &HookSecret) -> Vec<String> {
    let (a, b) = (current.other_fields(), pending.other_fields());
    let mut names: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    names
}

fn has(labels: &[String], label: &str) -> bool {
    labels.iter().any(|l| l == label)
}

/// A Secrets Manager error inside a step, named by the step.
fn with_step(e: Error, step: &str) -> Error {
    match e {
        Error::SecretsManager {
            what,
            detail,
            source,
        } => Error::SecretsManager {
            what: format!("{step}: {what}"),
            detail,
            source,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hook(id: &str, kind: &str, uri: &str, channel_type: &str, auth: Option<&str>) -> InlineHook {
        let mut config = json!({"uri": uri, "method": "POST", "headers": [{"key": "X-Tenant", "value": "acme"}]});
        if let Some(auth) = auth {
            config["authScheme"] = json!({"type": auth, "key": "Authorization"});
        }
        serde_json::from_value(json!({
            "id": id, "name": format!("hook {id}"), "type": kind, "status": "ACTIVE",
            "version": "1.0.0",
            "channel": {"type": channel_type, "version": "1.0.0", "config": config}
        }))
        .unwrap()
    }

    #[test]
    fn only_header_hooks_calling_the_url_get_the_key() {
        let url = "https://h.example.com/okta/hook";
        let plan = HookPlan::of(
            vec![
                hook(
                    "t",
                    TOKEN_HOOK,
                    "https://H.example.com/okta/hook/",
                    "HTTP",
                    Some("HEADER"),
                ),
                hook("s", SAML_HOOK, url, "HTTP", Some("HEADER")),
                hook("o", TOKEN_HOOK, url, "OAUTH", Some("CLIENT_SECRET")),
                hook("n", SAML_HOOK, url, "HTTP", None),
                hook(
                    "r",
                    "com.okta.user.pre-registration",
                    url,
                    "HTTP",
                    Some("HEADER"),
                ),
                hook(
                    "x",
                    TOKEN_HOOK,
                    "https://other.example.com/hook",
                    "HTTP",
                    Some("HEADER"),
                ),
            ],
            url,
            None,
        );
        let ids: Vec<&str> = plan.header.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["t", "s"]);
        let left: Vec<&str> = plan.left_alone.iter().map(|(h, _)| h.id.as_str()).collect();
        assert_eq!(left, ["o", "n", "r"]);
        assert!(plan.left_alone[0].1.contains("OAuth 2.0"));
        assert_eq!(
            plan.elsewhere
                .iter()
                .map(|h| h.id.as_str())
                .collect::<Vec<_>>(),
            ["x"]
        );
        let notes = plan.notes(std::time::Duration::from_secs(3600)).join("\n");
        assert!(
            notes.contains(
                "not rotated: token hook \"hook x\" (x) calls https://other.example.com/hook"
            ) && notes.contains("3600 s (API_KEY_GRACE_SECONDS)"),
            "{notes}"
        );
        let none = HookPlan::of(vec![hook("o", TOKEN_HOOK, url, "OAUTH", None)], url, None);
        let err = none.none_matching(url).to_string();
        assert!(
            err.contains("no token or SAML inline hook") && err.contains("hook o"),
            "{err}"
        );
    }

    #[test]
    fn the_put_keeps_the_hook_and_replaces_only_the_secret() {
        let h = hook("t", TOKEN_HOOK, "https://h/x", "HTTP", Some("HEADER"));
        let channel = h.channel.with_secret(&SecretValue::of_api_key("k3y"));
        let body = serde_json::to_value(h.replacement(&channel)).unwrap();
        assert_eq!(body["name"], "hook t");
        assert_eq!(body["version"], "1.0.0");
        let config = &body["channel"]["config"];
        assert_eq!(config["uri"], "https://h/x");
        assert_eq!(
            config["headers"],
            json!([{"key": "X-Tenant", "value": "acme"}])
        );
        assert_eq!(
            config["authScheme"],
            json!({"type": "HEADER", "key": "Authorization", "value": "azN5"})
        );
    }

    #[test]
    fn new_keys_are_long_random_and_printable() {
        let a = new_api_key().unwrap();
        let b = new_api_key().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43); // 32 bytes, base64url without padding
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        let t = new_version();
        assert_eq!(t.len(), 36);
        assert_ne!(t, new_version());
    }
}

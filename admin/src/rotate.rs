//! Rotation of the hook's header secret (`API_KEY`) with Secrets Manager's four-step protocol,
//! Okta following: `createSecret` puts a new key into the secret as `AWSPENDING`, `setSecret`
//! gives it to every header-authenticated inline hook in Okta that calls the hook's URL,
//! `testSecret` has Okta call each of them (execute-hook API), `finishSecret` makes it
//! `AWSCURRENT`. The hook accepts the `AWSPENDING` key while a rotation is in flight, so no
//! sign-in is refused between `setSecret` and `finishSecret`.
//!
//! The `nl3-okta-rotate` Lambda function runs one step per invocation ([`handle`]);
//! `nl3-okta-admin rotate` runs all four from a terminal ([`run_cli`]). Both go through
//! [`Rotation::run_step`]. No key, token or private key is ever logged or printed.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::client::{segment, OktaClient};
use crate::org::{read_hooks, Hook, SAML_HOOK, TOKEN_HOOK};
use crate::secret::{api_key_from_json, header_secret, HeaderSecret};
use crate::AdminError;

/// OAuth 2.0 scopes of the rotation (API Services app): reading and replacing inline hooks, and
/// executing them (the execute-hook API needs `okta.inlineHooks.manage`).
pub const ROTATE_SCOPES: &[&str] = &["okta.inlineHooks.read", "okta.inlineHooks.manage"];

const CURRENT: &str = "AWSCURRENT";
const PENDING: &str = "AWSPENDING";

/// The user in testSecret's sample requests: no one's account (`.invalid` never resolves).
const CHECK_LOGIN: &str = "nl3-rotation-check@example.invalid";

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

    fn parse(name: &str) -> Option<Step> {
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

impl RotationEvent {
    /// Reads any JSON; what is missing or wrong is named (values cut short: they are not
    /// secrets, but an event may be anything).
    pub fn from_json(event: &Value) -> Result<Self, AdminError> {
        let expected = "expected Secrets Manager's rotation event \
                        {\"Step\": …, \"SecretId\": …, \"ClientRequestToken\": …}";
        let object = event.as_object().ok_or_else(|| {
            AdminError::Usage(format!("the event is not a JSON object; {expected}"))
        })?;
        let field = |name: &str| match object.get(name) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            Some(_) => Err(AdminError::Usage(format!(
                "the event's {name} is not a non-empty string; {expected}"
            ))),
            None => Err(AdminError::Usage(format!(
                "the event has no {name}; {expected}"
            ))),
        };
        let step_name = field("Step")?;
        let step = Step::parse(&step_name).ok_or_else(|| {
            AdminError::Usage(format!(
                "unknown Step {:?}: expected createSecret, setSecret, testSecret or finishSecret",
                step_name.chars().take(64).collect::<String>()
            ))
        })?;
        Ok(RotationEvent {
            step,
            secret_id: field("SecretId")?,
            token: field("ClientRequestToken")?,
        })
    }
}

/// The inline hooks that call the hook's URL, by what rotation does with them.
#[derive(Debug, Default)]
pub struct HookPlan {
    /// Token and SAML hooks with an HTTP header secret: they get the new key.
    pub header: Vec<Hook>,
    /// Hooks that authenticate with OAuth 2.0, or otherwise not with a header: left alone.
    pub left_alone: Vec<(Hook, String)>,
}

impl HookPlan {
    pub fn of(hooks: Vec<Hook>, hook_url: &str) -> HookPlan {
        let mut plan = HookPlan::default();
        for hook in hooks {
            if hook.uri.as_deref().map(crate::normalize_url).as_deref() != Some(hook_url) {
                continue;
            }
            let channel = &hook.raw["channel"];
            let auth = channel["config"]["authScheme"]["type"].as_str();
            let why = if hook.kind != TOKEN_HOOK && hook.kind != SAML_HOOK {
                Some(format!(
                    "a {} hook: the NL3 hook answers token and SAML hooks only",
                    hook.kind
                ))
            } else if channel["type"].as_str() == Some("OAUTH") {
                Some("authenticates with OAuth 2.0: no header secret to rotate".to_string())
            } else if channel["type"].as_str() != Some("HTTP") || auth != Some("HEADER") {
                Some(format!(
                    "sends no header secret (channel {}, authScheme {})",
                    channel["type"].as_str().unwrap_or("missing"),
                    auth.unwrap_or("missing")
                ))
            } else {
                None
            };
            match why {
                None => plan.header.push(hook),
                Some(why) => plan.left_alone.push((hook, why)),
            }
        }
        plan
    }

    fn left_alone_lines(&self) -> Vec<String> {
        self.left_alone
            .iter()
            .map(|(h, why)| format!("left alone: {}: {why}", describe(h)))
            .collect()
    }

    fn none_matching(&self, hook_url: &str) -> AdminError {
        let others = if self.left_alone.is_empty() {
            String::new()
        } else {
            format!(
                " (left alone: {})",
                self.left_alone
                    .iter()
                    .map(|(h, why)| format!("{}: {why}", describe(h)))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        };
        AdminError::NotFound(format!(
            "no token or SAML inline hook in Okta calls {hook_url} with an HTTP header secret, so \
             no hook can be given the new key{others}; check NL3_HOOK_URL (the hook URL registered \
             in Okta, the stack's HookUrl output) or register the hook with `nl3-okta-admin setup`"
        ))
    }
}

fn describe(hook: &Hook) -> String {
    let kind = match hook.kind.as_str() {
        TOKEN_HOOK => "token",
        SAML_HOOK => "SAML",
        other => other,
    };
    format!("{kind} hook {:?} ({})", hook.name, hook.id)
}

/// The PUT body that gives `hook` the new key: its name, version and channel as Okta has them
/// (URI, method, custom headers), the auth scheme's key and value replaced, as `setup` writes
/// them (`InlineHookReplace` holds only these three fields).
pub fn replace_body(hook: &Value, secret: &HeaderSecret) -> Value {
    let mut channel = hook["channel"].clone();
    let auth = &mut channel["config"]["authScheme"];
    if !auth.is_object() {
        *auth = json!({});
    }
    auth["type"] = json!("HEADER");
    auth["key"] = json!(secret.key);
    auth["value"] = json!(secret.value);
    json!({
        "name": hook["name"],
        "version": hook["version"].as_str().unwrap_or("1.0.0"),
        "channel": channel,
    })
}

/// A well-formed request of the hook's type, as Okta sends it, for a user who is no one.
fn sample_request(kind: &str, org: &str) -> Value {
    let user = json!({
        "id": "00unl3rotationcheck0",
        "profile": {"login": CHECK_LOGIN, "firstName": "NL3", "lastName": "Rotation check"}
    });
    if kind == SAML_HOOK {
        let app = json!({
            "id": "0oanl3rotationcheck0",
            "name": "nl3_rotation_check",
            "label": "NL3 rotation check",
            "settings": {"signOn": {"ssoAcsUrl": "https://example.invalid/saml/acs"}}
        });
        crate::preview::saml_request(org, &user, &app)
    } else {
        crate::preview::token_request(org, &user, None)
    }
}

/// A new `API_KEY`: 32 random bytes (256 bits) from the system's CSPRNG, base64url without
/// padding (43 printable characters, safe in JSON and in a header).
pub fn new_api_key() -> Result<String, AdminError> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| AdminError::Unexpected("the system's random generator failed".into()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// A new version id for a manual rotation, shaped like the UUIDs Secrets Manager uses.
pub fn new_token() -> Result<String, AdminError> {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b)
        .map_err(|_| AdminError::Unexpected("the system's random generator failed".into()))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// The same error kind with more said (what is left behind).
fn with_more(e: AdminError, more: &str) -> AdminError {
    let add = |m: String| format!("{m}; {more}");
    match e {
        AdminError::Usage(m) => AdminError::Usage(add(m)),
        AdminError::Config(m) => AdminError::Config(add(m)),
        AdminError::Auth(m) => AdminError::Auth(add(m)),
        AdminError::Unreachable(m) => AdminError::Unreachable(add(m)),
        AdminError::RateLimited(m) => AdminError::RateLimited(add(m)),
        AdminError::NotFound(m) => AdminError::NotFound(add(m)),
        AdminError::Unexpected(m) => AdminError::Unexpected(add(m)),
    }
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

fn sm_error<E>(
    what: String,
) -> impl FnOnce(aws_sdk_secretsmanager::error::SdkError<E>) -> AdminError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |e| {
        AdminError::Unexpected(format!(
            "{what}: Secrets Manager answered {}",
            DisplayErrorContext(&e)
        ))
    }
}

/// The steps, against one Secrets Manager and (for setSecret and testSecret) one Okta org.
pub struct Rotation<'a> {
    pub secrets: &'a aws_sdk_secretsmanager::Client,
    pub okta: Option<&'a OktaClient>,
    /// `NL3_HOOK_URL`, normalised ([`crate::normalize_url`]).
    pub hook_url: String,
    /// `API_KEY_HEADER` (default `Authorization`).
    pub header: Option<String>,
}

impl Rotation<'_> {
    /// Version id → staging labels.
    pub async fn versions(
        &self,
        secret_id: &str,
    ) -> Result<HashMap<String, Vec<String>>, AdminError> {
        let described = self
            .secrets
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(sm_error(format!(
                "reading secret {secret_id:?} (DescribeSecret)"
            )))?;
        Ok(described
            .version_ids_to_stages()
            .cloned()
            .unwrap_or_default())
    }

    fn okta(&self) -> Result<&OktaClient, AdminError> {
        self.okta.ok_or_else(|| {
            AdminError::Config("this step needs Okta, and no Okta client was set up".into())
        })
    }

    /// Runs one step; the lines say what it did (no secret in them). Secrets Manager creates
    /// the token's version (empty, AWSPENDING) before it calls createSecret; a manual rotation
    /// has createSecret create it. The other steps need it to be AWSPENDING.
    pub async fn run_step(&self, event: &RotationEvent) -> Result<Vec<String>, AdminError> {
        let RotationEvent {
            step,
            secret_id,
            token,
        } = event;
        let versions = self.versions(secret_id).await?;
        let has = |stages: &[String], label: &str| stages.iter().any(|s| s == label);
        match versions.get(token) {
            Some(stages) if has(stages, CURRENT) => {
                let mut lines = vec![format!(
                    "{}: version {token} is already AWSCURRENT: nothing to do",
                    step.name()
                )];
                if *step == Step::Finish && has(stages, PENDING) {
                    lines.extend(self.drop_pending(secret_id, token).await?);
                }
                return Ok(lines);
            }
            Some(stages) if has(stages, PENDING) => {}
            Some(stages) => {
                return Err(AdminError::Config(format!(
                    "{}: version {token} of secret {secret_id} is not AWSPENDING (its labels: \
                     {stages:?}): another rotation has taken its place; start a new one",
                    step.name()
                )))
            }
            None if *step == Step::Create => {}
            None => {
                return Err(AdminError::NotFound(format!(
                    "{}: ClientRequestToken {token} is not a version of secret {secret_id}, so \
                     this event belongs to no rotation of this secret (createSecret makes that \
                     version)",
                    step.name()
                )))
            }
        }
        match step {
            Step::Create => {
                self.create(secret_id, token, versions.contains_key(token))
                    .await
            }
            Step::Set => self.set(secret_id, token).await,
            Step::Test => self.test().await,
            Step::Finish => self.finish(secret_id, token, &versions).await,
        }
    }

    /// The secret's `AWSCURRENT` JSON object, which must hold `API_KEY`.
    async fn current_fields(&self, secret_id: &str) -> Result<Map<String, Value>, AdminError> {
        let current = self
            .secrets
            .get_secret_value()
            .secret_id(secret_id)
            .version_stage(CURRENT)
            .send()
            .await
            .map_err(sm_error(format!(
                "reading the AWSCURRENT version of secret {secret_id:?}"
            )))?;
        let raw = current.secret_string().unwrap_or("");
        let not_ours = |why: &str| {
            AdminError::Config(format!(
                "the AWSCURRENT version of secret {secret_id:?} {why}: this function rotates the \
                 hook's secret (JSON with API_KEY, SIGNING_KEY, …); check the SecretId"
            ))
        };
        let fields = match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(fields)) => fields,
            _ => return Err(not_ours("is not a JSON object")),
        };
        api_key_from_json(raw).map_err(|_| not_ours("has no API_KEY"))?;
        Ok(fields)
    }

    async fn create(
        &self,
        secret_id: &str,
        token: &str,
        version_exists: bool,
    ) -> Result<Vec<String>, AdminError> {
        let mut fields = self.current_fields(secret_id).await?;
        if version_exists {
            // A retry: the pending version may already hold its value.
            let pending = self
                .secrets
                .get_secret_value()
                .secret_id(secret_id)
                .version_id(token)
                .version_stage(PENDING)
                .send()
                .await;
            match pending {
                Ok(p) if p.secret_string().is_some() => {
                    api_key_from_json(p.secret_string().unwrap_or("")).map_err(|_| {
                        AdminError::Config(format!(
                            "createSecret: version {token} of secret {secret_id} already holds a \
                             value without API_KEY; start a new rotation"
                        ))
                    })?;
                    return Ok(vec![format!(
                        "createSecret: version {token} already holds a new API_KEY (a retry): \
                         nothing new"
                    )]);
                }
                Ok(_) => {}
                // Secrets Manager made the version without a value: the usual case.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) => {}
                Err(e) => {
                    return Err(sm_error(format!(
                        "createSecret: reading version {token} of secret {secret_id:?}"
                    ))(e))
                }
            }
        }
        fields.insert("API_KEY".into(), Value::String(new_api_key()?));
        let text = Value::Object(fields).to_string();
        self.secrets
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(token)
            .secret_string(text)
            .version_stages(PENDING)
            .send()
            .await
            .map_err(sm_error(format!(
                "createSecret: writing version {token} of secret {secret_id:?} (PutSecretValue)"
            )))?;
        Ok(vec![format!(
            "createSecret: version {token} holds a new API_KEY (AWSPENDING), every other field \
             copied from AWSCURRENT"
        )])
    }

    /// The header Okta is to send, from the pending version.
    async fn pending_secret(
        &self,
        secret_id: &str,
        token: &str,
    ) -> Result<HeaderSecret, AdminError> {
        let pending = self
            .secrets
            .get_secret_value()
            .secret_id(secret_id)
            .version_id(token)
            .version_stage(PENDING)
            .send()
            .await
            .map_err(sm_error(format!(
                "reading the AWSPENDING version {token} of secret {secret_id:?} (did createSecret run?)"
            )))?;
        let key = api_key_from_json(pending.secret_string().unwrap_or("")).map_err(|_| {
            AdminError::Config(format!(
                "the AWSPENDING version {token} of secret {secret_id:?} has no API_KEY; start a \
                 new rotation"
            ))
        })?;
        Ok(header_secret(&key, self.header.clone()))
    }

    async fn plan(&self) -> Result<HookPlan, AdminError> {
        Ok(HookPlan::of(
            read_hooks(self.okta()?).await?,
            &self.hook_url,
        ))
    }

    async fn set(&self, secret_id: &str, token: &str) -> Result<Vec<String>, AdminError> {
        let secret = self.pending_secret(secret_id, token).await?;
        self.give_key(&secret, "setSecret", "the new key").await
    }

    /// Every header hook calling the hook's URL gets `secret` (setSecret; a roll-back).
    async fn give_key(
        &self,
        secret: &HeaderSecret,
        step: &str,
        which: &str,
    ) -> Result<Vec<String>, AdminError> {
        let plan = self.plan().await?;
        if plan.header.is_empty() {
            return Err(plan.none_matching(&self.hook_url));
        }
        let mut lines = plan.left_alone_lines();
        let mut done: Vec<String> = Vec::new();
        for hook in &plan.header {
            let path = format!("/api/v1/inlineHooks/{}", segment(&hook.id));
            let what = format!("giving {} {which} (PUT {path})", describe(hook));
            let body = replace_body(&hook.raw, secret);
            if let Err(e) = self
                .okta()?
                .write(Method::PUT, &path, Some(&body), &what)
                .await
            {
                let not_yet: Vec<String> = plan.header[done.len()..].iter().map(describe).collect();
                return Err(with_more(
                    e,
                    &format!(
                        "already given {which}: {}; not yet: {}",
                        if done.is_empty() {
                            "none".into()
                        } else {
                            done.join(", ")
                        },
                        not_yet.join(", ")
                    ),
                ));
            }
            let old_key = hook.raw["channel"]["config"]["authScheme"]["key"].as_str();
            if old_key.is_some_and(|k| !k.eq_ignore_ascii_case(&secret.key)) {
                lines.push(format!(
                    "{step}: {} sent its secret in the {} header; now in {} (API_KEY_HEADER)",
                    describe(hook),
                    old_key.unwrap_or(""),
                    secret.key
                ));
            }
            lines.push(format!("{step}: {} now sends {which}", describe(hook)));
            done.push(describe(hook));
        }
        Ok(lines)
    }

    async fn test(&self) -> Result<Vec<String>, AdminError> {
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
                    describe(hook),
                    hook.status
                ));
                continue;
            }
            let path = format!("/api/v1/inlineHooks/{}/execute", segment(&hook.id));
            let what = format!("Okta calling {} (POST {path})", describe(hook));
            let request = sample_request(&hook.kind, &org);
            match okta.write(Method::POST, &path, Some(&request), &what).await {
                Ok(answer) if answer.get("error").is_none_or(Value::is_null) => lines.push(
                    format!("testSecret: {} accepted Okta's call", describe(hook)),
                ),
                Ok(answer) => failed.push(format!(
                    "{} answered Okta with an error: {:?}",
                    describe(hook),
                    answer["error"]["errorSummary"]
                        .as_str()
                        .unwrap_or("(no errorSummary)")
                )),
                Err(e) => failed.push(e.to_string()),
            }
        }
        if failed.is_empty() {
            Ok(lines)
        } else {
            Err(AdminError::Unexpected(format!(
                "testSecret: {}",
                failed.join("; ")
            )))
        }
    }

    async fn finish(
        &self,
        secret_id: &str,
        token: &str,
        versions: &HashMap<String, Vec<String>>,
    ) -> Result<Vec<String>, AdminError> {
        let current = versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == CURRENT))
            .map(|(id, _)| id.clone());
        let mut call = self
            .secrets
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(CURRENT)
            .move_to_version_id(token);
        if let Some(current) = &current {
            call = call.remove_from_version_id(current);
        }
        call.send().await.map_err(sm_error(format!(
            "finishSecret: moving AWSCURRENT of secret {secret_id:?} to version {token}"
        )))?;
        let mut lines = vec![format!(
            "finishSecret: version {token} is AWSCURRENT; {} is AWSPREVIOUS",
            current.as_deref().unwrap_or("no version")
        )];
        lines.extend(self.drop_pending(secret_id, token).await?);
        Ok(lines)
    }

    /// The rotation is over: `AWSPENDING` leaves the new version (the hook stops reading a
    /// third key; Secrets Manager accepts either state after a rotation).
    async fn drop_pending(&self, secret_id: &str, token: &str) -> Result<Vec<String>, AdminError> {
        self.secrets
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(PENDING)
            .remove_from_version_id(token)
            .send()
            .await
            .map_err(sm_error(format!(
                "finishSecret: removing AWSPENDING from version {token} of secret {secret_id:?}"
            )))?;
        Ok(vec![format!(
            "finishSecret: AWSPENDING removed from version {token}"
        )])
    }
}

/// One invocation of `nl3-okta-rotate`: reads the rotation event (any JSON), runs its step
/// within `remaining` (the invocation's time left), logs what it did or why it failed.
pub async fn handle(
    event: Value,
    remaining: Duration,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    secrets: &aws_sdk_secretsmanager::Client,
) -> Result<Value, AdminError> {
    let event = match RotationEvent::from_json(&event) {
        Ok(event) => event,
        Err(e) => {
            tracing::error!(error = %e, "rotation event refused");
            return Err(e);
        }
    };
    tracing::info!(
        step = event.step.name(),
        secret_id = %event.secret_id,
        version = %event.token,
        remaining_ms = remaining.as_millis() as u64,
        "rotation step started"
    );
    // Leave time to report: the step gives up 2 s before Lambda would end it, and a 429 is
    // waited out only within what remains.
    let budget = remaining.saturating_sub(Duration::from_secs(2));
    let result = tokio::time::timeout(budget, run_function_step(&event, budget, env, secrets))
        .await
        .unwrap_or_else(|_| {
            Err(AdminError::Unexpected(format!(
                "{} did not finish within the function's timeout ({} s left; Okta's rate limit?)",
                event.step.name(),
                budget.as_secs()
            )))
        });
    match result {
        Ok(lines) => {
            for line in &lines {
                tracing::info!(step = event.step.name(), "{line}");
            }
            tracing::info!(step = event.step.name(), version = %event.token, "rotation step done");
            Ok(json!({"step": event.step.name(), "done": lines}))
        }
        Err(e) => {
            let e = with_more(e, &left_behind(event.step, &event.secret_id, &event.token));
            tracing::error!(step = event.step.name(), version = %event.token, error = %e, "rotation step failed");
            Err(e)
        }
    }
}

async fn run_function_step(
    event: &RotationEvent,
    budget: Duration,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    secrets: &aws_sdk_secretsmanager::Client,
) -> Result<Vec<String>, AdminError> {
    let settings = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let hook_url = settings("NL3_HOOK_URL")
        .map(|u| crate::normalize_url(&u))
        .ok_or_else(|| {
            AdminError::Config(
                "NL3_HOOK_URL is not set: the hook URL registered in Okta (the stack's HookUrl)"
                    .into(),
            )
        })?;
    // finishSecret needs only Secrets Manager; the others check the Okta credentials first, so
    // a misconfigured function fails before it changes anything.
    let okta = match event.step {
        Step::Finish => None,
        _ => Some(
            crate::function::okta_client(
                &|name| env(name),
                secrets,
                ROTATE_SCOPES,
                budget.saturating_sub(Duration::from_secs(3)),
            )
            .await?,
        ),
    };
    let rotation = Rotation {
        secrets,
        okta: okta.as_ref(),
        hook_url,
        header: settings("API_KEY_HEADER"),
    };
    rotation.run_step(event).await
}

/// `nl3-okta-admin rotate`: the four steps from a terminal, on the secret `SECRET_ID`. A
/// rotation left pending (a failed one) is resumed; `--dry-run` prints the plan only.
pub async fn run_cli(
    okta: &OktaClient,
    args: &crate::cli::RotateArgs,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<i32, AdminError> {
    let secret_id = env("SECRET_ID")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            AdminError::Config(
                "rotate needs SECRET_ID: the hook's Secrets Manager secret (its ARN or name)"
                    .into(),
            )
        })?;
    let secrets = crate::secret::secrets_manager().await;
    let rotation = Rotation {
        secrets: &secrets,
        okta: Some(okta),
        hook_url: args.hook_url.clone(),
        header: env("API_KEY_HEADER").filter(|h| !h.trim().is_empty()),
    };
    let versions = rotation.versions(&secret_id).await?;
    let in_flight = versions
        .iter()
        .find(|(_, s)| s.iter().any(|l| l == PENDING) && !s.iter().any(|l| l == CURRENT))
        .map(|(id, _)| id.clone());
    if args.roll_back {
        return roll_back(&rotation, &secret_id, in_flight, args).await;
    }
    let plan = rotation.plan().await?;
    println!(
        "Rotation of API_KEY in secret {secret_id}, for the hooks calling {}:",
        args.hook_url
    );
    let token = match in_flight {
        Some(token) => {
            println!("  resuming the rotation in flight: version {token} is AWSPENDING");
            token
        }
        None => {
            let token = new_token()?;
            println!("  new version {token}");
            token
        }
    };
    show_plan(&plan, &args.hook_url, "the new key")?;
    println!("Steps: createSecret, setSecret, testSecret (Okta calls each hook), finishSecret");
    if args.dry_run {
        println!("--dry-run: nothing changed.");
        return Ok(crate::EXIT_OK);
    }
    for step in Step::ALL {
        let event = RotationEvent {
            step,
            secret_id: secret_id.clone(),
            token: token.clone(),
        };
        match rotation.run_step(&event).await {
            Ok(lines) => lines.iter().for_each(|l| println!("  {l}")),
            Err(e) => return Err(with_more(e, &left_behind(step, &secret_id, &token))),
        }
    }
    println!("Done: version {token} is AWSCURRENT and Okta sends its key.");
    Ok(crate::EXIT_OK)
}

/// Prints which hooks get `what` and which are left alone; an error when no hook matches.
fn show_plan(plan: &HookPlan, hook_url: &str, what: &str) -> Result<(), AdminError> {
    for hook in &plan.header {
        println!("  {} gets {what}", describe(hook));
    }
    for line in plan.left_alone_lines() {
        println!("  {line}");
    }
    if plan.header.is_empty() {
        return Err(plan.none_matching(hook_url));
    }
    Ok(())
}

/// `rotate --roll-back`: gives every header hook AWSCURRENT's key again, has Okta call each,
/// then takes AWSPENDING off the version in flight (in this order, so that no sign-in is
/// refused on the way back).
async fn roll_back(
    rotation: &Rotation<'_>,
    secret_id: &str,
    in_flight: Option<String>,
    args: &crate::cli::RotateArgs,
) -> Result<i32, AdminError> {
    let token = in_flight.ok_or_else(|| {
        AdminError::Usage(format!(
            "no rotation of secret {secret_id} is in flight (no version is AWSPENDING without \
             being AWSCURRENT): nothing to roll back"
        ))
    })?;
    let fields = rotation.current_fields(secret_id).await?;
    let key = api_key_from_json(&Value::Object(fields).to_string())?;
    let secret = header_secret(&key, rotation.header.clone());
    let plan = rotation.plan().await?;
    println!(
        "Roll-back of the rotation in flight in secret {secret_id} (version {token}), for the \
         hooks calling {}:",
        args.hook_url
    );
    show_plan(&plan, &args.hook_url, "AWSCURRENT's key again")?;
    println!("Then Okta calls each hook, and AWSPENDING leaves version {token}.");
    if args.dry_run {
        println!("--dry-run: nothing changed.");
        return Ok(crate::EXIT_OK);
    }
    let left = format!(
        "version {token} stays AWSPENDING and the hook accepts its key and AWSCURRENT's; run \
         `nl3-okta-admin rotate --roll-back` again"
    );
    let mut lines = rotation
        .give_key(&secret, "roll-back", "AWSCURRENT's key")
        .await
        .map_err(|e| with_more(e, &left))?;
    lines.extend(rotation.test().await.map_err(|e| with_more(e, &left))?);
    lines.extend(rotation.drop_pending(secret_id, &token).await?);
    lines.iter().for_each(|l| println!("  {l}"));
    println!("Rolled back: Okta sends AWSCURRENT's key; version {token} is no longer pending.");
    Ok(crate::EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(id: &str, kind: &str, uri: &str, channel_type: &str, auth: Option<&str>) -> Hook {
        let mut config = json!({"uri": uri, "method": "POST", "headers": [{"key": "X-Tenant", "value": "acme"}]});
        if let Some(auth) = auth {
            config["authScheme"] = json!({"type": auth, "key": "Authorization"});
        }
        Hook::from_json(json!({
            "id": id, "name": format!("hook {id}"), "type": kind, "status": "ACTIVE",
            "version": "1.0.0",
            "channel": {"type": channel_type, "version": "1.0.0", "config": config}
        }))
    }

    #[test]
    fn reads_the_rotation_event_and_names_what_is_wrong() {
        let e = RotationEvent::from_json(&json!({
            "Step": "setSecret", "SecretId": "arn:x", "ClientRequestToken": "t-1"
        }))
        .unwrap();
        assert_eq!(
            (e.step, e.secret_id.as_str(), e.token.as_str()),
            (Step::Set, "arn:x", "t-1")
        );
        for (event, says) in [
            (json!([1]), "not a JSON object"),
            (
                json!({"SecretId": "s", "ClientRequestToken": "t"}),
                "no Step",
            ),
            (
                json!({"Step": "rotate", "SecretId": "s", "ClientRequestToken": "t"}),
                "unknown Step",
            ),
            (
                json!({"Step": "testSecret", "ClientRequestToken": "t"}),
                "no SecretId",
            ),
            (
                json!({"Step": "testSecret", "SecretId": "s", "ClientRequestToken": 7}),
                "ClientRequestToken is not",
            ),
        ] {
            let err = RotationEvent::from_json(&event).unwrap_err().to_string();
            assert!(err.contains(says), "{event}: {err}");
        }
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
        );
        let ids: Vec<&str> = plan.header.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["t", "s"]);
        let left: Vec<&str> = plan.left_alone.iter().map(|(h, _)| h.id.as_str()).collect();
        assert_eq!(left, ["o", "n", "r"]);
        assert!(plan.left_alone[0].1.contains("OAuth 2.0"));
        let none = HookPlan::of(vec![hook("o", TOKEN_HOOK, url, "OAUTH", None)], url);
        let err = none.none_matching(url).to_string();
        assert!(
            err.contains("no token or SAML inline hook") && err.contains("hook o"),
            "{err}"
        );
    }

    #[test]
    fn the_put_keeps_the_hook_and_replaces_only_the_secret() {
        let h = hook("t", TOKEN_HOOK, "https://h/x", "HTTP", Some("HEADER"));
        let body = replace_body(&h.raw, &header_secret("k3y", None));
        assert_eq!(body["name"], "hook t");
        assert_eq!(body["version"], "1.0.0");
        let config = &body["channel"]["config"];
        assert_eq!(config["uri"], "https://h/x");
        assert_eq!(config["headers"], h.raw["channel"]["config"]["headers"]);
        assert_eq!(
            config["authScheme"],
            json!({"type": "HEADER", "key": "Authorization", "value": "azN5"})
        );
        let custom = replace_body(&h.raw, &header_secret("k3y", Some("X-NL3-Key".into())));
        assert_eq!(
            custom["channel"]["config"]["authScheme"]["key"],
            "X-NL3-Key"
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
        let t = new_token().unwrap();
        assert_eq!(t.len(), 36);
        assert_ne!(t, new_token().unwrap());
    }
}

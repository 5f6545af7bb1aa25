//! The rotation of the hook's secret (`nl3-okta-rotate`, `nl3-okta-admin rotate`) against a real
//! Secrets Manager API (moto: versions and staging labels) and the Okta stand-in, whose
//! `execute` calls the built hook binary under the emulator with the header Okta holds. The
//! rotation function is the built `nl3-okta-rotate` binary under a second emulator, driven with
//! the events Secrets Manager sends; sign-ins go to the hook with the header Okta holds at that
//! moment, during every step.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use nl3_testkit::emulator::{Emulator, Lines};
use nl3_testkit::hook_requests::{saml_event, token_event, with_user};
use nl3_testkit::moto::Moto;
use nl3_testkit::okta::fixtures::{hook, SAML, TOKEN};
use nl3_testkit::okta::{empty_seed, seed, Org};
use nl3_testkit::upstreams::{secret_json, Upstreams};
use nl3_testkit::{b64, free_port, now_s};

use crate::cli::{admin, admin_bin};
use crate::hook::{emulated_hook, hook_env};

const SECRET_ID: &str = "nl3/okta-hook";
const OKTA_SECRET_ID: &str = "nl3/okta-admin-credentials";
const OLD_KEY: &str = "key-before-rotation-5b1e";
const TOKEN_HOOK_ID: &str = "calTOKENROT001";
const SAML_HOOK_ID: &str = "calSAMLROT0001";
const OAUTH_HOOK_ID: &str = "calOAUTHROT001";
const INACTIVE_HOOK_ID: &str = "calTOKENOFF001";
const USER: &str = "someone@example.com";

/// The hook's secret: the three fields and one more the rotation must copy unchanged.
fn hook_secret(api_key: &str) -> String {
    let mut v: Value = serde_json::from_str(&secret_json(api_key)).unwrap();
    v["APPS"] = json!({});
    v.to_string()
}

fn aws_env(moto: &Moto) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", moto.url.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A built binary of the admin crate attached to its own Lambda emulator.
struct Function {
    emulator: Emulator,
    logs: Lines,
}

impl Function {
    async fn start(binary: &str, env: Vec<(String, String)>) -> Function {
        let emulator = Emulator::start_binary(admin_bin(binary), env).await;
        let logs = emulator.function_logs.clone();
        Function { emulator, logs }
    }

    /// Invokes the function as Secrets Manager does: its answer, or the error it reported.
    async fn invoke(&self, event: &Value) -> Result<Value, String> {
        let (status, body) = self.emulator.invoke_api(event).await;
        if (200..300).contains(&status) && body.get("errorMessage").is_none() {
            Ok(body)
        } else {
            Err(body["errorMessage"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| format!("{status}: {body}")))
        }
    }

    async fn step(&self, step: &str, token: &str) -> Result<Value, String> {
        self.invoke(&json!({"Step": step, "SecretId": SECRET_ID, "ClientRequestToken": token}))
            .await
    }
}

/// Everything a rotation touches: Secrets Manager, NL3, the hook under the emulator, Okta.
struct World {
    moto: Moto,
    up: Upstreams,
    hook: Arc<Emulator>,
    org: Arc<Org>,
    hook_url: String,
}

impl World {
    /// What a hook that reads the secret afresh (with `settings` over the stand-ins', reading
    /// moto's Secrets Manager) decides for a sign-in that presents `key`: the name of its
    /// decision (`debugContext.decision`: "allowed", "forbidden" …). A built hook of its own,
    /// under an emulator of its own, answers this one sign-in.
    async fn fresh_hook_says(&self, settings: &[(&str, &str)], key: &str) -> String {
        let mut env = hook_env(self.up.env(), settings);
        env.extend(aws_env(&self.moto));
        let hook = emulated_hook(env).await;
        let event = with_user(token_event(), USER);
        let (status, answer) = hook.post_function_url(&b64(key), &event.to_string()).await;
        let debug = &answer["debugContext"];
        let decision = debug["decision"]
            .as_str()
            .unwrap_or_else(|| panic!("no decision in the hook's answer ({status}): {answer}"));
        eprintln!("fresh hook, {settings:?}: {decision} ({})", debug["reason"]);
        decision.to_string()
    }
}

/// Okta's token and SAML hooks calling the emulated hook (header secret, and the gateway key as
/// a custom header, which the PUT must keep), and an OAuth 2.0 hook on the same URL.
async fn world(with_oauth_app: bool) -> World {
    world_with(with_oauth_app, "Authorization", &[]).await
}

/// [`world`], the secret in `header` (the hook function's API_KEY_HEADER and what Okta's hooks
/// send it in), the hook function's environment with `hook_settings` over it.
async fn world_with(with_oauth_app: bool, header: &str, hook_settings: &[(&str, &str)]) -> World {
    let moto = Moto::start(0).await;
    let sm = moto.client();
    sm.create_secret()
        .name(SECRET_ID)
        .secret_string(hook_secret(OLD_KEY))
        .send()
        .await
        .unwrap();
    let up = Upstreams::start().await;
    let mut env = up.env();
    env.retain(|(k, _)| !matches!(k.as_str(), "API_KEY" | "SIGNING_KEY" | "IPINFO_TOKEN"));
    env.extend(aws_env(&moto));
    env.push(("SECRET_ID".into(), SECRET_ID.into()));
    // Long enough that only a key mismatch makes the hook read the secret again.
    env.push(("SECRET_TTL_SECONDS".into(), "900".into()));
    env.push(("API_KEY_HEADER".into(), header.into()));
    let hook_fn = emulated_hook(hook_env(env, hook_settings)).await;
    let hook_url = hook_fn.function_url("/okta/hook");

    let mut s = empty_seed();
    let headers = json!([{"key": "x-api-key", "value": "gateway-key-for-okta"}]);
    for (id, name, kind, status) in [
        (TOKEN_HOOK_ID, "NL3 (token)", TOKEN, "ACTIVE"),
        (SAML_HOOK_ID, "NL3 (SAML)", SAML, "ACTIVE"),
        // Switched off: it gets the new key, but Okta calls only active hooks.
        (INACTIVE_HOOK_ID, "NL3 (token, off)", TOKEN, "INACTIVE"),
    ] {
        let mut h = hook(id, name, kind, status, &hook_url);
        h["channel"]["config"]["headers"] = headers.clone();
        h["channel"]["config"]["authScheme"]["key"] = json!(header);
        h["_secret"] = json!(b64(OLD_KEY));
        s["hooks"].as_array_mut().unwrap().push(h);
    }
    let mut oauth = hook(
        OAUTH_HOOK_ID,
        "NL3 (token, OAuth)",
        TOKEN,
        "ACTIVE",
        &hook_url,
    );
    oauth["channel"] = json!({"type": "OAUTH", "version": "1.0.0", "config": {
        "uri": hook_url, "method": "POST", "headers": [], "authType": "client_secret_post",
        "clientId": "0oaHOOKCLIENT01", "scope": "nl3.hook",
        "tokenUrl": "https://acme.okta.com/oauth2/default/v1/token"}});
    oauth.as_object_mut().unwrap().remove("_secret");
    s["hooks"].as_array_mut().unwrap().push(oauth);
    if with_oauth_app {
        s["oauth"] = json!(true);
    }
    let org = seed(s).await;
    World {
        moto,
        up,
        hook: Arc::new(hook_fn),
        org: Arc::new(org),
        hook_url,
    }
}

impl World {
    /// The rotation function's environment: its Okta credentials in a secret of their own.
    async fn function_env(&self, okta_credentials: Value) -> Vec<(String, String)> {
        let sm = self.moto.client();
        let _ = sm
            .delete_secret()
            .secret_id(OKTA_SECRET_ID)
            .force_delete_without_recovery(true)
            .send()
            .await;
        sm.create_secret()
            .name(OKTA_SECRET_ID)
            .secret_string(okta_credentials.to_string())
            .send()
            .await
            .unwrap();
        let mut env = aws_env(&self.moto);
        env.extend(
            [
                ("OKTA_ORG_URL", self.org.base.as_str()),
                ("OKTA_SECRET_ID", OKTA_SECRET_ID),
                ("NL3_HOOK_URL", self.hook_url.as_str()),
                ("NL3_LOG", "trace"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        env
    }

    async fn rotation_function(&self) -> Function {
        let env = self
            .function_env(json!({"OKTA_API_TOKEN": self.org.token}))
            .await;
        Function::start("nl3-okta-rotate", env).await
    }

    /// A new rotation's token. (Secrets Manager would also create an empty AWSPENDING version
    /// under it; moto's RotateSecret without a Lambda moves AWSCURRENT there instead, so the
    /// tests let createSecret create the version, as a manual rotation does.)
    fn start_rotation(&self) -> String {
        format!("{:032x}", rand_u128())
    }

    /// Version id → labels.
    async fn versions(&self) -> std::collections::HashMap<String, Vec<String>> {
        self.moto
            .client()
            .describe_secret()
            .secret_id(SECRET_ID)
            .send()
            .await
            .unwrap()
            .version_ids_to_stages()
            .cloned()
            .unwrap_or_default()
    }

    async fn value(&self, stage: &str) -> Option<Value> {
        let got = self
            .moto
            .client()
            .get_secret_value()
            .secret_id(SECRET_ID)
            .version_stage(stage)
            .send()
            .await
            .ok()?;
        serde_json::from_str(got.secret_string()?).ok()
    }

    async fn key(&self, stage: &str) -> Option<String> {
        Some(self.value(stage).await?["API_KEY"].as_str()?.to_string())
    }

    /// The header value Okta holds for `hook_id`.
    async fn okta_holds(&self, hook_id: &str) -> String {
        self.org.state().await["hookSecrets"][hook_id]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn faults(&self, faults: Value) {
        reqwest::Client::new()
            .post(format!(
                "{}/__control/orgs/{}/faults",
                self.org.base, self.org.id
            ))
            .json(&faults)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }
}

fn rand_u128() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(now_s());
    let a = h.finish();
    h.write_u8(1);
    (u128::from(a) << 64) | u128::from(h.finish())
}

/// Sign-ins as Okta makes them: through each header hook, with the header Okta holds now.
#[derive(Default)]
struct SignIns {
    made: AtomicU64,
    refused: AtomicU64,
}

impl SignIns {
    /// One sign-in through each of the two header hooks; false if one was refused.
    async fn once(&self, hook: &Emulator, org: &Org) -> bool {
        let state = org.state().await;
        let mut all_passed = true;
        for (id, event) in [
            (TOKEN_HOOK_ID, with_user(token_event(), USER)),
            (SAML_HOOK_ID, with_user(saml_event(), USER)),
        ] {
            let header = state["hookSecrets"][id].as_str().unwrap_or_default();
            let (status, body) = hook.post_function_url(header, &event.to_string()).await;
            self.made.fetch_add(1, Ordering::Relaxed);
            if status != 200 || body.get("error").is_some() {
                self.refused.fetch_add(1, Ordering::Relaxed);
                eprintln!("REFUSED sign-in through {id}: {status} {body}");
                all_passed = false;
            }
        }
        all_passed
    }

    fn figures(&self) -> (u64, u64) {
        (
            self.made.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed),
        )
    }
}

/// Sign-ins in a loop until stopped, beside whatever the test does.
fn sign_in_meanwhile(
    w: &World,
    counts: Arc<SignIns>,
) -> (Arc<AtomicBool>, tokio::task::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let (hook, org, flag) = (w.hook.clone(), w.org.clone(), stop.clone());
    let task = tokio::spawn(async move {
        while !flag.load(Ordering::Relaxed) {
            counts.once(&hook, &org).await;
        }
    });
    (stop, task)
}

/// The hook objects as Okta keeps them, without what a PUT changes (the secret, lastUpdated).
fn hooks_without_secrets(state: &Value) -> Vec<Value> {
    let mut hooks = state["hooks"].as_array().unwrap().clone();
    for h in &mut hooks {
        h.as_object_mut().unwrap().remove("lastUpdated");
        if let Some(auth) = h["channel"]["config"]["authScheme"].as_object_mut() {
            auth.remove("value");
        }
    }
    hooks
}

fn assert_no_secret_in(logs: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(s.len() > 8, "a real secret to look for");
        assert!(!logs.contains(s), "a secret ({}…) reached the log", &s[..4]);
    }
}

#[tokio::test]
async fn a_whole_rotation_refuses_no_sign_in_and_changes_what_okta_sends() {
    // The service-app route (private_key_jwt, scopes okta.inlineHooks.read + manage).
    let w = world(true).await;
    let client_id = w.org.client_id.clone().unwrap();
    let private_key = w.org.private_key_pem.clone().unwrap();
    let env = w
        .function_env(json!({"OKTA_CLIENT_ID": client_id, "OKTA_PRIVATE_KEY": private_key}))
        .await;
    let rotate = Function::start("nl3-okta-rotate", env).await;
    let before = w.org.state().await;

    let counts = Arc::new(SignIns::default());
    assert!(counts.once(&w.hook, &w.org).await, "sign-ins pass before");
    let (stop, background) = sign_in_meanwhile(&w, counts.clone());
    let token = w.start_rotation();
    assert!(counts.once(&w.hook, &w.org).await);
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        let done = rotate.step(step, &token).await;
        assert!(
            done.is_ok(),
            "{step}: {done:?}\n{:#?}",
            rotate.logs.snapshot()
        );
        // Right after each step, through both hooks, with what Okta holds now.
        assert!(
            counts.once(&w.hook, &w.org).await,
            "a sign-in refused after {step}"
        );
        if step == "setSecret" {
            // Okta sends the pending key while AWSCURRENT still holds the old one.
            assert_eq!(w.key("AWSCURRENT").await.as_deref(), Some(OLD_KEY));
            let pending = w.key("AWSPENDING").await.unwrap();
            assert_eq!(w.okta_holds(TOKEN_HOOK_ID).await, b64(&pending));
        }
    }
    stop.store(true, Ordering::Relaxed);
    background.await.unwrap();
    let (made, refused) = counts.figures();
    eprintln!("ROTATION-SIGN-INS | made {made} | refused {refused}");
    assert_eq!(refused, 0);

    // The key Okta sends and the key the hook holds changed together.
    let new_key = w.key("AWSCURRENT").await.unwrap();
    assert_ne!(new_key, OLD_KEY);
    assert!(new_key.len() >= 43, "32 bytes of entropy, printable");
    assert_eq!(w.key("AWSPREVIOUS").await.as_deref(), Some(OLD_KEY));
    assert!(
        w.value("AWSPENDING").await.is_none(),
        "no rotation in flight"
    );
    let mut copied = w.value("AWSCURRENT").await.unwrap();
    copied["API_KEY"] = json!(OLD_KEY);
    assert_eq!(
        copied,
        serde_json::from_str::<Value>(&hook_secret(OLD_KEY)).unwrap()
    );
    for id in [TOKEN_HOOK_ID, SAML_HOOK_ID] {
        assert_eq!(w.okta_holds(id).await, b64(&new_key), "{id}");
    }
    // The hooks are otherwise as they were (name, URI, method, the gateway key header); the
    // OAuth hook was not touched, and the function's log names it.
    let after = w.org.assert_clean().await;
    assert_eq!(
        hooks_without_secrets(&after),
        hooks_without_secrets(&before)
    );
    assert!(after["hookSecrets"].get(OAUTH_HOOK_ID).is_none());
    let writes = w.org.writes().await;
    assert!(
        !writes.iter().any(|r| r.contains(OAUTH_HOOK_ID)),
        "{writes:#?}"
    );
    for id in [TOKEN_HOOK_ID, SAML_HOOK_ID] {
        assert!(
            writes.contains(&format!("PUT /api/v1/inlineHooks/{id}? -> 200")),
            "{writes:#?}"
        );
        assert!(
            writes.contains(&format!("POST /api/v1/inlineHooks/{id}/execute? -> 200")),
            "{writes:#?}"
        );
    }
    let logs = rotate.logs.snapshot().join("\n");
    assert!(
        logs.contains(OAUTH_HOOK_ID) && logs.contains("left alone"),
        "{logs}"
    );
    // The old key keeps working within API_KEY_GRACE_SECONDS.
    let (status, body) = w
        .hook
        .post_function_url(&b64(OLD_KEY), &with_user(token_event(), USER).to_string())
        .await;
    assert!(status == 200 && body.get("error").is_none(), "{body}");
    // A hook that reads the secret afresh takes the new key as AWSCURRENT: with no grace for
    // AWSPREVIOUS, the old key is refused.
    let strict = [("SECRET_ID", SECRET_ID), ("API_KEY_GRACE_SECONDS", "0")];
    assert_eq!(w.fresh_hook_says(&strict, &new_key).await, "allowed");
    assert_eq!(w.fresh_hook_says(&strict, OLD_KEY).await, "forbidden");
    // At TRACE, no key, no private key in the rotation function's log.
    let pem_body: String = private_key.lines().nth(1).unwrap().to_string();
    assert_no_secret_in(
        &logs,
        &[OLD_KEY, &b64(OLD_KEY), &new_key, &b64(&new_key), &pem_body],
    );
    assert!(
        !logs.contains("Bearer ") && !logs.contains("client_assertion"),
        "{logs}"
    );
    assert!(logs.contains("rotation step done"), "{logs}");
    // The capture is at TRACE indeed: the client's DEBUG lines are there.
    assert!(logs.contains("okta call"), "{logs}");
}

#[tokio::test]
async fn every_step_retried_does_nothing_more() {
    let w = world(false).await;
    let rotate = w.rotation_function().await;
    let token = w.start_rotation();
    rotate.step("createSecret", &token).await.unwrap();
    let pending = w.key("AWSPENDING").await.unwrap();
    let answer = rotate.step("createSecret", &token).await.unwrap();
    assert_eq!(w.key("AWSPENDING").await.unwrap(), pending, "no second key");
    assert!(answer.to_string().contains("a retry"), "{answer}");
    for step in ["setSecret", "setSecret", "testSecret", "testSecret"] {
        rotate.step(step, &token).await.unwrap();
        assert_eq!(w.okta_holds(TOKEN_HOOK_ID).await, b64(&pending), "{step}");
        assert_eq!(
            w.key("AWSCURRENT").await.as_deref(),
            Some(OLD_KEY),
            "{step}"
        );
    }
    for _ in 0..2 {
        rotate.step("finishSecret", &token).await.unwrap();
        assert_eq!(w.key("AWSCURRENT").await.unwrap(), pending);
        assert_eq!(w.key("AWSPREVIOUS").await.as_deref(), Some(OLD_KEY));
    }
    // Every step again after the end: the version is AWSCURRENT, nothing to do.
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        let answer = rotate.step(step, &token).await.unwrap();
        assert!(
            answer.to_string().contains("already AWSCURRENT"),
            "{step}: {answer}"
        );
    }
    assert_eq!(w.key("AWSCURRENT").await.unwrap(), pending);
    assert_eq!(w.versions().await.len(), 2);
    let state = w.org.assert_clean().await;
    let puts = state["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.as_str().unwrap().starts_with("PUT "))
        .count();
    assert_eq!(puts, 6, "two setSecret runs, three header hooks each");
    assert_no_secret_in(
        &rotate.logs.snapshot().join("\n"),
        &[
            OLD_KEY,
            &b64(OLD_KEY),
            &pending,
            &b64(&pending),
            &w.org.token,
        ],
    );
}

#[tokio::test]
async fn a_failure_at_each_step_leaves_the_old_key_working_and_says_what_is_left() {
    let w = world(false).await;
    let rotate = w.rotation_function().await;
    let counts = SignIns::default();

    // A step whose token is no version of the secret; nothing changes.
    let err = rotate
        .step("setSecret", "not-a-version-0000000000000000000")
        .await
        .unwrap_err();
    assert!(
        err.contains("not-a-version-0000000000000000000")
            && err.contains("is not a version of secret"),
        "{err}"
    );
    assert_eq!(w.versions().await.len(), 1);
    assert!(w.org.writes().await.is_empty());
    // A malformed event gets a reason, not a deserialization failure.
    for (event, says) in [
        (json!([]), "not a JSON object"),
        (
            json!({"Step": 4, "SecretId": SECRET_ID, "ClientRequestToken": "t"}),
            "Step is not",
        ),
        (
            json!({"Step": "rotateSecret", "SecretId": SECRET_ID, "ClientRequestToken": "t"}),
            "unknown Step",
        ),
    ] {
        let err = rotate.invoke(&event).await.unwrap_err();
        assert!(err.contains(says), "{event}: {err}");
    }

    // setSecret: Okta refuses the SAML hook's update after the token hook's went through.
    let token = w.start_rotation();
    rotate.step("createSecret", &token).await.unwrap();
    let pending = w.key("AWSPENDING").await.unwrap();
    w.faults(json!([{"method": "PUT", "pathContains": SAML_HOOK_ID, "status": 500}]))
        .await;
    let err = rotate.step("setSecret", &token).await.unwrap_err();
    assert!(
        err.contains("already given the new key: token hook") && err.contains(SAML_HOOK_ID),
        "{err}"
    );
    assert!(
        err.contains("AWSCURRENT of nl3/okta-hook is unchanged"),
        "{err}"
    );
    assert_eq!(w.okta_holds(TOKEN_HOOK_ID).await, b64(&pending));
    assert_eq!(w.okta_holds(SAML_HOOK_ID).await, b64(OLD_KEY));
    assert!(
        counts.once(&w.hook, &w.org).await,
        "both keys work meanwhile"
    );
    w.faults(json!([])).await;

    // setSecret: Okta unreachable; the step fails and says so.
    let mut env = w.function_env(json!({"OKTA_API_TOKEN": w.org.token})).await;
    env.retain(|(k, _)| k != "OKTA_ORG_URL");
    env.push((
        "OKTA_ORG_URL".into(),
        format!("http://127.0.0.1:{}", free_port()),
    ));
    let unreachable = Function::start("nl3-okta-rotate", env).await;
    let err = unreachable.step("setSecret", &token).await.unwrap_err();
    assert!(err.contains("could not connect"), "{err}");

    // The retry completes setSecret.
    rotate.step("setSecret", &token).await.unwrap();
    assert_eq!(w.okta_holds(SAML_HOOK_ID).await, b64(&pending));
    assert!(counts.once(&w.hook, &w.org).await);

    // testSecret: Okta's execute call fails; AWSCURRENT stays where it was.
    w.faults(json!([{"method": "POST", "pathContains": "/execute", "status": 400,
                     "errorSummary": "Api validation failed: the inline hook call failed", "times": 1}]))
        .await;
    let err = rotate.step("testSecret", &token).await.unwrap_err();
    assert!(
        err.contains("inline hook call failed")
            && err.contains("AWSCURRENT of nl3/okta-hook is unchanged"),
        "{err}"
    );
    assert_eq!(w.key("AWSCURRENT").await.as_deref(), Some(OLD_KEY));
    assert_eq!(w.key("AWSPENDING").await.unwrap(), pending);
    assert!(
        counts.once(&w.hook, &w.org).await,
        "the pending key works while pending"
    );

    // finishSecret with a token that is no version of the secret changes nothing.
    let err = rotate
        .step("finishSecret", "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0")
        .await
        .unwrap_err();
    assert!(err.contains("is not a version of secret"), "{err}");
    assert_eq!(w.key("AWSCURRENT").await.as_deref(), Some(OLD_KEY));

    // Finishing by hand: `nl3-okta-admin rotate` resumes the rotation in flight.
    let mut env = w.org.env();
    env.extend(aws_env(&w.moto));
    env.push(("SECRET_ID".into(), SECRET_ID.into()));
    env.push(("NL3_HOOK_URL".into(), w.hook_url.clone()));
    let run = admin(&["rotate"], &env).await;
    run.exits(0).says(&[
        &format!("resuming the rotation in flight: version {token}"),
        "Done",
    ]);
    assert_eq!(w.key("AWSCURRENT").await.unwrap(), pending);
    assert!(counts.once(&w.hook, &w.org).await);
    let (made, refused) = counts.figures();
    assert_eq!(refused, 0, "{made} sign-ins");
    w.org.assert_clean().await;

    // A secret without API_KEY is not the hook's: createSecret says so, and creates nothing.
    w.moto
        .client()
        .create_secret()
        .name("nl3/not-the-hook")
        .secret_string(r#"{"SIGNING_KEY":"c2s="}"#)
        .send()
        .await
        .unwrap();
    let err = rotate
        .invoke(
            &json!({"Step": "createSecret", "SecretId": "nl3/not-the-hook",
                        "ClientRequestToken": w.start_rotation()}),
        )
        .await
        .unwrap_err();
    assert!(err.contains("has no API_KEY"), "{err}");
    assert_no_secret_in(
        &rotate.logs.snapshot().join("\n"),
        &[
            OLD_KEY,
            &b64(OLD_KEY),
            &pending,
            &b64(&pending),
            &w.org.token,
        ],
    );
}

#[tokio::test]
async fn no_header_hook_on_the_url_fails_set_secret_and_names_the_oauth_one() {
    let w = world(false).await;
    let mut env = w.function_env(json!({"OKTA_API_TOKEN": w.org.token})).await;
    // A URL that only hooks elsewhere would call.
    env.retain(|(k, _)| k != "NL3_HOOK_URL");
    let elsewhere = "https://hooks.example.com/okta/hook";
    env.push(("NL3_HOOK_URL".into(), elsewhere.into()));
    let rotate = Function::start("nl3-okta-rotate", env).await;
    let token = w.start_rotation();
    rotate.step("createSecret", &token).await.unwrap();
    let err = rotate.step("setSecret", &token).await.unwrap_err();
    assert!(
        err.contains(
            "no token or SAML inline hook in Okta calls https://hooks.example.com/okta/hook"
        ),
        "{err}"
    );
    assert_eq!(w.okta_holds(TOKEN_HOOK_ID).await, b64(OLD_KEY));
    assert!(w.org.writes().await.is_empty());
}

#[tokio::test]
async fn cli_rotate_shows_the_plan_then_rotates_both_hooks() {
    let w = world(false).await;
    let mut env = w.org.env();
    env.extend(aws_env(&w.moto));
    env.push(("SECRET_ID".into(), SECRET_ID.into()));
    let hook_url = w.hook_url.clone();
    let dry = admin(&["rotate", "--hook-url", &hook_url, "--dry-run"], &env).await;
    dry.exits(0).says(&[
        &format!("token hook \"NL3 (token)\" ({TOKEN_HOOK_ID}) gets the new key"),
        &format!("SAML hook \"NL3 (SAML)\" ({SAML_HOOK_ID}) gets the new key"),
        &format!("left alone: token hook \"NL3 (token, OAuth)\" ({OAUTH_HOOK_ID}): authenticates with OAuth 2.0"),
        "--dry-run: nothing changed.",
    ]);
    assert!(w.org.writes().await.is_empty());
    assert_eq!(w.versions().await.len(), 1);

    let counts = SignIns::default();
    let run = admin(&["rotate", "--hook-url", &hook_url], &env).await;
    run.exits(0).says(&[
        "createSecret",
        "setSecret",
        "testSecret",
        "finishSecret",
        "Done",
    ]);
    let new_key = w.key("AWSCURRENT").await.unwrap();
    assert_ne!(new_key, OLD_KEY);
    for id in [TOKEN_HOOK_ID, SAML_HOOK_ID] {
        assert_eq!(w.okta_holds(id).await, b64(&new_key));
    }
    assert!(counts.once(&w.hook, &w.org).await);
    assert!(!run.stdout.contains(&new_key) && !run.stdout.contains(&b64(&new_key)));

    // Without SECRET_ID, a clear usage error.
    env.retain(|(k, _)| k != "SECRET_ID");
    admin(&["rotate", "--hook-url", &hook_url], &env)
        .await
        .exits(2)
        .complains(&["rotate needs SECRET_ID"]);
    w.org.assert_clean().await;
}

#[tokio::test]
async fn a_failed_rotation_is_rolled_back_with_no_refused_sign_in() {
    let w = world(false).await;
    let rotate = w.rotation_function().await;
    let counts = Arc::new(SignIns::default());
    let (stop, background) = sign_in_meanwhile(&w, counts.clone());
    let token = w.start_rotation();
    rotate.step("createSecret", &token).await.unwrap();
    rotate.step("setSecret", &token).await.unwrap();
    let pending = w.key("AWSPENDING").await.unwrap();
    w.faults(json!([{"method": "POST", "pathContains": "/execute", "status": 400, "times": 1}]))
        .await;
    rotate.step("testSecret", &token).await.unwrap_err();

    let mut env = w.org.env();
    env.extend(aws_env(&w.moto));
    env.push(("SECRET_ID".into(), SECRET_ID.into()));
    env.push(("NL3_HOOK_URL".into(), w.hook_url.clone()));
    admin(&["rotate", "--roll-back", "--dry-run"], &env)
        .await
        .exits(0)
        .says(&[
            &format!("version {token}"),
            "gets AWSCURRENT's key again",
            "--dry-run",
        ]);
    assert_eq!(w.okta_holds(SAML_HOOK_ID).await, b64(&pending));
    admin(&["rotate", "--roll-back"], &env)
        .await
        .exits(0)
        .says(&["Rolled back"]);
    stop.store(true, Ordering::Relaxed);
    background.await.unwrap();
    let (made, refused) = counts.figures();
    eprintln!("ROLL-BACK-SIGN-INS | made {made} | refused {refused}");
    assert_eq!(refused, 0);

    for id in [TOKEN_HOOK_ID, SAML_HOOK_ID] {
        assert_eq!(w.okta_holds(id).await, b64(OLD_KEY), "{id}");
    }
    assert_eq!(w.key("AWSCURRENT").await.as_deref(), Some(OLD_KEY));
    assert!(w.value("AWSPENDING").await.is_none());
    // A hook reading the secret afresh no longer takes the abandoned key.
    assert_eq!(
        w.fresh_hook_says(&[("SECRET_ID", SECRET_ID)], &pending)
            .await,
        "forbidden"
    );
    // Nothing to roll back any more.
    admin(&["rotate", "--roll-back"], &env)
        .await
        .exits(2)
        .complains(&["nothing to roll back"]);
    w.org.assert_clean().await;
}

/// The header each NL3 hook sends its secret in, as Okta holds it.
async fn headers_okta_sends(w: &World) -> Vec<String> {
    let state = w.org.state().await;
    [TOKEN_HOOK_ID, SAML_HOOK_ID, INACTIVE_HOOK_ID]
        .iter()
        .map(|id| {
            let hook = state["hooks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|h| h["id"] == *id)
                .unwrap();
            hook["channel"]["config"]["authScheme"]["key"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// The CLI's environment for `rotate` on this world.
fn cli_env(w: &World, more: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = aws_env(&w.moto);
    env.extend(w.org.env());
    env.push(("SECRET_ID".into(), SECRET_ID.into()));
    env.push(("NL3_HOOK_URL".into(), w.hook_url.clone()));
    env.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

#[tokio::test]
async fn rotation_keeps_the_header_each_hook_uses_and_names_one_that_differs() {
    // The hook function reads its secret from X-NL3-Key, and Okta's hooks send it there.
    let w = world_with(false, "X-NL3-Key", &[]).await;
    // An operator without API_KEY_HEADER in their shell: rotation must not move the header.
    let run = admin(&["rotate"], &cli_env(&w, &[])).await;
    run.exits(0).says(&["testSecret", "Done"]);
    assert_eq!(headers_okta_sends(&w).await, ["X-NL3-Key"; 3]);
    let new_key = w.key("AWSCURRENT").await.unwrap();
    assert_eq!(w.okta_holds(TOKEN_HOOK_ID).await, b64(&new_key));

    // With API_KEY_HEADER saying another header, the plan names the difference and still keeps
    // the hook's own header; a roll-back keeps it too.
    let other = cli_env(&w, &[("API_KEY_HEADER", "Authorization")]);
    admin(&["rotate", "--dry-run"], &other).await.exits(0).says(&[
        &format!("token hook \"NL3 (token)\" ({TOKEN_HOOK_ID}) sends its secret in the X-NL3-Key header, not Authorization (API_KEY_HEADER): rotation keeps X-NL3-Key"),
        "--dry-run: nothing changed.",
    ]);
    let rotate = w.rotation_function().await;
    let token = w.start_rotation();
    rotate.step("createSecret", &token).await.unwrap();
    rotate.step("setSecret", &token).await.unwrap();
    assert_eq!(headers_okta_sends(&w).await, ["X-NL3-Key"; 3]);
    admin(&["rotate", "--roll-back"], &other)
        .await
        .exits(0)
        .says(&["Rolled back"]);
    assert_eq!(headers_okta_sends(&w).await, ["X-NL3-Key"; 3]);
    assert_eq!(w.okta_holds(TOKEN_HOOK_ID).await, b64(&new_key));
    w.org.assert_clean().await;
}

#[tokio::test]
async fn finish_carries_over_what_changed_while_the_rotation_was_in_flight() {
    let w = world(false).await;
    let rotate = w.rotation_function().await;
    let token = w.start_rotation();
    for step in ["createSecret", "setSecret", "testSecret"] {
        rotate.step(step, &token).await.unwrap();
    }
    let pending = w.key("AWSPENDING").await.unwrap();
    // Meanwhile an operator puts a new SIGNING_KEY (a new AWSCURRENT version).
    let mut changed = w.value("AWSCURRENT").await.unwrap();
    changed["SIGNING_KEY"] = json!(b64("a-new-signing-key-from-the-portal"));
    w.moto
        .client()
        .put_secret_value()
        .secret_id(SECRET_ID)
        .secret_string(changed.to_string())
        .send()
        .await
        .unwrap();
    let answer = rotate.step("finishSecret", &token).await.unwrap();
    assert!(
        answer.to_string().contains("SIGNING_KEY changed"),
        "{answer}"
    );
    let current = w.value("AWSCURRENT").await.unwrap();
    assert_eq!(current["API_KEY"], json!(pending), "the new key is current");
    assert_eq!(
        current["SIGNING_KEY"], changed["SIGNING_KEY"],
        "the operator's key is kept"
    );
    assert!(
        w.value("AWSPENDING").await.is_none(),
        "no rotation in flight"
    );
    assert_eq!(w.okta_holds(TOKEN_HOOK_ID).await, b64(&pending));
    // Secrets Manager may retry the step: nothing more happens.
    let again = rotate.step("finishSecret", &token).await.unwrap();
    assert!(again.to_string().contains("nothing to do"), "{again}");
    assert_eq!(w.value("AWSCURRENT").await.unwrap(), current);
    // A hook reading the secret afresh accepts the key Okta sends.
    assert_ne!(
        w.fresh_hook_says(&[("SECRET_ID", SECRET_ID)], &pending)
            .await,
        "forbidden"
    );
}

#[tokio::test]
async fn a_second_rotation_resumes_the_one_whose_key_okta_already_sends() {
    let w = world(false).await;
    let rotate = w.rotation_function().await;
    let first = w.start_rotation();
    rotate.step("createSecret", &first).await.unwrap();
    rotate.step("setSecret", &first).await.unwrap();
    let sent = w.key("AWSPENDING").await.unwrap();
    assert_eq!(w.okta_holds(TOKEN_HOOK_ID).await, b64(&sent));

    let counts = Arc::new(SignIns::default());
    let (stop, background) = sign_in_meanwhile(&w, counts.clone());
    // A second operator (or the schedule) starts another rotation now.
    let second = w.start_rotation();
    let answer = rotate.step("createSecret", &second).await.unwrap();
    assert!(answer.to_string().contains("resumes it"), "{answer}");
    assert_eq!(
        w.key("AWSPENDING").await.unwrap(),
        sent,
        "the key Okta sends"
    );
    assert!(
        counts.once(&w.hook, &w.org).await,
        "a sign-in refused after the second createSecret"
    );
    // The first rotation's next step says plainly that it was overtaken.
    let overtaken = rotate.step("testSecret", &first).await.unwrap_err();
    assert!(
        overtaken.contains("another rotation has taken its place"),
        "{overtaken}"
    );
    for step in ["setSecret", "testSecret", "finishSecret"] {
        rotate.step(step, &second).await.unwrap();
        assert!(
            counts.once(&w.hook, &w.org).await,
            "a sign-in refused after {step}"
        );
    }
    stop.store(true, Ordering::Relaxed);
    background.await.unwrap();
    let (made, refused) = counts.figures();
    eprintln!("SECOND-ROTATION-SIGN-INS | made {made} | refused {refused}");
    assert_eq!(refused, 0);
    assert_eq!(w.key("AWSCURRENT").await.unwrap(), sent);
    assert_eq!(w.okta_holds(TOKEN_HOOK_ID).await, b64(&sent));
}

#[tokio::test]
async fn hooks_at_another_url_for_the_function_are_named_with_when_their_key_stops() {
    let w = world(false).await;
    // The same function registered once more under another host name.
    let elsewhere = w.hook_url.replace("127.0.0.1", "localhost");
    assert_ne!(elsewhere, w.hook_url);
    let created = w
        .org
        .okta_post(
            "/api/v1/inlineHooks",
            &json!({"name": "NL3 (token, localhost)", "type": TOKEN, "version": "1.0.0",
                "channel": {"type": "HTTP", "version": "1.0.0", "config": {"uri": elsewhere,
                    "method": "POST",
                    "authScheme": {"type": "HEADER", "key": "Authorization", "value": b64(OLD_KEY)}}}}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    let says = format!(
        "not rotated: token hook \"NL3 (token, localhost)\" ({id}) calls {elsewhere}, not the hook URL"
    );
    admin(
        &["rotate", "--dry-run"],
        &cli_env(&w, &[("API_KEY_GRACE_SECONDS", "600")]),
    )
    .await
    .exits(0)
    .says(&[&says, "600 s (API_KEY_GRACE_SECONDS) after finishSecret"]);
    let rotate = w.rotation_function().await;
    let token = w.start_rotation();
    rotate.step("createSecret", &token).await.unwrap();
    let set = rotate.step("setSecret", &token).await.unwrap();
    let lines: Vec<&str> = set["done"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let lines = lines.join("\n");
    assert!(lines.contains(&says), "{lines}");
    assert!(lines.contains("3600 s (API_KEY_GRACE_SECONDS)"), "{lines}");
    assert_eq!(w.okta_holds(&id).await, b64(OLD_KEY), "not changed");
}

#[tokio::test]
async fn rotation_finishes_when_the_hook_fails_closed_or_refuses_unlisted_apps() {
    // NL3 unreachable and FAIL_OPEN=false: every check fails closed, yet the hook authenticated
    // Okta's call, which is all testSecret proves.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let w = world_with(
        false,
        "Authorization",
        &[("FAIL_OPEN", "false"), ("API_URI", &dead)],
    )
    .await;
    let run = admin(&["rotate"], &cli_env(&w, &[])).await;
    run.exits(0)
        .says(&["accepted Okta's call (decision \"fail_closed\")", "Done"]);
    assert!(
        w.value("AWSPENDING").await.is_none(),
        "no rotation left in flight"
    );
}

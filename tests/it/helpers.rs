//! The hook's test parts: what `nl3-testkit` has (Okta's published payloads, the NL3 and ipinfo
//! stand-ins on loopback, a real Secrets Manager API), and what needs the hook's own types: hooks
//! built from settings, their decisions, the hook's Secrets Manager client.

use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use nl3_okta_hook::config::Settings;
use nl3_okta_hook::decision::Decision;
use nl3_okta_hook::hook::{Hook, HookRequest};
use serde_json::{json, Value};

pub use nl3_testkit::hook_requests::*;
pub use nl3_testkit::moto::Moto;
pub use nl3_testkit::upstreams::*;
pub use nl3_testkit::{b64, free_port, now_s};

/// A token hook request for the OAuth client `client_id`, signing in `user`.
pub fn token_for(client_id: &str, user: &str) -> Value {
    let mut e = with_user(token_event(), user);
    e["data"]["context"]["protocol"]["client"]["id"] = json!(client_id);
    e
}

/// Headers as Okta sends them, with the hook secret the way NL3's setup stores it: base64.
pub fn okta_headers() -> HeaderMap {
    headers_with("Authorization", &b64(API_KEY))
}

pub fn headers_with(name: &str, value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert("accept", HeaderValue::from_static("application/json"));
    h.insert(
        http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
        HeaderValue::from_str(value).unwrap(),
    );
    h
}

/// What the hook's tests ask of the stand-ins beyond `nl3-testkit`: the hook's settings and
/// hooks pointed at them.
pub trait UpstreamsExt {
    fn settings(&self, overrides: &[(&str, &str)]) -> Settings;

    /// A hook with secrets from the environment and the given setting overrides.
    async fn hook(&self, overrides: &[(&str, &str)]) -> Hook;
}

impl UpstreamsExt for Upstreams {
    fn settings(&self, overrides: &[(&str, &str)]) -> Settings {
        settings_from(self.env(), overrides)
    }

    async fn hook(&self, overrides: &[(&str, &str)]) -> Hook {
        Hook::from_settings(self.settings(overrides)).await.unwrap()
    }
}

pub fn settings_from(env: Vec<(String, String)>, overrides: &[(&str, &str)]) -> Settings {
    let mut env = env;
    for (k, v) in overrides {
        env.retain(|(key, _)| key != k);
        env.push((k.to_string(), v.to_string()));
    }
    Settings::from_lookup(|name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        .unwrap()
}

pub async fn decide(hook: &Hook, headers: &HeaderMap, body: &Value) -> Decision {
    decide_raw(hook, headers, body.to_string().as_bytes()).await
}

pub async fn decide_raw(hook: &Hook, headers: &HeaderMap, body: &[u8]) -> Decision {
    hook.decide(HookRequest {
        headers,
        body,
        lambda_deadline: None,
    })
    .await
}

/// Generous slack over a budget for scheduling on a loaded 2-core CI machine.
pub const SLACK: Duration = Duration::from_millis(400);

pub use nl3_testkit::emulator::emulated_hook;

/// A hook with `overrides` over the stand-ins' settings, reading its secret from the Secrets
/// Manager at `endpoint` (set `SECRET_ID` among the overrides).
pub fn hook_reading(up: &Upstreams, endpoint: &str, overrides: &[(&str, &str)]) -> Hook {
    Hook::with_secrets_client(up.settings(overrides), sdk_client(endpoint)).unwrap()
}

/// The SDK client the hook would build, pointed at `endpoint` with test credentials.
pub fn sdk_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    use aws_sdk_secretsmanager::config::{Credentials, Region};
    let builder = aws_sdk_secretsmanager::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"));
    nl3_shared::secret_source::secrets_manager_client(builder, Duration::from_secs(3))
}

/// One row of the fault matrix (docs/operations.md, When something is down) (`make fault-matrix` collects them).
pub fn report(fail_open: &str, d: &Decision, took: Duration) {
    let test = std::thread::current().name().unwrap_or("?").to_string();
    let answer = d
        .answer
        .json()
        .get("error")
        .map_or("{\"commands\":[]}".to_string(), |e| e.to_string());
    eprintln!(
        "FAULT-MATRIX | {test} | FAIL_OPEN={fail_open} | {} | {} {answer} | {} ms",
        d.outcome.as_str(),
        d.answer.status,
        took.as_millis()
    );
}

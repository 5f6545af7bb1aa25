//! Shared test parts: Okta's published payloads, the NL3 and ipinfo stand-ins on loopback
//! (`standins.rs`), a real Secrets Manager API (moto's server), and hooks built from settings.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use http::{HeaderMap, HeaderValue};
use nl3_okta_hook::config::Settings;
use nl3_okta_hook::decision::Decision;
use nl3_okta_hook::hook::{Hook, HookRequest};
use serde_json::{json, Value};
use wiremock::{MockServer, Request};

use crate::standins::{self, Expect};

pub const API_KEY: &str = "test-api-key-7f3a";
pub const SIGNING_KEY: &[u8] = b"test-signing-key-0123456789abcdef";
pub const IPINFO_TOKEN: &str = "test-ipinfo-token";
pub const APP_URI: &str = "https://app.example.com";
pub const API_PATH: &str = "/nl3/api/v1/accountProtectionCheck";
pub const LOCKED_USER: &str = "locked.user@example.com";

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Okta's published token inline hook request, with a public client IP so ipinfo is asked.
pub fn token_event() -> Value {
    let mut v: Value =
        serde_json::from_str(include_str!("../fixtures/okta/token-hook-request.json")).unwrap();
    v["data"]["context"]["request"]["ipAddress"] = json!("1.1.1.1");
    v
}

/// Okta's published SAML assertion inline hook request, with a public client IP.
pub fn saml_event() -> Value {
    let mut v: Value =
        serde_json::from_str(include_str!("../fixtures/okta/saml-hook-request.json")).unwrap();
    v["data"]["context"]["request"]["ipAddress"] = json!("8.8.8.8");
    v
}

pub fn with_user(mut event: Value, user: &str) -> Value {
    let data = &mut event["data"];
    if data.get("identity").is_some() {
        data["identity"]["claims"]["preferred_username"] = json!(user);
    }
    data["context"]["user"]["profile"]["login"] = json!(user);
    data["context"]["session"]["login"] = json!(user);
    event
}

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

/// NL3 and ipinfo stand-ins on loopback.
pub struct Upstreams {
    pub nl3: MockServer,
    pub ipinfo: MockServer,
}

impl Upstreams {
    /// Both stand-ins answering normally.
    pub async fn start() -> Self {
        let upstreams = Self::start_empty().await;
        upstreams.mount_nl3_stand_in().await;
        standins::mount_ipinfo(&upstreams.ipinfo, &upstreams.expect()).await;
        upstreams
    }

    /// What the stand-ins check, from the test secrets.
    pub fn expect(&self) -> Expect {
        Expect {
            apps: vec![(APP_URI.into(), SIGNING_KEY.to_vec())],
            audience: self.nl3.uri(),
            ipinfo_token: IPINFO_TOKEN.into(),
            path: API_PATH.into(),
        }
    }

    /// Both stand-ins, NL3's knowing the default app and `apps` (each `APP_URI` with its
    /// signing key).
    pub async fn start_with_apps(apps: &[(&str, &[u8])]) -> Self {
        let up = Self::start_empty().await;
        let mut expect = up.expect();
        expect.apps.extend(
            apps.iter()
                .map(|(uri, key)| (uri.to_string(), key.to_vec())),
        );
        standins::mount_nl3(&up.nl3, &expect).await;
        standins::mount_ipinfo(&up.ipinfo, &expect).await;
        up
    }

    /// Servers with nothing mounted: each test mounts the behaviour it needs.
    pub async fn start_empty() -> Self {
        Self {
            nl3: MockServer::start().await,
            ipinfo: MockServer::start().await,
        }
    }

    pub async fn mount_nl3_stand_in(&self) {
        standins::mount_nl3(&self.nl3, &self.expect()).await;
    }

    /// The environment the hook reads, pointing at these stand-ins.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("APP_URI", APP_URI.to_string()),
            ("API_URI", self.nl3.uri()),
            ("API_PATH", API_PATH.to_string()),
            ("IPINFO_URL", self.ipinfo.uri()),
            ("API_KEY", API_KEY.to_string()),
            ("SIGNING_KEY", b64(SIGNING_KEY)),
            ("IPINFO_TOKEN", IPINFO_TOKEN.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    pub fn settings(&self, overrides: &[(&str, &str)]) -> Settings {
        settings_from(self.env(), overrides)
    }

    /// A hook with secrets from the environment and the given setting overrides.
    pub async fn hook(&self, overrides: &[(&str, &str)]) -> Hook {
        Hook::from_settings(self.settings(overrides)).await.unwrap()
    }

    pub async fn nl3_requests(&self) -> Vec<Request> {
        self.nl3.received_requests().await.unwrap_or_default()
    }

    pub async fn ipinfo_requests(&self) -> Vec<Request> {
        self.ipinfo.received_requests().await.unwrap_or_default()
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

/// A real Secrets Manager API on loopback: moto's server, spoken to by the real AWS SDK.
pub struct Moto {
    pub url: String,
    child: tokio::process::Child,
}

impl Moto {
    /// Starts `moto_server` on `port` (0: any free port) and waits for it to say where it listens.
    pub async fn start(port: u16) -> Self {
        use tokio::io::AsyncBufReadExt;
        let program = std::env::var("MOTO_SERVER").unwrap_or_else(|_| {
            let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/moto_server");
            if std::path::Path::new(venv).exists() {
                venv.to_string()
            } else {
                "moto_server".to_string()
            }
        });
        let mut child = tokio::process::Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program} (run `make setup`): {e}"));
        let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let url = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(at) = line.find("Running on http://") {
                    return line[at + "Running on ".len()..].trim().to_string();
                }
            }
            panic!("moto_server exited before listening");
        })
        .await
        .expect("moto_server did not start within 60 s");
        // Keep draining its request log so the pipe never fills and blocks it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { url, child }
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    pub fn client(&self) -> aws_sdk_secretsmanager::Client {
        sdk_client(&self.url)
    }
}

/// The path of a binary of the admin crate (`admin/`), built for this test run: Cargo builds
/// only the binaries of the package under test, so the admin crate's are built here, once per
/// test process, by the same Cargo (a no-op when they are up to date).
pub fn admin_bin(name: &str) -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<Vec<std::path::PathBuf>> = std::sync::OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = std::process::Command::new(&cargo)
            .args(["build", "--locked", "-p", "nl3-okta-admin", "--bins"])
            .arg("--message-format=json-render-diagnostics")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stderr(std::process::Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cargo} to build the admin binaries: {e}"));
        assert!(out.status.success(), "building the admin binaries failed");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter_map(|m| m["executable"].as_str().map(std::path::PathBuf::from))
            .collect()
    });
    built
        .iter()
        .find(|p| p.file_name().is_some_and(|f| f == name))
        .unwrap_or_else(|| panic!("the admin crate has no binary {name}"))
        .clone()
}

/// A hook with `overrides` over the stand-ins' settings, reading its secret from the Secrets
/// Manager at `endpoint` (set `SECRET_ID` among the overrides).
pub fn hook_reading(up: &Upstreams, endpoint: &str, overrides: &[(&str, &str)]) -> Hook {
    Hook::with_secrets_client(up.settings(overrides), sdk_client(endpoint)).unwrap()
}

/// A free loopback port (nothing listens there once this returns).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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

/// The secret's JSON as the hook expects it in Secrets Manager.
pub fn secret_json(api_key: &str) -> String {
    json!({"API_KEY": api_key, "SIGNING_KEY": b64(SIGNING_KEY), "IPINFO_TOKEN": IPINFO_TOKEN})
        .to_string()
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

//! Shared test parts: Okta's published payloads, and stand-ins for NL3 and ipinfo that check
//! what the hook sends them (the JWT's signature and claims, the body, the ipinfo token).
#![allow(dead_code)] // each test binary uses its own subset

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use http::{HeaderMap, HeaderValue};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use nl3_okta_hook::config::Settings;
use nl3_okta_hook::decision::{Decision, Hook, HookRequest};
use nl3_okta_hook::nl3::Nl3Claims;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

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

/// NL3 stand-in: verifies the `x-nl3-authorization-token` JWT (HS256 with the decoded signing
/// key, iss/aud/sub/iat/nbf/exp) and the body. Anything wrong is answered 400 with the reason,
/// which the hook reports as an NL3 failure, so a test expecting `Allowed` or `Locked` fails.
/// Users whose name starts with "locked" are locked (answered as NL3's docs show: a string).
pub struct Nl3StandIn {
    pub audience: String,
}

impl Nl3StandIn {
    fn violation(&self, request: &Request) -> Result<String, String> {
        let token = request
            .headers
            .get("x-nl3-authorization-token")
            .ok_or("no x-nl3-authorization-token header")?
            .to_str()
            .map_err(|e| e.to_string())?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[&self.audience]);
        validation.set_issuer(&[APP_URI]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "sub", "aud", "iss"]);
        validation.validate_nbf = true;
        let claims = jsonwebtoken::decode::<Nl3Claims>(
            token,
            &DecodingKey::from_secret(SIGNING_KEY),
            &validation,
        )
        .map_err(|e| format!("JWT rejected: {e}"))?
        .claims;
        let now = now_s();
        if claims.iat.abs_diff(now - 60) > 5 || claims.exp.abs_diff(now + 300) > 5 {
            return Err(format!("iat/exp not now-60/now+300: {claims:?}"));
        }
        if claims.nbf != claims.iat {
            return Err("nbf differs from iat".into());
        }
        let content_type = request.headers.get("content-type").map(|v| v.as_bytes());
        if content_type != Some(b"application/json") {
            return Err(format!("content-type {content_type:?}"));
        }
        let body: Value = serde_json::from_slice(&request.body).map_err(|e| e.to_string())?;
        let keys: Vec<&str> = body
            .as_object()
            .ok_or("body not an object")?
            .keys()
            .map(String::as_str)
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        if sorted
            != [
                "integrationData",
                "integrationType",
                "userDevice",
                "userIP",
                "userLocation",
            ]
        {
            return Err(format!("body fields {keys:?}"));
        }
        if body["userDevice"] != "N/A"
            || !body["userLocation"].is_string()
            || !body["integrationData"].is_object()
            || !matches!(
                body["integrationType"].as_str(),
                Some("okta-oidc" | "okta-saml")
            )
        {
            return Err(format!("body values {body}"));
        }
        Ok(claims.sub)
    }
}

impl Respond for Nl3StandIn {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        match self.violation(request) {
            Ok(sub) => {
                let locked = if sub.starts_with("locked") {
                    "true"
                } else {
                    "false"
                };
                ResponseTemplate::new(200)
                    .set_body_json(json!({"locked": locked, "message": "string", "status": "ok"}))
            }
            Err(violation) => {
                ResponseTemplate::new(400).set_body_json(json!({ "violation": violation }))
            }
        }
    }
}

/// ipinfo stand-in: the token must come as a bearer header (never in the URL).
pub struct IpinfoStandIn;

impl Respond for IpinfoStandIn {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let bearer = format!("Bearer {IPINFO_TOKEN}");
        let authorized =
            request.headers.get("authorization").map(|v| v.as_bytes()) == Some(bearer.as_bytes());
        if !authorized || request.url.query().is_some() {
            return ResponseTemplate::new(403).set_body_json(json!({"error": "bad token"}));
        }
        let ip = request.url.path().trim_start_matches('/');
        let body = if ip == "1.1.1.1" {
            serde_json::from_str(include_str!("../fixtures/ipinfo-1.1.1.1.json")).unwrap()
        } else {
            json!({"ip": ip, "city": "Mountain View", "region": "California", "country": "US",
                   "loc": "37.4056,-122.0775", "org": "AS15169 Google LLC"})
        };
        ResponseTemplate::new(200).set_body_json(body)
    }
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
        Mock::given(method("GET"))
            .and(path_regex("^/[0-9a-fA-F:.]+$"))
            .respond_with(IpinfoStandIn)
            .mount(&upstreams.ipinfo)
            .await;
        upstreams
    }

    /// Servers with nothing mounted: each test mounts the behaviour it needs.
    pub async fn start_empty() -> Self {
        Self {
            nl3: MockServer::start().await,
            ipinfo: MockServer::start().await,
        }
    }

    pub async fn mount_nl3_stand_in(&self) {
        Mock::given(method("POST"))
            .and(path(API_PATH))
            .respond_with(Nl3StandIn {
                audience: self.nl3.uri(),
            })
            .mount(&self.nl3)
            .await;
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
        nl3_okta_hook::lambda_handler::build_hook(self.settings(overrides))
            .await
            .unwrap()
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

/// The SDK client the hook would build, pointed at `endpoint` with test credentials.
pub fn sdk_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    use aws_sdk_secretsmanager::config::{Credentials, Region};
    let builder = aws_sdk_secretsmanager::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"));
    nl3_okta_hook::secrets::secrets_manager_client(builder, Duration::from_secs(3))
}

/// The secret's JSON as the hook expects it in Secrets Manager.
pub fn secret_json(api_key: &str) -> String {
    json!({"API_KEY": api_key, "SIGNING_KEY": b64(SIGNING_KEY), "IPINFO_TOKEN": IPINFO_TOKEN})
        .to_string()
}

/// One row of the README's fault matrix (`make fault-matrix` collects them).
pub fn report(fail_open: &str, d: &nl3_okta_hook::decision::Decision, took: Duration) {
    let test = std::thread::current().name().unwrap_or("?").to_string();
    let answer = d
        .answer
        .body
        .get("error")
        .map_or("{\"commands\":[]}".to_string(), |e| e.to_string());
    eprintln!(
        "FAULT-MATRIX | {test} | FAIL_OPEN={fail_open} | {} | {} {answer} | {} ms",
        d.outcome.as_str(),
        d.answer.status,
        took.as_millis()
    );
}

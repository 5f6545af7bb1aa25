//! The Okta stand-in (tests/okta_stand_in/server.py): one process per test process, one org per
//! test; [`fixtures`] has Okta's objects to seed it with. Every request and response it sees is checked against Okta's OpenAPI document;
//! [`Org::assert_clean`] fails the test on any violation.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Value};

pub mod fixtures;

pub struct StandIn {
    pub base: String,
    _child: Mutex<Child>,
}

/// Starts the stand-in on first use. It exits when this test process does (its stdin closes).
pub fn stand_in() -> &'static StandIn {
    static SERVER: OnceLock<StandIn> = OnceLock::new();
    SERVER.get_or_init(|| {
        let python = crate::venv_program("python3");
        let script = crate::workspace_root().join("tests/okta_stand_in/server.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg("0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the Okta stand-in (run `make setup` first: it needs openapi-core)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the stand-in's first line");
        let port: u16 = line
            .trim()
            .strip_prefix("LISTENING ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                panic!("the Okta stand-in did not start ({line:?}); run `make setup` (it needs openapi-core in .venv)")
            });
        StandIn {
            base: format!("http://127.0.0.1:{port}"),
            _child: Mutex::new(child),
        }
    })
}

/// One org in the stand-in, with its API token (and OAuth service app when asked for).
pub struct Org {
    pub id: String,
    pub base: String,
    pub token: String,
    pub client_id: Option<String>,
    pub private_key_pem: Option<String>,
}

pub async fn seed(seed: Value) -> Org {
    let server = stand_in();
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/__control/orgs", server.base))
        .body(seed.to_string())
        .send()
        .await
        .expect("seed the org")
        .json()
        .await
        .expect("seed answer");
    Org {
        id: answer["org"].as_str().unwrap().to_string(),
        base: server.base.clone(),
        token: answer["token"].as_str().unwrap().to_string(),
        client_id: answer["clientId"].as_str().map(String::from),
        private_key_pem: answer["privateKeyPem"].as_str().map(String::from),
    }
}

impl Org {
    /// Hooks, servers (with policies and rules), apps, the request log and the violations.
    pub async fn state(&self) -> Value {
        reqwest::Client::new()
            .get(format!("{}/__control/orgs/{}", self.base, self.id))
            .send()
            .await
            .expect("org state")
            .json()
            .await
            .expect("org state JSON")
    }

    /// Fails the test when any request or response broke Okta's OpenAPI document.
    pub async fn assert_clean(&self) -> Value {
        let state = self.state().await;
        let violations = state["violations"].as_array().unwrap();
        assert!(
            violations.is_empty(),
            "requests or responses that Okta's OpenAPI document does not allow:\n{}",
            serde_json::to_string_pretty(violations).unwrap()
        );
        state
    }

    /// The request log: "METHOD /path?query -> status".
    pub async fn requests(&self) -> Vec<String> {
        self.state().await["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect()
    }

    /// The requests that changed something (all but GETs).
    pub async fn writes(&self) -> Vec<String> {
        let mut requests = self.requests().await;
        requests.retain(|r| !r.starts_with("GET "));
        requests
    }

    /// An admin's GET of `path` through Okta's API, as JSON.
    pub async fn okta_get(&self, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("SSWS {}", self.token))
            .send()
            .await
            .expect("GET through the stand-in")
            .json()
            .await
            .expect("a JSON answer")
    }

    /// An admin's PUT of `body` to `path` through Okta's API; it must succeed.
    pub async fn okta_put(&self, path: &str, body: &Value) {
        let status = reqwest::Client::new()
            .put(format!("{}{path}", self.base))
            .header("Authorization", format!("SSWS {}", self.token))
            .json(body)
            .send()
            .await
            .expect("PUT through the stand-in")
            .status();
        assert!(status.is_success(), "PUT {path}: {status}");
    }

    /// An admin's POST of `body` to `path` through Okta's API (what another admin creates); it
    /// must succeed. Okta's answer.
    pub async fn okta_post(&self, path: &str, body: &Value) -> Value {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .header("Authorization", format!("SSWS {}", self.token))
            .json(body)
            .send()
            .await
            .expect("POST through the stand-in");
        let status = response.status();
        assert!(status.is_success(), "POST {path}: {status}");
        response.json().await.unwrap_or(Value::Null)
    }

    /// The events happen in the org and Okta delivers them to its event hooks (the stand-in's
    /// `deliver`: each ACTIVE, VERIFIED and subscribed event hook gets one POST, retried once):
    /// the stand-in's report, one entry per event hook. Events the LogEvent schema refuses fail
    /// the test.
    pub async fn deliver(&self, events: &[Value]) -> Value {
        let response = reqwest::Client::new()
            .post(format!("{}/__control/orgs/{}/deliver", self.base, self.id))
            .json(&json!({ "events": events }))
            .send()
            .await
            .expect("deliver through the stand-in");
        let status = response.status();
        let report: Value = response.json().await.expect("the delivery report");
        assert!(status.is_success(), "deliver: {status}: {report:#}");
        report
    }

    /// Okta refusing the requests that match `faults` (the stand-in's `faults`: a list of
    /// `{method, pathContains, status[, times]}`; `[]` clears them).
    pub async fn faults(&self, faults: Value) {
        let status = reqwest::Client::new()
            .post(format!("{}/__control/orgs/{}/faults", self.base, self.id))
            .json(&faults)
            .send()
            .await
            .expect("set the stand-in's faults")
            .status();
        assert!(status.is_success(), "faults: {status}");
    }

    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("OKTA_ORG_URL".into(), self.base.clone()),
            ("OKTA_API_TOKEN".into(), self.token.clone()),
        ]
    }
}

/// `env` with the variables `more` added.
pub fn with(mut env: Vec<(String, String)>, more: &[(&str, &str)]) -> Vec<(String, String)> {
    env.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

/// A seed with nothing in it but what `f` adds.
pub fn empty_seed() -> Value {
    json!({"hooks": [], "authorizationServers": [], "apps": [], "users": []})
}

/// Violations of requests that named no org (a wrong token, an unknown path).
pub async fn global_violations() -> Vec<Value> {
    reqwest::Client::new()
        .get(format!("{}/__control/violations", stand_in().base))
        .send()
        .await
        .expect("violations")
        .json()
        .await
        .expect("violations JSON")
}

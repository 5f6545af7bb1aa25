//! End to end: the built binary under cargo-lambda's Lambda emulator (`cargo lambda watch
//! --only-lambda-apis`, which serves the Lambda Runtime API and the invoke / function-URL
//! endpoints), driven with `cargo lambda invoke --data-file events/…` and plain HTTP.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::helpers::*;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

const LOCAL_API_KEY: &str = "local-dev-api-key"; // what events/ carry, base64-encoded

fn cargo_lambda() -> String {
    std::env::var("CARGO_LAMBDA").unwrap_or_else(|_| {
        let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/cargo-lambda");
        if Path::new(venv).exists() {
            venv.into()
        } else {
            "cargo-lambda".into()
        }
    })
}

/// Lines a child printed, with a way to wait for the ones a test expects.
#[derive(Clone, Default)]
struct Lines {
    lines: Arc<Mutex<Vec<String>>>,
    added: Arc<Notify>,
}

impl Lines {
    fn collect(&self, stream: impl tokio::io::AsyncRead + Unpin + Send + 'static) {
        let this = self.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stream).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                this.lines.lock().unwrap().push(line);
                this.added.notify_waiters();
            }
        });
    }

    fn snapshot(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits (bounded) until `done` holds for the lines seen so far.
    async fn wait_for(&self, what: &str, done: impl Fn(&[String]) -> bool) {
        let waited = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                let notified = self.added.notified();
                if done(&self.snapshot()) {
                    return;
                }
                notified.await;
            }
        })
        .await;
        assert!(
            waited.is_ok(),
            "timed out waiting for {what}: {:#?}",
            self.snapshot()
        );
    }
}

/// The emulator with the hook binary attached to it.
struct Emulator {
    port: u16,
    function_logs: Lines,
    _emulator: Child,
    _function: Child,
}

impl Emulator {
    async fn start(env: Vec<(String, String)>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut emulator = Command::new(cargo_lambda())
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1"])
            .args(["-P", &port.to_string()])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("cargo-lambda not found (run `make setup`)");
        let emulator_logs = Lines::default();
        emulator_logs.collect(emulator.stdout.take().unwrap());
        emulator_logs.collect(emulator.stderr.take().unwrap());
        emulator_logs
            .wait_for("the emulator to listen", |lines| {
                lines.iter().any(|l| l.contains("starting Runtime server"))
            })
            .await;

        let mut function = Command::new(env!("CARGO_BIN_EXE_nl3-okta-hook"))
            .env_clear()
            .envs(env)
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let function_logs = Lines::default();
        function_logs.collect(function.stdout.take().unwrap());
        function_logs.collect(function.stderr.take().unwrap());
        Self {
            port,
            function_logs,
            _emulator: emulator,
            _function: function,
        }
    }

    /// `cargo lambda invoke --data-file <event>`: the function's API Gateway response.
    async fn invoke_file(&self, event: &str) -> Value {
        let output = Command::new(cargo_lambda())
            .args(["lambda", "invoke", "--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &self.port.to_string()])
            .args(["--data-file", event, "--output-format", "json"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .await
            .unwrap();
        assert!(
            output.status.success(),
            "invoke {event} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// A POST to the emulator's function URL, as Okta would send it.
    async fn post_function_url(&self, authorization: &str, body: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!(
                "http://127.0.0.1:{}/lambda-url/_/okta/hook",
                self.port
            ))
            .header("authorization", authorization)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn wait_for_decisions(&self, count: usize) -> Vec<Value> {
        let is_decision = |l: &String| l.contains(r#""message":"decision""#);
        self.function_logs
            .wait_for("decision log lines", |lines| {
                lines.iter().filter(|l| is_decision(l)).count() >= count
            })
            .await;
        self.function_logs
            .snapshot()
            .iter()
            .filter(|l| is_decision(l))
            .map(|l| serde_json::from_str(l).expect("decision line is JSON"))
            .collect()
    }
}

fn body_of(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().unwrap()).unwrap()
}

fn local_env(up: &Upstreams) -> Vec<(String, String)> {
    let mut env = up.env();
    env.retain(|(k, _)| k != "API_KEY");
    env.push(("API_KEY".into(), LOCAL_API_KEY.into()));
    env.push(("LOCKED_MESSAGE".into(), "Locked by NL3.".into()));
    env.push(("AWS_LAMBDA_LOG_LEVEL".into(), "DEBUG".into()));
    env
}

#[tokio::test]
async fn sample_events_get_the_contract_answers_under_the_emulator() {
    let up = Upstreams::start().await;
    let emulator = Emulator::start(local_env(&up)).await;

    let cases = [
        ("token-unlocked", 200, "allowed"),
        ("token-locked", 200, "locked"),
        ("saml-unlocked", 200, "allowed"),
        ("saml-locked", 200, "locked"),
        ("token-preview-no-identity", 200, "allowed"),
        ("token-client-credentials", 200, "no_user"),
        ("token-bad-auth", 200, "forbidden"),
        ("token-unlocked-base64-body", 200, "allowed"),
        ("not-json", 400, ""),
    ];
    for shape in ["rest", "http"] {
        for (name, status, decision) in cases {
            let response = emulator
                .invoke_file(&format!("events/{shape}/{name}.json"))
                .await;
            assert_eq!(response["statusCode"], status, "{shape}/{name}: {response}");
            let body = body_of(&response);
            if !decision.is_empty() {
                assert_eq!(
                    body["debugContext"]["decision"], decision,
                    "{shape}/{name}: {body}"
                );
            }
            match decision {
                "locked" => assert_eq!(body["error"]["errorSummary"], "Locked by NL3."),
                "forbidden" => assert_eq!(body["error"]["errorSummary"], "Okta Hook Forbidden"),
                "" => assert!(body["error"]["errorSummary"].is_string()),
                _ => assert!(body.get("error").is_none(), "{shape}/{name}: {body}"),
            }
        }
    }
    // NL3 was asked for every event with a user and valid credentials (the stand-in verified
    // each JWT), and never for the others.
    let checks = up.nl3_requests().await;
    let checks = checks.iter().filter(|r| r.method.as_str() == "POST");
    assert_eq!(checks.count(), 2 * 6);

    let decisions = emulator.wait_for_decisions(2 * cases.len()).await;
    for line in &decisions {
        assert!(
            line["request_id"].as_str().is_some_and(|id| !id.is_empty()),
            "{line}"
        );
        assert!(line["elapsed_ms"].is_u64(), "{line}");
    }
    let all_logs = emulator.function_logs.snapshot().join("\n");
    for secret in [
        LOCAL_API_KEY.to_string(),
        b64(LOCAL_API_KEY),
        b64(SIGNING_KEY),
        IPINFO_TOKEN.to_string(),
        "wrong-key".to_string(), // the credential presented by token-bad-auth
    ] {
        assert!(!all_logs.contains(&secret), "a secret reached the logs");
    }
    assert!(!all_logs.contains("eyJ"), "a JWT reached the logs");
}

#[tokio::test]
async fn function_url_requests_are_answered() {
    let up = Upstreams::start().await;
    let emulator = Emulator::start(local_env(&up)).await;
    let saml = with_user(saml_event(), LOCKED_USER).to_string();
    let (status, body) = emulator.post_function_url(&b64(LOCAL_API_KEY), &saml).await;
    assert_eq!(status, 200);
    assert_eq!(body["error"]["errorSummary"], "Locked by NL3.");
    let (status, body) = emulator.post_function_url("nope", &saml).await;
    assert_eq!(status, 200);
    assert_eq!(body["error"]["errorSummary"], "Okta Hook Forbidden");
    let (status, _) = emulator
        .post_function_url(&b64(LOCAL_API_KEY), "{\"eventType\": 42}")
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn missing_setting_is_reported_once_and_every_call_still_answered() {
    let up = Upstreams::start().await;
    let mut env = local_env(&up);
    env.retain(|(k, _)| k != "APP_URI");
    env.push(("FAIL_OPEN".into(), "false".into()));
    let emulator = Emulator::start(env).await;
    for _ in 0..2 {
        let response = emulator
            .invoke_file("events/rest/token-unlocked.json")
            .await;
        assert_eq!(response["statusCode"], 200);
        let body = body_of(&response);
        assert_eq!(body["debugContext"]["decision"], "fail_closed");
        assert!(body["debugContext"]["reason"]
            .as_str()
            .unwrap()
            .contains("APP_URI is not set"));
    }
    let logs = emulator.function_logs.snapshot();
    let reports = logs
        .iter()
        .filter(|l| l.contains("hook misconfigured: every call"))
        .count();
    assert_eq!(reports, 1, "{logs:#?}");
    assert!(up.nl3_requests().await.is_empty());
}

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

    /// `cargo lambda invoke --data-ascii <event>`.
    async fn invoke_json(&self, event: &Value) -> Value {
        let output = Command::new(cargo_lambda())
            .args(["lambda", "invoke", "--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &self.port.to_string()])
            .args([
                "--data-ascii",
                &event.to_string(),
                "--output-format",
                "json",
            ])
            .output()
            .await
            .unwrap();
        assert!(output.status.success(), "invoke failed");
        serde_json::from_slice(&output.stdout).unwrap()
    }

    async fn wait_for_lines(&self, count: usize, containing: &str) {
        self.function_logs
            .wait_for(containing, |lines| {
                lines.iter().filter(|l| l.contains(containing)).count() >= count
            })
            .await;
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
        self.wait_for_lines(count, r#""message":"decision""#).await;
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

/// `events/expected.tsv`: every sample event with the status and decision it gets.
pub fn expected_answers() -> Vec<(String, u16, String)> {
    include_str!("../../events/expected.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let fields: Vec<&str> = l.split('\t').collect();
            (
                fields[0].to_string(),
                fields[1].parse().unwrap(),
                fields[2].to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_sample_event_gets_its_answer_under_the_emulator() {
    let up = Upstreams::start().await;
    let emulator = Emulator::start(local_env(&up)).await;
    let cases = expected_answers();
    let mut listed: Vec<String> = cases.iter().map(|(f, _, _)| f.clone()).collect();
    listed.sort();
    assert_eq!(
        listed,
        event_files(),
        "events/expected.tsv lists every event"
    );

    let mut asked_nl3 = 0;
    for (file, status, decision) in &cases {
        let response = emulator.invoke_file(&format!("events/{file}")).await;
        assert_eq!(response["statusCode"], *status, "{file}: {response}");
        let body = body_of(&response);
        match decision.as_str() {
            "-" => assert!(body["error"]["errorSummary"].is_string(), "{file}: {body}"),
            d => assert_eq!(body["debugContext"]["decision"], d, "{file}: {body}"),
        }
        match decision.as_str() {
            "locked" => assert_eq!(body["error"]["errorSummary"], "Locked by NL3."),
            "forbidden" => assert_eq!(body["error"]["errorSummary"], "Okta Hook Forbidden"),
            "allowed" | "no_user" => assert!(body.get("error").is_none(), "{file}: {body}"),
            _ => {}
        }
        asked_nl3 += usize::from(matches!(decision.as_str(), "allowed" | "locked"));
    }
    // NL3 was asked for every event with a user and valid credentials (the stand-in verified
    // each JWT), and never for the others.
    let checks = up.nl3_requests().await;
    let checks = checks.iter().filter(|r| r.method.as_str() == "POST");
    assert_eq!(checks.count(), asked_nl3);

    let decisions = emulator.wait_for_decisions(cases.len()).await;
    for line in &decisions {
        assert!(
            line["request_id"].as_str().is_some_and(|id| !id.is_empty()),
            "{line}"
        );
        assert!(line["elapsed_ms"].is_u64(), "{line}");
    }
}

/// Every `events/<shape>/<name>.json`, sorted, as `<shape>/<name>.json`.
fn event_files() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let mut files = Vec::new();
    for shape in std::fs::read_dir(&root).unwrap() {
        let shape = shape.unwrap().path();
        if !shape.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&shape).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "json") {
                files.push(file.strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    files.sort();
    files
}

/// Whatever level the logs are set to, and in either format, no line holds a credential, a
/// secret, a token or a username (the Lambda runtime prints the raw event at TRACE, and the
/// AWS SDK and hyper print requests and answers).
#[tokio::test]
async fn logs_at_trace_never_carry_a_credential() {
    let bearer = "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    for (format, level) in [
        ("JSON", ("AWS_LAMBDA_LOG_LEVEL", "TRACE")),
        ("Text", ("RUST_LOG", "trace")),
    ] {
        let up = Upstreams::start().await;
        let mut env = local_env(&up);
        env.retain(|(k, _)| k != "AWS_LAMBDA_LOG_LEVEL");
        env.push((level.0.into(), level.1.into()));
        env.push(("AWS_LAMBDA_LOG_FORMAT".into(), format.into()));
        let emulator = Emulator::start(env).await;
        for file in [
            "rest/token-unlocked.json",
            "rest/token-bad-auth.json",
            "http/saml-locked.json",
        ] {
            emulator.invoke_file(&format!("events/{file}")).await;
        }
        let mut with_bearer: Value =
            serde_json::from_str(include_str!("../../events/rest/token-unlocked.json")).unwrap();
        with_bearer["headers"]["Authorization"] = bearer.into();
        with_bearer["multiValueHeaders"]["Authorization"] = serde_json::json!([bearer]);
        emulator.invoke_json(&with_bearer).await;
        // A forged line: an NL3 error text with a newline (the stand-in echoes nothing; the
        // JWT is refused with a reason, whose text the escaping covers).
        emulator.wait_for_lines(4, "decision").await;

        let logs = emulator.function_logs.snapshot().join("\n");
        for secret in [
            LOCAL_API_KEY.to_string(),
            b64(LOCAL_API_KEY),
            b64(SIGNING_KEY),
            IPINFO_TOKEN.to_string(),
            "wrong-key".to_string(), // the credential presented by token-bad-auth
            "c2lnbmF0dXJl".to_string(),
            "eyJ".to_string(),
            "administrator1@".to_string(), // the samples' users
            LOCKED_USER.to_string(),
        ] {
            assert!(
                !logs.contains(&secret),
                "{format}: {secret:?} reached the logs"
            );
        }
        // The runtime's own lines are there (capped at INFO), so the capture is real.
        assert!(logs.contains("decision"), "{format}: {logs}");
    }
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
    env.retain(|(k, _)| k != "API_PATH");
    env.push(("FAIL_OPEN".into(), "false".into()));
    let emulator = Emulator::start(env).await;
    for _ in 0..2 {
        let started = std::time::Instant::now();
        let response = emulator
            .invoke_file("events/rest/token-unlocked.json")
            .await;
        eprintln!(
            "FAULT-MATRIX | e2e::missing_setting (API_PATH unset) | FAIL_OPEN=false | fail_closed | {} | {} ms with cargo lambda invoke",
            response["statusCode"],
            started.elapsed().as_millis()
        );
        assert_eq!(response["statusCode"], 200);
        let body = body_of(&response);
        assert_eq!(body["debugContext"]["decision"], "fail_closed");
        assert!(body["debugContext"]["reason"]
            .as_str()
            .unwrap()
            .contains("API_PATH is not set"));
    }
    let logs = emulator.function_logs.snapshot();
    let reports = logs
        .iter()
        .filter(|l| l.contains("hook misconfigured: every call"))
        .count();
    assert_eq!(reports, 1, "{logs:#?}");
    assert!(up.nl3_requests().await.is_empty());
}

//! A built function binary (the hook's, or one of the admin crate's) under cargo-lambda's Lambda
//! emulator (`cargo lambda watch --only-lambda-apis`, which serves the Lambda Runtime API and the
//! invoke / function-URL endpoints): what the end-to-end tests, and the Okta stand-in's
//! `execute`, call.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

/// `CARGO_LAMBDA`, else the workspace's `.venv/bin/cargo-lambda`, else `cargo-lambda`.
pub fn cargo_lambda() -> PathBuf {
    std::env::var("CARGO_LAMBDA")
        .map_or_else(|_| crate::venv_program("cargo-lambda"), PathBuf::from)
}

/// Lines a child printed, with a way to wait for the ones a test expects.
#[derive(Clone, Default)]
pub struct Lines {
    lines: Arc<Mutex<Vec<String>>>,
    added: Arc<Notify>,
}

impl Lines {
    pub fn collect(&self, stream: impl tokio::io::AsyncRead + Unpin + Send + 'static) {
        let this = self.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stream).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                this.lines.lock().unwrap().push(line);
                this.added.notify_waiters();
            }
        });
    }

    pub fn snapshot(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits (bounded) until `done` holds for the lines seen so far.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[String]) -> bool) {
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

/// The emulator with a function's binary attached to it.
pub struct Emulator {
    pub port: u16,
    pub function_logs: Lines,
    _emulator: Child,
    _function: Child,
}

impl Emulator {
    /// The emulator with `binary` attached (the hook's `nl3-okta-hook`, the admin crate's
    /// `nl3-okta-sentinel` …), which gets only `env` and the Lambda runtime's variables.
    pub async fn start_binary(binary: &Path, env: Vec<(String, String)>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut emulator = Command::new(cargo_lambda())
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1"])
            .args(["-P", &port.to_string()])
            .current_dir(crate::workspace_root())
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

        let mut function = Command::new(binary)
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

    /// `cargo lambda invoke --data-file <event>` (relative to the workspace's root): the
    /// function's API Gateway response.
    pub async fn invoke_file(&self, event: &str) -> Value {
        let output = Command::new(cargo_lambda())
            .args(["lambda", "invoke", "--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &self.port.to_string()])
            .args(["--data-file", event, "--output-format", "json"])
            .current_dir(crate::workspace_root())
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
    pub async fn invoke_json(&self, event: &Value) -> Value {
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

    pub async fn wait_for_lines(&self, count: usize, containing: &str) {
        self.function_logs
            .wait_for(containing, |lines| {
                lines.iter().filter(|l| l.contains(containing)).count() >= count
            })
            .await;
    }

    /// The emulator's function URL for the hook (`path` after it, e.g. `/okta/hook`): what an
    /// inline hook in the Okta stand-in points at, so that Okta's calls reach the built binary.
    pub fn function_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/lambda-url/_{path}", self.port)
    }

    /// A POST to the emulator's function URL, as Okta would send it.
    pub async fn post_function_url(&self, authorization: &str, body: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(self.function_url("/okta/hook"))
            .header("authorization", authorization)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    pub async fn wait_for_decisions(&self, count: usize) -> Vec<Value> {
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

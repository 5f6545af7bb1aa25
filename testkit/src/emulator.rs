//! A built function binary (the hook's, or one of the admin crate's) under cargo-lambda's Lambda
//! emulator (`cargo lambda watch --only-lambda-apis`, which serves the Lambda Runtime API and the
//! invoke / function-URL endpoints): what the end-to-end tests, and the Okta stand-in's
//! `execute`, call.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// How long an invocation may take, by default, before the test fails (with what the emulator
/// and the function printed) instead of waiting on.
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);

/// How long the emulator may take to accept connections once it says it is starting.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(60);

/// The emulator with a function's binary attached to it.
pub struct Emulator {
    pub port: u16,
    pub function_logs: Lines,
    emulator_logs: Lines,
    invoke_timeout: Duration,
    _emulator: Child,
    function: Mutex<Child>,
}

/// The built hook binary under the emulator, with only `env` (and the runtime's variables): the
/// hook's and the admin crate's tests run the same file, built through Cargo by
/// [`crate::workspace_bin`] (not `CARGO_BIN_EXE_nl3-okta-hook`, which Cargo builds with the test
/// run's features: the two builds differ, and one would replace the other's file while tests run
/// in parallel).
pub async fn emulated_hook(env: Vec<(String, String)>) -> Emulator {
    Emulator::start_binary(&crate::workspace_bin("nl3-okta-hook", "nl3-okta-hook"), env).await
}

impl Emulator {
    /// The emulator with `binary` attached (the hook's `nl3-okta-hook`, the admin crate's
    /// `nl3-okta-sentinel` …), which gets only `env` and the Lambda runtime's variables.
    pub async fn start_binary(binary: &Path, env: Vec<(String, String)>) -> Self {
        let port = crate::free_port();
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
            .wait_for("the emulator to start", |lines| {
                lines.iter().any(|l| l.contains("starting Runtime server"))
            })
            .await;
        // It says so before it listens: under load the function's first request to the Runtime
        // API could be refused, the function would exit, and every invoke would wait for it.
        accepting(port, LISTEN_TIMEOUT, &emulator_logs).await;

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
            emulator_logs,
            invoke_timeout: INVOKE_TIMEOUT,
            _emulator: emulator,
            function: Mutex::new(function),
        }
    }

    /// Invocations time out after `timeout` instead of [`INVOKE_TIMEOUT`].
    pub fn with_invoke_timeout(mut self, timeout: Duration) -> Self {
        self.invoke_timeout = timeout;
        self
    }

    /// A test failure's message: `why`, whether the function still runs, and what the emulator
    /// and the function printed.
    fn failure(&self, why: &str) -> String {
        let function = match self.function.lock().unwrap().try_wait() {
            Ok(Some(status)) => format!("the function has exited ({status})"),
            Ok(None) => "the function is running".to_string(),
            Err(e) => format!("the function's state is unknown ({e})"),
        };
        format!(
            "{why}; {function}\n--- the emulator printed:\n{}\n--- the function printed:\n{}",
            self.emulator_logs.snapshot().join("\n"),
            self.function_logs.snapshot().join("\n")
        )
    }

    /// `cargo lambda invoke` with `data` (how the event is given): its JSON output, within the
    /// invoke timeout ([`INVOKE_TIMEOUT`] unless set).
    async fn cargo_lambda_invoke(&self, what: &str, data: &[&str]) -> Value {
        let invoke = Command::new(cargo_lambda())
            .args(["lambda", "invoke", "--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &self.port.to_string()])
            .args(data)
            .args(["--output-format", "json"])
            .current_dir(crate::workspace_root())
            // A timed-out invoke is dropped, and with it the process.
            .kill_on_drop(true)
            .output();
        let output = match tokio::time::timeout(self.invoke_timeout, invoke).await {
            Ok(output) => output.expect("run cargo lambda invoke"),
            Err(_) => panic!(
                "{}",
                self.failure(&format!(
                    "invoke {what}: no answer within {:?}",
                    self.invoke_timeout
                ))
            ),
        };
        assert!(
            output.status.success(),
            "{}",
            self.failure(&format!(
                "invoke {what} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ))
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "{}",
                self.failure(&format!(
                    "invoke {what}: the answer is not JSON ({e}): {}",
                    String::from_utf8_lossy(&output.stdout)
                ))
            )
        })
    }

    /// `cargo lambda invoke --data-file <event>` (relative to the workspace's root): the
    /// function's API Gateway response.
    pub async fn invoke_file(&self, event: &str) -> Value {
        self.cargo_lambda_invoke(event, &["--data-file", event])
            .await
    }

    /// `cargo lambda invoke --data-ascii <event>`.
    pub async fn invoke_json(&self, event: &Value) -> Value {
        self.cargo_lambda_invoke("an event", &["--data-ascii", &event.to_string()])
            .await
    }

    /// A POST of `event` to the emulator's Lambda Invoke API, as Secrets Manager or EventBridge
    /// invoke a function: the status and the answer (`null` when it is not JSON), within the
    /// invoke timeout ([`INVOKE_TIMEOUT`] unless set).
    pub async fn invoke_api(&self, event: &Value) -> (u16, Value) {
        let url = format!(
            "http://127.0.0.1:{}/2015-03-31/functions/_/invocations",
            self.port
        );
        let sent = reqwest::Client::new()
            .post(url)
            .json(event)
            .timeout(self.invoke_timeout)
            .send()
            .await;
        let response = sent.unwrap_or_else(|e| panic!("{}", self.failure(&format!("invoke: {e}"))));
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_else(|e| {
            panic!(
                "{}",
                self.failure(&format!("invoke: reading the answer: {e}"))
            )
        });
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
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

    /// A POST to the emulator's function URL, as Okta would send it, within the invoke
    /// timeout.
    pub async fn post_function_url(&self, authorization: &str, body: &str) -> (u16, Value) {
        let sent = reqwest::Client::new()
            .post(self.function_url("/okta/hook"))
            .header("authorization", authorization)
            .header("content-type", "application/json")
            .body(body.to_string())
            .timeout(self.invoke_timeout)
            .send()
            .await;
        let response = sent.unwrap_or_else(|e| {
            panic!(
                "{}",
                self.failure(&format!("POST to the function URL: {e}"))
            )
        });
        let status = response.status().as_u16();
        let answer = response.json().await.unwrap_or_else(|e| {
            panic!(
                "{}",
                self.failure(&format!("the function URL's answer ({status}): {e}"))
            )
        });
        (status, answer)
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

/// Waits until something accepts connections on loopback `port` (bounded: the test fails with
/// what the emulator printed), and says how many tries were refused before. Trying again after a
/// refusal is polling the one thing that says the server is ready, a few milliseconds apart.
async fn accepting(port: u16, timeout: Duration, emulator_logs: &Lines) -> u32 {
    let deadline = Instant::now() + timeout;
    let mut refused = 0;
    loop {
        match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            Ok(_) => return refused,
            Err(e) if Instant::now() >= deadline => panic!(
                "the emulator did not accept connections on 127.0.0.1:{port} within \
                 {timeout:?} ({e}): {:#?}",
                emulator_logs.snapshot()
            ),
            Err(_) => {
                refused += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ready_once_the_port_accepts() {
        let port = crate::free_port();
        let logs = Lines::default();
        // The wait is polled first: its first try finds nothing listening, then the port
        // listens, and the wait ends.
        let (refused, _listener) =
            tokio::join!(accepting(port, Duration::from_secs(30), &logs), async {
                std::net::TcpListener::bind(("127.0.0.1", port)).unwrap()
            },);
        assert!(refused >= 1, "the first try was refused");
    }

    #[tokio::test]
    #[should_panic(expected = "did not accept connections")]
    async fn a_port_that_never_listens_fails_the_test() {
        accepting(
            crate::free_port(),
            Duration::from_millis(300),
            &Lines::default(),
        )
        .await;
    }

    /// A function that exits at once (as the hook did when its first request to the Runtime API
    /// was refused) never takes the invocation: the invoke fails, saying so, instead of hanging.
    #[tokio::test]
    #[should_panic(expected = "the function has exited")]
    async fn an_invoke_nobody_answers_fails_with_what_was_printed() {
        let emulator = Emulator::start_binary(Path::new("/bin/true"), Vec::new())
            .await
            .with_invoke_timeout(Duration::from_secs(3));
        emulator.invoke_json(&serde_json::json!({})).await;
    }
}

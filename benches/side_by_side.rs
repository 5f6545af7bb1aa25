//! `make bench`: the hook and NL3's reference handler, side by side, through the same Lambda
//! Runtime API path and the same loopback stand-ins for NL3 and ipinfo.
//!
//! A minimal Runtime API server (below) hands each process API Gateway events and times the
//! answers. Per implementation: cold answer (process spawn → first answer, median of
//! BENCH_COLD_RUNS), warm answer p50/p99 over BENCH_N calls, peak RSS (VmHWM), ipinfo calls
//! during the warm phase; for the hook with `SECRET_ID` (against moto), Secrets Manager calls per
//! 1,000 warm invocations (from its EMF lines). Then what a warm call costs the machine: CPU time
//! (user + kernel, all threads, from `/proc/<pid>/task/*/schedstat`), context switches (from
//! `/proc/<pid>/task/*/status`), and instructions (`valgrind --tool=callgrind`, the difference
//! between two runs of different lengths, so start-up cancels out).
//!
//! `BENCH_ONLY=instructions` prints the hook's instructions per call and nothing else.
//!
//! NL3's sample handler comes from `NL3_REFERENCE_DIR` (default `../shared/reference`, where this
//! team keeps it); without it the hook's own figures are printed and the side-by-side skipped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const API_KEY: &str = "local-dev-api-key";
const SIGNING_KEY_B64: &str = "bG9jYWwtZGV2LXNpZ25pbmcta2V5";
const WAIT: Duration = Duration::from_secs(60);

/// A queued invocation: the event, and where to send the answer.
struct Invocation {
    event: String,
    answered: oneshot::Sender<String>,
}

/// The Lambda Runtime API, just enough for lambda_runtime and awslambdaric.
struct RuntimeApi {
    port: u16,
    queue: mpsc::UnboundedSender<Invocation>,
}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<String>>>>;

impl RuntimeApi {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (queue, rx) = mpsc::unbounded_channel::<Invocation>();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let pending: Pending = Arc::default();
        tokio::spawn(async move {
            let ids = Arc::new(Mutex::new(0u64));
            while let Ok((socket, _)) = listener.accept().await {
                let _ = socket.set_nodelay(true);
                let (rx, pending, ids) = (rx.clone(), pending.clone(), ids.clone());
                tokio::spawn(serve(socket, rx, pending, ids));
            }
        });
        Self { port, queue }
    }

    /// Queues one event and waits for its answer.
    async fn invoke(&self, event: &str) -> String {
        let (answered, answer) = oneshot::channel();
        self.queue
            .send(Invocation {
                event: event.into(),
                answered,
            })
            .unwrap();
        tokio::time::timeout(WAIT, answer)
            .await
            .expect("no answer within 60 s")
            .expect("runtime API dropped the invocation")
    }
}

async fn serve(
    socket: TcpStream,
    rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>>,
    pending: Pending,
    ids: Arc<Mutex<u64>>,
) {
    let mut reader = BufReader::new(socket);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_string();
        let (status, headers, payload) = if path.ends_with("/invocation/next") {
            let Some(invocation) = rx.lock().await.recv().await else {
                return;
            };
            let id = {
                let mut n = ids.lock().unwrap();
                *n += 1;
                format!("bench-{n}")
            };
            pending
                .lock()
                .unwrap()
                .insert(id.clone(), invocation.answered);
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 10_000;
            let headers = format!(
                "Lambda-Runtime-Aws-Request-Id: {id}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000;Sampled=0\r\n"
            );
            (200, headers, invocation.event.into_bytes())
        } else if path.contains("/invocation/") {
            // …/invocation/{id}/response or …/{id}/error
            let id = path.split('/').rev().nth(1).unwrap_or("").to_string();
            let text = String::from_utf8_lossy(&body).to_string();
            let text = if path.ends_with("/error") {
                format!("ERROR {text}")
            } else {
                text
            };
            if let Some(tx) = pending.lock().unwrap().remove(&id) {
                let _ = tx.send(text);
            }
            (202, String::new(), b"{}".to_vec())
        } else {
            eprintln!(
                "runtime API: {request_line}{}",
                String::from_utf8_lossy(&body)
            );
            (202, String::new(), b"{}".to_vec())
        };
        let head = format!(
            "HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n",
            payload.len()
        );
        // One write, as real Runtime APIs answer (Lambda's sets TCP_NODELAY, as Go does): two
        // small writes on a kept-alive connection would wait on Nagle and the client's delayed
        // ACK, 40 ms each.
        let mut answer = head.into_bytes();
        answer.extend_from_slice(&payload);
        if reader.get_mut().write_all(&answer).await.is_err() {
            return;
        }
    }
}

/// What is measured for one implementation.
#[derive(Default)]
struct Figures {
    cold: Vec<Duration>,
    warm: Vec<Duration>,
    peak_rss_kb: u64,
    ipinfo_calls_warm: usize,
    secrets_calls_warm: Option<f64>,
    /// CPU time per warm call, all threads, user + kernel.
    cpu_per_call: Duration,
    /// Context switches per warm call, all threads, voluntary + not.
    switches_per_call: f64,
}

/// CPU time (ns) and context switches of every thread of `pid` so far.
fn cpu_and_switches(pid: u32) -> (u64, u64) {
    let mut cpu_ns = 0;
    let mut switches = 0;
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return (0, 0);
    };
    for task in tasks.flatten() {
        let dir = task.path();
        if let Ok(stat) = std::fs::read_to_string(dir.join("schedstat")) {
            cpu_ns += stat
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
        if let Ok(status) = std::fs::read_to_string(dir.join("status")) {
            switches += status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    (cpu_ns, switches)
}

struct Implementation {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn spawn(implementation: &Implementation, runtime_port: u16) -> Child {
    Command::new(&implementation.program)
        .args(&implementation.args)
        .current_dir(ROOT)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(implementation.env.iter().cloned())
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("127.0.0.1:{runtime_port}"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("_HANDLER", "nl3_reference_handler.lambda_handler")
        .env("LAMBDA_TASK_ROOT", "/tmp")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", implementation.program.display()))
}

fn assert_allowed(name: &str, answer: &str) {
    let response: Value = serde_json::from_str(answer)
        .unwrap_or_else(|_| panic!("{name}: not an API Gateway response: {answer}"));
    let body: Value =
        serde_json::from_str(response["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
    assert!(
        response["statusCode"] == 200 && body.is_object() && body.get("error").is_none(),
        "{name}: expected an allowed answer, got {answer}"
    );
}

async fn measure(
    implementation: &Implementation,
    event: &str,
    ipinfo: &MockServer,
    n: usize,
    cold_runs: usize,
) -> Figures {
    let mut figures = Figures::default();
    for run in 0..cold_runs {
        let api = RuntimeApi::start().await;
        let started = Instant::now();
        let mut child = spawn(implementation, api.port);
        let answer = api.invoke(event).await;
        figures.cold.push(started.elapsed());
        assert_allowed(implementation.name, &answer);
        if run + 1 < cold_runs {
            let _ = child.kill().await;
            continue;
        }
        // The last process stays for the warm phase.
        let stdout = child.stdout.take().unwrap();
        let secrets_calls = Arc::new(Mutex::new(0f64));
        let counted = secrets_calls.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if let Some(n) = v.get("SecretsRefresh").and_then(Value::as_f64) {
                        *counted.lock().unwrap() += n;
                    }
                }
            }
        });
        for _ in 0..20 {
            api.invoke(event).await; // settle: connection pools, caches
        }
        let ipinfo_before = ipinfo.received_requests().await.unwrap_or_default().len();
        *secrets_calls.lock().unwrap() = 0.0;
        let pid = child.id().unwrap_or(0);
        let (cpu_before, switches_before) = cpu_and_switches(pid);
        for _ in 0..n {
            let started = Instant::now();
            let answer = api.invoke(event).await;
            figures.warm.push(started.elapsed());
            assert_allowed(implementation.name, &answer);
        }
        let (cpu_after, switches_after) = cpu_and_switches(pid);
        figures.cpu_per_call = Duration::from_nanos((cpu_after - cpu_before) / n as u64);
        figures.switches_per_call = (switches_after - switches_before) as f64 / n as f64;
        figures.ipinfo_calls_warm =
            ipinfo.received_requests().await.unwrap_or_default().len() - ipinfo_before;
        figures.peak_rss_kb = peak_rss_kb(child.id().unwrap_or(0));
        if implementation.env.iter().any(|(k, _)| k == "SECRET_ID") {
            figures.secrets_calls_warm = Some(*secrets_calls.lock().unwrap() * 1000.0 / n as f64);
        }
        let _ = child.kill().await;
    }
    figures
}

fn percentile(values: &[Duration], p: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// moto's Secrets Manager with the hook's secret in it.
async fn start_moto() -> (Child, String) {
    let mut child = Command::new(format!("{ROOT}/.venv/bin/moto_server"))
        .args(["-H", "127.0.0.1", "-p", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("moto_server (run `make setup`)");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(at) = line.find("http://") {
                return line[at..].trim().to_string();
            }
        }
        panic!("moto exited")
    })
    .await
    .unwrap();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
        .endpoint_url(&url)
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "b", "b", None, None, "bench",
        ))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
        .create_secret()
        .name("nl3/okta-hook")
        .secret_string(
            json!({"API_KEY": API_KEY, "SIGNING_KEY": SIGNING_KEY_B64, "IPINFO_TOKEN": "t"})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    (child, url)
}

/// The release binary (`BENCH_HOOK_BINARY` names another, e.g. the zip's `bootstrap`).
fn hook_binary() -> PathBuf {
    if let Ok(path) = std::env::var("BENCH_HOOK_BINARY") {
        return PathBuf::from(path);
    }
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--release", "--bin", "nl3-okta-hook"])
        .current_dir(ROOT)
        .status()
        .unwrap();
    assert!(status.success());
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| format!("{ROOT}/target"));
    Path::new(&target).join("release/nl3-okta-hook")
}

/// Reads and drops what the process prints, so a full pipe never blocks it.
fn drain(child: &mut Child) {
    if let Some(stdout) = child.stdout.take() {
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(_)) = lines.next_line().await {}
        });
    }
}

/// How much a 6 MB event (Lambda's largest; Okta sends a few KB) raises the process's peak memory:
/// a REST event whose body is JSON text, so every quote in it is escaped and decoding it the
/// usual way would need a copy.
async fn peak_memory_for_a_6mb_event(implementation: &Implementation, event: &str) -> (f64, f64) {
    let api = RuntimeApi::start().await;
    let mut child = spawn(implementation, api.port);
    drain(&mut child);
    for _ in 0..20 {
        api.invoke(event).await;
    }
    let pid = child.id().unwrap_or(0);
    let before = peak_rss_kb(pid);
    let mut big: Value = serde_json::from_str(event).unwrap();
    let padding = "{\"k\":\"v\"},".repeat(6 * 1024 * 1024 / 12);
    big["body"] = json!(format!("{{\"padding\":[{padding}{{}}]}}"));
    let big = big.to_string();
    let answer = api.invoke(&big).await;
    let status = serde_json::from_str::<Value>(&answer).unwrap_or_default()["statusCode"].clone();
    assert_eq!(
        status,
        400,
        "the 6 MB event is refused: {}",
        &answer[..answer.len().min(300)]
    );
    let after = peak_rss_kb(pid);
    let _ = child.kill().await;
    let event_mb = big.len() as f64 / 1024.0 / 1024.0;
    ((after - before) as f64 / 1024.0, event_mb)
}

/// Instructions one warm call executes, from two runs under callgrind of `short` and `long` warm
/// calls (the difference divided by the extra calls, so start-up and the settling calls cancel
/// out). `None` when valgrind is not installed.
async fn instructions_per_call(implementation: &Implementation, event: &str) -> Option<f64> {
    if std::process::Command::new("valgrind")
        .arg("--version")
        .output()
        .is_err()
    {
        return None;
    }
    let (short, long) = (20usize, 120usize);
    let mut totals = Vec::new();
    for calls in [short, long] {
        let out = std::env::temp_dir().join(format!(
            "bench-callgrind-{}-{calls}.out",
            std::process::id()
        ));
        let mut args = vec![
            "--tool=callgrind".to_string(),
            format!("--callgrind-out-file={}", out.display()),
            implementation.program.display().to_string(),
        ];
        args.extend(implementation.args.iter().cloned());
        let under_valgrind = Implementation {
            name: implementation.name,
            program: PathBuf::from("valgrind"),
            args,
            env: implementation.env.clone(),
        };
        let api = RuntimeApi::start().await;
        let mut child = spawn(&under_valgrind, api.port);
        drain(&mut child);
        for _ in 0..calls + 5 {
            let answer = api.invoke(event).await;
            assert_allowed(implementation.name, &answer);
        }
        // SIGTERM: valgrind writes the profile as the process ends.
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().unwrap_or(0).to_string()])
            .status();
        let _ = tokio::time::timeout(WAIT, child.wait()).await;
        let text = std::fs::read_to_string(&out).ok()?;
        if std::env::var_os("BENCH_KEEP_CALLGRIND").is_some() {
            println!(
                "callgrind profile kept: {} ({calls} warm calls)",
                out.display()
            );
        } else {
            let _ = std::fs::remove_file(&out);
        }
        let total: f64 = text
            .lines()
            .find_map(|l| {
                l.strip_prefix("summary:")
                    .or_else(|| l.strip_prefix("totals:"))
            })?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        totals.push(total);
    }
    Some((totals[1] - totals[0]) / (long - short) as f64)
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let cold_runs: usize = std::env::var("BENCH_COLD_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let reference_dir = std::env::var("NL3_REFERENCE_DIR")
        .unwrap_or_else(|_| format!("{ROOT}/../shared/reference"));

    // NL3 answers `locked` as a boolean: the reference reads the string "false" as locked (the
    // bug the hook fixes), and the comparison needs both on their happy path.
    let nl3 = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"locked": false, "message": "ok", "status": "ok"})),
        )
        .mount(&nl3)
        .await;
    Mock::given(method("HEAD"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&nl3)
        .await;
    let ipinfo = MockServer::start().await;
    let sample: Value =
        serde_json::from_str(include_str!("../tests/fixtures/ipinfo-1.1.1.1.json")).unwrap();
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(sample))
        .mount(&ipinfo)
        .await;
    let event = std::fs::read_to_string(format!("{ROOT}/events/rest/token-unlocked.json")).unwrap();

    let common_env = |extra: &[(&str, String)]| {
        let mut env: Vec<(String, String)> = [
            ("APP_URI", "https://app.example.com".to_string()),
            ("API_URI", nl3.uri()),
            ("API_PATH", "/nl3/api/v1/accountProtectionCheck".into()),
            ("IPINFO_URL", ipinfo.uri()),
            ("LOCKED_MESSAGE", "Locked.".into()),
            ("AWS_LAMBDA_LOG_LEVEL", "WARN".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        env
    };
    let env_secrets = [
        ("API_KEY", API_KEY.to_string()),
        ("SIGNING_KEY", SIGNING_KEY_B64.to_string()),
        ("IPINFO_TOKEN", "t".to_string()),
    ];

    let hook = Implementation {
        name: "nl3-okta-hook",
        program: hook_binary(),
        args: vec![],
        env: common_env(&env_secrets),
    };
    let (_moto, moto_url) = start_moto().await;
    let hook_sm = Implementation {
        name: "nl3-okta-hook (SECRET_ID)",
        program: hook.program.clone(),
        args: vec![],
        env: common_env(&[
            ("SECRET_ID", "nl3/okta-hook".into()),
            ("AWS_ENDPOINT_URL", moto_url),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "bench".into()),
            ("AWS_SECRET_ACCESS_KEY", "bench".into()),
        ]),
    };
    let have_reference = Path::new(&reference_dir)
        .join("nl3_reference_handler.py")
        .exists();
    let reference = Implementation {
        name: "NL3 reference (Python)",
        program: PathBuf::from(format!("{ROOT}/.venv/bin/python")),
        args: vec![
            "-m".into(),
            "awslambdaric".into(),
            "nl3_reference_handler.lambda_handler".into(),
        ],
        env: {
            let mut env = common_env(&env_secrets);
            env.push(("PYTHONPATH".into(), reference_dir.clone()));
            env
        },
    };

    if std::env::var("BENCH_ONLY").as_deref() == Ok("instructions") {
        // For iterating on the hook's cost: callgrind's count only, for the hook alone.
        let i = instructions_per_call(&hook, &event).await;
        println!(
            "{}: {} instructions per warm call",
            hook.program.display(),
            i.map_or("n/a (no valgrind)".into(), |i| format!("{i:.0}"))
        );
        return;
    }
    println!(
        "measuring: {cold_runs} cold starts and {n} warm calls each (BENCH_COLD_RUNS, BENCH_N)\n"
    );
    let h = measure(&hook, &event, &ipinfo, n, cold_runs).await;
    let hs = measure(&hook_sm, &event, &ipinfo, n, cold_runs).await;
    let r = if have_reference {
        Some(measure(&reference, &event, &ipinfo, n, cold_runs).await)
    } else {
        None
    };

    let row = |name: &str, f: &Figures| {
        println!(
            "{name:<28} {:>12} {:>12} {:>12} {:>10.1} MB {:>14} {:>14}",
            ms(percentile(&f.cold, 0.5)),
            ms(percentile(&f.warm, 0.5)),
            ms(percentile(&f.warm, 0.99)),
            f.peak_rss_kb as f64 / 1024.0,
            f.ipinfo_calls_warm,
            f.secrets_calls_warm
                .map_or("n/a".into(), |v| format!("{v:.1}")),
        )
    };
    println!(
        "{:<28} {:>12} {:>12} {:>12} {:>13} {:>14} {:>14}",
        "", "cold answer", "warm p50", "warm p99", "peak RSS", "ipinfo calls", "SM calls/1000"
    );
    row(hook.name, &h);
    row(hook_sm.name, &hs);
    if let Some(r) = &r {
        row(reference.name, r);
    }

    let (grew_mb, event_mb) = peak_memory_for_a_6mb_event(&hook, &event).await;
    println!(
        "\na {event_mb:.1} MB event (answered 400) raised the hook's peak memory by {grew_mb:.1} MB: {:.1} copies of it",
        grew_mb / event_mb
    );

    println!("\nwhat one warm call costs the machine (CPU: user + kernel, all threads)");
    let h_instructions = instructions_per_call(&hook, &event).await;
    let r_instructions = match &r {
        Some(_) => instructions_per_call(&reference, &event).await,
        None => None,
    };
    let cost = |name: &str, f: &Figures, instructions: Option<f64>| {
        println!(
            "{name:<28} {:>10.0} µs CPU {:>8.1} context switches {:>14} instructions",
            f.cpu_per_call.as_secs_f64() * 1e6,
            f.switches_per_call,
            instructions.map_or("n/a (no valgrind)".into(), |i| format!("{:.0}", i)),
        )
    };
    cost(hook.name, &h, h_instructions);
    if let Some(r) = &r {
        cost(reference.name, r, r_instructions);
    }
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    println!(
        "target <= 5 context switches per call: {} ({:.1})",
        verdict(h.switches_per_call <= 5.0),
        h.switches_per_call
    );
    if let Some(i) = h_instructions {
        println!(
            "target <= 250k instructions per call:  {} ({:.0}k)",
            verdict(i <= 250_000.0),
            i / 1000.0
        );
    }

    let Some(r) = r else {
        println!(
            "\nside-by-side skipped: it needs NL3's sample handler (nl3_reference_handler.py), \
             looked for in {reference_dir}; set NL3_REFERENCE_DIR to the directory holding it"
        );
        return;
    };
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let cold = ratio(percentile(&r.cold, 0.5), percentile(&h.cold, 0.5));
    let warm = ratio(percentile(&r.warm, 0.5), percentile(&h.warm, 0.5));
    let warm99 = ratio(percentile(&r.warm, 0.99), percentile(&h.warm, 0.99));
    let cpu = ratio(r.cpu_per_call, h.cpu_per_call);
    let rss = r.peak_rss_kb as f64 / h.peak_rss_kb.max(1) as f64;
    let hook_rss_mb = h.peak_rss_kb.max(hs.peak_rss_kb) as f64 / 1024.0;
    println!("\nreference / hook: cold {cold:.1}x, warm p50 {warm:.1}x, warm p99 {warm99:.1}x, CPU per call {cpu:.1}x, peak RSS {rss:.1}x");
    if let (Some(h), Some(r)) = (h_instructions, r_instructions) {
        println!("reference / hook instructions per call: {:.1}x", r / h);
    }
    println!(
        "target cold answer >= 10x faster: {} ({cold:.1}x)",
        verdict(cold >= 10.0)
    );
    println!(
        "target warm answer >= 5x faster:  {} ({warm:.1}x)",
        verdict(warm >= 5.0)
    );
    println!(
        "target CPU per call >= 20x less:  {} ({cpu:.1}x)",
        verdict(cpu >= 20.0)
    );
    println!(
        "target hook peak RSS <= 30 MB:    {} ({hook_rss_mb:.1} MB)",
        verdict(hook_rss_mb <= 30.0)
    );
    println!(
        "ipinfo calls for one repeated IP over {n} warm calls: hook {}, reference {}",
        h.ipinfo_calls_warm, r.ipinfo_calls_warm
    );
}

//! `make bench`: the hook and NL3's reference handler, side by side, through the same Lambda
//! Runtime API path and the same loopback stand-ins for NL3 and ipinfo.
//!
//! A minimal Runtime API server (`nl3_testkit::runtime_api`) hands each process API Gateway events
//! and times the answers. Per implementation: cold answer (process spawn → first answer, median of
//! BENCH_COLD_RUNS), warm answer p50/p99 over BENCH_N calls, peak RSS (VmHWM), ipinfo calls
//! during the warm phase; for the hook with `SECRET_ID` (against moto), Secrets Manager calls per
//! 1,000 warm invocations (from its EMF lines). Then what a warm call costs the machine: CPU time
//! (user + kernel, all threads, from `/proc/<pid>/task/*/schedstat`), context switches (from
//! `/proc/<pid>/task/*/status`), and instructions (`valgrind --tool=callgrind`, the difference
//! between two runs of different lengths, so start-up cancels out).
//!
//! Then the figure users feel, for both: each process under the CPU share of a 128 MB Lambda
//! function (a cgroup v1 `cpu` quota of 128/1769 of one core, joined before the program's first
//! instruction; skipped with the reason where the machine does not allow it), NL3's stand-in
//! answering after 50 ms. Cold start (spawn → first answer, median of BENCH_COLD_RUNS) and p50/p99
//! of (answer time − NL3's time, measured at its stand-in) over BENCH_CAPPED_N (200) warm calls.
//! A summary closes the run: each figure for both, PASS/MISS against the hook's holds (printed,
//! never asserted).
//!
//! `BENCH_ONLY=instructions` prints the hook's instructions per call and nothing else.
//!
//! NL3's sample handler comes from `NL3_REFERENCE_DIR` (default `../shared/reference`, where this
//! team keeps it); without it the hook's own figures are printed and the side-by-side skipped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nl3_testkit::cgroup::CpuCap;
use nl3_testkit::figures::{ms, peak_rss_kb, percentile};
use nl3_testkit::runtime_api::{
    drain, read_request, spawn, Function as Implementation, RuntimeApi, WAIT,
};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const API_KEY: &str = "local-dev-api-key";
const SIGNING_KEY_B64: &str = "bG9jYWwtZGV2LXNpZ25pbmcta2V5";

/// What NL3's stand-in has held since it was last read: requests it is still answering, and the
/// time from each request fully read to its answer written.
#[derive(Default)]
struct Nl3Held {
    in_flight: usize,
    total: Duration,
}

/// NL3's stand-in: `{"locked": false}` to every POST after `delay`, 200 at once to the hook's
/// warm-up HEAD. `locked` is a boolean: the reference reads the string "false" as locked (the
/// bug the hook fixes), and the comparison needs both on their happy path. It times each request
/// itself, so an implementation's own share of an answer is (answer time − NL3's time), the
/// timer's slack on the delay included in NL3's part.
struct Nl3 {
    url: String,
    delay: Arc<Mutex<Duration>>,
    held: Arc<watch::Sender<Nl3Held>>,
}

impl Nl3 {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let delay = Arc::new(Mutex::new(Duration::ZERO));
        let held = Arc::new(watch::channel(Nl3Held::default()).0);
        let (d, h) = (delay.clone(), held.clone());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let _ = socket.set_nodelay(true);
                tokio::spawn(nl3_serve(socket, d.clone(), h.clone()));
            }
        });
        Self { url, delay, held }
    }

    fn set_delay(&self, delay: Duration) {
        *self.delay.lock().unwrap() = delay;
    }

    /// NL3's time since the last call, once every request it has received is answered (the
    /// caller has its answer, so at most the stand-in's own bookkeeping is left to wait for).
    async fn take(&self) -> Duration {
        let mut held = self.held.subscribe();
        tokio::time::timeout(WAIT, held.wait_for(|h| h.in_flight == 0))
            .await
            .expect("NL3's stand-in still answering after 60 s")
            .expect("NL3's stand-in is gone");
        let mut total = Duration::ZERO;
        self.held
            .send_modify(|h| total = std::mem::take(&mut h.total));
        total
    }
}

async fn nl3_serve(
    socket: TcpStream,
    delay: Arc<Mutex<Duration>>,
    held: Arc<watch::Sender<Nl3Held>>,
) {
    const ANSWER: &str = r#"{"locked":false,"message":"ok","status":"ok"}"#;
    let mut reader = BufReader::new(socket);
    while let Some((request_line, _)) = read_request(&mut reader).await {
        let received = Instant::now();
        held.send_modify(|h| h.in_flight += 1);
        let answer = if request_line.starts_with("POST ") {
            let delay = *delay.lock().unwrap();
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{ANSWER}",
                ANSWER.len()
            )
        } else {
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_string()
        };
        let written = reader.get_mut().write_all(answer.as_bytes()).await;
        held.send_modify(|h| {
            h.in_flight -= 1;
            h.total += received.elapsed();
        });
        if written.is_err() {
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

/// What is measured under the 128 MB CPU cap, NL3 answering after 50 ms.
#[derive(Default)]
struct Capped {
    /// Process spawn → first answer, and NL3's time within it.
    cold: Vec<Duration>,
    cold_nl3: Vec<Duration>,
    /// Warm: NL3's time per call, and the answer time less it (what the implementation adds).
    nl3: Vec<Duration>,
    added: Vec<Duration>,
    /// Warm: per call, the time the process's threads ran, and the time they were ready to run
    /// but had no CPU (the quota spent, or the machine busy); the throttling over all of them.
    ran: Vec<Duration>,
    waited: Vec<Duration>,
    throttled_periods: u64,
    throttled: Duration,
    peak_rss_kb: u64,
}

/// Time the threads of `pid` have spent on a CPU, and ready to run but waiting for one
/// (schedstat's first two fields), so far.
fn ran_and_waited(pid: u32) -> (Duration, Duration) {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten();
    let (ran, waited) = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .map(|stat| {
            let mut fields = stat
                .split_whitespace()
                .map(|v| v.parse::<u64>().unwrap_or(0));
            (fields.next().unwrap_or(0), fields.next().unwrap_or(0))
        })
        .fold((0, 0), |(r, w), (r1, w1)| (r + r1, w + w1));
    (Duration::from_nanos(ran), Duration::from_nanos(waited))
}

async fn measure_capped(
    cap: &CpuCap,
    implementation: &Implementation,
    event: &str,
    nl3: &Nl3,
    n: usize,
    cold_runs: usize,
) -> Capped {
    let implementation = &cap.wrap(implementation);
    let mut capped = Capped::default();
    for run in 0..cold_runs {
        let api = RuntimeApi::start().await;
        nl3.take().await;
        let started = Instant::now();
        let mut child = spawn(implementation, api.port);
        drain(&mut child);
        let answer = api.invoke(event).await;
        capped.cold.push(started.elapsed());
        capped.cold_nl3.push(nl3.take().await);
        assert_allowed(implementation.name, &answer);
        if run + 1 < cold_runs {
            let _ = child.kill().await;
            continue;
        }
        // The last process stays for the warm calls.
        for _ in 0..20 {
            api.invoke(event).await; // settle: connection pools, caches
        }
        nl3.take().await;
        let pid = child.id().unwrap_or(0);
        let throttled_before = cap.throttling();
        for _ in 0..n {
            let (ran_before, waited_before) = ran_and_waited(pid);
            let started = Instant::now();
            let answer = api.invoke(event).await;
            let elapsed = started.elapsed();
            let (ran, waited) = ran_and_waited(pid);
            capped.ran.push(ran.saturating_sub(ran_before));
            capped.waited.push(waited.saturating_sub(waited_before));
            let upstream = nl3.take().await;
            capped.nl3.push(upstream);
            capped.added.push(elapsed.saturating_sub(upstream));
            assert_allowed(implementation.name, &answer);
        }
        let throttled_after = cap.throttling();
        capped.throttled_periods = throttled_after.0 - throttled_before.0;
        capped.throttled = throttled_after.1.saturating_sub(throttled_before.1);
        capped.peak_rss_kb = peak_rss_kb(child.id().unwrap_or(0));
        let _ = child.kill().await;
    }
    capped
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

    let capped_n: usize = std::env::var("BENCH_CAPPED_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let began = Instant::now();

    let nl3 = Nl3::start().await;
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
            ("API_URI", nl3.url.clone()),
            ("API_PATH", "/nl3/api/v1/accountProtectionCheck".into()),
            ("IPINFO_URL", ipinfo.uri()),
            ("LOCKED_MESSAGE", "Locked.".into()),
            ("AWS_LAMBDA_LOG_LEVEL", "WARN".into()),
            // awslambdaric's handler (the hook ignores it).
            ("_HANDLER", "nl3_reference_handler.lambda_handler".into()),
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
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    match &r {
        Some(r) => {
            let cold = ratio(percentile(&r.cold, 0.5), percentile(&h.cold, 0.5));
            let warm = ratio(percentile(&r.warm, 0.5), percentile(&h.warm, 0.5));
            let warm99 = ratio(percentile(&r.warm, 0.99), percentile(&h.warm, 0.99));
            let cpu = ratio(r.cpu_per_call, h.cpu_per_call);
            let rss = r.peak_rss_kb as f64 / h.peak_rss_kb.max(1) as f64;
            println!("\nreference / hook: cold {cold:.1}x, warm p50 {warm:.1}x, warm p99 {warm99:.1}x, CPU per call {cpu:.1}x, peak RSS {rss:.1}x");
            if let (Some(h), Some(r)) = (h_instructions, r_instructions) {
                println!("reference / hook instructions per call: {:.1}x", r / h);
            }
            println!(
                "ipinfo calls for one repeated IP over {n} warm calls: hook {}, reference {}",
                h.ipinfo_calls_warm, r.ipinfo_calls_warm
            );
        }
        None => println!(
            "\nside-by-side skipped: it needs NL3's sample handler (nl3_reference_handler.py), \
             looked for in {reference_dir}; set NL3_REFERENCE_DIR to the directory holding it"
        ),
    }

    // The figure users feel: a 128 MB function's CPU share, NL3's own time taken out.
    let nl3_delay = Duration::from_millis(50);
    println!(
        "\nunder a 128 MB Lambda's CPU (cgroup v1 cpu quota {} µs every {} µs), NL3 answering after {} ms",
        CpuCap::quota_us(),
        CpuCap::PERIOD_US,
        nl3_delay.as_millis()
    );
    let capped = match CpuCap::create() {
        Err(why) => {
            println!("128 MB CPU cap skipped: {why}");
            Err(why)
        }
        Ok(cap) => {
            nl3.set_delay(nl3_delay);
            let hc = measure_capped(&cap, &hook, &event, &nl3, capped_n, cold_runs).await;
            let rc = match &r {
                Some(_) => {
                    Some(measure_capped(&cap, &reference, &event, &nl3, capped_n, cold_runs).await)
                }
                None => None,
            };
            nl3.set_delay(Duration::ZERO);
            drop(cap); // the group goes as soon as its processes have
            Ok((hc, rc))
        }
    };
    if let Ok((hc, rc)) = &capped {
        println!(
            "{:<28} {:>12} {:>12} {:>12} {:>12} {:>12}",
            "", "cold start", "NL3 in it", "NL3 p50", "added p50", "added p99"
        );
        let row = |name: &str, c: &Capped| {
            println!(
                "{name:<28} {:>12} {:>12} {:>12} {:>12} {:>12}",
                ms(percentile(&c.cold, 0.5)),
                ms(percentile(&c.cold_nl3, 0.5)),
                ms(percentile(&c.nl3, 0.5)),
                ms(percentile(&c.added, 0.5)),
                ms(percentile(&c.added, 0.99)),
            )
        };
        row(hook.name, hc);
        if let Some(rc) = rc {
            row(reference.name, rc);
        }
        println!(
            "(cold start: spawn → first answer, median of {cold_runs}, NL3's answer included; \
             added: answer time − NL3's time measured at its stand-in, over {capped_n} warm calls)"
        );
        // What the slow calls are made of: the implementation's own work, waiting for a CPU (the
        // quota, or a busy machine), or neither (the stand-ins in this process, the wake-ups).
        for (name, c) in [(hook.name, Some(hc)), (reference.name, rc.as_ref())] {
            let Some(c) = c else { continue };
            let p99 = percentile(&c.added, 0.99);
            let slow: Vec<usize> = (0..c.added.len()).filter(|&i| c.added[i] >= p99).collect();
            let mean = |v: &[Duration]| {
                slow.iter().map(|&i| v[i].as_secs_f64()).sum::<f64>() / slow.len() as f64 * 1e3
            };
            let (added, ran, waited) = (mean(&c.added), mean(&c.ran), mean(&c.waited));
            println!(
                "{name}: its calls at or above added p99 average {added:.2} ms added: {ran:.2} ms \
                 running, {waited:.2} ms ready but waiting for a CPU, {:.2} ms outside the process \
                 (stand-ins, wake-ups); the quota held it back {} over the warm calls ({} CFS periods)",
                // ran and waited span the whole call, NL3's wait too: overlap, never below 0
                (added - ran - waited).max(0.0),
                ms(c.throttled),
                c.throttled_periods
            );
        }
    }

    // The summary: both implementations, each figure against the hook's holds.
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    let mb = |kb: u64| format!("{:.1} MB", kb as f64 / 1024.0);
    let capped_ref = capped.as_ref().ok();
    let hook_rss = h
        .peak_rss_kb
        .max(hs.peak_rss_kb)
        .max(capped_ref.map_or(0, |(hc, _)| hc.peak_rss_kb));
    let ref_rss = r.as_ref().map(|r| {
        r.peak_rss_kb.max(
            capped_ref
                .and_then(|(_, rc)| rc.as_ref())
                .map_or(0, |rc| rc.peak_rss_kb),
        )
    });
    let no_sample = || "n/a".to_string();
    let line = |what: &str, hook: String, sample: String, hold: String| {
        println!("{what:<36} {hook:>12} {sample:>16}   {hold}")
    };
    println!("\n== summary (nothing asserted; the holds are the hook's) ==");
    line("", "hook".into(), "sample handler".into(), "hold".into());
    let us = |d: Duration| format!("{:.0} µs", d.as_secs_f64() * 1e6);
    line(
        "CPU per warm call, uncapped",
        us(h.cpu_per_call),
        r.as_ref().map_or_else(no_sample, |r| us(r.cpu_per_call)),
        match &r {
            Some(r) => {
                let x = ratio(r.cpu_per_call, h.cpu_per_call);
                format!(
                    "{} ≥ 6x less than the sample handler ({x:.1}x)",
                    verdict(x >= 6.0)
                )
            }
            None => "≥ 6x less than the sample handler: n/a (no sample handler)".into(),
        },
    );
    line(
        "context switches per warm call",
        format!("{:.1}", h.switches_per_call),
        r.as_ref()
            .map_or_else(no_sample, |r| format!("{:.1}", r.switches_per_call)),
        format!("{} ≤ 5", verdict(h.switches_per_call <= 5.0)),
    );
    line(
        "peak RSS (max over warm runs)",
        mb(hook_rss),
        ref_rss.map_or_else(no_sample, mb),
        format!("{} ≤ 30 MB", verdict(hook_rss as f64 / 1024.0 <= 30.0)),
    );
    match &capped {
        Ok((hc, rc)) => {
            let cold = percentile(&hc.cold, 0.5);
            let p99 = percentile(&hc.added, 0.99);
            line(
                "cold start, 128 MB CPU cap",
                ms(cold),
                rc.as_ref()
                    .map_or_else(no_sample, |rc| ms(percentile(&rc.cold, 0.5))),
                format!("{} ≤ 100 ms", verdict(cold <= Duration::from_millis(100))),
            );
            line(
                "added p50, 128 MB CPU cap",
                ms(percentile(&hc.added, 0.5)),
                rc.as_ref()
                    .map_or_else(no_sample, |rc| ms(percentile(&rc.added, 0.5))),
                String::new(),
            );
            line(
                "added p99, 128 MB CPU cap",
                ms(p99),
                rc.as_ref()
                    .map_or_else(no_sample, |rc| ms(percentile(&rc.added, 0.99))),
                format!("{} ≤ 2.5 ms", verdict(p99 <= Duration::from_micros(2500))),
            );
        }
        Err(why) => println!("{:<36} not measured: {why}", "128 MB CPU cap figures"),
    }
    println!(
        "\nside-by-side measured in {:.0} s",
        began.elapsed().as_secs_f64()
    );
}

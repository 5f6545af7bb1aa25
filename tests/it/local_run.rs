//! `make run` (local/run.sh) as a user meets it: a taken port is refused before anything starts,
//! naming what holds it; the run is ready only once the hook has answered through the NL3
//! stand-in and the after-sign-in guard's parts run (moto, the Okta stand-in, the receiver, the
//! worker, the SQS event source); a part that stops stops the run; and Ctrl-C, before or after
//! ready, leaves no process of the run behind. Each run here gets free ports and a directory of
//! its own, so a developer's `make run` on 9000-9012 is not disturbed. Linux only (/proc, setsid).

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use nl3_testkit::emulator::Lines;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The first `cargo build` of run.sh's own flavour of the hook can take minutes on 2 cores.
const READY_WITHIN: Duration = Duration::from_secs(900);
const STOPPED_WITHIN: Duration = Duration::from_secs(30);

/// One process as /proc shows it.
#[derive(Clone, Debug)]
struct Proc {
    pid: u32,
    ppid: u32,
    sid: u32,
    zombie: bool,
    start: u64,
    cmd: String,
}

fn processes() -> Vec<Proc> {
    let read = |pid: u32| -> Option<Proc> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // After the command name in parentheses: state, ppid, pgrp, session, … starttime (22nd).
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        Some(Proc {
            pid,
            zombie: fields[0] == "Z",
            ppid: fields[1].parse().ok()?,
            sid: fields[3].parse().ok()?,
            start: fields[19].parse().ok()?,
            cmd: String::from_utf8_lossy(&cmd).replace('\0', " "),
        })
    };
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter_map(read)
        .collect()
}

/// `root` and every process below it.
fn tree(root: u32) -> Vec<Proc> {
    let all = processes();
    let mut keep: HashSet<u32> = HashSet::from([root]);
    loop {
        let before = keep.len();
        for p in &all {
            if keep.contains(&p.ppid) {
                keep.insert(p.pid);
            }
        }
        if keep.len() == before {
            break;
        }
    }
    all.into_iter().filter(|p| keep.contains(&p.pid)).collect()
}

/// Which of `seen` still run (the same process: same pid and start time, not a zombie), and
/// any process still in the run's session.
fn left_over(seen: &[Proc], session: u32) -> Vec<Proc> {
    processes()
        .into_iter()
        .filter(|p| !p.zombie)
        .filter(|p| p.sid == session || seen.iter().any(|s| s.pid == p.pid && s.start == p.start))
        .collect()
}

fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// The ports of one run, as run.sh's variables name them.
#[derive(Clone, Copy, Debug)]
struct Ports {
    invoke: u16,
    events: u16,
    upstreams: u16,
    moto: u16,
    okta: u16,
}

impl Ports {
    /// Five free ports, all different (each held until all are chosen).
    fn free() -> Self {
        let held: Vec<std::net::TcpListener> = (0..5)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let port = |i: usize| held[i].local_addr().unwrap().port();
        Ports {
            invoke: port(0),
            events: port(1),
            upstreams: port(2),
            moto: port(3),
            okta: port(4),
        }
    }

    fn env(&self) -> [(&'static str, String); 5] {
        [
            ("INVOKE_PORT", self.invoke.to_string()),
            ("EVENTS_PORT", self.events.to_string()),
            ("UPSTREAMS_PORT", self.upstreams.to_string()),
            ("MOTO_PORT", self.moto.to_string()),
            ("OKTA_PORT", self.okta.to_string()),
        ]
    }
}

/// local/run.sh with ports and a directory of its own.
struct LocalRun {
    child: Child,
    pid: u32,
    output: Lines,
    ports: Ports,
    dir: PathBuf,
}

fn run_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("local-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

impl LocalRun {
    /// local/run.sh on free ports, in a directory of its own.
    fn start(name: &str, env: &[(&str, String)]) -> Self {
        Self::start_on(Ports::free(), run_dir(name), env)
    }

    /// In a session of its own, as a terminal runs it in a process group of its own (so that
    /// `ctrl_c` reaches exactly what a terminal's Ctrl-C reaches).
    fn start_on(ports: Ports, dir: PathBuf, env: &[(&str, String)]) -> Self {
        let mut child = Command::new("setsid")
            .arg("local/run.sh")
            .current_dir(ROOT)
            .envs(ports.env())
            .env("LOCAL_RUN_DIR", &dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("setsid local/run.sh");
        let output = Lines::default();
        output.collect(child.stdout.take().unwrap());
        output.collect(child.stderr.take().unwrap());
        let pid = child.id().unwrap();
        Self {
            child,
            pid,
            output,
            ports,
            dir,
        }
    }

    fn out(&self) -> String {
        self.output.snapshot().join("\n")
    }

    fn printed(&self, text: &str) -> bool {
        self.output.snapshot().iter().any(|l| l.contains(text))
    }

    /// Waits (bounded) until run.sh prints a line containing `text`; once it has exited, only
    /// as long as its output may still be in the pipe.
    async fn saw(&mut self, text: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut exited_at = None;
        while !self.printed(text) {
            if exited_at.is_none() && self.child.try_wait().unwrap().is_some() {
                exited_at = Some(Instant::now());
            }
            let late = exited_at.is_some_and(|t| t.elapsed() > Duration::from_secs(5));
            if late || Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }

    async fn wait_for(&mut self, text: &str, within: Duration) {
        assert!(
            self.saw(text, within).await,
            "local/run.sh did not print {text:?} (within {within:?}):\n{}",
            self.out()
        );
    }

    async fn exit_within(&mut self, within: Duration) -> ExitStatus {
        tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("local/run.sh still runs {within:?} later:\n{}", self.out()))
            .unwrap()
    }

    /// A terminal's Ctrl-C: SIGINT to the whole foreground process group.
    fn ctrl_c(&self) {
        let sent = std::process::Command::new("kill")
            .args(["-INT", "--", &format!("-{}", self.pid)])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// The processes of the run now: run.sh and everything below it.
    fn processes(&self) -> Vec<Proc> {
        let all = tree(self.pid);
        let me = all.iter().find(|p| p.pid == self.pid).expect("run.sh runs");
        assert_eq!(me.sid, self.pid, "run.sh leads a session of its own");
        all
    }

    /// The processes of the run once one running `program` is among them (bounded).
    async fn processes_with(&self, program: &str) -> Vec<Proc> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let seen = self.processes();
            if seen
                .iter()
                .any(|p| p.cmd.split(' ').next().unwrap_or("").ends_with(program))
            {
                return seen;
            }
            assert!(Instant::now() < deadline, "no {program} among {seen:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ctrl-C: the run says it stopped, exits 0 (as the script intends) and leaves nothing of
    /// `seen` behind.
    async fn ctrl_c_leaves_nothing(&mut self, seen: &[Proc]) {
        self.ctrl_c();
        let status = self.exit_within(STOPPED_WITHIN).await;
        self.wait_for("stopped", STOPPED_WITHIN).await;
        assert_eq!(status.code(), Some(0), "{}", self.out());
        self.assert_nothing_left(seen).await;
    }

    /// Nothing of the run is left: none of `seen`, nothing in its session, its ports free, its
    /// pids file gone. (Bounded: run.sh waits for what it stops, but a process that someone
    /// else killed is reaped by its new parent.)
    async fn assert_nothing_left(&self, seen: &[Proc]) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = left_over(seen, self.pid);
            if left.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "processes of the run still running after it ended: {left:#?}\n{}",
                self.out()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let Ports {
            invoke,
            events,
            upstreams,
            moto,
            okta,
        } = self.ports;
        for (port, part) in [
            (invoke, "the hook"),
            (events, "the receiver and the worker"),
            (upstreams, "the NL3/ipinfo stand-ins"),
            (moto, "moto"),
            (okta, "the Okta stand-in"),
        ] {
            assert!(port_is_free(port), "{part}'s port {port} is free again");
        }
        assert!(!self.dir.join("pids").exists(), "the pids file is gone");
    }

    fn pid_of(&self, part: &str) -> u32 {
        let pids = std::fs::read_to_string(self.dir.join("pids")).unwrap();
        pids.lines()
            .find(|l| l.split('\t').nth(1) == Some(part))
            .and_then(|l| l.split('\t').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {part} in {pids}"))
    }
}

/// A test that fails midway leaves no run behind either: SIGTERM, on which run.sh stops what
/// it started (SIGKILL would leave that running). A run that passed leaves no directory either
/// (one that failed keeps its logs).
impl Drop for LocalRun {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &self.pid.to_string()])
                .status();
        } else if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A program among `seen`: the executable (or, for a script, the script run) ends with it.
fn runs(seen: &[Proc], program: &str) -> bool {
    seen.iter()
        .any(|p| p.cmd.split(' ').take(2).any(|word| word.ends_with(program)))
}

/// run.sh with one of its ports held by this test process: refused at once, naming the port,
/// the part that needs it and this process, and nothing built or started.
async fn refused(which: fn(&Ports) -> u16, what: &str) {
    let ports = Ports::free();
    let held = which(&ports);
    let _holder = std::net::TcpListener::bind(("127.0.0.1", held)).unwrap();
    let mut run = LocalRun::start_on(ports, run_dir("refused"), &[]);
    let status = run.exit_within(STOPPED_WITHIN).await;
    run.wait_for("Nothing was started", STOPPED_WITHIN).await;
    assert_eq!(status.code(), Some(1), "{}", run.out());
    let me = std::process::id();
    assert!(
        run.printed(&format!(
            "127.0.0.1:{held}, for {what}, is taken by pid {me} ("
        )),
        "names the port, the part and what holds it: {}",
        run.out()
    );
    assert!(
        !run.printed("== building"),
        "nothing built or started: {}",
        run.out()
    );
}

#[tokio::test]
async fn a_taken_port_is_refused_before_anything_starts_naming_what_holds_it() {
    refused(|p| p.invoke, "the hook (INVOKE_PORT)").await;
    refused(
        |p| p.events,
        "the guard's receiver and worker (EVENTS_PORT)",
    )
    .await;
    refused(|p| p.upstreams, "the NL3/ipinfo stand-ins (UPSTREAMS_PORT)").await;
    refused(
        |p| p.moto,
        "the local SQS and Secrets Manager, moto (MOTO_PORT)",
    )
    .await;
    refused(|p| p.okta, "the Okta stand-in (OKTA_PORT)").await;
}

#[tokio::test]
async fn ready_only_through_the_nl3_stand_in_and_ctrl_c_leaves_nothing_behind() {
    let mut run = LocalRun::start("ready", &[]);
    run.wait_for("(logs follow; Ctrl-C stops everything)", READY_WITHIN)
        .await;
    assert!(
        run.printed("is ready under cargo lambda watch")
            && run.printed("locked user's event \"locked\", through the NL3"),
        "{}",
        run.out()
    );
    assert!(
        run.printed("ACTIVE, VERIFIED, calls http://127.0.0.1:")
            && run.printed("The after-sign-in guard is ready too"),
        "{}",
        run.out()
    );

    // A second run on the same ports and directory is refused, naming the first.
    let stand_ins = run.pid_of("the NL3/ipinfo stand-ins");
    let mut second = LocalRun::start_on(run.ports, run.dir.clone(), &[]);
    assert_eq!(second.exit_within(STOPPED_WITHIN).await.code(), Some(1));
    let earlier = format!(
        "is taken by an earlier `make run` of this checkout (the NL3/ipinfo stand-ins, pid {stand_ins})"
    );
    second.wait_for(&earlier, STOPPED_WITHIN).await;

    let seen = run.processes_with("tail").await;
    for program in [
        "local_upstreams",
        "cargo-lambda",
        "nl3-okta-hook",
        "moto_server",
        "okta_stand_in/server.py",
        "nl3-okta-events",
        "nl3-okta-guard",
        "local/sqs_source.py",
    ] {
        assert!(
            runs(&seen, program),
            "the run has a process {program:?}: {seen:#?}"
        );
    }
    run.ctrl_c_leaves_nothing(&seen).await;
}

#[tokio::test]
async fn ctrl_c_before_ready_leaves_nothing_behind() {
    let mut run = LocalRun::start("early", &[]);
    run.wait_for(
        "== starting the hook under cargo lambda watch",
        READY_WITHIN,
    )
    .await;
    let seen = run.processes_with("cargo-lambda").await;
    for program in ["local_upstreams", "moto_server", "okta_stand_in/server.py"] {
        assert!(runs(&seen, program), "{program}: {seen:#?}");
    }
    run.ctrl_c_leaves_nothing(&seen).await;
    assert!(!run.printed("is ready"), "{}", run.out());
}

/// A run, once ready, with one part killed: the run stops (exit 1), names the part and leaves
/// nothing behind.
async fn part_stops(name: &str, part: &str) {
    let mut run = LocalRun::start(name, &[]);
    run.wait_for("(logs follow; Ctrl-C stops everything)", READY_WITHIN)
        .await;
    let seen = run.processes_with("tail").await;
    let pid = run.pid_of(part);
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = run.exit_within(STOPPED_WITHIN).await;
    run.wait_for(
        "Everything else this run started is stopped too.",
        STOPPED_WITHIN,
    )
    .await;
    assert_eq!(status.code(), Some(1), "{}", run.out());
    assert!(
        run.printed(&format!("{part} (pid {pid}) stopped.")),
        "{}",
        run.out()
    );
    run.assert_nothing_left(&seen).await;
}

#[tokio::test]
async fn a_part_that_stops_stops_the_run_and_says_which() {
    part_stops("part-stops", "the NL3/ipinfo stand-ins").await;
}

/// The guard's event source stopping silently would leave every event on the queue: it is
/// watched like the other parts.
#[tokio::test]
async fn the_guard_s_event_source_stopping_stops_the_run_too() {
    part_stops(
        "event-source-stops",
        "the SQS event source (local/sqs_source.py)",
    )
    .await;
}

/// `make try` (local/try.sh, on the run's ports and directory) against a ready run: after the
/// hook's table, the Okta stand-in delivers a sign-in of the sample org's locked user and of its
/// unlocked user through the event hook, and try.sh prints what the guard did. The stand-in's
/// own record says the same: the locked user's sessions revoked with their tokens and the user
/// in the quarantine group, nothing done to the unlocked one, no request off Okta's API
/// document. The README shows the very lines try.sh prints. Ctrl-C then stops every part.
#[tokio::test]
async fn make_try_contains_the_locked_user_through_the_guard_and_leaves_the_unlocked_one() {
    const LOCKED: &str = "00uLOCKEDBOB1";
    const UNLOCKED: &str = "00uALICE00001";
    const QUARANTINE: &str = "00gNL3QUARANTIN1";
    let mut run = LocalRun::start("guard", &[]);
    run.wait_for("(logs follow; Ctrl-C stops everything)", READY_WITHIN)
        .await;
    let tried = Command::new("local/try.sh")
        .current_dir(ROOT)
        .envs(run.ports.env())
        .env("LOCAL_RUN_DIR", &run.dir)
        .stdin(Stdio::null())
        .output();
    let tried = tokio::time::timeout(Duration::from_secs(300), tried)
        .await
        .expect("local/try.sh ends within 5 minutes")
        .unwrap();
    let out = String::from_utf8_lossy(&tried.stdout);
    let err = String::from_utf8_lossy(&tried.stderr);
    assert!(tried.status.success(), "{out}\n{err}\n{}", run.out());
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    let documented: Vec<&str> = readme
        .lines()
        .filter(|l| {
            l.starts_with("locked.bob@acme.example ") || l.starts_with("alice@acme.example ")
        })
        .collect();
    assert_eq!(documented.len(), 2, "the README shows both guard lines");
    for line in documented {
        assert!(
            out.lines().any(|l| l == line),
            "try.sh prints the README's line {line:?}:\n{out}"
        );
    }

    let okta_log = std::fs::read_to_string(run.dir.join("okta.log")).unwrap();
    let org = okta_log
        .lines()
        .find_map(|l| l.strip_prefix("seeded org ")?.split(':').next())
        .expect("the Okta stand-in says which org it seeded");
    let state: serde_json::Value = reqwest::get(format!(
        "http://127.0.0.1:{}/__control/orgs/{org}",
        run.ports.okta
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let revoked = &state["sessionsRevoked"];
    assert_eq!(
        revoked[LOCKED].as_array().map(|r| r.len()),
        Some(1),
        "the locked user's sessions revoked once: {revoked:#}"
    );
    assert_eq!(revoked[LOCKED][0]["oauthTokens"], true, "{revoked:#}");
    assert!(
        revoked.get(UNLOCKED).is_none(),
        "nothing revoked for the unlocked user: {revoked:#}"
    );
    let members = state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == QUARANTINE)
        .map(|g| g["members"].clone());
    assert_eq!(
        members,
        Some(serde_json::json!([LOCKED])),
        "the quarantine group holds the locked user alone"
    );
    assert_eq!(
        state["violations"],
        serde_json::json!([]),
        "every request was one Okta's API document allows"
    );

    let seen = run.processes_with("tail").await;
    run.ctrl_c_leaves_nothing(&seen).await;
}

/// What the issue met: something else answering where NL3 should be (there, a stranger on :9010
/// answering 501), and a locked user let in by FAIL_OPEN. Such a run never says it is ready.
#[tokio::test]
async fn not_ready_when_the_hook_cannot_ask_nl3() {
    let stranger = wiremock::MockServer::start().await; // answers 404 to everything
    let settings = std::fs::read_to_string(format!("{ROOT}/local/local.env"))
        .unwrap()
        .replace(
            "API_URI=http://127.0.0.1:9010",
            &format!("API_URI={}", stranger.uri()),
        );
    let dir = run_dir("stranger-settings");
    std::fs::create_dir_all(&dir).unwrap();
    let env_file = dir.join("local.env");
    std::fs::write(&env_file, settings).unwrap();

    let env = [("LOCAL_ENV_FILE", env_file.to_string_lossy().into_owned())];
    let mut run = LocalRun::start("stranger", &env);
    // "Not ready: …" or "… is ready under …", whichever comes first.
    run.wait_for("ready", READY_WITHIN).await;
    assert!(!run.printed("is ready"), "{}", run.out());
    let status = run.exit_within(STOPPED_WITHIN).await;
    let said =
        "Not ready: the hook answered events/rest/token-locked.json (a locked user) \"fail_open\"";
    run.wait_for(said, STOPPED_WITHIN).await;
    assert_eq!(status.code(), Some(1), "{}", run.out());
    assert!(
        !stranger.received_requests().await.unwrap().is_empty(),
        "the hook asked the stranger"
    );
    run.assert_nothing_left(&[]).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

//! What the hook's integration tests (`tests/it/`) and the admin crate's (`admin/tests/it/`) both
//! use: a real Secrets Manager API (moto's server, [`moto`]), cargo-lambda's Lambda emulator
//! ([`emulator`]), stand-ins for NL3 and ipinfo ([`standins`], [`upstreams`]) and for Okta's
//! Management API ([`okta`]), Okta's published inline hook requests ([`hook_requests`]), and the
//! workspace's binaries built through Cargo ([`workspace_bin`]). For the benches: a minimal Lambda
//! Runtime API and the function processes under it ([`runtime_api`]), a 128 MB Lambda's CPU share
//! ([`cgroup`]), and what is read of the processes ([`figures`]).
//!
//! It depends on neither the hook crate nor the admin crate (`.ci/layers.py` checks): what needs
//! the hook's types stays in the hook's tests.

pub mod cgroup;
pub mod emulator;
pub mod figures;
pub mod hook_requests;
pub mod moto;
pub mod okta;
pub mod runtime_api;
pub mod standins;
pub mod upstreams;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::Value;

/// The workspace's root (where `Cargo.lock`, `.venv/`, `events/` and `tests/` are).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit/ is inside the workspace")
}

/// A program from the workspace's `.venv/bin` (`make setup`), or `name` on `PATH` without one.
pub fn venv_program(name: &str) -> PathBuf {
    let venv = workspace_root().join(".venv/bin").join(name);
    if venv.exists() {
        venv
    } else {
        PathBuf::from(name)
    }
}

/// The path of binary `bin` of the workspace package `package`, built for this test process.
///
/// Cargo builds only the binaries of the package under test (and puts their paths in
/// `CARGO_BIN_EXE_*`), so another package's are built here, once per package per test process,
/// by the same Cargo (a no-op when they are up to date). A binary that several test binaries
/// run (the hook's, say) is best taken from here by all of them: each build of it with the
/// same flags gives the same file, so one test never finds it replaced while another runs it.
pub fn workspace_bin(package: &str, bin: &str) -> PathBuf {
    static BUILT: Mutex<BTreeMap<String, Vec<PathBuf>>> = Mutex::new(BTreeMap::new());
    // A build that failed panicked before inserting anything: the next caller tries again.
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    built
        .entry(package.to_string())
        .or_insert_with(|| build_bins(package, &["--bins"]))
        .iter()
        .find(|p| p.file_stem().is_some_and(|f| f == bin))
        .unwrap_or_else(|| panic!("package {package} has no binary {bin}"))
        .clone()
}

/// The paths of binaries `bins` of the workspace package `package`, built with the release
/// profile, as Lambda runs them: what the benches measure. Only those binaries are built (each
/// release link is a whole-program optimisation).
pub fn workspace_release_bins(package: &str, bins: &[&str]) -> Vec<PathBuf> {
    let mut args = vec!["--release"];
    for bin in bins {
        args.extend(["--bin", bin]);
    }
    let built = build_bins(package, &args);
    bins.iter()
        .map(|bin| {
            built
                .iter()
                .find(|p| p.file_stem().is_some_and(|f| f == *bin))
                .unwrap_or_else(|| panic!("package {package} has no binary {bin}"))
                .clone()
        })
        .collect()
}

/// `cargo build --locked -p PACKAGE` with `args` (which binaries, which profile): the
/// executables it reports.
fn build_bins(package: &str, args: &[&str]) -> Vec<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(&cargo)
        .args(["build", "--locked", "-p", package])
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .current_dir(workspace_root())
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo} to build {package}'s binaries: {e}"));
    assert!(out.status.success(), "building {package}'s binaries failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .collect()
}

/// A free loopback port (nothing listens there once this returns).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Standard base64, as NL3's setup stores the hook secret and Okta sends it.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Seconds since the Unix epoch.
pub fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

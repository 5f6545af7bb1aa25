//! The CPU share of a 128 MB Lambda function, for the benches: a cgroup v1 `cpu` group that a
//! function's process joins before its first instruction ([`CpuCap::wrap`]). Creating it needs
//! root and a cgroup v1 `cpu` controller; where there is none, [`CpuCap::create`] says why, and
//! the benches print that instead of the capped figures.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::runtime_api::Function;

const CGROUP_CPU: &str = "/sys/fs/cgroup/cpu";
const CAP_PREFIX: &str = "nl3-okta-hook-bench-";
/// Run by `sh` with the group's `cgroup.procs` and the program: joins the group, then becomes the
/// program, so the process is capped from its first instruction (its cold start is measured).
const JOIN_THEN_EXEC: &str = "echo $$ > \"$1\" && shift && exec \"$@\"";

/// The CPU a 128 MB Lambda function gets. Lambda gives CPU in proportion to memory, one full
/// vCPU at 1,769 MB, so 128/1769 of one core: a cgroup v1 `cpu` group with a CFS quota of
/// 7,236 µs every 100 ms. Removed when dropped (a panic's unwinding included).
pub struct CpuCap {
    dir: PathBuf,
}

impl CpuCap {
    pub const PERIOD_US: u64 = 100_000;

    pub fn quota_us() -> u64 {
        (Self::PERIOD_US as f64 * 128.0 / 1769.0).round() as u64
    }

    /// A child group of the `cpu` controller for this run, or why there cannot be one.
    pub fn create() -> Result<Self, String> {
        let root = Path::new(CGROUP_CPU);
        if !root.join("cpu.cfs_quota_us").exists() {
            return Err(format!("no cgroup v1 `cpu` controller at {CGROUP_CPU}"));
        }
        remove_stale_groups(root);
        let dir = root.join(format!("{CAP_PREFIX}{}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|e| {
            let hint = match e.kind() {
                std::io::ErrorKind::PermissionDenied => "; it needs root",
                _ => "",
            };
            format!("cannot create {} ({e}{hint})", dir.display())
        })?;
        let cap = Self { dir }; // from here on, dropping it removes the group
        cap.write("cpu.cfs_period_us", Self::PERIOD_US)?;
        cap.write("cpu.cfs_quota_us", Self::quota_us())?;
        // A group nothing can join (a container that refuses the write) is found here, not after
        // 60 s of waiting for an answer from a process that never started.
        let joined = std::process::Command::new("/bin/sh")
            .args(["-c", "echo $$ > \"$1\"", "sh"])
            .arg(cap.procs())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !joined {
            return Err(format!("a process cannot join {}", cap.dir.display()));
        }
        Ok(cap)
    }

    /// The CFS periods (100 ms) the group ran out of quota in, and the time it was held back,
    /// so far (`nr_throttled`, `throttled_time` in `cpu.stat`). The time also counts throttles
    /// shorter than a period: a CPU whose slice of the quota ran out while another CPU held the
    /// rest, until the kernel hands the rest over.
    pub fn throttling(&self) -> (u64, Duration) {
        let stat = std::fs::read_to_string(self.dir.join("cpu.stat")).unwrap_or_default();
        let field = |name: &str| {
            stat.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        (
            field("nr_throttled "),
            Duration::from_nanos(field("throttled_time ")),
        )
    }

    pub fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    fn write(&self, file: &str, value: u64) -> Result<(), String> {
        let path = self.dir.join(file);
        std::fs::write(&path, value.to_string())
            .map_err(|e| format!("cannot write {value} to {} ({e})", path.display()))
    }

    /// `function`, started through `sh` that moves itself into the group and then execs
    /// it: the same process, capped from its first instruction (sh's start and exec, well under
    /// a millisecond, count in its cold start).
    pub fn wrap(&self, function: &Function) -> Function {
        let mut args = vec![
            "-c".to_string(),
            JOIN_THEN_EXEC.to_string(),
            "sh".to_string(),
            self.procs().display().to_string(),
            function.program.display().to_string(),
        ];
        args.extend(function.args.iter().cloned());
        Function {
            name: function.name,
            program: PathBuf::from("/bin/sh"),
            args,
            env: function.env.clone(),
        }
    }
}

impl Drop for CpuCap {
    fn drop(&mut self) {
        // A group with a process in it cannot be removed: whatever is left (killed, not yet
        // gone) goes back to the root group first.
        if let Ok(pids) = std::fs::read_to_string(self.procs()) {
            for pid in pids.lines() {
                let _ = std::fs::write(Path::new(CGROUP_CPU).join("cgroup.procs"), pid);
            }
        }
        if let Err(e) = std::fs::remove_dir(&self.dir) {
            eprintln!(
                "cannot remove {} ({e}): rmdir it by hand",
                self.dir.display()
            );
        }
    }
}

/// Groups that interrupted runs left behind: those whose bench process is gone.
fn remove_stale_groups(root: &Path) {
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix(CAP_PREFIX) {
            if !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir(entry.path());
            }
        }
    }
}

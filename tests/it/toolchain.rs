//! No build downloads a toolchain: `cargo lambda build --arm64` (what `sam build` runs for the
//! template's default architecture) without .ci/arm64-toolchain.sh's environment stops instead
//! of running `rustup target add` (the workspace's `skip_target_check`).

use nl3_testkit::emulator::cargo_lambda;

#[tokio::test]
async fn an_arm64_build_without_its_toolchain_stops_and_never_runs_rustup() {
    let root = env!("CARGO_MANIFEST_DIR");
    let scratch = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("arm64-no-download");
    std::fs::create_dir_all(&scratch).unwrap();
    // A rustup that only records how it was called (cargo-lambda runs $RUSTUP when it checks
    // and adds targets).
    let rustup = scratch.join("rustup");
    let calls = scratch.join(format!("rustup-calls-{}", std::process::id()));
    std::fs::write(
        &rustup,
        format!("#!/bin/sh\necho \"$*\" >> '{}'\nexit 1\n", calls.display()),
    )
    .unwrap();
    std::fs::set_permissions(&rustup, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let path = format!(
        "{root}/.venv/bin:{}",
        std::env::var("PATH").unwrap_or_default()
    );
    let out = tokio::process::Command::new(cargo_lambda())
        .args(["lambda", "build", "--arm64", "--bin", "nl3-okta-hook"])
        .current_dir(root)
        .env("PATH", path)
        .env("RUSTUP", &rustup)
        .env("CARGO_TARGET_DIR", scratch.join("target"))
        // No arm64 std, even where rustup has the target: the build must stop at once.
        .env(
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS",
            "--sysroot=/nonexistent",
        )
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "built without an arm64 std?\n{stderr}"
    );
    assert!(
        stderr.contains("error[E0463]: can't find crate for"),
        "stops for want of the arm64 std:\n{stderr}"
    );
    let called = std::fs::read_to_string(&calls).unwrap_or_default();
    assert!(called.is_empty(), "cargo-lambda ran rustup: {called}");
}

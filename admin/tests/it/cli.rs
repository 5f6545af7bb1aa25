//! This crate's binaries as Cargo built them for these tests, and `nl3-okta-admin` run as an
//! admin would.

use std::path::Path;

use serde_json::Value;

/// The path of one of this crate's binaries (`CARGO_BIN_EXE_*`: Cargo builds them before the
/// tests).
pub fn admin_bin(name: &str) -> &'static Path {
    Path::new(match name {
        "nl3-okta-admin" => env!("CARGO_BIN_EXE_nl3-okta-admin"),
        "nl3-okta-rotate" => env!("CARGO_BIN_EXE_nl3-okta-rotate"),
        "nl3-okta-sentinel" => env!("CARGO_BIN_EXE_nl3-okta-sentinel"),
        "nl3-okta-events" => env!("CARGO_BIN_EXE_nl3-okta-events"),
        "nl3-okta-guard" => env!("CARGO_BIN_EXE_nl3-okta-guard"),
        _ => panic!("the admin crate has no binary {name}"),
    })
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// Fails the test unless the exit code is `code`.
    #[track_caller]
    pub fn exits(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "{self:?}");
        self
    }

    /// Fails the test unless stdout contains each of `parts`.
    #[track_caller]
    pub fn says(&self, parts: &[&str]) -> &Self {
        self.has("stdout", &self.stdout, parts)
    }

    /// Fails the test unless stderr contains each of `parts`.
    #[track_caller]
    pub fn complains(&self, parts: &[&str]) -> &Self {
        self.has("stderr", &self.stderr, parts)
    }

    #[track_caller]
    fn has(&self, stream: &str, text: &str, parts: &[&str]) -> &Self {
        for part in parts {
            assert!(text.contains(part), "{stream} lacks {part:?}:\n{self:?}");
        }
        self
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `nl3-okta-admin` with only the given environment (and PATH).
pub async fn admin(args: &[&str], env: &[(String, String)]) -> Run {
    let out = tokio::process::Command::new(admin_bin("nl3-okta-admin"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .await
        .expect("run nl3-okta-admin");
    let run = Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    // Credentials never appear in output.
    for (name, value) in env {
        if matches!(
            name.as_str(),
            "OKTA_API_TOKEN" | "API_KEY" | "OKTA_PRIVATE_KEY" | "GATEWAY_API_KEY"
        ) && value.len() > 3
        {
            assert!(
                !run.stdout.contains(value.as_str()) && !run.stderr.contains(value.as_str()),
                "{name} appears in the output:\n{run:?}"
            );
        }
    }
    run
}

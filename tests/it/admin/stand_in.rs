//! `nl3-okta-admin` run as an admin would, against the Okta stand-in (`nl3_testkit::okta`).

use serde_json::Value;

pub use nl3_testkit::okta::*;

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
    let out = tokio::process::Command::new(crate::helpers::admin_bin("nl3-okta-admin"))
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

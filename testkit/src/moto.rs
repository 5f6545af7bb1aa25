//! Real Secrets Manager and SQS APIs on loopback: moto's server, spoken to by the real AWS SDK.

use std::time::Duration;

/// moto's server (`moto_server`), until stopped or dropped.
pub struct Moto {
    pub url: String,
    child: tokio::process::Child,
}

impl Moto {
    /// Starts `moto_server` on `port` (0: any free port) and waits for it to say where it listens.
    pub async fn start(port: u16) -> Self {
        use tokio::io::AsyncBufReadExt;
        let program = std::env::var("MOTO_SERVER").map_or_else(
            |_| crate::venv_program("moto_server"),
            std::path::PathBuf::from,
        );
        let mut child = tokio::process::Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {} (run `make setup`): {e}", program.display())
            });
        let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let url = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(at) = line.find("Running on http://") {
                    return line[at + "Running on ".len()..].trim().to_string();
                }
            }
            panic!("moto_server exited before listening");
        })
        .await
        .expect("moto_server did not start within 60 s");
        // Keep draining its request log so the pipe never fills and blocks it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { url, child }
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    /// An SDK client for this server, with test credentials: for a test's own calls (creating
    /// and changing secrets), not configured as the hook or the admin side configure theirs.
    pub fn client(&self) -> aws_sdk_secretsmanager::Client {
        use aws_sdk_secretsmanager::config::{Credentials, Region};
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version_latest()
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
    }

    /// An SQS client for this server, with test credentials: for a test's own calls (creating
    /// queues, and receiving and deleting messages as Lambda's SQS event source does).
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        use aws_sdk_sqs::config::{Credentials, Region};
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version_latest()
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
            .build();
        aws_sdk_sqs::Client::from_conf(config)
    }
}

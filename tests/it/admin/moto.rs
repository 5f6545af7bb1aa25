//! moto's Secrets Manager on loopback, for `setup` reading the hook secret through `SECRET_ID`.

use std::time::Duration;

use tokio::io::AsyncBufReadExt;

pub struct Moto {
    pub url: String,
    _child: tokio::process::Child,
}

impl Moto {
    pub async fn start() -> Moto {
        let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/moto_server");
        let program = if std::path::Path::new(venv).exists() {
            venv
        } else {
            "moto_server"
        };
        let mut child = tokio::process::Command::new(program)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program} (run `make setup`): {e}"));
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
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Moto { url, _child: child }
    }

    /// CreateSecret through Secrets Manager's JSON protocol (moto does not check signatures).
    pub async fn create_secret(&self, name: &str, value: &str) {
        let answer = reqwest::Client::new()
            .post(&self.url)
            .header("X-Amz-Target", "secretsmanager.CreateSecret")
            .header("Content-Type", "application/x-amz-json-1.1")
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0",
            )
            .body(serde_json::json!({"Name": name, "SecretString": value}).to_string())
            .send()
            .await
            .expect("CreateSecret");
        assert!(
            answer.status().is_success(),
            "CreateSecret: {}",
            answer.status()
        );
    }

    pub fn env(&self, secret_id: &str) -> Vec<(String, String)> {
        [
            ("SECRET_ID", secret_id),
            ("AWS_ENDPOINT_URL", self.url.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

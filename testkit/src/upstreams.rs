//! NL3 and ipinfo stand-ins ([`crate::standins`]) on loopback, with the test secrets they
//! check and the environment that points the hook at them.

use serde_json::json;
use wiremock::{MockServer, Request};

use crate::b64;
use crate::standins::{self, Expect};

pub const API_KEY: &str = "test-api-key-7f3a";
pub const SIGNING_KEY: &[u8] = b"test-signing-key-0123456789abcdef";
pub const IPINFO_TOKEN: &str = "test-ipinfo-token";
pub const APP_URI: &str = "https://app.example.com";
pub const API_PATH: &str = "/nl3/api/v1/accountProtectionCheck";
/// A user the NL3 stand-in says is locked (its name starts with "locked").
pub const LOCKED_USER: &str = "locked.user@example.com";

/// NL3 and ipinfo stand-ins on loopback.
pub struct Upstreams {
    pub nl3: MockServer,
    pub ipinfo: MockServer,
}

impl Upstreams {
    /// Both stand-ins answering normally.
    pub async fn start() -> Self {
        let upstreams = Self::start_empty().await;
        upstreams.mount_nl3_stand_in().await;
        standins::mount_ipinfo(&upstreams.ipinfo, &upstreams.expect()).await;
        upstreams
    }

    /// What the stand-ins check, from the test secrets.
    pub fn expect(&self) -> Expect {
        Expect {
            apps: vec![(APP_URI.into(), SIGNING_KEY.to_vec())],
            audience: self.nl3.uri(),
            ipinfo_token: IPINFO_TOKEN.into(),
            path: API_PATH.into(),
        }
    }

    /// Both stand-ins, NL3's knowing the default app and `apps` (each `APP_URI` with its
    /// signing key).
    pub async fn start_with_apps(apps: &[(&str, &[u8])]) -> Self {
        let up = Self::start_empty().await;
        let mut expect = up.expect();
        expect.apps.extend(
            apps.iter()
                .map(|(uri, key)| (uri.to_string(), key.to_vec())),
        );
        standins::mount_nl3(&up.nl3, &expect).await;
        standins::mount_ipinfo(&up.ipinfo, &expect).await;
        up
    }

    /// Servers with nothing mounted: each test mounts the behaviour it needs.
    pub async fn start_empty() -> Self {
        Self {
            nl3: MockServer::start().await,
            ipinfo: MockServer::start().await,
        }
    }

    pub async fn mount_nl3_stand_in(&self) {
        standins::mount_nl3(&self.nl3, &self.expect()).await;
    }

    /// NL3's stand-in as the after-sign-in guard asks it: `userDevice` is one of `devices` (the
    /// user agents of the sign-ins it checks).
    pub async fn mount_nl3_for_devices(&self, devices: &[&str]) {
        standins::mount_nl3_for_devices(&self.nl3, &self.expect(), devices).await;
    }

    /// The environment the hook reads, pointing at these stand-ins.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("APP_URI", APP_URI.to_string()),
            ("API_URI", self.nl3.uri()),
            ("API_PATH", API_PATH.to_string()),
            ("IPINFO_URL", self.ipinfo.uri()),
            ("API_KEY", API_KEY.to_string()),
            ("SIGNING_KEY", b64(SIGNING_KEY)),
            ("IPINFO_TOKEN", IPINFO_TOKEN.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    pub async fn nl3_requests(&self) -> Vec<Request> {
        self.nl3.received_requests().await.unwrap_or_default()
    }

    pub async fn ipinfo_requests(&self) -> Vec<Request> {
        self.ipinfo.received_requests().await.unwrap_or_default()
    }
}

/// The secret's JSON as the hook expects it in Secrets Manager.
pub fn secret_json(api_key: &str) -> String {
    json!({"API_KEY": api_key, "SIGNING_KEY": b64(SIGNING_KEY), "IPINFO_TOKEN": IPINFO_TOKEN})
        .to_string()
}

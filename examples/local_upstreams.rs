//! NL3 and ipinfo stand-ins on one loopback port, for `make run` (no internet, no accounts).
//! The same stand-ins the tests use (`nl3_testkit::standins`, testkit/src/standins.rs): NL3 verifies the JWT with the
//! decoded signing key of the application its `iss` names (`APP_URI` + `SIGNING_KEY`, and each
//! `APPS` entry), ipinfo the bearer `IPINFO_TOKEN`; users whose login starts with "locked" are
//! locked.
//!
//! `cargo run --example local_upstreams -- PORT` with the hook's settings in the environment.

use base64::Engine;
use nl3_testkit::standins;

fn setting(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set (see local/local.env)"))
}

#[tokio::main]
async fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(9010);
    let decode = |key: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(key)
            .expect("signing keys are base64")
    };
    let mut apps = vec![(setting("APP_URI"), decode(&setting("SIGNING_KEY")))];
    // Per-application entries (`APPS`): each signs as its own APP_URI with its own key.
    let entries: serde_json::Value =
        serde_json::from_str(&std::env::var("APPS").unwrap_or_else(|_| "{}".into()))
            .expect("APPS is JSON");
    for entry in entries.as_object().into_iter().flat_map(|o| o.values()) {
        if let (Some(uri), Some(key)) = (entry["APP_URI"].as_str(), entry["SIGNING_KEY"].as_str()) {
            apps.push((uri.to_string(), decode(key)));
        }
    }
    let expect = standins::Expect {
        apps,
        audience: setting("API_URI"),
        ipinfo_token: std::env::var("IPINFO_TOKEN").unwrap_or_default(),
        path: setting("API_PATH"),
    };
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("cannot listen on 127.0.0.1:{port}: {e}"));
    let server = wiremock::MockServer::builder()
        .listener(listener)
        .start()
        .await;
    standins::mount_nl3(&server, &expect).await;
    standins::mount_ipinfo(&server, &expect).await;
    println!(
        "NL3 and ipinfo stand-ins on {} (users whose login starts with \"locked\" are locked)",
        server.uri()
    );
    std::future::pending::<()>().await;
}

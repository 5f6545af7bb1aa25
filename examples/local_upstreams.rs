//! NL3 and ipinfo stand-ins on one loopback port, for `make run` (no internet, no accounts).
//! The same stand-ins the tests use (`tests/it/standins.rs`): NL3 verifies the JWT with the
//! decoded `SIGNING_KEY` and `APP_URI`/`API_URI`, ipinfo the bearer `IPINFO_TOKEN`; users whose
//! login starts with "locked" are locked.
//!
//! `cargo run --example local_upstreams -- PORT` with the hook's settings in the environment.

#[path = "../tests/it/standins.rs"]
mod standins;

use base64::Engine;

fn setting(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set (see local/local.env)"))
}

#[tokio::main]
async fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(9010);
    let signing_key = base64::engine::general_purpose::STANDARD
        .decode(setting("SIGNING_KEY"))
        .expect("SIGNING_KEY is base64");
    let expect = standins::Expect {
        apps: vec![(setting("APP_URI"), signing_key)],
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

//! The Lambda entry point: wiring only. The behaviour lives in the library.
//!
//! Tokio's current-thread runtime: the hook's work per call is microseconds of CPU between
//! network waits, and a single thread avoids handing every wake-up to another thread (about 20
//! context switches per call on the multi-threaded runtime, 3 on this one). Concurrent
//! invocations (`AWS_LAMBDA_MAX_CONCURRENCY`) still interleave on it.

use std::process::ExitCode;
use std::sync::Arc;

use nl3_okta_hook::app::App;
use nl3_okta_hook::runtime_api::{self, RuntimeConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let started = std::time::Instant::now();
    nl3_okta_hook::logging::init();
    let config = match RuntimeConfig::from_env() {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(error = %error, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    let app = Arc::new(App::from_env().await);
    let built = started.elapsed();
    // Lambda's init phase runs at full CPU and is not billed against Okta's 3 s: warm up here.
    app.warm_up().await;
    tracing::info!(
        build_ms = built.as_secs_f64() * 1000.0,
        init_ms = started.elapsed().as_secs_f64() * 1000.0,
        workers = config.workers,
        "ready"
    );
    let ended = runtime_api::run(config, move |payload, invocation| {
        let app = app.clone();
        async move { app.answer(&payload, &invocation).await }
    })
    .await;
    match ended {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE, // logged where it happened
    }
}

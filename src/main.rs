//! The Lambda entry point: wiring only. The behaviour lives in the library.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{service_fn, Request};
use nl3_okta_hook::lambda_handler::App;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let started = std::time::Instant::now();
    nl3_okta_hook::logging::init();
    let app = Arc::new(App::from_env().await);
    let built = started.elapsed();
    // Lambda's init phase runs at full CPU and is not billed against Okta's 3 s: warm up here.
    app.warm_up().await;
    tracing::info!(
        build_ms = built.as_secs_f64() * 1000.0,
        init_ms = started.elapsed().as_secs_f64() * 1000.0,
        "ready"
    );
    lambda_http::run_concurrent(service_fn(move |request: Request| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(app.handle(request).await) }
    }))
    .await
}

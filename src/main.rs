//! The Lambda entry point: wiring only. The behaviour lives in the library.
//!
//! Tokio's current-thread runtime: the hook's work per call is microseconds of CPU between
//! network waits, and a single thread avoids handing every wake-up to another thread (about 20
//! context switches per call on the multi-threaded runtime, 3 on this one). Concurrent
//! invocations (`AWS_LAMBDA_MAX_CONCURRENCY`) still interleave on it.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use nl3_okta_hook::app::{App, Invocation};
use nl3_okta_hook::event::HttpEvent;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
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
    lambda_runtime::run_concurrent(service_fn(move |event: LambdaEvent<HttpEvent>| {
        let app = app.clone();
        async move {
            let invocation = Invocation {
                request_id: event.context.request_id.clone(),
                deadline_ms: event.context.deadline,
            };
            Ok::<_, Infallible>(app.handle(event.payload, &invocation).await)
        }
    }))
    .await
}

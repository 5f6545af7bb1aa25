//! The Lambda entry point: wiring only. The behaviour lives in the library.
//!
//! Tokio's current-thread runtime: the hook's work per call is microseconds of CPU between
//! network waits, and a single thread avoids handing every wake-up to another thread (about 20
//! context switches per call on the multi-threaded runtime). Concurrent invocations
//! (`AWS_LAMBDA_MAX_CONCURRENCY`, Managed Instances) still interleave on it: `run_concurrent`.
//!
//! The payload is taken as any JSON value (`RawValue`) and read by the hook itself, so every
//! event Lambda delivers gets an answer, never a deserialization error.

// The compiler's query depth while laying out `main`'s future: the first call's secret read
// runs as a task of its own (the warm-up hands it over), and laying out that task from here, the
// AWS SDK's futures inside the cache's inside lambda_runtime's, passes the default 128.
#![recursion_limit = "256"]

use std::convert::Infallible;
use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use nl3_okta_hook::app::{App, Invocation};
use serde_json::value::RawValue;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let started = std::time::Instant::now();
    nl3_okta_hook::logging::init();
    let app = Arc::new(App::from_env(started).await);
    let built = started.elapsed();
    // Lambda's init phase runs at full CPU and is not billed against Okta's 3 s: warm up here.
    app.warm_up().await;
    tracing::info!(
        build_ms = built.as_secs_f64() * 1000.0,
        init_ms = started.elapsed().as_secs_f64() * 1000.0,
        "ready"
    );
    lambda_runtime::run_concurrent(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let app = app.clone();
        async move {
            let invocation = Invocation {
                request_id: event.context.request_id,
                deadline_ms: event.context.deadline,
                xray_trace_id: event.context.xray_trace_id,
            };
            let answer = app
                .answer(event.payload.get().as_bytes(), &invocation)
                .await;
            // The answer is JSON text already: handed over as it is, not parsed again.
            let answer = RawValue::from_string(String::from_utf8_lossy(&answer).into_owned())
                .unwrap_or_else(|_| RawValue::NULL.to_owned());
            Ok::<_, Infallible>(answer)
        }
    }))
    .await
}

//! `nl3-okta-events`: the receiver of Okta's event hook, behind the same API as the hook.
//! Wiring only; see `nl3_okta_admin::function::events`.
//!
//! The payload is taken as any JSON value and read by the receiver itself, so every event Lambda
//! delivers gets an answer, never a deserialization error.

use std::convert::Infallible;
use std::time::Instant;

use lambda_runtime::{service_fn, LambdaEvent};
use nl3_okta_admin::function::events::{emf, misconfigured, Receiver};
use nl3_okta_admin::logging;
use nl3_okta_admin::settings::{Events, Logs, Metrics, Vars};
use serde_json::value::RawValue;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let vars = Vars::env();
    let logs = Logs::read(&vars);
    logging::init_function(&logs.directives, logs.text);
    let metrics = Metrics::read(&vars);
    let receiver = match Events::read(&vars) {
        Ok(settings) => Receiver::new(settings).await,
        Err(e) => Err(e),
    };
    // Lives as long as the process: each concurrent invocation (Managed Instances) borrows it.
    let (receiver, metrics): (&'static _, &'static _) =
        (Box::leak(Box::new(receiver)), Box::leak(Box::new(metrics)));
    lambda_runtime::run_concurrent(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            let started = Instant::now();
            let payload = event.payload.get().as_bytes();
            let (answer, outcome) = match receiver {
                Ok(receiver) => receiver.answer(payload).await,
                Err(e) => misconfigured(payload, e),
            };
            println!(
                "{}",
                emf(outcome, metrics, started.elapsed().as_secs_f64() * 1000.0)
            );
            Ok::<_, Infallible>(answer)
        },
    ))
    .await
}

//! `nl3-okta-guard`: the after-sign-in guard's worker, fed by the queue through Lambda's SQS
//! event source. Wiring only; see `nl3_okta_admin::function::guard`.

use lambda_runtime::{service_fn, LambdaEvent};
use nl3_okta_admin::function::guard::Worker;
use nl3_okta_admin::settings::{FunctionOkta, Guard, Logs, Metrics, Vars};
use nl3_okta_admin::{logging, secrets};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let vars = Vars::env();
    let logs = Logs::read(&vars);
    logging::init_function(&logs.directives, logs.text);
    let secrets = secrets::client().await;
    let worker = Worker::new(
        Guard::read(&vars),
        FunctionOkta::read(&vars),
        Metrics::read(&vars),
        &secrets,
    )
    .await;
    // Lives as long as the process: each concurrent invocation (Managed Instances) borrows it.
    let worker: &'static Worker = Box::leak(Box::new(worker));
    lambda_runtime::run_concurrent(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, std::convert::Infallible>(worker.invoke(event.payload).await)
    }))
    .await
}

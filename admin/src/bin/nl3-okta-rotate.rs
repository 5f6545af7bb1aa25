//! `nl3-okta-rotate`: the Secrets Manager rotation function of the hook's secret. Wiring only;
//! see `nl3_okta_admin::function::rotate`.

use std::time::Duration;

use lambda_runtime::{service_fn, LambdaEvent};
use nl3_okta_admin::function::{self, rotate};
use nl3_okta_admin::settings::{FunctionOkta, Logs, Rotate, Vars};
use nl3_okta_admin::{logging, secrets};
use serde_json::Value;

/// The template's timeout for this function: the deadline when the runtime gives none.
const TIMEOUT: Duration = Duration::from_secs(120);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let vars = Vars::env();
    let logs = Logs::read(&vars);
    logging::init_function(&logs.directives, logs.text);
    let settings = rotate::Settings {
        rotate: Rotate::read(&vars),
        okta: FunctionOkta::read(&vars),
    };
    let secrets = secrets::client().await;
    // Lives as long as the process: each concurrent invocation (Managed Instances) borrows it.
    let (settings, secrets): (&'static _, &'static _) =
        (Box::leak(Box::new(settings)), Box::leak(Box::new(secrets)));
    lambda_runtime::run_concurrent(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = function::deadline(&event.context, TIMEOUT);
        rotate::handle(event.payload, deadline, settings, secrets)
            .await
            .map_err(|e| lambda_runtime::Diagnostic {
                error_type: "RotationStepFailed".into(),
                error_message: e.to_string(),
            })
    }))
    .await
}

//! `nl3-okta-sentinel`: the scheduled function that checks what only Okta sees (coverage, Okta's
//! failed hook calls, the probe). Wiring only; see `nl3_okta_admin::function::sentinel`.
//!
//! `nl3-okta-sentinel --once EVENT_JSON` makes one run without the Lambda runtime (the same
//! handler), printing the function's result as `{"result": ...}`: for tests and for an operator
//! checking the settings.

use std::time::Instant;

use lambda_runtime::{service_fn, LambdaEvent};
use nl3_okta_admin::function::sentinel;
use nl3_okta_admin::settings::{FunctionOkta, Logs, Metrics, Sentinel, Vars};
use nl3_okta_admin::{logging, secrets};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let vars = Vars::env();
    let logs = Logs::read(&vars);
    logging::init_function(&logs.directives, logs.text);
    let settings = sentinel::Settings {
        sentinel: Sentinel::read(&vars),
        okta: FunctionOkta::read(&vars),
        metrics: Metrics::read(&vars),
        probe_asked: Sentinel::probe_asked(&vars),
    };
    let once_limit = Sentinel::once_limit(&vars);
    let secrets = secrets::client().await;
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => {}
        [flag, event] if flag == "--once" => {
            let event: Value = serde_json::from_str(event).unwrap_or(Value::Null);
            let deadline = Instant::now() + once_limit;
            match sentinel::handle(&event, deadline, &settings, &secrets).await {
                Ok(result) => println!("{}", serde_json::json!({ "result": result })),
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::exit(1);
                }
            }
            return Ok(());
        }
        _ => {
            eprintln!("usage: nl3-okta-sentinel (under the Lambda runtime) | nl3-okta-sentinel --once EVENT_JSON");
            std::process::exit(2);
        }
    }
    // Lives as long as the process: each concurrent invocation (Managed Instances) borrows it.
    let (settings, secrets): (&'static _, &'static _) =
        (Box::leak(Box::new(settings)), Box::leak(Box::new(secrets)));
    lambda_runtime::run_concurrent(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = sentinel::parts_deadline(&event.context, once_limit);
        sentinel::handle(&event.payload, deadline, settings, secrets)
            .await
            .map_err(|e| lambda_runtime::Diagnostic {
                error_type: "SentinelError".into(),
                error_message: e.to_string(),
            })
    }))
    .await
}

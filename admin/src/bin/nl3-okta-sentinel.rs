//! `nl3-okta-sentinel`: the scheduled Lambda function that checks what only Okta sees (coverage,
//! Okta's failed hook calls, the probe). Wiring only; see `nl3_okta_admin::sentinel`.
//!
//! `nl3-okta-sentinel --once EVENT_JSON` makes one run without the Lambda runtime (the same
//! handler), printing the function's result as `{"result": ...}`: for tests and for an operator
//! checking the settings.

use lambda_runtime::{service_fn, LambdaEvent};
use nl3_okta_admin::{function, sentinel};
use serde_json::Value;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    function::init_logging();
    let secrets = function::secrets_manager().await;
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, event] = args.as_slice() {
        if flag == "--once" {
            let event: Value = serde_json::from_str(event).unwrap_or(Value::Null);
            match sentinel::handle(&event, &env, &secrets).await {
                Ok(result) => println!("{}", serde_json::json!({ "result": result })),
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::exit(1);
                }
            }
            return Ok(());
        }
    }
    if !args.is_empty() {
        eprintln!("usage: nl3-okta-sentinel (under the Lambda runtime) | nl3-okta-sentinel --once EVENT_JSON");
        std::process::exit(2);
    }
    let secrets = &secrets;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        sentinel::handle(&event.payload, &env, secrets)
            .await
            .map_err(|e| lambda_runtime::Diagnostic {
                error_type: "SentinelError".into(),
                error_message: e.to_string(),
            })
    }))
    .await
}

//! `nl3-okta-sentinel`: the scheduled Lambda function that checks what only Okta sees (coverage,
//! Okta's failed hook calls, the probe). Wiring only; see `nl3_okta_admin::sentinel`.
//!
//! `nl3-okta-sentinel --once EVENT_JSON` makes one run without the Lambda runtime (the same
//! handler), printing the function's result as `{"result": ...}`: for tests and for an operator
//! checking the settings.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::{service_fn, LambdaEvent};
use nl3_okta_admin::{function, secret, sentinel};
use serde_json::Value;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// No Lambda deadline (`--once`): SENTINEL_ONCE_SECS, default 170 s (the template's timeout less
/// the margin).
fn default_deadline() -> Instant {
    let secs = env("SENTINEL_ONCE_SECS")
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(170);
    Instant::now() + Duration::from_secs(secs)
}

/// The invocation's deadline (epoch ms, `Lambda-Runtime-Deadline-Ms`), less the margin for
/// writing the metrics. cargo-lambda's emulator sends the timeout itself (600000), not a time:
/// a deadline that is not in the future is not one, and the default applies.
fn deadline(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    if deadline_ms <= now_ms {
        tracing::warn!(
            deadline_ms,
            "the runtime's deadline is not a future time; using SENTINEL_ONCE_SECS"
        );
        return default_deadline();
    }
    let left = Duration::from_millis(deadline_ms - now_ms);
    Instant::now() + left.saturating_sub(sentinel::DEADLINE_MARGIN)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    function::init_logging();
    let secrets = secret::secrets_manager().await;
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, event] = args.as_slice() {
        if flag == "--once" {
            let event: Value = serde_json::from_str(event).unwrap_or(Value::Null);
            match sentinel::handle(&event, &env, &secrets, default_deadline()).await {
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
        let deadline = deadline(event.context.deadline);
        sentinel::handle(&event.payload, &env, secrets, deadline)
            .await
            .map_err(|e| lambda_runtime::Diagnostic {
                error_type: "SentinelError".into(),
                error_message: e.to_string(),
            })
    }))
    .await
}

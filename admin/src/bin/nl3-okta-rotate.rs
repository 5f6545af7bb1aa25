//! `nl3-okta-rotate`: the Secrets Manager rotation function of the hook's secret. Wiring only;
//! see `nl3_okta_admin::rotate::handle`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    nl3_okta_admin::function::init_logging();
    let secrets = nl3_okta_admin::secret::secrets_manager().await;
    let secrets = &secrets;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        // Lambda gives the deadline in epoch milliseconds; cargo lambda's emulator gives the
        // time allowed instead (600000): a "deadline" before 2001 is read as that.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let deadline = event.context.deadline;
        let remaining = Duration::from_millis(if deadline < 1_000_000_000_000 {
            deadline
        } else {
            deadline.saturating_sub(now)
        });
        nl3_okta_admin::rotate::handle(
            event.payload,
            remaining,
            &|name| std::env::var(name).ok(),
            secrets,
        )
        .await
        .map_err(|e| lambda_runtime::Diagnostic {
            error_type: "RotationStepFailed".into(),
            error_message: e.to_string(),
        })
    }))
    .await
}

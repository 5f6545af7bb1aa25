//! The Lambda functions of the Okta side: event in, operation, EMF and logs out. What they share
//! is here: the invocation's deadline from `lambda_runtime`'s context, and an Okta client whose
//! credentials come from the function's own secret (`OKTA_SECRET_ID`, never the hook's secret).

pub mod events;
pub mod guard;
pub mod rotate;
pub mod sentinel;

use std::time::{Duration, Instant, SystemTime};

use crate::error::Result;
use crate::okta::OktaClient;
use crate::secrets;
use crate::settings::{FunctionOkta, Okta};

/// The invocation's deadline as an `Instant`. cargo-lambda's emulator gives the function's
/// timeout (e.g. 600000 ms) where Lambda gives an epoch time: a deadline that is not in the
/// future is not one, and `fallback` from now applies.
pub fn deadline(context: &lambda_runtime::Context, fallback: Duration) -> Instant {
    match context.deadline().duration_since(SystemTime::now()) {
        Ok(left) => Instant::now() + left,
        Err(_) => {
            tracing::warn!(
                deadline_ms = context.deadline,
                fallback_s = fallback.as_secs(),
                "the runtime's deadline is not a future time; using the fallback"
            );
            Instant::now() + fallback
        }
    }
}

/// The function's Okta client: `OKTA_ORG_URL`, credentials from `OKTA_SECRET_ID`; 429s are
/// waited out for at most `max_wait` (inside the function's timeout).
pub async fn okta_client(
    okta: &FunctionOkta,
    secrets: &aws_sdk_secretsmanager::Client,
    scopes: &[&'static str],
    max_wait: Duration,
) -> Result<OktaClient> {
    let credentials = secrets::okta_credentials(secrets, &okta.secret_id).await?;
    OktaClient::new(
        Okta {
            org_url: okta.org_url.clone(),
            credentials,
            rate_limit_max_wait: max_wait,
        },
        scopes,
    )
}

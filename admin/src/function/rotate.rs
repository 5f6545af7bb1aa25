//! `nl3-okta-rotate`: Secrets Manager's rotation function for the hook's secret. One step per
//! invocation: the event read (any JSON), the step run within the invocation's time, what it
//! did or why it failed logged, with what a failure leaves behind.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::rotation::{left_behind, scopes as rotation_scopes, Rotation, RotationEvent, Step};
use crate::settings::{FunctionOkta, Rotate};

/// Reads Secrets Manager's rotation event `{"Step", "SecretId", "ClientRequestToken"}` from any
/// JSON; what is missing or wrong is named (values cut short: they are not secrets, but an event
/// may be anything).
pub fn read_event(event: &Value) -> Result<RotationEvent> {
    let expected = "expected Secrets Manager's rotation event \
                    {\"Step\": …, \"SecretId\": …, \"ClientRequestToken\": …}";
    let object = event
        .as_object()
        .ok_or_else(|| Error::Usage(format!("the event is not a JSON object; {expected}")))?;
    let field = |name: &str| match object.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(_) => Err(Error::Usage(format!(
            "the event's {name} is not a non-empty string; {expected}"
        ))),
        None => Err(Error::Usage(format!("the event has no {name}; {expected}"))),
    };
    let step_name = field("Step")?;
    let step = Step::parse(&step_name).ok_or_else(|| {
        Error::Usage(format!(
            "unknown Step {:?}: expected createSecret, setSecret, testSecret or finishSecret",
            step_name.chars().take(64).collect::<String>()
        ))
    })?;
    Ok(RotationEvent {
        step,
        secret_id: field("SecretId")?,
        token: field("ClientRequestToken")?,
    })
}

/// The function's settings, read once at start; an error fails every invocation with it.
pub struct Settings {
    pub rotate: Result<Rotate>,
    pub okta: Result<FunctionOkta>,
}

/// One invocation: runs the event's step before `deadline`, logs what it did or why it failed.
pub async fn handle(
    event: Value,
    deadline: Instant,
    settings: &Settings,
    secrets: &aws_sdk_secretsmanager::Client,
) -> Result<Value> {
    let event = match read_event(&event) {
        Ok(event) => event,
        Err(e) => {
            tracing::error!(error = %e, "rotation event refused");
            return Err(e);
        }
    };
    let remaining = deadline.saturating_duration_since(Instant::now());
    tracing::info!(
        step = event.step.name(),
        secret_id = %event.secret_id,
        version = %event.token,
        remaining_ms = remaining.as_millis() as u64,
        "rotation step started"
    );
    // Leave time to report: the step gives up 2 s before Lambda would end it, and a 429 is
    // waited out only within what remains.
    let budget = remaining.saturating_sub(Duration::from_secs(2));
    let result = tokio::time::timeout(budget, run_step(&event, budget, settings, secrets))
        .await
        .unwrap_or_else(|_| {
            Err(Error::OutOfTime(format!(
                "{} did not finish within the function's timeout ({} s left; Okta's rate limit?)",
                event.step.name(),
                budget.as_secs()
            )))
        });
    match result {
        Ok(lines) => {
            for line in &lines {
                tracing::info!(step = event.step.name(), "{line}");
            }
            tracing::info!(step = event.step.name(), version = %event.token, "rotation step done");
            Ok(json!({"step": event.step.name(), "done": lines}))
        }
        Err(e) => {
            let e = e.left_behind(left_behind(event.step, &event.secret_id, &event.token));
            tracing::error!(step = event.step.name(), version = %event.token, error = %e, "rotation step failed");
            Err(e)
        }
    }
}

async fn run_step(
    event: &RotationEvent,
    budget: Duration,
    settings: &Settings,
    secrets: &aws_sdk_secretsmanager::Client,
) -> Result<Vec<String>> {
    let rotate = settings.rotate.as_ref().map_err(clone_setting)?;
    // finishSecret needs only Secrets Manager; the others check the Okta credentials first, so
    // a misconfigured function fails before it changes anything.
    let okta = match event.step {
        Step::Finish => None,
        _ => {
            let okta = settings.okta.as_ref().map_err(clone_setting)?;
            Some(
                super::okta_client(
                    okta,
                    secrets,
                    &rotation_scopes(rotate.events_url.as_deref()),
                    budget.saturating_sub(Duration::from_secs(3)),
                )
                .await?,
            )
        }
    };
    let rotation = Rotation {
        secrets,
        okta: okta.as_ref(),
        hook_url: rotate.hook_url.clone(),
        expected_header: rotate.api_key_header.clone(),
        grace: rotate.api_key_grace,
        events_url: rotate.events_url.clone(),
    };
    rotation.run_step(event).await
}

/// A setting's error again, for this invocation (read once, reported on every one).
pub(crate) fn clone_setting(e: &Error) -> Error {
    Error::Setting(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_rotation_event_and_names_what_is_wrong() {
        let e = read_event(&json!({
            "Step": "setSecret", "SecretId": "arn:x", "ClientRequestToken": "t-1"
        }))
        .unwrap();
        assert_eq!(
            (e.step, e.secret_id.as_str(), e.token.as_str()),
            (Step::Set, "arn:x", "t-1")
        );
        for (event, says) in [
            (json!([1]), "not a JSON object"),
            (
                json!({"SecretId": "s", "ClientRequestToken": "t"}),
                "no Step",
            ),
            (
                json!({"Step": "rotate", "SecretId": "s", "ClientRequestToken": "t"}),
                "unknown Step",
            ),
            (
                json!({"Step": "testSecret", "ClientRequestToken": "t"}),
                "no SecretId",
            ),
            (
                json!({"Step": "testSecret", "SecretId": "s", "ClientRequestToken": 7}),
                "ClientRequestToken is not",
            ),
        ] {
            let err = read_event(&event).unwrap_err().to_string();
            assert!(err.contains(says), "{event}: {err}");
        }
    }
}

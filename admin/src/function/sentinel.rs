//! `nl3-okta-sentinel`: one scheduled run per invocation. Its settings and Okta credentials, the
//! window from the event's time, the three parts, the EMF lines on stdout, and the run as the
//! function's result. Whatever stops it, an EMF line with `SentinelError` is written first.

use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::parse_time;
use crate::sentinel::{self, Parts, Run, DEADLINE_MARGIN};
use crate::settings::{FunctionOkta, Metrics, Sentinel};

/// The function's settings, read once at start; an error fails every run with it (after the
/// EMF line that says so).
pub struct Settings {
    pub sentinel: Result<Sentinel>,
    pub okta: Result<FunctionOkta>,
    pub metrics: Metrics,
    /// `PROBE_LOGIN` is set: a run that cannot start counts the probe as not run too.
    pub probe_asked: bool,
}

/// The scheduled event's `time` (EventBridge: RFC 3339, e.g. `2026-12-01T20:05:00Z`).
pub fn event_time(event: &Value) -> Result<SystemTime> {
    let raw = event.get("time").ok_or_else(|| {
        Error::Usage(
            "the event has no \"time\": the sentinel expects EventBridge's scheduled event".into(),
        )
    })?;
    let text = raw
        .as_str()
        .ok_or_else(|| Error::Usage(format!("the event's \"time\" {raw} is not a string")))?;
    parse_time(text).ok_or_else(|| {
        Error::Usage(format!(
            "the event's \"time\" {text:?} is not an RFC 3339 time"
        ))
    })
}

fn print_emf(run: &Run, metrics: &Metrics) {
    for line in run.emf(metrics, crate::emf::now_ms()) {
        println!("{line}");
    }
}

/// When a Lambda invocation's parts must stop: [`DEADLINE_MARGIN`] before its deadline, so the
/// EMF line is always written (`once_limit` from now when the runtime gives no real deadline).
pub fn parts_deadline(context: &lambda_runtime::Context, once_limit: Duration) -> Instant {
    let deadline = super::deadline(context, once_limit + DEADLINE_MARGIN);
    deadline.checked_sub(DEADLINE_MARGIN).unwrap_or(deadline)
}

/// One run for `event`, its parts stopped at `deadline`.
pub async fn handle(
    event: &Value,
    deadline: Instant,
    settings: &Settings,
    secrets: &aws_sdk_secretsmanager::Client,
) -> Result<Value> {
    let not_run = |e: Error| {
        tracing::error!(error = %e, "sentinel could not run");
        print_emf(
            &Run::not_started(&e, settings.probe_asked),
            &settings.metrics,
        );
        e
    };
    let config = settings
        .sentinel
        .as_ref()
        .map_err(super::rotate::clone_setting)
        .map_err(not_run)?;
    let okta = settings
        .okta
        .as_ref()
        .map_err(super::rotate::clone_setting)
        .map_err(not_run)?;
    let time = event_time(event).map_err(not_run)?;
    let parts = Parts {
        coverage: true,
        failures: true,
    };
    let watched = sentinel::Watched {
        hook_url: Some(&config.hook_url),
        events_url: config.events_url.as_deref(),
        quarantine: config.quarantine_group.as_deref(),
    };
    let client = super::okta_client(
        okta,
        secrets,
        &sentinel::scopes(parts, watched, config.probe.is_some()),
        config.rate_limit_max_wait,
    )
    .await
    .map_err(not_run)?;
    let run = sentinel::run(
        &client,
        watched,
        sentinel::window(time, config.period),
        config.log_bounds,
        config.probe.as_ref(),
        parts,
        deadline,
    )
    .await;
    print_emf(&run, &settings.metrics);
    tracing::info!(
        errors = run.errors(),
        elapsed_ms = run.elapsed_ms,
        since = %run.since,
        until = %run.until,
        "sentinel run done"
    );
    Ok(run.to_json())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_event_time_is_read_or_named_as_missing() {
        let t =
            event_time(&json!({"time": "2026-12-01T20:05:00Z", "detail-type": "Scheduled Event"}))
                .unwrap();
        assert_eq!(crate::model::okta_time(t), "2026-12-01T20:05:00.000Z");
        for bad in [
            json!({}),
            json!({"time": 5}),
            json!({"time": "yesterday"}),
            json!([1]),
        ] {
            assert!(event_time(&bad).is_err(), "{bad}");
        }
    }
}

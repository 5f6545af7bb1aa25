//! CloudWatch metrics in Embedded Metric Format: one JSON log line per call, which CloudWatch
//! turns into metrics with no API call and no extra latency.
//! Format: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::decision::{Decision, Outcome};

pub const DEFAULT_NAMESPACE: &str = "NL3OktaHook";

/// The metric name counting one outcome (1 for this call's outcome, 0 for the others, so that
/// rates such as fail-open per call are plain averages).
pub fn outcome_metric(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Allowed => "Allowed",
        Outcome::NoUser => "NoUser",
        Outcome::Locked => "Locked",
        Outcome::Forbidden => "Forbidden",
        Outcome::FailOpen => "FailOpen",
        Outcome::FailClosed => "FailClosed",
        Outcome::BadRequest => "BadRequest",
    }
}

/// The EMF object for one call. Metrics are published twice: per `HookType` and in total.
pub fn emf(decision: &Decision, namespace: &str, timestamp_ms: u64) -> Value {
    let trace = &decision.trace;
    let mut values: Vec<(&str, &str, f64)> = Outcome::ALL
        .iter()
        .map(|o| {
            let hit = if *o == decision.outcome { 1.0 } else { 0.0 };
            (outcome_metric(*o), "Count", hit)
        })
        .collect();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    values.push(("HookDuration", "Milliseconds", ms(decision.elapsed)));
    if let Some(nl3) = trace.nl3 {
        values.push(("Nl3Latency", "Milliseconds", ms(nl3)));
        values.push((
            "Nl3Failure",
            "Count",
            f64::from(u8::from(trace.nl3_error.is_some())),
        ));
    }
    if let (Some(ipinfo), false) = (trace.ipinfo, trace.ipinfo_cached) {
        values.push(("IpinfoLatency", "Milliseconds", ms(ipinfo)));
    }
    if trace.ipinfo.is_some() {
        values.push((
            "IpinfoFailure",
            "Count",
            f64::from(u8::from(trace.ipinfo_error.is_some())),
        ));
    }
    values.push(("SecretsRefresh", "Count", trace.secrets_fetches as f64));

    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["HookType"], []],
                "Metrics": values.iter().map(|(name, unit, _)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }],
        }),
    );
    root.insert(
        "HookType".into(),
        trace.hook_type.map_or("unknown", |h| h.as_str()).into(),
    );
    for (name, _, value) in values {
        root.insert(name.into(), json!(value));
    }
    // Not a metric: lets a metric line be found from the decision line.
    root.insert("Decision".into(), decision.outcome.as_str().into());
    Value::Object(root)
}

/// Prints the call's EMF line to stdout, where Lambda sends it to CloudWatch Logs.
pub fn emit(decision: &Decision, namespace: &str) {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    println!("{}", emf(decision, namespace, now_ms));
}

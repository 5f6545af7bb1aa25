//! CloudWatch metrics in Embedded Metric Format: one JSON log line per call, which CloudWatch
//! turns into metrics with no API call and no extra latency. Named as Lambda Powertools names
//! them: a `service` dimension, a `ColdStart` metric, `POWERTOOLS_SERVICE_NAME` and
//! `POWERTOOLS_METRICS_NAMESPACE` honoured.
//! Format: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
//!
//! An observer: reads the decision's data only.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::config::Observability;
use crate::decision::{Decision, Outcome};

/// The EMF object for one call. Metrics are published per `service`, per `service` and
/// `HookType`, and per `service` and `App` (which NL3 settings answered).
pub fn emf(decision: &Decision, names: &Observability, timestamp_ms: u64) -> Value {
    let trace = &decision.trace;
    let count = |hit: bool| if hit { 1.0 } else { 0.0 };
    // 1 for this call's outcome, 0 for the others, so rates such as fail-open per call are plain
    // averages.
    let mut values: Vec<(&str, &str, f64)> = Outcome::ALL
        .iter()
        .map(|o| (o.metric(), "Count", count(*o == decision.outcome)))
        .collect();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    values.push(("HookDuration", "Milliseconds", ms(decision.elapsed)));
    if let Some(nl3) = trace.nl3 {
        values.push(("Nl3Latency", "Milliseconds", ms(nl3)));
        values.push(("Nl3Failure", "Count", count(trace.nl3_error.is_some())));
    }
    if let (Some(ipinfo), false) = (trace.ipinfo, trace.ipinfo_cached) {
        values.push(("IpinfoLatency", "Milliseconds", ms(ipinfo)));
    }
    if trace.ipinfo.is_some() {
        values.push((
            "IpinfoFailure",
            "Count",
            count(trace.ipinfo_error.is_some()),
        ));
    }
    values.push(("SecretsRefresh", "Count", f64::from(trace.secrets_fetches)));
    values.push(("ColdStart", "Count", count(trace.cold_start)));

    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": names.metrics_namespace,
                "Dimensions": [["service"], ["service", "HookType"], ["service", "App"]],
                "Metrics": values.iter().map(|(name, unit, _)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }],
        }),
    );
    root.insert("service".into(), names.service.clone().into());
    root.insert(
        "HookType".into(),
        trace.hook_type.map_or("unknown", |h| h.as_str()).into(),
    );
    // Bounded: the configured app keys, "default", "unlisted", or "none" (body not read).
    root.insert("App".into(), trace.app.as_deref().unwrap_or("none").into());
    for (name, _, value) in values {
        root.insert(name.into(), json!(value));
    }
    // Not a metric: lets a metric line be found from the decision line.
    root.insert("Decision".into(), decision.outcome.as_str().into());
    Value::Object(root)
}

/// Prints the call's EMF line to stdout, where Lambda sends it to CloudWatch Logs.
pub fn emit(decision: &Decision, names: &Observability) {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    println!("{}", emf(decision, names, now_ms));
}

//! CloudWatch metrics in Embedded Metric Format: one JSON log line per call, which CloudWatch
//! turns into metrics with no API call and no extra latency. Named as Lambda Powertools names
//! them: a `service` dimension, a `ColdStart` metric, `POWERTOOLS_SERVICE_NAME` and
//! `POWERTOOLS_METRICS_NAMESPACE` honoured.
//! Format: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
//!
//! An observer: reads the decision's data only.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::config::Observability;
use crate::decision::{Decision, Outcome};

/// The EMF line for one call. Metrics are published per `service`, per `service` and
/// `HookType`, and per `service` and `App` (which NL3 settings answered).
pub fn emf(decision: &Decision, names: &Observability, timestamp_ms: u64) -> String {
    let trace = &decision.trace;
    let count = |hit: bool| json!(u8::from(hit));
    // Milliseconds to the microsecond.
    let ms = |d: Duration| json!(d.as_micros() as f64 / 1000.0);
    // 1 for this call's outcome, 0 for the others, so rates such as fail-open per call are plain
    // averages.
    let mut values: Vec<(&str, &str, Value)> = Outcome::ALL
        .iter()
        .map(|o| (o.metric(), "Count", count(*o == decision.outcome)))
        .collect();
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
    values.push(("SecretsRefresh", "Count", json!(trace.secrets_fetches)));
    values.push(("ColdStart", "Count", count(trace.cold_start)));
    values.push(("BreakGlass", "Count", count(trace.break_glass)));

    let mut directives = vec![json!({
        "Namespace": names.metrics_namespace,
        "Dimensions": [["service"], ["service", "HookType"], ["service", "App"]],
        "Metrics": values.iter().map(|(name, unit, _)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
    })];
    let mut line = Map::new();
    // In MODE=report, what would have been refused, per app and reason (a bounded set).
    if let Some(reason) = decision.would_refuse {
        directives.push(json!({
            "Namespace": names.metrics_namespace,
            "Dimensions": [["service", "App", "Reason"]],
            "Metrics": [{"Name": "WouldRefuse", "Unit": "Count"}],
        }));
        line.insert("Reason".into(), json!(reason));
    }
    line.insert(
        "_aws".into(),
        json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": directives}),
    );
    line.insert("service".into(), json!(names.service));
    let hook_type = trace.hook_type.map_or("unknown", |h| h.as_str());
    line.insert("HookType".into(), json!(hook_type));
    // Bounded: the configured app keys, "default", "unlisted", or "none" (body not read).
    line.insert("App".into(), json!(trace.app.as_deref().unwrap_or("none")));
    for (name, _, value) in values {
        line.insert(name.into(), value);
    }
    // Not a metric: lets a metric line be found from the decision line.
    line.insert("Decision".into(), json!(decision.outcome.as_str()));
    Value::Object(line).to_string()
}

/// Prints the call's EMF line to stdout, where Lambda sends it to CloudWatch Logs: one `write`
/// with its newline, and a failed write is not a panic.
pub fn emit(decision: &Decision, names: &Observability) {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut line = emf(decision, names, now_ms);
    line.push('\n');
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
}

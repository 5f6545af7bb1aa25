//! CloudWatch's embedded metric format: one JSON line per call, batch or run, in the hook's
//! namespace and `service` dimension (`POWERTOOLS_*`), as the hook writes its own.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::settings::Metrics;

/// Milliseconds since the epoch, the line's `Timestamp`.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One EMF line: each of `values` (name, unit, value) a metric with the `dimensions` named (each
/// a field the caller sets, `service` always), at `timestamp_ms`. Further fields go on the
/// object it returns.
pub fn line(
    metrics: &Metrics,
    timestamp_ms: u64,
    dimensions: &[&str],
    values: &[(&str, &str, Value)],
) -> Value {
    let definitions: Vec<Value> = values
        .iter()
        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit}))
        .collect();
    let mut line = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": metrics.namespace,
                "Dimensions": [dimensions],
                "Metrics": definitions,
            }],
        },
        "service": metrics.service,
    });
    for (name, _, value) in values {
        line[*name] = value.clone();
    }
    line
}

//! CloudWatch metrics in Embedded Metric Format: one JSON log line per call, which CloudWatch
//! turns into metrics with no API call and no extra latency. Named as Lambda Powertools names
//! them: a `service` dimension, a `ColdStart` metric, `POWERTOOLS_SERVICE_NAME` and
//! `POWERTOOLS_METRICS_NAMESPACE` honoured.
//! Format: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
//!
//! An observer: reads the decision's data only.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::config::Observability;
use crate::decision::{Decision, Outcome};

/// The EMF line for one call. Metrics are published per `service`, per `service` and
/// `HookType`, and per `service` and `App` (which NL3 settings answered).
pub fn emf(decision: &Decision, names: &Observability, timestamp_ms: u64) -> String {
    let trace = &decision.trace;
    let count = |hit: bool| Num::Count(u64::from(hit));
    let ms = |d: Duration| Num::Millis(d.as_micros() as f64 / 1000.0);
    // 1 for this call's outcome, 0 for the others, so rates such as fail-open per call are plain
    // averages.
    let mut values: Vec<(&str, &str, Num)> = Outcome::ALL
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
        let failed = count(trace.ipinfo_error.is_some());
        values.push(("IpinfoFailure", "Count", failed));
    }
    let fetches = Num::Count(u64::from(trace.secrets_fetches));
    values.push(("SecretsRefresh", "Count", fetches));
    values.push(("ColdStart", "Count", count(trace.cold_start)));

    let line = Line {
        aws: Aws {
            timestamp: timestamp_ms,
            cloud_watch_metrics: [Directive {
                namespace: &names.metrics_namespace,
                dimensions: &[&["service"], &["service", "HookType"], &["service", "App"]],
                metrics: values
                    .iter()
                    .map(|&(name, unit, _)| Metric { name, unit })
                    .collect(),
            }],
        },
        service: &names.service,
        hook_type: trace.hook_type.map_or("unknown", |h| h.as_str()),
        // Bounded: the configured app keys, "default", "unlisted", or "none" (body not read).
        app: trace.app.as_deref().unwrap_or("none"),
        values: Values(&values),
        decision: decision.outcome.as_str(),
    };
    // Strings and numbers only: serializing cannot fail.
    serde_json::to_string(&line).unwrap_or_default()
}

/// One EMF document: the `_aws` metadata, the dimensions' values, then each metric's value.
#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "_aws")]
    aws: Aws<'a>,
    service: &'a str,
    #[serde(rename = "HookType")]
    hook_type: &'a str,
    #[serde(rename = "App")]
    app: &'a str,
    #[serde(flatten)]
    values: Values<'a>,
    /// Not a metric: lets a metric line be found from the decision line.
    #[serde(rename = "Decision")]
    decision: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Aws<'a> {
    timestamp: u64,
    cloud_watch_metrics: [Directive<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Directive<'a> {
    namespace: &'a str,
    dimensions: &'a [&'a [&'a str]],
    metrics: Vec<Metric<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Metric<'a> {
    name: &'a str,
    unit: &'a str,
}

/// The metrics' values, each under its name at the top level of the line.
struct Values<'a>(&'a [(&'a str, &'a str, Num)]);

impl Serialize for Values<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(name, _, value)| (name, value)))
    }
}

/// A metric's value: counts as integers, durations in milliseconds.
#[derive(Clone, Copy, Serialize)]
#[serde(untagged)]
enum Num {
    Count(u64),
    Millis(f64),
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

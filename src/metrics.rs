//! CloudWatch metrics in Embedded Metric Format: one JSON log line per call, which CloudWatch
//! turns into metrics with no API call and no extra latency. Named as Lambda Powertools names
//! them: a `service` dimension, a `ColdStart` metric, `POWERTOOLS_SERVICE_NAME` and
//! `POWERTOOLS_METRICS_NAMESPACE` honoured.
//! Format: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
//!
//! An observer: reads the decision's data only.

use std::fmt::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::Observability;
use crate::decision::{Decision, Outcome};

/// The EMF line for one call. Metrics are published per `service`, per `service` and
/// `HookType`, and per `service` and `App` (which NL3 settings answered).
///
/// Written straight into one string: built as a JSON tree and then printed, this line cost more
/// than the hook's own decision.
pub fn emf(decision: &Decision, names: &Observability, timestamp_ms: u64) -> String {
    let trace = &decision.trace;
    let count = |hit: bool| if hit { 1.0 } else { 0.0 };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    // 1 for this call's outcome, 0 for the others, so rates such as fail-open per call are plain
    // averages.
    let outcomes = Outcome::ALL
        .iter()
        .map(|o| (o.metric(), "Count", count(*o == decision.outcome)));
    let nl3 = trace.nl3.into_iter().flat_map(|nl3| {
        [
            ("Nl3Latency", "Milliseconds", ms(nl3)),
            ("Nl3Failure", "Count", count(trace.nl3_error.is_some())),
        ]
    });
    let ipinfo_latency = trace
        .ipinfo
        .filter(|_| !trace.ipinfo_cached)
        .map(|ipinfo| ("IpinfoLatency", "Milliseconds", ms(ipinfo)));
    let ipinfo_failure = trace.ipinfo.map(|_| {
        (
            "IpinfoFailure",
            "Count",
            count(trace.ipinfo_error.is_some()),
        )
    });
    let values = outcomes
        .chain([("HookDuration", "Milliseconds", ms(decision.elapsed))])
        .chain(nl3)
        .chain(ipinfo_latency)
        .chain(ipinfo_failure)
        .chain([
            ("SecretsRefresh", "Count", f64::from(trace.secrets_fetches)),
            ("ColdStart", "Count", count(trace.cold_start)),
        ]);

    let mut line = String::with_capacity(1536);
    let _ = write!(
        line,
        r#"{{"_aws":{{"Timestamp":{timestamp_ms},"CloudWatchMetrics":[{{"Namespace":{},"Dimensions":[["service"],["service","HookType"],["service","App"]],"Metrics":["#,
        json_text(&names.metrics_namespace)
    );
    for (n, (name, unit, _)) in values.clone().enumerate() {
        let comma = if n == 0 { "" } else { "," };
        let _ = write!(line, r#"{comma}{{"Name":"{name}","Unit":"{unit}"}}"#);
    }
    // The dimensions are bounded: HookType is token, saml or unknown; App is a configured app
    // key, "default", "unlisted", or "none" (body not read).
    let _ = write!(
        line,
        r#"]}}]}},"service":{},"HookType":"{}","App":{}"#,
        json_text(&names.service),
        trace.hook_type.map_or("unknown", |h| h.as_str()),
        json_text(trace.app.as_deref().unwrap_or("none")),
    );
    for (name, _, value) in values {
        let _ = write!(line, r#","{name}":{value}"#);
    }
    // Not a metric: lets a metric line be found from the decision line.
    let _ = write!(line, r#","Decision":"{}"}}"#, decision.outcome.as_str());
    line
}

/// A string as JSON text (quoted and escaped).
fn json_text(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

/// Prints the call's EMF line to stdout, where Lambda sends it to CloudWatch Logs.
pub fn emit(decision: &Decision, names: &Observability) {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    println!("{}", emf(decision, names, now_ms));
}

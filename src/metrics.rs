//! CloudWatch metrics in Embedded Metric Format: one JSON log line per call, which CloudWatch
//! turns into metrics with no API call and no extra latency. Named as Lambda Powertools names
//! them: a `service` dimension, a `ColdStart` metric, `POWERTOOLS_SERVICE_NAME` and
//! `POWERTOOLS_METRICS_NAMESPACE` honoured.
//! Format: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
//!
//! An observer: reads the decision's data only.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::Observability;
use crate::decision::{Decision, Outcome};
use crate::json;

/// The EMF line for one call. Metrics are published per `service`, per `service` and
/// `HookType`, and per `service` and `App` (which NL3 settings answered).
///
/// Written straight into one string: built as a JSON tree and then printed, this line cost more
/// than the hook's own decision.
pub fn emf(decision: &Decision, names: &Observability, timestamp_ms: u64) -> String {
    let trace = &decision.trace;
    let count = |hit: bool| Value::Count(u64::from(hit));
    let ms = Value::Millis;
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
            (
                "SecretsRefresh",
                "Count",
                Value::Count(u64::from(trace.secrets_fetches)),
            ),
            ("ColdStart", "Count", count(trace.cold_start)),
        ]);

    // Pieces pushed one by one, numbers written by hand: `write!` cost ~500 instructions a
    // piece, more than the rest of the line.
    let mut line = String::with_capacity(1536);
    line.push_str(r#"{"_aws":{"Timestamp":"#);
    json::push_u64(&mut line, timestamp_ms);
    line.push_str(r#","CloudWatchMetrics":[{"Namespace":"#);
    json::push_string(&mut line, &names.metrics_namespace);
    line.push_str(
        r#","Dimensions":[["service"],["service","HookType"],["service","App"]],"Metrics":["#,
    );
    for (n, (name, unit, _)) in values.clone().enumerate() {
        line.push_str(if n == 0 {
            r#"{"Name":""#
        } else {
            r#",{"Name":""#
        });
        line.push_str(name);
        line.push_str(r#"","Unit":""#);
        line.push_str(unit);
        line.push_str(r#""}"#);
    }
    // The dimensions are bounded: HookType is token, saml or unknown; App is a configured app
    // key, "default", "unlisted", or "none" (body not read).
    line.push_str(r#"]}]},"service":"#);
    json::push_string(&mut line, &names.service);
    line.push_str(r#","HookType":""#);
    line.push_str(trace.hook_type.map_or("unknown", |h| h.as_str()));
    line.push_str(r#"","App":"#);
    json::push_string(&mut line, trace.app.as_deref().unwrap_or("none"));
    for (name, _, value) in values {
        line.push_str(",\"");
        line.push_str(name);
        line.push_str("\":");
        match value {
            Value::Count(n) => json::push_u64(&mut line, n),
            Value::Millis(d) => {
                // Milliseconds to the microsecond, as `12.345`.
                let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
                json::push_u64(&mut line, micros / 1000);
                let frac = micros % 1000;
                line.push('.');
                line.push(char::from(b'0' + (frac / 100) as u8));
                line.push(char::from(b'0' + (frac / 10 % 10) as u8));
                line.push(char::from(b'0' + (frac % 10) as u8));
            }
        }
    }
    // Not a metric: lets a metric line be found from the decision line.
    line.push_str(r#","Decision":""#);
    line.push_str(decision.outcome.as_str());
    line.push_str(r#""}"#);
    line
}

/// A metric's value.
#[derive(Clone, Copy)]
enum Value {
    Count(u64),
    Millis(Duration),
}

/// Prints the call's EMF line to stdout, where Lambda sends it to CloudWatch Logs: one `write`
/// with its newline (`println!` wrote a line longer than stdout's buffer and its newline in two
/// system calls), and a failed write is not a panic.
pub fn emit(decision: &Decision, names: &Observability) {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut line = emf(decision, names, now_ms);
    line.push('\n');
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
}

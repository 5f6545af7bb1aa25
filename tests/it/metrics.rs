//! The EMF lines are valid Embedded Metric Format and carry the right counts.

use crate::helpers::*;
use nl3_okta_hook::config::Observability;
use nl3_okta_hook::decision::Decision;
use nl3_okta_hook::decision::Outcome;
use nl3_okta_hook::metrics;
use serde_json::Value;

/// The EMF line for a decision, read back: it must be one line of JSON.
pub fn emf(decision: &Decision, names: &Observability, timestamp_ms: u64) -> Value {
    let line = metrics::emf(decision, names, timestamp_ms);
    assert!(!line.contains('\n'), "one line: {line}");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

/// Checks the documented `_aws` structure: a millisecond timestamp, and for each metric
/// directive a namespace, dimension sets whose keys are top-level strings, and metrics whose
/// names are top-level numbers with a CloudWatch unit.
fn assert_valid_emf(line: &Value) {
    let aws = &line["_aws"];
    assert!(aws["Timestamp"].is_u64(), "Timestamp: {line}");
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .expect("CloudWatchMetrics");
    assert!(!directives.is_empty());
    for d in directives {
        let namespace = d["Namespace"].as_str().expect("Namespace");
        assert!(!namespace.is_empty() && namespace.len() <= 255);
        for set in d["Dimensions"].as_array().expect("Dimensions") {
            let keys = set.as_array().expect("dimension set");
            assert!(keys.len() <= 30);
            for key in keys {
                let key = key.as_str().expect("dimension key");
                assert!(line[key].is_string(), "dimension {key} missing: {line}");
            }
        }
        let metrics = d["Metrics"].as_array().expect("Metrics");
        assert!(!metrics.is_empty() && metrics.len() <= 100);
        for m in metrics {
            let name = m["Name"].as_str().expect("Name");
            assert!(line[name].is_number(), "metric {name} missing: {line}");
            assert!(matches!(
                m["Unit"].as_str(),
                Some("Count" | "Milliseconds" | "None")
            ));
        }
    }
}

fn value(line: &Value, name: &str) -> f64 {
    line[name]
        .as_f64()
        .unwrap_or_else(|| panic!("{name} in {line}"))
}

#[tokio::test]
async fn locked_and_allowed_calls_emit_valid_emf_with_their_counts() {
    let up = Upstreams::start().await;
    let hook = up.hook(&[]).await;

    let locked = decide(
        &hook,
        &okta_headers(),
        &with_user(token_event(), LOCKED_USER),
    )
    .await;
    assert_eq!(locked.outcome, Outcome::Locked, "{}", locked.reason);
    let line = emf(&locked, &Observability::default(), 1_700_000_000_000);
    assert_valid_emf(&line);
    assert_eq!(line["HookType"], "token");
    assert_eq!(line["service"], "nl3-okta-hook");
    assert_eq!(
        line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([["service"], ["service", "HookType"], ["service", "App"]])
    );
    assert_eq!(line["App"], "default");
    assert_eq!(value(&line, "Locked"), 1.0);
    for other in Outcome::ALL.iter().filter(|o| **o != Outcome::Locked) {
        assert_eq!(value(&line, other.metric()), 0.0);
    }
    assert_eq!(value(&line, "Nl3Failure"), 0.0);
    assert!(value(&line, "Nl3Latency") > 0.0);
    assert!(value(&line, "IpinfoLatency") > 0.0); // first sight of this IP
    assert_eq!(value(&line, "SecretsRefresh"), 0.0);
    assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000u64);
    // Milliseconds to the microsecond: the number must be the duration's.
    let micros = locked.elapsed.as_micros();
    assert_eq!(value(&line, "HookDuration"), micros as f64 / 1000.0);

    let allowed = decide(&hook, &okta_headers(), &saml_event()).await;
    assert_eq!(allowed.outcome, Outcome::Allowed, "{}", allowed.reason);
    let line = emf(&allowed, &Observability::default(), 1_700_000_000_000);
    assert_valid_emf(&line);
    assert_eq!(line["HookType"], "saml");
    assert_eq!(value(&line, "Allowed"), 1.0);
    assert_eq!(value(&line, "Locked"), 0.0);

    // A repeated IP comes from the cache: no ipinfo latency is reported for it.
    let again = decide(&hook, &okta_headers(), &saml_event()).await;
    let line = emf(&again, &Observability::default(), 1_700_000_000_000);
    assert!(line.get("IpinfoLatency").is_none(), "{line}");
}

#[tokio::test]
async fn failures_are_counted() {
    let up = Upstreams::start_empty().await; // NL3 answers 404 to everything
    let hook = up.hook(&[]).await;
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    let line = emf(
        &d,
        &Observability {
            metrics_namespace: "Custom/Namespace".into(),
            service: "okta-hook \"prod\"\n".into(),
        },
        1,
    );
    assert_valid_emf(&line);
    assert_eq!(
        line["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "Custom/Namespace"
    );
    assert_eq!(line["service"], "okta-hook \"prod\"\n", "names are escaped");
    assert_eq!(value(&line, "FailOpen"), 1.0);
    assert_eq!(value(&line, "Nl3Failure"), 1.0);
    assert_eq!(value(&line, "IpinfoFailure"), 1.0);

    let d = decide(
        &hook,
        &headers_with("Authorization", "nope"),
        &token_event(),
    )
    .await;
    let line = emf(&d, &Observability::default(), 1);
    assert_valid_emf(&line);
    assert_eq!(line["HookType"], "unknown");
    assert_eq!(line["App"], "none", "refused before the body was read");
    assert_eq!(value(&line, "Forbidden"), 1.0);
    assert!(line.get("Nl3Latency").is_none());
}

//! Log lines through `tracing`: JSON, one object per line, as CloudWatch reads them best; or text
//! when the function's log format is set to `Text`. One line per call says what was decided.
//!
//! Logs that cannot leak: whatever `RUST_LOG` or `AWS_LAMBDA_LOG_LEVEL` asks for, other crates are
//! capped: at INFO any crate (any might print what it handles at TRACE); lambda_runtime, the AWS
//! SDK, hyper, h2, rustls and reqwest at WARN (at TRACE lambda_runtime prints the raw event with
//! Okta's credential, the others requests and answers with the secret's value among them). In
//! text format every field's control characters are escaped, so an upstream's error text cannot
//! forge a line.
//!
//! An observer: reads the decision's data only.

use std::time::Duration;

use nl3_shared::log_cap::lambda_level;
use tracing::Metadata;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::filter::{filter_fn, FilterExt};
use tracing_subscriber::fmt::format::debug_fn;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::decision::{Decision, Outcome};

const OWN_CRATE: &str = env!("CARGO_CRATE_NAME");

/// Sets the global subscriber from the environment: level from Lambda's advanced logging
/// controls (`AWS_LAMBDA_LOG_LEVEL`), else `RUST_LOG`, else `info`; JSON unless the function's
/// log format is explicitly `Text`.
pub fn init() {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if std::env::var_os("AWS_LAMBDA_LOG_LEVEL").is_none() => directives,
        _ => lambda_level(&std::env::var("AWS_LAMBDA_LOG_LEVEL").unwrap_or_else(|_| "info".into())),
    };
    let text = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("text"));
    let _ = if text {
        tracing::subscriber::set_global_default(text_subscriber(&filter, std::io::stdout))
    } else {
        tracing::subscriber::set_global_default(json_subscriber(&filter, std::io::stdout))
    };
}

fn capped(metadata: &Metadata<'_>) -> bool {
    *metadata.level() <= nl3_shared::log_cap::cap(OWN_CRATE, metadata.target())
}

fn env_filter(directives: &str) -> EnvFilter {
    EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The JSON subscriber the hook logs through, writing to `writer` (tests capture it).
pub fn json_subscriber<W>(directives: &str, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(writer)
        .with_filter(env_filter(directives).and(filter_fn(capped)));
    tracing_subscriber::registry().with(layer)
}

/// The text subscriber (`AWS_LAMBDA_LOG_FORMAT=Text`), every field escaped.
pub fn text_subscriber<W>(directives: &str, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let fields = debug_fn(|w, field, value| {
        let text = escape_controls(&format!("{value:?}"));
        if field.name() == "message" {
            write!(w, "{text}")
        } else {
            write!(w, "{}={text}", field.name())
        }
    })
    .delimited(" ");
    let layer = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_ansi(false)
        .fmt_fields(fields)
        .with_writer(writer)
        .with_filter(env_filter(directives).and(filter_fn(capped)));
    tracing_subscriber::registry().with(layer)
}

/// Newlines, carriage returns, tabs and other control characters as escapes.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// One line per call with what was decided, why, and where the time went. No secrets, no
/// username: Okta's System Log has the user, the eventId correlates the two; the X-Ray trace id,
/// the trace.
pub fn log_decision(decision: &Decision, request_id: &str, xray_trace_id: Option<&str>) {
    let t = &decision.trace;
    let ms = |d: Option<Duration>| d.map(|d| d.as_millis() as u64);
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                request_id,
                xray_trace_id,
                okta_event_id = t.event_id.as_deref(),
                hook_type = t.hook_type.map(|h| h.as_str()),
                app = t.app.as_deref(),
                decision = decision.outcome.as_str(),
                would_refuse = decision.would_refuse,
                break_glass = t.break_glass,
                // Which name was checked when the Okta login and the app username differ (the
                // names themselves never: Okta's System Log has the user).
                username_checked = t.checked_as.map(|n| n.as_str()),
                usernames_differ = t.checked_as.map(|_| true),
                reason = %decision.reason,
                status = decision.answer.status,
                elapsed_ms = decision.elapsed.as_millis() as u64,
                secrets_ms = ms(t.secrets),
                auth_ms = ms(t.auth),
                ipinfo_ms = ms(t.ipinfo),
                ipinfo_cached = t.ipinfo.map(|_| t.ipinfo_cached),
                nl3_ms = ms(t.nl3),
                cold_start = t.cold_start,
                init_wait_ms = ms(t.init_wait),
                "decision"
            )
        };
    }
    // Every sign-in of a break-glass account stands out, whatever was decided.
    match decision.outcome {
        _ if t.break_glass => line!(warn),
        Outcome::Allowed
        | Outcome::NoUser
        | Outcome::Locked
        | Outcome::NotEnrolled
        | Outcome::WouldRefuse => line!(info),
        _ => line!(warn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_logs_at_any_level_and_the_rest_as_the_shared_cap_says() {
        let cap = |target| nl3_shared::log_cap::cap(OWN_CRATE, target);
        assert_eq!(cap("nl3_okta_hook::hook"), tracing::Level::TRACE);
        assert_eq!(
            cap("lambda_runtime::layers::api_client"),
            tracing::Level::WARN
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            escape_controls("a\nlevel=ERROR forged\r\t\u{1b}[31m"),
            "a\\nlevel=ERROR forged\\r\\t\\u{1b}[31m"
        );
    }
}

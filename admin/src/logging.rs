//! Log lines through `tracing`, as the hook writes them: the functions' as JSON on stdout (or
//! text when Lambda's log format says `Text`), the CLI's as text on stderr. Whatever the level
//! asks for, other crates are capped: any at INFO, and the AWS SDK, lambda_runtime, hyper, h2,
//! rustls, reqwest and tower at WARN (at TRACE they print raw events and HTTP bodies, which here
//! hold keys, tokens and Okta credentials).

use tracing::Metadata;
use tracing_subscriber::filter::{filter_fn, FilterExt};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer};

const OWN_CRATE: &str = env!("CARGO_CRATE_NAME");

fn capped(metadata: &Metadata<'_>) -> bool {
    *metadata.level() <= nl3_shared::log_cap::cap(OWN_CRATE, metadata.target())
}

fn env_filter(directives: &str, default: &str) -> EnvFilter {
    EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new(default))
}

/// A function's logs: JSON lines on stdout (CloudWatch Logs), or text when `text`.
pub fn init_function(directives: &str, text: bool) {
    let filter = env_filter(directives, "info").and(filter_fn(capped));
    let layer = if text {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_target(false)
            .with_filter(filter)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(false)
            .with_span_list(false)
            .without_time()
            .with_filter(filter)
            .boxed()
    };
    let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer));
}

/// The CLI's own lines, on stderr (`NL3_ADMIN_LOG`, default `warn`).
pub fn init_cli(directives: &str) {
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(env_filter(directives, "warn").and(filter_fn(capped)));
    let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_crate_logs_at_any_level_and_the_rest_as_the_hook_does() {
        let cap = |target| nl3_shared::log_cap::cap(OWN_CRATE, target);
        assert_eq!(cap("nl3_okta_admin::rotation"), tracing::Level::TRACE);
        assert_eq!(cap("aws_sigv4::http_request"), tracing::Level::WARN);
    }
}

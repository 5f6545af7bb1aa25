//! How verbosely each crate may log, whatever the level asks for: the calling crate at any level,
//! the AWS SDK, lambda_runtime, hyper, h2, rustls, reqwest and tower at WARN (at DEBUG and TRACE
//! they print raw events, HTTP requests and bodies, which hold hook keys, signing keys, tokens and
//! Okta credentials), every other crate (this one included) at INFO. The hook and the Okta-side
//! functions cap alike.
//!
//! Layer 0: imports nothing of this crate.

use tracing::Level;

/// The most verbose level `target` may log at, for a process whose own crate is `own_crate`.
pub fn cap(own_crate: &str, target: &str) -> Level {
    let crate_name = target.split("::").next().unwrap_or(target);
    match crate_name {
        name if name == own_crate => Level::TRACE,
        "hyper" | "hyper_util" | "h2" | "rustls" | "reqwest" | "tower" | "http_body" => Level::WARN,
        "lambda_runtime" | "lambda_runtime_api_client" => Level::WARN,
        name if name.starts_with("aws_") => Level::WARN,
        _ => Level::INFO,
    }
}

/// Filter directives for one of Lambda's log levels (`AWS_LAMBDA_LOG_LEVEL`: `TRACE` …
/// `FATAL`; tracing has no FATAL, so ERROR).
pub fn lambda_level(level: &str) -> String {
    match level.to_ascii_lowercase().as_str() {
        "fatal" => "error".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_logs_at_any_level_and_what_prints_secrets_at_warn() {
        assert_eq!(cap("a_function", "a_function::hook"), Level::TRACE);
        for target in [
            "aws_sdk_secretsmanager::client",
            "aws_runtime",
            "aws_smithy_runtime::client",
            "aws_sigv4::http_request",
            "lambda_runtime::layers::api_client",
            "lambda_runtime_api_client",
            "hyper_util::client",
            "h2::codec",
            "http_body",
            "reqwest::connect",
            "rustls::client",
            "tower::buffer",
        ] {
            assert_eq!(cap("a_function", target), Level::WARN, "{target}");
        }
        assert_eq!(cap("a_function", "nl3_shared::secret_source"), Level::INFO);
        assert_eq!(cap("a_function", "tokio::runtime"), Level::INFO);
        assert_eq!(cap("a_function", "serde_json"), Level::INFO);
    }

    #[test]
    fn lambda_s_levels_are_tracing_s_and_fatal_is_error() {
        assert_eq!(lambda_level("FATAL"), "error");
        assert_eq!(lambda_level("Debug"), "debug");
    }
}

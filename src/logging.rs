//! JSON log lines through `tracing`, one object per line, as CloudWatch reads them best.

use tracing_subscriber::EnvFilter;

/// Level from Lambda's advanced logging controls (`AWS_LAMBDA_LOG_LEVEL`), else `RUST_LOG`,
/// else `info`. The AWS SDK's own chatter is kept to warnings unless `RUST_LOG` says otherwise.
pub fn init() {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if std::env::var_os("AWS_LAMBDA_LOG_LEVEL").is_none() => directives,
        _ => {
            let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").unwrap_or_else(|_| "info".into());
            let level = match level.to_ascii_lowercase().as_str() {
                "fatal" => "error".to_string(),
                other => other.to_string(),
            };
            format!("{level},aws_config=warn,aws_smithy_runtime=warn,aws_sdk_secretsmanager=warn,hyper=warn,reqwest=warn")
        }
    };
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // JSON unless the function's log format is explicitly set to Text in Lambda's settings.
    let text = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("text"));
    if text {
        let _ = tracing_subscriber::fmt()
            .with_target(false)
            .with_ansi(false)
            .with_env_filter(filter)
            .with_writer(std::io::stdout)
            .try_init();
        return;
    }
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .try_init();
}

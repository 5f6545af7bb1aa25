//! JSON log lines through `tracing`, one object per line, as CloudWatch reads them best.

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Level from Lambda's advanced logging controls (`AWS_LAMBDA_LOG_LEVEL`), else `RUST_LOG`,
/// else `info`. The AWS SDK's own chatter is kept to warnings unless `RUST_LOG` says otherwise.
pub fn init() {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if std::env::var_os("AWS_LAMBDA_LOG_LEVEL").is_none() => directives,
        _ => directives(&std::env::var("AWS_LAMBDA_LOG_LEVEL").unwrap_or_else(|_| "info".into())),
    };
    // JSON unless the function's log format is explicitly set to Text in Lambda's settings.
    let text = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("text"));
    if text {
        let _ = tracing_subscriber::fmt()
            .with_target(false)
            .with_ansi(false)
            .with_env_filter(env_filter(&filter))
            .with_writer(std::io::stdout)
            .try_init();
    } else {
        let _ = tracing::subscriber::set_global_default(json_subscriber(&filter, std::io::stdout));
    }
}

/// Filter directives for a Lambda log level (`TRACE` … `FATAL`).
pub fn directives(level: &str) -> String {
    let level = match level.to_ascii_lowercase().as_str() {
        "fatal" => "error".to_string(),
        other => other.to_string(),
    };
    format!("{level},aws_config=warn,aws_smithy_runtime=warn,aws_sdk_secretsmanager=warn,hyper=warn,reqwest=warn")
}

/// The JSON subscriber the hook logs through, writing to `writer` (tests capture it).
pub fn json_subscriber<W>(filter: &str, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(env_filter(filter))
        .with_writer(writer)
        .finish()
}

fn env_filter(directives: &str) -> EnvFilter {
    EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"))
}

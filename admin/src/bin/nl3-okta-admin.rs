//! `nl3-okta-admin`: audit, setup and preview of the NL3 inline hook through Okta's Management
//! API. Wiring only; see `nl3_okta_admin`.

#[tokio::main(flavor = "current_thread")]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("NL3_ADMIN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = nl3_okta_admin::run(&args, &|name| std::env::var(name).ok()).await;
    std::process::exit(code);
}

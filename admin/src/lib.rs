//! `nl3-okta-admin`: proves, through Okta's Management API, that every sign-in is covered by the
//! NL3 inline hook (`audit`), attaches the hook where it is missing (`setup`) and shows what the
//! hook answers for a user (`preview`); [`rotate`] rotates the hook's header secret through
//! Secrets Manager's rotation protocol and Okta (`rotate`, and the `nl3-okta-rotate` function).
//!
//! One module per concern: [`client`] (HTTP, auth, pagination, rate limits), [`org`] (reading
//! the org), [`audit`] (what is covered), [`setup`], [`preview`], [`output`] (tables and JSON),
//! [`secret`] (the hook's header secret), [`cli`] (arguments), [`function`] (what the Lambda
//! functions on this side share: Okta credentials from their own secret). This crate cannot use
//! the hook's modules: it does not depend on the hook's crate.

pub mod audit;
pub mod cli;
pub mod client;
pub mod function;
pub mod org;
pub mod output;
pub mod preview;
pub mod rotate;
pub mod secret;
pub mod setup;

// The sentinel (`nl3-okta-sentinel`, `watch`): coverage, Okta's failed hook calls, the probe.
pub mod sentinel;
pub mod syslog;

use cli::Command;
use client::{Credentials, OktaClient};

/// What went wrong; every message names what failed and what to do.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Auth(String),
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    RateLimited(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unexpected(String),
}

pub const EXIT_OK: i32 = 0;
pub const EXIT_NOT_COVERED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_OKTA: i32 = 3;

impl AdminError {
    pub fn exit_code(&self) -> i32 {
        match self {
            AdminError::Usage(_) | AdminError::Config(_) => EXIT_USAGE,
            _ => EXIT_OKTA,
        }
    }
}

/// OAuth 2.0 scopes each subcommand asks for (API Services app, `private_key_jwt`).
pub const AUDIT_SCOPES: &[&str] = &[
    "okta.inlineHooks.read",
    "okta.authorizationServers.read",
    "okta.apps.read",
];
pub const SETUP_SCOPES: &[&str] = &[
    "okta.inlineHooks.read",
    "okta.inlineHooks.manage",
    "okta.authorizationServers.read",
    "okta.authorizationServers.manage",
    "okta.apps.read",
    "okta.apps.manage",
];
pub const PREVIEW_SCOPES: &[&str] = &[
    "okta.inlineHooks.read",
    "okta.inlineHooks.manage",
    "okta.apps.read",
    "okta.users.read",
];

/// The sentinel's scopes, all read-only: the audit's, and the System Log.
pub const SENTINEL_SCOPES: &[&str] = &[
    "okta.inlineHooks.read",
    "okta.authorizationServers.read",
    "okta.apps.read",
    "okta.logs.read",
];
/// What the probe adds: reading the probe user, and executing the hook (Okta's API lists
/// `okta.inlineHooks.manage` for `POST /api/v1/inlineHooks/{id}/execute`; no read scope allows it).
pub const PROBE_SCOPES: &[&str] = &["okta.users.read", "okta.inlineHooks.manage"];
/// `watch` without `--probe`.
pub const WATCH_SCOPES: &[&str] = &["okta.inlineHooks.read", "okta.logs.read"];
/// `watch --probe LOGIN`.
pub const WATCH_PROBE_SCOPES: &[&str] = &[
    "okta.inlineHooks.read",
    "okta.logs.read",
    "okta.users.read",
    "okta.inlineHooks.manage",
];

/// Runs the tool: arguments after the program name, the environment through `env`. Writes the
/// result to stdout, errors to stderr, and returns the exit code.
pub async fn run(args: &[String], env: &(dyn Fn(&str) -> Option<String> + Sync)) -> i32 {
    let command = match cli::parse_with(
        args,
        env("NL3_HOOK_URL").filter(|v| !v.is_empty()),
        &|name| env(name),
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}\n\n{}", cli::USAGE);
            return EXIT_USAGE;
        }
    };
    if command == Command::Help {
        print!("{}", cli::USAGE);
        return EXIT_OK;
    }
    match run_command(command, env).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

async fn run_command(
    command: Command,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<i32, AdminError> {
    let scopes = match &command {
        Command::Audit { .. } => AUDIT_SCOPES,
        Command::Setup(_) => SETUP_SCOPES,
        Command::Preview(_) => PREVIEW_SCOPES,
        Command::Watch(args) if args.probe.is_some() => WATCH_PROBE_SCOPES,
        Command::Watch(_) => WATCH_SCOPES,
        Command::Rotate(_) => rotate::ROTATE_SCOPES,
        Command::Help => &[],
    };
    let org = env("OKTA_ORG_URL")
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| {
            AdminError::Config("OKTA_ORG_URL is not set (e.g. https://your-org.okta.com)".into())
        })?;
    let base = client::parse_org_url(&org)?;
    let credentials = Credentials::from_env(&|name| env(name))?;
    let mut client = OktaClient::new(base, credentials, scopes.to_vec())?;
    if let Some(secs) = env("NL3_ADMIN_RATE_LIMIT_MAX_WAIT_SECS") {
        let secs: u64 = secs.trim().parse().map_err(|_| {
            AdminError::Config(format!(
                "NL3_ADMIN_RATE_LIMIT_MAX_WAIT_SECS {secs:?} is not a number of seconds"
            ))
        })?;
        client.rate_limit.max_wait = std::time::Duration::from_secs(secs);
    }
    match command {
        Command::Audit { hook_url, json } => {
            let hook_url = hook_url.map(|u| validate_hook_url(&u)).transpose()?;
            let snapshot = org::Snapshot::read(&client).await?;
            let report = audit::audit(&snapshot, &client.org_url(), hook_url.as_deref());
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("serializable")
                );
            } else {
                print!("{}", output::audit_table(&report));
            }
            Ok(if report.summary.not_covered == 0 {
                EXIT_OK
            } else {
                EXIT_NOT_COVERED
            })
        }
        Command::Setup(args) => {
            let args = cli::SetupArgs {
                hook_url: validate_hook_url(&args.hook_url)?,
                ..args
            };
            setup::run(&client, &args, env).await
        }
        Command::Preview(args) => {
            let args = cli::PreviewArgs {
                hook_url: args.hook_url.map(|u| validate_hook_url(&u)).transpose()?,
                ..args
            };
            preview::run(&client, &args).await
        }
        Command::Watch(args) => {
            let args = cli::WatchArgs {
                hook_url: args.hook_url.map(|u| validate_hook_url(&u)).transpose()?,
                ..args
            };
            sentinel::watch(&client, &args).await
        }
        Command::Rotate(args) => {
            let args = cli::RotateArgs {
                hook_url: validate_hook_url(&args.hook_url)?,
                ..args
            };
            rotate::run_cli(&client, &args, env).await
        }
        Command::Help => Ok(EXIT_OK),
    }
}

/// Okta calls hooks over https only (plain http is accepted for loopback addresses, for tests).
fn validate_hook_url(raw: &str) -> Result<String, AdminError> {
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|_| AdminError::Usage(format!("--hook-url {raw:?} is not a URL")))?;
    let loopback = url.host_str().is_some_and(|h| {
        h == "localhost"
            || h.trim_matches(|c| c == '[' || c == ']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return Err(AdminError::Usage(format!(
            "--hook-url {raw:?} must be an https URL: Okta calls inline hooks over https only"
        )));
    }
    Ok(normalize_url(raw))
}

/// For comparing hook URLs: trimmed, without a trailing slash, scheme and host lowercased.
pub fn normalize_url(raw: &str) -> String {
    let trimmed = raw.trim().trim_end_matches('/');
    match reqwest::Url::parse(trimmed) {
        Ok(url) => url.as_str().trim_end_matches('/').to_string(),
        Err(_) => trimmed.to_string(),
    }
}

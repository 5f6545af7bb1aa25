//! What the admin side's Lambda functions (the rotation function and the sentinel) share: their
//! Okta credentials come from a secret of their own (`OKTA_SECRET_ID`), never from the hook's
//! secret, so the hook's role can never read an Okta admin credential; `OKTA_ORG_URL` from the
//! environment.

use std::time::Duration;

use serde_json::Value;

use crate::client::{parse_org_url, Credentials, OktaClient};
use crate::secret::read_secret_string;
use crate::AdminError;

/// Okta credentials out of the credential secret's JSON: `OKTA_API_TOKEN`, or `OKTA_CLIENT_ID`
/// with `OKTA_PRIVATE_KEY` (PEM) and optionally `OKTA_KEY_ID`, as the admin CLI reads them from
/// its environment. (`OKTA_PRIVATE_KEY_FILE` names a file on an operator's machine: not here.)
pub fn credentials_from_secret(raw: &str) -> Result<Credentials, AdminError> {
    let value: Value = serde_json::from_str(raw).map_err(|_| {
        AdminError::Config(
            "the Okta credential secret is not JSON (expected an object with OKTA_API_TOKEN, \
             or OKTA_CLIENT_ID and OKTA_PRIVATE_KEY)"
                .into(),
        )
    })?;
    let fields = value.as_object().ok_or_else(|| {
        AdminError::Config("the Okta credential secret is not a JSON object".into())
    })?;
    Credentials::from_env(&|name| match name {
        "OKTA_PRIVATE_KEY_FILE" => None,
        _ => fields.get(name).and_then(Value::as_str).map(String::from),
    })
}

/// The Okta client of a function: `OKTA_ORG_URL` from `env`, credentials from the secret named
/// by `OKTA_SECRET_ID`; 429s are waited out for at most `max_wait` (inside the function's
/// timeout).
pub async fn okta_client(
    env: &dyn Fn(&str) -> Option<String>,
    secrets: &aws_sdk_secretsmanager::Client,
    scopes: &[&'static str],
    max_wait: Duration,
) -> Result<OktaClient, AdminError> {
    let non_empty = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let org = non_empty("OKTA_ORG_URL").ok_or_else(|| {
        AdminError::Config("OKTA_ORG_URL is not set (e.g. https://your-org.okta.com)".into())
    })?;
    let secret_id = non_empty("OKTA_SECRET_ID").ok_or_else(|| {
        AdminError::Config(
            "OKTA_SECRET_ID is not set: the secret that holds this function's Okta credentials"
                .into(),
        )
    })?;
    let raw = read_secret_string(secrets, secret_id.trim())
        .await
        .map_err(|why| {
            AdminError::Config(format!(
                "reading the Okta credential secret {secret_id:?} failed ({why})"
            ))
        })?
        .ok_or_else(|| {
            AdminError::Config(format!(
                "the Okta credential secret {secret_id:?} has no SecretString"
            ))
        })?;
    let mut client = OktaClient::new(
        parse_org_url(&org)?,
        credentials_from_secret(&raw)?,
        scopes.to_vec(),
    )?;
    client.rate_limit.max_wait = max_wait;
    Ok(client)
}

/// JSON log lines on stdout (CloudWatch Logs), `RUST_LOG`-style filter from `NL3_LOG` (default
/// `info`); other crates' own logging is capped at `warn`, as in the hook (at TRACE they print
/// request bodies, which here hold keys and tokens).
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let level = std::env::var("NL3_LOG").unwrap_or_else(|_| "info".into());
    let filter = EnvFilter::try_new(format!(
        "{level},lambda_runtime=warn,lambda_runtime_api_client=warn,reqwest=warn,hyper=warn,\
         hyper_util=warn,h2=warn,rustls=warn,aws_config=warn,aws_smithy_runtime=warn,\
         aws_smithy_runtime_api=warn,aws_sdk_secretsmanager=warn,aws_smithy_http_client=warn"
    ))
    .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(false)
        .without_time()
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_from_the_secret_json() {
        let token = credentials_from_secret(r#"{"OKTA_API_TOKEN":" 00abc "}"#).unwrap();
        assert!(matches!(token, Credentials::ApiToken(t) if t == "00abc"));
        let err = credentials_from_secret(r#"{"OKTA_CLIENT_ID":"0oa1"}"#).unwrap_err();
        assert!(err.to_string().contains("OKTA_PRIVATE_KEY"), "{err}");
        // A file path is the CLI's; a function reads only the secret.
        let err =
            credentials_from_secret(r#"{"OKTA_CLIENT_ID":"0oa1","OKTA_PRIVATE_KEY_FILE":"/k"}"#)
                .unwrap_err();
        assert!(err.to_string().contains("neither"), "{err}");
        assert!(credentials_from_secret("[1]").is_err());
        assert!(credentials_from_secret("not json").is_err());
        assert!(credentials_from_secret("{}")
            .unwrap_err()
            .to_string()
            .contains("no Okta credentials"));
    }
}

//! The header secret Okta sends with each hook call: NL3's documented setup stores
//! `base64(API_KEY)` as the `Authorization` header value (the hook accepts raw or base64).
//! `API_KEY` comes from the hook's own Secrets Manager secret (`SECRET_ID`, JSON with `API_KEY`)
//! or from the environment.

use base64::Engine;

use crate::AdminError;

/// The header name and value to configure in Okta. Never printed.
pub struct HeaderSecret {
    pub key: String,
    pub value: String,
    /// `GATEWAY_API_KEY`: the API gateway's key, sent by Okta as the custom header `x-api-key`
    /// (the template's gateway refuses calls without it).
    pub gateway_key: Option<String>,
}

impl std::fmt::Debug for HeaderSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeaderSecret")
            .field("key", &self.key)
            .field("value", &"..")
            .field("gateway_key", &self.gateway_key.as_ref().map(|_| ".."))
            .finish()
    }
}

/// `API_KEY` out of the secret's JSON (`{"API_KEY": …, "SIGNING_KEY": …, "IPINFO_TOKEN": …}`).
pub fn api_key_from_json(raw: &str) -> Result<String, AdminError> {
    let value: serde_json::Value = serde_json::from_str(raw).map_err(|_| {
        AdminError::Config("the secret is not JSON (expected an object with API_KEY)".into())
    })?;
    value["API_KEY"]
        .as_str()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(String::from)
        .ok_or_else(|| AdminError::Config("the secret has no non-empty API_KEY string".into()))
}

pub fn header_secret(api_key: &str, header: Option<String>) -> HeaderSecret {
    HeaderSecret {
        key: header
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "Authorization".into()),
        value: base64::engine::general_purpose::STANDARD.encode(api_key.as_bytes()),
        gateway_key: None,
    }
}

/// From Secrets Manager when `SECRET_ID` is set, else from `API_KEY`.
pub async fn load(
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<HeaderSecret, AdminError> {
    let gateway_key = env("GATEWAY_API_KEY")
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty());
    let secret = load_header_secret(env).await?;
    Ok(HeaderSecret {
        gateway_key,
        ..secret
    })
}

/// The setting that names the API gateway's key for Okta's `x-api-key` header.
pub const GATEWAY_KEY_SETTING: &str = "GATEWAY_API_KEY";
/// The custom header an API Gateway key travels in.
pub const GATEWAY_KEY_HEADER: &str = "x-api-key";

async fn load_header_secret(
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<HeaderSecret, AdminError> {
    let header = env("API_KEY_HEADER");
    if let Some(secret_id) = env("SECRET_ID").filter(|s| !s.trim().is_empty()) {
        let raw = read_secret_string(&secrets_manager().await, secret_id.trim())
            .await
            .map_err(|why| {
                AdminError::Config(format!(
                    "reading secret {secret_id:?} from Secrets Manager failed ({why}); check SECRET_ID, AWS credentials and region, \
                     or set API_KEY instead"
                ))
            })?
            .ok_or_else(|| AdminError::Config(format!("secret {secret_id:?} has no SecretString")))?;
        return Ok(header_secret(&api_key_from_json(&raw)?, header));
    }
    match env("API_KEY").filter(|k| !k.trim().is_empty()) {
        Some(key) => Ok(header_secret(key.trim(), header)),
        None => Err(AdminError::Config(
            "the hook secret is needed to register the hook: set SECRET_ID (the hook's Secrets Manager secret) or API_KEY"
                .into(),
        )),
    }
}

/// A Secrets Manager client from the environment (region and credentials;
/// `AWS_ENDPOINT_URL_SECRETS_MANAGER` points it elsewhere, as in the tests).
pub async fn secrets_manager() -> aws_sdk_secretsmanager::Client {
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    aws_sdk_secretsmanager::Client::new(&aws)
}

/// The current `SecretString` of `secret_id` (`None`: the secret holds binary only); the error
/// is the SDK's, with its context, for the caller to name the secret in.
pub async fn read_secret_string(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<Option<String>, String> {
    let answer = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string())?;
    Ok(answer.secret_string().map(String::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_api_key_and_encodes_it() {
        let key = api_key_from_json(r#"{"API_KEY":" k3y ","SIGNING_KEY":"x"}"#).unwrap();
        assert_eq!(key, "k3y");
        let h = header_secret(&key, None);
        assert_eq!(
            (h.key.as_str(), h.value.as_str()),
            ("Authorization", "azN5")
        );
        assert!(!format!("{h:?}").contains("azN5"));
        assert!(api_key_from_json(r#"{"SIGNING_KEY":"x"}"#).is_err());
        assert!(api_key_from_json("nope").is_err());
    }
}

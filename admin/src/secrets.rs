//! Secrets Manager: the hook's secret (a JSON object holding `API_KEY` beside the hook's other
//! fields) by version and stage, as `setup` and the rotation read and write it; and a function's
//! own Okta credential secret (`OKTA_SECRET_ID`). Errors name the secret and the call, never a
//! value.

use std::collections::HashMap;

use aws_sdk_secretsmanager::error::{DisplayErrorContext, SdkError};
use aws_sdk_secretsmanager::Client;
use serde_json::{Map, Value};

use nl3_shared::secret_source::not_found;

use crate::error::{Error, Result};
use crate::model::{HeaderSecret, SecretValue};
use crate::settings::{self, Credentials, HookSecretFrom, KeyFile, Vars};

pub const CURRENT: &str = "AWSCURRENT";
pub const PENDING: &str = "AWSPENDING";

/// A Secrets Manager client from the environment (region and credentials;
/// `AWS_ENDPOINT_URL_SECRETS_MANAGER` points it elsewhere, as in the tests).
pub async fn client() -> Client {
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    Client::new(&aws)
}

/// Maps an SDK error to [`Error::SecretsManager`], saying what was being done.
fn failed<E>(what: String) -> impl FnOnce(SdkError<E>) -> Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |e| Error::SecretsManager {
        what,
        detail: DisplayErrorContext(&e).to_string(),
        source: Box::new(e),
    }
}

/// A failed read of a secret named by a setting: the setting's error, with the SDK's detail.
fn as_setting(e: Error, what: impl FnOnce(&str) -> String) -> Error {
    match e {
        Error::SecretsManager { detail, source, .. } => Error::SettingFrom {
            what: what(&detail),
            source,
        },
        other => other,
    }
}

/// The hook secret's document: a JSON object whose `API_KEY` is a non-empty string.
#[derive(Debug, Clone, PartialEq)]
pub struct HookSecret {
    pub fields: Map<String, Value>,
}

impl HookSecret {
    pub fn parse(raw: &str) -> Result<HookSecret> {
        let fields = match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(fields)) => fields,
            _ => {
                return Err(Error::Setting(
                    "the secret is not JSON (expected an object with API_KEY)".into(),
                ))
            }
        };
        let secret = HookSecret { fields };
        if secret.api_key().is_none() {
            return Err(Error::Setting(
                "the secret has no non-empty API_KEY string".into(),
            ));
        }
        Ok(secret)
    }

    pub fn api_key(&self) -> Option<&str> {
        self.fields
            .get("API_KEY")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|k| !k.is_empty())
    }

    /// Every field but `API_KEY`: what a rotation copies and must not lose.
    pub fn other_fields(&self) -> Map<String, Value> {
        let mut fields = self.fields.clone();
        fields.remove("API_KEY");
        fields
    }

    pub fn header_secret(&self, header: Option<&str>) -> HeaderSecret {
        HeaderSecret::new(self.api_key().unwrap_or_default(), header)
    }

    /// `API_KEY` as Okta sends it.
    pub fn secret_value(&self) -> SecretValue {
        SecretValue::of_api_key(self.api_key().unwrap_or_default())
    }

    pub fn to_json(&self) -> String {
        Value::Object(self.fields.clone()).to_string()
    }
}

/// The header secret `setup` gives Okta: `SECRET_ID`'s `API_KEY`, or `API_KEY`; with the
/// gateway's key when `GATEWAY_API_KEY` is set.
pub async fn hook_header_secret(hook: &settings::Hook) -> Result<HeaderSecret> {
    let header = hook.api_key_header.as_deref();
    let mut secret = match &hook.secret {
        HookSecretFrom::SecretsManager(id) => {
            let raw = current_string(&client().await, id).await.map_err(|e| {
                as_setting(e, |detail| {
                    format!(
                        "reading secret {id:?} from Secrets Manager failed ({detail}); check SECRET_ID, AWS credentials and region, or set API_KEY instead"
                    )
                })
            })?;
            let raw = raw.ok_or_else(|| Error::Setting(format!("secret {id:?} has no SecretString")))?;
            HookSecret::parse(&raw)?.header_secret(header)
        }
        HookSecretFrom::Value(key) => HeaderSecret::new(&key.0, header),
        HookSecretFrom::Unset => {
            return Err(Error::Setting(
                "the hook secret is needed to register the hook: set SECRET_ID (the hook's Secrets Manager secret) or API_KEY"
                    .into(),
            ))
        }
    };
    secret.gateway_key = hook.gateway_api_key.as_ref().map(|k| k.0.clone());
    Ok(secret)
}

/// The current `SecretString` of `secret_id` (`None`: the secret holds binary only).
pub async fn current_string(client: &Client, secret_id: &str) -> Result<Option<String>> {
    let answer = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(failed(format!(
            "reading secret {secret_id:?} (GetSecretValue)"
        )))?;
    Ok(answer.secret_string().map(String::from))
}

/// A function's Okta credentials, from its own secret's JSON (`OKTA_API_TOKEN`, or
/// `OKTA_CLIENT_ID` with `OKTA_PRIVATE_KEY` and optionally `OKTA_KEY_ID`).
pub async fn okta_credentials(client: &Client, secret_id: &str) -> Result<Credentials> {
    let raw = current_string(client, secret_id)
        .await
        .map_err(|e| {
            as_setting(e, |detail| {
                format!("reading the Okta credential secret {secret_id:?} failed ({detail})")
            })
        })?
        .ok_or_else(|| {
            Error::Setting(format!(
                "the Okta credential secret {secret_id:?} has no SecretString"
            ))
        })?;
    credentials_from_json(&raw)
}

pub fn credentials_from_json(raw: &str) -> Result<Credentials> {
    let value: Value = serde_json::from_str(raw).map_err(|_| {
        Error::Setting(
            "the Okta credential secret is not JSON (expected an object with OKTA_API_TOKEN, \
             or OKTA_CLIENT_ID and OKTA_PRIVATE_KEY)"
                .into(),
        )
    })?;
    let fields = value
        .as_object()
        .ok_or_else(|| Error::Setting("the Okta credential secret is not a JSON object".into()))?;
    let vars = Vars::fields(fields);
    Credentials::read(&vars, KeyFile::NotHere)
}

/// The versions of the hook's secret, as the rotation steps move them.
pub struct Versions<'a> {
    pub client: &'a Client,
    pub secret_id: &'a str,
}

impl Versions<'_> {
    /// Version id → staging labels.
    pub async fn stages(&self) -> Result<HashMap<String, Vec<String>>> {
        let id = self.secret_id;
        let described = self
            .client
            .describe_secret()
            .secret_id(id)
            .send()
            .await
            .map_err(failed(format!("reading secret {id:?} (DescribeSecret)")))?;
        Ok(described
            .version_ids_to_stages()
            .cloned()
            .unwrap_or_default())
    }

    /// The `AWSCURRENT` version, which must be the hook's secret (a JSON object with `API_KEY`).
    pub async fn current(&self) -> Result<HookSecret> {
        let id = self.secret_id;
        let current = self
            .client
            .get_secret_value()
            .secret_id(id)
            .version_stage(CURRENT)
            .send()
            .await
            .map_err(failed(format!(
                "reading the AWSCURRENT version of secret {id:?}"
            )))?;
        let raw = current.secret_string().unwrap_or("");
        let not_ours = |why: &str| {
            Error::Setting(format!(
                "the AWSCURRENT version of secret {id:?} {why}: this function rotates the \
                 hook's secret (JSON with API_KEY, SIGNING_KEY, …); check the SecretId"
            ))
        };
        match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(_)) => {}
            _ => return Err(not_ours("is not a JSON object")),
        }
        HookSecret::parse(raw).map_err(|_| not_ours("has no API_KEY"))
    }

    /// The value of version `token` while it is `AWSPENDING`: `None` when it has none yet (the
    /// version Secrets Manager makes before createSecret); an error when it is not the hook's.
    pub async fn pending(&self, token: &str) -> Result<Option<HookSecret>> {
        let id = self.secret_id;
        let pending = self
            .client
            .get_secret_value()
            .secret_id(id)
            .version_id(token)
            .version_stage(PENDING)
            .send()
            .await;
        let raw = match pending {
            Ok(p) => p.secret_string().map(String::from),
            Err(e) if not_found(&e) => None,
            Err(e) => {
                return Err(failed(format!(
                    "reading the AWSPENDING version {token} of secret {id:?}"
                ))(e))
            }
        };
        raw.map(|raw| {
            HookSecret::parse(&raw).map_err(|_| {
                Error::Rotation(format!(
                    "the AWSPENDING version {token} of secret {id:?} holds a value without \
                     API_KEY; start a new rotation"
                ))
            })
        })
        .transpose()
    }

    /// Writes `secret` as version `token`, `AWSPENDING`.
    pub async fn put_pending(&self, token: &str, secret: &HookSecret) -> Result<()> {
        self.put(token, secret, PENDING, "").await
    }

    /// Writes `secret` as version `token`, `AWSCURRENT` at once (the version it takes the label
    /// from becomes `AWSPREVIOUS`).
    pub async fn put_current(&self, token: &str, secret: &HookSecret) -> Result<()> {
        self.put(token, secret, CURRENT, " as AWSCURRENT").await
    }

    async fn put(
        &self,
        token: &str,
        secret: &HookSecret,
        stage: &str,
        as_what: &str,
    ) -> Result<()> {
        let id = self.secret_id;
        self.client
            .put_secret_value()
            .secret_id(id)
            .client_request_token(token)
            .secret_string(secret.to_json())
            .version_stages(stage)
            .send()
            .await
            .map_err(failed(format!(
                "writing version {token} of secret {id:?}{as_what} (PutSecretValue)"
            )))?;
        Ok(())
    }

    /// Version `version_id`, whatever its labels; `None` when it does not exist (any more).
    pub async fn by_id(&self, version_id: &str) -> Result<Option<HookSecret>> {
        let id = self.secret_id;
        match self
            .client
            .get_secret_value()
            .secret_id(id)
            .version_id(version_id)
            .send()
            .await
        {
            Ok(v) => Ok(v
                .secret_string()
                .and_then(|raw| HookSecret::parse(raw).ok())),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(failed(format!(
                "reading version {version_id} of secret {id:?}"
            ))(e)),
        }
    }

    /// Moves `AWSCURRENT` to `token` (from `current`, which becomes `AWSPREVIOUS`).
    pub async fn make_current(&self, token: &str, current: Option<&str>) -> Result<()> {
        let id = self.secret_id;
        let mut call = self
            .client
            .update_secret_version_stage()
            .secret_id(id)
            .version_stage(CURRENT)
            .move_to_version_id(token);
        if let Some(current) = current {
            call = call.remove_from_version_id(current);
        }
        call.send().await.map_err(failed(format!(
            "moving AWSCURRENT of secret {id:?} to version {token}"
        )))?;
        Ok(())
    }

    /// Takes `AWSPENDING` off version `token`.
    pub async fn drop_pending(&self, token: &str) -> Result<()> {
        let id = self.secret_id;
        self.client
            .update_secret_version_stage()
            .secret_id(id)
            .version_stage(PENDING)
            .remove_from_version_id(token)
            .send()
            .await
            .map_err(failed(format!(
                "removing AWSPENDING from version {token} of secret {id:?}"
            )))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_secret_holds_api_key_and_keeps_the_rest() {
        let s = HookSecret::parse(r#"{"API_KEY":" k3y ","SIGNING_KEY":"x"}"#).unwrap();
        assert_eq!(s.api_key(), Some("k3y"));
        let h = s.header_secret(None);
        assert_eq!(
            (h.header.as_str(), h.value.as_str()),
            ("Authorization", "azN5")
        );
        assert!(!format!("{h:?}").contains("azN5"));
        assert_eq!(s.other_fields().keys().collect::<Vec<_>>(), ["SIGNING_KEY"]);
        assert!(HookSecret::parse(r#"{"SIGNING_KEY":"x"}"#).is_err());
        assert!(HookSecret::parse(r#"{"API_KEY":"  "}"#).is_err());
        assert!(HookSecret::parse("nope").is_err());
    }

    #[test]
    fn okta_credentials_come_from_the_secret_json() {
        assert!(matches!(
            credentials_from_json(r#"{"OKTA_API_TOKEN":" 00abc "}"#).unwrap(),
            Credentials::ApiToken(t) if t == "00abc"
        ));
        let err =
            credentials_from_json(r#"{"OKTA_CLIENT_ID":"0oa1","OKTA_PRIVATE_KEY_FILE":"/k"}"#)
                .unwrap_err();
        assert!(err.to_string().contains("neither"), "{err}");
        assert!(credentials_from_json("[1]").is_err());
        assert!(credentials_from_json("not json").is_err());
        assert!(credentials_from_json("{}")
            .unwrap_err()
            .to_string()
            .contains("no Okta credentials"));
    }
}

//! Settings read once from the environment (CONTRACT §5). Names are kept from NL3's reference
//! handler so an existing deployment's configuration carries over unchanged.

use std::time::Duration;

/// `errorSummary` shown to the user when NL3 says the account is locked and `LOCKED_MESSAGE` is unset.
pub const DEFAULT_LOCKED_MESSAGE: &str =
    "This account is locked. Unlock it in the Next Level3 app, then sign in again.";
pub const DEFAULT_IPINFO_URL: &str = "https://ipinfo.io";
pub const DEFAULT_HOOK_TIMEOUT_MS: u64 = 2500;
/// Okta waits 3 s; a budget above this would let Okta give up first.
pub const MAX_HOOK_TIMEOUT_MS: u64 = 2900;
pub const MIN_HOOK_TIMEOUT_MS: u64 = 50;

/// A missing or invalid setting, always naming the variable (never its value: it may be a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} is invalid: {why}")]
    Invalid { name: &'static str, why: String },
    #[error("start-up failed: {0}")]
    Startup(String),
}

/// Where the three secrets come from.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretsConfig {
    /// `SECRET_ID`: a Secrets Manager secret holding `API_KEY`, `SIGNING_KEY`, `IPINFO_TOKEN`.
    SecretsManager { secret_id: String, ttl: Duration },
    /// No `SECRET_ID`: the raw values from the environment (local runs, the reference's way).
    Environment { raw_json: String },
}

impl std::fmt::Debug for SecretsConfig {
    // Never print the environment secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SecretsManager { secret_id, ttl } => f
                .debug_struct("SecretsManager")
                .field("secret_id", secret_id)
                .field("ttl", ttl)
                .finish(),
            Self::Environment { .. } => f.write_str("Environment"),
        }
    }
}

/// Okta OAuth 2.0 hook authentication (CONTRACT §1), enabled by `OAUTH_ISSUER`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthConfig {
    pub issuer: String,
    pub audience: String,
    pub scope: String,
    pub client_id: Option<String>,
    pub jwks_url: String,
    /// Also accept the `API_KEY` header secret (migration window), see the README.
    pub accept_api_key: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub app_uri: String,
    pub api_uri: String,
    pub api_path: String,
    pub locked_message: String,
    pub secrets: SecretsConfig,
    pub ipinfo_url: String,
    pub fail_open: bool,
    pub hook_timeout: Duration,
    pub ipinfo_timeout: Duration,
    pub ipinfo_cache_ttl: Duration,
    /// Name of the header carrying the hook secret (Okta's `authScheme.key`).
    pub api_key_header: String,
    pub oauth: Option<OAuthConfig>,
    /// CloudWatch namespace of the EMF metrics.
    pub metrics_namespace: String,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        // An empty variable counts as unset: SAM and Terraform pass "" for optional parameters.
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));

        let app_uri = required("APP_URI")?;
        let api_uri = required("API_URI")?;
        check_http_url("API_URI", &api_uri)?;
        let api_path = required("API_PATH")?;
        let ipinfo_url = get("IPINFO_URL").unwrap_or_else(|| DEFAULT_IPINFO_URL.to_string());
        check_http_url("IPINFO_URL", &ipinfo_url)?;

        let fail_open = match get("FAIL_OPEN") {
            None => true,
            Some(v) => parse_bool(&v).ok_or_else(|| ConfigError::Invalid {
                name: "FAIL_OPEN",
                why: "expected true or false".into(),
            })?,
        };
        let hook_timeout_ms = parse_ms(
            get("HOOK_TIMEOUT_MS"),
            "HOOK_TIMEOUT_MS",
            DEFAULT_HOOK_TIMEOUT_MS,
            MIN_HOOK_TIMEOUT_MS..=MAX_HOOK_TIMEOUT_MS,
        )?;
        // ipinfo is enrichment: by default a fifth of the budget, so NL3 keeps the rest.
        let ipinfo_timeout_ms = parse_ms(
            get("IPINFO_TIMEOUT_MS"),
            "IPINFO_TIMEOUT_MS",
            hook_timeout_ms / 5,
            0..=hook_timeout_ms,
        )?;
        let ipinfo_cache_ttl_s = parse_ms(
            get("IPINFO_CACHE_TTL_SECONDS"),
            "IPINFO_CACHE_TTL_SECONDS",
            3600,
            0..=86_400,
        )?;

        let secrets = match get("SECRET_ID") {
            Some(secret_id) => SecretsConfig::SecretsManager {
                secret_id,
                ttl: Duration::from_secs(parse_ms(
                    get("SECRET_TTL_SECONDS"),
                    "SECRET_TTL_SECONDS",
                    900,
                    1..=86_400,
                )?),
            },
            None => SecretsConfig::Environment {
                raw_json: serde_json::json!({
                    "API_KEY": get("API_KEY"),
                    "SIGNING_KEY": get("SIGNING_KEY"),
                    "IPINFO_TOKEN": get("IPINFO_TOKEN"),
                })
                .to_string(),
            },
        };

        let api_key_header = get("API_KEY_HEADER").unwrap_or_else(|| "Authorization".into());
        if http::HeaderName::from_bytes(api_key_header.as_bytes()).is_err() {
            return Err(ConfigError::Invalid {
                name: "API_KEY_HEADER",
                why: "not a valid HTTP header name".into(),
            });
        }

        let oauth = match get("OAUTH_ISSUER") {
            None => None,
            Some(issuer) => {
                let issuer = issuer.trim_end_matches('/').to_string();
                check_http_url("OAUTH_ISSUER", &issuer)?;
                let jwks_url = get("OAUTH_JWKS_URL").unwrap_or_else(|| format!("{issuer}/v1/keys"));
                check_http_url("OAUTH_JWKS_URL", &jwks_url)?;
                let accept_api_key = match get("OAUTH_ACCEPT_API_KEY") {
                    None => false,
                    Some(v) => parse_bool(&v).ok_or_else(|| ConfigError::Invalid {
                        name: "OAUTH_ACCEPT_API_KEY",
                        why: "expected true or false".into(),
                    })?,
                };
                Some(OAuthConfig {
                    issuer,
                    audience: required("OAUTH_AUDIENCE")?,
                    scope: required("OAUTH_SCOPE")?,
                    client_id: get("OAUTH_CLIENT_ID"),
                    jwks_url,
                    accept_api_key,
                })
            }
        };

        Ok(Self {
            app_uri,
            api_uri,
            api_path,
            locked_message: get("LOCKED_MESSAGE").unwrap_or_else(|| DEFAULT_LOCKED_MESSAGE.into()),
            secrets,
            ipinfo_url: ipinfo_url.trim_end_matches('/').to_string(),
            fail_open,
            hook_timeout: Duration::from_millis(hook_timeout_ms),
            ipinfo_timeout: Duration::from_millis(ipinfo_timeout_ms),
            ipinfo_cache_ttl: Duration::from_secs(ipinfo_cache_ttl_s),
            api_key_header,
            oauth,
            metrics_namespace: get("METRICS_NAMESPACE")
                .unwrap_or_else(|| crate::metrics::DEFAULT_NAMESPACE.into()),
        })
    }

    /// Whether Okta's call may carry the `API_KEY` header secret (so the secret must hold one):
    /// always without OAuth, and with it only during a migration (`OAUTH_ACCEPT_API_KEY`).
    pub fn accepts_api_key(&self) -> bool {
        self.oauth.as_ref().is_none_or(|oauth| oauth.accept_api_key)
    }

    /// The NL3 lock-check URL: `API_URI` + `API_PATH`, as the reference joins them.
    pub fn nl3_url(&self) -> String {
        format!("{}{}", self.api_uri, self.api_path)
    }
}

/// `FAIL_OPEN` as the hook would read it even when other settings are broken, so that a
/// misconfigured deployment still follows the operator's fail-open choice. An unreadable value
/// fails closed: someone set it, and `FAIL_OPEN=flase` most likely meant false.
pub fn fail_open_from_env() -> bool {
    match std::env::var("FAIL_OPEN") {
        Ok(v) if !v.trim().is_empty() => parse_bool(&v).unwrap_or(false),
        _ => true,
    }
}

pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_ms(
    value: Option<String>,
    name: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let Some(value) = value else {
        return Ok(default);
    };
    match value.trim().parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ConfigError::Invalid {
            name,
            why: format!(
                "expected a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        }),
    }
}

fn check_http_url(name: &'static str, value: &str) -> Result<(), ConfigError> {
    match reqwest::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        _ => Err(ConfigError::Invalid {
            name,
            why: "expected an http(s) URL".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| env.get(k).cloned())
    }

    const BASE: [(&str, &str); 3] = [
        ("APP_URI", "https://app.example.com"),
        ("API_URI", "https://api.nextlevel3.com"),
        ("API_PATH", "/nl3/api/v1/accountProtectionCheck"),
    ];

    #[test]
    fn defaults_follow_the_contract() {
        let s = settings(&BASE).unwrap();
        assert!(s.fail_open);
        assert_eq!(s.hook_timeout, Duration::from_millis(2500));
        assert_eq!(s.ipinfo_timeout, Duration::from_millis(500));
        assert_eq!(s.ipinfo_url, "https://ipinfo.io");
        assert_eq!(s.api_key_header, "Authorization");
        assert_eq!(s.locked_message, DEFAULT_LOCKED_MESSAGE);
        assert_eq!(
            s.nl3_url(),
            "https://api.nextlevel3.com/nl3/api/v1/accountProtectionCheck"
        );
        assert!(matches!(s.secrets, SecretsConfig::Environment { .. }));
        assert!(s.oauth.is_none());
    }

    #[test]
    fn missing_and_invalid_settings_name_the_variable() {
        let err = settings(&BASE[..2]).unwrap_err();
        assert_eq!(err, ConfigError::Missing("API_PATH"));
        assert_eq!(err.to_string(), "API_PATH is not set");

        let mut with_bad = BASE.to_vec();
        with_bad.push(("FAIL_OPEN", "maybe"));
        assert!(settings(&with_bad)
            .unwrap_err()
            .to_string()
            .starts_with("FAIL_OPEN is invalid"));

        let mut with_bad = BASE.to_vec();
        with_bad.push(("HOOK_TIMEOUT_MS", "5000"));
        assert!(settings(&with_bad)
            .unwrap_err()
            .to_string()
            .starts_with("HOOK_TIMEOUT_MS is invalid"));

        let mut with_bad = BASE.to_vec();
        with_bad[1] = ("API_URI", "not a url");
        assert!(settings(&with_bad)
            .unwrap_err()
            .to_string()
            .starts_with("API_URI is invalid"));
    }

    #[test]
    fn empty_values_count_as_unset() {
        let mut pairs = BASE.to_vec();
        pairs.push(("SECRET_ID", ""));
        pairs.push(("FAIL_OPEN", " "));
        let s = settings(&pairs).unwrap();
        assert!(s.fail_open);
        assert!(matches!(s.secrets, SecretsConfig::Environment { .. }));
    }

    #[test]
    fn secret_id_selects_secrets_manager_and_debug_hides_env_secrets() {
        let mut pairs = BASE.to_vec();
        pairs.push(("API_KEY", "hunter2-api-key"));
        let s = settings(&pairs).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
        pairs.push(("SECRET_ID", "nl3/okta-hook"));
        let s = settings(&pairs).unwrap();
        assert!(
            matches!(s.secrets, SecretsConfig::SecretsManager { ref secret_id, .. } if secret_id == "nl3/okta-hook")
        );
    }

    #[test]
    fn oauth_settings_derive_the_jwks_url() {
        let mut pairs = BASE.to_vec();
        pairs.push(("OAUTH_ISSUER", "https://example.okta.com/oauth2/default/"));
        assert_eq!(
            settings(&pairs).unwrap_err(),
            ConfigError::Missing("OAUTH_AUDIENCE")
        );
        pairs.push(("OAUTH_AUDIENCE", "api://nl3-hook"));
        pairs.push(("OAUTH_SCOPE", "nl3.hook"));
        let oauth = settings(&pairs).unwrap().oauth.unwrap();
        assert_eq!(oauth.issuer, "https://example.okta.com/oauth2/default");
        assert_eq!(
            oauth.jwks_url,
            "https://example.okta.com/oauth2/default/v1/keys"
        );
        assert!(!oauth.accept_api_key);
    }

    #[test]
    fn booleans_accept_common_spellings() {
        for t in ["true", "TRUE", "1", "yes", " on "] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["false", "False", "0", "no", "off"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        assert_eq!(parse_bool("flase"), None);
    }
}

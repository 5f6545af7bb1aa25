//! Settings, read once from the environment and checked into typed values: one struct per party
//! (NL3, ipinfo, hook authentication, secrets, policy, observability). Names are kept from NL3's
//! reference handler so an existing deployment's configuration carries over (docs/contract.md §5).
//! What the Okta-facing functions read too (NL3's and ipinfo's variables, the secret's source,
//! `API_KEY_HEADER`, `MODE`) is parsed by `nl3_shared::settings`, so both read them alike.
//!
//! A leaf: imports nothing from the crate.

use std::time::Duration;

use http::HeaderName;
use nl3_shared::secrets::{HookSecrets, SecretDocument};
use nl3_shared::settings::{
    api_key_header, IpinfoSettings, Mode, Nl3Settings, SecretsSettings, SettingsError, Vars,
};

/// `errorSummary` shown to the user when NL3 says the account is locked and `LOCKED_MESSAGE` is unset.
pub const DEFAULT_LOCKED_MESSAGE: &str =
    "This account is locked. Unlock it in the Next Level3 app, then sign in again.";
pub const DEFAULT_HOOK_TIMEOUT_MS: u64 = 2500;
/// Okta waits 3 s; a budget above this would let Okta give up first.
pub const MAX_HOOK_TIMEOUT_MS: u64 = 2900;
pub const MIN_HOOK_TIMEOUT_MS: u64 = 50;
use nl3_shared::settings::{DEFAULT_NAMESPACE, DEFAULT_SERVICE};

/// A missing or invalid setting, always naming the variable (never its value: it may be a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} is invalid: {why}")]
    Invalid {
        name: &'static str,
        why: &'static str,
    },
    #[error("start-up failed: {0}")]
    Startup(String),
}

impl From<SettingsError> for ConfigError {
    fn from(e: SettingsError) -> Self {
        match e {
            SettingsError::Missing(name) => Self::Missing(name),
            SettingsError::Invalid { name, why } => Self::Invalid { name, why },
        }
    }
}

/// What happens to a sign-in from an application with no entry of its own in `APPS` when there
/// is no default (`APP_URI` and `SIGNING_KEY`) either: `UNLISTED_APPS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlisted {
    /// A failed check (`FAIL_OPEN` decides): the app should have been configured.
    Check,
    /// Allowed without asking NL3 (decision `not_enrolled`).
    Allow,
    /// Refused with `LOCKED_MESSAGE`.
    Refuse,
}

/// Which name a sign-in is checked under (`USERNAME_SOURCE`, docs/contract.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UsernameSource {
    /// The Okta login (`data.context.user.profile.login`, else the session's), for both hook
    /// types; the app username only when Okta sends no login.
    #[default]
    OktaLogin,
    /// The name the app knows the user by (a token's `preferred_username`, a SAML NameID),
    /// else the Okta login: for NL3 accounts keyed by app usernames. Admins map
    /// `preferred_username` per app, possibly to an attribute users can edit.
    AppUsername,
}

/// Okta OAuth 2.0 hook authentication, enabled by `OAUTH_ISSUER`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthSettings {
    pub issuer: String,
    pub audience: String,
    pub scope: String,
    pub client_id: Option<String>,
    pub jwks_url: String,
}

/// How Okta's call is authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// The header carrying the hook secret (Okta's `authScheme.key`).
    pub api_key_header: HeaderName,
    pub oauth: Option<OAuthSettings>,
    /// Whether the `API_KEY` header secret is accepted: always without OAuth, with it only during
    /// a migration (`OAUTH_ACCEPT_API_KEY`).
    pub accept_api_key: bool,
}

/// What the hook decides when it cannot ask NL3, and what it tells users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub fail_open: bool,
    pub locked_message: String,
    /// The whole answer's budget.
    pub hook_timeout: Duration,
    pub unlisted: Unlisted,
    pub mode: Mode,
}

/// Metric and log naming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observability {
    pub metrics_namespace: String,
    pub service: String,
}

impl Default for Observability {
    fn default() -> Self {
        Self {
            metrics_namespace: DEFAULT_NAMESPACE.into(),
            service: DEFAULT_SERVICE.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub nl3: Nl3Settings,
    pub ipinfo: IpinfoSettings,
    pub auth: AuthSettings,
    /// Where the secret comes from; read as [`HookSecrets`] (all of it).
    pub secrets: SecretsSettings,
    pub policy: Policy,
    pub observability: Observability,
    pub username_source: UsernameSource,
}

/// A true/false variable, `default` when unset (or empty, as every variable: [`Vars`]).
fn bool_var(env: Vars<'_>, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match env.get(name) {
        None => Ok(default),
        Some(v) => parse_bool(&v).ok_or(ConfigError::Invalid {
            name,
            why: "expected true or false",
        }),
    }
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Vars::new(&lookup);
        let policy = Policy {
            fail_open: fail_open(&lookup)?,
            locked_message: env
                .get("LOCKED_MESSAGE")
                .unwrap_or_else(|| DEFAULT_LOCKED_MESSAGE.into()),
            hook_timeout: Duration::from_millis(env.number(
                "HOOK_TIMEOUT_MS",
                DEFAULT_HOOK_TIMEOUT_MS,
                MIN_HOOK_TIMEOUT_MS..=MAX_HOOK_TIMEOUT_MS,
            )?),
            unlisted: match env
                .get("UNLISTED_APPS")
                .map(|v| v.trim().to_ascii_lowercase())
            {
                None => Unlisted::Check,
                Some(v) if v == "check" => Unlisted::Check,
                Some(v) if v == "allow" => Unlisted::Allow,
                Some(v) if v == "refuse" => Unlisted::Refuse,
                Some(_) => {
                    return Err(ConfigError::Invalid {
                        name: "UNLISTED_APPS",
                        why: "expected check, allow or refuse",
                    })
                }
            },
            mode: Mode::from_lookup(&lookup)?,
        };
        Ok(Self {
            // NL3's and ipinfo's variables are read as the Okta-side tools read them.
            nl3: Nl3Settings::from_lookup(&lookup)?,
            ipinfo: IpinfoSettings::from_lookup(&lookup, policy.hook_timeout)?,
            auth: auth_settings(&lookup)?,
            secrets: SecretsSettings::from_lookup(&lookup, HookSecrets::ENV_FIELDS)?,
            observability: observability(&lookup),
            username_source: match env
                .get("USERNAME_SOURCE")
                .map(|v| v.trim().to_ascii_lowercase())
            {
                None => UsernameSource::OktaLogin,
                Some(v) if v == "okta_login" => UsernameSource::OktaLogin,
                Some(v) if v == "app_username" => UsernameSource::AppUsername,
                Some(_) => {
                    return Err(ConfigError::Invalid {
                        name: "USERNAME_SOURCE",
                        why: "expected okta_login or app_username",
                    })
                }
            },
            policy,
        })
    }
}

fn auth_settings(lookup: &impl Fn(&str) -> Option<String>) -> Result<AuthSettings, ConfigError> {
    let env = Vars::new(lookup);
    let api_key_header = api_key_header(lookup)?;
    let Some(issuer) = env.get("OAUTH_ISSUER") else {
        return Ok(AuthSettings {
            api_key_header,
            oauth: None,
            accept_api_key: true,
        });
    };
    let issuer = issuer.trim_end_matches('/').to_string();
    env.url("OAUTH_ISSUER", &issuer)?;
    let jwks_url = env
        .get("OAUTH_JWKS_URL")
        .unwrap_or_else(|| format!("{issuer}/v1/keys"));
    env.url("OAUTH_JWKS_URL", &jwks_url)?;
    Ok(AuthSettings {
        api_key_header,
        accept_api_key: bool_var(env, "OAUTH_ACCEPT_API_KEY", false)?,
        oauth: Some(OAuthSettings {
            issuer,
            audience: env.required("OAUTH_AUDIENCE")?,
            scope: env.required("OAUTH_SCOPE")?,
            client_id: env.get("OAUTH_CLIENT_ID"),
            jwks_url,
        }),
    })
}

/// `FAIL_OPEN`, by the one rule the hook has: unset means true; set, it must read as a boolean.
/// A misconfigured deployment uses the same function and fails closed on an unreadable value
/// (someone set it, and `FAIL_OPEN=flase` most likely meant false).
pub fn fail_open(lookup: &impl Fn(&str) -> Option<String>) -> Result<bool, ConfigError> {
    bool_var(Vars::new(lookup), "FAIL_OPEN", true)
}

/// Metric naming, with Lambda Powertools' variables first; readable even when other settings
/// are broken, so a misconfigured hook still reports under the right names.
pub fn observability(lookup: &impl Fn(&str) -> Option<String>) -> Observability {
    let env = Vars::new(lookup);
    Observability {
        metrics_namespace: env
            .get("POWERTOOLS_METRICS_NAMESPACE")
            .or_else(|| env.get("METRICS_NAMESPACE"))
            .unwrap_or_else(|| DEFAULT_NAMESPACE.into()),
        service: env
            .get("POWERTOOLS_SERVICE_NAME")
            .unwrap_or_else(|| DEFAULT_SERVICE.into()),
    }
}

pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
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
        assert!(s.policy.fail_open);
        assert_eq!(s.policy.hook_timeout, Duration::from_millis(2500));
        assert_eq!(s.ipinfo.timeout, Duration::from_millis(500));
        assert_eq!(s.ipinfo.base_url, "https://ipinfo.io");
        assert_eq!(s.auth.api_key_header, http::header::AUTHORIZATION);
        assert!(s.auth.accept_api_key);
        assert_eq!(s.policy.locked_message, DEFAULT_LOCKED_MESSAGE);
        assert_eq!(
            s.nl3.check_url.as_str(),
            "https://api.nextlevel3.com/nl3/api/v1/accountProtectionCheck"
        );
        assert!(matches!(s.secrets, SecretsSettings::Environment { .. }));
        assert!(s.auth.oauth.is_none());
        assert_eq!(s.observability, Observability::default());
        assert_eq!(s.policy.unlisted, Unlisted::Check);
        assert_eq!(s.username_source, UsernameSource::OktaLogin);
    }

    #[test]
    fn username_source_is_the_okta_login_unless_the_app_username_is_asked_for() {
        let mut pairs = BASE.to_vec();
        pairs.push(("USERNAME_SOURCE", " App_Username "));
        assert_eq!(
            settings(&pairs).unwrap().username_source,
            UsernameSource::AppUsername
        );
        pairs.pop();
        pairs.push(("USERNAME_SOURCE", "okta_login"));
        assert_eq!(
            settings(&pairs).unwrap().username_source,
            UsernameSource::OktaLogin
        );
    }

    #[test]
    fn missing_and_invalid_settings_name_the_variable() {
        let err = settings(&BASE[..2]).unwrap_err();
        assert_eq!(err, ConfigError::Missing("API_PATH"));
        assert_eq!(
            settings(&BASE[1..]).unwrap().nl3.issuer,
            None,
            "APP_URI is optional"
        );
        assert_eq!(err.to_string(), "API_PATH is not set");

        for (name, value) in [
            ("FAIL_OPEN", "maybe"),
            ("HOOK_TIMEOUT_MS", "5000"),
            ("API_URI", "not a url"),
            ("API_KEY_HEADER", "bad header"),
            ("IPINFO_TIMEOUT_MS", "99999"),
            ("UNLISTED_APPS", "maybe"),
            ("USERNAME_SOURCE", "preferred_username"),
        ] {
            let mut with_bad = BASE.to_vec();
            with_bad.retain(|(k, _)| *k != name);
            with_bad.push((name, value));
            let err = settings(&with_bad).unwrap_err().to_string();
            assert!(err.starts_with(&format!("{name} is invalid")), "{err}");
            assert!(!err.contains(value), "{err}");
        }
    }

    #[test]
    fn empty_values_count_as_unset() {
        let mut pairs = BASE.to_vec();
        pairs.push(("SECRET_ID", ""));
        pairs.push(("FAIL_OPEN", " "));
        let s = settings(&pairs).unwrap();
        assert!(s.policy.fail_open);
        assert!(matches!(s.secrets, SecretsSettings::Environment { .. }));
    }

    #[test]
    fn secret_id_selects_secrets_manager_and_debug_hides_env_secrets() {
        let mut pairs = BASE.to_vec();
        pairs.push(("API_KEY", "hunter2-api-key"));
        let s = settings(&pairs).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
        pairs.push(("SECRET_ID", "nl3/okta-hook"));
        pairs.push(("API_KEY_GRACE_SECONDS", "0"));
        let s = settings(&pairs).unwrap();
        assert_eq!(
            s.secrets,
            SecretsSettings::SecretsManager {
                secret_id: "nl3/okta-hook".into(),
                ttl: Duration::from_secs(900),
                api_key_grace: Duration::ZERO,
            }
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
        let auth = settings(&pairs).unwrap().auth;
        let oauth = auth.oauth.unwrap();
        assert_eq!(oauth.issuer, "https://example.okta.com/oauth2/default");
        assert_eq!(
            oauth.jwks_url,
            "https://example.okta.com/oauth2/default/v1/keys"
        );
        assert!(!auth.accept_api_key);
    }

    #[test]
    fn fail_open_has_one_rule_and_powertools_names_win() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(fail_open(&env(&[])), Ok(true));
        assert_eq!(fail_open(&env(&[("FAIL_OPEN", "off")])), Ok(false));
        assert!(fail_open(&env(&[("FAIL_OPEN", "flase")])).is_err());
        let o = observability(&env(&[
            ("METRICS_NAMESPACE", "Old"),
            ("POWERTOOLS_METRICS_NAMESPACE", "New"),
            ("POWERTOOLS_SERVICE_NAME", "okta-hook-prod"),
        ]));
        assert_eq!(o.metrics_namespace, "New");
        assert_eq!(o.service, "okta-hook-prod");
        assert_eq!(
            observability(&env(&[("METRICS_NAMESPACE", "Old")])).metrics_namespace,
            "Old"
        );
    }

    #[test]
    fn parse_bool_reads_common_spellings() {
        for t in ["true", "TRUE", " 1 ", "yes", "on"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["false", "0", "no", "Off"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        assert_eq!(parse_bool("flase"), None);
    }
}

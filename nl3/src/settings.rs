//! The settings the hook shares with the Okta-facing functions (docs/contract.md §3, §4, §5),
//! read from variables by the one set of rules ([`Vars`]), so that the hook and the Okta-side
//! functions read them identically: where NL3 and ipinfo are and how long ipinfo may take
//! (`APP_URI`, `API_URI`, `API_PATH`, `IPINFO_URL`, `IPINFO_TIMEOUT_MS`,
//! `IPINFO_CACHE_TTL_SECONDS`); where the hook secret comes from (`SECRET_ID`,
//! `SECRET_TTL_SECONDS`, `API_KEY_GRACE_SECONDS`, or the environment); the header carrying it
//! (`API_KEY_HEADER`); and whether sign-ins may be refused (`MODE`). Names are kept from NL3's
//! reference handler.
//!
//! A leaf: imports nothing from the crate.

use std::time::Duration;

use http::HeaderName;
use reqwest::Url;

pub const DEFAULT_IPINFO_URL: &str = "https://ipinfo.io";
/// How long a secret read from Secrets Manager is used before it is read again.
pub const DEFAULT_SECRET_TTL_SECONDS: u64 = 900;
/// How long the previous `API_KEY` stays accepted after a new one is put in the secret.
pub const DEFAULT_API_KEY_GRACE_SECONDS: u64 = 3600;
/// The header carrying the hook secret unless `API_KEY_HEADER` names another.
pub const DEFAULT_API_KEY_HEADER: &str = "Authorization";

/// CloudWatch namespace of the EMF metrics (the hook's and the Okta-side functions') unless
/// `POWERTOOLS_METRICS_NAMESPACE` (or, for the hook, `METRICS_NAMESPACE`) says otherwise.
pub const DEFAULT_NAMESPACE: &str = "NL3OktaHook";
/// The `service` metric dimension unless `POWERTOOLS_SERVICE_NAME` says otherwise.
pub const DEFAULT_SERVICE: &str = "nl3-okta-hook";

/// A missing or invalid variable, always naming it (never its value: it may be a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} is invalid: {why}")]
    Invalid {
        name: &'static str,
        why: &'static str,
    },
}

/// Variables through a lookup (the process environment, or a table in tests). An empty value
/// counts as unset: SAM and Terraform pass "" for optional parameters.
#[derive(Clone, Copy)]
pub struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

impl<'a> Vars<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self(lookup)
    }

    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    pub fn required(&self, name: &'static str) -> Result<String, SettingsError> {
        self.get(name).ok_or(SettingsError::Missing(name))
    }

    /// A whole number in `range`, `default` when unset.
    pub fn number(
        &self,
        name: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, SettingsError> {
        let Some(value) = self.get(name) else {
            return Ok(default);
        };
        match value.trim().parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(SettingsError::Invalid {
                name,
                why: "expected a whole number in the documented range",
            }),
        }
    }

    /// `value` (read from `name`, or built from it) as an http(s) URL with a host.
    pub fn url(&self, name: &'static str, value: &str) -> Result<Url, SettingsError> {
        match Url::parse(value) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
            _ => Err(SettingsError::Invalid {
                name,
                why: "expected an http(s) URL",
            }),
        }
    }
}

/// A URL whose host is this machine (`localhost`, 127.0.0.0/8, `::1`): where plain http is
/// allowed, for tests and local runs.
pub fn is_loopback(url: &Url) -> bool {
    match url.domain() {
        Some(name) => name.eq_ignore_ascii_case("localhost"),
        None => url
            .host_str()
            .and_then(|ip| ip.trim_matches(['[', ']']).parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| ip.is_loopback()),
    }
}

/// Where NL3 is and who the caller is to it (docs/contract.md §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nl3Settings {
    /// `API_URI` + `API_PATH`, as the reference joins them.
    pub check_url: Url,
    /// `API_URI`: the JWT `aud`, and where the connection is warmed.
    pub audience: String,
    /// `APP_URI`: the default application's JWT `iss` (per-application entries have their own).
    pub issuer: Option<String>,
}

impl Nl3Settings {
    /// `APP_URI` (optional: with per-application entries there may be no default application),
    /// `API_URI` and `API_PATH`.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let vars = Vars::new(lookup);
        let issuer = vars.get("APP_URI");
        let audience = vars.required("API_URI")?;
        vars.url("API_URI", &audience)?;
        let path = vars.required("API_PATH")?;
        Ok(Self {
            check_url: vars.url("API_PATH", &format!("{audience}{path}"))?,
            audience,
            issuer,
        })
    }
}

/// ipinfo (docs/contract.md §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpinfoSettings {
    pub base_url: String,
    /// ipinfo's slice of the budget.
    pub timeout: Duration,
    pub cache_ttl: Duration,
}

impl IpinfoSettings {
    /// `IPINFO_URL`, `IPINFO_TIMEOUT_MS` (at most `budget`, the caller's whole time for a check)
    /// and `IPINFO_CACHE_TTL_SECONDS`.
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
        budget: Duration,
    ) -> Result<Self, SettingsError> {
        let vars = Vars::new(lookup);
        let base_url = vars
            .get("IPINFO_URL")
            .unwrap_or_else(|| DEFAULT_IPINFO_URL.into());
        vars.url("IPINFO_URL", &base_url)?;
        let budget_ms = budget.as_millis() as u64;
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            // Enrichment: by default a fifth of the budget, so NL3 keeps the rest.
            timeout: Duration::from_millis(vars.number(
                "IPINFO_TIMEOUT_MS",
                budget_ms / 5,
                0..=budget_ms,
            )?),
            cache_ttl: Duration::from_secs(vars.number(
                "IPINFO_CACHE_TTL_SECONDS",
                3600,
                0..=86_400,
            )?),
        })
    }
}

/// Whether sign-ins may be refused (`MODE`, globally and per `APPS` entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Refuse what the decision refuses.
    #[default]
    Enforce,
    /// Report only: everything is checked, nothing is refused (but a call that fails Okta's
    /// authentication); the answer says what would have been refused.
    Report,
}

impl Mode {
    /// `enforce` or `report`, in any case.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "enforce" => Some(Self::Enforce),
            "report" => Some(Self::Report),
            _ => None,
        }
    }

    /// The deployment's `MODE`: `enforce` when unset.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        match Vars::new(lookup).get("MODE") {
            None => Ok(Self::Enforce),
            Some(v) => Self::parse(&v).ok_or(SettingsError::Invalid {
                name: "MODE",
                why: "expected enforce or report",
            }),
        }
    }
}

/// `API_KEY_HEADER`: the header carrying the hook secret (Okta's `authScheme.key`),
/// `Authorization` when unset.
pub fn api_key_header(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<HeaderName, SettingsError> {
    let header = Vars::new(lookup)
        .get("API_KEY_HEADER")
        .unwrap_or_else(|| DEFAULT_API_KEY_HEADER.into());
    HeaderName::from_bytes(header.trim().as_bytes()).map_err(|_| SettingsError::Invalid {
        name: "API_KEY_HEADER",
        why: "not a valid HTTP header name",
    })
}

/// `API_KEY_GRACE_SECONDS`: how long after a rotation the previous key is still accepted (the
/// rotation reads it as the hook does, to say when a hook it did not rotate stops working).
pub fn api_key_grace(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Duration, SettingsError> {
    Ok(Duration::from_secs(Vars::new(lookup).number(
        "API_KEY_GRACE_SECONDS",
        DEFAULT_API_KEY_GRACE_SECONDS,
        0..=7 * 86_400,
    )?))
}

/// A field of the hook secret that a reader takes from the environment when there is no
/// `SECRET_ID` (each reader names only the fields it reads: a receiver of Okta's calls never
/// takes `SIGNING_KEY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvField {
    /// A string field, as it is.
    Text(&'static str),
    /// A field that holds JSON in the secret (`APPS`, `BREAK_GLASS_LOGINS`): the variable's
    /// text read as JSON; text that is not JSON is kept as a string, for the secret's reader to
    /// name as malformed.
    Json(&'static str),
}

/// Where the hook secret comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretsSettings {
    /// `SECRET_ID`: a Secrets Manager secret.
    SecretsManager {
        secret_id: String,
        /// `SECRET_TTL_SECONDS`: how long a read secret is used before it is read again.
        ttl: Duration,
        /// `API_KEY_GRACE_SECONDS`: how long after a new version is created the previous
        /// version's `API_KEY` still works.
        api_key_grace: Duration,
    },
    /// No `SECRET_ID`: the fields from the environment (local runs, the reference's way), as
    /// the JSON object the secret would hold.
    Environment { json: String },
}

impl std::fmt::Debug for SecretsSettings {
    // Never print the environment secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SecretsManager {
                secret_id,
                ttl,
                api_key_grace,
            } => f
                .debug_struct("SecretsManager")
                .field("secret_id", secret_id)
                .field("ttl", ttl)
                .field("api_key_grace", api_key_grace)
                .finish(),
            Self::Environment { .. } => f.write_str("Environment"),
        }
    }
}

impl SecretsSettings {
    /// `SECRET_ID` (with `SECRET_TTL_SECONDS` and `API_KEY_GRACE_SECONDS`), or without it the
    /// environment's `fields` (only those: what the secret's reader reads).
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
        fields: &[EnvField],
    ) -> Result<Self, SettingsError> {
        let vars = Vars::new(lookup);
        Ok(match vars.get("SECRET_ID") {
            Some(secret_id) => Self::SecretsManager {
                secret_id,
                ttl: Duration::from_secs(vars.number(
                    "SECRET_TTL_SECONDS",
                    DEFAULT_SECRET_TTL_SECONDS,
                    0..=86_400,
                )?),
                api_key_grace: api_key_grace(lookup)?,
            },
            None => {
                let json: serde_json::Map<String, serde_json::Value> = fields
                    .iter()
                    .map(|field| match *field {
                        EnvField::Text(name) => (name.to_string(), vars.get(name).into()),
                        EnvField::Json(name) => {
                            (name.to_string(), vars.get(name).map(json_or_text).into())
                        }
                    })
                    .collect();
                Self::Environment {
                    json: serde_json::Value::Object(json).to_string(),
                }
            }
        })
    }
}

/// A JSON setting as its value; text that is not JSON stays text, for the secret's reader to
/// name as malformed.
fn json_or_text(text: String) -> serde_json::Value {
    serde_json::from_str(&text).unwrap_or(text.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table<'a>(
        pairs: &'a [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    const BASE: [(&str, &str); 3] = [
        ("APP_URI", "https://app.example.com"),
        ("API_URI", "https://api.nextlevel3.com"),
        ("API_PATH", "/nl3/api/v1/accountProtectionCheck"),
    ];

    #[test]
    fn loopback_is_localhost_and_the_loopback_addresses_only() {
        for url in [
            "http://localhost:1",
            "http://LOCALHOST",
            "http://127.0.0.2:9",
            "http://[::1]:9",
        ] {
            assert!(is_loopback(&Url::parse(url).unwrap()), "{url}");
        }
        for url in [
            "http://example.com",
            "http://10.0.0.1",
            "http://[::2]",
            "http://localhost.example.com",
        ] {
            assert!(!is_loopback(&Url::parse(url).unwrap()), "{url}");
        }
    }

    #[test]
    fn nl3_settings_join_the_uri_and_path() {
        let lookup = table(&BASE);
        let s = Nl3Settings::from_lookup(&lookup).unwrap();
        assert_eq!(
            s.check_url.as_str(),
            "https://api.nextlevel3.com/nl3/api/v1/accountProtectionCheck"
        );
        assert_eq!(s.audience, "https://api.nextlevel3.com");
        assert_eq!(s.issuer.as_deref(), Some("https://app.example.com"));
        let lookup = table(&BASE[1..]);
        let s = Nl3Settings::from_lookup(&lookup).unwrap();
        assert_eq!(s.issuer, None, "APP_URI is optional");
    }

    #[test]
    fn errors_name_the_variable_never_the_value() {
        for (pairs, expected) in [
            (&BASE[..2], "API_PATH is not set"),
            (&[BASE[0], BASE[2]][..], "API_URI is not set"),
            (
                &[("API_URI", "not a url"), BASE[2]][..],
                "API_URI is invalid: expected an http(s) URL",
            ),
            (&[("API_URI", " "), BASE[2]][..], "API_URI is not set"),
        ] {
            let lookup = table(pairs);
            let err = Nl3Settings::from_lookup(&lookup).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{pairs:?}: {err}");
            assert!(!err.contains("not a url"), "{err}");
        }
        for (name, value) in [
            ("IPINFO_URL", "ftp://ipinfo.example"),
            ("IPINFO_TIMEOUT_MS", "501"),
            ("IPINFO_CACHE_TTL_SECONDS", "-1"),
        ] {
            let pairs = [(name, value)];
            let lookup = table(&pairs);
            let err = IpinfoSettings::from_lookup(&lookup, Duration::from_millis(500)).unwrap_err();
            assert!(
                matches!(err, SettingsError::Invalid { name: n, .. } if n == name),
                "{err}"
            );
            assert!(!err.to_string().contains(value), "{err}");
        }
    }

    #[test]
    fn ipinfo_defaults_to_a_fifth_of_the_budget_and_empty_means_unset() {
        let pairs = [
            ("IPINFO_URL", " "),
            ("IPINFO_TIMEOUT_MS", ""),
            ("IPINFO_CACHE_TTL_SECONDS", ""),
        ];
        let lookup = table(&pairs);
        let s = IpinfoSettings::from_lookup(&lookup, Duration::from_millis(2500)).unwrap();
        assert_eq!(
            s,
            IpinfoSettings {
                base_url: DEFAULT_IPINFO_URL.into(),
                timeout: Duration::from_millis(500),
                cache_ttl: Duration::from_secs(3600),
            }
        );
        let pairs = [
            ("IPINFO_URL", "http://127.0.0.1:9/"),
            ("IPINFO_TIMEOUT_MS", "2500"),
            ("IPINFO_CACHE_TTL_SECONDS", "0"),
        ];
        let lookup = table(&pairs);
        let s = IpinfoSettings::from_lookup(&lookup, Duration::from_millis(2500)).unwrap();
        assert_eq!(s.base_url, "http://127.0.0.1:9", "no trailing slash");
        assert_eq!(s.timeout, Duration::from_millis(2500));
        assert!(s.cache_ttl.is_zero());
    }

    #[test]
    fn mode_and_the_key_header_are_read_as_the_hook_reads_them() {
        let lookup = table(&[]);
        assert_eq!(Mode::from_lookup(&lookup), Ok(Mode::Enforce));
        assert_eq!(
            api_key_header(&lookup).unwrap(),
            http::header::AUTHORIZATION
        );
        let pairs = [("MODE", " REPORT "), ("API_KEY_HEADER", " X-Okta-Secret ")];
        let lookup = table(&pairs);
        assert_eq!(Mode::from_lookup(&lookup), Ok(Mode::Report));
        assert_eq!(api_key_header(&lookup).unwrap(), "x-okta-secret");
        let pairs = [("MODE", "watch"), ("API_KEY_HEADER", "bad header")];
        let lookup = table(&pairs);
        assert_eq!(
            Mode::from_lookup(&lookup).unwrap_err().to_string(),
            "MODE is invalid: expected enforce or report"
        );
        let err = api_key_header(&lookup).unwrap_err().to_string();
        assert_eq!(
            err,
            "API_KEY_HEADER is invalid: not a valid HTTP header name"
        );
        let pairs = [("MODE", "")];
        assert_eq!(Mode::from_lookup(&table(&pairs)), Ok(Mode::Enforce));
    }

    #[test]
    fn the_secret_comes_from_secrets_manager_or_from_the_named_fields_alone() {
        let pairs = [("SECRET_ID", "nl3/okta-hook"), ("API_KEY", "hunter2")];
        let s = SecretsSettings::from_lookup(&table(&pairs), &[]).unwrap();
        assert_eq!(
            s,
            SecretsSettings::SecretsManager {
                secret_id: "nl3/okta-hook".into(),
                ttl: Duration::from_secs(900),
                api_key_grace: Duration::from_secs(3600),
            }
        );
        let pairs = [
            ("SECRET_ID", "nl3/okta-hook"),
            ("SECRET_TTL_SECONDS", "0"),
            ("API_KEY_GRACE_SECONDS", "604800"),
        ];
        let s = SecretsSettings::from_lookup(&table(&pairs), &[]).unwrap();
        assert!(matches!(
            s,
            SecretsSettings::SecretsManager { ttl, api_key_grace, .. }
                if ttl.is_zero() && api_key_grace == Duration::from_secs(604_800)
        ));
        for (name, value) in [
            ("SECRET_TTL_SECONDS", "86401"),
            ("API_KEY_GRACE_SECONDS", "604801"),
        ] {
            let pairs = [("SECRET_ID", "x"), (name, value)];
            let err = SecretsSettings::from_lookup(&table(&pairs), &[]).unwrap_err();
            assert!(
                matches!(err, SettingsError::Invalid { name: n, .. } if n == name),
                "{err}"
            );
        }

        // Without SECRET_ID: the fields asked for, and only those (a receiver asks for API_KEY
        // alone and never holds the signing key); JSON fields as JSON, unreadable text kept.
        let pairs = [
            ("SECRET_ID", " "),
            ("API_KEY", "k"),
            ("SIGNING_KEY", "hunter2-signing"),
            ("APPS", r#"{"a": {}}"#),
            ("BREAK_GLASS_LOGINS", "not json"),
        ];
        let lookup = table(&pairs);
        let only_key = SecretsSettings::from_lookup(&lookup, &[EnvField::Text("API_KEY")]).unwrap();
        let SecretsSettings::Environment { json } = &only_key else {
            panic!("{only_key:?}")
        };
        assert_eq!(json, r#"{"API_KEY":"k"}"#);
        assert!(!format!("{only_key:?}").contains('k'), "{only_key:?}");
        let all = SecretsSettings::from_lookup(
            &lookup,
            &[
                EnvField::Text("API_KEY"),
                EnvField::Text("IPINFO_TOKEN"),
                EnvField::Json("APPS"),
                EnvField::Json("BREAK_GLASS_LOGINS"),
            ],
        )
        .unwrap();
        let SecretsSettings::Environment { json } = all else {
            panic!("{all:?}")
        };
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"API_KEY": "k", "IPINFO_TOKEN": null, "APPS": {"a": {}},
                               "BREAK_GLASS_LOGINS": "not json"})
        );
    }
}

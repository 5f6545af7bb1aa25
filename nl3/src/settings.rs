//! Where NL3 and ipinfo are, and how long ipinfo may take (docs/contract.md §3, §4, §5), read
//! from variables (`APP_URI`, `API_URI`, `API_PATH`, `IPINFO_URL`, `IPINFO_TIMEOUT_MS`,
//! `IPINFO_CACHE_TTL_SECONDS`) by the one set of rules ([`Vars`]), so that the hook and the
//! Okta-side tools read them identically. Names are kept from NL3's reference handler.
//!
//! A leaf: imports nothing from the crate.

use std::time::Duration;

use reqwest::Url;

pub const DEFAULT_IPINFO_URL: &str = "https://ipinfo.io";

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
}

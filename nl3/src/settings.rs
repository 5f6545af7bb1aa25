//! Where NL3 and ipinfo are, and how long ipinfo may take (docs/contract.md §3, §4, §5).
//!
//! A leaf: imports nothing from the crate.

use std::time::Duration;

use reqwest::Url;

pub const DEFAULT_IPINFO_URL: &str = "https://ipinfo.io";

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

/// ipinfo (docs/contract.md §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpinfoSettings {
    pub base_url: String,
    /// ipinfo's slice of the budget.
    pub timeout: Duration,
    pub cache_ttl: Duration,
}

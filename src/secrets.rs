//! What the hook's secret holds (docs/contract.md §5): `API_KEY` (the hook secret Okta's call
//! carries), `SIGNING_KEY` (the default application's NL3 key), `IPINFO_TOKEN`, per-application
//! entries (`APPS`) and `BREAK_GLASS_LOGINS`, read from the secret's JSON into [`HookSecrets`]:
//! keys as digests or ready to sign, and the previous and pending versions' `API_KEY` beside the
//! current one. Where the JSON comes from is the source's business (`secret_source`).
//!
//! Layer 1: imports only leaves.

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use serde::Deserialize;

use crate::config::Mode;
use jsonwebtoken::EncodingKey;
use nl3_shared::api_key::{decode_base64, ApiKey, Presented};

/// Secrets ready for use: API keys as digests, signing keys decoded and ready to sign.
pub struct HookSecrets {
    /// `None` only when OAuth authenticates Okta's calls and no `API_KEY` is configured.
    api_key: Option<ApiKey>,
    /// The previous version's key and when it stops being accepted.
    previous_api_key: Option<(ApiKey, SystemTime)>,
    /// The `AWSPENDING` version's key, while a rotation is in flight.
    pending_api_key: Option<ApiKey>,
    /// The default application's key; `None` only when `APPS` has entries.
    signing_key: Option<EncodingKey>,
    ipinfo_token: Option<String>,
    /// Per-application entries (`APPS`), by the key Okta's request names the app with.
    /// An entry that cannot be used is kept with the reason, so only its app's calls fail.
    apps: HashMap<String, Result<AppEntry, String>>,
    /// `BREAK_GLASS_LOGINS`, lowercased: a failed check never refuses these accounts.
    break_glass: HashSet<String>,
}

/// One `APPS` entry: an application registered at NL3 with a signing key of its own.
pub struct AppEntry {
    pub app_uri: String,
    signing_key: EncodingKey,
    pub locked_message: Option<String>,
    pub fail_open: Option<bool>,
    pub mode: Option<Mode>,
}

impl AppEntry {
    pub fn signing_key(&self) -> &EncodingKey {
        &self.signing_key
    }

    /// Reads one `APPS` entry; the reason names the field (never its value).
    fn from_json(entry: &serde_json::Value) -> Result<Self, String> {
        let object = entry.as_object().ok_or("the entry is not a JSON object")?;
        let text = |name: &str| -> Result<Option<String>, String> {
            match object.get(name) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(non_empty(Some(s.clone()))),
                Some(_) => Err(format!("{name} is not a string")),
            }
        };
        let app_uri = text("APP_URI")?.ok_or("APP_URI is missing")?;
        check_app_uri(&app_uri)?;
        let signing_key = text("SIGNING_KEY")?.ok_or("SIGNING_KEY is missing")?;
        let signing_key = decode_signing_key(&signing_key).ok_or("SIGNING_KEY is not base64")?;
        let fail_open = match object.get("FAIL_OPEN") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Bool(b)) => Some(*b),
            Some(_) => return Err("FAIL_OPEN is not true or false".into()),
        };
        let mode = match text("MODE")? {
            None => None,
            Some(mode) => Some(Mode::parse(&mode).ok_or("MODE is not enforce or report")?),
        };
        Ok(Self {
            app_uri,
            signing_key,
            locked_message: text("LOCKED_MESSAGE")?,
            fail_open,
            mode,
        })
    }
}

/// An application's `APP_URI` is an absolute https URL (http only for loopback, for tests and
/// local runs): it is the NL3 token's issuer.
fn check_app_uri(uri: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(uri).map_err(|_| "APP_URI is not an absolute URL")?;
    let host = url.host_str().unwrap_or("");
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err("APP_URI is not an https URL (http only for loopback)".into()),
    }
}

/// NL3 signs with the base64-decoded key from its company portal (docs/contract.md §3).
fn decode_signing_key(text: &str) -> Option<EncodingKey> {
    let decoded = decode_base64(text.as_bytes()).filter(|k| !k.is_empty())?;
    Some(EncodingKey::from_secret(&decoded))
}

impl std::fmt::Debug for HookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookSecrets")
            .field("api_key", &self.api_key.as_ref().map(|_| ".."))
            .field(
                "previous_api_key_until",
                &self.previous_api_key.as_ref().map(|(_, until)| until),
            )
            .field(
                "pending_api_key",
                &self.pending_api_key.as_ref().map(|_| ".."),
            )
            .field("signing_key", &self.signing_key.as_ref().map(|_| ".."))
            .field("ipinfo_token", &self.ipinfo_token.as_ref().map(|_| ".."))
            .field("apps", &self.apps.keys().collect::<Vec<_>>())
            .field("break_glass_logins", &self.break_glass.len())
            .finish()
    }
}

/// The secret's JSON is not what the hook can use. The text names fields, never values.
#[derive(Debug, Clone, thiserror::Error)]
#[error("secret is malformed: {0}")]
pub struct Malformed(pub String);

#[derive(Deserialize)]
struct SecretFields {
    #[serde(rename = "API_KEY")]
    api_key: Option<String>,
    #[serde(rename = "SIGNING_KEY")]
    signing_key: Option<String>,
    #[serde(rename = "IPINFO_TOKEN")]
    ipinfo_token: Option<String>,
    #[serde(rename = "APPS")]
    apps: Option<serde_json::Value>,
    #[serde(rename = "BREAK_GLASS_LOGINS")]
    break_glass_logins: Option<serde_json::Value>,
}

fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn fields(raw: &str) -> Result<SecretFields, Malformed> {
    serde_json::from_str(raw).map_err(|e| {
        // serde's message can quote a value ("invalid type: string \"…\""): keep only the class.
        Malformed(format!(
            "not a JSON object with string fields ({:?} error)",
            e.classify()
        ))
    })
}

/// The `API_KEY` of another version of the secret, if it has a usable one.
fn api_key_of(raw: &str) -> Option<ApiKey> {
    let key = fields(raw).ok().and_then(|f| non_empty(f.api_key))?;
    Some(ApiKey::new(&key))
}

impl HookSecrets {
    /// Parses the secret's JSON. `API_KEY` may be absent only when `api_key_required` is false.
    pub fn from_json(raw: &str, api_key_required: bool) -> Result<Self, Malformed> {
        let fields = fields(raw)?;
        let api_key = match non_empty(fields.api_key) {
            Some(key) => Some(ApiKey::new(&key)),
            None if api_key_required => return Err(Malformed("API_KEY is missing".into())),
            None => None,
        };
        let apps = match fields.apps {
            None | Some(serde_json::Value::Null) => HashMap::new(),
            Some(serde_json::Value::Object(apps)) => apps
                .iter()
                .map(|(key, entry)| {
                    let entry =
                        AppEntry::from_json(entry).map_err(|why| format!("app {key}: {why}"));
                    (key.trim().to_string(), entry)
                })
                .collect(),
            Some(_) => return Err(Malformed("APPS is not a JSON object of app entries".into())),
        };
        let not_a_list = || Malformed("BREAK_GLASS_LOGINS is not a list of strings".into());
        let break_glass = match fields.break_glass_logins {
            None | Some(serde_json::Value::Null) => HashSet::new(),
            Some(serde_json::Value::Array(logins)) => logins
                .iter()
                .map(|login| login.as_str().map(|l| l.trim().to_lowercase()))
                .collect::<Option<_>>()
                .ok_or_else(not_a_list)?,
            Some(_) => return Err(not_a_list()),
        };
        // Without per-application entries, the default application's key is required.
        let signing_key = match non_empty(fields.signing_key) {
            Some(key) => Some(
                decode_signing_key(&key)
                    .ok_or_else(|| Malformed("SIGNING_KEY is not base64".into()))?,
            ),
            None if apps.is_empty() => return Err(Malformed("SIGNING_KEY is missing".into())),
            None => None,
        };
        Ok(Self {
            api_key,
            previous_api_key: None,
            pending_api_key: None,
            signing_key,
            ipinfo_token: non_empty(fields.ipinfo_token),
            apps,
            break_glass,
        })
    }

    /// Whether `login` is a break-glass account (compared case-insensitively, as Okta compares
    /// logins).
    pub fn is_break_glass(&self, login: &str) -> bool {
        !self.break_glass.is_empty() && self.break_glass.contains(&login.trim().to_lowercase())
    }

    /// Accepts the previous version's `API_KEY` too, until `until`.
    pub(crate) fn with_previous(mut self, previous_raw: &str, until: SystemTime) -> Self {
        self.previous_api_key = api_key_of(previous_raw).map(|key| (key, until));
        self
    }

    /// Accepts the pending version's `API_KEY` too (a rotation in flight).
    pub(crate) fn with_pending(mut self, pending_raw: &str) -> Self {
        self.pending_api_key = api_key_of(pending_raw);
        self
    }

    /// Whether the previous version's `API_KEY` is accepted (within its grace period).
    pub fn accepts_previous_api_key(&self) -> bool {
        self.previous_api_key.is_some()
    }

    /// Whether a pending version's `API_KEY` is accepted (a rotation in flight).
    pub fn accepts_pending_api_key(&self) -> bool {
        self.pending_api_key.is_some()
    }

    pub fn has_api_key(&self) -> bool {
        self.api_key.is_some()
    }

    /// Whether `presented` carries the current `API_KEY`, the pending one, or the previous one
    /// within its grace period. All are compared whatever the first gave (constant time per call).
    pub fn accepts_api_key(&self, presented: &[u8]) -> bool {
        let presented = Presented::new(presented);
        let current = self
            .api_key
            .as_ref()
            .is_some_and(|k| k.matches_presented(&presented));
        let previous = self.previous_api_key.as_ref().is_some_and(|(k, until)| {
            k.matches_presented(&presented) & (SystemTime::now() < *until)
        });
        let pending = self
            .pending_api_key
            .as_ref()
            .is_some_and(|k| k.matches_presented(&presented));
        current | previous | pending
    }

    /// The default application's signing key (`SIGNING_KEY`), when there is one.
    pub fn signing_key(&self) -> Option<&EncodingKey> {
        self.signing_key.as_ref()
    }

    /// The entry of the application Okta names with any of `keys`, with the key that matched.
    pub fn app(&self, keys: &[String]) -> Option<(&str, &Result<AppEntry, String>)> {
        keys.iter()
            .find_map(|k| self.apps.get_key_value(k.as_str()))
            .map(|(k, entry)| (k.as_str(), entry))
    }

    pub fn ipinfo_token(&self) -> Option<&str> {
        self.ipinfo_token.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parses_the_three_fields_and_decodes_the_signing_key() {
        let s = HookSecrets::from_json(
            r#"{"API_KEY":"k","SIGNING_KEY":"c2lnbmluZy1rZXk=","IPINFO_TOKEN":"t"}"#,
            true,
        )
        .unwrap();
        assert!(s.accepts_api_key(b"k"));
        assert_eq!(s.ipinfo_token(), Some("t"));
    }

    #[test]
    fn malformed_secrets_name_the_field_not_the_value() {
        let cases = [
            (r#"not json"#, "not a JSON object"),
            (r#"{"SIGNING_KEY":"c2s="}"#, "API_KEY is missing"),
            (r#"{"API_KEY":"k"}"#, "SIGNING_KEY is missing"),
            (
                r#"{"API_KEY":"k","SIGNING_KEY":"%%%-not-b64"}"#,
                "SIGNING_KEY is not base64",
            ),
            (
                r#"{"API_KEY":"hunter2-value","SIGNING_KEY":5}"#,
                "not a JSON object",
            ),
        ];
        for (raw, expected) in cases {
            let err = HookSecrets::from_json(raw, true).unwrap_err().to_string();
            assert!(err.contains(expected), "{raw}: {err}");
            assert!(!err.contains("hunter2") && !err.contains("%%%"), "{err}");
        }
    }

    #[test]
    fn api_key_is_optional_when_not_required() {
        let s = HookSecrets::from_json(r#"{"SIGNING_KEY":"c2s="}"#, false).unwrap();
        assert!(!s.has_api_key());
        assert!(!s.accepts_api_key(b""));
        assert!(s.ipinfo_token().is_none());
    }

    #[test]
    fn previous_key_is_accepted_only_within_its_grace() {
        let current = r#"{"API_KEY":"new","SIGNING_KEY":"c2s="}"#;
        let previous = r#"{"API_KEY":"old","SIGNING_KEY":"c2s="}"#;
        let later = SystemTime::now() + Duration::from_secs(60);
        let s = HookSecrets::from_json(current, true)
            .unwrap()
            .with_previous(previous, later);
        assert!(s.accepts_api_key(b"new") && s.accepts_api_key(b"old"));
        assert!(!s.accepts_api_key(b"other"));
        let past = SystemTime::now() - Duration::from_secs(1);
        let s = HookSecrets::from_json(current, true)
            .unwrap()
            .with_previous(previous, past);
        assert!(s.accepts_api_key(b"new") && !s.accepts_api_key(b"old"));
    }

    #[test]
    fn pending_key_is_accepted_beside_the_current_one() {
        let current = r#"{"API_KEY":"now","SIGNING_KEY":"c2s="}"#;
        let pending = r#"{"API_KEY":"next","SIGNING_KEY":"c2s="}"#;
        let s = HookSecrets::from_json(current, true)
            .unwrap()
            .with_pending(pending);
        assert!(s.accepts_api_key(b"now") && s.accepts_api_key(b"next"));
        assert!(!s.accepts_api_key(b"other"));
        // A pending version without API_KEY adds nothing.
        let s = HookSecrets::from_json(current, true)
            .unwrap()
            .with_pending(r#"{"SIGNING_KEY":"c2s="}"#);
        assert!(s.accepts_api_key(b"now") && !s.accepts_api_key(b""));
    }

    #[test]
    fn app_entries_are_read_and_a_bad_one_is_unusable_alone() {
        let raw = serde_json::json!({
            "API_KEY": "k",
            "APPS": {
                "crm-client": {"APP_URI": "https://crm.example.com", "SIGNING_KEY": "Y3Jt",
                               "LOCKED_MESSAGE": "CRM says no.", "FAIL_OPEN": false},
                "http://www.okta.com/exk1": {"APP_URI": "http://127.0.0.1:9", "SIGNING_KEY": "c2FtbA=="},
                "no-key": {"APP_URI": "https://a.example.com"},
                "bad-key": {"APP_URI": "https://a.example.com", "SIGNING_KEY": "%%hunter2%%"},
                "plain-http": {"APP_URI": "http://a.example.com", "SIGNING_KEY": "Y3Jt"},
                "relative": {"APP_URI": "crm", "SIGNING_KEY": "Y3Jt"},
                "not-an-object": "x",
            }
        })
        .to_string();
        let s = HookSecrets::from_json(&raw, true).unwrap();
        assert!(s.signing_key().is_none(), "no default without SIGNING_KEY");
        let (key, crm) = s.app(&["nope".into(), "crm-client".into()]).unwrap();
        assert_eq!(key, "crm-client");
        let crm = crm.as_ref().unwrap();
        assert_eq!(crm.app_uri, "https://crm.example.com");
        assert_eq!(crm.locked_message.as_deref(), Some("CRM says no."));
        assert_eq!(crm.fail_open, Some(false));
        assert!(s
            .app(&["http://www.okta.com/exk1".into()])
            .unwrap()
            .1
            .is_ok());
        for (bad, why) in [
            ("no-key", "app no-key: SIGNING_KEY is missing"),
            ("bad-key", "app bad-key: SIGNING_KEY is not base64"),
            ("plain-http", "app plain-http: APP_URI is not an https URL"),
            ("relative", "app relative: APP_URI is not an absolute URL"),
            (
                "not-an-object",
                "app not-an-object: the entry is not a JSON object",
            ),
        ] {
            let reason = s.app(&[bad.into()]).unwrap().1.as_ref().err().unwrap();
            assert!(reason.starts_with(why), "{reason}");
            assert!(!reason.contains("hunter2"));
        }
        assert!(s.app(&["unlisted".into()]).is_none());

        let err =
            HookSecrets::from_json(r#"{"API_KEY":"k","SIGNING_KEY":"c2s=","APPS":[1]}"#, true)
                .unwrap_err();
        assert!(
            err.to_string().contains("APPS is not a JSON object"),
            "{err}"
        );
    }

    #[test]
    fn debug_output_hides_values() {
        let s = HookSecrets::from_json(
            r#"{"API_KEY":"hunter2","SIGNING_KEY":"c2s=","IPINFO_TOKEN":"tok-hunter2"}"#,
            true,
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}

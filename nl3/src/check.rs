//! The NL3 account protection check (docs/contract.md §3): the signed request and reading its
//! answer. Layer 1: imports only the leaves.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::http_client::{describe, read_capped, redirect, BodyError};
use crate::settings::Nl3Settings;

// Names made once, not parsed from text on every call.
const TOKEN_HEADER: http::HeaderName = http::HeaderName::from_static("x-nl3-authorization-token");
const FORWARDED_FOR_HEADER: http::HeaderName = http::HeaderName::from_static("x-forwarded-for");
const LOCATION_HEADER: http::HeaderName = http::HeaderName::from_static("x-nl3-device-location");

/// NL3 answers with a small JSON object; a larger body is not a lock-check answer.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// `integrationType`: which kind of integration asks (docs/contract.md §3). The caller's own
/// type, so that neither side's notion of a sign-in leaks into this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationType {
    /// An OIDC / OAuth 2.0 sign-in (Okta's token inline hook).
    OktaOidc,
    /// A SAML sign-in (Okta's SAML assertion inline hook).
    OktaSaml,
}

impl IntegrationType {
    /// The value NL3 expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OktaOidc => "okta-oidc",
            Self::OktaSaml => "okta-saml",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockStatus {
    Locked,
    NotLocked,
}

/// Why the check gave no answer. Messages carry no token and no key.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Nl3Error {
    #[error("could not sign the NL3 token: {0}")]
    Sign(#[source] Arc<jsonwebtoken::errors::Error>),
    #[error("NL3 request failed: {text}")]
    Request {
        text: String,
        #[source]
        source: Arc<reqwest::Error>,
    },
    #[error("NL3 answer could not be read: {0}")]
    Body(#[source] BodyError),
    #[error("NL3 answered {0}")]
    Redirect(String),
    #[error("NL3 answered HTTP {status}: {excerpt}")]
    Status { status: u16, excerpt: String },
    #[error("NL3 answer is not JSON: {0}")]
    NotJson(String),
    #[error("NL3 answer has no readable locked value: {0}")]
    BadLocked(String),
}

/// Claims of the `x-nl3-authorization-token` JWT.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Nl3Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
}

impl Nl3Claims {
    /// `iat`/`nbf` a minute back (clock skew, as the reference), `exp` five minutes ahead.
    pub fn new(app_uri: &str, api_uri: &str, username: &str, now_s: u64) -> Self {
        Self {
            iss: app_uri.to_string(),
            aud: api_uri.to_string(),
            sub: username.to_string(),
            iat: now_s.saturating_sub(60),
            nbf: now_s.saturating_sub(60),
            exp: now_s + 300,
        }
    }
}

/// Body of the lock-check request.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckBody<'a> {
    #[serde(rename = "userIP")]
    user_ip: &'a str,
    user_device: &'a str,
    user_location: &'a str,
    integration_type: &'a str,
    integration_data: &'a RawValue,
}

/// One check's inputs.
pub struct CheckRequest<'a> {
    pub username: &'a str,
    pub integration_type: IntegrationType,
    /// The client IP as Okta sent it (for `userIP`) and, when it parsed, its canonical form.
    pub client_ip: &'a str,
    pub parsed_ip: Option<std::net::IpAddr>,
    /// `"City, Region"` from ipinfo, or `""`.
    pub user_location: &'a str,
    /// ipinfo's `loc` (`"lat,long"`), when it is safe in a header.
    pub lat_long: Option<&'a str>,
    /// The ipinfo answer, or `{}`.
    pub integration_data: &'a RawValue,
    /// The sign-in's user agent, when the caller has one (`userDevice`); `None` sends `"N/A"`.
    pub user_device: Option<&'a str>,
}

impl CheckRequest<'_> {
    fn body(&self) -> CheckBody<'_> {
        CheckBody {
            user_ip: self.client_ip,
            user_device: self.user_device.unwrap_or("N/A"),
            user_location: self.user_location,
            integration_type: self.integration_type.as_str(),
            integration_data: self.integration_data,
        }
    }
}

pub struct Nl3Client {
    http: reqwest::Client,
    settings: Nl3Settings,
}

impl Nl3Client {
    pub fn new(http: reqwest::Client, settings: Nl3Settings) -> Self {
        Self { http, settings }
    }

    /// Opens the connection to NL3 (TCP, TLS, HTTP/2) ahead of the first call: Lambda's init
    /// phase runs at full CPU and does not count against Okta's 3 s. The answer is ignored.
    pub async fn warm_up(&self, timeout: std::time::Duration) {
        let _ = self
            .http
            .head(&self.settings.audience)
            .timeout(timeout)
            .send()
            .await;
    }

    /// `APP_URI`, the default application's `iss`, when configured.
    pub fn default_issuer(&self) -> Option<&str> {
        self.settings.issuer.as_deref()
    }

    /// Asks NL3 whether the account is locked, as the application `issuer` (its `APP_URI`) with
    /// its signing key. The caller bounds the time (its deadline).
    pub async fn check(
        &self,
        request: &CheckRequest<'_>,
        issuer: &str,
        signing_key: &EncodingKey,
    ) -> Result<LockStatus, Nl3Error> {
        let now_s = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = Nl3Claims::new(issuer, &self.settings.audience, request.username, now_s);
        let token = jsonwebtoken::encode(&Header::default(), &claims, signing_key)
            .map_err(|e| Nl3Error::Sign(Arc::new(e)))?;
        let mut token = http::HeaderValue::try_from(token)
            .expect("a JWT is base64url and dots: always a valid header value");
        token.set_sensitive(true); // never indexed by HTTP/2 header compression

        let mut call = self
            .http
            .post(self.settings.check_url.clone())
            .header(TOKEN_HEADER, token)
            .json(&request.body());
        // The extra headers NL3's other integrations send; only values that are safe in a header.
        if let Some(ip) = request.parsed_ip {
            call = call.header(FORWARDED_FOR_HEADER, ip.to_string());
        }
        if let Some(loc) = request.lat_long {
            call = call.header(LOCATION_HEADER, loc);
        }
        let mut response = call.send().await.map_err(|e| Nl3Error::Request {
            text: describe(&e),
            source: Arc::new(e),
        })?;
        if let Some(redirect) = redirect(&response) {
            return Err(Nl3Error::Redirect(redirect));
        }
        let status = response.status();
        let body = read_capped(&mut response, MAX_ANSWER_BYTES)
            .await
            .map_err(Nl3Error::Body)?;
        if !status.is_success() {
            // NL3's error text (e.g. an invalid-token message) tells the operator what is wrong;
            // a token it might echo back is cut out, as it goes to the logs.
            let excerpt = redact_jwts(
                &String::from_utf8_lossy(&body)
                    .chars()
                    .take(200)
                    .collect::<String>(),
            );
            return Err(Nl3Error::Status {
                status: status.as_u16(),
                excerpt,
            });
        }
        parse_answer(&body)
    }
}

/// Reads NL3's answer (docs/contract.md §3). `locked` must be a boolean or the string
/// `"true"`/`"false"` (NL3's API docs show a string), in any case. Anything else — missing, null,
/// a number, an object, another string — means the check did not happen: a failure, which
/// `FAIL_OPEN` decides, never a guess.
pub fn parse_answer(body: &[u8]) -> Result<LockStatus, Nl3Error> {
    let not_json = |e: serde_json::Error| Nl3Error::NotJson(e.to_string());
    // A struct would also take a JSON array (its fields in order): only an object is an answer.
    if body.trim_ascii_start().first() != Some(&b'{') {
        serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(not_json)?;
        return Err(Nl3Error::NotJson("not a JSON object".into()));
    }
    // A repeated `locked` is a failure ("duplicate field"), never one of its values.
    let answer: Nl3Answer = serde_json::from_slice(body).map_err(not_json)?;
    let raw = answer
        .locked
        .ok_or_else(|| Nl3Error::BadLocked("locked is missing".into()))?
        .get();
    let text = match raw {
        "true" => return Ok(LockStatus::Locked),
        "false" => return Ok(LockStatus::NotLocked),
        _ => serde_json::from_str::<std::borrow::Cow<str>>(raw).ok(),
    };
    match text.as_deref().map(str::trim) {
        Some(t) if t.eq_ignore_ascii_case("true") => Ok(LockStatus::Locked),
        Some(t) if t.eq_ignore_ascii_case("false") => Ok(LockStatus::NotLocked),
        _ => {
            let shown: String = raw.chars().take(40).collect();
            Err(Nl3Error::BadLocked(format!(
                "locked is {}",
                redact_jwts(&shown)
            )))
        }
    }
}

/// NL3's answer: only `locked` is read, kept as its JSON text until its kind is known.
#[derive(Deserialize)]
struct Nl3Answer<'a> {
    #[serde(borrow, default)]
    locked: Option<&'a RawValue>,
}

/// Replaces anything shaped like a JWT (`eyJ…`) with `[token]`.
fn redact_jwts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("eyJ") {
        out.push_str(&rest[..at]);
        out.push_str("[token]");
        let token = &rest[at..];
        let end = token
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=')))
            .unwrap_or(token.len());
        rest = &token[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locked_accepts_booleans_and_strings_in_any_case() {
        for (body, expected) in [
            (r#"{"locked":true}"#, LockStatus::Locked),
            (r#"{"locked":false}"#, LockStatus::NotLocked),
            (r#"{"locked":"true"}"#, LockStatus::Locked),
            (r#"{"locked":"TRUE"}"#, LockStatus::Locked),
            // The reference handler's bug: a non-empty string is truthy in Python.
            (r#"{"locked":"false"}"#, LockStatus::NotLocked),
            (r#"{"locked":"False"}"#, LockStatus::NotLocked),
        ] {
            assert_eq!(parse_answer(body.as_bytes()).unwrap(), expected, "{body}");
        }
    }

    #[test]
    fn answers_are_read_as_json_whatever_their_layout() {
        for (body, expected) in [
            ("{ \"locked\" : true }\n", LockStatus::Locked),
            (
                r#"{"other":{"locked":false},"locked":" True "}"#,
                LockStatus::Locked,
            ),
            (r#"{"lo\u0063ked":"false"}"#, LockStatus::NotLocked),
            (r#"{"locked":"\u0074rue"}"#, LockStatus::Locked),
        ] {
            assert_eq!(parse_answer(body.as_bytes()).unwrap(), expected, "{body}");
        }
        for (body, why) in [
            (r#"{"locked":true} trailing"#, "not JSON"),
            (r#"{"locked":tru}"#, "not JSON"),
            (r#"["locked"]"#, "not a JSON object"),
            (r#"[true]"#, "not a JSON object"),
            // Two answers in one: neither is taken.
            (r#"{"locked":true,"locked":false}"#, "duplicate field"),
            (r#"{"locked":"yes"}"#, r#"locked is "yes""#),
            (
                r#"{"locked":"eyJhbGciOi.eyJzdWIi.sig"}"#,
                r#"locked is "[token]""#,
            ),
        ] {
            let e = parse_answer(body.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(why), "{body}: {e}");
        }
    }

    #[test]
    fn unrecognised_answers_are_failures() {
        for body in [
            r#"{"locked":"yes"}"#,
            r#"{"locked":1}"#,
            r#"{"message":"ok"}"#,
            r#"{}"#,
            r#"{"locked":null}"#,
            r#"{"data":{"locked":true}}"#,
            r#"{"locked":{"value":true}}"#,
            r#"[true]"#,
            "<html>",
            "",
        ] {
            assert!(parse_answer(body.as_bytes()).is_err(), "{body}");
        }
    }

    #[test]
    fn echoed_tokens_are_cut_from_error_excerpts() {
        assert_eq!(
            redact_jwts(r#"{"message":"bad token eyJhbGciOi.eyJzdWIi.sig-_x","code":1}"#),
            r#"{"message":"bad token [token]","code":1}"#
        );
        assert_eq!(redact_jwts("plain"), "plain");
    }

    #[test]
    fn the_body_follows_the_contract_with_or_without_a_user_device() {
        let data = RawValue::from_string(r#"{"city":"Miami"}"#.into()).unwrap();
        let mut request = CheckRequest {
            username: "user@example.com",
            integration_type: IntegrationType::OktaSaml,
            client_ip: "1.1.1.1",
            parsed_ip: None,
            user_location: "Miami, Florida",
            lat_long: None,
            integration_data: &data,
            user_device: None,
        };
        assert_eq!(
            serde_json::to_value(request.body()).unwrap(),
            serde_json::json!({
                "userIP": "1.1.1.1",
                "userDevice": "N/A",
                "userLocation": "Miami, Florida",
                "integrationType": "okta-saml",
                "integrationData": {"city": "Miami"},
            })
        );
        request.user_device = Some("Mozilla/5.0");
        request.integration_type = IntegrationType::OktaOidc;
        let body = serde_json::to_value(request.body()).unwrap();
        assert_eq!(body["userDevice"], "Mozilla/5.0");
        assert_eq!(body["integrationType"], "okta-oidc");
    }

    #[test]
    fn claims_follow_the_contract() {
        let c = Nl3Claims::new("https://app", "https://api", "user@example.com", 1_000_000);
        assert_eq!(c.iss, "https://app");
        assert_eq!(c.aud, "https://api");
        assert_eq!(c.sub, "user@example.com");
        assert_eq!(c.iat, 999_940);
        assert_eq!(c.nbf, c.iat);
        assert_eq!(c.exp, 1_000_300);
    }
}

//! The NL3 account protection check (docs/contract.md §3). An adapter: imports only leaves.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::value::RawValue;

use crate::config::Nl3Settings;
use crate::http_client::{self, describe, read_capped, redirect, BodyError};
use crate::json;
use crate::jwt::SigningKey;
use crate::okta::HookType;

// Names made once, not parsed from text on every call.
const TOKEN_HEADER: http::HeaderName = http::HeaderName::from_static("x-nl3-authorization-token");
const FORWARDED_FOR_HEADER: http::HeaderName = http::HeaderName::from_static("x-forwarded-for");
const LOCATION_HEADER: http::HeaderName = http::HeaderName::from_static("x-nl3-device-location");
const JSON: http::HeaderValue = http::HeaderValue::from_static("application/json");

/// NL3 answers with a small JSON object; a larger body is not a lock-check answer.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockStatus {
    Locked,
    NotLocked,
}

/// Why the check gave no answer. Messages carry no token and no key.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Nl3Error {
    #[error("NL3 request failed: {text}")]
    Request {
        text: String,
        #[source]
        source: Arc<http_client::Error>,
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
    #[error("NL3 request could not be built: {0}")]
    Build(String),
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
    /// The claims as JSON text: what `serde_json` writes (a unit test compares them), without
    /// going through it on every call.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(64 + self.iss.len() + self.aud.len() + self.sub.len());
        for (name, text) in [
            ("{\"iss\":", &self.iss),
            (",\"aud\":", &self.aud),
            (",\"sub\":", &self.sub),
        ] {
            out.push_str(name);
            json::push_string(&mut out, text);
        }
        for (name, n) in [
            (",\"iat\":", self.iat),
            (",\"nbf\":", self.nbf),
            (",\"exp\":", self.exp),
        ] {
            out.push_str(name);
            json::push_u64(&mut out, n);
        }
        out.push('}');
        out
    }

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

/// One check's inputs.
pub struct CheckRequest<'a> {
    pub username: &'a str,
    pub hook_type: HookType,
    /// The client IP as Okta sent it (for `userIP`) and, when it parsed, its canonical form.
    pub client_ip: &'a str,
    pub parsed_ip: Option<std::net::IpAddr>,
    /// `"City, Region"` from ipinfo, or `""`.
    pub user_location: &'a str,
    /// ipinfo's `loc` (`"lat,long"`), when it is safe in a header.
    pub lat_long: Option<&'a str>,
    /// The ipinfo answer, or `{}`.
    pub integration_data: &'a RawValue,
}

pub struct Nl3Client {
    http: http_client::Client,
    settings: Nl3Settings,
    /// `check_url` as a request URI, made once.
    check_uri: http::Uri,
}

impl Nl3Client {
    pub fn new(http: http_client::Client, settings: Nl3Settings) -> Result<Self, String> {
        let check_uri = http_client::uri(settings.check_url.as_str())
            .map_err(|e| format!("API_URI + API_PATH: {e}"))?;
        Ok(Self {
            http,
            settings,
            check_uri,
        })
    }

    /// Opens the connection to NL3 (TCP, TLS, HTTP/2) ahead of the first call: Lambda's init
    /// phase runs at full CPU and does not count against Okta's 3 s. The answer is ignored.
    pub async fn warm_up(&self, timeout: std::time::Duration) {
        if let Ok(uri) = http_client::uri(&self.settings.audience) {
            let head = self.http.get(http::Method::HEAD, uri, &[]);
            let _ = tokio::time::timeout(timeout, head).await;
        }
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
        signing_key: &SigningKey,
    ) -> Result<LockStatus, Nl3Error> {
        let now_s = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = Nl3Claims::new(issuer, &self.settings.audience, request.username, now_s);
        let token = signing_key.sign_json(claims.to_json().as_bytes());

        let mut call = http::Request::new(check_body(request).into());
        *call.method_mut() = http::Method::POST;
        *call.uri_mut() = self.check_uri.clone();
        let headers = call.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, JSON);
        let mut token =
            http::HeaderValue::try_from(token).map_err(|e| Nl3Error::Build(e.to_string()))?;
        token.set_sensitive(true); // never indexed by HTTP/2 header compression
        headers.insert(TOKEN_HEADER, token);
        // The extra headers NL3's other integrations send; only values that are safe in a header.
        if let Some(ip) = request.parsed_ip {
            if let Ok(value) = http::HeaderValue::try_from(ip.to_string()) {
                headers.insert(FORWARDED_FOR_HEADER, value);
            }
        }
        if let Some(value) = request
            .lat_long
            .and_then(|loc| http::HeaderValue::from_str(loc).ok())
        {
            headers.insert(LOCATION_HEADER, value);
        }
        let response = self.http.send(call).await.map_err(|e| Nl3Error::Request {
            text: describe(&e),
            source: Arc::new(e),
        })?;
        if let Some(redirect) = redirect(&response, &self.check_uri) {
            return Err(Nl3Error::Redirect(redirect));
        }
        let status = response.status();
        let body = read_capped(response, MAX_ANSWER_BYTES)
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

/// The lock-check request's body (docs/contract.md §3), written as JSON text in one pass.
fn check_body(request: &CheckRequest<'_>) -> String {
    let data = request.integration_data.get();
    let mut body = String::with_capacity(
        128 + request.client_ip.len() + request.user_location.len() + data.len(),
    );
    body.push_str("{\"userIP\":");
    json::push_string(&mut body, request.client_ip);
    // Okta sends no user agent.
    body.push_str(",\"userDevice\":\"N/A\",\"userLocation\":");
    json::push_string(&mut body, request.user_location);
    body.push_str(",\"integrationType\":");
    json::push_string(&mut body, request.hook_type.integration_type());
    body.push_str(",\"integrationData\":");
    body.push_str(data);
    body.push('}');
    body
}

/// Reads NL3's answer (docs/contract.md §3). `locked` must be a boolean or the string
/// `"true"`/`"false"` (NL3's API docs show a string), in any case. Anything else — missing, null,
/// a number, an object, another string — means the check did not happen: a failure, which
/// `FAIL_OPEN` decides, never a guess.
pub fn parse_answer(body: &[u8]) -> Result<LockStatus, Nl3Error> {
    let not_json = |e: json::JsonError| Nl3Error::NotJson(e.to_string());
    let mut r = json::Reader::new(body).map_err(not_json)?;
    let mut locked = None;
    if r.peek().map_err(not_json)? == json::Kind::Object {
        // Keys longer than "locked" are not it; a repeated key counts as its last value.
        r.object("locked".len(), |r, key| {
            match key.as_deref() {
                Some("locked") => locked = Some(r.raw()?),
                _ => r.skip()?,
            }
            Ok(())
        })
        .map_err(not_json)?;
        r.finish().map_err(not_json)?;
    } else {
        r.skip().and_then(|()| r.finish()).map_err(not_json)?;
        return Err(Nl3Error::NotJson("not a JSON object".into()));
    }
    let raw = locked.ok_or_else(|| Nl3Error::BadLocked("locked is missing".into()))?;
    let text = match raw {
        "true" => return Ok(LockStatus::Locked),
        "false" => return Ok(LockStatus::NotLocked),
        _ if raw.starts_with('"') => json::Reader::new(raw.as_bytes())
            .and_then(|mut r| r.string(16))
            .ok()
            .flatten(),
        _ => None,
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
            // A repeated key counts as its last value (as a serde_json map reads it).
            (r#"{"locked":true,"locked":false}"#, LockStatus::NotLocked),
            (r#"{"lo\u0063ked":"false"}"#, LockStatus::NotLocked),
            (r#"{"locked":"\u0074rue"}"#, LockStatus::Locked),
        ] {
            assert_eq!(parse_answer(body.as_bytes()).unwrap(), expected, "{body}");
        }
        for (body, why) in [
            (r#"{"locked":true} trailing"#, "not JSON"),
            (r#"{"locked":tru}"#, "not JSON"),
            (r#"["locked"]"#, "not a JSON object"),
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
    fn claims_are_written_as_serde_json_writes_them() {
        for (user, now) in [
            ("user@example.com", 1_000_000),
            ("ann\"é\\\n\u{1}😀@example.com", u64::MAX - 300),
            ("", 0),
        ] {
            let c = Nl3Claims::new("https://app/\"x", "https://api", user, now);
            assert_eq!(c.to_json(), serde_json::to_string(&c).unwrap(), "{user:?}");
        }
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

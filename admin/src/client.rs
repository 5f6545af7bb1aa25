//! A small client for Okta's Management API: SSWS API token or OAuth 2.0 (`private_key_jwt`)
//! authentication, `Link: <…>; rel="next"` pagination, and 429 handling (wait until
//! `X-Rate-Limit-Reset`, within a bound). Credentials never appear in errors, logs or `Debug`.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use crate::AdminError;

/// How the tool proves itself to Okta.
pub enum Credentials {
    /// `Authorization: SSWS <token>`: an admin's API token.
    ApiToken(String),
    /// An API Services app: client credentials grant with a `private_key_jwt` client assertion.
    PrivateKeyJwt {
        client_id: String,
        key: EncodingKey,
        key_id: Option<String>,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::ApiToken(_) => f.write_str("ApiToken(..)"),
            Credentials::PrivateKeyJwt {
                client_id, key_id, ..
            } => f
                .debug_struct("PrivateKeyJwt")
                .field("client_id", client_id)
                .field("key_id", key_id)
                .field("key", &"..")
                .finish(),
        }
    }
}

impl Credentials {
    /// From `OKTA_API_TOKEN`, or `OKTA_CLIENT_ID` with `OKTA_PRIVATE_KEY` / `OKTA_PRIVATE_KEY_FILE`
    /// (and optionally `OKTA_KEY_ID`).
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, AdminError> {
        let non_empty = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        if let Some(client_id) = non_empty("OKTA_CLIENT_ID") {
            let pem = match (non_empty("OKTA_PRIVATE_KEY"), non_empty("OKTA_PRIVATE_KEY_FILE")) {
                (Some(pem), _) => pem,
                (None, Some(path)) => std::fs::read_to_string(&path).map_err(|e| {
                    AdminError::Config(format!(
                        "cannot read OKTA_PRIVATE_KEY_FILE {path:?}: {}",
                        e.kind()
                    ))
                })?,
                (None, None) => {
                    return Err(AdminError::Config(
                        "OKTA_CLIENT_ID is set but neither OKTA_PRIVATE_KEY nor OKTA_PRIVATE_KEY_FILE: \
                         give the service app's RSA private key (PEM)"
                            .into(),
                    ))
                }
            };
            let bad = || {
                AdminError::Config(
                    "the private key is not an unencrypted RSA private key in PEM form (PKCS#1 or PKCS#8)"
                        .into(),
                )
            };
            let key = EncodingKey::from_rsa_der(&rsa_pkcs1_der(&pem).ok_or_else(bad)?);
            // Sign once now, so a bad key fails here and not in the middle of a run.
            jsonwebtoken::encode(&Header::new(Algorithm::RS256), &serde_json::json!({}), &key)
                .map_err(|_| bad())?;
            return Ok(Credentials::PrivateKeyJwt {
                client_id: client_id.trim().to_string(),
                key,
                key_id: non_empty("OKTA_KEY_ID").map(|k| k.trim().to_string()),
            });
        }
        match non_empty("OKTA_API_TOKEN") {
            Some(token) => Ok(Credentials::ApiToken(token.trim().to_string())),
            None => Err(AdminError::Config(
                "no Okta credentials: set OKTA_API_TOKEN (an API token), or OKTA_CLIENT_ID with \
                 OKTA_PRIVATE_KEY or OKTA_PRIVATE_KEY_FILE (an API Services app using private_key_jwt)"
                    .into(),
            )),
        }
    }
}

/// The PKCS#1 `RSAPrivateKey` DER inside a PEM block: `RSA PRIVATE KEY` (PKCS#1) as is, or
/// `PRIVATE KEY` (PKCS#8 `PrivateKeyInfo`), whose last field is an OCTET STRING holding it.
pub fn rsa_pkcs1_der(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let pem = pem.trim();
    let (label, rest) = pem.strip_prefix("-----BEGIN ")?.split_once("-----")?;
    let body = rest.split(&format!("-----END {label}-----")).next()?;
    let b64: String = body.split_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    match label {
        "RSA PRIVATE KEY" => Some(der),
        "PRIVATE KEY" => {
            // SEQUENCE { INTEGER version, SEQUENCE algorithm, OCTET STRING privateKey, ... }
            let (tag, seq, _) = der_item(&der)?;
            if tag != 0x30 {
                return None;
            }
            let (t1, _, rest) = der_item(seq)?;
            let (t2, algorithm, rest) = der_item(rest)?;
            let (t3, key, _) = der_item(rest)?;
            // rsaEncryption OID 1.2.840.113549.1.1.1
            const RSA_OID: &[u8] = &[
                0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
            ];
            (t1 == 0x02 && t2 == 0x30 && algorithm.starts_with(RSA_OID) && t3 == 0x04)
                .then(|| key.to_vec())
        }
        _ => None,
    }
}

/// One DER item: (tag, contents, what follows).
fn der_item(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// Checks `OKTA_ORG_URL`: https, or plain http for a loopback host only; no path, query or userinfo.
pub fn parse_org_url(raw: &str) -> Result<Url, AdminError> {
    let bad = |why: &str| AdminError::Config(format!("OKTA_ORG_URL {raw:?} {why}"));
    let url = Url::parse(raw.trim()).map_err(|_| bad("is not a URL"))?;
    let host = url.host_str().ok_or_else(|| bad("has no host"))?;
    match url.scheme() {
        "https" => {}
        "http" => {
            let loopback = host == "localhost"
                || host
                    .trim_matches(|c| c == '[' || c == ']')
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                return Err(bad(
                    "must use https (plain http only for loopback addresses)",
                ));
            }
        }
        _ => return Err(bad("must use https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "must be the org's base URL only, e.g. https://your-org.okta.com",
        ));
    }
    Ok(url)
}

/// Bounds for waiting out Okta's rate limits.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitPolicy {
    /// Retries of one request after a 429.
    pub max_retries: u32,
    /// Total time one request may spend waiting for rate-limit resets.
    pub max_wait: Duration,
}

impl Default for RateLimitPolicy {
    fn default() -> Self {
        RateLimitPolicy {
            max_retries: 5,
            max_wait: Duration::from_secs(90),
        }
    }
}

pub struct OktaClient {
    base: Url,
    http: reqwest::Client,
    credentials: Credentials,
    /// OAuth scopes to ask for (only used with `PrivateKeyJwt`).
    scopes: Vec<&'static str>,
    access_token: tokio::sync::Mutex<Option<(String, Instant)>>,
    pub rate_limit: RateLimitPolicy,
    /// How many 429 answers were waited out (reported by `audit`).
    pub rate_limited: AtomicU64,
}

/// One answer: status, headers and the body parsed as JSON (`Null` when empty).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

const USER_AGENT: &str = concat!("nl3-okta-admin/", env!("CARGO_PKG_VERSION"));
const MAX_PAGES: usize = 10_000;

impl OktaClient {
    pub fn new(
        base: Url,
        credentials: Credentials,
        scopes: Vec<&'static str>,
    ) -> Result<Self, AdminError> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AdminError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(OktaClient {
            base,
            http,
            credentials,
            scopes,
            access_token: tokio::sync::Mutex::new(None),
            rate_limit: RateLimitPolicy::default(),
            rate_limited: AtomicU64::new(0),
        })
    }

    pub fn org_url(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_string()
    }

    fn url(&self, path_and_query: &str) -> Result<Url, AdminError> {
        self.base
            .join(path_and_query)
            .map_err(|_| AdminError::Config(format!("bad API path {path_and_query:?}")))
    }

    /// GET one JSON document.
    pub async fn get(&self, path: &str, what: &str) -> Result<Value, AdminError> {
        let url = self.url(path)?;
        Ok(self.send(Method::GET, url, None, what).await?.body)
    }

    /// PUT / POST a JSON body, returning the JSON answer.
    pub async fn write(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Value, AdminError> {
        let url = self.url(path)?;
        Ok(self.send(method, url, body, what).await?.body)
    }

    /// GET every page of a list, following `Link: <…>; rel="next"`.
    pub async fn list(&self, path: &str, what: &str) -> Result<Vec<Value>, AdminError> {
        let mut url = self.url(path)?;
        let mut items = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            seen.insert(url.to_string());
            let (page, next) = self.list_page(url, what).await?;
            items.extend(page);
            match next {
                None => return Ok(items),
                Some(next) if seen.contains(next.as_str()) => {
                    return Err(AdminError::Unexpected(format!(
                        "{what}: the next-page link repeats a page already read"
                    )))
                }
                Some(next) => url = next,
            }
        }
        Err(AdminError::Unexpected(format!(
            "{what}: more than {MAX_PAGES} pages"
        )))
    }

    /// The URL of an API path on this org (for [`OktaClient::list_page`]).
    pub fn api_url(&self, path_and_query: &str) -> Result<Url, AdminError> {
        self.url(path_and_query)
    }

    /// GET one page of a list: its items and the `rel="next"` link, checked to stay on the
    /// org's host (it is followed with the org's credentials). For callers that bound the
    /// paging themselves (the System Log).
    pub async fn list_page(
        &self,
        url: Url,
        what: &str,
    ) -> Result<(Vec<Value>, Option<Url>), AdminError> {
        let answer = self.send(Method::GET, url, None, what).await?;
        let Value::Array(page) = answer.body else {
            return Err(AdminError::Unexpected(format!(
                "{what}: Okta answered with something other than a JSON list"
            )));
        };
        let Some(next) = next_link(&answer.headers) else {
            return Ok((page, None));
        };
        let next = Url::parse(&next)
            .or_else(|_| self.base.join(&next))
            .map_err(|_| AdminError::Unexpected(format!("{what}: unreadable next-page link")))?;
        if next.origin() != self.base.origin() {
            return Err(AdminError::Unexpected(format!(
                "{what}: the next-page link points to another host ({}); not following it with the org's credentials",
                next.origin().ascii_serialization()
            )));
        }
        Ok((page, Some(next)))
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Answer, AdminError> {
        let mut waited = Duration::ZERO;
        let mut retries = 0;
        let mut refreshed_token = false;
        loop {
            let auth = self.authorization().await?;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header(ACCEPT, "application/json")
                .header(AUTHORIZATION, auth);
            if let Some(body) = body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.to_string());
            }
            let response = request
                .send()
                .await
                .map_err(|e| self.transport_error(what, &e))?;
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = response
                .bytes()
                .await
                .map_err(|e| self.transport_error(what, &e))?;
            let body: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).unwrap_or(Value::Null)
            };
            tracing::debug!(%method, path = url.path(), status = status.as_u16(), "okta call");
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = rate_limit_wait(&headers);
                if retries < self.rate_limit.max_retries
                    && waited + wait <= self.rate_limit.max_wait
                {
                    retries += 1;
                    waited += wait;
                    self.rate_limited.fetch_add(1, Ordering::Relaxed);
                    eprintln!(
                        "note: Okta's rate limit hit while {what}; waiting {:.1} s for X-Rate-Limit-Reset",
                        wait.as_secs_f64()
                    );
                    tokio::time::sleep(wait).await;
                    continue;
                }
                return Err(AdminError::RateLimited(format!(
                    "{what}: Okta still answers 429 Too Many Requests after {retries} retries and {:.0} s of waiting; \
                     try again later or raise this API's rate limit in Okta (Reports › Rate Limits)",
                    waited.as_secs_f64()
                )));
            }
            if status == StatusCode::UNAUTHORIZED
                && matches!(self.credentials, Credentials::PrivateKeyJwt { .. })
                && !refreshed_token
            {
                // The access token may have expired early: get a new one, once.
                refreshed_token = true;
                *self.access_token.lock().await = None;
                continue;
            }
            if status.is_success() {
                return Ok(Answer {
                    status,
                    headers,
                    body,
                });
            }
            return Err(self.status_error(what, status, &body));
        }
    }

    fn transport_error(&self, what: &str, e: &reqwest::Error) -> AdminError {
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "failed"
        };
        AdminError::Unreachable(format!(
            "{what}: the call to {} {kind} ({}); check OKTA_ORG_URL and the network",
            self.org_url(),
            error_chain(e)
        ))
    }

    fn status_error(&self, what: &str, status: StatusCode, body: &Value) -> AdminError {
        let summary = okta_error_summary(body);
        match status {
            StatusCode::UNAUTHORIZED => AdminError::Auth(format!(
                "{what}: Okta refused the credentials (401{summary}); {}",
                match self.credentials {
                    Credentials::ApiToken(_) => "check OKTA_API_TOKEN: it may be mistyped, revoked or expired, or belong to another org",
                    Credentials::PrivateKeyJwt { .. } => "check OKTA_CLIENT_ID and the private key registered for the service app",
                }
            )),
            StatusCode::FORBIDDEN => AdminError::Auth(format!(
                "{what}: Okta says the credentials may not do this (403{summary}); {}",
                match self.credentials {
                    Credentials::ApiToken(_) => "use an API token of an admin allowed to manage inline hooks, authorization servers and apps (Super Administrator for inline hooks)",
                    Credentials::PrivateKeyJwt { .. } => "grant the service app the scopes this subcommand needs (see `nl3-okta-admin help`) and an admin role",
                }
            )),
            StatusCode::NOT_FOUND => AdminError::NotFound(format!(
                "{what}: not found (404{summary}); check the ID or login (`nl3-okta-admin audit` lists them)"
            )),
            s if s.is_server_error() => AdminError::Unexpected(format!(
                "{what}: Okta answered {}{summary}; try again later, and check Okta's status page if it persists",
                s.as_u16()
            )),
            _ => AdminError::Unexpected(format!(
                "{what}: Okta answered {}{summary}",
                status.as_u16()
            )),
        }
    }

    async fn authorization(&self) -> Result<String, AdminError> {
        match &self.credentials {
            Credentials::ApiToken(token) => Ok(format!("SSWS {token}")),
            Credentials::PrivateKeyJwt {
                client_id,
                key,
                key_id,
            } => {
                let mut cached = self.access_token.lock().await;
                if let Some((token, until)) = cached.as_ref() {
                    if Instant::now() < *until {
                        return Ok(format!("Bearer {token}"));
                    }
                }
                let (token, lifetime) = self.fetch_access_token(client_id, key, key_id).await?;
                let until = Instant::now() + lifetime.saturating_sub(Duration::from_secs(60));
                *cached = Some((token.clone(), until));
                Ok(format!("Bearer {token}"))
            }
        }
    }

    /// Client credentials grant at the org authorization server, `private_key_jwt` client auth.
    async fn fetch_access_token(
        &self,
        client_id: &str,
        key: &EncodingKey,
        key_id: &Option<String>,
    ) -> Result<(String, Duration), AdminError> {
        let token_url = self.url("/oauth2/v1/token")?;
        let now = unix_now();
        let claims = serde_json::json!({
            "iss": client_id,
            "sub": client_id,
            "aud": token_url.as_str(),
            "iat": now,
            "exp": now + 300,
            "jti": unique_id(),
        });
        let mut header = Header::new(Algorithm::RS256);
        header.kid = key_id.clone();
        let assertion = jsonwebtoken::encode(&header, &claims, key).map_err(|_| {
            AdminError::Config("cannot sign the client assertion with the private key".into())
        })?;
        let form = form_encode(&[
            ("grant_type", "client_credentials"),
            ("scope", &self.scopes.join(" ")),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
        ]);
        let what = "getting an access token for the service app";
        let response = self
            .http
            .post(token_url)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|e| self.transport_error(what, &e))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let error = body["error"].as_str().unwrap_or("");
            let description = body["error_description"].as_str().unwrap_or("");
            let hint = if error.contains("dpop") || description.contains("DPoP") {
                "this tool does not send DPoP proofs: turn off \"Require Demonstrating Proof of Possession\" for the service app"
            } else if error == "invalid_scope" {
                "grant the service app these scopes on its Okta API Scopes tab"
            } else {
                "check OKTA_CLIENT_ID, OKTA_KEY_ID and that the service app uses this key for private_key_jwt"
            };
            return Err(AdminError::Auth(format!(
                "{what}: Okta answered {} {error}: {description} (scopes asked: {}); {hint}",
                status.as_u16(),
                self.scopes.join(" ")
            )));
        }
        let token = body["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                AdminError::Unexpected(format!("{what}: no access_token in the answer"))
            })?;
        let lifetime = Duration::from_secs(body["expires_in"].as_u64().unwrap_or(3600));
        Ok((token.to_string(), lifetime))
    }
}

/// `?key=value&…`, percent-encoded.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let encoded = form_encode(pairs);
    if encoded.is_empty() {
        String::new()
    } else {
        format!("?{encoded}")
    }
}

/// One path segment, percent-encoded (an ID or login from the command line).
pub fn segment(raw: &str) -> String {
    let mut url = Url::parse("http://x/").expect("static URL");
    url.path_segments_mut().expect("base URL").push(raw);
    url.path()[1..].to_string()
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut url = Url::parse("http://x/").expect("static URL");
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or("").to_string()
}

/// The `rel="next"` target among the `Link` headers (Okta sends one header per link).
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|link| {
            let mut parts = link.split(';');
            let target = parts.next()?.trim();
            let is_next = parts.any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            (is_next && target.starts_with('<') && target.ends_with('>'))
                .then(|| target[1..target.len() - 1].to_string())
        })
}

/// How long to wait after a 429: until `X-Rate-Limit-Reset` (epoch seconds), at least 100 ms;
/// one second when the header is missing or unreadable.
pub fn rate_limit_wait(headers: &HeaderMap) -> Duration {
    let reset = headers
        .get("x-rate-limit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match reset {
        Some(reset) => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            Duration::from_secs(reset)
                .saturating_sub(now)
                .max(Duration::from_millis(100))
        }
        None => Duration::from_secs(1),
    }
}

fn okta_error_summary(body: &Value) -> String {
    let code = body["errorCode"].as_str().unwrap_or("");
    let summary = body["errorSummary"].as_str().unwrap_or("");
    let causes: Vec<&str> = body["errorCauses"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|c| c["errorSummary"].as_str())
                .collect()
        })
        .unwrap_or_default();
    let mut out = String::new();
    if !code.is_empty() {
        out.push(' ');
        out.push_str(code);
    }
    if !summary.is_empty() {
        out.push_str(": ");
        out.push_str(summary);
    }
    if !causes.is_empty() {
        out.push_str(" (");
        out.push_str(&causes.join("; "));
        out.push(')');
    }
    out
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A unique-enough identifier (for `jti` and event IDs): time, process and a counter, hashed.
pub fn unique_id() -> String {
    use sha2::{Digest, Sha256};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let seed = format!(
        "{nanos}:{}:{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let digest = Sha256::digest(seed.as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, LINK};

    #[test]
    fn org_url_must_be_https_or_loopback_http() {
        assert!(parse_org_url("https://acme.okta.com").is_ok());
        assert!(parse_org_url("https://acme.okta.com/").is_ok());
        assert!(parse_org_url("http://127.0.0.1:8080").is_ok());
        assert!(parse_org_url("http://[::1]:8080").is_ok());
        assert!(parse_org_url("http://localhost:1").is_ok());
        assert!(parse_org_url("http://acme.okta.com").is_err());
        assert!(parse_org_url("http://10.0.0.1").is_err());
        assert!(parse_org_url("https://acme.okta.com/oauth2/default").is_err());
        assert!(parse_org_url("https://u:p@acme.okta.com").is_err());
        assert!(parse_org_url("acme.okta.com").is_err());
    }

    #[test]
    fn finds_the_next_link_among_several() {
        let mut headers = HeaderMap::new();
        headers.append(
            LINK,
            HeaderValue::from_static("<https://o.okta.com/api/v1/apps?limit=2>; rel=\"self\""),
        );
        headers.append(
            LINK,
            HeaderValue::from_static(
                "<https://o.okta.com/api/v1/apps?after=abc&limit=2>; rel=\"next\"",
            ),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("https://o.okta.com/api/v1/apps?after=abc&limit=2")
        );
        let mut one = HeaderMap::new();
        one.append(
            LINK,
            HeaderValue::from_static(
                "<https://a/self>; rel=\"self\", <https://a/next>; rel=\"next\"",
            ),
        );
        assert_eq!(next_link(&one).as_deref(), Some("https://a/next"));
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn rate_limit_wait_follows_the_reset_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(rate_limit_wait(&headers), Duration::from_secs(1));
        headers.insert("x-rate-limit-reset", HeaderValue::from(unix_now() + 3));
        let wait = rate_limit_wait(&headers);
        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(3),
            "{wait:?}"
        );
        headers.insert("x-rate-limit-reset", HeaderValue::from(unix_now() - 10));
        assert_eq!(rate_limit_wait(&headers), Duration::from_millis(100));
    }

    #[test]
    fn encodes_paths_and_queries() {
        assert_eq!(segment("a b/c@d"), "a%20b%2Fc@d");
        assert_eq!(
            query(&[("limit", "200"), ("q", "a&b")]),
            "?limit=200&q=a%26b"
        );
    }

    #[test]
    fn credentials_never_show_in_debug() {
        let c = Credentials::ApiToken("00secret".into());
        assert!(!format!("{c:?}").contains("00secret"));
    }
}

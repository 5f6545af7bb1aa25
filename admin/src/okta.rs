//! A small client for Okta's Management API: SSWS API token or OAuth 2.0 (`private_key_jwt`)
//! authentication, one pager (`Link: <…>; rel="next"`, on the org's host only, a repeated page
//! refused), and 429s waited out until `X-Rate-Limit-Reset` within a bound. Credentials never
//! appear in errors, logs or `Debug`.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::new_id;
use crate::settings::{self, Credentials};

/// Bounds for waiting out Okta's rate limits.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitPolicy {
    /// Retries of one request after a 429.
    pub max_retries: u32,
    /// Total time one request may spend waiting for rate-limit resets.
    pub max_wait: Duration,
}

pub struct OktaClient {
    base: Url,
    http: reqwest::Client,
    credentials: Credentials,
    /// OAuth scopes to ask for (only used with `PrivateKeyJwt`).
    scopes: Vec<&'static str>,
    access_token: tokio::sync::Mutex<Option<(String, Instant)>>,
    rate_limit: RateLimitPolicy,
}

const USER_AGENT: &str = concat!("nl3-okta-admin/", env!("CARGO_PKG_VERSION"));
const MAX_PAGES: usize = 10_000;

/// One page of a list, and whether another follows.
pub struct Pages<'a> {
    client: &'a OktaClient,
    what: String,
    /// The first page's query; the next links carry their own.
    query: Vec<(&'a str, String)>,
    next: Option<Url>,
    seen: HashSet<String>,
    /// Pages read so far.
    pub read: usize,
}

impl Pages<'_> {
    /// The next page's items, or `None` after the last one. A next link that leaves the org's
    /// host (it would be followed with the org's credentials) or repeats a page already read is
    /// an error, never a loop.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        if !self.seen.insert(url.to_string()) {
            return Err(Error::OktaAnswer {
                what: self.what.clone(),
                why: "the next-page link repeats a page already read".into(),
            });
        }
        if self.read >= MAX_PAGES {
            return Err(Error::OktaAnswer {
                what: self.what.clone(),
                why: format!("more than {MAX_PAGES} pages"),
            });
        }
        let query = std::mem::take(&mut self.query);
        let (body, headers) = self
            .client
            .call(Method::GET, url, &query, None::<&()>, &self.what)
            .await?;
        self.read += 1;
        let Value::Array(page) = body else {
            return Err(Error::OktaAnswer {
                what: self.what.clone(),
                why: "Okta answered with something other than a JSON list".into(),
            });
        };
        if let Some(next) = next_link(&headers) {
            let next = Url::parse(&next)
                .or_else(|_| self.client.base.join(&next))
                .map_err(|_| Error::OktaAnswer {
                    what: self.what.clone(),
                    why: "unreadable next-page link".into(),
                })?;
            if next.origin() != self.client.base.origin() {
                return Err(Error::OktaAnswer {
                    what: self.what.clone(),
                    why: format!(
                        "the next-page link points to another host ({}); not following it with the org's credentials",
                        next.origin().ascii_serialization()
                    ),
                });
            }
            self.next = Some(next);
        }
        Ok(Some(page))
    }

    pub fn has_next(&self) -> bool {
        self.next.is_some()
    }
}

impl OktaClient {
    pub fn new(okta: settings::Okta, scopes: &[&'static str]) -> Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::SettingFrom {
                what: "cannot build the HTTP client".into(),
                source: Box::new(e),
            })?;
        Ok(OktaClient {
            base: okta.org_url,
            http,
            credentials: okta.credentials,
            scopes: scopes.to_vec(),
            access_token: tokio::sync::Mutex::new(None),
            rate_limit: RateLimitPolicy {
                max_retries: 5,
                max_wait: okta.rate_limit_max_wait,
            },
        })
    }

    pub fn org_url(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_string()
    }

    /// The URL of an API path on this org, each segment percent-encoded (IDs and logins from
    /// the command line, the System Log or an event).
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("an http(s) URL has a path")
            .clear()
            .extend(segments);
        url
    }

    /// GET one JSON document.
    pub async fn get(&self, url: Url, what: &str) -> Result<Value> {
        Ok(self.call(Method::GET, url, &[], None::<&()>, what).await?.0)
    }

    /// A call with an optional JSON body, returning the JSON answer (`Null` when empty).
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&(impl Serialize + ?Sized)>,
        what: &str,
    ) -> Result<Value> {
        Ok(self.call(method, url, &[], body, what).await?.0)
    }

    /// The pages of a list at `url` with `query`, one at a time.
    pub fn pages<'a>(&'a self, url: Url, query: &[(&'a str, String)], what: &str) -> Pages<'a> {
        Pages {
            client: self,
            what: what.to_string(),
            query: query.to_vec(),
            next: Some(url),
            seen: HashSet::new(),
            read: 0,
        }
    }

    /// Every item of a list, read to its last page.
    pub async fn list(&self, url: Url, query: &[(&str, String)], what: &str) -> Result<Vec<Value>> {
        let mut pages = self.pages(url, query, what);
        let mut items = Vec::new();
        while let Some(page) = pages.next_page().await? {
            items.extend(page);
        }
        Ok(items)
    }

    async fn call(
        &self,
        method: Method,
        url: Url,
        query: &[(&str, String)],
        body: Option<&(impl Serialize + ?Sized)>,
        what: &str,
    ) -> Result<(Value, HeaderMap)> {
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
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request
                .send()
                .await
                .map_err(|e| self.unreachable(what, e))?;
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = response
                .bytes()
                .await
                .map_err(|e| self.unreachable(what, e))?;
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            tracing::debug!(%method, path = url.path(), status = status.as_u16(), "okta call");
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = rate_limit_wait(&headers);
                if retries < self.rate_limit.max_retries
                    && waited + wait <= self.rate_limit.max_wait
                {
                    retries += 1;
                    waited += wait;
                    tracing::warn!(
                        wait_s = wait.as_secs_f64(),
                        "Okta's rate limit hit while {what}; waiting for X-Rate-Limit-Reset"
                    );
                    tokio::time::sleep(wait).await;
                    continue;
                }
                return Err(Error::RateLimited {
                    what: what.to_string(),
                    retries,
                    waited_s: waited.as_secs_f64(),
                });
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
                return Ok((body, headers));
            }
            return Err(self.status_error(what, status, &body));
        }
    }

    fn unreachable(&self, what: &str, e: reqwest::Error) -> Error {
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "failed"
        };
        Error::OktaUnreachable {
            what: what.to_string(),
            org: self.org_url(),
            kind,
            detail: nl3_shared::http_client::describe(&e),
            source: e,
        }
    }

    fn status_error(&self, what: &str, status: StatusCode, body: &Value) -> Error {
        let summary = okta_error_summary(body);
        let api_token = matches!(self.credentials, Credentials::ApiToken(_));
        match status {
            StatusCode::UNAUTHORIZED => Error::OktaRefused {
                what: what.to_string(),
                refusal: format!("Okta refused the credentials (401{summary})"),
                hint: if api_token {
                    "check OKTA_API_TOKEN: it may be mistyped, revoked or expired, or belong to another org"
                } else {
                    "check OKTA_CLIENT_ID and the private key registered for the service app"
                },
            },
            StatusCode::FORBIDDEN => Error::OktaRefused {
                what: what.to_string(),
                refusal: format!("Okta says the credentials may not do this (403{summary})"),
                hint: if api_token {
                    "use an API token of an admin allowed to manage inline hooks, authorization servers and apps (Super Administrator for inline hooks)"
                } else {
                    "grant the service app the scopes this subcommand needs (see `nl3-okta-admin help`) and an admin role"
                },
            },
            StatusCode::NOT_FOUND => Error::NotFound(format!(
                "{what}: not found (404{summary}); check the ID or login (`nl3-okta-admin audit` lists them)"
            )),
            s => Error::OktaStatus {
                what: what.to_string(),
                status: s.as_u16(),
                summary,
                hint: if s.is_server_error() {
                    "; try again later, and check Okta's status page if it persists"
                } else {
                    ""
                },
            },
        }
    }

    async fn authorization(&self) -> Result<String> {
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
    ) -> Result<(String, Duration)> {
        #[derive(Serialize)]
        struct Assertion<'a> {
            iss: &'a str,
            sub: &'a str,
            aud: &'a str,
            iat: u64,
            exp: u64,
            jti: String,
        }
        let token_url = self.url(&["oauth2", "v1", "token"]);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = Assertion {
            iss: client_id,
            sub: client_id,
            aud: token_url.as_str(),
            iat: now,
            exp: now + 300,
            jti: new_id(),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = key_id.clone();
        let assertion =
            jsonwebtoken::encode(&header, &claims, key).map_err(|e| Error::SettingFrom {
                what: "cannot sign the client assertion with the private key".into(),
                source: Box::new(e),
            })?;
        let scope = self.scopes.join(" ");
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", scope.as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.as_str()),
        ];
        let what = "getting an access token for the service app";
        let response = self
            .http
            .post(token_url)
            .header(ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| self.unreachable(what, e))?;
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
            return Err(Error::OktaRefused {
                what: what.to_string(),
                refusal: format!(
                    "Okta answered {} {error}: {description} (scopes asked: {scope})",
                    status.as_u16()
                ),
                hint,
            });
        }
        let token = body["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::OktaAnswer {
                what: what.to_string(),
                why: "no access_token in the answer".into(),
            })?;
        let lifetime = Duration::from_secs(body["expires_in"].as_u64().unwrap_or(3600));
        Ok((token.to_string(), lifetime))
    }
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

/// ` errorCode: errorSummary (cause; cause)`, or empty.
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

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, LINK};

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
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut headers = HeaderMap::new();
        assert_eq!(rate_limit_wait(&headers), Duration::from_secs(1));
        headers.insert("x-rate-limit-reset", HeaderValue::from(now + 3));
        let wait = rate_limit_wait(&headers);
        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(3),
            "{wait:?}"
        );
        headers.insert("x-rate-limit-reset", HeaderValue::from(now - 10));
        assert_eq!(rate_limit_wait(&headers), Duration::from_millis(100));
    }

    #[test]
    fn paths_are_built_from_encoded_segments() {
        let client = OktaClient::new(
            settings::Okta {
                org_url: Url::parse("https://acme.okta.com").unwrap(),
                credentials: Credentials::ApiToken("00t".into()),
                rate_limit_max_wait: Duration::from_secs(1),
            },
            &[],
        )
        .unwrap();
        assert_eq!(
            client.url(&["api", "v1", "users", "a b/c@d"]).as_str(),
            "https://acme.okta.com/api/v1/users/a%20b%2Fc@d"
        );
        assert_eq!(client.org_url(), "https://acme.okta.com");
    }
}

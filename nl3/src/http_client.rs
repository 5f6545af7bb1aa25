//! What the outbound HTTP clients (NL3, ipinfo, and the hook's OAuth issuer's JWKS) share: one
//! reqwest client that never follows a redirect, a bounded body reader, and error texts.
//!
//! A leaf: imports nothing from the crate.

use std::time::Duration;

/// Why an upstream answer could not be used. Texts name hosts and statuses, never a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    Read(String),
}

/// The one client, built once per process and reused across invocations so warm calls skip the
/// TCP and TLS handshakes. Redirects are never followed: NL3's signed token and the user's IP
/// must not travel to another host, and another host's answer must not decide (Okta, too, never
/// follows a hook's redirect). A 3xx is a failed call, see [`redirect`]. `user_agent` names the
/// caller (`nl3-okta-hook/0.1.0`), not this crate.
pub fn build(
    connect_timeout: Duration,
    user_agent: &str,
) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(50))
        .tcp_nodelay(true)
        .user_agent(user_agent)
        .build()
}

/// A 3xx answer, described by its status and the host it points to (never the whole URL: a
/// query could carry anything).
pub fn redirect(response: &reqwest::Response) -> Option<String> {
    let status = response.status();
    if !status.is_redirection() {
        return None;
    }
    let host = response
        .headers()
        .get(http::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| response.url().join(l).ok())
        .and_then(|url| url.host_str().map(str::to_string))
        .unwrap_or_else(|| "no valid Location".into());
    Some(format!(
        "HTTP {} redirect to {host} (not followed)",
        status.as_u16()
    ))
}

/// Reads the whole body, refusing more than `max` bytes (an upstream cannot make the hook
/// buffer without limit; time is bounded by the caller's budget).
pub async fn read_capped(
    response: &mut reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| BodyError::Read(describe(&e)))?
    {
        if body.len() + chunk.len() > max {
            return Err(BodyError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An error with its causes (timeout, connection refused …). URLs here carry no secret: the
/// ipinfo token, NL3's and Okta's credentials all travel in headers.
pub fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

//! What the three outbound HTTP calls (NL3, ipinfo, the OAuth issuer's JWKS) share: one pooled
//! client that never follows a redirect, a bounded body reader, and error texts.
//!
//! hyper-util's pooled client with rustls (aws-lc-rs, the platform's roots through
//! rustls-platform-verifier, ALPN h2 and http/1.1): the same parts reqwest assembles, without
//! its per-request layers (URL re-parsing, redirect and retry services), which cost about a
//! sixth of a warm invocation's instructions. A leaf: imports nothing from the crate.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls_platform_verifier::BuilderVerifierExt;

/// A request's body: the hook only ever sends small, complete bodies.
pub type Body = Full<Bytes>;
pub type Response = http::Response<hyper::body::Incoming>;
pub type Error = hyper_util::client::legacy::Error;

const USER_AGENT: http::HeaderValue =
    http::HeaderValue::from_static(concat!("nl3-okta-hook/", env!("CARGO_PKG_VERSION")));

/// Why an upstream answer could not be used. Texts name hosts and statuses, never a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    Read(String),
}

#[derive(Debug, thiserror::Error)]
#[error("TLS setup failed: {0}")]
pub struct BuildError(#[source] rustls::Error);

/// The one client, built once per process and reused across invocations so warm calls skip the
/// TCP and TLS handshakes (idle connections are kept 50 s). Redirects are never followed: NL3's
/// signed token and the user's IP must not travel to another host, and another host's answer
/// must not decide (Okta, too, never follows a hook's redirect). A 3xx is a failed call, see
/// [`redirect`].
#[derive(Clone)]
pub struct Client {
    inner: hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<HttpConnector>, Body>,
}

impl Client {
    pub fn build(connect_timeout: Duration) -> Result<Self, BuildError> {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false); // the TLS layer above takes https
        tcp.set_connect_timeout(Some(connect_timeout));
        tcp.set_nodelay(true);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_platform_verifier())
            .map_err(BuildError)?
            .with_no_client_auth();
        // http:// stays allowed: the local stand-ins (`make run`, the tests) speak plain HTTP.
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let inner = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(50))
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(Self { inner })
    }

    /// Sends the request as it is (plus the hook's `user-agent`); time is bounded by the caller.
    pub async fn send(&self, mut request: http::Request<Body>) -> Result<Response, Error> {
        request
            .headers_mut()
            .insert(http::header::USER_AGENT, USER_AGENT);
        self.inner.request(request).await
    }

    /// A body-less request to `uri` with the given headers, for GET and HEAD.
    pub async fn get(
        &self,
        method: http::Method,
        uri: http::Uri,
        headers: &[(http::HeaderName, &str)],
    ) -> Result<Response, Error> {
        let mut request = http::Request::new(Body::default());
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        for (name, value) in headers {
            // Values come from settings and parsed addresses; one that is not a valid header
            // value is left out, and the upstream's answer says what was missing.
            if let Ok(mut value) = http::HeaderValue::from_str(value) {
                // A credential: never indexed by HTTP/2 header compression, hidden from Debug.
                value.set_sensitive(*name == http::header::AUTHORIZATION);
                request.headers_mut().append(name.clone(), value);
            }
        }
        self.send(request).await
    }
}

/// A URL the settings hold, as the URI a request needs. `url::Url` output is ASCII and
/// absolute, so this only fails on forms `http` does not accept; the error names no value.
pub fn uri(url: &str) -> Result<http::Uri, String> {
    url.parse::<http::Uri>()
        .map_err(|e| format!("not a usable request URL: {e}"))
}

/// A 3xx answer, described by its status and the host it points to (never the whole URL: a
/// query could carry anything). `base` resolves a relative `Location`.
pub fn redirect(response: &Response, base: &http::Uri) -> Option<String> {
    let status = response.status();
    if !status.is_redirection() {
        return None;
    }
    let host = response
        .headers()
        .get(http::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| url::Url::parse(&base.to_string()).ok()?.join(l).ok())
        .and_then(|url| url.host_str().map(str::to_string))
        .unwrap_or_else(|| "no valid Location".into());
    Some(format!(
        "HTTP {} redirect to {host} (not followed)",
        status.as_u16()
    ))
}

/// Reads the whole body, refusing more than `max` bytes (an upstream cannot make the hook
/// buffer without limit; time is bounded by the caller's budget).
pub async fn read_capped(response: Response, max: usize) -> Result<Vec<u8>, BodyError> {
    let mut incoming = response.into_body();
    let mut body = Vec::new();
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(|e| BodyError::Read(describe(&e)))?;
        if let Ok(chunk) = frame.into_data() {
            if body.len() + chunk.len() > max {
                return Err(BodyError::TooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
    }
    Ok(body)
}

/// An error with its causes (timeout, connection refused …). URLs here carry no secret: the
/// ipinfo token travels in a header.
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

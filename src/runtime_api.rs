//! The Lambda Runtime API loop: fetch the next invocation, hand its payload to the handler, post
//! the answer; one loop (and one kept-alive connection) per slot of `AWS_LAMBDA_MAX_CONCURRENCY`.
//! Protocol: <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>
//!
//! (Why not lambda_runtime: version 1.5 never reads the Runtime API's answer to a posted
//! response, so hyper closes that connection and every invocation opens a new TCP connection;
//! with its tower layers that cost 256 k instructions per call around a handler doing nothing,
//! against 172 k for this loop, whose connections stay open. The hook's handler never fails, so
//! all it needs of the runtime is this loop.)
//!
//! A leaf: imports nothing from the crate. The handler gets bytes and gives bytes.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tracing::Instrument;

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const INVOCATION: &str = "/2018-06-01/runtime/invocation";
/// Connecting again after a dropped connection: a few tries, a moment apart, then give up (the
/// process exits and Lambda starts another).
const CONNECT_TRIES: u32 = 3;
const CONNECT_PAUSE: Duration = Duration::from_millis(50);

/// Lambda's facts about one invocation.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub request_id: String,
    /// Lambda's deadline, in milliseconds since the epoch (0: unknown).
    pub deadline_ms: u64,
}

/// Why the loop stopped: the Runtime API is unreachable or broke the protocol.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("AWS_LAMBDA_RUNTIME_API is not set: not running in Lambda")]
    NoEndpoint,
    #[error("cannot connect to the Runtime API at {endpoint}: {source}")]
    Connect {
        endpoint: String,
        #[source]
        source: std::io::Error,
    },
    #[error("Runtime API connection failed: {0}")]
    Http(#[from] hyper::Error),
    #[error("Runtime API answered HTTP {0} to the next-invocation request")]
    Status(u16),
    #[error("Runtime API sent an invocation without a usable Lambda-Runtime-Aws-Request-Id")]
    NoRequestId,
    #[error("invalid Runtime API request: {0}")]
    Request(#[from] http::Error),
}

/// Where the Runtime API is and how many invocations run at once.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// `AWS_LAMBDA_RUNTIME_API`: `host:port` in Lambda; local emulators add a scheme and a path
    /// (cargo-lambda: `http://127.0.0.1:9000/.rt`).
    pub endpoint: String,
    pub workers: usize,
}

/// The endpoint's `host:port` and the path the API's own paths go under.
fn split_endpoint(endpoint: &str) -> (&str, &str) {
    let endpoint = endpoint.trim();
    let endpoint = endpoint.strip_prefix("http://").unwrap_or(endpoint);
    match endpoint.find('/') {
        Some(slash) => (&endpoint[..slash], endpoint[slash..].trim_end_matches('/')),
        None => (endpoint, ""),
    }
}

impl RuntimeConfig {
    /// From Lambda's environment: `AWS_LAMBDA_RUNTIME_API`, and `AWS_LAMBDA_MAX_CONCURRENCY`
    /// (Lambda Managed Instances) for the number of loops, 1 when unset or not a number.
    pub fn from_env() -> Result<Self, RuntimeError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The same from any source of variables (tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, RuntimeError> {
        let endpoint = lookup("AWS_LAMBDA_RUNTIME_API")
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .ok_or(RuntimeError::NoEndpoint)?;
        let workers = lookup("AWS_LAMBDA_MAX_CONCURRENCY")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(1)
            .clamp(1, 1024);
        Ok(Self { endpoint, workers })
    }
}

/// Runs the loops until none is left (each ends only when the Runtime API cannot be reached).
pub async fn run<H, F>(config: RuntimeConfig, handler: H) -> Result<(), RuntimeError>
where
    H: Fn(Bytes, Invocation) -> F + Clone + Send + 'static,
    F: Future<Output = Vec<u8>> + Send + 'static,
{
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..config.workers {
        workers.spawn(worker(config.endpoint.clone(), handler.clone()));
    }
    let mut last = Ok(());
    while let Some(ended) = workers.join_next().await {
        if let Ok(Err(error)) = ended {
            tracing::error!(error = %error, "Runtime API loop stopped");
            last = Err(error);
        }
    }
    last
}

/// One loop: next invocation, answer, on one connection kept open (opened again if it drops).
async fn worker<H, F>(endpoint: String, handler: H) -> Result<(), RuntimeError>
where
    H: Fn(Bytes, Invocation) -> F,
    F: Future<Output = Vec<u8>>,
{
    let mut connection = Connection::open(&endpoint).await?;
    loop {
        let next = match connection.next().await {
            Ok(next) => next,
            Err(RuntimeError::Http(_)) => {
                connection = Connection::open(&endpoint).await?;
                connection.next().await?
            }
            Err(RuntimeError::NoRequestId) => {
                // Nothing can be answered without it; Lambda times the invocation out.
                tracing::error!("an invocation without a usable request ID was skipped");
                continue;
            }
            Err(other) => return Err(other),
        };
        let Some((invocation, payload)) = next else {
            continue;
        };
        let span = tracing::info_span!("invocation", requestId = %invocation.request_id);
        let request_id = invocation.request_id.clone();
        // The handler answers every payload; a panic would still be a bug, reported to Lambda
        // as a failed invocation rather than leaving it unanswered until its timeout.
        let answered = AssertUnwindSafe(handler(payload, invocation))
            .catch_unwind()
            .instrument(span)
            .await;
        let (path, body, error_type) = match answered {
            Ok(body) => (
                format!("{}{INVOCATION}/{request_id}/response", connection.prefix),
                body,
                None,
            ),
            Err(_) => {
                tracing::error!(request_id, "the handler panicked");
                (
                    format!("{}{INVOCATION}/{request_id}/error", connection.prefix),
                    br#"{"errorType":"Runtime.Panic","errorMessage":"the handler panicked"}"#
                        .to_vec(),
                    Some("Runtime.Panic"),
                )
            }
        };
        let body = Bytes::from(body);
        if let Err(first) = connection.post(&path, body.clone(), error_type).await {
            // The answer must get out: once more on a new connection.
            tracing::warn!(error = %first, "posting the answer failed; again on a new connection");
            connection = Connection::open(&endpoint).await?;
            if let Err(again) = connection.post(&path, body, error_type).await {
                tracing::error!(error = %again, request_id, "the answer could not be posted");
            }
        }
    }
}

/// One HTTP/1.1 connection to the Runtime API.
struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
    /// The path the API's paths go under (empty in Lambda).
    prefix: String,
    next: String,
}

impl Connection {
    async fn open(endpoint: &str) -> Result<Self, RuntimeError> {
        let (authority, prefix) = split_endpoint(endpoint);
        let mut tries = 0;
        let stream = loop {
            match TcpStream::connect(authority).await {
                Ok(stream) => break stream,
                Err(source) if tries + 1 >= CONNECT_TRIES => {
                    return Err(RuntimeError::Connect {
                        endpoint: endpoint.to_string(),
                        source,
                    })
                }
                Err(_) => {
                    tries += 1;
                    tokio::time::sleep(CONNECT_PAUSE).await;
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the connection closes; the next request on it then fails and reconnects.
            let _ = connection.await;
        });
        let host =
            HeaderValue::from_str(authority).unwrap_or(HeaderValue::from_static("localhost"));
        Ok(Self {
            sender,
            host,
            prefix: prefix.to_string(),
            next: format!("{prefix}{NEXT}"),
        })
    }

    /// Sends one request and reads the whole answer, so the connection can carry the next.
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
        error_type: Option<&'static str>,
    ) -> Result<(StatusCode, HeaderMap, Bytes), RuntimeError> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, self.host.clone());
        if !body.is_empty() {
            request = request.header(http::header::CONTENT_TYPE, "application/json");
        }
        if let Some(error_type) = error_type {
            request = request.header("lambda-runtime-function-error-type", error_type);
        }
        let request = request.body(Full::new(body))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok((parts.status, parts.headers, body))
    }

    /// The next invocation (long poll); `None` when the Runtime API had nothing after all (204,
    /// as local emulators answer to keep the loop alive).
    async fn next(&mut self) -> Result<Option<(Invocation, Bytes)>, RuntimeError> {
        let next = self.next.clone();
        let (status, headers, payload) = self.send(Method::GET, &next, Bytes::new(), None).await?;
        if status == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(RuntimeError::Status(status.as_u16()));
        }
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        // The ID goes into the answer's path: only characters a path segment can hold as they are.
        let request_id = text("lambda-runtime-aws-request-id")
            .filter(|id| {
                !id.is_empty()
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            })
            .ok_or(RuntimeError::NoRequestId)?;
        let invocation = Invocation {
            request_id: request_id.to_string(),
            deadline_ms: text("lambda-runtime-deadline-ms")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0),
        };
        Ok(Some((invocation, payload)))
    }

    /// Posts an answer (or an error report); the Runtime API's refusal (413: too large; 410: the
    /// invocation timed out) is logged, as nothing else can be done about it.
    async fn post(
        &mut self,
        path: &str,
        body: Bytes,
        error_type: Option<&'static str>,
    ) -> Result<(), RuntimeError> {
        let (status, _, answer) = self.send(Method::POST, path, body, error_type).await?;
        if !status.is_success() {
            tracing::error!(
                status = status.as_u16(),
                answer = %String::from_utf8_lossy(&answer[..answer.len().min(200)]),
                "the Runtime API refused the answer"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_as_lambda_and_local_emulators_give_them() {
        assert_eq!(split_endpoint("127.0.0.1:9001"), ("127.0.0.1:9001", ""));
        assert_eq!(
            split_endpoint("http://127.0.0.1:9000/.rt"),
            ("127.0.0.1:9000", "/.rt")
        );
        assert_eq!(
            split_endpoint("localhost:9000/.rt/"),
            ("localhost:9000", "/.rt")
        );
    }
}

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
use tokio::net::TcpStream;
use tracing::Instrument;

mod wire;
use wire::{Wire, WireError};

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
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("Runtime API answered HTTP {0} to the next-invocation request")]
    Status(u16),
    #[error("Runtime API sent an invocation without a usable Lambda-Runtime-Aws-Request-Id")]
    NoRequestId,
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
            Err(RuntimeError::Wire(_)) => {
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
        let (what, body, error_type) = match answered {
            Ok(body) => ("response", body, None),
            Err(_) => {
                tracing::error!(request_id, "the handler panicked");
                (
                    "error",
                    br#"{"errorType":"Runtime.Panic","errorMessage":"the handler panicked"}"#
                        .to_vec(),
                    Some("Runtime.Panic"),
                )
            }
        };
        let post = post_request(&connection, &request_id, what, &body, error_type);
        if let Err(first) = connection.post(&post).await {
            // The answer must get out: once more on a new connection.
            tracing::warn!(error = %first, "posting the answer failed; again on a new connection");
            connection = Connection::open(&endpoint).await?;
            let post = post_request(&connection, &request_id, what, &body, error_type);
            if let Err(again) = connection.post(&post).await {
                tracing::error!(error = %again, request_id, "the answer could not be posted");
            }
        }
    }
}

/// One HTTP/1.1 connection to the Runtime API.
struct Connection {
    wire: Wire<TcpStream>,
    /// `Host: …\r\n`, as every request sends it.
    host: String,
    prefix: String,
    /// The whole next-invocation request, written once.
    next: Vec<u8>,
    /// The Runtime API said it closes this connection: open another before the next request.
    closing: bool,
}

/// The next-invocation answer's headers the loop reads, in this order.
const INVOCATION_HEADERS: [&str; 2] = [
    "lambda-runtime-aws-request-id",
    "lambda-runtime-deadline-ms",
];

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
        let host = format!("Host: {authority}\r\n");
        let next = format!("GET {prefix}{NEXT} HTTP/1.1\r\n{host}\r\n").into_bytes();
        Ok(Self {
            wire: Wire::new(stream),
            host,
            prefix: prefix.to_string(),
            next,
            closing: false,
        })
    }

    /// The long poll for the next invocation; `None` when the Runtime API had none (204).
    async fn next(&mut self) -> Result<Option<(Invocation, Bytes)>, RuntimeError> {
        if self.closing {
            return Err(WireError::Closed.into());
        }
        let answer = self.wire.exchange(&self.next, &INVOCATION_HEADERS).await?;
        self.closing = answer.closing;
        if answer.status == 204 {
            return Ok(None);
        }
        if !(200..300).contains(&answer.status) {
            return Err(RuntimeError::Status(answer.status));
        }
        let mut headers = answer.headers.into_iter();
        let (request_id, deadline) = (headers.next().flatten(), headers.next().flatten());
        let request_id = request_id
            .filter(|id| {
                !id.is_empty()
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            })
            .ok_or(RuntimeError::NoRequestId)?;
        let invocation = Invocation {
            request_id,
            deadline_ms: deadline.and_then(|v| v.trim().parse().ok()).unwrap_or(0),
        };
        Ok(Some((invocation, Bytes::from(answer.body))))
    }

    /// Posts an answer (or an error report); the Runtime API's refusal (413: too large; 410: the
    /// invocation timed out) is logged, as nothing else can be done about it.
    async fn post(&mut self, request: &[u8]) -> Result<(), RuntimeError> {
        if self.closing {
            return Err(WireError::Closed.into());
        }
        let answer = self.wire.exchange(request, &[]).await?;
        self.closing = answer.closing;
        if !(200..300).contains(&answer.status) {
            let body = &answer.body[..answer.body.len().min(200)];
            tracing::error!(
                status = answer.status,
                answer = %String::from_utf8_lossy(body),
                "the Runtime API refused the answer"
            );
        }
        Ok(())
    }
}

/// The whole request posting `body` as the invocation's `what` (`response` or `error`).
fn post_request(
    connection: &Connection,
    request_id: &str,
    what: &str,
    body: &[u8],
    error_type: Option<&str>,
) -> Vec<u8> {
    let mut request = Vec::with_capacity(256 + body.len());
    let length = body.len().to_string();
    for part in [
        "POST ",
        &connection.prefix,
        INVOCATION,
        "/",
        request_id,
        "/",
        what,
        " HTTP/1.1\r\n",
        &connection.host,
        "Content-Type: application/json\r\nContent-Length: ",
        &length,
        "\r\n",
    ] {
        request.extend_from_slice(part.as_bytes());
    }
    if let Some(error_type) = error_type {
        request.extend_from_slice(b"Lambda-Runtime-Function-Error-Type: ");
        request.extend_from_slice(error_type.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(body);
    request
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

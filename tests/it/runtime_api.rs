//! The Runtime API loop against a stand-in Runtime API that counts connections and checks the
//! protocol: every invocation answered at its own path, on connections kept open, one long poll
//! per `AWS_LAMBDA_MAX_CONCURRENCY` slot, a dropped connection opened again, a 204 skipped, a
//! panic reported as an invocation error. (The end-to-end tests run the same loop under
//! cargo-lambda's emulator.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use nl3_okta_hook::runtime_api::{self, Invocation, RuntimeConfig};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Mutex};

const WAIT: Duration = Duration::from_secs(20);

/// What the stand-in hands out for one `/next`.
enum Next {
    Event {
        id: &'static str,
        payload: &'static str,
        /// Close the connection once this invocation's answer is in.
        close_after: bool,
    },
    NoContent,
}

/// An answer the loop posted.
#[derive(Debug)]
struct Posted {
    path: String,
    error_type: Option<String>,
    body: String,
}

struct StandIn {
    endpoint: String,
    connections: Arc<AtomicUsize>,
    posted: mpsc::UnboundedReceiver<Posted>,
}

impl StandIn {
    async fn start(queue: Vec<Next>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = listener.local_addr().unwrap().to_string();
        let connections = Arc::new(AtomicUsize::new(0));
        let (tx, posted) = mpsc::unbounded_channel();
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        for next in queue {
            queue_tx.send(next).unwrap();
        }
        // Kept open: once the queue is empty, `/next` waits, as Lambda's does between events.
        std::mem::forget(queue_tx);
        let queue = Arc::new(Mutex::new(queue_rx));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(socket, queue.clone(), tx.clone()));
            }
        });
        Self {
            endpoint,
            connections,
            posted,
        }
    }

    async fn posted(&mut self) -> Posted {
        tokio::time::timeout(WAIT, self.posted.recv())
            .await
            .expect("an answer within 20 s")
            .expect("stand-in running")
    }
}

/// One connection: requests one after another, as HTTP/1.1 keep-alive allows.
async fn serve(
    socket: TcpStream,
    queue: Arc<Mutex<mpsc::UnboundedReceiver<Next>>>,
    posted: mpsc::UnboundedSender<Posted>,
) {
    let mut reader = BufReader::new(socket);
    let mut close_after_post = false;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let (mut length, mut error_type, mut host) = (0usize, None, false);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            let (name, value) = line.split_once(':').expect("a header line");
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "lambda-runtime-function-error-type" => error_type = Some(value.trim().into()),
                "host" => host = true,
                _ => {}
            }
        }
        assert!(host, "HTTP/1.1 requests carry Host: {request_line}");
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await.unwrap();
        let path = request_line.split_whitespace().nth(1).unwrap().to_string();
        let reply = if request_line.starts_with("GET ")
            && path == "/2018-06-01/runtime/invocation/next"
        {
            let next = queue.lock().await.recv().await;
            match next {
                Some(Next::Event {
                    id,
                    payload,
                    close_after,
                }) => {
                    close_after_post = close_after;
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                         Lambda-Runtime-Aws-Request-Id: {id}\r\n\
                         Lambda-Runtime-Deadline-Ms: 1900000000000\r\n\
                         Content-Length: {}\r\n\r\n{payload}",
                        payload.len()
                    )
                }
                Some(Next::NoContent) => "HTTP/1.1 204 No Content\r\n\r\n".to_string(),
                None => return,
            }
        } else {
            assert!(request_line.starts_with("POST "), "{request_line}");
            posted
                .send(Posted {
                    path,
                    error_type,
                    body: String::from_utf8(body).unwrap(),
                })
                .unwrap();
            // Lambda's answer has a body: reading it to the end is what keeps the connection.
            let answer = r#"{"status":"OK"}"#;
            format!(
                "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
                answer.len()
            )
        };
        let socket = reader.get_mut();
        if socket.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
        if request_line.starts_with("POST ") && std::mem::take(&mut close_after_post) {
            return;
        }
    }
}

/// Answers with the payload's length and the invocation's facts.
async fn describe(payload: Bytes, invocation: Invocation) -> Vec<u8> {
    if &payload[..] == b"panic" {
        panic!("a handler bug");
    }
    format!(
        "{}:{}:{}",
        invocation.request_id,
        invocation.deadline_ms,
        payload.len()
    )
    .into_bytes()
}

fn events(ids: &[&'static str]) -> Vec<Next> {
    ids.iter()
        .map(|id| Next::Event {
            id,
            payload: "{\"a\":1}",
            close_after: false,
        })
        .collect()
}

#[tokio::test]
async fn every_invocation_is_answered_at_its_path_on_one_kept_alive_connection() {
    let mut api = StandIn::start(events(&["r-1", "r-2", "r-3", "r-4", "r-5"])).await;
    let config = RuntimeConfig {
        endpoint: api.endpoint.clone(),
        workers: 1,
    };
    let running = tokio::spawn(runtime_api::run(config, describe));
    for id in ["r-1", "r-2", "r-3", "r-4", "r-5"] {
        let posted = api.posted().await;
        assert_eq!(
            posted.path,
            format!("/2018-06-01/runtime/invocation/{id}/response")
        );
        assert_eq!(posted.body, format!("{id}:1900000000000:7"));
        assert_eq!(posted.error_type, None);
    }
    // lambda_runtime 1.5 dropped the answer to each posted response unread, and with it the
    // connection: one new connection per invocation.
    assert_eq!(api.connections.load(Ordering::SeqCst), 1);
    running.abort();
}

#[tokio::test]
async fn a_dropped_connection_is_opened_again_and_the_loop_goes_on() {
    let mut queue = vec![Next::Event {
        id: "first",
        payload: "{}",
        close_after: true,
    }];
    queue.extend(events(&["second"]));
    let mut api = StandIn::start(queue).await;
    let config = RuntimeConfig {
        endpoint: api.endpoint.clone(),
        workers: 1,
    };
    let running = tokio::spawn(runtime_api::run(config, describe));
    assert!(api.posted().await.path.contains("/first/response"));
    assert!(api.posted().await.path.contains("/second/response"));
    assert_eq!(api.connections.load(Ordering::SeqCst), 2);
    running.abort();
}

#[tokio::test]
async fn nothing_to_do_is_skipped_and_a_panic_is_reported_as_an_invocation_error() {
    let mut queue = vec![
        Next::NoContent,
        Next::Event {
            id: "bug",
            payload: "panic",
            close_after: false,
        },
    ];
    queue.extend(events(&["after"]));
    let mut api = StandIn::start(queue).await;
    let config = RuntimeConfig {
        endpoint: api.endpoint.clone(),
        workers: 1,
    };
    let running = tokio::spawn(runtime_api::run(config, describe));
    let error = api.posted().await;
    assert_eq!(error.path, "/2018-06-01/runtime/invocation/bug/error");
    assert_eq!(error.error_type.as_deref(), Some("Runtime.Panic"));
    let report: serde_json::Value = serde_json::from_str(&error.body).unwrap();
    assert!(report["errorMessage"].is_string(), "{report}");
    // The loop survived the panic.
    assert!(api.posted().await.path.ends_with("/after/response"));
    running.abort();
}

/// `AWS_LAMBDA_MAX_CONCURRENCY=4`: four long polls, four invocations in the handler at once
/// (each waits for all four: with fewer loops none would ever be answered).
#[tokio::test]
async fn max_concurrency_runs_that_many_invocations_at_once() {
    let mut api = StandIn::start(events(&["c-1", "c-2", "c-3", "c-4"])).await;
    let config = RuntimeConfig {
        endpoint: api.endpoint.clone(),
        workers: 4,
    };
    let together = Arc::new(tokio::sync::Barrier::new(4));
    let running = tokio::spawn(runtime_api::run(config, move |payload, invocation| {
        let together = together.clone();
        async move {
            together.wait().await;
            describe(payload, invocation).await
        }
    }));
    let mut answered: Vec<String> = Vec::new();
    for _ in 0..4 {
        answered.push(api.posted().await.path);
    }
    answered.sort();
    assert_eq!(
        answered,
        ["c-1", "c-2", "c-3", "c-4"]
            .map(|id| format!("/2018-06-01/runtime/invocation/{id}/response"))
    );
    assert_eq!(api.connections.load(Ordering::SeqCst), 4);
    running.abort();
}

#[test]
fn the_settings_come_from_lambdas_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    let config = RuntimeConfig::from_lookup(env(&[
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ("AWS_LAMBDA_MAX_CONCURRENCY", "8"),
    ]))
    .unwrap();
    assert_eq!(
        (config.endpoint.as_str(), config.workers),
        ("127.0.0.1:9001", 8)
    );
    let config = RuntimeConfig::from_lookup(env(&[
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ("AWS_LAMBDA_MAX_CONCURRENCY", "lots"),
    ]))
    .unwrap();
    assert_eq!(config.workers, 1);
    assert!(RuntimeConfig::from_lookup(env(&[])).is_err());
}

//! A minimal Lambda Runtime API on loopback, just enough for `lambda_runtime` and
//! `awslambdaric`, and the function processes the benches run under it: the benches hand each
//! process events through it and time the answers (`benches/side_by_side.rs`,
//! `admin/benches/guard.rs`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

/// How long an invocation may wait for its answer.
pub const WAIT: Duration = Duration::from_secs(60);

/// A queued invocation: the event, and where to send the answer.
struct Invocation {
    event: String,
    answered: oneshot::Sender<String>,
}

/// The Lambda Runtime API, just enough for lambda_runtime and awslambdaric.
pub struct RuntimeApi {
    pub port: u16,
    queue: mpsc::UnboundedSender<Invocation>,
}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<String>>>>;

impl RuntimeApi {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (queue, rx) = mpsc::unbounded_channel::<Invocation>();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let pending: Pending = Arc::default();
        tokio::spawn(async move {
            let ids = Arc::new(Mutex::new(0u64));
            while let Ok((socket, _)) = listener.accept().await {
                let _ = socket.set_nodelay(true);
                let (rx, pending, ids) = (rx.clone(), pending.clone(), ids.clone());
                tokio::spawn(serve(socket, rx, pending, ids));
            }
        });
        Self { port, queue }
    }

    /// Queues one event and waits for its answer.
    pub async fn invoke(&self, event: &str) -> String {
        let (answered, answer) = oneshot::channel();
        self.queue
            .send(Invocation {
                event: event.into(),
                answered,
            })
            .unwrap();
        tokio::time::timeout(WAIT, answer)
            .await
            .expect("no answer within 60 s")
            .expect("runtime API dropped the invocation")
    }
}

/// One HTTP/1.1 request from a kept-alive connection: its request line and its body (by
/// Content-Length, which every client here sends). `None` when the connection ends.
pub async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>)> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
        return None;
    }
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some((request_line, body))
}

async fn serve(
    socket: TcpStream,
    rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>>,
    pending: Pending,
    ids: Arc<Mutex<u64>>,
) {
    let mut reader = BufReader::new(socket);
    while let Some((request_line, body)) = read_request(&mut reader).await {
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_string();
        let (status, headers, payload) = if path.ends_with("/invocation/next") {
            let Some(invocation) = rx.lock().await.recv().await else {
                return;
            };
            let id = {
                let mut n = ids.lock().unwrap();
                *n += 1;
                format!("bench-{n}")
            };
            pending
                .lock()
                .unwrap()
                .insert(id.clone(), invocation.answered);
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 10_000;
            let headers = format!(
                "Lambda-Runtime-Aws-Request-Id: {id}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000;Sampled=0\r\n"
            );
            (200, headers, invocation.event.into_bytes())
        } else if path.contains("/invocation/") {
            // …/invocation/{id}/response or …/{id}/error
            let id = path.split('/').rev().nth(1).unwrap_or("").to_string();
            let text = String::from_utf8_lossy(&body).to_string();
            let text = if path.ends_with("/error") {
                format!("ERROR {text}")
            } else {
                text
            };
            if let Some(tx) = pending.lock().unwrap().remove(&id) {
                let _ = tx.send(text);
            }
            (202, String::new(), b"{}".to_vec())
        } else {
            eprintln!(
                "runtime API: {request_line}{}",
                String::from_utf8_lossy(&body)
            );
            (202, String::new(), b"{}".to_vec())
        };
        let head = format!(
            "HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n",
            payload.len()
        );
        // One write, as real Runtime APIs answer (Lambda's sets TCP_NODELAY, as Go does): two
        // small writes on a kept-alive connection would wait on Nagle and the client's delayed
        // ACK, 40 ms each.
        let mut answer = head.into_bytes();
        answer.extend_from_slice(&payload);
        if reader.get_mut().write_all(&answer).await.is_err() {
            return;
        }
    }
}

/// A function's process: the program, its arguments and its environment (the Runtime API's
/// and Lambda's own variables are added by [`spawn`]).
#[derive(Clone)]
pub struct Function {
    pub name: &'static str,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// Starts `function` as Lambda starts a 128 MB function, its Runtime API at `runtime_port`: in
/// the workspace's root, with only `PATH`, its own environment and Lambda's variables; its
/// stdout piped (read it, or [`drain`] it), its stderr dropped; killed when dropped.
pub fn spawn(function: &Function, runtime_port: u16) -> Child {
    Command::new(&function.program)
        .args(&function.args)
        .current_dir(crate::workspace_root())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(function.env.iter().cloned())
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("127.0.0.1:{runtime_port}"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("LAMBDA_TASK_ROOT", "/tmp")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", function.program.display()))
}

/// Reads and drops what the process prints, so a full pipe never blocks it.
pub fn drain(child: &mut Child) {
    if let Some(stdout) = child.stdout.take() {
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(_)) = lines.next_line().await {}
        });
    }
}

//! `make bench` (after the hook's benches; alone: `make bench-guard`): the after-sign-in guard's
//! two functions, their release binaries run as Lambda runs them, under the minimal Lambda
//! Runtime API of `nl3_testkit::runtime_api`, against stand-ins on loopback.
//!
//! - The receiver (`nl3-okta-events`): Okta's delivery of 10 events through API Gateway (REST
//!   v1), answered 200 once each event is on the queue. Its acknowledgement, p50/p99 over
//!   BENCH_N calls back to back, and BENCH_CAPPED_N at the 128 MB share one every 100 ms (a CFS
//!   period: each delivery has the period's quota, as one arriving alone has), against two SQS:
//!   a loopback stand-in answering SendMessageBatch at once (the receiver's own time), and moto's
//!   server (what the tests use; its own time, Python's, is in the figure; each delivery's
//!   messages are received and deleted after the call, out of the timing, as the worker's event
//!   source keeps a real queue near empty).
//! - The worker (`nl3-okta-guard`): one SQS event of 10 locked users (distinct users and client
//!   IPs in every batch, so neither its memory of NL3's answers nor the location cache helps),
//!   NL3 and Okta's two calls (`DELETE …/sessions?oauthTokens=true`, `PUT
//!   /api/v1/groups/{gid}/users/{id}`) answering after 50 ms, ipinfo at once. The time to the
//!   invocation's answer, p50/p99 over BENCH_GUARD_BATCHES batches handed back to back, and the
//!   events per second that makes. Every user must have been contained (each NL3 and Okta call
//!   counted at the stand-ins), or the bench stops: a figure for work not done is no figure.
//!
//! Each process once uncapped and once at a 128 MB Lambda's CPU share (`nl3_testkit::cgroup`:
//! 128/1769 of a core, joined before its first instruction; skipped with the reason where the
//! machine does not allow it). Per process also its peak RSS and its cold start (spawn → first
//! answer, median of BENCH_COLD_RUNS). A summary closes the run: the targets, PASS/MISS,
//! printed and never asserted.
//!
//! The hook secret's `API_KEY`, `SIGNING_KEY` and `IPINFO_TOKEN` come from the environment; the
//! worker's Okta credentials (an API token) from moto's Secrets Manager (`OKTA_SECRET_ID`, read
//! once at start: in the worker's cold start). Logs at INFO, as deployed.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use nl3_testkit::cgroup::CpuCap;
use nl3_testkit::figures::{ms, peak_rss_kb, percentile};
use nl3_testkit::moto::Moto;
use nl3_testkit::runtime_api::{drain, spawn, Function, RuntimeApi};
use nl3_testkit::{b64, workspace_release_bins, workspace_root};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const API_KEY: &str = "local-dev-api-key";
const SIGNING_KEY: &[u8] = b"local-dev-signing-key";
const API_PATH: &str = "/nl3/api/v1/accountProtectionCheck";
const QUARANTINE_GROUP: &str = "00gbenchquarantine01";
const OKTA_SECRET_ID: &str = "nl3/okta-guard-bench";
/// How long NL3 and each of Okta's calls take to answer.
const UPSTREAM_DELAY: Duration = Duration::from_millis(50);
/// Events in one delivery, and in one SQS batch (a FIFO event source's largest).
const EVENTS: usize = 10;
/// The targets.
const ACK_P99_TARGET: Duration = Duration::from_millis(50);
const CONTAIN_TARGET: Duration = Duration::from_millis(300);

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One System Log `user.session.start` event, as Okta's event hook delivers it (the fields of
/// Okta's LogEvent, about 2 KB), for user number `k` of the run: a locked user (NL3's stand-in
/// answers every user locked), from a client IP of its own.
fn log_event(k: usize) -> Value {
    let ip = format!("11.{}.{}.{}", (k >> 16) & 255, (k >> 8) & 255, k & 255);
    let published = time::OffsetDateTime::from(SystemTime::now())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let geo = json!({"city": "Miami", "state": "Florida", "country": "United States",
                     "postalCode": "33101", "geolocation": {"lat": 25.7743, "lon": -80.1937}});
    json!({
        "uuid": uuid::Uuid::new_v4().to_string(),
        "published": published,
        "eventType": "user.session.start",
        "version": "0",
        "displayMessage": "User login to Okta",
        "severity": "INFO",
        "client": {
            "userAgent": {
                "rawUserAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
                                 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "os": "Windows 10", "browser": "CHROME"
            },
            "zone": "null", "device": "Computer", "id": null, "ipAddress": ip,
            "geographicalContext": geo
        },
        "device": null,
        "actor": {
            "id": format!("00ubench{k:09}"), "type": "User",
            "alternateId": format!("locked.bench{k}@example.com"),
            "displayName": format!("Bench User {k}"), "detailEntry": null
        },
        "outcome": {"result": "SUCCESS", "reason": null},
        "target": [],
        "transaction": {"type": "WEB", "id": format!("bench-tx-{k}"), "detail": {}},
        "debugContext": {"debugData": {
            "requestId": format!("bench-req-{k}"), "requestUri": "/idp/idx/identify",
            "url": "/idp/idx/identify?", "threatSuspected": "false",
            "behaviors": "{New Geo-Location=NEGATIVE, New Device=NEGATIVE, New IP=NEGATIVE, \
                          New State=NEGATIVE, New Country=NEGATIVE, Velocity=NEGATIVE, New City=NEGATIVE}",
            "risk": "{level=LOW}"
        }},
        "legacyEventType": "core.user_auth.login_success",
        "authenticationContext": {
            "authenticationProvider": null, "credentialProvider": null, "credentialType": null,
            "issuer": null, "interface": null, "authenticationStep": 0,
            "rootSessionId": format!("102bench{k}"), "externalSessionId": format!("102bench{k}")
        },
        "securityContext": {"asNumber": 7922, "asOrg": "comcast", "isp": "comcast cable",
                            "domain": "comcast.net", "isProxy": false},
        "insertionTimestamp": null,
        "request": {"ipChain": [{"ip": ip, "geographicalContext": geo, "version": "V4",
                                 "source": null}]}
    })
}

/// Okta's delivery of events `first..first + EVENTS` to the receiver, as API Gateway (REST v1)
/// hands it over: the hook's REST sample's request, its body the delivery.
fn delivery(template: &Value, first: usize) -> String {
    let events: Vec<Value> = (first..first + EVENTS).map(log_event).collect();
    let body = json!({
        "eventType": "com.okta.event_hook", "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1", "contentType": "application/json",
        "source": "https://example.okta.com/api/v1/eventHooks/whobench0000000001",
        "eventId": uuid::Uuid::new_v4().to_string(),
        "eventTime": events[0]["published"],
        "data": {"events": events}
    });
    let mut event = template.clone();
    event["resource"] = json!("/okta/events");
    event["path"] = json!("/okta/events");
    event["requestContext"]["resourcePath"] = json!("/okta/events");
    event["requestContext"]["path"] = json!("/prod/okta/events");
    event["body"] = json!(body.to_string());
    event.to_string()
}

/// The SQS event Lambda's event source hands the worker: events `first..first + EVENTS`, one
/// message each, as the receiver queued them (the user as the message group).
fn sqs_batch(first: usize) -> String {
    let records: Vec<Value> = (first..first + EVENTS)
        .map(|k| {
            let event = log_event(k);
            let id = uuid::Uuid::new_v4().to_string();
            json!({
                "messageId": id,
                "receiptHandle": format!("AQEBbench{id}"),
                "body": event.to_string(),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1764842400000",
                    "SequenceNumber": format!("{:020}", k),
                    "MessageGroupId": event["actor"]["id"],
                    "SenderId": "AROABENCH:bench-events",
                    "MessageDeduplicationId": event["uuid"],
                    "ApproximateFirstReceiveTimestamp": "1764842400001"
                },
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench-guard.fifo",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records }).to_string()
}

/// SQS's SendMessageBatch (AWS JSON 1.0, as the SDK speaks it), answered at once: every entry
/// taken. The SDK does not check the digests, so they are not computed.
struct SendMessageBatch;

impl Respond for SendMessageBatch {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let successful: Vec<Value> = body["Entries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| {
                json!({"Id": entry["Id"], "MessageId": uuid::Uuid::new_v4().to_string(),
                       "MD5OfMessageBody": "00000000000000000000000000000000",
                       "SequenceNumber": "18849496460467696128"})
            })
            .collect();
        ResponseTemplate::new(200)
            .insert_header("content-type", "application/x-amz-json-1.0")
            .set_body_string(json!({"Successful": successful, "Failed": []}).to_string())
    }
}

/// The stand-ins on loopback: NL3 (every user locked), ipinfo, Okta's two calls, SQS.
struct StandIns {
    nl3: MockServer,
    ipinfo: MockServer,
    okta: MockServer,
    sqs: MockServer,
}

impl StandIns {
    async fn start() -> Self {
        let nl3 = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(API_PATH))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"locked": "true", "message": "string", "status": "ok"}))
                    .set_delay(UPSTREAM_DELAY),
            )
            .mount(&nl3)
            .await;
        let ipinfo = MockServer::start().await;
        let sample: Value =
            serde_json::from_str(include_str!("../../tests/fixtures/ipinfo-1.1.1.1.json")).unwrap();
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(sample))
            .mount(&ipinfo)
            .await;
        let okta = MockServer::start().await;
        Mock::given(method("DELETE"))
            .and(path_regex("^/api/v1/users/00ubench[0-9]+/sessions$"))
            .and(query_param("oauthTokens", "true"))
            .respond_with(ResponseTemplate::new(204).set_delay(UPSTREAM_DELAY))
            .mount(&okta)
            .await;
        Mock::given(method("PUT"))
            .and(path_regex(format!(
                "^/api/v1/groups/{QUARANTINE_GROUP}/users/00ubench[0-9]+$"
            )))
            .respond_with(ResponseTemplate::new(204).set_delay(UPSTREAM_DELAY))
            .mount(&okta)
            .await;
        let sqs = MockServer::start().await;
        Mock::given(method("POST"))
            .and(header("x-amz-target", "AmazonSQS.SendMessageBatch"))
            .respond_with(SendMessageBatch)
            .mount(&sqs)
            .await;
        StandIns {
            nl3,
            ipinfo,
            okta,
            sqs,
        }
    }

    /// NL3's checks and Okta's calls (ending sessions, adding to the group) so far.
    async fn upstream_calls(&self) -> (usize, usize) {
        let count = |requests: Option<Vec<Request>>, methods: &[&str]| {
            requests
                .unwrap_or_default()
                .iter()
                .filter(|r| methods.contains(&r.method.as_str()))
                .count()
        };
        (
            count(self.nl3.received_requests().await, &["POST"]),
            count(self.okta.received_requests().await, &["DELETE", "PUT"]),
        )
    }
}

/// moto's server, with the guard's FIFO queue and the worker's Okta credential secret.
struct MotoAws {
    moto: Moto,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl MotoAws {
    async fn start() -> Self {
        let moto = Moto::start(0).await;
        moto.client()
            .create_secret()
            .name(OKTA_SECRET_ID)
            .secret_string(json!({"OKTA_API_TOKEN": "bench-okta-token"}).to_string())
            .send()
            .await
            .expect("the Okta credential secret in moto");
        let sqs = moto.sqs();
        let queue_url = sqs
            .create_queue()
            .queue_name("bench-guard.fifo")
            .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
            .send()
            .await
            .expect("the guard's FIFO queue in moto")
            .queue_url
            .expect("a queue URL");
        MotoAws {
            moto,
            sqs,
            queue_url,
        }
    }
}

/// Where the receiver queues its events.
enum Queue<'a> {
    StandIn(&'a MockServer),
    Moto(&'a MotoAws),
}

impl Queue<'_> {
    fn name(&self) -> &'static str {
        match self {
            Queue::StandIn(_) => "SQS stand-in",
            Queue::Moto(_) => "moto's SQS",
        }
    }

    /// Between two calls, out of the timing: the delivery's messages received and deleted from
    /// moto's queue, as the worker's event source takes them (moto's FIFO deduplication scans
    /// every message the queue holds, so a queue left to fill would make each call slower than
    /// the last; PurgeQueue is allowed once a minute).
    async fn settle(&self) {
        let Queue::Moto(aws) = self else { return };
        let mut taken = 0;
        loop {
            let received = aws
                .sqs
                .receive_message()
                .queue_url(&aws.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receiving from moto's queue");
            let entries: Vec<_> = received
                .messages()
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle()?)
                        .build()
                        .ok()
                })
                .collect();
            if entries.is_empty() {
                assert_eq!(
                    taken, EVENTS,
                    "moto's queue must hold the delivery's events"
                );
                return;
            }
            taken += entries.len();
            aws.sqs
                .delete_message_batch()
                .queue_url(&aws.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .expect("deleting from moto's queue");
        }
    }
}

fn aws_env(endpoint: (&str, String)) -> Vec<(String, String)> {
    [
        (endpoint.0, endpoint.1),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "bench".into()),
        ("AWS_SECRET_ACCESS_KEY", "bench".into()),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO".into()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn receiver(program: &Path, queue: &Queue<'_>) -> Function {
    let (endpoint, queue_url) = match queue {
        Queue::StandIn(sqs) => (
            sqs.uri(),
            format!("{}/123456789012/bench-guard.fifo", sqs.uri()),
        ),
        Queue::Moto(aws) => (aws.moto.url.clone(), aws.queue_url.clone()),
    };
    let mut env = aws_env(("AWS_ENDPOINT_URL_SQS", endpoint));
    env.push(("API_KEY".into(), API_KEY.into()));
    env.push(("EVENTS_QUEUE_URL".into(), queue_url));
    Function {
        name: "nl3-okta-events",
        program: program.to_path_buf(),
        args: vec![],
        env,
    }
}

fn worker(program: &Path, stand_ins: &StandIns, aws: &MotoAws) -> Function {
    let mut env = aws_env(("AWS_ENDPOINT_URL", aws.moto.url.clone()));
    env.extend(
        [
            ("APP_URI", "https://app.example.com".to_string()),
            ("API_URI", stand_ins.nl3.uri()),
            ("API_PATH", API_PATH.into()),
            ("IPINFO_URL", stand_ins.ipinfo.uri()),
            ("SIGNING_KEY", b64(SIGNING_KEY)),
            ("IPINFO_TOKEN", "bench-ipinfo-token".into()),
            ("MODE", "enforce".into()),
            ("GUARD_CHECK_TIMEOUT_MS", "5000".into()),
            ("OKTA_ORG_URL", stand_ins.okta.uri()),
            ("OKTA_SECRET_ID", OKTA_SECRET_ID.into()),
            ("QUARANTINE_GROUP_ID", QUARANTINE_GROUP.into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v)),
    );
    Function {
        name: "nl3-okta-guard",
        program: program.to_path_buf(),
        args: vec![],
        env,
    }
}

/// The receiver's answer must be `200 {"queued": 10}`.
fn check_ack(answer: &str) {
    let response: Value = serde_json::from_str(answer).unwrap_or_default();
    let body: Value =
        serde_json::from_str(response["body"].as_str().unwrap_or("null")).unwrap_or_default();
    assert!(
        response["statusCode"] == 200 && body["queued"] == EVENTS,
        "the receiver did not queue the delivery: {answer}"
    );
}

/// The worker's answer must hand no message back.
fn check_batch(answer: &str) {
    let response: Value = serde_json::from_str(answer).unwrap_or_default();
    assert!(
        response["batchItemFailures"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "the worker handed messages back: {answer}"
    );
}

/// What one process did, in one configuration.
#[derive(Default)]
struct Figures {
    /// Spawn → first answer, one per cold run.
    cold: Vec<Duration>,
    /// Each timed invocation's answer time.
    answers: Vec<Duration>,
    /// The timed invocations, from the first handed over to the last answered (the queue's
    /// settling left out).
    wall: Duration,
    peak_rss_kb: u64,
    /// CFS periods the quota ran out in, and the time it held the process back (capped only).
    throttled: Option<(u64, Duration)>,
}

impl Figures {
    fn events_per_second(&self) -> f64 {
        (self.answers.len() * EVENTS) as f64 / self.wall.as_secs_f64()
    }
}

/// How a process is run: `cold_runs` processes answer their first event; the last one then
/// answers `warm_up` untimed events and the rest, timed, each handed over as soon as the last is
/// answered and at least `gap` after it was handed over. Every answer is `check`ed; `queue`'s
/// settling runs after each, outside the timing.
#[derive(Clone, Copy)]
struct How<'a> {
    cold_runs: usize,
    warm_up: usize,
    check: fn(&str),
    queue: Option<&'a Queue<'a>>,
    gap: Duration,
}

/// Runs `function` (capped when `cap` is given) over `events`, as `how` says.
async fn measure(
    function: &Function,
    cap: Option<&CpuCap>,
    events: &[String],
    how: &How<'_>,
) -> Figures {
    let How {
        cold_runs,
        warm_up,
        check,
        queue,
        gap,
    } = *how;
    let function = &cap.map_or_else(|| function.clone(), |cap| cap.wrap(function));
    let settle = || async move {
        if let Some(queue) = queue {
            queue.settle().await;
        }
    };
    let (cold_events, rest) = events.split_at(cold_runs);
    let (warm_events, timed) = rest.split_at(warm_up);
    let mut figures = Figures::default();
    let mut kept = None;
    for (run, event) in cold_events.iter().enumerate() {
        let api = RuntimeApi::start().await;
        let started = Instant::now();
        let mut child = spawn(function, api.port);
        drain(&mut child);
        let answer = api.invoke(event).await;
        figures.cold.push(started.elapsed());
        check(&answer);
        settle().await;
        if run + 1 < cold_runs {
            let _ = child.kill().await;
        } else {
            kept = Some((api, child)); // the last process stays for the warm calls
        }
    }
    let (api, mut child) = kept.expect("at least one cold run");
    for event in warm_events {
        check(&api.invoke(event).await);
        settle().await;
    }
    let throttled_before = cap.map(CpuCap::throttling);
    let began = Instant::now();
    let mut settling = Duration::ZERO;
    let mut last_started: Option<Instant> = None;
    for event in timed {
        if let Some(last) = last_started {
            tokio::time::sleep_until((last + gap).into()).await;
        }
        let started = Instant::now();
        last_started = Some(started);
        let answer = api.invoke(event).await;
        figures.answers.push(started.elapsed());
        check(&answer);
        let settled = Instant::now();
        settle().await;
        settling += settled.elapsed();
    }
    figures.wall = began.elapsed().saturating_sub(settling);
    figures.throttled = cap.zip(throttled_before).map(|(cap, (n0, t0))| {
        let (n1, t1) = cap.throttling();
        (n1 - n0, t1.saturating_sub(t0))
    });
    figures.peak_rss_kb = peak_rss_kb(child.id().unwrap_or(0));
    let _ = child.kill().await;
    figures
}

/// The worker's run (see [`measure`]) over `batches`, each user checked at NL3 and contained
/// with Okta's two calls, or the bench stops.
async fn contain(
    worker: &Function,
    stand_ins: &StandIns,
    batches: Vec<String>,
    cap: Option<&CpuCap>,
    how: &How<'_>,
) -> Figures {
    let before = stand_ins.upstream_calls().await;
    let figures = measure(worker, cap, &batches, how).await;
    let after = stand_ins.upstream_calls().await;
    let users = batches.len() * EVENTS;
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (users, 2 * users),
        "every user must be checked once at NL3 and contained with two Okta calls"
    );
    figures
}

/// The figures of one configuration, uncapped and (when the machine allows it) capped.
struct Pair {
    uncapped: Figures,
    capped: Option<Figures>,
}

/// One line of a table: cold start, p50, p99, events/s (the worker's), peak RSS, and what the
/// quota held back (capped).
fn row(what: &str, f: &Figures, events_per_s: bool) {
    let rate = match events_per_s {
        true => format!(" {:>10.0}", f.events_per_second()),
        false => String::new(),
    };
    let held = f.throttled.map_or(String::new(), |(n, t)| {
        format!("   quota held it back {} ({n} CFS periods)", ms(t))
    });
    println!(
        "{what:<26} {:>11} {:>11} {:>11}{rate} {:>9.1} MB{held}",
        ms(percentile(&f.cold, 0.5)),
        ms(percentile(&f.answers, 0.5)),
        ms(percentile(&f.answers, 0.99)),
        f.peak_rss_kb as f64 / 1024.0,
    );
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let n = env_number("BENCH_N", 1000);
    let capped_n = env_number("BENCH_CAPPED_N", 200);
    let batches = env_number("BENCH_GUARD_BATCHES", 200);
    let cold_runs = env_number("BENCH_COLD_RUNS", 5).max(1);
    let began = Instant::now();

    println!(
        "building the release binaries of nl3-okta-events and nl3-okta-guard (when not built yet)"
    );
    let programs = workspace_release_bins("nl3-okta-admin", &["nl3-okta-events", "nl3-okta-guard"]);
    let stand_ins = StandIns::start().await;
    let aws = MotoAws::start().await;
    let template: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("events/rest/token-unlocked.json"))
            .expect("events/rest/token-unlocked.json"),
    )
    .unwrap();
    let queues = [Queue::StandIn(&stand_ins.sqs), Queue::Moto(&aws)];
    let receivers: Vec<Function> = queues.iter().map(|q| receiver(&programs[0], q)).collect();
    let worker = worker(&programs[1], &stand_ins, &aws);

    let cap = CpuCap::create();
    let cap_skipped = cap.as_ref().err().cloned();
    println!(
        "measuring: {cold_runs} cold starts per process (BENCH_COLD_RUNS); receiver: {n} calls \
         uncapped (BENCH_N), {capped_n} at the 128 MB share (BENCH_CAPPED_N); worker: {batches} \
         batches each way (BENCH_GUARD_BATCHES)"
    );
    println!(
        "128 MB Lambda's CPU share: {}",
        match &cap {
            Ok(_) => format!(
                "cgroup v1 cpu quota {} µs every {} µs",
                CpuCap::quota_us(),
                CpuCap::PERIOD_US
            ),
            Err(why) => format!("skipped: {why}"),
        }
    );

    // Users are numbered through the whole run: none comes twice.
    let mut next_user = 0;
    let mut take = |count: usize, make: &dyn Fn(usize) -> String| -> Vec<String> {
        (0..count)
            .map(|_| {
                let first = next_user;
                next_user += EVENTS;
                make(first)
            })
            .collect()
    };
    let warm_up = 20;

    println!(
        "\nreceiver (nl3-okta-events): Okta's delivery of {EVENTS} events (API Gateway REST v1), \
         answered 200 once all are queued"
    );
    println!(
        "{:<26} {:>11} {:>11} {:>11} {:>12}",
        "", "cold start", "ack p50", "ack p99", "peak RSS"
    );
    let mut receiver_figures: Vec<Pair> = Vec::new();
    for (queue, function) in queues.iter().zip(&receivers) {
        let deliveries = take(cold_runs + warm_up + n, &|first| delivery(&template, first));
        let how = How {
            cold_runs,
            warm_up,
            check: check_ack,
            queue: Some(queue),
            gap: Duration::ZERO,
        };
        let uncapped = measure(function, None, &deliveries, &how).await;
        row(&format!("{}, uncapped", queue.name()), &uncapped, false);
        let capped = match &cap {
            Ok(cap) => {
                let deliveries = take(cold_runs + warm_up + capped_n, &|first| {
                    delivery(&template, first)
                });
                // One delivery per CFS period: each has the period's quota, as a delivery
                // arriving alone has (back to back, the bench's own pace would spend it).
                let how = How {
                    gap: Duration::from_micros(CpuCap::PERIOD_US),
                    ..how
                };
                let f = measure(function, Some(cap), &deliveries, &how).await;
                row(&format!("{}, 128 MB CPU", queue.name()), &f, false);
                Some(f)
            }
            Err(_) => None,
        };
        receiver_figures.push(Pair { uncapped, capped });
    }
    println!(
        "(SQS stand-in: answers SendMessageBatch at once, so the figure is the receiver's own; \
         moto's SQS: Python's time included. Uncapped: deliveries back to back; 128 MB: one \
         every {} ms. Cold start: spawn → first answer, median of {cold_runs})",
        CpuCap::PERIOD_US / 1000
    );

    println!(
        "\nworker (nl3-okta-guard): one SQS event of {EVENTS} locked users, NL3 and Okta's two \
         calls answering after {} ms",
        UPSTREAM_DELAY.as_millis()
    );
    println!(
        "{:<26} {:>11} {:>11} {:>11} {:>10} {:>12}",
        "", "cold start", "answer p50", "answer p99", "events/s", "peak RSS"
    );
    let worker_warm_up = 5;
    let mut worker_batches = || take(cold_runs + worker_warm_up + batches, &sqs_batch);
    let how = How {
        cold_runs,
        warm_up: worker_warm_up,
        check: check_batch,
        queue: None,
        gap: Duration::ZERO,
    };
    let uncapped = contain(&worker, &stand_ins, worker_batches(), None, &how).await;
    row("uncapped", &uncapped, true);
    let capped = match &cap {
        Ok(cap) => {
            let f = contain(&worker, &stand_ins, worker_batches(), Some(cap), &how).await;
            row("128 MB CPU", &f, true);
            Some(f)
        }
        Err(_) => None,
    };
    let worker_figures = Pair { uncapped, capped };
    println!(
        "(answer: the SQS event handed over → the invocation's answer, every user contained; \
         events/s: {EVENTS} per batch over the batches' time, handed back to back; cold start: \
         spawn → first answer, reading the Okta secret from moto and the first batch's {} ms of \
         stand-ins included)",
        3 * UPSTREAM_DELAY.as_millis()
    );
    drop(cap); // the group goes as soon as its processes have

    // The summary: the targets, at the 128 MB share.
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    println!("\n== summary (measured, nothing asserted; the targets are the issue's) ==");
    println!(
        "{:<46} {:>18} {:>18}   target",
        "", "uncapped", "128 MB CPU share"
    );
    let p50_p99 = |f: &Figures| {
        format!(
            "{:.1} / {:.1} ms",
            percentile(&f.answers, 0.5).as_secs_f64() * 1e3,
            percentile(&f.answers, 0.99).as_secs_f64() * 1e3
        )
    };
    let line = |what: &str, pair: &Pair, show: &dyn Fn(&Figures) -> String, hold: String| {
        println!(
            "{what:<46} {:>18} {:>18}   {hold}",
            show(&pair.uncapped),
            pair.capped
                .as_ref()
                .map_or_else(|| "not measured".into(), show)
        )
    };
    let ack_hold = |pair: &Pair, whose: &str| match &pair.capped {
        Some(f) => {
            let p99 = percentile(&f.answers, 0.99);
            format!(
                "{} p99 ≤ {} ms at 128 MB{whose}",
                verdict(p99 <= ACK_P99_TARGET),
                ACK_P99_TARGET.as_millis()
            )
        }
        None => format!("p99 ≤ {} ms at 128 MB: n/a", ACK_P99_TARGET.as_millis()),
    };
    line(
        "receiver ack p50 / p99, SQS stand-in",
        &receiver_figures[0],
        &p50_p99,
        ack_hold(&receiver_figures[0], " (the receiver's own)"),
    );
    line(
        "receiver ack p50 / p99, moto's SQS",
        &receiver_figures[1],
        &p50_p99,
        ack_hold(&receiver_figures[1], " (moto's time in it)"),
    );
    line(
        "worker, 10 locked users: answer p50 / p99",
        &worker_figures,
        &p50_p99,
        match &worker_figures.capped {
            Some(f) => {
                let p99 = percentile(&f.answers, 0.99);
                format!(
                    "{} p99 ≤ {} ms at 128 MB",
                    verdict(p99 <= CONTAIN_TARGET),
                    CONTAIN_TARGET.as_millis()
                )
            }
            None => format!("p99 ≤ {} ms at 128 MB: n/a", CONTAIN_TARGET.as_millis()),
        },
    );
    line(
        "worker events/s, batches back to back",
        &worker_figures,
        &|f| format!("{:.0}", f.events_per_second()),
        "none (reported)".into(),
    );
    let cold_rss = |f: &Figures| {
        format!(
            "{:.1} ms, {:.1} MB",
            percentile(&f.cold, 0.5).as_secs_f64() * 1e3,
            f.peak_rss_kb as f64 / 1024.0
        )
    };
    line(
        "receiver cold start, peak RSS (SQS stand-in)",
        &receiver_figures[0],
        &cold_rss,
        "none (reported)".into(),
    );
    line(
        "worker cold start, peak RSS",
        &worker_figures,
        &cold_rss,
        "none (reported)".into(),
    );
    if let Some(why) = &cap_skipped {
        println!("128 MB figures not measured: {why}");
    }
    println!(
        "\nguard bench measured in {:.0} s",
        began.elapsed().as_secs_f64()
    );
    aws.moto.stop().await;
}

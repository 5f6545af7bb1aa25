//! `nl3-okta-events`: the receiver of Okta's event hook. Okta's call carries the hook secret in
//! the header the hook reads it from, checked exactly as the hook checks it (the current,
//! pending and previous keys; re-read once after a mismatch). Then:
//!
//! - Okta's one-time verification (a `GET` with `X-Okta-Verification-Challenge`) is answered
//!   `200 {"verification": "<the header's value>"}`;
//! - a delivery (a `POST` of `{"data": {"events": [LogEvent, …]}}`) has each event put on the
//!   queue as a message of its own, and is answered `200` once every one is there: the guard
//!   works afterwards, and Okta's 3 s are spent on nothing else.
//!
//! A wrong or missing secret is `401`, a body that is not JSON or has no `data.events` list
//! `400` with the reason, the queue unreachable `503` (Okta tries once more; the queue drops the
//! repeat by the events' `uuid`): nothing is queued in any of these cases but the last, partly.
//! It reads only the secret's `API_KEY`s: it never holds NL3's signing key nor Okta credentials.

use std::time::{Duration, Instant};

use nl3_shared::event::{HttpEvent, HttpResponse};
use nl3_shared::header_secret::HeaderSecret;
use nl3_shared::secret_source::SecretSource;
use nl3_shared::secrets::KeysOnly;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::queue::{self, sqs_id, Message};
use crate::settings::{self, Metrics};

/// Okta waits 3 s: the answer must come well before.
const BUDGET: Duration = Duration::from_millis(2500);

/// A delivery's largest body: Okta batches the events of a short while, and Lambda takes a
/// 6 MB request; the inline hook's 256 KiB bound would refuse (and lose) a large batch.
pub const MAX_DELIVERY_BYTES: usize = 5 * 1024 * 1024;

/// The header Okta's verification call carries its challenge in.
const CHALLENGE: &str = "x-okta-verification-challenge";

/// The receiver, built once per container.
pub struct Receiver {
    secrets: SecretSource<KeysOnly>,
    header: HeaderSecret,
    queue: aws_sdk_sqs::Client,
    queue_url: String,
}

/// What one call came to, for its log line and the EMF line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Verified,
    Queued { events: usize },
    Refused,
    BadRequest,
    QueueError { events: usize },
    Misconfigured,
}

impl Receiver {
    pub async fn new(settings: settings::Events) -> Result<Receiver> {
        let secrets = SecretSource::from_settings(settings.secrets, BUDGET, true).await;
        Ok(Receiver {
            secrets,
            header: HeaderSecret::new(settings.header),
            queue: queue::client().await,
            queue_url: settings.queue_url,
        })
    }

    /// One call: the answer, in the event's own shape, and what it came to.
    pub async fn answer(&self, payload: &[u8]) -> (HttpResponse, Outcome) {
        let started = Instant::now();
        let event = HttpEvent::from_slice(payload);
        let answer =
            |status: u16, body: Value| HttpResponse::json(event.kind, status, body.to_string());
        let error = |status: u16, why: &str| answer(status, json!({"error": why}));

        // Authenticated first, exactly as the hook authenticates Okta's inline hook calls.
        let deadline = started + BUDGET;
        let got = self.secrets.get(Some(deadline)).await;
        let secrets = match got.result {
            Ok(secrets) => secrets,
            Err(e) => {
                tracing::error!(error = %e, "the hook secret could not be read: the call cannot be authenticated");
                return (
                    error(503, "the receiver cannot read its secret"),
                    Outcome::QueueError { events: 0 },
                );
            }
        };
        let checked = self
            .header
            .authenticate(&event.headers, secrets, &self.secrets, started)
            .await;
        if let Err(why) = checked.result {
            tracing::warn!(reason = %why, "event hook call refused: not authenticated");
            return (error(401, "not authenticated"), Outcome::Refused);
        }

        if let Some(challenge) = event.headers.get(CHALLENGE) {
            let Ok(challenge) = challenge.to_str() else {
                return (
                    error(400, "the verification challenge is not text"),
                    Outcome::BadRequest,
                );
            };
            tracing::info!("event hook verified: Okta's challenge answered");
            return (
                answer(200, json!({"verification": challenge})),
                Outcome::Verified,
            );
        }

        let events = match delivery(&event) {
            Ok(events) => events,
            Err(why) => {
                tracing::warn!(reason = %why, "event hook call refused: not a delivery");
                return (error(400, &why), Outcome::BadRequest);
            }
        };
        let count = events.len();
        let messages: Vec<Message> = events.iter().map(message).collect();
        // Within the budget: an SQS that hangs (or whose retries run on) would otherwise keep
        // Okta waiting past its 3 s, and the answer, whatever it says, would be a timeout.
        let sent = tokio::time::timeout_at(
            deadline.into(),
            queue::send(&self.queue, &self.queue_url, &messages),
        )
        .await
        .unwrap_or_else(|_| {
            Err(Error::OutOfTime(format!(
                "the queue did not take the events within the receiver's {} ms",
                BUDGET.as_millis()
            )))
        });
        match sent {
            Ok(()) => {
                tracing::info!(
                    events = count,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "events queued"
                );
                (
                    answer(200, json!({"queued": count})),
                    Outcome::Queued { events: count },
                )
            }
            Err(e) => {
                tracing::error!(events = count, error = %e, "events not queued: Okta is answered 503 and delivers once more");
                (
                    error(503, "the events could not be queued"),
                    Outcome::QueueError { events: count },
                )
            }
        }
    }
}

/// The events of a delivery: `data.events`, a list (each item is queued as it is; the guard
/// reads it).
fn delivery(event: &HttpEvent) -> std::result::Result<Vec<Value>, String> {
    let body = event
        .body_up_to(MAX_DELIVERY_BYTES)
        .map_err(|e| e.to_string())?;
    let mut value: Value =
        serde_json::from_slice(&body).map_err(|e| format!("the body is not JSON ({e})"))?;
    match value.get_mut("data").and_then(|d| d.get_mut("events")) {
        Some(Value::Array(events)) => Ok(std::mem::take(events)),
        Some(_) => Err("data.events is not a list".into()),
        None => Err("the body has no data.events: not an event hook delivery".into()),
    }
}

/// One event as a message: its JSON text, its `uuid` to deduplicate by (a digest of its text
/// when it has none), its user (`actor.id`) as the message group.
fn message(event: &Value) -> Message {
    let body = event.to_string();
    let dedup_id = match event["uuid"].as_str() {
        Some(uuid) if !uuid.is_empty() => sqs_id(uuid, "no-uuid"),
        _ => digest(&body),
    };
    Message {
        dedup_id,
        group_id: sqs_id(event["actor"]["id"].as_str().unwrap_or(""), "no-actor"),
        body,
    }
}

/// A hex SHA-256 of `text`: a stable deduplication id for an event without a `uuid`.
fn digest(text: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The call's EMF line, in the hook's namespace and `service` dimension.
pub fn emf(outcome: Outcome, metrics: &Metrics, elapsed_ms: f64) -> String {
    let (received, queued, refused, bad, queue_error) = match outcome {
        Outcome::Verified => (0, 0, 0, 0, 0),
        Outcome::Queued { events } => (events, events, 0, 0, 0),
        Outcome::Refused => (0, 0, 1, 0, 0),
        Outcome::BadRequest => (0, 0, 0, 1, 0),
        Outcome::QueueError { events } => (events, 0, 0, 0, 1),
        Outcome::Misconfigured => (0, 0, 0, 0, 1),
    };
    let mut line = crate::emf::line(
        metrics,
        crate::emf::now_ms(),
        &["service"],
        &[
            ("EventsReceived", "Count", json!(received)),
            ("EventsQueued", "Count", json!(queued)),
            ("ReceiverRefused", "Count", json!(refused)),
            ("ReceiverBadRequest", "Count", json!(bad)),
            ("ReceiverQueueError", "Count", json!(queue_error)),
            ("ReceiverDuration", "Milliseconds", json!(elapsed_ms)),
        ],
    );
    line["Receiver"] = json!("call");
    line.to_string()
}

/// A receiver that could not be built answers every call `503`, counted: Okta tries once more,
/// and the alarm says why nothing is queued.
pub fn misconfigured(payload: &[u8], why: &Error) -> (HttpResponse, Outcome) {
    tracing::error!(error = %why, "the receiver is misconfigured: every call is answered 503");
    let kind = HttpEvent::from_slice(payload).kind;
    (
        HttpResponse::json(
            kind,
            503,
            json!({"error": "the receiver is misconfigured"}).to_string(),
        ),
        Outcome::Misconfigured,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_is_a_message_keyed_by_its_uuid_and_grouped_by_its_user() {
        let m = message(
            &json!({"uuid": "u-1", "actor": {"id": "00u1"}, "eventType": "user.session.start"}),
        );
        assert_eq!((m.dedup_id.as_str(), m.group_id.as_str()), ("u-1", "00u1"));
        let anonymous = message(&json!({"eventType": "user.session.start"}));
        assert_eq!(anonymous.group_id, "no-actor");
        assert_eq!(anonymous.dedup_id.len(), 64);
        assert_eq!(
            anonymous.dedup_id,
            message(&json!({"eventType": "user.session.start"})).dedup_id
        );
    }

    #[test]
    fn a_delivery_is_data_events_a_list() {
        let rest = |body: &str| {
            let payload =
                json!({"httpMethod": "POST", "headers": {}, "body": body, "requestContext": {}});
            HttpEvent::from_slice(payload.to_string().as_bytes())
        };
        assert_eq!(
            delivery(&rest(r#"{"data": {"events": [{"uuid": "a"}]}}"#))
                .unwrap()
                .len(),
            1
        );
        for (body, says) in [
            ("nope", "not JSON"),
            ("{}", "no data.events"),
            (r#"{"data": {"events": {}}}"#, "not a list"),
        ] {
            assert!(delivery(&rest(body)).unwrap_err().contains(says), "{body}");
        }
    }
}

//! The guard's queue (SQS FIFO): the receiver puts each event Okta delivered on it as a message
//! of its own; Lambda's SQS event source hands them to the worker.
//!
//! FIFO, because Okta delivers at least once and retries: the event's `uuid` is the message's
//! deduplication id, so a repeated delivery within SQS's five minutes is dropped by the queue
//! itself; and the user is the message group, so one user's events are handled in order (a
//! containment is never overtaken by the release of an earlier refused sign-in) while different
//! users' go in parallel.

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;

use crate::error::{Error, Result};

/// SQS's limits on one `SendMessageBatch`: ten entries, 256 KiB of bodies in all.
const BATCH_ENTRIES: usize = 10;
const BATCH_BYTES: usize = 256 * 1024;

/// One event to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The event as Okta delivered it (its JSON text).
    pub body: String,
    /// The event's `uuid` (or a digest of its text when it has none).
    pub dedup_id: String,
    /// The user the event is about (`actor.id`), in the characters SQS allows.
    pub group_id: String,
}

/// An id SQS accepts for deduplication or grouping: up to 128 of its allowed characters
/// (alphanumerics and ASCII punctuation); `fallback` when nothing is left.
pub fn sqs_id(raw: &str, fallback: &str) -> String {
    let id: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || c.is_ascii_punctuation())
        .take(128)
        .collect();
    if id.is_empty() {
        fallback.to_string()
    } else {
        id
    }
}

/// An SQS client from the environment (`AWS_ENDPOINT_URL_SQS` points it elsewhere, as in the
/// tests and `make run`).
pub async fn client() -> Client {
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    Client::new(&aws)
}

/// Sends `messages` to the FIFO queue at `url`, in batches within SQS's limits. Every message
/// is on the queue when this returns `Ok`; an error says which were not (the caller answers
/// Okta with a 5xx, and Okta's retry is deduplicated by the queue).
pub async fn send(client: &Client, url: &str, messages: &[Message]) -> Result<()> {
    let mut start = 0;
    while start < messages.len() {
        let mut end = start;
        let mut bytes = 0;
        while end < messages.len()
            && end - start < BATCH_ENTRIES
            && (end == start || bytes + messages[end].body.len() <= BATCH_BYTES)
        {
            bytes += messages[end].body.len();
            end += 1;
        }
        let entries = messages[start..end]
            .iter()
            .enumerate()
            .map(|(i, m)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(&m.body)
                    .message_deduplication_id(&m.dedup_id)
                    .message_group_id(&m.group_id)
                    .build()
                    .map_err(|e| Error::SettingFrom {
                        what: "building an SQS message".into(),
                        source: Box::new(e),
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        let what = format!(
            "sending {} event(s) to the queue (SendMessageBatch)",
            end - start
        );
        let answer = client
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| Error::Queue {
                what: what.clone(),
                detail: DisplayErrorContext(&e).to_string(),
                source: Box::new(e),
            })?;
        if !answer.failed().is_empty() {
            let failed: Vec<String> = answer
                .failed()
                .iter()
                .map(|f| format!("{} ({})", f.code(), f.message().unwrap_or("")))
                .collect();
            return Err(Error::QueueRefused(format!(
                "{what}: SQS refused {} of them: {}",
                failed.len(),
                failed.join("; ")
            )));
        }
        start = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_what_sqs_allows() {
        assert_eq!(sqs_id("00u1a2b3c4", "x"), "00u1a2b3c4");
        assert_eq!(sqs_id("a b\u{e9}c", "x"), "abc");
        assert_eq!(sqs_id("", "no-actor"), "no-actor");
        assert_eq!(sqs_id(&"z".repeat(300), "x").len(), 128);
    }
}

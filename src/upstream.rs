//! What the three HTTP clients (NL3, ipinfo, the OAuth issuer's JWKS) share: reading a bounded
//! answer body, and describing a transport error with its causes.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lets something happen at most once per interval (a forced secret refresh, a JWKS refetch for
/// an unknown `kid`), so callers cannot turn bad requests into a flood of upstream calls.
pub struct AtMostEvery {
    interval: Duration,
    last: Mutex<Option<Instant>>,
}

impl AtMostEvery {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: Mutex::new(None),
        }
    }

    /// True, and the clock restarts, when the last time was at least `interval` ago.
    pub fn try_now(&self) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|at| at.elapsed() < self.interval) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

/// Why an answer body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    Read(String),
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

/// reqwest's error with its causes (timeout, connection refused …). URLs here carry no secret:
/// the ipinfo token travels in a header.
pub fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

//! `nl3-okta-guard`: one batch of the queue's messages per invocation, as Lambda's SQS event
//! source hands them. Each message is one System Log event; each is read, judged and acted on
//! by the guard ([`crate::guard`]). Messages that must be tried again are reported as
//! `batchItemFailures`, so only they come back (after the queue's visibility timeout; after the
//! last receive, to the dead-letter queue). One user's messages are handled in order (FIFO):
//! after one of them fails, that user's later messages in the batch are handed back too.
//! Different users' go in parallel, a bounded number at a time.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

use nl3_shared::ask::check_request;
use nl3_shared::check::{IntegrationType, LockStatus, Nl3Client};
use nl3_shared::geo::IpinfoClient;
use nl3_shared::secret_source::SecretSource;
use nl3_shared::secrets::{HookSecrets, ResolvedApp};
use nl3_shared::settings::Mode;

use crate::error::{Error, Result};
use crate::guard::{classify, Checked, Done, Guard, Ignored, LockCheck, SignIn};
use crate::model::LogEvent;
use crate::settings::{self, Metrics};

/// How the guard names itself to NL3 and ipinfo.
const USER_AGENT: &str = concat!("nl3-okta-guard/", env!("CARGO_PKG_VERSION"));

/// NL3, ipinfo and the hook secret, asked exactly as the hook asks them: the app's `APPS` entry
/// (or the default app), its effective `MODE`, the location, the same request.
pub struct Nl3Check {
    nl3: Nl3Client,
    geo: IpinfoClient,
    secrets: SecretSource<HookSecrets>,
    mode: Mode,
    timeout: Duration,
}

impl Nl3Check {
    pub async fn new(settings: settings::Guard) -> Result<Nl3Check> {
        // The guard never needs API_KEY: it is not called by Okta.
        let secrets =
            SecretSource::from_settings(settings.secrets, settings.check_timeout, false).await;
        let http =
            nl3_shared::http_client::build(settings.check_timeout, USER_AGENT).map_err(|e| {
                Error::SettingFrom {
                    what: "cannot build the HTTP client".into(),
                    source: Box::new(e),
                }
            })?;
        Ok(Nl3Check {
            nl3: Nl3Client::new(http.clone(), settings.nl3),
            geo: IpinfoClient::new(http, settings.ipinfo),
            secrets,
            mode: settings.mode,
            timeout: settings.check_timeout,
        })
    }
}

impl LockCheck for Nl3Check {
    async fn check(&self, sign_in: &SignIn) -> std::result::Result<Option<Checked>, String> {
        let deadline = Instant::now() + self.timeout;
        let secrets = self
            .secrets
            .get(Some(deadline))
            .await
            .result
            .map_err(|e| format!("the hook secret could not be read: {e}"))?;
        let key = sign_in.app.as_deref();
        let app = secrets.resolve_app(key.as_slice(), self.nl3.default_issuer());
        let (issuer, signing_key) = match (app, app.nl3()) {
            (_, Some(nl3)) => nl3,
            (ResolvedApp::Unusable { entry, .. }, None) => {
                return Err(format!("the APPS entry cannot be used: {}", entry.why))
            }
            (ResolvedApp::DefaultUnusable { why }, None) => {
                return Err(format!("the default app cannot be used: {why}"))
            }
            _ => return Ok(None),
        };
        let location = match self
            .geo
            .locate_client(&sign_in.ip, secrets.ipinfo_token(), deadline)
            .await
        {
            Some(Ok((location, _))) => Some(location),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "no location from ipinfo; the check goes on without it");
                None
            }
            None => None,
        };
        let integration = if sign_in.saml {
            IntegrationType::OktaSaml
        } else {
            IntegrationType::OktaOidc
        };
        let request = check_request(
            &sign_in.login,
            integration,
            &sign_in.ip,
            location.as_deref(),
            sign_in.user_agent.as_deref(),
        );
        let status = tokio::time::timeout_at(
            deadline.into(),
            self.nl3.check(&request, issuer, signing_key),
        )
        .await
        .map_err(|_| "NL3 did not answer within GUARD_CHECK_TIMEOUT_MS".to_string())?
        .map_err(|e| e.to_string())?;
        Ok(Some(Checked {
            locked: status == LockStatus::Locked,
            report: app.mode(self.mode) == Mode::Report,
        }))
    }
}

/// How many users' events are handled at once: the checks run in parallel, bounded (the
/// function's reserved concurrency bounds it across invocations).
pub const PARALLEL: usize = 10;

/// What one batch did, for the EMF line and the function's answer.
#[derive(Debug, Default)]
pub struct Tally {
    pub counts: HashMap<&'static str, u64>,
    /// Milliseconds from each contained event's `published` to its containment.
    pub contain_ms: Vec<f64>,
}

impl Tally {
    fn add(&mut self, name: &'static str) {
        *self.counts.entry(name).or_default() += 1;
    }
}

/// One message's fate.
enum Fate {
    Done(Done, Option<f64>),
    Ignored(Ignored),
    /// Back on the queue (why was logged).
    Retry,
}

/// The SQS event's records, read from any JSON: a payload that is not an SQS event has none
/// (logged: nothing is lost, as nothing was handed over).
pub fn records(payload: Value) -> Vec<SqsMessage> {
    match serde_json::from_value::<SqsEvent>(payload) {
        Ok(event) => event.records,
        Err(e) => {
            tracing::error!(error = %e, "the payload is not an SQS event: nothing to handle");
            vec![]
        }
    }
}

/// Handles one batch: the messages that must come back, and what was done.
pub async fn handle(
    records: Vec<SqsMessage>,
    guard: &Guard<'_>,
    nl3: &impl LockCheck,
) -> (SqsBatchResponse, Tally) {
    // One user's messages in their order (the FIFO group, else the event's actor).
    let mut groups: Vec<(String, Vec<SqsMessage>)> = Vec::new();
    for record in records {
        let group = record
            .attributes
            .get("MessageGroupId")
            .cloned()
            .unwrap_or_default();
        match groups
            .iter_mut()
            .find(|(g, _)| *g == group && !group.is_empty())
        {
            Some((_, messages)) => messages.push(record),
            None => groups.push((group, vec![record])),
        }
    }
    let results: Vec<Vec<(String, Fate)>> = stream::iter(groups)
        .map(|(_, messages)| async move {
            let mut out = Vec::new();
            let mut failed = false;
            for message in messages {
                let id = message.message_id.clone().unwrap_or_default();
                let fate = if failed {
                    tracing::warn!(message_id = %id,
                        "an earlier event of the same user must be tried again first: back on the queue");
                    Fate::Retry
                } else {
                    one(&message, guard, nl3).await
                };
                failed |= matches!(fate, Fate::Retry);
                out.push((id, fate));
            }
            out
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    let mut tally = Tally::default();
    for (id, fate) in results.into_iter().flatten() {
        match fate {
            Fate::Done(done, ms) => {
                tally.add(metric(&done));
                tally.contain_ms.extend(ms);
            }
            Fate::Ignored(Ignored::Unreadable(_)) => tally.add("GuardUnreadable"),
            Fate::Ignored(Ignored::NotOurs(_)) => tally.add("GuardSkipped"),
            Fate::Retry => {
                tally.add("GuardError");
                response.add_failure(id);
            }
        }
    }
    (response, tally)
}

/// The metric each outcome counts in.
fn metric(done: &Done) -> &'static str {
    match done {
        Done::Contained => "Contained",
        Done::WouldContain => "WouldContain",
        Done::Released => "Released",
        Done::WouldRelease => "WouldRelease",
        Done::NotLocked => "NotLocked",
        Done::StillLocked => "StillLocked",
        Done::NotQuarantined | Done::Repeated | Done::UserGone | Done::NotEnrolled => {
            "GuardSkipped"
        }
    }
}

/// One message: read, judged, acted on, logged.
async fn one(message: &SqsMessage, guard: &Guard<'_>, nl3: &impl LockCheck) -> Fate {
    let id = message.message_id.as_deref().unwrap_or("");
    let event: LogEvent = match message.body.as_deref().map(serde_json::from_str::<Value>) {
        Some(Ok(value @ Value::Object(_))) => serde_json::from_value(value).unwrap_or_default(),
        _ => {
            let why = "the message is not a System Log event (not a JSON object)";
            tracing::error!(
                message_id = id,
                why,
                "event unreadable: dropped, not retried"
            );
            return Fate::Ignored(Ignored::Unreadable(why.into()));
        }
    };
    let work = match classify(&event, guard.quarantine.is_some()) {
        Ok(work) => work,
        Err(Ignored::Unreadable(why)) => {
            tracing::error!(message_id = id, uuid = %event.uuid, event_type = %event.event_type, why = %why,
                "event unreadable: dropped, not retried");
            return Fate::Ignored(Ignored::Unreadable(why));
        }
        Err(Ignored::NotOurs(why)) => {
            tracing::info!(uuid = %event.uuid, event_type = %event.event_type, why = %why, "event skipped");
            return Fate::Ignored(Ignored::NotOurs(why));
        }
    };
    let sign_in = work.sign_in();
    if sign_in.ip.is_empty() {
        tracing::warn!(uuid = %sign_in.uuid, user_id = %sign_in.user_id,
            "the event has no client IP: checked without a location");
    }
    match guard.handle(&work, nl3).await {
        Ok(done) => {
            let since_ms = sign_in.published.and_then(|p| {
                SystemTime::now()
                    .duration_since(p)
                    .ok()
                    .map(|d| d.as_secs_f64() * 1000.0)
            });
            let contained = matches!(done, Done::Contained);
            if contained || matches!(done, Done::WouldContain | Done::Released) {
                tracing::warn!(
                    outcome = done.name(), uuid = %sign_in.uuid, event_type = %sign_in.event_type,
                    user_id = %sign_in.user_id, app = sign_in.app.as_deref().unwrap_or("okta"),
                    since_published_ms = since_ms.unwrap_or(-1.0),
                    "guard acted"
                );
            } else {
                tracing::info!(
                    outcome = done.name(), uuid = %sign_in.uuid, event_type = %sign_in.event_type,
                    user_id = %sign_in.user_id, app = sign_in.app.as_deref().unwrap_or("okta"),
                    "guard checked"
                );
            }
            Fate::Done(done, since_ms.filter(|_| contained))
        }
        Err(retry) => {
            tracing::error!(uuid = %sign_in.uuid, event_type = %sign_in.event_type,
                user_id = %sign_in.user_id, error = %retry,
                "event not handled: back on the queue (dead-letter queue after the last receive)");
            Fate::Retry
        }
    }
}

/// The batch's EMF line: every count (zeros included: the batch was counted whole) and the
/// time from `published` to containment.
pub fn emf(tally: &Tally, metrics: &Metrics, received: usize) -> String {
    const NAMES: &[&str] = &[
        "Contained",
        "WouldContain",
        "Released",
        "WouldRelease",
        "NotLocked",
        "StillLocked",
        "GuardSkipped",
        "GuardUnreadable",
        "GuardError",
    ];
    let mut values: Vec<(&str, &str, Value)> = NAMES
        .iter()
        .map(|name| {
            let count = tally.counts.get(name).copied().unwrap_or(0);
            (*name, "Count", json!(count))
        })
        .collect();
    values.push(("GuardEvents", "Count", json!(received)));
    if !tally.contain_ms.is_empty() {
        values.push(("ContainLatency", "Milliseconds", json!(tally.contain_ms)));
    }
    let mut line = crate::emf::line(metrics, crate::emf::now_ms(), &["service"], &values);
    line["Guard"] = json!("batch");
    line.to_string()
}

/// How long one Okta call may wait out a rate limit inside the worker's invocation (60 s).
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(20);

/// The worker, built once per container: NL3's check, the Okta client (its credentials read
/// from `OKTA_SECRET_ID` once), what it remembers across invocations. A part that could not be
/// built fails every batch (its messages come back, and end in the dead-letter queue, alarmed)
/// until the container is replaced.
pub struct Worker {
    pub check: Result<Nl3Check>,
    pub okta: Result<crate::okta::OktaClient>,
    pub quarantine: Option<String>,
    pub metrics: Metrics,
    pub memory: crate::guard::Memory,
}

impl Worker {
    pub async fn new(
        guard: Result<settings::Guard>,
        okta: Result<settings::FunctionOkta>,
        metrics: Metrics,
        secrets: &aws_sdk_secretsmanager::Client,
    ) -> Worker {
        let quarantine = guard.as_ref().ok().and_then(|g| g.quarantine_group.clone());
        let check = match guard {
            Ok(g) => Nl3Check::new(g).await,
            Err(e) => Err(e),
        };
        let okta = match okta {
            Ok(o) => super::okta_client(&o, secrets, crate::guard::SCOPES, RATE_LIMIT_WAIT).await,
            Err(e) => Err(e),
        };
        for e in [check.as_ref().err(), okta.as_ref().err()]
            .into_iter()
            .flatten()
        {
            tracing::error!(error = %e, "the guard is misconfigured: every batch comes back");
        }
        Worker {
            check,
            okta,
            quarantine,
            metrics,
            memory: crate::guard::Memory::default(),
        }
    }

    /// One invocation: the batch handled, its EMF line written, the messages to hand back.
    pub async fn invoke(&self, payload: Value) -> SqsBatchResponse {
        let records = records(payload);
        let received = records.len();
        let (response, tally) = match (&self.check, &self.okta) {
            (Ok(check), Ok(okta)) => {
                let guard = Guard::new(okta, self.quarantine.clone(), &self.memory);
                handle(records, &guard, check).await
            }
            _ => {
                // Misconfigured: nothing is decided; every message comes back.
                let mut response = SqsBatchResponse::default();
                let mut tally = Tally::default();
                for r in &records {
                    response.add_failure(r.message_id.clone().unwrap_or_default());
                    tally.add("GuardError");
                }
                (response, tally)
            }
        };
        println!("{}", emf(&tally, &self.metrics, received));
        response
    }
}

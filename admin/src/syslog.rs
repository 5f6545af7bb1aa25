//! Okta's System Log (`GET /api/v1/logs`): the hook calls Okta could not complete. Most of them
//! never reach the function (a timeout, a refused connection, an answer Okta could not use), so
//! only Okta's log knows them.
//!
//! The rule, from what Okta documents:
//! - Okta's event types catalog: `inline_hook.executed` "is fired when the execution is
//!   unsuccessful"; `inline_hook.response.processed` is fired "after Okta has finished
//!   processing response from an inline hook ... even when the processing is unsuccessful".
//!   The token hook reference (Troubleshoot) says a communication failure (timeout), a status
//!   other than 200, or a command Okta cannot apply each skip the hook ("the token is generated
//!   without any modification"), and that administrators see these in the System Log.
//! - `LogEvent.outcome.result` (Okta's OpenAPI document: SUCCESS, FAILURE, SKIPPED, ALLOW, DENY,
//!   CHALLENGE, UNKNOWN, RATE_LIMIT, DEFERRED, SCHEDULED, ABANDONED, UNANSWERED) says how it went;
//!   `outcome.reason` why. `target` holds the hook as the entry of `type` `InlineHook` (the
//!   document: search targets by type, not position).
//!
//! - `event_hook.delivery` is "triggered when an event hook delivery fails": the after-sign-in
//!   guard's event hook, as the entry of `type` `EventHook`, when it is watched.
//!
//! So: an event of one of those types is a failed call when its `outcome.result` is anything
//! but `SUCCESS`; it is NL3's when its hook target's `id` is one of NL3's hooks. An entry that
//! cannot be read that way (no `uuid`, no `outcome.result`, no hook target, another event type
//! than asked for) is counted as a failure of unknown reason, never dropped: it might be one.

use std::collections::{HashMap, HashSet};
use std::time::{Instant, SystemTime};

use serde::Serialize;
use serde_json::Value;

use crate::error::Result;
use crate::model::{okta_time, EventHook, InlineHook, SAML_HOOK, TOKEN_HOOK};
use crate::okta::OktaClient;
use crate::settings::LogBounds;

/// The event types that record an inline hook call Okta could not complete.
pub const HOOK_CALL_EVENTS: [&str; 2] = ["inline_hook.executed", "inline_hook.response.processed"];
/// The event type of an event hook delivery Okta could not make.
pub const EVENT_HOOK_DELIVERY: &str = "event_hook.delivery";

/// NL3's hooks by id, as the log names them: name and `HookType` (`token`, `saml`, `events`).
#[derive(Debug, Clone, Default)]
pub struct Ours(HashMap<String, (String, &'static str)>);

impl Ours {
    /// The inline hooks and event hooks given (those calling NL3's URLs).
    pub fn of<'a>(
        inline: impl IntoIterator<Item = &'a InlineHook>,
        events: impl IntoIterator<Item = &'a EventHook>,
    ) -> Ours {
        let mut ours = HashMap::new();
        for h in inline {
            ours.insert(h.id.clone(), (h.name.clone(), hook_type(&h.kind)));
        }
        for h in events {
            ours.insert(h.id.clone(), (h.name.clone(), "events"));
        }
        Ours(ours)
    }

    /// Any event hook among them (its failed deliveries are then read too).
    pub fn has_event_hook(&self) -> bool {
        self.0.values().any(|(_, t)| *t == "events")
    }
}

/// Okta's largest page of System Log events.
const PAGE_LIMIT: &str = "1000";

/// The part of the log to read: `since` (inclusive) to `until`, by `published`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub since: SystemTime,
    pub until: SystemTime,
}

/// What one read of the window gave.
#[derive(Debug, Default)]
pub struct Read {
    pub events: Vec<Value>,
    pub pages: usize,
    /// Set when paging stopped at a bound before the last page: says which bound.
    pub truncated: Option<String>,
}

/// `GET /api/v1/logs?since=…&until=…&filter=<the hook call event types, not SUCCESS>`, then each
/// `rel="next"` page, until the last page or a bound; `event_hook.delivery` too when
/// `deliveries`.
pub async fn read(
    client: &OktaClient,
    window: Window,
    bounds: LogBounds,
    deliveries: bool,
) -> Result<Read> {
    let types = HOOK_CALL_EVENTS
        .iter()
        .chain(deliveries.then_some(&EVENT_HOOK_DELIVERY))
        .map(|t| format!("eventType eq \"{t}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    // Only the unsuccessful outcomes: a large org's successful calls would fill the page bound
    // (and leave the window unread) with entries that are never counted. An entry with no
    // `outcome.result` is not SUCCESS either: it still comes, counted as malformed.
    let filter = format!("({types}) and outcome.result ne \"SUCCESS\"");
    let query = [
        ("since", okta_time(window.since)),
        ("until", okta_time(window.until)),
        ("filter", filter),
        ("limit", PAGE_LIMIT.to_string()),
        ("sortOrder", "ASCENDING".to_string()),
    ];
    let what = "reading Okta's System Log (GET /api/v1/logs)";
    let started = Instant::now();
    let mut pages = client.pages(client.url(&["api", "v1", "logs"]), &query, what);
    let mut out = Read::default();
    while let Some(page) = pages.next_page().await? {
        out.pages = pages.read;
        out.events.extend(page);
        if !pages.has_next() {
            break;
        }
        // Okta sends a next link while a bounded query may have more; an empty page ends it.
        if out.pages >= bounds.max_pages {
            out.truncated = Some(format!(
                "stopped after {} page(s) (the bound, SENTINEL_MAX_LOG_PAGES): the rest of the window is unread",
                out.pages
            ));
            break;
        }
        if started.elapsed() >= bounds.max_time {
            out.truncated = Some(format!(
                "stopped after {} page(s) and {:.1} s (the bound, SENTINEL_MAX_LOG_SECS): the rest of the window is unread",
                out.pages,
                started.elapsed().as_secs_f64()
            ));
            break;
        }
    }
    Ok(out)
}

/// One hook call Okta could not complete (or an entry that could not be read, `malformed`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub uuid: String,
    /// `published`, as Okta wrote it.
    pub time: String,
    pub event_type: String,
    pub hook_id: String,
    pub hook_name: String,
    /// `token`, `saml` or `unknown`: the `HookType` dimension, as the hook names it.
    pub hook_type: &'static str,
    /// `outcome.result`.
    pub outcome: String,
    /// `outcome.reason` (or why the entry could not be read).
    pub reason: String,
    pub malformed: bool,
}

/// The failed calls of NL3's hooks (`ours`, by id) among `events`, each `uuid` once; entries
/// without a `uuid` are told apart by their text.
pub fn failures(events: &[Value], ours: &Ours) -> Vec<Failure> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for event in events {
        let key = match event["uuid"].as_str() {
            Some(uuid) if !uuid.is_empty() => uuid.to_string(),
            _ => event.to_string(),
        };
        if !seen.insert(key) {
            continue;
        }
        if let Some(failure) = judge(event, ours) {
            out.push(failure);
        }
    }
    out
}

/// One entry: a failure of an NL3 hook, a malformed entry, or `None` (a success, or another
/// team's hook).
fn judge(event: &Value, ours: &Ours) -> Option<Failure> {
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let uuid = text(&event["uuid"]);
    let event_type = text(&event["eventType"]);
    let target_type = if event_type == EVENT_HOOK_DELIVERY {
        "EventHook"
    } else {
        "InlineHook"
    };
    let hook = event["target"].as_array().and_then(|targets| {
        targets
            .iter()
            .find(|t| t["type"].as_str() == Some(target_type))
    });
    let result = event["outcome"]["result"].as_str();
    let malformed = |why: &str| Failure {
        uuid: if uuid.is_empty() {
            "(no uuid)".into()
        } else {
            uuid.clone()
        },
        time: text(&event["published"]),
        event_type: event_type.clone(),
        hook_id: hook.map(|h| text(&h["id"])).unwrap_or_default(),
        hook_name: hook.map(|h| text(&h["displayName"])).unwrap_or_default(),
        hook_type: "unknown",
        outcome: result.unwrap_or("UNKNOWN").to_string(),
        reason: format!("unknown: {why}"),
        malformed: true,
    };
    if !event.is_object() {
        return Some(malformed("the entry is not a JSON object"));
    }
    // Another team's hook is not ours to count, however the rest of its entry reads.
    let hook_id = hook
        .and_then(|h| h["id"].as_str())
        .filter(|id| !id.is_empty());
    if hook_id.is_some_and(|id| !ours.0.contains_key(id)) {
        return None;
    }
    if uuid.is_empty() {
        return Some(malformed("the entry has no uuid"));
    }
    let asked = HOOK_CALL_EVENTS.contains(&event_type.as_str())
        || (event_type == EVENT_HOOK_DELIVERY && ours.has_event_hook());
    if !asked {
        return Some(malformed(&format!(
            "event type {event_type:?} is not one asked for"
        )));
    }
    let Some(result) = result else {
        return Some(malformed("the entry has no outcome.result"));
    };
    let Some(hook_id) = hook_id else {
        return Some(malformed(&format!(
            "the entry names no {target_type} target with an id"
        )));
    };
    if result == "SUCCESS" {
        return None;
    }
    let (name, kind) = ours.0.get(hook_id)?;
    Some(Failure {
        uuid,
        time: text(&event["published"]),
        event_type,
        hook_id: hook_id.to_string(),
        hook_name: name.clone(),
        hook_type: kind,
        outcome: result.to_string(),
        reason: event["outcome"]["reason"]
            .as_str()
            .filter(|r| !r.is_empty())
            .unwrap_or("(Okta gave no reason)")
            .to_string(),
        malformed: false,
    })
}

/// The hook's own names for its types (its `HookType` dimension).
pub fn hook_type(kind: &str) -> &'static str {
    match kind {
        TOKEN_HOOK => "token",
        SAML_HOOK => "saml",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ours() -> Ours {
        let hook: InlineHook =
            serde_json::from_value(json!({"id": "calNL3", "name": "NL3 (token)",
            "type": TOKEN_HOOK, "status": "ACTIVE", "channel": {"config": {"uri": "https://h"}}}))
            .unwrap();
        Ours::of([&hook], [])
    }

    #[test]
    fn failed_deliveries_to_the_guards_event_hook_are_counted_when_it_is_watched() {
        let events_hook: EventHook =
            serde_json::from_value(json!({"id": "whoNL3", "name": "NL3 guard"})).unwrap();
        let delivery = |uuid: &str, hook: &str| {
            json!({"uuid": uuid, "eventType": EVENT_HOOK_DELIVERY,
            "published": "2026-12-01T20:00:00.000Z", "outcome": {"result": "FAILURE", "reason": "Read timed out"},
            "target": [{"type": "EventHook", "id": hook, "displayName": "x"}]})
        };
        let events = [delivery("d1", "whoNL3"), delivery("d2", "whoOTHER")];
        let watched = Ours::of([], [&events_hook]);
        let found = failures(&events, &watched);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].hook_type, found[0].hook_name.as_str()),
            ("events", "NL3 guard")
        );
        // Without the guard's event hook among ours, a delivery's hook is another team's.
        assert!(failures(&events[..1], &ours()).is_empty());
    }

    fn event(uuid: &str, kind: &str, result: &str, hook: &str) -> Value {
        json!({"uuid": uuid, "eventType": kind, "published": "2026-12-01T20:00:00.000Z",
            "outcome": {"result": result, "reason": "Timeout"},
            "target": [{"type": "AppInstance", "id": "0oa1"}, {"type": "InlineHook", "id": hook, "displayName": "x"}]})
    }

    #[test]
    fn keeps_nl3_failures_once_and_counts_unreadable_entries() {
        let events = vec![
            event("u1", "inline_hook.executed", "FAILURE", "calNL3"),
            event("u1", "inline_hook.executed", "FAILURE", "calNL3"),
            event("u2", "inline_hook.response.processed", "SUCCESS", "calNL3"),
            event(
                "u3",
                "inline_hook.response.processed",
                "FAILURE",
                "calOTHER",
            ),
            event("u4", "inline_hook.response.processed", "SKIPPED", "calNL3"),
            json!({"uuid": "u5", "eventType": "inline_hook.executed"}),
            json!({"uuid": "u7", "eventType": "inline_hook.executed",
                   "target": [{"type": "InlineHook", "id": "calOTHER"}]}),
            json!("not an object"),
            event("u6", "user.session.start", "SUCCESS", "calNL3"),
        ];
        let found = failures(&events, &ours());
        let summary: Vec<(&str, &str, bool)> = found
            .iter()
            .map(|f| (f.uuid.as_str(), f.outcome.as_str(), f.malformed))
            .collect();
        assert_eq!(
            summary,
            [
                ("u1", "FAILURE", false),
                ("u4", "SKIPPED", false),
                ("u5", "UNKNOWN", true),
                ("(no uuid)", "UNKNOWN", true),
                ("u6", "SUCCESS", true),
            ]
        );
        assert_eq!(found[0].hook_type, "token");
        assert_eq!(found[0].hook_name, "NL3 (token)");
        assert_eq!(found[0].reason, "Timeout");
        assert!(found[2].reason.starts_with("unknown: "), "{:?}", found[2]);
    }
}

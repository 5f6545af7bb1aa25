//! The after-sign-in guard: for each System Log event Okta delivered through the event hook, ask
//! NL3 whether the user is locked and, when they are, contain them through Okta's Management API
//! (end their Okta sessions and revoke their tokens; hold them in the quarantine group that a
//! sign-on policy denies). A sign-in Okta refused for a quarantined user who is no longer locked
//! releases them. NL3 is asked by the caller's [`LockCheck`] (the same check as the hook's); what
//! is decided is data ([`Done`], [`Retry`]).
//!
//! Okta delivers at least once and may retry: an event's `uuid` is handled once per container
//! (the FIFO queue's deduplication covers its five minutes across containers), and containing is
//! idempotent in Okta. A short per-user memory of NL3's answers makes a burst of one user's
//! events one NL3 call; a failure is never remembered (each retry asks NL3 again).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use crate::error::Error;
use crate::model::{parse_time, LogEvent};
use crate::okta::OktaClient;
use crate::org;

/// The event types the guard acts on (what `setup --events` subscribes the event hook to).
pub const EVENT_TYPES: &[&str] = &["user.session.start", "user.authentication.sso"];

/// OAuth 2.0 scopes of the guard: ending sessions, quarantine membership, reading a user's groups.
pub const SCOPES: &[&str] = &["okta.users.manage", "okta.groups.manage", "okta.users.read"];

/// How long NL3's answer for a user (and app) is reused: a burst of one user's events (an Okta
/// sign-in and the SSO into each app behind it) makes one NL3 call.
pub const MEMORY: Duration = Duration::from_secs(10);

/// A sign-in the event tells of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    pub uuid: String,
    pub event_type: String,
    /// `published`, when it reads: the time from it to containment is reported.
    pub published: Option<SystemTime>,
    /// `actor.id` (the Okta user id the Management API takes).
    pub user_id: String,
    /// `actor.alternateId`: the login NL3 checks.
    pub login: String,
    /// `client.ipAddress` ("" when Okta gave none).
    pub ip: String,
    /// The `AppInstance` target's id (OIDC client ID or SAML app ID, as `APPS` keys them); none
    /// for a sign-in to Okta itself.
    pub app: Option<String>,
    /// The app signs in with SAML (the target's `detailEntry.signOnModeType`).
    pub saml: bool,
    /// `client.userAgent.rawUserAgent`, NL3's `userDevice`.
    pub user_agent: Option<String>,
}

/// What an event asks of the guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    /// A successful sign-in: check; contain when locked.
    SignIn(SignIn),
    /// A sign-in Okta refused: if the user is in the quarantine group, check; release when no
    /// longer locked.
    Refused(SignIn),
}

impl Work {
    /// The sign-in either way.
    pub fn sign_in(&self) -> &SignIn {
        match self {
            Work::SignIn(s) | Work::Refused(s) => s,
        }
    }
}

/// An event the guard does nothing with, and why (logged; counted when unreadable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    /// Another event type, or a failed sign-in with no quarantine to release from.
    NotOurs(String),
    /// The event cannot be acted on (no user): logged and counted, never retried.
    Unreadable(String),
}

/// Reads one event: what to do with it.
pub fn classify(event: &LogEvent, quarantine: bool) -> Result<Work, Ignored> {
    if !EVENT_TYPES.contains(&event.event_type.as_str()) {
        return Err(Ignored::NotOurs(format!(
            "event type {:?} is not one the guard acts on",
            event.event_type
        )));
    }
    if !event.succeeded() && !quarantine {
        return Err(Ignored::NotOurs(format!(
            "a sign-in Okta refused ({}), and no QUARANTINE_GROUP_ID to release from",
            event.outcome.result
        )));
    }
    if event.uuid.is_empty() {
        return Err(Ignored::Unreadable("the event has no uuid".into()));
    }
    let actor = &event.actor;
    if actor.id.is_empty() || actor.alternate_id.is_empty() {
        return Err(Ignored::Unreadable(
            "the event has no actor with an id and a login (alternateId)".into(),
        ));
    }
    if !actor.kind.is_empty() && actor.kind != "User" {
        return Err(Ignored::Unreadable(format!(
            "the event's actor is a {:?}, not a User",
            actor.kind
        )));
    }
    let app = event.target("AppInstance");
    let sign_in = SignIn {
        uuid: event.uuid.clone(),
        event_type: event.event_type.clone(),
        published: parse_time(&event.published),
        user_id: actor.id.clone(),
        login: actor.alternate_id.clone(),
        ip: event.client.ip_address.clone(),
        app: app.map(|t| t.id.clone()),
        saml: app
            .and_then(|t| t.detail_entry.as_ref())
            .and_then(|d| d.get("signOnModeType"))
            .and_then(|m| m.as_str())
            .is_some_and(|m| m.starts_with("SAML")),
        user_agent: Some(event.client.user_agent.raw_user_agent.clone()).filter(|u| !u.is_empty()),
    };
    Ok(if event.succeeded() {
        Work::SignIn(sign_in)
    } else {
        Work::Refused(sign_in)
    })
}

/// NL3's answer for one sign-in, as the hook would have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub locked: bool,
    /// `MODE=report` (global or the app's entry): nothing is changed in Okta.
    pub report: bool,
}

/// Asks NL3 whether the user of a sign-in is locked, exactly as the hook does (the app's
/// settings from `APPS`, location from ipinfo). `None`: no NL3 application answers for this
/// sign-in (no `APPS` entry and no default app), so it is not checked. An error means the check
/// did not happen: the event is retried, never decided on a guess.
#[allow(async_fn_in_trait)]
pub trait LockCheck {
    async fn check(&self, sign_in: &SignIn) -> Result<Option<Checked>, String>;
}

/// What the guard did with an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    /// Locked, enforce: sessions ended, tokens revoked (and quarantined when a group is set).
    Contained,
    /// Locked, report mode: nothing changed in Okta.
    WouldContain,
    /// A quarantined user no longer locked: out of the quarantine group.
    Released,
    /// Report mode: the release that enforce mode would make.
    WouldRelease,
    /// Not locked: nothing to do.
    NotLocked,
    /// Refused and still locked: stays quarantined.
    StillLocked,
    /// Refused for a reason of its own: not in the quarantine group, NL3 not asked.
    NotQuarantined,
    /// Okta no longer knows the user (deleted): nothing to contain.
    UserGone,
    /// No NL3 application answers for the sign-in's app (no `APPS` entry, no default).
    NotEnrolled,
    /// Seen already (a repeated delivery): nothing more.
    Repeated,
}

impl Done {
    pub fn name(&self) -> &'static str {
        match self {
            Done::Contained => "contained",
            Done::WouldContain => "would_contain",
            Done::Released => "released",
            Done::WouldRelease => "would_release",
            Done::NotLocked => "not_locked",
            Done::StillLocked => "still_locked",
            Done::NotQuarantined => "not_quarantined",
            Done::UserGone => "user_gone",
            Done::NotEnrolled => "not_enrolled",
            Done::Repeated => "repeated",
        }
    }
}

/// Why an event must be tried again (back on the queue; after its last receive, the dead-letter
/// queue).
#[derive(Debug)]
pub enum Retry {
    /// NL3 could not be asked.
    Check(String),
    /// Okta refused or failed a call (a 429 beyond the wait, a 5xx, credentials).
    Okta(Error),
}

impl std::fmt::Display for Retry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Retry::Check(why) => write!(f, "NL3 could not be asked: {why}"),
            Retry::Okta(e) => write!(f, "{e}"),
        }
    }
}

/// The guard: Okta, the quarantine group, and what it remembers.
pub struct Guard<'a> {
    pub okta: &'a OktaClient,
    /// `QUARANTINE_GROUP_ID`.
    pub quarantine: Option<String>,
    memory: &'a Memory,
}

/// A user's login and the app they signed in to: what NL3's answer is remembered by.
type UserApp = (String, Option<String>);

/// What a warm container remembers: event ids handled, and NL3's recent answers by user and app.
#[derive(Default)]
pub struct Memory {
    seen: Mutex<HashMap<String, Instant>>,
    answers: Mutex<HashMap<UserApp, (Checked, Instant)>>,
}

/// Bound on what is remembered, so a flood of distinct events cannot grow memory without limit.
const MAX_REMEMBERED: usize = 10_000;
/// How long an event id is remembered (Okta retries within seconds; the queue dedups for 5 min).
const SEEN_FOR: Duration = Duration::from_secs(600);

impl Memory {
    /// Marks `uuid` handled; false when it was already.
    fn first_time(&self, uuid: &str) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return true;
        };
        let now = Instant::now();
        if seen.len() >= MAX_REMEMBERED {
            seen.retain(|_, at| now.duration_since(*at) < SEEN_FOR);
        }
        match seen.get(uuid) {
            Some(at) if now.duration_since(*at) < SEEN_FOR => false,
            _ => {
                seen.insert(uuid.to_string(), now);
                true
            }
        }
    }

    /// Forgets `uuid`, so a retried delivery of an event that failed is handled again.
    fn forget(&self, uuid: &str) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.remove(uuid);
        }
    }

    fn answer(&self, sign_in: &SignIn) -> Option<Checked> {
        let answers = self.answers.lock().ok()?;
        let (checked, at) = answers.get(&(sign_in.login.clone(), sign_in.app.clone()))?;
        (at.elapsed() < MEMORY).then(|| checked.clone())
    }

    fn remember(&self, sign_in: &SignIn, checked: &Checked) {
        if let Ok(mut answers) = self.answers.lock() {
            if answers.len() >= MAX_REMEMBERED {
                answers.retain(|_, (_, at)| at.elapsed() < MEMORY);
            }
            answers.insert(
                (sign_in.login.clone(), sign_in.app.clone()),
                (checked.clone(), Instant::now()),
            );
        }
    }
}

impl<'a> Guard<'a> {
    pub fn new(okta: &'a OktaClient, quarantine: Option<String>, memory: &'a Memory) -> Self {
        Guard {
            okta,
            quarantine,
            memory,
        }
    }

    /// Handles one event's work: at most one NL3 call (none for a repeated event, or a burst's
    /// later events within [`MEMORY`]) and the Okta calls the answer asks for.
    pub async fn handle(&self, work: &Work, nl3: &impl LockCheck) -> Result<Done, Retry> {
        let sign_in = work.sign_in();
        if !self.memory.first_time(&sign_in.uuid) {
            return Ok(Done::Repeated);
        }
        let result = self.act(work, nl3).await;
        if result.is_err() {
            self.memory.forget(&sign_in.uuid);
        }
        result
    }

    async fn act(&self, work: &Work, nl3: &impl LockCheck) -> Result<Done, Retry> {
        let sign_in = work.sign_in();
        // A refused sign-in matters only for a member of the quarantine group: the group a
        // release takes them out of.
        let release_from = match work {
            Work::SignIn(_) => None,
            Work::Refused(_) => {
                let Some(group) = self.quarantine.as_deref() else {
                    return Ok(Done::NotQuarantined);
                };
                match org::user_groups(self.okta, &sign_in.user_id).await {
                    Ok(groups) if groups.iter().any(|g| g == group) => Some(group),
                    Ok(_) => return Ok(Done::NotQuarantined),
                    Err(Error::NotFound(_)) => return Ok(Done::UserGone),
                    Err(e) => return Err(Retry::Okta(e)),
                }
            }
        };
        let checked = match self.memory.answer(sign_in) {
            Some(checked) => checked,
            None => match nl3.check(sign_in).await.map_err(Retry::Check)? {
                Some(checked) => {
                    self.memory.remember(sign_in, &checked);
                    checked
                }
                None => return Ok(Done::NotEnrolled),
            },
        };
        let gone = |e: Error| match e {
            Error::NotFound(_) => Ok(Done::UserGone),
            e => Err(Retry::Okta(e)),
        };
        match (release_from, checked.locked, checked.report) {
            (None, false, _) => Ok(Done::NotLocked),
            (None, true, true) => Ok(Done::WouldContain),
            (None, true, false) => {
                if let Err(e) = org::revoke_sessions(self.okta, &sign_in.user_id).await {
                    return gone(e);
                }
                if let Some(group) = &self.quarantine {
                    if let Err(e) =
                        org::set_group_member(self.okta, group, &sign_in.user_id, true).await
                    {
                        return gone(e);
                    }
                }
                Ok(Done::Contained)
            }
            (Some(_), true, _) => Ok(Done::StillLocked),
            (Some(_), false, true) => Ok(Done::WouldRelease),
            (Some(group), false, false) => {
                match org::set_group_member(self.okta, group, &sign_in.user_id, false).await {
                    Ok(()) => Ok(Done::Released),
                    Err(e) => gone(e),
                }
            }
        }
    }
}

/// `nl3-okta-admin release --user LOGIN`: out of the quarantine group, by hand.
pub async fn release(okta: &OktaClient, group: &str, login: &str) -> Result<String, Error> {
    let user = org::user(okta, login).await?;
    org::set_group_member(okta, group, &user.id, false).await?;
    Ok(user.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: &str, result: &str) -> LogEvent {
        serde_json::from_value(json!({
            "uuid": "u1", "published": "2026-12-04T10:00:00.000Z", "eventType": kind,
            "outcome": {"result": result},
            "actor": {"id": "00u1", "type": "User", "alternateId": "alice@acme.example"},
            "client": {"ipAddress": "1.1.1.1", "userAgent": {"rawUserAgent": "Mozilla/5.0"}},
            "target": [
                {"id": "00u1", "type": "User"},
                {"id": "0oaSAML1", "type": "AppInstance", "detailEntry": {"signOnModeType": "SAML_2_0"}}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn successful_sign_ins_are_checked_and_refused_ones_only_with_a_quarantine() {
        let Ok(Work::SignIn(s)) = classify(&event("user.authentication.sso", "SUCCESS"), false)
        else {
            panic!()
        };
        assert_eq!(
            (
                s.user_id.as_str(),
                s.login.as_str(),
                s.ip.as_str(),
                s.app.as_deref(),
                s.saml
            ),
            (
                "00u1",
                "alice@acme.example",
                "1.1.1.1",
                Some("0oaSAML1"),
                true
            )
        );
        assert_eq!(s.user_agent.as_deref(), Some("Mozilla/5.0"));
        assert!(s.published.is_some());
        assert!(matches!(
            classify(&event("user.session.start", "FAILURE"), true),
            Ok(Work::Refused(_))
        ));
        assert!(matches!(
            classify(&event("user.session.start", "FAILURE"), false),
            Err(Ignored::NotOurs(_))
        ));
        assert!(matches!(
            classify(&event("user.account.lock", "SUCCESS"), true),
            Err(Ignored::NotOurs(_))
        ));
    }

    #[test]
    fn an_event_without_a_user_is_unreadable_and_odd_fields_read_as_absent() {
        let mut no_actor = event("user.session.start", "SUCCESS");
        no_actor.actor = Default::default();
        assert!(matches!(
            classify(&no_actor, false),
            Err(Ignored::Unreadable(_))
        ));
        let odd: LogEvent = serde_json::from_value(json!({
            "uuid": "u2", "eventType": "user.session.start", "outcome": {"result": "SUCCESS"},
            "actor": {"id": "00u2", "alternateId": "bob@acme.example"},
            "client": "not an object", "target": "nope", "published": 7
        }))
        .unwrap();
        let Ok(Work::SignIn(s)) = classify(&odd, false) else {
            panic!()
        };
        assert_eq!((s.ip.as_str(), s.app, s.published), ("", None, None));
    }

    #[test]
    fn the_memory_handles_an_event_once_and_remembers_answers_briefly() {
        let memory = Memory::default();
        assert!(memory.first_time("u1"));
        assert!(!memory.first_time("u1"));
        memory.forget("u1");
        assert!(memory.first_time("u1"));
        let Ok(Work::SignIn(s)) = classify(&event("user.session.start", "SUCCESS"), false) else {
            panic!()
        };
        assert_eq!(memory.answer(&s), None);
        let checked = Checked {
            locked: true,
            report: false,
        };
        memory.remember(&s, &checked);
        assert_eq!(memory.answer(&s), Some(checked));
        let other_app = SignIn {
            app: None,
            ..s.clone()
        };
        assert_eq!(memory.answer(&other_app), None);
    }
}

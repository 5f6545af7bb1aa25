//! Inline hook requests as Okta sends them, built like the Admin Console's Preview tab builds
//! them (no `data.identity`; the user's profile): what `preview`, the sentinel's probe and the
//! rotation's test have Okta send the hook through the execute-hook API.

use std::time::SystemTime;

use serde_json::{json, Value};

use crate::model::{new_id, okta_time, App, User, SAML_HOOK, TOKEN_HOOK};

fn user_context(user: &User) -> Value {
    let mut profile = serde_json::Map::new();
    profile.insert("login".into(), json!(user.login));
    if let Some(first) = &user.first_name {
        profile.insert("firstName".into(), json!(first));
    }
    if let Some(last) = &user.last_name {
        profile.insert("lastName".into(), json!(last));
    }
    profile.insert(
        "locale".into(),
        json!(user.locale.as_deref().unwrap_or("en")),
    );
    profile.insert(
        "timeZone".into(),
        json!(user.time_zone.as_deref().unwrap_or("America/Los_Angeles")),
    );
    let mut context = json!({ "id": user.id, "profile": profile });
    if let Some(changed) = &user.password_changed {
        context["passwordChanged"] = json!(changed);
    }
    context
}

/// The CloudEvents envelope around `data`, whose `context.request` is a GET of `url` from
/// loopback.
fn hook_request(event_type: &str, source: &str, url: &str, mut data: Value) -> Value {
    data["context"]["request"] = json!({
        "id": new_id(),
        "method": "GET",
        "url": {"value": url},
        "ipAddress": "127.0.0.1"
    });
    json!({
        "source": source,
        "eventId": new_id(),
        "eventTime": okta_time(SystemTime::now()),
        "eventTypeVersion": "1.0",
        "cloudEventVersion": "0.1",
        "contentType": "application/json",
        "eventType": event_type,
        "data": data
    })
}

/// A token inline hook request as the Preview tab sends it: no `identity`.
pub fn token_request(org: &str, user: &User, app: Option<&App>) -> Value {
    let issuer = format!("{org}/oauth2/default");
    let client_id = app
        .and_then(|a| a.client_id.as_deref())
        .unwrap_or("preview-client");
    let client_name = app.map(|a| a.label.as_str()).unwrap_or("Preview");
    let redirect = app
        .and_then(|a| a.redirect_uri.as_deref())
        .unwrap_or("https://example.com/callback");
    let source = format!("{issuer}/v1/authorize");
    let url = format!("{source}?scope=openid+profile&response_type=code&client_id={client_id}");
    hook_request(
        TOKEN_HOOK,
        &source,
        &url,
        json!({
            "context": {
                "protocol": {
                    "type": "OAUTH2.0",
                    "request": {
                        "scope": "openid profile",
                        "state": "preview",
                        "redirect_uri": redirect,
                        "response_mode": "query",
                        "response_type": "code",
                        "client_id": client_id
                    },
                    "issuer": {"uri": issuer},
                    "client": {"id": client_id, "name": client_name, "type": "PUBLIC"}
                },
                "user": user_context(user)
            },
            "access": {
                "claims": {
                    "ver": 1,
                    "iss": issuer,
                    "aud": "api://default",
                    "cid": client_id,
                    "uid": user.id,
                    "sub": user.login,
                },
                "token": {"lifetime": {"expiration": 3600}},
                "scopes": {"openid": {"id": "preview", "action": "GRANT"}, "profile": {"id": "preview", "action": "GRANT"}}
            }
        }),
    )
}

/// A SAML assertion inline hook request for `app`.
pub fn saml_request(org: &str, user: &User, app: &App) -> Value {
    let app_name = if app.name.is_empty() {
        "app"
    } else {
        &app.name
    };
    let source = format!("{org}/app/{app_name}/{}/sso/saml", app.id);
    let acs = app
        .acs_url
        .as_deref()
        .unwrap_or("https://example.com/saml/acs");
    let audience = app.audience.as_deref().unwrap_or(acs);
    hook_request(
        SAML_HOOK,
        &source,
        &source,
        json!({
            "context": {
                "protocol": {
                    "type": "SAML2.0",
                    "issuer": {"id": app.id, "name": app.label, "uri": format!("http://www.okta.com/{}", app.id)}
                },
                "user": user_context(user)
            },
            "assertion": {
                "subject": {
                    "nameId": user.login,
                    "nameFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
                    "confirmation": {"method": "urn:oasis:names:tc:SAML:2.0:cm:bearer", "data": {"recipient": acs}}
                },
                "authentication": {
                    "sessionIndex": format!("id{}", new_id()),
                    "authnContext": {"authnContextClassRef": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"}
                },
                "conditions": {"audienceRestriction": [audience]},
                "claims": {},
                "lifetime": {"expiration": 300}
            }
        }),
    )
}

/// The user in the rotation's test requests: no one's account (`.invalid` never resolves).
pub const CHECK_LOGIN: &str = "nl3-rotation-check@example.invalid";

/// A well-formed request of the hook's type, as Okta sends it, for a user who is no one: what
/// the rotation's test has Okta send each hook.
pub fn check_request(kind: &str, org: &str) -> Value {
    let user = User {
        id: "00unl3rotationcheck0".into(),
        login: CHECK_LOGIN.into(),
        first_name: Some("NL3".into()),
        last_name: Some("Rotation check".into()),
        ..User::default()
    };
    if kind == SAML_HOOK {
        let app = App::from_json(&json!({
            "id": "0oanl3rotationcheck0",
            "name": "nl3_rotation_check",
            "label": "NL3 rotation check",
            "settings": {"signOn": {"ssoAcsUrl": "https://example.invalid/saml/acs"}}
        }));
        saml_request(org, &user, &app)
    } else {
        token_request(org, &user, None)
    }
}

/// The decisions with which the hook lets a sign-in through (no `error` object in its answer).
const LETS_THROUGH: &[&str] = &[
    "allowed",
    "no_user",
    "not_enrolled",
    "fail_open",
    "would_refuse",
];

/// The NL3 hook's decision in an answer Okta passed back, once the answer is well-formed: a JSON
/// object, `commands` a list if present, an `error` with an `errorSummary` exactly when the
/// decision refuses, and `debugContext.decision`. Why not, otherwise.
pub fn hook_decision(answer: &Value) -> Result<&str, String> {
    if !answer.is_object() {
        return Err("the answer is not a JSON object".into());
    }
    if answer
        .get("commands")
        .is_some_and(|c| !c.is_array() && !c.is_null())
    {
        return Err("the answer's commands is not a list".into());
    }
    let error = answer.get("error").filter(|e| !e.is_null());
    if error.is_some_and(|e| !e["errorSummary"].is_string()) {
        return Err("the answer's error has no errorSummary".into());
    }
    let Some(decision) = answer["debugContext"]["decision"].as_str() else {
        return Err("the answer has no debugContext.decision (not the NL3 hook's answer?)".into());
    };
    // The decision must agree with what Okta will do: refuse only with an error object.
    let refuses = !LETS_THROUGH.contains(&decision);
    if refuses != error.is_some() {
        return Err(format!(
            "the answer says {decision:?} but {} an error object",
            if error.is_some() { "carries" } else { "lacks" }
        ));
    }
    Ok(decision)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_carry_the_user_and_the_app_as_okta_does() {
        let user = User::from_json(
            &json!({"id": "00u1", "passwordChanged": "2026-01-01T00:00:00.000Z",
            "profile": {"login": "alice@acme", "firstName": "Alice", "lastName": null}}),
        );
        let app = App::from_json(
            &json!({"id": "0oa1", "label": "Portal", "signOnMode": "OPENID_CONNECT",
            "credentials": {"oauthClient": {"client_id": "cid1"}},
            "settings": {"oauthClient": {"redirect_uris": ["https://portal/cb"]}}}),
        );
        let r = token_request("https://acme.okta.com", &user, Some(&app));
        assert_eq!(r["eventType"], TOKEN_HOOK);
        assert_eq!(r["data"]["context"]["protocol"]["client"]["id"], "cid1");
        assert_eq!(
            r["data"]["context"]["protocol"]["request"]["redirect_uri"],
            "https://portal/cb"
        );
        let profile = &r["data"]["context"]["user"]["profile"];
        assert_eq!(
            profile,
            &json!({"login": "alice@acme", "firstName": "Alice",
            "locale": "en", "timeZone": "America/Los_Angeles"})
        );
        assert!(r.get("identity").is_none() && r["data"].get("identity").is_none());
        let check = check_request(SAML_HOOK, "https://acme.okta.com");
        assert_eq!(check["data"]["assertion"]["subject"]["nameId"], CHECK_LOGIN);
        assert_eq!(
            check["source"],
            "https://acme.okta.com/app/nl3_rotation_check/0oanl3rotationcheck0/sso/saml"
        );
    }
}

//! `preview`: asks Okta to call the hook (`POST /api/v1/inlineHooks/{id}/execute`) with a request
//! built like the Admin Console's Preview tab (no `data.identity`; the user's profile), and shows
//! what the hook answered and why (`debugContext`).

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde_json::{json, Value};

use crate::audit::is_ours;
use crate::cli::PreviewArgs;
use crate::client::{segment, unique_id, OktaClient};
use crate::org::{read_hooks, Hook, SAML_HOOK, TOKEN_HOOK};
use crate::{AdminError, EXIT_NOT_COVERED, EXIT_OK};

/// RFC 3339 UTC with milliseconds, as Okta writes `eventTime`.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = if month <= 2 { y + 1 } else { y };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

fn user_context(user: &Value) -> Value {
    let p = &user["profile"];
    let mut profile = json!({
        "login": p["login"],
        "firstName": p["firstName"],
        "lastName": p["lastName"],
        "locale": p["locale"].as_str().unwrap_or("en"),
        "timeZone": p["timeZone"].as_str().unwrap_or("America/Los_Angeles"),
    });
    if let Some(obj) = profile.as_object_mut() {
        obj.retain(|_, v| !v.is_null());
    }
    let mut context = json!({ "id": user["id"], "profile": profile });
    if let Some(changed) = user["passwordChanged"].as_str() {
        context["passwordChanged"] = json!(changed);
    }
    context
}

/// An inline hook request as Okta sends it: the CloudEvents envelope around `data`, whose
/// `context.request` is a GET of `url` from loopback.
fn hook_request(event_type: &str, source: &str, url: &str, mut data: Value) -> Value {
    let event_id = unique_id();
    data["context"]["request"] = json!({
        "id": unique_id(),
        "method": "GET",
        "url": {"value": url},
        "ipAddress": "127.0.0.1"
    });
    json!({
        "source": source,
        "eventId": event_id,
        "eventTime": rfc3339(SystemTime::now()),
        "eventTypeVersion": "1.0",
        "cloudEventVersion": "0.1",
        "contentType": "application/json",
        "eventType": event_type,
        "data": data
    })
}

/// A token inline hook request as the Preview tab sends it: no `identity`.
pub fn token_request(org: &str, user: &Value, app: Option<&Value>) -> Value {
    let login = user["profile"]["login"].as_str().unwrap_or_default();
    let issuer = format!("{org}/oauth2/default");
    let client_id = app
        .and_then(|a| a["credentials"]["oauthClient"]["client_id"].as_str())
        .unwrap_or("preview-client")
        .to_string();
    let client_name = app
        .and_then(|a| a["label"].as_str())
        .unwrap_or("Preview")
        .to_string();
    let redirect = app
        .and_then(|a| a["settings"]["oauthClient"]["redirect_uris"][0].as_str())
        .unwrap_or("https://example.com/callback")
        .to_string();
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
                    "uid": user["id"],
                    "sub": login,
                },
                "token": {"lifetime": {"expiration": 3600}},
                "scopes": {"openid": {"id": "preview", "action": "GRANT"}, "profile": {"id": "preview", "action": "GRANT"}}
            }
        }),
    )
}

/// A SAML assertion inline hook request for `app`.
pub fn saml_request(org: &str, user: &Value, app: &Value) -> Value {
    let login = user["profile"]["login"].as_str().unwrap_or_default();
    let app_id = app["id"].as_str().unwrap_or_default();
    let app_name = app["name"].as_str().unwrap_or("app");
    let source = format!("{org}/app/{app_name}/{app_id}/sso/saml");
    let sign_on = &app["settings"]["signOn"];
    let acs = sign_on["ssoAcsUrl"]
        .as_str()
        .or(sign_on["destinationOverride"].as_str())
        .unwrap_or("https://example.com/saml/acs");
    let audience = sign_on["audience"].as_str().unwrap_or(acs);
    hook_request(
        SAML_HOOK,
        &source,
        &source,
        json!({
            "context": {
                "protocol": {
                    "type": "SAML2.0",
                    "issuer": {"id": app_id, "name": app["label"], "uri": format!("http://www.okta.com/{app_id}")}
                },
                "user": user_context(user)
            },
            "assertion": {
                "subject": {
                    "nameId": login,
                    "nameFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
                    "confirmation": {"method": "urn:oasis:names:tc:SAML:2.0:cm:bearer", "data": {"recipient": acs}}
                },
                "authentication": {
                    "sessionIndex": format!("id{}", unique_id()),
                    "authnContext": {"authnContextClassRef": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"}
                },
                "conditions": {"audienceRestriction": [audience]},
                "claims": {},
                "lifetime": {"expiration": 300}
            }
        }),
    )
}

/// Picks the hook to execute: `--hook ID`, else the active hook of `kind` calling `--hook-url`
/// (or the only one of that kind).
async fn choose_hook(
    client: &OktaClient,
    kind: &str,
    args: &PreviewArgs,
) -> Result<Hook, AdminError> {
    if let Some(id) = &args.hook_id {
        let path = format!("/api/v1/inlineHooks/{}", segment(id));
        let hook = Hook::from_json(
            client
                .get(&path, &format!("reading inline hook {id} (GET {path})"))
                .await?,
        );
        if hook.kind != kind {
            return Err(AdminError::Usage(format!(
                "--hook {id} is a {} hook; this preview needs a {kind} hook",
                hook.kind
            )));
        }
        return Ok(hook);
    }
    let mut candidates: Vec<Hook> = read_hooks(client)
        .await?
        .into_iter()
        .filter(|h| h.kind == kind && is_ours(h, args.hook_url.as_deref()))
        .collect();
    candidates.sort_by_key(|h| !h.active());
    match candidates.len() {
        0 => Err(AdminError::NotFound(format!(
            "no {kind} inline hook{} in the org; register it with `nl3-okta-admin setup`",
            args.hook_url
                .as_deref()
                .map(|u| format!(" calling {u}"))
                .unwrap_or_default()
        ))),
        1 => Ok(candidates.remove(0)),
        _ if args.hook_url.is_none() => Err(AdminError::Usage(format!(
            "several {kind} hooks in the org; choose one with --hook-url URL or --hook ID"
        ))),
        _ => Ok(candidates.remove(0)),
    }
}

/// What one preview gave: the hook Okta called, for which user (and app), and the hook's answer
/// as Okta passed it back.
pub struct Executed {
    pub hook: Hook,
    pub kind: &'static str,
    pub user: Value,
    pub app: Option<Value>,
    pub answer: Value,
}

impl Executed {
    /// The hook told Okta to refuse the sign-in (an `error` object in its answer).
    pub fn refused(&self) -> bool {
        self.answer.get("error").is_some_and(|e| !e.is_null())
    }
}

/// Has Okta call the hook for `args.user` (`POST /api/v1/inlineHooks/{id}/execute`): what
/// `preview` shows and the sentinel's probe judges.
pub async fn execute(client: &OktaClient, args: &PreviewArgs) -> Result<Executed, AdminError> {
    let org = client.org_url();
    let user_path = format!("/api/v1/users/{}", segment(&args.user));
    let user = client
        .get(
            &user_path,
            &format!("reading user {:?} (GET /api/v1/users/{{login}})", args.user),
        )
        .await
        .map_err(|e| match e {
            AdminError::NotFound(_) => {
                AdminError::NotFound(format!("no user with login or ID {:?} in {org}", args.user))
            }
            other => other,
        })?;
    let app = match &args.app {
        Some(id) => {
            let path = format!("/api/v1/apps/{}", segment(id));
            Some(
                client
                    .get(&path, &format!("reading app {id} (GET {path})"))
                    .await?,
            )
        }
        None => None,
    };
    let mode = app
        .as_ref()
        .and_then(|a| a["signOnMode"].as_str())
        .unwrap_or("OPENID_CONNECT")
        .to_string();
    let (kind, request) = match (mode.as_str(), &app) {
        ("SAML_2_0", Some(app)) => (SAML_HOOK, saml_request(&org, &user, app)),
        ("OPENID_CONNECT", _) => (TOKEN_HOOK, token_request(&org, &user, app.as_ref())),
        (other, _) => {
            return Err(AdminError::Usage(format!(
                "--app {}: signs in with {other}; only OIDC (token hook) and SAML 2.0 apps have inline hooks",
                args.app.as_deref().unwrap_or("")
            )))
        }
    };
    let hook = choose_hook(client, kind, args).await?;
    let path = format!("/api/v1/inlineHooks/{}/execute", segment(&hook.id));
    let answer = client
        .write(
            Method::POST,
            &path,
            Some(&request),
            &format!("executing hook {:?} through Okta (POST {path})", hook.name),
        )
        .await?;
    Ok(Executed {
        hook,
        kind,
        user,
        app,
        answer,
    })
}

pub async fn run(client: &OktaClient, args: &PreviewArgs) -> Result<i32, AdminError> {
    let Executed {
        hook,
        kind,
        user,
        app,
        answer,
    } = execute(client, args).await?;
    let refused = answer.get("error").is_some_and(|e| !e.is_null());
    let summary = answer["error"]["errorSummary"].as_str().unwrap_or("");
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "hook": {"id": hook.id, "name": hook.name, "type": hook.kind, "status": hook.status, "uri": hook.uri},
                "user": user["profile"]["login"],
                "app": args.app,
                "decision": if refused { "refused" } else { "allowed" },
                "answer": answer,
            }))
            .expect("serializable")
        );
    } else {
        println!(
            "Hook {:?} ({}, {}) → {}",
            hook.name,
            hook.id,
            hook.status,
            hook.uri.as_deref().unwrap_or("-")
        );
        println!(
            "Request: {} hook for user {} ({}){}",
            if kind == SAML_HOOK { "SAML" } else { "token" },
            user["profile"]["login"].as_str().unwrap_or(&args.user),
            user["id"].as_str().unwrap_or("?"),
            app.as_ref()
                .map(|a| format!(
                    ", app {:?} ({})",
                    a["label"].as_str().unwrap_or(""),
                    a["id"].as_str().unwrap_or("")
                ))
                .unwrap_or_default()
        );
        if refused {
            println!("Answer: REFUSED, Okta would stop this sign-in: {summary:?}");
        } else {
            let commands = answer["commands"].as_array().map_or(0, Vec::len);
            println!("Answer: ALLOWED ({commands} command(s))");
        }
        match answer.get("debugContext") {
            Some(ctx) if !ctx.is_null() => println!(
                "Why (debugContext):\n{}",
                serde_json::to_string_pretty(ctx).expect("serializable")
            ),
            _ => println!("Why: the hook sent no debugContext"),
        }
    }
    Ok(if refused { EXIT_NOT_COVERED } else { EXIT_OK })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_event_time() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_392_000_123);
        assert_eq!(rfc3339(t), "2026-11-23T00:00:00.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }
}

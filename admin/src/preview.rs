//! `preview`: Okta calls the hook for a user (`POST /api/v1/inlineHooks/{id}/execute`) with a
//! request built like the Admin Console's Preview tab, and hands back what the hook answered and
//! why (`debugContext`). The sentinel's probe is this call, judged.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::{nl3_hooks, App, InlineHook, User, SAML_HOOK, TOKEN_HOOK};
use crate::okta::OktaClient;
use crate::org;
use crate::requests::{saml_request, token_request};

/// OAuth 2.0 scopes `preview` asks for (executing a hook needs `okta.inlineHooks.manage`).
pub const SCOPES: &[&str] = &[
    "okta.inlineHooks.read",
    "okta.inlineHooks.manage",
    "okta.apps.read",
    "okta.users.read",
];

/// Which hook Okta is to call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookChoice {
    /// This hook (`--hook ID`).
    Id(String),
    /// The active one of the right type calling this URL (normalised); without a URL, the only
    /// one of that type.
    Url(Option<String>),
}

/// A preview: for whom, through which app (none: an OIDC sign-in), by which hook.
#[derive(Debug, Clone)]
pub struct Request {
    pub user: String,
    pub app: Option<String>,
    pub hook: HookChoice,
}

/// What one preview gave: the hook Okta called, for which user (and app), and the hook's answer
/// as Okta passed it back.
pub struct Executed {
    pub hook: InlineHook,
    pub user: User,
    pub app: Option<App>,
    pub answer: Value,
}

impl Executed {
    /// The hook told Okta to refuse the sign-in (an `error` object in its answer).
    pub fn refused(&self) -> bool {
        self.answer.get("error").is_some_and(|e| !e.is_null())
    }

    /// `debugContext.decision`, when the hook gave one.
    pub fn decision(&self) -> Option<&str> {
        self.answer["debugContext"]["decision"].as_str()
    }
}

/// The hook of `kind` to call, among `hooks`.
pub fn choose(hooks: &[InlineHook], kind: &str, url: Option<&str>) -> Result<InlineHook> {
    let candidates = nl3_hooks(hooks, kind, url);
    match (candidates.first(), candidates.len(), url) {
        (None, _, _) => Err(Error::NotFound(format!(
            "no {kind} inline hook{} in the org; register it with `nl3-okta-admin setup`",
            url.map(|u| format!(" calling {u}")).unwrap_or_default()
        ))),
        (Some(_), n, None) if n > 1 => Err(Error::Usage(format!(
            "several {kind} hooks in the org; choose one with --hook-url URL or --hook ID"
        ))),
        (Some(hook), _, _) => Ok((*hook).clone()),
    }
}

/// Has Okta call the hook for `request.user`. `hooks`: the org's inline hooks when already read
/// (the sentinel reads them once per run); read here otherwise.
pub async fn execute(
    client: &OktaClient,
    request: &Request,
    hooks: Option<&[InlineHook]>,
) -> Result<Executed> {
    let org = client.org_url();
    let user = org::user(client, &request.user).await?;
    let app = match &request.app {
        Some(id) => Some(org::app(client, id).await?),
        None => None,
    };
    let mode = app
        .as_ref()
        .map(|a| a.sign_on_mode.as_str())
        .unwrap_or("OPENID_CONNECT");
    let (kind, body) = match (mode, &app) {
        ("SAML_2_0", Some(app)) => (SAML_HOOK, saml_request(&org, &user, app)),
        ("OPENID_CONNECT", _) => (TOKEN_HOOK, token_request(&org, &user, app.as_ref())),
        (other, _) => {
            return Err(Error::Usage(format!(
                "--app {}: signs in with {other}; only OIDC (token hook) and SAML 2.0 apps have inline hooks",
                request.app.as_deref().unwrap_or("")
            )))
        }
    };
    let hook = match &request.hook {
        HookChoice::Id(id) => {
            let hook = org::hook(client, id).await?;
            if hook.kind != kind {
                return Err(Error::Usage(format!(
                    "--hook {id} is a {} hook; this preview needs a {kind} hook",
                    hook.kind
                )));
            }
            hook
        }
        HookChoice::Url(url) => match hooks {
            Some(hooks) => choose(hooks, kind, url.as_deref())?,
            None => choose(&org::hooks(client).await?, kind, url.as_deref())?,
        },
    };
    let answer = org::execute(client, &hook, &body).await?;
    Ok(Executed {
        hook,
        user,
        app,
        answer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hook(id: &str, kind: &str, status: &str, uri: &str) -> InlineHook {
        serde_json::from_value(json!({"id": id, "name": id, "type": kind, "status": status,
            "channel": {"type": "HTTP", "config": {"uri": uri}}}))
        .unwrap()
    }

    #[test]
    fn the_hook_is_the_active_one_calling_the_url_or_the_only_one() {
        let url = "https://h/okta/hook";
        let hooks = [
            hook("off", TOKEN_HOOK, "INACTIVE", url),
            hook("on", TOKEN_HOOK, "ACTIVE", url),
            hook("other", TOKEN_HOOK, "ACTIVE", "https://other/x"),
            hook("saml", SAML_HOOK, "ACTIVE", url),
        ];
        assert_eq!(choose(&hooks, TOKEN_HOOK, Some(url)).unwrap().id, "on");
        assert_eq!(choose(&hooks, SAML_HOOK, None).unwrap().id, "saml");
        assert!(matches!(
            choose(&hooks, TOKEN_HOOK, None),
            Err(Error::Usage(_))
        ));
        let e = choose(&hooks, SAML_HOOK, Some("https://nowhere/x")).unwrap_err();
        assert!(e.to_string().contains("calling https://nowhere/x"), "{e}");
    }
}

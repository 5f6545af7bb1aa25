//! Reading the org, and Okta calling a hook: the snapshot `audit`, `setup` and the sentinel
//! judge (inline hooks, custom authorization servers with their access policies and rules,
//! apps, every list read to its last page), single objects, and the execute-hook call that
//! `preview`, the rotation's test and the sentinel's probe go through.

use reqwest::Method;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::{App, AuthServer, InlineHook, Policy, Rule, Snapshot, User};
use crate::okta::OktaClient;

/// `GET /api/v1/inlineHooks` (all types), then `GET /api/v1/authorizationServers`, for each
/// server `GET …/policies` and for each policy `GET …/rules`, then `GET /api/v1/apps`.
pub async fn snapshot(client: &OktaClient) -> Result<Snapshot> {
    snapshot_with(client, hooks(client).await?).await
}

/// [`snapshot`] around hooks already read.
pub async fn snapshot_with(client: &OktaClient, hooks: Vec<InlineHook>) -> Result<Snapshot> {
    let mut snapshot = Snapshot {
        hooks,
        ..Snapshot::default()
    };
    let limit = [("limit", "200".to_string())];
    let servers = client
        .list(
            client.url(&["api", "v1", "authorizationServers"]),
            &limit,
            "listing authorization servers (GET /api/v1/authorizationServers)",
        )
        .await?;
    for server in servers {
        let server = AuthServer::from_json(&server);
        let url = client.url(&["api", "v1", "authorizationServers", &server.id, "policies"]);
        let what = format!(
            "listing the access policies of authorization server {:?} (GET {})",
            server.name,
            url.path()
        );
        for policy in client.list(url, &[], &what).await? {
            let policy = Policy::from_json(&server.id, &policy);
            let url = client.url(&[
                "api",
                "v1",
                "authorizationServers",
                &server.id,
                "policies",
                &policy.id,
                "rules",
            ]);
            let what = format!(
                "listing the rules of access policy {:?} (GET {})",
                policy.name,
                url.path()
            );
            let rules = client.list(url, &[], &what).await?;
            snapshot.rules.extend(
                rules
                    .iter()
                    .map(|r| Rule::from_json(&server.id, &policy.id, r)),
            );
            snapshot.policies.push(policy);
        }
        snapshot.servers.push(server);
    }
    let apps = client
        .list(
            client.url(&["api", "v1", "apps"]),
            &limit,
            "listing apps (GET /api/v1/apps)",
        )
        .await?;
    snapshot.apps = apps.iter().map(App::from_json).collect();
    Ok(snapshot)
}

/// `GET /api/v1/inlineHooks`, every page; an entry that is not a hook object is dropped.
pub async fn hooks(client: &OktaClient) -> Result<Vec<InlineHook>> {
    Ok(client
        .list(
            client.url(&["api", "v1", "inlineHooks"]),
            &[],
            "listing inline hooks (GET /api/v1/inlineHooks)",
        )
        .await?
        .into_iter()
        .filter_map(|h| serde_json::from_value(h).ok())
        .collect())
}

/// `GET /api/v1/inlineHooks/{id}`.
pub async fn hook(client: &OktaClient, id: &str) -> Result<InlineHook> {
    let url = client.url(&["api", "v1", "inlineHooks", id]);
    let what = format!("reading inline hook {id} (GET {})", url.path());
    let raw = client.get(url, &what).await?;
    serde_json::from_value(raw).map_err(|e| Error::OktaAnswer {
        what,
        why: format!("not an inline hook ({e})"),
    })
}

/// `GET /api/v1/users/{login or id}`.
pub async fn user(client: &OktaClient, login: &str) -> Result<User> {
    let url = client.url(&["api", "v1", "users", login]);
    let what = format!("reading user {login:?} (GET /api/v1/users/{{login}})");
    match client.get(url, &what).await {
        Ok(raw) => Ok(User::from_json(&raw)),
        Err(Error::NotFound(_)) => Err(Error::NotFound(format!(
            "no user with login or ID {login:?} in {}",
            client.org_url()
        ))),
        Err(e) => Err(e),
    }
}

/// `GET /api/v1/apps/{id}`.
pub async fn app(client: &OktaClient, id: &str) -> Result<App> {
    let url = client.url(&["api", "v1", "apps", id]);
    let what = format!("reading app {id} (GET {})", url.path());
    Ok(App::from_json(&client.get(url, &what).await?))
}

/// `POST /api/v1/inlineHooks/{id}/execute`: Okta calls the hook with `request` and hands back
/// its answer. Okta's refusal of the call itself (it answers 400 when the hook times out,
/// errs or answers something it cannot use) is [`Error::HookCall`].
pub async fn execute(client: &OktaClient, hook: &InlineHook, request: &Value) -> Result<Value> {
    let url = client.url(&["api", "v1", "inlineHooks", &hook.id, "execute"]);
    let what = format!(
        "executing hook {:?} through Okta (POST {})",
        hook.name,
        url.path()
    );
    client
        .send(Method::POST, url, Some(request), &what)
        .await
        .map_err(|e| match e {
            e @ Error::OktaStatus { .. } | e @ Error::OktaAnswer { .. } => {
                Error::HookCall(Box::new(e))
            }
            other => other,
        })
}

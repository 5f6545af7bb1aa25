//! Reading the org, and Okta calling a hook: the snapshot `audit`, `setup` and the sentinel
//! judge (inline hooks, custom authorization servers with their access policies and rules,
//! apps, every list read to its last page), single objects, and the execute-hook call that
//! `preview`, the rotation's test and the sentinel's probe go through.

use reqwest::Method;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::{
    App, AuthServer, EventHook, EventHookWrite, InlineHook, Policy, Quarantine, Rule, SignOnPolicy,
    Snapshot, User,
};
use crate::okta::OktaClient;

/// `GET /api/v1/inlineHooks` (all types) and `GET /api/v1/eventHooks`, then `GET
/// /api/v1/authorizationServers`, for each server `GET …/policies` and for each policy `GET
/// …/rules`, then `GET /api/v1/apps`; with a quarantine group, the group and the global session policies.
pub async fn snapshot(client: &OktaClient, quarantine_group: Option<&str>) -> Result<Snapshot> {
    let inline = hooks(client).await?;
    snapshot_with(client, inline, event_hooks(client).await?, quarantine_group).await
}

/// [`snapshot`] around the inline and event hooks already read (the sentinel reads them once for
/// all its parts).
pub async fn snapshot_with(
    client: &OktaClient,
    hooks: Vec<InlineHook>,
    event_hooks: Vec<EventHook>,
    quarantine_group: Option<&str>,
) -> Result<Snapshot> {
    let mut snapshot = Snapshot {
        hooks,
        event_hooks,
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
    if let Some(group_id) = quarantine_group {
        let group_name = match group_name(client, group_id).await {
            Ok(name) => Some(name),
            Err(Error::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        snapshot.quarantine = Some(Quarantine {
            group_id: group_id.to_string(),
            group_name,
            policies: policies(client, "OKTA_SIGN_ON").await?,
        });
    }
    Ok(snapshot)
}

/// `GET /api/v1/inlineHooks`, every page; an entry that is not a hook object is dropped.
pub async fn hooks(client: &OktaClient) -> Result<Vec<InlineHook>> {
    list_of(
        client,
        "inlineHooks",
        "listing inline hooks (GET /api/v1/inlineHooks)",
    )
    .await
}

/// Every page of `GET /api/v1/{collection}`, each entry read as a `T`; one that does not read is
/// dropped.
async fn list_of<T: serde::de::DeserializeOwned>(
    client: &OktaClient,
    collection: &str,
    what: &str,
) -> Result<Vec<T>> {
    Ok(client
        .list(client.url(&["api", "v1", collection]), &[], what)
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

/// `GET /api/v1/eventHooks`; an entry that is not an event hook object is dropped.
pub async fn event_hooks(client: &OktaClient) -> Result<Vec<EventHook>> {
    list_of(
        client,
        "eventHooks",
        "listing event hooks (GET /api/v1/eventHooks)",
    )
    .await
}

/// Okta's answer about an event hook, read.
fn event_hook_answer(raw: Value, what: &str) -> Result<EventHook> {
    serde_json::from_value(raw).map_err(|e| Error::OktaAnswer {
        what: what.to_string(),
        why: format!("not an event hook ({e})"),
    })
}

/// `POST /api/v1/eventHooks`.
pub async fn create_event_hook(
    client: &OktaClient,
    body: &EventHookWrite<'_>,
    what: &str,
) -> Result<EventHook> {
    let url = client.url(&["api", "v1", "eventHooks"]);
    event_hook_answer(
        client.send(Method::POST, url, Some(body), what).await?,
        what,
    )
}

/// `PUT /api/v1/eventHooks/{id}` (Okta marks it unverified when its channel changes).
pub async fn replace_event_hook(
    client: &OktaClient,
    id: &str,
    body: &EventHookWrite<'_>,
    what: &str,
) -> Result<EventHook> {
    let url = client.url(&["api", "v1", "eventHooks", id]);
    event_hook_answer(client.send(Method::PUT, url, Some(body), what).await?, what)
}

/// `POST /api/v1/eventHooks/{id}/lifecycle/{verify|activate}`: Okta calls the receiver with its
/// challenge (verify), or switches the hook on.
pub async fn event_hook_lifecycle(
    client: &OktaClient,
    id: &str,
    action: &str,
    what: &str,
) -> Result<EventHook> {
    let url = client.url(&["api", "v1", "eventHooks", id, "lifecycle", action]);
    event_hook_answer(
        client.send(Method::POST, url, None::<&()>, what).await?,
        what,
    )
}

/// `DELETE /api/v1/users/{userId}/sessions?oauthTokens=true`: ends the user's Okta sessions and
/// revokes the OIDC/OAuth tokens Okta issued them.
pub async fn revoke_sessions(client: &OktaClient, user_id: &str) -> Result<()> {
    let mut url = client.url(&["api", "v1", "users", user_id, "sessions"]);
    url.query_pairs_mut().append_pair("oauthTokens", "true");
    let what = format!(
        "ending the Okta sessions of user {user_id} (DELETE /api/v1/users/{{userId}}/sessions)"
    );
    client.send(Method::DELETE, url, None::<&()>, &what).await?;
    Ok(())
}

/// `PUT` (`add`) or `DELETE` `/api/v1/groups/{groupId}/users/{userId}`: idempotent.
pub async fn set_group_member(
    client: &OktaClient,
    group_id: &str,
    user_id: &str,
    add: bool,
) -> Result<()> {
    let url = client.url(&["api", "v1", "groups", group_id, "users", user_id]);
    let (method, verb) = if add {
        (Method::PUT, "adding")
    } else {
        (Method::DELETE, "removing")
    };
    let what = format!(
        "{verb} user {user_id} {} group {group_id} ({method} /api/v1/groups/{{groupId}}/users/{{userId}})",
        if add { "to" } else { "from" }
    );
    client.send(method, url, None::<&()>, &what).await?;
    Ok(())
}

/// The ids of the groups `user_id` belongs to (`GET /api/v1/users/{id}/groups`).
pub async fn user_groups(client: &OktaClient, user_id: &str) -> Result<Vec<String>> {
    let url = client.url(&["api", "v1", "users", user_id, "groups"]);
    let what = format!("listing the groups of user {user_id} (GET /api/v1/users/{{id}}/groups)");
    Ok(client
        .list(url, &[], &what)
        .await?
        .iter()
        .filter_map(|g| g["id"].as_str().map(String::from))
        .collect())
}

/// `GET /api/v1/groups/{groupId}`: its name, or `NotFound`.
pub async fn group_name(client: &OktaClient, group_id: &str) -> Result<String> {
    let url = client.url(&["api", "v1", "groups", group_id]);
    let what = format!("reading group {group_id} (GET /api/v1/groups/{{groupId}})");
    let group = client.get(url, &what).await?;
    Ok(group["profile"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// The policies of `kind` (`OKTA_SIGN_ON`, `ACCESS_POLICY`), each with its rules.
pub async fn policies(client: &OktaClient, kind: &str) -> Result<Vec<SignOnPolicy>> {
    let what = format!("listing {kind} policies (GET /api/v1/policies?type={kind})");
    let listed = client
        .list(
            client.url(&["api", "v1", "policies"]),
            &[("type", kind.to_string())],
            &what,
        )
        .await?;
    let mut out = Vec::new();
    for policy in listed {
        let id = policy["id"].as_str().unwrap_or_default();
        let url = client.url(&["api", "v1", "policies", id, "rules"]);
        let what =
            format!("listing the rules of policy {id} (GET /api/v1/policies/{{policyId}}/rules)");
        let rules = client.list(url, &[], &what).await?;
        out.push(SignOnPolicy::from_json(&policy, &rules));
    }
    Ok(out)
}

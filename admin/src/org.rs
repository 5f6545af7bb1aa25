//! Reads what decides coverage from the org: inline hooks, custom authorization servers with
//! their access policies and rules, and apps. Kept as Okta's JSON plus the few fields read.

use serde::Serialize;
use serde_json::Value;

use crate::client::{query, segment, OktaClient};
use crate::AdminError;

pub const TOKEN_HOOK: &str = "com.okta.oauth2.tokens.transform";
pub const SAML_HOOK: &str = "com.okta.saml.tokens.transform";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hook {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub uri: Option<String>,
    /// `HEADER` or `OAUTH` (channel type), as Okta reports it.
    pub auth: String,
    #[serde(skip)]
    pub raw: Value,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthServer {
    pub id: String,
    pub name: String,
    pub status: String,
    pub issuer: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub server_id: String,
    pub id: String,
    pub name: String,
    pub status: String,
    /// `conditions.clients.include`: client IDs, or `ALL_CLIENTS`.
    pub clients: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub server_id: String,
    pub policy_id: String,
    pub id: String,
    pub name: String,
    pub status: String,
    pub grant_types: Vec<String>,
    /// `actions.token.inlineHook.id`
    pub hook_id: Option<String>,
    #[serde(skip)]
    pub raw: Value,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub id: String,
    pub label: String,
    pub name: String,
    pub status: String,
    pub sign_on_mode: String,
    /// OIDC apps: `credentials.oauthClient.client_id`.
    pub client_id: Option<String>,
    /// SAML 2.0 apps: `settings.signOn.inlineHooks[0].id`.
    pub hook_id: Option<String>,
    /// SAML 2.0 apps: a custom app integration (its SAML settings are its own), not a catalog app.
    pub custom_saml: bool,
}

/// Everything `audit` and `setup` look at.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub hooks: Vec<Hook>,
    pub servers: Vec<AuthServer>,
    pub policies: Vec<Policy>,
    pub rules: Vec<Rule>,
    pub apps: Vec<App>,
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or("").to_string()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

impl Hook {
    pub fn from_json(v: Value) -> Hook {
        Hook {
            id: s(&v["id"]),
            name: s(&v["name"]),
            kind: s(&v["type"]),
            status: s(&v["status"]),
            uri: v["channel"]["config"]["uri"].as_str().map(String::from),
            auth: s(&v["channel"]["type"]),
            raw: v,
        }
    }
    pub fn active(&self) -> bool {
        self.status == "ACTIVE"
    }
}

impl Rule {
    pub fn from_json(server_id: &str, policy_id: &str, v: Value) -> Rule {
        Rule {
            server_id: server_id.to_string(),
            policy_id: policy_id.to_string(),
            id: s(&v["id"]),
            name: s(&v["name"]),
            status: s(&v["status"]),
            grant_types: strings(&v["conditions"]["grantTypes"]["include"]),
            hook_id: v["actions"]["token"]["inlineHook"]["id"]
                .as_str()
                .filter(|id| !id.is_empty())
                .map(String::from),
            raw: v,
        }
    }
    /// A rule for the client credentials grant only: tokens for machines, no user signs in.
    pub fn machine_only(&self) -> bool {
        !self.grant_types.is_empty() && self.grant_types.iter().all(|g| g == "client_credentials")
    }
}

impl App {
    pub fn from_json(v: &Value) -> App {
        let sign_on = &v["settings"]["signOn"];
        App {
            id: s(&v["id"]),
            label: s(&v["label"]),
            name: s(&v["name"]),
            status: s(&v["status"]),
            sign_on_mode: s(&v["signOnMode"]),
            client_id: v["credentials"]["oauthClient"]["client_id"]
                .as_str()
                .map(String::from),
            hook_id: sign_on["inlineHooks"][0]["id"]
                .as_str()
                .filter(|id| !id.is_empty())
                .map(String::from),
            // Custom SAML apps carry their own ACS URL (`ssoAcsUrl`, or `destinationOverride`);
            // catalog (OIN) apps take theirs from the catalog and keep only overrides.
            custom_saml: ["ssoAcsUrl", "destinationOverride"]
                .iter()
                .any(|k| sign_on[k].as_str().is_some_and(|u| !u.is_empty())),
        }
    }
}

impl Snapshot {
    /// `GET /api/v1/inlineHooks`, `GET /api/v1/authorizationServers`, for each server
    /// `GET …/policies` and for each policy `GET …/rules`, then `GET /api/v1/apps`: every list
    /// read to its last page.
    pub async fn read(client: &OktaClient) -> Result<Snapshot, AdminError> {
        let hooks = read_hooks(client).await?;
        let mut snapshot = Snapshot {
            hooks,
            ..Snapshot::default()
        };
        let servers = client
            .list(
                &format!("/api/v1/authorizationServers{}", query(&[("limit", "200")])),
                "listing authorization servers (GET /api/v1/authorizationServers)",
            )
            .await?;
        for server in servers {
            let server = AuthServer {
                id: s(&server["id"]),
                name: s(&server["name"]),
                status: s(&server["status"]),
                issuer: s(&server["issuer"]),
            };
            let path = format!(
                "/api/v1/authorizationServers/{}/policies",
                segment(&server.id)
            );
            let policies = client
                .list(
                    &path,
                    &format!(
                        "listing the access policies of authorization server {:?} (GET {path})",
                        server.name
                    ),
                )
                .await?;
            for policy in policies {
                let policy = Policy {
                    server_id: server.id.clone(),
                    id: s(&policy["id"]),
                    name: s(&policy["name"]),
                    status: s(&policy["status"]),
                    clients: strings(&policy["conditions"]["clients"]["include"]),
                };
                let path = format!(
                    "/api/v1/authorizationServers/{}/policies/{}/rules",
                    segment(&server.id),
                    segment(&policy.id)
                );
                let rules = client
                    .list(
                        &path,
                        &format!(
                            "listing the rules of access policy {:?} (GET {path})",
                            policy.name
                        ),
                    )
                    .await?;
                snapshot.rules.extend(
                    rules
                        .into_iter()
                        .map(|r| Rule::from_json(&server.id, &policy.id, r)),
                );
                snapshot.policies.push(policy);
            }
            snapshot.servers.push(server);
        }
        let apps = client
            .list(
                &format!("/api/v1/apps{}", query(&[("limit", "200")])),
                "listing apps (GET /api/v1/apps)",
            )
            .await?;
        snapshot.apps = apps.iter().map(App::from_json).collect();
        Ok(snapshot)
    }

    pub fn server(&self, id: &str) -> Option<&AuthServer> {
        self.servers.iter().find(|s| s.id == id)
    }
    pub fn policy(&self, server_id: &str, id: &str) -> Option<&Policy> {
        self.policies
            .iter()
            .find(|p| p.server_id == server_id && p.id == id)
    }
    pub fn hook(&self, id: &str) -> Option<&Hook> {
        self.hooks.iter().find(|h| h.id == id)
    }

    /// "server › policy › rule", for people.
    pub fn rule_path(&self, rule: &Rule) -> String {
        let server = self
            .server(&rule.server_id)
            .map(|s| s.name.as_str())
            .unwrap_or(&rule.server_id);
        let policy = self
            .policy(&rule.server_id, &rule.policy_id)
            .map(|p| p.name.as_str())
            .unwrap_or(&rule.policy_id);
        format!("{server} › {policy} › {}", rule.name)
    }

    /// A rule can mint tokens when it, its policy and its server are all active.
    pub fn rule_live(&self, rule: &Rule) -> bool {
        rule.status == "ACTIVE"
            && self
                .policy(&rule.server_id, &rule.policy_id)
                .is_some_and(|p| p.status == "ACTIVE")
            && self
                .server(&rule.server_id)
                .is_some_and(|s| s.status == "ACTIVE")
    }

    /// The rules through which `client_id` can get tokens from a custom authorization server:
    /// every rule of every policy whose clients include it (or `ALL_CLIENTS`), any status.
    pub fn rules_for_client<'a>(&'a self, client_id: &str) -> Vec<&'a Rule> {
        self.rules
            .iter()
            .filter(|r| {
                self.policy(&r.server_id, &r.policy_id).is_some_and(|p| {
                    p.clients
                        .iter()
                        .any(|c| c == "ALL_CLIENTS" || c == client_id)
                })
            })
            .collect()
    }
}

/// `GET /api/v1/inlineHooks` (all types; the list is read to its last page).
pub async fn read_hooks(client: &OktaClient) -> Result<Vec<Hook>, AdminError> {
    Ok(client
        .list(
            "/api/v1/inlineHooks",
            "listing inline hooks (GET /api/v1/inlineHooks)",
        )
        .await?
        .into_iter()
        .map(Hook::from_json)
        .collect())
}

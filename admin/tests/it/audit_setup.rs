//! `nl3-okta-admin` against a stand-in of Okta's Management API that checks every request and
//! response against Okta's OpenAPI document (tests/okta_stand_in/server.py).

use nl3_testkit::moto::Moto;
use nl3_testkit::okta::fixtures::*;
use nl3_testkit::okta::{self, empty_seed, seed, with, Org};
use nl3_testkit::{b64, free_port};
use serde_json::{json, Value};

use crate::cli::{admin, Run};

const AUDIT: &[&str] = &["audit", "--hook-url", HOOK_URL];
const AUDIT_JSON: &[&str] = &["audit", "--hook-url", HOOK_URL, "--json"];
const SETUP_ALL: &[&str] = &["setup", "--hook-url", HOOK_URL, "--all"];
const ALICE: &str = "alice@acme.example";

fn rules_of(state: &Value) -> Vec<Value> {
    state["authorizationServers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["policies"].as_array().unwrap().clone())
        .flat_map(|p| p["rules"].as_array().unwrap().clone())
        .collect()
}

/// The inline hook a rule's tokens go through.
fn rule_hook(rule: &Value) -> &Value {
    &rule["actions"]["token"]["inlineHook"]["id"]
}

/// The secret Okta stores for `hook` (the stand-in keeps it aside: Okta never shows it).
fn hook_secret<'a>(state: &'a Value, hook: &Value) -> &'a Value {
    &state["hookSecrets"][hook["id"].as_str().unwrap()]
}

/// Rule `i` of the default server's only policy.
fn set_rule(s: &mut Value, i: usize, rule: Value) {
    s["authorizationServers"][0]["policies"][0]["rules"][i] = rule;
}

/// Appends `item` to the seed's `list` ("hooks", "apps").
fn push(s: &mut Value, list: &str, item: Value) {
    s[list].as_array_mut().unwrap().push(item);
}

/// An environment of just these variables.
fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    with(Vec::new(), pairs)
}

/// The covered org, but the NL3 token hook is INACTIVE and the Partners rule calls another
/// team's claims hook instead.
fn inactive_hook_and_claims_hook_on_partners() -> Value {
    let mut s = covered_org();
    s["hooks"][0]["status"] = json!("INACTIVE");
    push(
        &mut s,
        "hooks",
        hook(
            "calCLAIMS0001",
            "Claims enrichment",
            TOKEN,
            "ACTIVE",
            OTHER_URL,
        ),
    );
    set_rule(
        &mut s,
        1,
        rule("0prRULE000002", "Partners", Some("calCLAIMS0001")),
    );
    s
}

/// `audit` as a table (exit `code`, saying each of `says`), then as JSON: the report.
async fn audit(org: &Org, code: i32, says: &[&str]) -> Value {
    admin(AUDIT, &org.env()).await.exits(code).says(says);
    admin(AUDIT_JSON, &org.env()).await.exits(code).json()
}

/// An org with one custom SAML app and no hooks: `setup` has to create one, with a secret.
async fn payroll_only() -> Org {
    let mut s = empty_seed();
    s["apps"] = json!([saml_app("0oaSAML000001", "Payroll", None)]);
    seed(s).await
}

/// The environment that makes `setup` read the hook secret from `secret_id` in moto.
fn secrets_manager_env(moto: &Moto, secret_id: &str) -> Vec<(String, String)> {
    vars(&[
        ("SECRET_ID", secret_id),
        ("AWS_ENDPOINT_URL", moto.url.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ])
}

#[tokio::test]
async fn a_fully_covered_org_passes() {
    let org = seed(covered_org()).await;
    let report = audit(
        &org,
        0,
        &[
            "4 covered, 0 not covered",
            "Every sign-in that an inline hook can cover is covered.",
            // The table names the hooks, the rules and the apps.
            "NL3 account protection (token)",
            "Default Policy Rule",
            "Partners",
            "Payroll",
            "Portal",
        ],
    )
    .await;
    assert_eq!(report["summary"]["covered"], 4);
    assert_eq!(report["summary"]["notCovered"], 0);
    assert_eq!(report["hooks"].as_array().unwrap().len(), 2);
    assert!(report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["verdict"] == "covered"));
    assert_eq!(report["oidcApps"][0]["verdict"], "covered");
    assert_eq!(report["samlApps"][0]["verdict"], "covered");
    org.assert_clean().await;
}

#[tokio::test]
async fn a_rule_without_the_hook_fails_and_is_named() {
    let mut s = covered_org();
    set_rule(&mut s, 1, rule("0prRULE000002", "Partners", None));
    let org = seed(s).await;
    let report = audit(
        &org,
        1,
        &[
            "NOT COVERED",
            "rule \"Partners\" (default › Default Policy, 0prRULE000002): no inline hook attached",
        ],
    )
    .await;
    // The OIDC app that this rule can mint tokens for is not covered either.
    assert_eq!(report["summary"]["notCovered"], 2, "{report:#}");
    assert_eq!(report["oidcApps"][0]["verdict"], "not-covered");
    assert!(report["notCovered"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l.as_str().unwrap().contains("Partners")));
    org.assert_clean().await;
}

#[tokio::test]
async fn a_saml_app_without_the_hook_fails_and_is_named() {
    let mut s = covered_org();
    s["apps"][0] = saml_app("0oaSAML000001", "Payroll", None);
    push(
        &mut s,
        "apps",
        catalog_saml_app("0oaCATALOG001", "Salesforce"),
    );
    let org = seed(s).await;
    let report = audit(
        &org,
        1,
        &[
            "SAML_2_0 app \"Payroll\" (0oaSAML000001): no inline hook attached",
            // A catalog app cannot be covered: a warning, not a failure.
            "SAML_2_0 app \"Salesforce\" (0oaCATALOG001): catalog (OIN) app",
        ],
    )
    .await;
    assert_eq!(report["summary"]["notCovered"], 1);
    assert_eq!(report["summary"]["cannotBeCovered"], 1);
    org.assert_clean().await;
}

#[tokio::test]
async fn an_oidc_app_on_the_org_authorization_server_is_a_warning() {
    let mut s = covered_org();
    // The only policy now names another client: the app's tokens come from the org server.
    s["authorizationServers"][0]["policies"][0]["conditions"]["clients"]["include"] =
        json!(["0oaOTHER00001"]);
    push(&mut s, "apps", oidc_app("0oaOTHER00001", "Partner portal"));
    let org = seed(s).await;
    // A warning is not a failure: exit 0.
    let report = audit(
        &org,
        0,
        &[
            "Warnings (cannot be covered by an inline hook):",
            "OIDC app \"Portal\" (0oaOIDC000001): no active access policy of a custom authorization server includes this client",
        ],
    )
    .await;
    assert_eq!(report["summary"]["cannotBeCovered"], 1);
    let verdicts: Vec<_> = report["oidcApps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["label"].clone(), a["verdict"].clone()))
        .collect();
    for expected in [
        (json!("Portal"), json!("cannot-be-covered")),
        (json!("Partner portal"), json!("covered")),
    ] {
        assert!(verdicts.contains(&expected), "{verdicts:?}");
    }
    org.assert_clean().await;
}

#[tokio::test]
async fn an_inactive_hook_or_one_pointing_elsewhere_is_not_coverage() {
    let org = seed(inactive_hook_and_claims_hook_on_partners()).await;
    admin(AUDIT, &org.env()).await.exits(1).says(&[
        "hook \"NL3 account protection (token)\" is INACTIVE: Okta skips it",
        &format!("hook \"Claims enrichment\" calls {OTHER_URL}, not {HOOK_URL}"),
    ]);
    org.assert_clean().await;
}

#[tokio::test]
async fn every_page_is_read() {
    let mut s = covered_org();
    s["pageSize"] = json!(2);
    let mut servers = vec![];
    for i in 0..5 {
        servers.push(server(
            &format!("ausSERVER{i:04}"),
            &format!("server {i}"),
            vec![policy(
                &format!("00pPOLICY{i:04}"),
                "Policy",
                &["ALL_CLIENTS"],
                vec![rule(
                    &format!("0prRULE{i:06}"),
                    &format!("rule {i}"),
                    Some("calTOKEN00001"),
                )],
            )],
        ));
    }
    s["authorizationServers"] = json!(servers);
    for i in 0..6 {
        push(
            &mut s,
            "apps",
            saml_app(
                &format!("0oaSAMLPAGE{i:02}"),
                &format!("App {i}"),
                Some("calSAML000001"),
            ),
        );
    }
    let org = seed(s).await;
    let report = admin(AUDIT_JSON, &org.env()).await;
    let report = report.exits(0).json();
    assert_eq!(report["rules"].as_array().unwrap().len(), 5);
    assert_eq!(report["samlApps"].as_array().unwrap().len(), 7);
    assert_eq!(report["oidcApps"].as_array().unwrap().len(), 1);
    let requests = org.requests().await;
    let pages = |of: &str| requests.iter().filter(|r| r.starts_with(of)).count();
    assert_eq!(
        (
            pages("GET /api/v1/authorizationServers?"),
            pages("GET /api/v1/apps?")
        ),
        (3, 4),
        "{requests:#?}"
    );
    assert!(
        requests.iter().any(|r| r.contains("after=")),
        "{requests:#?}"
    );
    org.assert_clean().await;
}

#[tokio::test]
async fn a_429_mid_audit_is_waited_out() {
    let mut s = covered_org();
    s["rateLimitAt"] = json!([3]);
    let org = seed(s).await;
    let run = admin(AUDIT_JSON, &org.env()).await;
    run.exits(0).complains(&["rate limit"]);
    assert_eq!(run.json()["summary"]["covered"], 4);
    let requests = org.requests().await;
    let limited = requests
        .iter()
        .position(|r| r.ends_with("-> 429"))
        .expect("a 429 was sent");
    // The same call was made again, and answered.
    let again = requests[limited].replace("-> 429", "-> 200");
    assert_eq!(requests[limited + 1], again, "{requests:#?}");
    org.assert_clean().await;
}

#[tokio::test]
async fn rate_limits_that_do_not_end_fail_with_a_clear_error() {
    let mut s = covered_org();
    s["rateLimitAt"] = json!([1, 2, 3, 4, 5, 6, 7, 8]);
    let org = seed(s).await;
    let started = std::time::Instant::now();
    let env = with(org.env(), &[("NL3_ADMIN_RATE_LIMIT_MAX_WAIT_SECS", "2")]);
    admin(AUDIT, &env)
        .await
        .exits(3)
        .complains(&["listing inline hooks", "429 Too Many Requests"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    org.assert_clean().await;
}

#[tokio::test]
async fn setup_from_nothing_then_audit_is_clean_then_setup_changes_nothing() {
    let mut s = empty_seed();
    s["authorizationServers"] = json!([server(
        "ausDEFAULT001",
        "default",
        vec![policy(
            "00pPOLICY0001",
            "Default Policy",
            &["ALL_CLIENTS"],
            vec![
                rule("0prRULE000001", "Default Policy Rule", None),
                rule("0prRULE000002", "Partners", None),
                machine_rule("0prRULE000003", "Machines"),
            ]
        ),]
    )]);
    s["apps"] = json!([
        saml_app("0oaSAML000001", "Payroll", None),
        catalog_saml_app("0oaCATALOG001", "Salesforce"),
        oidc_app("0oaOIDC000001", "Portal")
    ]);
    let org = seed(s).await;
    let env = with(org.env(), &[("API_KEY", "nl3-api-key-123")]);

    admin(AUDIT, &org.env()).await.exits(1);

    // --dry-run prints the plan and writes nothing.
    admin(&[SETUP_ALL, &["--dry-run"]].concat(), &env)
        .await
        .exits(0)
        .says(&[
            "create the token hook \"NL3 account protection (token)\"",
            "attach the new SAML hook to SAML app \"Payroll\"",
            "--dry-run: nothing changed.",
        ]);
    assert!(org.writes().await.is_empty());

    // The catalog app is reported as skipped.
    admin(SETUP_ALL, &env).await.exits(0).says(&["Salesforce"]);
    let state = org.assert_clean().await;
    let hooks = state["hooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 2, "{hooks:#?}");
    for h in hooks {
        assert_eq!(h["status"], "ACTIVE");
        assert_eq!(h["channel"]["config"]["uri"], HOOK_URL);
        assert_eq!(h["channel"]["config"]["authScheme"]["key"], "Authorization");
        // base64("nl3-api-key-123"), NL3's documented form
        assert_eq!(hook_secret(&state, h), "bmwzLWFwaS1rZXktMTIz");
    }
    let hook_of = |kind: &str| hooks.iter().find(|h| h["type"] == kind).unwrap()["id"].clone();
    let (token_hook, saml_hook) = (hook_of(TOKEN), hook_of(SAML));
    let rules = rules_of(&state);
    assert_eq!(rule_hook(&rules[0]), &token_hook);
    assert_eq!(rule_hook(&rules[1]), &token_hook);
    assert!(
        rules[2]["actions"]["token"].get("inlineHook").is_none(),
        "client-credentials rule left alone"
    );
    let apps = state["apps"].as_array().unwrap();
    assert_eq!(
        apps[0]["settings"]["signOn"]["inlineHooks"],
        json!([{"id": saml_hook}])
    );
    assert_eq!(apps[1]["settings"]["signOn"]["inlineHooks"], json!([]));
    // The rest of the rule and app is as it was.
    assert_eq!(rules[0]["name"], "Default Policy Rule");
    assert_eq!(
        rules[0]["conditions"]["grantTypes"]["include"],
        json!(["implicit", "authorization_code"])
    );
    assert_eq!(
        apps[0]["settings"]["signOn"]["ssoAcsUrl"],
        "https://0oaSAML000001.example.com/saml/acs"
    );

    admin(AUDIT, &org.env()).await.exits(0);

    let writes_before = org.writes().await.len();
    admin(SETUP_ALL, &env)
        .await
        .exits(0)
        .says(&["nothing to change"]);
    assert_eq!(
        org.writes().await.len(),
        writes_before,
        "the second run wrote something"
    );
    let after = org.assert_clean().await;
    assert_eq!(after["hooks"], state["hooks"]);
    assert_eq!(rules_of(&after), rules);
}

#[tokio::test]
async fn setup_by_id_activates_an_inactive_hook_and_leaves_other_hooks_alone() {
    let mut s = inactive_hook_and_claims_hook_on_partners();
    set_rule(
        &mut s,
        0,
        rule("0prRULE000001", "Default Policy Rule", None),
    );
    let org = seed(s).await;
    let env = org.env(); // no API_KEY: the existing hook is reused, no secret needed
    let setup_rule = |id| ["setup", "--hook-url", HOOK_URL, "--rule", id];
    admin(
        &[
            &setup_rule("0prRULE000001")[..],
            &["--rule", "0prRULE000002"],
        ]
        .concat(),
        &env,
    )
    .await
    .exits(0)
    .says(&["activate the token hook", "pass --replace-other-hooks"]);
    let state = org.assert_clean().await;
    let rules = rules_of(&state);
    assert_eq!(rule_hook(&rules[0]), "calTOKEN00001");
    assert_eq!(rule_hook(&rules[1]), "calCLAIMS0001");
    assert_eq!(state["hooks"][0]["status"], "ACTIVE");

    admin(
        &[&setup_rule("0prRULE000002")[..], &["--replace-other-hooks"]].concat(),
        &env,
    )
    .await
    .exits(0);
    let rules = rules_of(&org.assert_clean().await);
    assert_eq!(rule_hook(&rules[1]), "calTOKEN00001");
    admin(AUDIT, &env).await.exits(0);
}

#[tokio::test]
async fn setup_without_the_secret_stops_before_changing_anything() {
    let org = payroll_only().await;
    admin(SETUP_ALL, &org.env())
        .await
        .exits(2)
        .complains(&["set SECRET_ID", "API_KEY"]);
    assert!(org.writes().await.is_empty());
}

#[tokio::test]
async fn a_wrong_token_is_a_clear_error() {
    let org = seed(covered_org()).await;
    let env = vars(&[
        ("OKTA_ORG_URL", &org.base),
        ("OKTA_API_TOKEN", "00wrong-token-value"),
    ]);
    let run = admin(AUDIT, &env).await;
    run.exits(3).complains(&[
        "Okta refused the credentials (401 E0000011: Invalid token provided)",
        "check OKTA_API_TOKEN",
    ]);
    assert!(run.stdout.is_empty(), "{run:?}");
    let global = okta::global_violations().await;
    assert!(global.is_empty(), "{global:#?}");
}

#[tokio::test]
async fn an_unreachable_org_and_bad_settings_are_clear_errors() {
    let env = |url: &str| vars(&[("OKTA_ORG_URL", url), ("OKTA_API_TOKEN", "00tok")]);
    // A loopback port nothing listens on.
    let unreachable = format!("http://127.0.0.1:{}", free_port());
    admin(AUDIT, &env(&unreachable))
        .await
        .exits(3)
        .complains(&["could not connect", "check OKTA_ORG_URL"]);

    admin(AUDIT, &env("http://acme.okta.com"))
        .await
        .exits(2)
        .complains(&["must use https"]);

    admin(AUDIT, &vars(&[("OKTA_ORG_URL", "https://acme.okta.com")]))
        .await
        .exits(2)
        .complains(&["OKTA_API_TOKEN"]);

    admin(&["audit", "--frobnicate"], &[])
        .await
        .exits(2)
        .complains(&["Usage:"]);
}

#[tokio::test]
async fn a_service_app_with_private_key_jwt_gets_the_scopes_it_needs() {
    // The stand-in checks each call's scope against the operation's `security` in Okta's
    // document: audit and setup succeed only if they ask for the scopes they need.
    let mut s = covered_org();
    s["oauth"] = json!(true);
    set_rule(&mut s, 1, rule("0prRULE000002", "Partners", None));
    let org = seed(s).await;
    let client_id = org.client_id.clone().unwrap();
    let private_key = org.private_key_pem.clone().unwrap();
    let env = |client_id: &str, private_key: &str| {
        vars(&[
            ("OKTA_ORG_URL", &org.base),
            ("OKTA_CLIENT_ID", client_id),
            ("OKTA_PRIVATE_KEY", private_key),
        ])
    };
    let good = env(&client_id, &private_key);
    admin(AUDIT, &good)
        .await
        .exits(1)
        .says(&["2 covered, 2 not covered"]);
    admin(SETUP_ALL, &good).await.exits(0);
    admin(AUDIT, &good).await.exits(0);
    let state = org.assert_clean().await;
    assert!(state["requests"].as_array().unwrap().iter().any(|r| r
        .as_str()
        .unwrap()
        .starts_with("PUT /api/v1/authorizationServers/")));

    let bad_key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    admin(AUDIT, &env(&client_id, bad_key))
        .await
        .exits(2)
        .complains(&["not an unencrypted RSA private key"]);

    admin(AUDIT, &env("0oaUNKNOWNCLIENT", &private_key))
        .await
        .exits(3)
        .complains(&[
            "getting an access token for the service app: Okta answered 401 invalid_client",
        ]);
}

mod preview {
    use super::*;
    use wiremock::matchers::{body_partial_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// The hook at `server` answers `answer` to exactly one call whose body includes `request`.
    async fn hook_answers(server: &MockServer, request: Value, answer: Value) {
        Mock::given(method("POST"))
            .and(path("/okta/hook"))
            .and(header("Authorization", "c2VjcmV0"))
            .and(body_partial_json(request))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .expect(1)
            .mount(server)
            .await;
    }

    /// `preview --user LOGIN` with `more` arguments.
    async fn preview(env: &[(String, String)], user: &str, more: &[&str]) -> Run {
        admin(&[&["preview", "--user", user][..], more].concat(), env).await
    }

    #[tokio::test]
    async fn preview_shows_what_the_hook_answered_and_why() {
        let hook_server = MockServer::start().await;
        let hook_url = format!("{}/okta/hook", hook_server.uri());
        hook_answers(
            &hook_server,
            json!({
                "eventType": TOKEN,
                "data": {"context": {"user": {"profile": {"login": ALICE}},
                                     "protocol": {"request": {"client_id": "0oaOIDC000001"}}}}
            }),
            json!({
                "error": {"errorSummary": "Your account is locked. Unlock it in the NL3 app."},
                "debugContext": {"decision": "locked", "user": ALICE, "nl3Ms": 41}
            }),
        )
        .await;
        hook_answers(
            &hook_server,
            json!({"eventType": SAML}),
            json!({
                "commands": [], "debugContext": {"decision": "allowed", "user": ALICE}
            }),
        )
        .await;

        let mut s = covered_org();
        s["oauth"] = json!(true);
        s["hooks"][0]["channel"]["config"]["uri"] = json!(hook_url);
        s["hooks"][1]["channel"]["config"]["uri"] = json!(hook_url);
        let org = seed(s).await;

        // A refused sign-in exits 1.
        preview(
            &org.env(),
            ALICE,
            &["--app", "0oaOIDC000001", "--hook-url", &hook_url],
        )
        .await
        .exits(1)
        .says(&[
            "Answer: REFUSED",
            "Your account is locked.",
            "\"decision\": \"locked\"",
        ]);

        let run = preview(
            &org.env(),
            ALICE,
            &["--app", "0oaSAML000001", "--hook-url", &hook_url, "--json"],
        )
        .await;
        let out = run.exits(0).json();
        assert_eq!(out["decision"], "allowed");
        assert_eq!(out["hook"]["type"], SAML);
        assert_eq!(out["answer"]["debugContext"]["decision"], "allowed");

        // A hook Okta cannot reach: Okta's answer is passed on.
        let mut dead = covered_org();
        dead["hooks"][0]["channel"]["config"]["uri"] =
            json!(format!("http://127.0.0.1:{}/okta/hook", free_port()));
        let dead = seed(dead).await;
        preview(&dead.env(), ALICE, &[]).await.exits(3).complains(&[
            "executing hook \"NL3 account protection (token)\" through Okta",
            "the inline hook call failed",
        ]);
        dead.assert_clean().await;

        preview(&org.env(), "nobody@acme.example", &[])
            .await
            .exits(3)
            .complains(&["no user with login or ID \"nobody@acme.example\""]);
        org.assert_clean().await;
    }
}

/// The stand-in itself: a request or a response that Okta's document does not allow is caught.
#[tokio::test]
async fn the_stand_in_rejects_what_okta_would_reject() {
    let mut s = covered_org();
    // A rule whose status Okta never returns: the response that carries it is a violation.
    s["authorizationServers"][0]["policies"][0]["rules"][0]["status"] = json!("PAUSED");
    let org = seed(s).await;
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{}{path}", org.base))
            .header("Authorization", format!("SSWS {}", org.token))
    };
    let answer = call(reqwest::Method::POST, "/api/v1/inlineHooks")
        .header("Content-Type", "application/json")
        .body(json!({"name": "x", "type": "com.okta.unknown.hook", "version": "1.0.0"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let answer = call(
        reqwest::Method::GET,
        "/api/v1/authorizationServers/ausDEFAULT001/policies/00pPOLICY0001/rules",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(answer.status(), 200);
    let violations = org.state().await["violations"].clone();
    let text = violations.to_string();
    assert!(
        text.contains("request POST /api/v1/inlineHooks") && text.contains("com.okta.unknown.hook"),
        "{violations:#}"
    );
    assert!(
        text.contains("response 200 to GET") && text.contains("PAUSED"),
        "{violations:#}"
    );
}

#[tokio::test]
async fn setup_takes_the_hook_secret_from_secrets_manager() {
    let moto = Moto::start(0).await;
    moto.client()
        .create_secret()
        .name("nl3-okta-hook/secrets")
        .secret_string(
            r#"{"API_KEY": "from-secrets-manager", "SIGNING_KEY": "c2lnbg==", "IPINFO_TOKEN": "t"}"#,
        )
        .send()
        .await
        .expect("create_secret on moto");
    let setup = |org: &Org, secret_id: &str| {
        let env = [org.env(), secrets_manager_env(&moto, secret_id)].concat();
        async move { admin(SETUP_ALL, &env).await }
    };

    let org = payroll_only().await;
    let run = setup(&org, "nl3-okta-hook/secrets").await;
    run.exits(0);
    for secret in ["from-secrets-manager", "ZnJvbS1zZWNyZXRzLW1hbmFnZXI="] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{run:?}"
        );
    }
    let state = org.assert_clean().await;
    let hook = &state["hooks"][0];
    assert_eq!(hook["type"], SAML);
    // base64("from-secrets-manager")
    assert_eq!(hook_secret(&state, hook), "ZnJvbS1zZWNyZXRzLW1hbmFnZXI=");

    // A secret that does not exist: a clear error, nothing changed.
    let org = payroll_only().await;
    setup(&org, "no-such-secret")
        .await
        .exits(2)
        .complains(&["reading secret \"no-such-secret\" from Secrets Manager failed"]);
    assert!(org.writes().await.is_empty());
}

#[tokio::test]
async fn update_secret_keeps_the_hooks_own_headers() {
    // The API gateway's key travels as a custom header of the hook: rewriting the header
    // secret must not drop it (without it every call is refused before the function).
    let mut s = covered_org();
    s["hooks"][0]["channel"]["config"]["headers"] =
        json!([{"key": "x-api-key", "value": "gateway-key"}]);
    let org = seed(s).await;
    let env = with(org.env(), &[("API_KEY", "rotated-key-456")]);
    admin(&[SETUP_ALL, &["--update-secret"]].concat(), &env)
        .await
        .exits(0);
    let state = org.assert_clean().await;
    let token = &state["hooks"][0];
    assert_eq!(
        token["channel"]["config"]["headers"],
        json!([{"key": "x-api-key", "value": "gateway-key"}])
    );
    assert_eq!(hook_secret(&state, token), &json!(b64("rotated-key-456")));
    assert_eq!(
        hook_secret(&state, &state["hooks"][1]),
        &json!(b64("rotated-key-456"))
    );
}

#[tokio::test]
async fn setup_sends_the_gateway_key_as_x_api_key_when_given() {
    // Behind the template's API Gateway a hook without `x-api-key` is refused before the
    // function (403: Okta lets the sign-in through unchecked). GATEWAY_API_KEY puts it on every
    // hook setup writes, and marks an existing hook without it for an update.
    let org = payroll_only().await;
    let env = with(
        org.env(),
        &[
            ("API_KEY", "nl3-api-key-123"),
            ("GATEWAY_API_KEY", "gw-key-789"),
        ],
    );
    admin(SETUP_ALL, &env).await.exits(0);
    let state = org.assert_clean().await;
    let created = &state["hooks"][0];
    assert_eq!(
        created["channel"]["config"]["headers"],
        json!([{"key": "x-api-key", "value": "gw-key-789"}])
    );

    // An existing NL3 hook without the header: updated, its other headers kept.
    let mut s = covered_org();
    s["hooks"][1]["channel"]["config"]["headers"] = json!([{"key": "X-Team", "value": "iam"}]);
    let org = seed(s).await;
    let env = with(
        org.env(),
        &[
            ("API_KEY", "nl3-api-key-123"),
            ("GATEWAY_API_KEY", "gw-key-789"),
        ],
    );
    admin(SETUP_ALL, &env)
        .await
        .exits(0)
        .says(&["it sends no x-api-key header (GATEWAY_API_KEY is set)"]);
    let state = org.assert_clean().await;
    assert_eq!(
        state["hooks"][1]["channel"]["config"]["headers"],
        json!([{"key": "X-Team", "value": "iam"}, {"key": "x-api-key", "value": "gw-key-789"}])
    );
    // Once they all send it, setup changes nothing.
    admin(SETUP_ALL, &env)
        .await
        .exits(0)
        .says(&["Nothing changed."]);
}

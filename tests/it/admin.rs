//! `nl3-okta-admin` against a stand-in of Okta's Management API that checks every request and
//! response against Okta's OpenAPI document (tests/okta_stand_in/server.py).

mod fixtures;
mod moto;
mod stand_in;

use fixtures::*;
use serde_json::{json, Value};
use stand_in::{admin, empty_seed, seed, with};

const AUDIT: &[&str] = &["audit", "--hook-url", HOOK_URL];
const AUDIT_JSON: &[&str] = &["audit", "--hook-url", HOOK_URL, "--json"];

fn rules_of(state: &Value) -> Vec<Value> {
    state["authorizationServers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["policies"].as_array().unwrap().clone())
        .flat_map(|p| p["rules"].as_array().unwrap().clone())
        .collect()
}

fn writes(requests: &[String]) -> Vec<&String> {
    requests.iter().filter(|r| !r.starts_with("GET ")).collect()
}

#[tokio::test]
async fn a_fully_covered_org_passes() {
    let org = seed(covered_org()).await;
    let run = admin(AUDIT, &org.env()).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("4 covered, 0 not covered"), "{run:?}");
    assert!(run
        .stdout
        .contains("Every sign-in that an inline hook can cover is covered."));
    // The table names the hooks, the rules and the apps.
    for name in [
        "NL3 account protection (token)",
        "Default Policy Rule",
        "Partners",
        "Payroll",
        "Portal",
    ] {
        assert!(run.stdout.contains(name), "{name} missing:\n{run:?}");
    }

    let json = admin(AUDIT_JSON, &org.env()).await;
    assert_eq!(json.code, 0, "{json:?}");
    let report = json.json();
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
    s["authorizationServers"][0]["policies"][0]["rules"][1] =
        rule("0prRULE000002", "Partners", None);
    let org = seed(s).await;
    let run = admin(AUDIT, &org.env()).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("NOT COVERED"), "{run:?}");
    assert!(
        run.stdout.contains(
            "rule \"Partners\" (default › Default Policy, 0prRULE000002): no inline hook attached"
        ),
        "{run:?}"
    );
    // The OIDC app that this rule can mint tokens for is not covered either.
    let report = admin(AUDIT_JSON, &org.env()).await.json();
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
    s["apps"]
        .as_array_mut()
        .unwrap()
        .push(catalog_saml_app("0oaCATALOG001", "Salesforce"));
    let org = seed(s).await;
    let run = admin(AUDIT, &org.env()).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("SAML_2_0 app \"Payroll\" (0oaSAML000001): no inline hook attached"),
        "{run:?}"
    );
    // A catalog app cannot be covered: a warning, not a failure.
    assert!(
        run.stdout
            .contains("SAML_2_0 app \"Salesforce\" (0oaCATALOG001): catalog (OIN) app"),
        "{run:?}"
    );
    let report = admin(AUDIT_JSON, &org.env()).await.json();
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
    s["apps"]
        .as_array_mut()
        .unwrap()
        .push(oidc_app("0oaOTHER00001", "Partner portal"));
    let org = seed(s).await;
    let run = admin(AUDIT, &org.env()).await;
    assert_eq!(run.code, 0, "a warning is not a failure: {run:?}");
    assert!(
        run.stdout
            .contains("Warnings (cannot be covered by an inline hook):"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("OIDC app \"Portal\" (0oaOIDC000001): no active access policy of a custom authorization server includes this client"),
        "{run:?}"
    );
    let report = admin(AUDIT_JSON, &org.env()).await.json();
    assert_eq!(report["summary"]["cannotBeCovered"], 1);
    let verdicts: Vec<_> = report["oidcApps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["label"].clone(), a["verdict"].clone()))
        .collect();
    assert!(
        verdicts.contains(&(json!("Portal"), json!("cannot-be-covered"))),
        "{verdicts:?}"
    );
    assert!(
        verdicts.contains(&(json!("Partner portal"), json!("covered"))),
        "{verdicts:?}"
    );
    org.assert_clean().await;
}

#[tokio::test]
async fn an_inactive_hook_or_one_pointing_elsewhere_is_not_coverage() {
    let mut s = covered_org();
    s["hooks"][0]["status"] = json!("INACTIVE");
    s["hooks"].as_array_mut().unwrap().push(hook(
        "calCLAIMS0001",
        "Claims enrichment",
        TOKEN,
        "ACTIVE",
        OTHER_URL,
    ));
    s["authorizationServers"][0]["policies"][0]["rules"][1] =
        rule("0prRULE000002", "Partners", Some("calCLAIMS0001"));
    let org = seed(s).await;
    let run = admin(AUDIT, &org.env()).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("hook \"NL3 account protection (token)\" is INACTIVE: Okta skips it"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains(&format!(
            "hook \"Claims enrichment\" calls {OTHER_URL}, not {HOOK_URL}"
        )),
        "{run:?}"
    );
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
    let apps = s["apps"].as_array_mut().unwrap();
    for i in 0..6 {
        apps.push(saml_app(
            &format!("0oaSAMLPAGE{i:02}"),
            &format!("App {i}"),
            Some("calSAML000001"),
        ));
    }
    let org = seed(s).await;
    let report = admin(AUDIT_JSON, &org.env()).await;
    assert_eq!(report.code, 0, "{report:?}");
    let report = report.json();
    assert_eq!(report["rules"].as_array().unwrap().len(), 5);
    assert_eq!(report["samlApps"].as_array().unwrap().len(), 7);
    assert_eq!(report["oidcApps"].as_array().unwrap().len(), 1);
    let requests = org.requests().await;
    let server_pages = requests
        .iter()
        .filter(|r| r.starts_with("GET /api/v1/authorizationServers?"))
        .count();
    let app_pages = requests
        .iter()
        .filter(|r| r.starts_with("GET /api/v1/apps?"))
        .count();
    assert_eq!((server_pages, app_pages), (3, 4), "{requests:#?}");
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
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("rate limit"), "{run:?}");
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
    let run = admin(
        AUDIT,
        &with(org.env(), &[("NL3_ADMIN_RATE_LIMIT_MAX_WAIT_SECS", "2")]),
    )
    .await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("listing inline hooks"), "{run:?}");
    assert!(run.stderr.contains("429 Too Many Requests"), "{run:?}");
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
    let setup = ["setup", "--hook-url", HOOK_URL, "--all"];

    let before = admin(AUDIT, &org.env()).await;
    assert_eq!(before.code, 1, "{before:?}");

    // --dry-run prints the plan and writes nothing.
    let dry = admin(&[&setup[..], &["--dry-run"]].concat(), &env).await;
    assert_eq!(dry.code, 0, "{dry:?}");
    assert!(
        dry.stdout
            .contains("create the token hook \"NL3 account protection (token)\""),
        "{dry:?}"
    );
    assert!(
        dry.stdout
            .contains("attach the new SAML hook to SAML app \"Payroll\""),
        "{dry:?}"
    );
    assert!(
        dry.stdout.contains("--dry-run: nothing changed."),
        "{dry:?}"
    );
    assert!(writes(&org.requests().await).is_empty());

    let first = admin(&setup, &env).await;
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first.stdout.contains("Salesforce"),
        "the catalog app is reported as skipped: {first:?}"
    );
    let state = org.assert_clean().await;
    let hooks = state["hooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 2, "{hooks:#?}");
    for h in hooks {
        assert_eq!(h["status"], "ACTIVE");
        assert_eq!(h["channel"]["config"]["uri"], HOOK_URL);
        assert_eq!(h["channel"]["config"]["authScheme"]["key"], "Authorization");
        // base64("nl3-api-key-123"), NL3's documented form
        assert_eq!(
            state["hookSecrets"][h["id"].as_str().unwrap()],
            "bmwzLWFwaS1rZXktMTIz"
        );
    }
    let token_hook = hooks.iter().find(|h| h["type"] == TOKEN).unwrap()["id"].clone();
    let saml_hook = hooks.iter().find(|h| h["type"] == SAML).unwrap()["id"].clone();
    let rules = rules_of(&state);
    assert_eq!(rules[0]["actions"]["token"]["inlineHook"]["id"], token_hook);
    assert_eq!(rules[1]["actions"]["token"]["inlineHook"]["id"], token_hook);
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

    let audit = admin(AUDIT, &org.env()).await;
    assert_eq!(audit.code, 0, "{audit:?}");

    let writes_before = writes(&org.requests().await).len();
    let second = admin(&setup, &env).await;
    assert_eq!(second.code, 0, "{second:?}");
    assert!(second.stdout.contains("nothing to change"), "{second:?}");
    assert_eq!(
        writes(&org.requests().await).len(),
        writes_before,
        "the second run wrote something"
    );
    let after = org.assert_clean().await;
    assert_eq!(after["hooks"], state["hooks"]);
    assert_eq!(rules_of(&after), rules);
}

#[tokio::test]
async fn setup_by_id_activates_an_inactive_hook_and_leaves_other_hooks_alone() {
    let mut s = covered_org();
    s["hooks"][0]["status"] = json!("INACTIVE");
    s["hooks"].as_array_mut().unwrap().push(hook(
        "calCLAIMS0001",
        "Claims enrichment",
        TOKEN,
        "ACTIVE",
        OTHER_URL,
    ));
    s["authorizationServers"][0]["policies"][0]["rules"][0] =
        rule("0prRULE000001", "Default Policy Rule", None);
    s["authorizationServers"][0]["policies"][0]["rules"][1] =
        rule("0prRULE000002", "Partners", Some("calCLAIMS0001"));
    let org = seed(s).await;
    let env = org.env(); // no API_KEY: the existing hook is reused, no secret needed
    let run = admin(
        &[
            "setup",
            "--hook-url",
            HOOK_URL,
            "--rule",
            "0prRULE000001",
            "--rule",
            "0prRULE000002",
        ],
        &env,
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("activate the token hook"), "{run:?}");
    assert!(run.stdout.contains("pass --replace-other-hooks"), "{run:?}");
    let state = org.assert_clean().await;
    let rules = rules_of(&state);
    assert_eq!(
        rules[0]["actions"]["token"]["inlineHook"]["id"],
        "calTOKEN00001"
    );
    assert_eq!(
        rules[1]["actions"]["token"]["inlineHook"]["id"],
        "calCLAIMS0001"
    );
    assert_eq!(state["hooks"][0]["status"], "ACTIVE");

    let run = admin(
        &[
            "setup",
            "--hook-url",
            HOOK_URL,
            "--rule",
            "0prRULE000002",
            "--replace-other-hooks",
        ],
        &env,
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let rules = rules_of(&org.assert_clean().await);
    assert_eq!(
        rules[1]["actions"]["token"]["inlineHook"]["id"],
        "calTOKEN00001"
    );
    assert_eq!(admin(AUDIT, &env).await.code, 0);
}

#[tokio::test]
async fn setup_without_the_secret_stops_before_changing_anything() {
    let mut s = empty_seed();
    s["apps"] = json!([saml_app("0oaSAML000001", "Payroll", None)]);
    let org = seed(s).await;
    let run = admin(&["setup", "--hook-url", HOOK_URL, "--all"], &org.env()).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("set SECRET_ID") && run.stderr.contains("API_KEY"),
        "{run:?}"
    );
    assert!(writes(&org.requests().await).is_empty());
}

#[tokio::test]
async fn a_wrong_token_is_a_clear_error() {
    let org = seed(covered_org()).await;
    let env = vec![
        ("OKTA_ORG_URL".to_string(), org.base.clone()),
        (
            "OKTA_API_TOKEN".to_string(),
            "00wrong-token-value".to_string(),
        ),
    ];
    let run = admin(AUDIT, &env).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr
            .contains("Okta refused the credentials (401 E0000011: Invalid token provided)"),
        "{run:?}"
    );
    assert!(run.stderr.contains("check OKTA_API_TOKEN"), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    let global = stand_in::global_violations().await;
    assert!(global.is_empty(), "{global:#?}");
}

#[tokio::test]
async fn an_unreachable_org_and_bad_settings_are_clear_errors() {
    // A loopback port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = |url: &str| {
        vec![
            ("OKTA_ORG_URL".to_string(), url.to_string()),
            ("OKTA_API_TOKEN".to_string(), "00tok".to_string()),
        ]
    };
    let run = admin(AUDIT, &env(&format!("http://127.0.0.1:{port}"))).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("could not connect") && run.stderr.contains("check OKTA_ORG_URL"),
        "{run:?}"
    );

    let run = admin(AUDIT, &env("http://acme.okta.com")).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("must use https"), "{run:?}");

    let run = admin(
        AUDIT,
        &[(
            "OKTA_ORG_URL".to_string(),
            "https://acme.okta.com".to_string(),
        )],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("OKTA_API_TOKEN"), "{run:?}");

    let run = admin(&["audit", "--frobnicate"], &[]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("USAGE"), "{run:?}");
}

#[tokio::test]
async fn a_service_app_with_private_key_jwt_gets_the_scopes_it_needs() {
    // The stand-in checks each call's scope against the operation's `security` in Okta's
    // document: audit and setup succeed only if they ask for the scopes they need.
    let mut s = covered_org();
    s["oauth"] = json!(true);
    s["authorizationServers"][0]["policies"][0]["rules"][1] =
        rule("0prRULE000002", "Partners", None);
    let org = seed(s).await;
    let env = vec![
        ("OKTA_ORG_URL".to_string(), org.base.clone()),
        ("OKTA_CLIENT_ID".to_string(), org.client_id.clone().unwrap()),
        (
            "OKTA_PRIVATE_KEY".to_string(),
            org.private_key_pem.clone().unwrap(),
        ),
    ];
    let run = admin(AUDIT, &env).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("2 covered, 2 not covered"), "{run:?}");
    let run = admin(&["setup", "--hook-url", HOOK_URL, "--all"], &env).await;
    assert_eq!(run.code, 0, "{run:?}");
    let run = admin(AUDIT, &env).await;
    assert_eq!(run.code, 0, "{run:?}");
    let state = org.assert_clean().await;
    assert!(state["requests"].as_array().unwrap().iter().any(|r| r
        .as_str()
        .unwrap()
        .starts_with("PUT /api/v1/authorizationServers/")));

    let mut bad = env.clone();
    bad[2].1 = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into();
    let run = admin(AUDIT, &bad).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("not an unencrypted RSA private key"),
        "{run:?}"
    );

    let mut unknown = env.clone();
    unknown[1].1 = "0oaUNKNOWNCLIENT".into();
    let run = admin(AUDIT, &unknown).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains(
            "getting an access token for the service app: Okta answered 401 invalid_client"
        ),
        "{run:?}"
    );
}

mod preview {
    use super::*;
    use wiremock::matchers::{body_partial_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[tokio::test]
    async fn preview_shows_what_the_hook_answered_and_why() {
        let hook_server = MockServer::start().await;
        let hook_url = format!("{}/okta/hook", hook_server.uri());
        Mock::given(method("POST"))
            .and(path("/okta/hook"))
            .and(header("Authorization", "c2VjcmV0"))
            .and(body_partial_json(json!({
                "eventType": TOKEN,
                "data": {"context": {"user": {"profile": {"login": "alice@acme.example"}},
                                     "protocol": {"request": {"client_id": "0oaOIDC000001"}}}}
            })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "error": {"errorSummary": "Your account is locked. Unlock it in the NL3 app."},
                "debugContext": {"decision": "locked", "user": "alice@acme.example", "nl3Ms": 41}
            })))
            .expect(1)
            .mount(&hook_server)
            .await;
        Mock::given(method("POST"))
            .and(path("/okta/hook"))
            .and(header("Authorization", "c2VjcmV0"))
            .and(body_partial_json(json!({"eventType": SAML})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "commands": [], "debugContext": {"decision": "allowed", "user": "alice@acme.example"}
            })))
            .expect(1)
            .mount(&hook_server)
            .await;

        let mut s = covered_org();
        s["oauth"] = json!(true);
        s["hooks"][0]["channel"]["config"]["uri"] = json!(hook_url);
        s["hooks"][1]["channel"]["config"]["uri"] = json!(hook_url);
        let org = seed(s).await;

        let run = admin(
            &[
                "preview",
                "--user",
                "alice@acme.example",
                "--app",
                "0oaOIDC000001",
                "--hook-url",
                &hook_url,
            ],
            &org.env(),
        )
        .await;
        assert_eq!(run.code, 1, "a refused sign-in exits 1: {run:?}");
        assert!(run.stdout.contains("Answer: REFUSED"), "{run:?}");
        assert!(run.stdout.contains("Your account is locked."), "{run:?}");
        assert!(run.stdout.contains("\"decision\": \"locked\""), "{run:?}");

        let run = admin(
            &[
                "preview",
                "--user",
                "alice@acme.example",
                "--app",
                "0oaSAML000001",
                "--hook-url",
                &hook_url,
                "--json",
            ],
            &org.env(),
        )
        .await;
        assert_eq!(run.code, 0, "{run:?}");
        let out = run.json();
        assert_eq!(out["decision"], "allowed");
        assert_eq!(out["hook"]["type"], SAML);
        assert_eq!(out["answer"]["debugContext"]["decision"], "allowed");

        // A hook Okta cannot reach: Okta's answer is passed on.
        let mut dead = covered_org();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        dead["hooks"][0]["channel"]["config"]["uri"] =
            json!(format!("http://127.0.0.1:{port}/okta/hook"));
        let dead = seed(dead).await;
        let run = admin(&["preview", "--user", "alice@acme.example"], &dead.env()).await;
        assert_eq!(run.code, 3, "{run:?}");
        assert!(
            run.stderr
                .contains("executing hook \"NL3 account protection (token)\" through Okta"),
            "{run:?}"
        );
        assert!(
            run.stderr.contains("the inline hook call failed"),
            "{run:?}"
        );
        dead.assert_clean().await;

        let run = admin(&["preview", "--user", "nobody@acme.example"], &org.env()).await;
        assert_eq!(run.code, 3, "{run:?}");
        assert!(
            run.stderr
                .contains("no user with login or ID \"nobody@acme.example\""),
            "{run:?}"
        );
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
    let answer = client
        .post(format!("{}/api/v1/inlineHooks", org.base))
        .header("Authorization", format!("SSWS {}", org.token))
        .header("Content-Type", "application/json")
        .body(json!({"name": "x", "type": "com.okta.unknown.hook", "version": "1.0.0"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let answer = client
        .get(format!(
            "{}/api/v1/authorizationServers/ausDEFAULT001/policies/00pPOLICY0001/rules",
            org.base
        ))
        .header("Authorization", format!("SSWS {}", org.token))
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
    let moto = moto::Moto::start().await;
    moto.create_secret(
        "nl3-okta-hook/secrets",
        r#"{"API_KEY": "from-secrets-manager", "SIGNING_KEY": "c2lnbg==", "IPINFO_TOKEN": "t"}"#,
    )
    .await;
    let mut s = empty_seed();
    s["apps"] = json!([saml_app("0oaSAML000001", "Payroll", None)]);
    let org = seed(s).await;
    let mut env = org.env();
    env.extend(moto.env("nl3-okta-hook/secrets"));
    let run = admin(&["setup", "--hook-url", HOOK_URL, "--all"], &env).await;
    assert_eq!(run.code, 0, "{run:?}");
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
    assert_eq!(
        state["hookSecrets"][hook["id"].as_str().unwrap()],
        "ZnJvbS1zZWNyZXRzLW1hbmFnZXI="
    );

    // A secret that does not exist: a clear error, nothing changed.
    let mut s = empty_seed();
    s["apps"] = json!([saml_app("0oaSAML000001", "Payroll", None)]);
    let org = seed(s).await;
    let mut env = org.env();
    env.extend(moto.env("no-such-secret"));
    let run = admin(&["setup", "--hook-url", HOOK_URL, "--all"], &env).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("reading secret \"no-such-secret\" from Secrets Manager failed"),
        "{run:?}"
    );
    assert!(writes(&org.requests().await).is_empty());
}

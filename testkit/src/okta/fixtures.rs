//! Okta objects as the Management API returns them (shapes from Okta's OpenAPI document and its
//! examples), for seeding the stand-in. The stand-in validates them on the way out.

use serde_json::{json, Value};

pub const HOOK_URL: &str = "https://abc123.execute-api.us-east-1.amazonaws.com/prod/okta/hook";
pub const OTHER_URL: &str = "https://claims.example.com/okta/token-hook";
pub const TOKEN: &str = "com.okta.oauth2.tokens.transform";
pub const SAML: &str = "com.okta.saml.tokens.transform";
const T: &str = "2026-01-05T10:00:00.000Z";

pub fn hook(id: &str, name: &str, kind: &str, status: &str, uri: &str) -> Value {
    json!({
        "id": id, "name": name, "type": kind, "status": status, "version": "1.0.0",
        "created": T, "lastUpdated": T,
        "channel": {"type": "HTTP", "version": "1.0.0",
                    "config": {"uri": uri, "method": "POST", "headers": [],
                               "authScheme": {"type": "HEADER", "key": "Authorization"}}},
        "_secret": "c2VjcmV0"
    })
}

pub fn rule(id: &str, name: &str, hook: Option<&str>) -> Value {
    let mut rule = json!({
        "id": id, "name": name, "type": "RESOURCE_ACCESS", "status": "ACTIVE", "priority": 1,
        "system": false, "created": T, "lastUpdated": T,
        "conditions": {
            "people": {"users": {"include": [], "exclude": []}, "groups": {"include": ["EVERYONE"], "exclude": []}},
            "grantTypes": {"include": ["implicit", "authorization_code"]},
            "scopes": {"include": ["*"]}
        },
        "actions": {"token": {"accessTokenLifetimeMinutes": 60, "refreshTokenLifetimeMinutes": 0,
                              "refreshTokenWindowMinutes": 10080}}
    });
    if let Some(h) = hook {
        rule["actions"]["token"]["inlineHook"] = json!({"id": h});
    }
    rule
}

pub fn machine_rule(id: &str, name: &str) -> Value {
    let mut r = rule(id, name, None);
    r["conditions"]["grantTypes"]["include"] = json!(["client_credentials"]);
    r
}

pub fn policy(id: &str, name: &str, clients: &[&str], rules: Vec<Value>) -> Value {
    json!({
        "id": id, "type": "OAUTH_AUTHORIZATION_POLICY", "name": name, "status": "ACTIVE",
        "priority": 1, "system": false, "created": T, "lastUpdated": T,
        "conditions": {"clients": {"include": clients}},
        "rules": rules
    })
}

pub fn server(id: &str, name: &str, policies: Vec<Value>) -> Value {
    json!({
        "id": id, "name": name, "description": "test server", "audiences": ["api://default"],
        "issuer": format!("https://acme.okta.com/oauth2/{id}"), "issuerMode": "ORG_URL",
        "status": "ACTIVE", "created": T, "lastUpdated": T,
        "credentials": {"signing": {"rotationMode": "AUTO", "kid": "abc", "use": "sig"}},
        "policies": policies
    })
}

pub fn saml_app(id: &str, label: &str, hook: Option<&str>) -> Value {
    let mut app = json!({
        "id": id, "name": format!("acme_{}_1", label.to_lowercase().replace(' ', "")), "label": label,
        "status": "ACTIVE", "signOnMode": "SAML_2_0", "created": T, "lastUpdated": T,
        "accessibility": {"selfService": false},
        "visibility": {"autoSubmitToolbar": false, "hide": {"iOS": false, "web": false}},
        "features": [],
        "credentials": {"userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"},
                        "signing": {"kid": "k1"}},
        "settings": {
            "app": {},
            "notifications": {"vpn": {"network": {"connection": "DISABLED"}}},
            "signOn": {
                "defaultRelayState": "",
                "ssoAcsUrl": format!("https://{}.example.com/saml/acs", id),
                "recipient": format!("https://{}.example.com/saml/acs", id),
                "destination": format!("https://{}.example.com/saml/acs", id),
                "audience": format!("https://{}.example.com", id),
                "idpIssuer": "http://www.okta.com/${org.externalKey}",
                "subjectNameIdTemplate": "${user.userName}",
                "subjectNameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
                "responseSigned": true, "assertionSigned": true,
                "signatureAlgorithm": "RSA_SHA256", "digestAlgorithm": "SHA256",
                "honorForceAuthn": true, "requestCompressed": false,
                "allowMultipleAcsEndpoints": false, "acsEndpoints": [],
                "authnContextClassRef": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                "attributeStatements": [],
                "inlineHooks": []
            }
        }
    });
    if let Some(h) = hook {
        app["settings"]["signOn"]["inlineHooks"] = json!([{"id": h}]);
    }
    app
}

/// A catalog (OIN) SAML app: its SAML settings come from the catalog, only overrides are kept.
pub fn catalog_saml_app(id: &str, label: &str) -> Value {
    let mut app = saml_app(id, label, None);
    app["name"] = json!("salesforce");
    let sign_on = app["settings"]["signOn"].as_object_mut().unwrap();
    for k in ["ssoAcsUrl", "recipient", "destination", "audience"] {
        sign_on.remove(k);
    }
    app
}

pub fn oidc_app(id: &str, label: &str) -> Value {
    json!({
        "id": id, "name": "oidc_client", "label": label, "status": "ACTIVE",
        "signOnMode": "OPENID_CONNECT", "created": T, "lastUpdated": T,
        "accessibility": {"selfService": false},
        "visibility": {"autoSubmitToolbar": false, "hide": {"iOS": true, "web": true}},
        "features": [],
        "credentials": {"userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"},
                        "oauthClient": {"autoKeyRotation": true, "client_id": id,
                                        "token_endpoint_auth_method": "client_secret_basic"}},
        "settings": {
            "app": {},
            "oauthClient": {"application_type": "web", "grant_types": ["authorization_code"],
                            "redirect_uris": [format!("https://{}.example.com/callback", id)],
                            "response_types": ["code"], "consent_method": "REQUIRED",
                            "issuer_mode": "ORG_URL"}
        }
    })
}

pub fn user(id: &str, login: &str) -> Value {
    json!({
        "id": id, "status": "ACTIVE", "created": T, "activated": T, "statusChanged": T,
        "lastLogin": T, "lastUpdated": T, "passwordChanged": T,
        "type": {"id": "otyfnjfba4ye7pgjB0g4"},
        "profile": {"firstName": "Alice", "lastName": "Locked", "email": login, "login": login,
                    "locale": "en_US", "timeZone": "America/New_York"},
        "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}}
    })
}

/// An org where every sign-in that can be covered is: a token hook on both rules of the default
/// server, a SAML hook on the custom SAML app, an OIDC app whose tokens come from that server.
pub fn covered_org() -> Value {
    json!({
        "hooks": [hook("calTOKEN00001", "NL3 account protection (token)", TOKEN, "ACTIVE", HOOK_URL),
                  hook("calSAML000001", "NL3 account protection (SAML)", SAML, "ACTIVE", HOOK_URL)],
        "authorizationServers": [server("ausDEFAULT001", "default", vec![
            policy("00pPOLICY0001", "Default Policy", &["ALL_CLIENTS"], vec![
                rule("0prRULE000001", "Default Policy Rule", Some("calTOKEN00001")),
                rule("0prRULE000002", "Partners", Some("calTOKEN00001")),
            ]),
        ])],
        "apps": [saml_app("0oaSAML000001", "Payroll", Some("calSAML000001")),
                 oidc_app("0oaOIDC000001", "Portal")],
        "users": [user("00uALICE00001", "alice@acme.example")]
    })
}

/// An SWA app (`AUTO_LOGIN`), as Okta's document shows one (without the nulls its example has
/// and its schema refuses): no hook of any kind runs there.
pub fn swa_app(id: &str, label: &str) -> Value {
    json!({
        "id": id, "name": "customswaapp", "label": label, "status": "ACTIVE",
        "signOnMode": "AUTO_LOGIN", "created": T, "lastUpdated": T,
        "accessibility": {"selfService": false},
        "visibility": {"autoLaunch": false, "autoSubmitToolbar": false,
                       "hide": {"iOS": false, "web": false}, "appLinks": {"customswaapp_link": true}},
        "features": [],
        "credentials": {"scheme": "ADMIN_SETS_CREDENTIALS",
                        "userNameTemplate": {"template": "${source.email}", "type": "BUILT_IN"},
                        "revealPassword": false, "signing": {}},
        "settings": {
            "app": {},
            "notifications": {"vpn": {"network": {"connection": "DISABLED"}}},
            "manualProvisioning": false, "implicitAssignment": false, "emOptInStatus": "DISABLED",
            "signOn": {"redirectUrl": format!("https://{id}.example.com/after"),
                       "loginUrl": format!("https://{id}.example.com/login")}
        }
    })
}

/// A WS-Federation app, as Okta's document shows one.
pub fn wsfed_app(id: &str, label: &str) -> Value {
    json!({
        "id": id, "name": "template_wsfed", "label": label, "status": "ACTIVE",
        "signOnMode": "WS_FEDERATION", "created": T, "lastUpdated": T,
        "accessibility": {"selfService": false},
        "visibility": {"autoLaunch": false, "autoSubmitToolbar": false,
                       "hide": {"iOS": false, "web": false}, "appLinks": {"login": true}},
        "features": [],
        "credentials": {"userNameTemplate": {"template": "${source.email}", "type": "BUILT_IN"},
                        "signing": {"kid": "k2"}},
        "settings": {
            "app": {"siteURL": format!("https://{id}.example.com"),
                    "authnContextClassRef": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                    "wReplyOverride": false, "digestAlgorithm": "SHA1", "usernameAttribute": "username",
                    "signatureAlgorithm": "RSA_SHA1", "audienceRestriction": format!("urn:{id}:app"),
                    "wReplyURL": format!("https://{id}.example.com/"),
                    "groupName": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
                    "nameIDFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
                    "realm": format!("urn:okta:app:{id}"), "groupValueFormat": "windowsDomainQualifiedName"},
            "notifications": {"vpn": {"network": {"connection": "DISABLED"}}},
            "manualProvisioning": false, "implicitAssignment": false,
            "emOptInStatus": "DISABLED"
        }
    })
}

/// An event hook as Okta lists it (its header secret, `_secret`, kept aside by the stand-in):
/// `status` ACTIVE or INACTIVE, `verification` VERIFIED or UNVERIFIED.
pub fn event_hook(
    id: &str,
    name: &str,
    uri: &str,
    status: &str,
    verification: &str,
    events: &[&str],
    secret: &str,
) -> Value {
    json!({
        "id": id, "name": name, "status": status, "verificationStatus": verification,
        "description": null, "created": T, "createdBy": "00u7xut94qEWYx5ss1e5", "lastUpdated": T,
        "events": {"type": "EVENT_TYPE", "items": events, "filter": null},
        "channel": {"type": "HTTP", "version": "1.0.0",
                    "config": {"uri": uri, "headers": [], "method": "POST",
                               "authScheme": {"type": "HEADER", "key": "authorization"}}},
        "_secret": secret
    })
}

/// An Okta group (`OKTA_GROUP`) with its members' user ids (the stand-in keeps them aside).
pub fn group(id: &str, name: &str, members: &[&str]) -> Value {
    json!({
        "id": id, "created": T, "lastUpdated": T, "lastMembershipUpdated": T,
        "objectClass": ["okta:user_group"], "type": "OKTA_GROUP",
        "profile": {"name": name, "description": "test group"},
        "members": members
    })
}

/// The Everyone group: every user is in it (Okta keeps it; it lists no members here).
pub fn everyone_group(id: &str) -> Value {
    json!({
        "id": id, "created": T, "lastUpdated": T, "lastMembershipUpdated": T,
        "objectClass": ["okta:user_group"], "type": "BUILT_IN",
        "profile": {"name": "Everyone", "description": "All users in your organization"},
        "members": []
    })
}

/// A global session policy (`OKTA_SIGN_ON`) for `groups`, with its rules. Okta's own Default
/// Policy is `system`, for the Everyone group, and comes last.
pub fn sign_on_policy(
    id: &str,
    name: &str,
    priority: u32,
    system: bool,
    groups: &[&str],
    rules: Vec<Value>,
) -> Value {
    json!({
        "type": "OKTA_SIGN_ON", "id": id, "status": "ACTIVE", "name": name,
        "description": "test policy", "priority": priority, "system": system,
        "conditions": {"people": {"groups": {"include": groups}}},
        "created": T, "lastUpdated": T,
        "rules": rules
    })
}

/// A global session policy rule, shaped as Okta's sample: `access` ALLOW or DENY for the
/// `groups` included (everyone when none).
pub fn sign_on_rule(id: &str, name: &str, priority: u32, access: &str, groups: &[&str]) -> Value {
    let mut people = json!({"users": {"exclude": []}});
    if !groups.is_empty() {
        people["groups"] = json!({"include": groups});
    }
    json!({
        "id": id, "status": "ACTIVE", "name": name, "priority": priority,
        "created": T, "lastUpdated": T, "system": false, "type": "SIGN_ON",
        "conditions": {"people": people, "network": {"connection": "ANYWHERE"},
                       "risk": {"behaviors": []}, "riskScore": {"level": "ANY"},
                       "identityProvider": {"provider": "ANY"}},
        "actions": {"signon": {"requireFactor": false, "factorPromptMode": "ALWAYS",
                               "factorLifetime": 15, "access": access,
                               "primaryFactor": "PASSWORD_IDP_ANY_FACTOR",
                               "session": {"maxSessionIdleMinutes": 720,
                                           "maxSessionLifetimeMinutes": 0,
                                           "usePersistentCookie": false}}}
    })
}

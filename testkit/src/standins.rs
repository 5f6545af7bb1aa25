//! Stand-ins for NL3 and ipinfo (they have no local edition), used by the tests and by `make run`
//! (`examples/local_upstreams.rs`). They check what the hook and the after-sign-in guard send:
//! NL3 the `x-nl3-authorization-token` JWT (HS256 with the decoded signing key,
//! iss/aud/sub/iat/nbf/exp) and the body; ipinfo the bearer token. Anything wrong is answered 400
//! (NL3) or 403 (ipinfo) with the reason, which the hook reports as a failure, so a test
//! expecting `Allowed` or `Locked` fails. Users whose name starts with "locked" are locked
//! (answered as NL3's docs show: a string).

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use nl3_shared::check::Nl3Claims;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::now_s;

/// What the stand-ins expect from the hook.
#[derive(Clone)]
pub struct Expect {
    /// Each NL3 application the hook may sign as: its `APP_URI` (the JWT's `iss`) and its decoded
    /// `SIGNING_KEY`. A token is verified with the key of the application its `iss` names.
    pub apps: Vec<(String, Vec<u8>)>,
    /// `API_URI`: the JWT's `aud`.
    pub audience: String,
    pub ipinfo_token: String,
    /// `API_PATH`.
    pub path: String,
}

/// NL3's lock check.
pub struct Nl3StandIn {
    pub expect: Expect,
    /// The `userDevice` values it accepts from the after-sign-in guard (the sign-in's user agent,
    /// from its System Log event); `None`: any. The hook must always send `"N/A"` (Okta's inline
    /// hook calls carry no user agent).
    pub guard_devices: Option<Vec<String>>,
}

impl Nl3StandIn {
    fn violation(&self, request: &Request) -> Result<String, String> {
        let token = request
            .headers
            .get("x-nl3-authorization-token")
            .ok_or("no x-nl3-authorization-token header")?
            .to_str()
            .map_err(|e| e.to_string())?;
        let issuer = jsonwebtoken::dangerous::insecure_decode::<Nl3Claims>(token)
            .map_err(|e| format!("JWT rejected: {e}"))?
            .claims
            .iss;
        let (issuer, key) = self
            .expect
            .apps
            .iter()
            .find(|(app, _)| *app == issuer)
            .ok_or_else(|| format!("JWT rejected: unknown issuer {issuer}"))?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[&self.expect.audience]);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "sub", "aud", "iss"]);
        validation.validate_nbf = true;
        let claims =
            jsonwebtoken::decode::<Nl3Claims>(token, &DecodingKey::from_secret(key), &validation)
                .map_err(|e| format!("JWT rejected: {e}"))?
                .claims;
        let now = now_s();
        if claims.iat.abs_diff(now - 60) > 5 || claims.exp.abs_diff(now + 300) > 5 {
            return Err(format!("iat/exp not now-60/now+300: {claims:?}"));
        }
        if claims.nbf != claims.iat {
            return Err("nbf differs from iat".into());
        }
        let content_type = request.headers.get("content-type").map(|v| v.as_bytes());
        if content_type != Some(b"application/json") {
            return Err(format!("content-type {content_type:?}"));
        }
        let body: Value = serde_json::from_slice(&request.body).map_err(|e| e.to_string())?;
        let mut keys: Vec<&str> = body
            .as_object()
            .ok_or("body not an object")?
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        if keys
            != [
                "integrationData",
                "integrationType",
                "userDevice",
                "userIP",
                "userLocation",
            ]
        {
            return Err(format!("body fields {keys:?}"));
        }
        // The hook has no user agent to send (Okta gives inline hooks none): "N/A". The
        // after-sign-in guard has the sign-in's, from its System Log event, and sends it.
        let from_guard = request
            .headers
            .get("user-agent")
            .is_some_and(|ua| ua.as_bytes().starts_with(b"nl3-okta-guard/"));
        let device_ok = match (body["userDevice"].as_str(), from_guard, &self.guard_devices) {
            (Some("N/A"), false, _) => true,
            (Some(device), true, Some(devices)) => devices.iter().any(|d| d == device),
            (Some(device), true, None) => !device.is_empty(),
            _ => false,
        };
        if !device_ok
            || !body["userLocation"].is_string()
            || !body["integrationData"].is_object()
            || !matches!(
                body["integrationType"].as_str(),
                Some("okta-oidc" | "okta-saml")
            )
        {
            return Err(format!("body values {body}"));
        }
        Ok(claims.sub)
    }
}

impl Respond for Nl3StandIn {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        match self.violation(request) {
            Ok(sub) => {
                let locked = if sub.starts_with("locked") {
                    "true"
                } else {
                    "false"
                };
                ResponseTemplate::new(200)
                    .set_body_json(json!({"locked": locked, "message": "string", "status": "ok"}))
            }
            Err(violation) => {
                ResponseTemplate::new(400).set_body_json(json!({ "violation": violation }))
            }
        }
    }
}

/// ipinfo: the token must come as a bearer header (never in the URL).
pub struct IpinfoStandIn(pub String);

impl Respond for IpinfoStandIn {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let bearer = format!("Bearer {}", self.0);
        let authorized =
            request.headers.get("authorization").map(|v| v.as_bytes()) == Some(bearer.as_bytes());
        if !authorized || request.url.query().is_some() {
            return ResponseTemplate::new(403).set_body_json(json!({"error": "bad token"}));
        }
        let ip = request.url.path().trim_start_matches('/');
        let body = if ip == "1.1.1.1" {
            serde_json::from_str(include_str!("../../tests/fixtures/ipinfo-1.1.1.1.json")).unwrap()
        } else {
            json!({"ip": ip, "city": "Mountain View", "region": "California", "country": "US",
                   "loc": "37.4056,-122.0775", "org": "AS15169 Google LLC"})
        };
        ResponseTemplate::new(200).set_body_json(body)
    }
}

/// Mounts the NL3 stand-in on `server`: the hook's `userDevice` is `"N/A"`, the guard's any.
pub async fn mount_nl3(server: &MockServer, expect: &Expect) {
    mount(server, expect, None).await;
}

/// Mounts the NL3 stand-in on `server`, accepting `devices` as `userDevice` (the user agents
/// of the sign-ins the after-sign-in guard checks).
pub async fn mount_nl3_for_devices(server: &MockServer, expect: &Expect, devices: &[&str]) {
    let devices = devices.iter().map(|d| d.to_string()).collect();
    mount(server, expect, Some(devices)).await;
}

async fn mount(server: &MockServer, expect: &Expect, guard_devices: Option<Vec<String>>) {
    Mock::given(method("POST"))
        .and(path(expect.path.as_str()))
        .respond_with(Nl3StandIn {
            expect: expect.clone(),
            guard_devices,
        })
        .mount(server)
        .await;
}

/// Mounts the ipinfo stand-in on `server`.
pub async fn mount_ipinfo(server: &MockServer, expect: &Expect) {
    Mock::given(method("GET"))
        .and(path_regex("^/[0-9a-fA-F:.]+$"))
        .respond_with(IpinfoStandIn(expect.ipinfo_token.clone()))
        .mount(server)
        .await;
}

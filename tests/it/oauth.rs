//! OAuth 2.0 hook authentication: access tokens minted here with generated RSA keys, served as a
//! JWKS by a stand-in for the Okta authorization server.

use std::time::{Duration, Instant};

use crate::helpers::*;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use nl3_okta_hook::decision::{Decision, Outcome};
use nl3_okta_hook::hook::Hook;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const AS_PATH: &str = "/oauth2/default";
const AUDIENCE: &str = "api://nl3-hook";
const SCOPE: &str = "nl3.hook";
const CLIENT_ID: &str = "0oa1hookclient";

fn b64url(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An RSA signing key as Okta's authorization server holds it.
struct Signer {
    kid: String,
    key: KeyPair,
}

impl Signer {
    fn new(kid: &str) -> Self {
        Self {
            kid: kid.into(),
            key: KeyPair::generate(KeySize::Rsa2048).unwrap(),
        }
    }

    fn jwk(&self) -> Value {
        let public = self.key.public_key();
        json!({
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid,
            "n": b64url(public.modulus().big_endian_without_leading_zero()),
            "e": b64url(public.exponent().big_endian_without_leading_zero()),
        })
    }

    /// A compact JWS signed RS256 with this key (the test's own signer, not the hook's library).
    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64url(header.to_string()),
            b64url(claims.to_string())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .unwrap();
        format!("{input}.{}", b64url(signature))
    }

    fn token(&self, claims: &Value) -> String {
        self.sign(
            &json!({"alg": "RS256", "typ": "JWT", "kid": self.kid}),
            claims,
        )
    }
}

/// An authorization server stand-in serving the JWKS, and the hook configured for it.
struct OAuthSetup {
    up: Upstreams,
    server: MockServer,
    issuer: String,
}

impl OAuthSetup {
    async fn start(jwks: Value) -> Self {
        Self::serving(ResponseTemplate::new(200).set_body_json(jwks)).await
    }

    /// An authorization server whose JWKS endpoint answers `jwks`.
    async fn serving(jwks: ResponseTemplate) -> Self {
        let up = Upstreams::start().await;
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!("{AS_PATH}/v1/keys")))
            .respond_with(jwks)
            .mount(&server)
            .await;
        let issuer = format!("{}{AS_PATH}", server.uri());
        Self { up, server, issuer }
    }

    fn claims(&self) -> Value {
        let now = now_s();
        json!({
            "ver": 1, "jti": "AT.test", "iss": self.issuer, "aud": AUDIENCE,
            "iat": now, "exp": now + 3600, "cid": CLIENT_ID, "sub": CLIENT_ID, "scp": [SCOPE],
        })
    }

    async fn hook(&self, extra: &[(&str, &str)]) -> Hook {
        let mut overrides = vec![
            ("OAUTH_ISSUER", self.issuer.as_str()),
            ("OAUTH_AUDIENCE", AUDIENCE),
            ("OAUTH_SCOPE", SCOPE),
        ];
        overrides.extend_from_slice(extra);
        Hook::from_settings(self.up.settings(&overrides))
            .await
            .unwrap()
    }
}

async fn call_with_token(hook: &Hook, token: &str) -> Decision {
    decide(
        hook,
        &headers_with("Authorization", &format!("Bearer {token}")),
        &token_event(),
    )
    .await
}

fn assert_forbidden(d: &Decision, cause: &str) {
    assert_eq!(d.outcome, Outcome::Forbidden, "{}", d.reason);
    assert_eq!(
        d.answer.json()["error"]["errorSummary"],
        "Okta Hook Forbidden"
    );
    assert!(
        d.reason.contains(cause),
        "reason {:?} lacks {cause:?}",
        d.reason
    );
}

#[tokio::test]
async fn valid_token_is_accepted_and_jwks_fetched_once() {
    let signer = Signer::new("key-1");
    let setup = OAuthSetup::start(json!({"keys": [signer.jwk()]})).await;
    let hook = setup.hook(&[("OAUTH_CLIENT_ID", CLIENT_ID)]).await;
    for _ in 0..3 {
        let d = call_with_token(&hook, &signer.token(&setup.claims())).await;
        assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    }
    assert_eq!(hook.upstream_calls().jwks, 1);
    assert_eq!(setup.up.nl3_requests().await.len(), 3);
}

#[tokio::test]
async fn invalid_tokens_are_forbidden() {
    let signer = Signer::new("key-1");
    let setup = OAuthSetup::start(json!({"keys": [signer.jwk()]})).await;
    let hook = setup.hook(&[("OAUTH_CLIENT_ID", CLIENT_ID)]).await;
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut claims = setup.claims();
        edit(&mut claims);
        signer.token(&claims)
    };
    let now = now_s();
    let cases: Vec<(String, &str)> = vec![
        (with(&|c| c["exp"] = json!(now - 120)), "ExpiredSignature"),
        (with(&|c| c["nbf"] = json!(now + 600)), "ImmatureSignature"),
        (
            with(&|c| c["iss"] = json!("https://evil.example.com/oauth2/default")),
            "InvalidIssuer",
        ),
        (
            with(&|c| c["aud"] = json!("api://default")),
            "InvalidAudience",
        ),
        (
            with(&|c| c["scp"] = json!(["openid", "profile"])),
            "lacks scope",
        ),
        (
            with(&|c| {
                c.as_object_mut().unwrap().remove("scp");
            }),
            "lacks scope",
        ),
        (
            with(&|c| c["cid"] = json!("0oaSomeOtherApp")),
            "client id does not match",
        ),
        (
            with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
            "Missing required claim",
        ),
        ("not-a-jwt".to_string(), "not a JWT"),
    ];
    for (token, cause) in cases {
        let d = call_with_token(&hook, &token).await;
        assert_forbidden(&d, cause);
    }
    assert!(setup.up.nl3_requests().await.is_empty());
}

#[tokio::test]
async fn clock_skew_within_the_leeway_is_tolerated() {
    let signer = Signer::new("key-1");
    let setup = OAuthSetup::start(json!({"keys": [signer.jwk()]})).await;
    let hook = setup.hook(&[]).await;
    let mut claims = setup.claims();
    claims["exp"] = json!(now_s() - 10);
    let d = call_with_token(&hook, &signer.token(&claims)).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
}

#[tokio::test]
async fn forged_tokens_are_forbidden() {
    let signer = Signer::new("key-1");
    let setup = OAuthSetup::start(json!({"keys": [signer.jwk()]})).await;
    let hook = setup.hook(&[]).await;
    let claims = setup.claims();

    // Tampered payload: the signature no longer matches.
    let token = signer.token(&claims);
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged_claims = claims.clone();
    forged_claims["scp"] = json!([SCOPE, "admin"]);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64url(forged_claims.to_string()),
        parts[2]
    );
    assert_forbidden(&call_with_token(&hook, &tampered).await, "InvalidSignature");

    // A signature by another key claiming the same kid.
    let impostor = Signer::new("key-1");
    assert_forbidden(
        &call_with_token(&hook, &impostor.token(&claims)).await,
        "InvalidSignature",
    );

    // alg: none.
    let none = format!(
        "{}.{}.",
        b64url(json!({"alg": "none", "kid": "key-1"}).to_string()),
        b64url(claims.to_string())
    );
    assert_forbidden(&call_with_token(&hook, &none).await, "not a JWT");

    // HS256 keyed with the public key's modulus (the classic algorithm-confusion attack).
    let n = signer.jwk()["n"].as_str().unwrap().to_string();
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            kid: Some("key-1".into()),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        },
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(n.as_bytes()),
    )
    .unwrap();
    assert_forbidden(&call_with_token(&hook, &hs).await, "is not RS256");

    // No kid.
    let no_kid = signer.sign(&json!({"alg": "RS256"}), &claims);
    assert_forbidden(&call_with_token(&hook, &no_kid).await, "no kid");
    assert!(setup.up.nl3_requests().await.is_empty());
}

#[tokio::test]
async fn keys_that_are_not_rs256_are_not_used() {
    let signer = Signer::new("key-1");
    let mut jwk = signer.jwk();
    jwk["alg"] = json!("RS512");
    let hmac = json!({"kty": "oct", "kid": "hmac", "k": b64url("secret")});
    let setup = OAuthSetup::start(json!({"keys": [jwk, hmac]})).await;
    let hook = setup.hook(&[]).await;
    assert_forbidden(
        &call_with_token(&hook, &signer.token(&setup.claims())).await,
        "not an RS256 RSA key",
    );
}

#[tokio::test]
async fn unknown_kid_triggers_one_rate_limited_refetch_for_rotation() {
    let old = Signer::new("key-old");
    let new = Signer::new("key-new");
    let setup = OAuthSetup::start(json!({"keys": [old.jwk()]})).await;
    let hook = setup.hook(&[]).await;
    let d = call_with_token(&hook, &old.token(&setup.claims())).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);

    // Okta rotates: the JWKS now holds the new key, which signs the next token.
    setup.server.reset().await;
    Mock::given(method("GET"))
        .and(path(format!("{AS_PATH}/v1/keys")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"keys": [old.jwk(), new.jwk()]})),
        )
        .mount(&setup.server)
        .await;
    let d = call_with_token(&hook, &new.token(&setup.claims())).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    assert_eq!(hook.upstream_calls().jwks, 2);

    // Made-up kids do not turn into JWKS requests.
    for i in 0..5 {
        let stranger = Signer::new(&format!("made-up-{i}"));
        let d = call_with_token(&hook, &stranger.token(&setup.claims())).await;
        assert_forbidden(&d, "no key");
    }
    assert_eq!(hook.upstream_calls().jwks, 2);
}

#[tokio::test]
async fn jwks_down_is_an_authentication_failure_within_the_budget() {
    let signer = Signer::new("key-1");
    for response in [
        ResponseTemplate::new(500),
        ResponseTemplate::new(200).set_body_string("<html>"),
        ResponseTemplate::new(200).set_delay(Duration::from_secs(30)),
    ] {
        let setup = OAuthSetup::serving(response).await;
        let hook = setup.hook(&[("HOOK_TIMEOUT_MS", "400")]).await;
        let started = Instant::now();
        let d = call_with_token(&hook, &signer.token(&setup.claims())).await;
        report("true", &d, started.elapsed());
        assert!(started.elapsed() < Duration::from_millis(400) + SLACK);
        // Whatever the JWKS does, the call is refused as unauthenticated, never let through.
        assert_eq!(d.outcome, Outcome::Forbidden, "{}", d.reason);
        assert!(
            d.reason.contains("JWKS unavailable") || d.reason.contains("within the budget"),
            "{}",
            d.reason
        );
        assert!(setup.up.nl3_requests().await.is_empty());
    }
}

#[tokio::test]
async fn header_secret_is_refused_with_oauth_unless_accepted_for_migration() {
    let signer = Signer::new("key-1");
    let setup = OAuthSetup::start(json!({"keys": [signer.jwk()]})).await;
    let hook = setup.hook(&[]).await;
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_forbidden(&d, "bearer token is required");

    let hook = setup.hook(&[("OAUTH_ACCEPT_API_KEY", "true")]).await;
    let d = decide(&hook, &okta_headers(), &token_event()).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    let d = call_with_token(&hook, &signer.token(&setup.claims())).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
    // A bearer token is still verified, never waved through by the header secret.
    let d = call_with_token(&hook, "garbage").await;
    assert_forbidden(&d, "not a JWT");
}

/// A herd of first calls (Lambda's `AWS_LAMBDA_MAX_CONCURRENCY`) against a JWKS that takes
/// 100 ms: one fetch, shared by all, and every valid call passes.
#[tokio::test]
async fn a_cold_start_herd_shares_one_jwks_fetch() {
    let signer = Signer::new("key-1");
    let setup = OAuthSetup::serving(
        ResponseTemplate::new(200)
            .set_body_json(json!({"keys": [signer.jwk()]}))
            .set_delay(Duration::from_millis(100)),
    )
    .await;
    let hook = std::sync::Arc::new(setup.hook(&[]).await);
    let token = signer.token(&setup.claims());
    let calls: Vec<_> = (0..32)
        .map(|_| {
            let (hook, token) = (hook.clone(), token.clone());
            tokio::spawn(async move { call_with_token(&hook, &token).await })
        })
        .collect();
    let mut fetched = 0;
    for call in calls {
        let d = call.await.unwrap();
        assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
        fetched += usize::from(d.trace.jwks_fetched);
    }
    let requests = setup.server.received_requests().await.unwrap().len();
    eprintln!("JWKS-HERD | 32 concurrent first calls | {requests} JWKS fetch(es) | 0 refused");
    assert_eq!(requests, 1);
    assert_eq!(fetched, 1, "exactly one call reports the fetch");
    assert_eq!(hook.upstream_calls().jwks, 1);
}

/// A failing JWKS is remembered for a few seconds, not asked on every call.
#[tokio::test]
async fn a_failing_jwks_is_not_asked_on_every_call() {
    let signer = Signer::new("key-1");
    let setup = OAuthSetup::serving(ResponseTemplate::new(500)).await;
    let hook = setup.hook(&[]).await;
    for _ in 0..10 {
        let d = call_with_token(&hook, &signer.token(&setup.claims())).await;
        assert_forbidden(&d, "JWKS unavailable: HTTP 500");
    }
    assert_eq!(setup.server.received_requests().await.unwrap().len(), 1);
}

/// `iss` must be the issuer, as one string: an array that holds it among others is not a token
/// Okta's authorization server issued for this hook.
#[tokio::test]
async fn an_issuer_array_is_refused() {
    let signer = Signer::new("key-1");
    let setup = OAuthSetup::start(json!({"keys": [signer.jwk()]})).await;
    let hook = setup.hook(&[]).await;
    let mut claims = setup.claims();
    claims["iss"] = json!([setup.issuer, "https://attacker.example"]);
    let d = call_with_token(&hook, &signer.token(&claims)).await;
    assert_forbidden(&d, "token rejected");
    // The same token with the plain string passes.
    let d = call_with_token(&hook, &signer.token(&setup.claims())).await;
    assert_eq!(d.outcome, Outcome::Allowed, "{}", d.reason);
}

//! What must hold for every input, shared by the fuzz targets. Everything here runs before the
//! hook makes a network call: reading the event, the client IP, the header secret.
#![allow(dead_code)] // each target uses its own subset

use std::net::IpAddr;
use std::sync::OnceLock;

use base64::Engine;
use http::HeaderMap;
use nl3_shared::geo;
use nl3_shared::api_key::ApiKey;
use nl3_okta_hook::app::{App, Invocation};
use nl3_okta_hook::config::{Observability, Settings};
use nl3_shared::event::{EventKind, HttpEvent};
use nl3_okta_hook::hook::Hook;
use nl3_okta_hook::okta;
use nl3_shared::secrets::HookSecrets;
use serde_json::Value;

/// The `API_KEY` of `local/local.env`: the events in `events/` carry its base64 form, so the seed
/// corpus starts with accepted credentials and the fuzzer mutates them into near misses.
pub const API_KEY: &str = "local-dev-api-key";
/// Okta's answers must stay under 256 KB; a 400 answer's summary is far smaller than that.
const MAX_SUMMARY_BYTES: usize = 1024;

fn secrets() -> &'static HookSecrets {
    static SECRETS: OnceLock<HookSecrets> = OnceLock::new();
    SECRETS.get_or_init(|| {
        HookSecrets::from_json(
            &serde_json::json!({"API_KEY": API_KEY, "SIGNING_KEY": "c2lnbmluZy1rZXk="}).to_string(),
            true,
        )
        .expect("fuzz secrets")
    })
}

/// The app the binary runs, on one current-thread runtime, with NL3 and ipinfo on a closed
/// loopback port: a call that gets as far as asking them fails at once (FAIL_OPEN decides), so
/// every input runs the whole event → answer path in microseconds.
fn app() -> &'static (tokio::runtime::Runtime, App) {
    static APP: OnceLock<(tokio::runtime::Runtime, App)> = OnceLock::new();
    APP.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let env = [
            ("APP_URI", "https://app.example.com"),
            ("API_URI", "http://127.0.0.1:9"),
            ("API_PATH", "/nl3/api/v1/accountProtectionCheck"),
            ("IPINFO_URL", "http://127.0.0.1:9"),
            ("API_KEY", API_KEY),
            ("SIGNING_KEY", "c2lnbmluZy1rZXk="),
            ("HOOK_TIMEOUT_MS", "200"),
        ];
        let settings = Settings::from_lookup(|k| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
        .expect("fuzz settings");
        let hook = runtime.block_on(Hook::from_settings(settings));
        let app = App::new(hook, Observability::default(), || true);
        (runtime, app)
    })
}

/// Every payload Lambda can deliver (and any other bytes) is an event, and every event gets a
/// well-formed answer in its own shape: status 200 or 400, a JSON body of the contract's
/// shapes, no panic. The bytes go the way the Runtime API loop sends them: `App::answer`.
pub fn check_event(data: &[u8]) {
    let kind = HttpEvent::from_slice(data).kind;
    let (runtime, app) = app();
    let answer = runtime.block_on(app.answer(data, &Invocation::default()));
    let shown: Value = serde_json::from_slice(&answer).expect("the answer is JSON");
    let status = shown["statusCode"].as_u64().expect("a status code");
    assert!(matches!(status, 200 | 400), "status {status}");
    let body: Value = serde_json::from_str(shown["body"].as_str().expect("a body"))
        .expect("the body is JSON");
    let summary = &body["error"]["errorSummary"];
    match status {
        200 => assert!(body.get("error").is_none() || summary.is_string(), "{body}"),
        _ => assert!(summary.is_string(), "{body}"),
    }
    match kind {
        EventKind::Alb { multi_value: true } => {
            assert!(shown["multiValueHeaders"].is_object(), "{shown}")
        }
        EventKind::Alb { .. } => assert!(shown["statusDescription"].is_string(), "{shown}"),
        _ => assert!(shown["headers"].is_object(), "{shown}"),
    }
}

/// The header secret, as the hook checks it, agrees with a plain reference model of the
/// contract (§5) for every header value presented.
pub fn check_authentication(headers: &HeaderMap) {
    for value in headers.values() {
        check_credential(value.as_bytes());
        assert_eq!(
            secrets().accepts_api_key(value.as_bytes()),
            reference_matches(API_KEY.as_bytes(), value.as_bytes())
        );
    }
}

/// One presented header value: `matches` agrees with the reference model, for the fixed key and
/// for a key equal to the value itself.
pub fn check_credential(presented: &[u8]) {
    assert_eq!(
        ApiKey::new(API_KEY).matches(presented),
        reference_matches(API_KEY.as_bytes(), presented),
        "presented {presented:?}"
    );
    if let Ok(text) = std::str::from_utf8(presented.trim_ascii()) {
        let own = ApiKey::new(text);
        assert!(own.matches(presented), "a key must accept itself: {text:?}");
    }
}

/// `ApiKey::new(key).matches(presented)` agrees with the reference model, for any key the hook
/// can hold: `HookSecrets::from_json` refuses a blank `API_KEY` and trims it.
pub fn check_key_pair(key: &[u8], presented: &[u8]) {
    let Ok(key) = std::str::from_utf8(key) else {
        return;
    };
    if key.is_empty() || key.trim() != key {
        return;
    }
    assert_eq!(
        ApiKey::new(key).matches(presented),
        reference_matches(key.as_bytes(), presented),
        "key {key:?}, presented {presented:?}"
    );
}

/// docs/contract.md §5, written out plainly (not in constant time): the value, without an optional
/// `Basic ` scheme, equals the key or is its base64 (standard or URL-safe, padded or not).
pub fn reference_matches(key: &[u8], presented: &[u8]) -> bool {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let presented = presented.trim_ascii();
    let without_scheme = match presented.get(..6) {
        Some(scheme) if scheme.eq_ignore_ascii_case(b"basic ") => presented[6..].trim_ascii(),
        _ => presented,
    };
    [presented, without_scheme].iter().any(|form| {
        *form == key
            || [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .any(|engine| engine.decode(form).is_ok_and(|decoded| decoded == key))
    })
}

/// Okta's event reader: never panics, a username is short, non-blank and trimmed, a refusal
/// has a short summary (it goes back in a 400 answer), the client IP passes the address filter.
pub fn check_body(body: &[u8]) {
    match okta::parse_event(body) {
        Ok(event) => {
            if let Some(user) = event.username() {
                assert!(
                    user.len() <= okta::MAX_USERNAME_BYTES,
                    "username of {} bytes",
                    user.len()
                );
                assert!(!user.is_empty() && user.trim() == user, "username {user:?}");
            }
            if let Some(id) = &event.event_id {
                assert!(id.chars().count() <= 100, "eventId {id:?}");
            }
            assert!(matches!(
                event.hook_type.integration_type().as_str(),
                "okta-oidc" | "okta-saml"
            ));
            if let Some(ip) = &event.client_ip {
                check_client_ip(ip);
            }
        }
        Err(e) => {
            let summary = e.to_string();
            assert!(
                !summary.is_empty() && summary.len() <= MAX_SUMMARY_BYTES,
                "400 summary of {} bytes",
                summary.len()
            );
            let answer = okta::Answer::bad_request(&summary);
            assert_eq!(answer.status, 400);
            assert!(answer.json()["error"]["errorSummary"].is_string());
        }
    }
    // Whatever the body says, the address filter holds for its text too (the body as a
    // would-be IP is the widest input it can get).
    if let Ok(text) = std::str::from_utf8(body) {
        check_client_ip(text);
    }
}

/// `geo::lookup_address` only returns public addresses whose text is safe in a URL path:
/// digits, hex letters, '.' and ':' (no '/', '?', '#', '%', whitespace), and that read back as
/// the same address.
pub fn check_client_ip(text: &str) {
    let Some(ip) = geo::lookup_address(text) else {
        return;
    };
    assert!(!geo::is_bogon(ip), "bogon {ip} from {text:?}");
    let shown = ip.to_string();
    assert!(
        !shown.is_empty()
            && shown
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':'),
        "unsafe address text {shown:?} from {text:?}"
    );
    assert!(!shown.contains(['/', '?', '#']) && !shown.contains(char::is_whitespace));
    assert_eq!(
        shown.parse::<IpAddr>().ok(),
        Some(ip),
        "{shown:?} does not read back"
    );
    // It is what Okta sent, give or take surrounding whitespace.
    assert_eq!(text.trim().parse::<IpAddr>().ok(), Some(ip));
}

//! What must hold for every input, shared by the fuzz targets. Everything here runs before the
//! hook makes a network call: reading the event, the client IP, the header secret.
#![allow(dead_code)] // each target uses its own subset

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::future::Future;
use std::net::IpAddr;
use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use base64::Engine;
use http::HeaderMap;
use nl3_okta_hook::hook_auth::{AuthFailure, HookAuthenticator};
use nl3_okta_hook::secrets::HookSecrets;
use nl3_okta_hook::{geo, okta};

/// The `API_KEY` of `local/local.env`: the events in `events/` carry its base64 form, so the seed
/// corpus starts with accepted credentials and the fuzzer mutates them into near misses.
pub const API_KEY: &str = "local-dev-api-key";
/// Okta's answers must stay under 256 KB; a 400 answer's summary is far smaller than that.
const MAX_SUMMARY_BYTES: usize = 1024;

struct Auth {
    /// Header secret only, the default: `Authorization`.
    authenticator: HookAuthenticator,
    secrets: HookSecrets,
}

fn auth() -> &'static Auth {
    static AUTH: OnceLock<Auth> = OnceLock::new();
    AUTH.get_or_init(|| Auth {
        authenticator: HookAuthenticator::new("Authorization", None, true),
        secrets: HookSecrets::from_json(
            &serde_json::json!({"API_KEY": API_KEY, "SIGNING_KEY": "c2lnbmluZy1rZXk="}).to_string(),
            true,
        )
        .expect("fuzz secrets"),
    })
}

/// The event as the Lambda runtime turns it into a request, `None` when it is not an event.
///
/// lambda_http 1.3 / aws_lambda_events 1.2 panic on some events API Gateway never sends (a body
/// flagged `isBase64Encoded` that is not base64; a `Host` header that makes no URL). In the
/// function, lambda_runtime's `CatchPanicService` turns such a panic into an invocation error,
/// before the hook's code runs. The target does the same for panics raised inside those two
/// crates (reported once per place on stderr, see fuzz/README.md); any other panic is a crash.
pub fn lambda_request(text: &str) -> Option<lambda_http::Request> {
    let event: lambda_http::request::LambdaRequest = serde_json::from_str(text).ok()?;
    thread_local!(static PANICKED_AT: RefCell<Option<(String, String)>> = const { RefCell::new(None) });
    let fuzzer_hook = panic::take_hook();
    panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        PANICKED_AT.with(|p| *p.borrow_mut() = at.map(|at| (at, message)));
    }));
    let converted = panic::catch_unwind(AssertUnwindSafe(|| lambda_http::Request::from(event)));
    panic::set_hook(fuzzer_hook);
    match converted {
        Ok(request) => Some(request),
        Err(payload) => {
            drop(payload);
            let (at, message) = PANICKED_AT
                .with(|p| p.borrow_mut().take())
                .unwrap_or_default();
            let upstream = ["/lambda_http-", "/aws_lambda_events-"]
                .iter()
                .any(|krate| at.contains(krate));
            if !upstream {
                panic!("panic while converting the event, outside lambda_http: {at}: {message}");
            }
            // Once per place: the fuzzer finds thousands of inputs for each.
            static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
            if SEEN.lock().unwrap().insert(at.clone()) {
                eprintln!("upstream panic, tolerated (the runtime answers an invocation error): {at}: {message}");
            }
            None
        }
    }
}

/// The request path of one hook call, before any network call: headers through the header-secret
/// check, body through Okta's event reader, client IP through the ipinfo address filter.
pub fn check_request(headers: &HeaderMap, body: &[u8]) {
    check_authentication(headers);
    check_body(body);
}

/// `HookAuthenticator::authenticate` (header lookup, any case) and `ApiKey::matches` agree with
/// a plain reference model of CONTRACT §5.
pub fn check_authentication(headers: &HeaderMap) {
    let auth = auth();
    let api_key = auth.secrets.api_key.as_ref().expect("API_KEY is set");
    for value in headers.values() {
        check_credential(value.as_bytes());
    }
    // No OAuth verifier: nothing in `authenticate` waits on the network, so one poll decides.
    let result = poll_once(auth.authenticator.authenticate(headers, &auth.secrets))
        .expect("header-secret authentication never waits");
    match headers.get(http::header::AUTHORIZATION) {
        None => assert!(
            matches!(result, Err(AuthFailure::MissingHeader(_))),
            "{result:?}"
        ),
        Some(value) => {
            let expected = reference_matches(API_KEY.as_bytes(), value.as_bytes());
            assert_eq!(api_key.matches(value.as_bytes()), expected);
            match result {
                Ok(()) => assert!(expected, "accepted {value:?}"),
                Err(AuthFailure::Mismatch(_)) => assert!(!expected, "refused {value:?}"),
                Err(other) => panic!("unexpected failure {other:?}"),
            }
        }
    }
}

/// One presented header value: `matches` agrees with the reference model, for the fixed key and
/// for a key equal to the value itself.
pub fn check_credential(presented: &[u8]) {
    let api_key = auth().secrets.api_key.as_ref().expect("API_KEY is set");
    assert_eq!(
        api_key.matches(presented),
        reference_matches(API_KEY.as_bytes(), presented),
        "presented {presented:?}"
    );
    if let Ok(text) = std::str::from_utf8(presented.trim_ascii()) {
        let own = nl3_okta_hook::hook_auth::ApiKey::new(text);
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
        nl3_okta_hook::hook_auth::ApiKey::new(key).matches(presented),
        reference_matches(key.as_bytes(), presented),
        "key {key:?}, presented {presented:?}"
    );
}

/// CONTRACT §5, written out plainly (not in constant time): the value, without an optional
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
            if let Some(user) = &event.username {
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
                event.hook_type.integration_type(),
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
            assert!(answer.body["error"]["errorSummary"].is_string());
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

/// Polls a future once; `None` if it would wait.
pub fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let mut context = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut context) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

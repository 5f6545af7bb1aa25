//! The whole request path before any network call: an API Gateway event (REST API v1, HTTP API
//! v2, ALB) as the Lambda runtime hands it over → lambda_http's request → the header secret
//! (`HookAuthenticator::authenticate`, `ApiKey::matches`) and the body (`okta::parse_event`, then
//! `geo::lookup_address` on the client IP). The raw input also goes straight to the body reader:
//! most mutations break the envelope, and the body reader must hold for any bytes.
#![no_main]

#[path = "invariants.rs"]
mod invariants;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    invariants::check_body(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(request) = invariants::lambda_request(text) else {
        return;
    };
    invariants::check_request(request.headers(), request.body().as_ref());
});

//! The header secret and the body without the API Gateway envelope, so the fuzzer spends its time
//! in the hook's own readers. Input: the presented header value, a newline, an API key, a
//! newline, the request body (Okta's JSON event). Fewer lines: the body alone.
#![no_main]

#[path = "invariants.rs"]
mod invariants;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == b'\n');
    let (header, key, body) = match (parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(key), Some(body)) => (header, key, body),
        _ => (&data[..0], &data[..0], data),
    };
    invariants::check_credential(header);
    invariants::check_key_pair(key, header);
    let mut headers = http::HeaderMap::new();
    if let Ok(value) = http::HeaderValue::from_bytes(header) {
        headers.insert(http::header::AUTHORIZATION, value);
    }
    invariants::check_authentication(&headers);
    invariants::check_body(body);
});

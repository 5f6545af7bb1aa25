//! The whole path a Lambda event takes, as the runtime hands it over: the event decoder (REST
//! API v1, HTTP API v2 and Function URLs, ALB, anything else) → the app → the answer, which must
//! always come, well formed, in the event's own shape. The raw input also goes straight to the
//! body reader: most mutations break the envelope, and the body reader must hold for any bytes.
#![no_main]

#[path = "invariants.rs"]
mod invariants;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    invariants::check_body(data);
    invariants::check_event(data);
});

//! The integration tests, one binary (one build, one link): the hook against stand-ins for NL3
//! and ipinfo, a real Secrets Manager API (moto's server) and, end to end, the built binary
//! under cargo-lambda's Lambda emulator; and the admin CLI against an Okta Management API
//! stand-in that checks every request and answer against Okta's OpenAPI document.

mod helpers;
mod standins;

mod decision;
mod e2e;
mod edges;
mod emulator;
mod faults;
mod local_run;
mod metrics;
mod oauth;
mod properties;
mod rollout;
mod secrets_manager;
mod smoke;
mod tls;
mod toolchain;

mod admin;
mod apps;

// The sentinel (nl3-okta-sentinel, `nl3-okta-admin watch`) against the Okta stand-in.
mod rotate;
mod sentinel;

//! The integration tests, one binary (one build, one link): the hook against stand-ins for NL3
//! and ipinfo, a real Secrets Manager API (moto's server) and, end to end, the built binary
//! under cargo-lambda's Lambda emulator.

mod helpers;
mod standins;

mod decision;
mod e2e;
mod edges;
mod faults;
mod metrics;
mod oauth;
mod properties;
mod secrets_manager;

//! The hook's integration tests, one binary (one build, one link): the hook against stand-ins for
//! NL3 and ipinfo, a real Secrets Manager API (moto's server) and, end to end, the built binary
//! under cargo-lambda's Lambda emulator (the shared parts are `nl3-testkit`'s). The admin side's
//! are the admin crate's (admin/tests/it).

mod helpers;

mod decision;
mod e2e;
mod edges;
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

mod apps;

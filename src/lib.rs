//! nl3-okta-hook: an Okta token / SAML assertion inline hook that asks Next Level3 whether the
//! account signing in is locked, and tells Okta to refuse the sign-in when it is.
//!
//! Layers, each importing only from the layers below it (`ARCHITECTURE.md` has the map):
//!
//! 0. leaves: [`config`] (typed settings);
//! 1. the adapters: [`okta`] (Okta's request and answer), [`secrets`] (what the secret holds),
//!    [`oauth`] (JWKS);
//! 2. [`secret_source`]: where the secret comes from (Secrets Manager or the environment);
//! 3. [`auth`] (Okta's credentials);
//! 4. [`decision`]: the decision as data;
//! 5. [`hook`]: the service that decides; the observers [`logging`] and [`metrics`];
//! 6. [`app`]: the Lambda glue. `main.rs` only wires (`lambda_runtime`).
//!
//! Below them all, the `nl3_shared` crate (`nl3/`): NL3's lock check, ipinfo's location, the one
//! outbound HTTP client, the Lambda event edge (`event`, with `lenient`), the hook secret's
//! digest (`api_key`) and the refreshing cache (`cache`), shared with the Okta-side tools
//! (`nl3-okta-admin`, `admin/`), a crate of their own that cannot import the hook's modules.

pub mod config;
pub mod okta;

pub mod oauth;
pub mod secrets;

pub mod secret_source;

pub mod auth;

pub mod decision;

pub mod hook;
pub mod logging;
pub mod metrics;

pub mod app;

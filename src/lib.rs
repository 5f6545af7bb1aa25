//! nl3-okta-hook: an Okta token / SAML assertion inline hook that asks Next Level3 whether the
//! account signing in is locked, and tells Okta to refuse the sign-in when it is.
//!
//! Layers, each importing only from the layers below it (`ARCHITECTURE.md` has the map):
//!
//! 0. leaves: [`config`] (typed settings), [`lenient`] (tolerant serde field types),
//!    [`api_key`], [`cache`] (the refreshing cache);
//! 1. the edges and adapters: [`event`] (the Lambda event edge, `aws_lambda_events`' shapes),
//!    [`okta`] (Okta's request and answer), [`secrets`] (what the secret holds), [`oauth`]
//!    (JWKS);
//! 2. [`secret_source`]: where the secret comes from (Secrets Manager or the environment);
//! 3. [`auth`] (Okta's credentials);
//! 4. [`decision`]: the decision as data;
//! 5. [`hook`]: the service that decides; the observers [`logging`] and [`metrics`];
//! 6. [`app`]: the Lambda glue. `main.rs` only wires (`lambda_runtime`).
//!
//! Below them all, the `nl3_shared` crate (`nl3/`): NL3's lock check, ipinfo's location and the
//! one outbound HTTP client, shared with the Okta-side tools (`nl3-okta-admin`, `admin/`), a
//! crate of their own that cannot import the hook's modules.

pub mod api_key;
pub mod cache;
pub mod config;
pub mod event;
pub mod lenient;
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

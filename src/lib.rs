//! nl3-okta-hook: an Okta token / SAML assertion inline hook that asks Next Level3 whether the
//! account signing in is locked, and tells Okta to refuse the sign-in when it is.
//!
//! Layers, each importing only from the layers below it (`ARCHITECTURE.md` has the map):
//!
//! 0. leaves: [`config`] (typed settings);
//! 1. [`okta`] (Okta's request and answer), [`oauth`] (JWKS);
//! 2. [`auth`] (Okta's credentials);
//! 3. [`decision`]: the decision as data;
//! 4. [`hook`]: the service that decides; the observers [`logging`] and [`metrics`];
//! 5. [`app`]: the Lambda glue. `main.rs` only wires (`lambda_runtime`).
//!
//! Below them all, the `nl3_shared` crate (`nl3/`): NL3's lock check, ipinfo's location, the one
//! outbound HTTP client, the Lambda event edge (`event`, with `lenient`), the hook secret (its
//! document `secrets`, its source `secret_source`, the header-secret check `header_secret`, the
//! digest `api_key`, the refreshing `cache`), shared with the Okta-side tools (`nl3-okta-admin`,
//! `admin/`), a crate of their own that cannot import the hook's modules.

pub mod config;
pub mod okta;

pub mod oauth;

pub mod auth;

pub mod decision;

pub mod hook;
pub mod logging;
pub mod metrics;

pub mod app;

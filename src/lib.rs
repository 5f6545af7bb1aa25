//! nl3-okta-hook: an Okta token / SAML assertion inline hook that asks Next Level3 whether the
//! account signing in is locked, and tells Okta to refuse the sign-in when it is.
//!
//! One module per party: [`okta`] (requests and answers), [`hook_auth`] (Okta's credentials),
//! [`secrets`], [`nl3`], [`geo`] (ipinfo); [`decision`] ties them together as a plain async
//! function; [`lambda_handler`] adapts it to API Gateway events; `main.rs` only wires.

pub mod admin;
pub mod config;
pub mod decision;
pub mod geo;
pub mod hook_auth;
pub mod lambda_handler;
pub mod logging;
pub mod metrics;
pub mod nl3;
pub mod oauth;
pub mod okta;
pub mod secrets;
pub mod upstream;

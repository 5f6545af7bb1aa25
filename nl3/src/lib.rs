//! nl3-shared: what the inline hook (`nl3-okta-hook`) shares with the Okta-facing functions and
//! the Okta-side tools (`nl3-okta-admin`), so that they do it exactly as the hook does: asking
//! Next Level3 whether an account is locked and ipinfo where a sign-in comes from, and reading
//! whatever Lambda HTTP event carries a call. It depends on neither.
//!
//! Layers, each importing only from the layers below it (`ARCHITECTURE.md`):
//!
//! 0. leaves: [`settings`] (where NL3 and ipinfo are), [`http_client`] (the one reqwest client,
//!    bounded body reads), [`lenient`] (tolerant serde field types), [`api_key`] (the hook secret
//!    as a digest, constant-time comparison), [`cache`] (the refreshing cache);
//! 1. [`check`] (NL3's signed lock-check request and its answer), [`geo`] (ipinfo's location),
//!    [`event`] (any Lambda HTTP event → headers and body; the answer in the event's shape).

pub mod api_key;
pub mod cache;
pub mod http_client;
pub mod lenient;
pub mod settings;

pub mod check;
pub mod event;
pub mod geo;

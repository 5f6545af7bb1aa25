//! nl3-shared: what the inline hook (`nl3-okta-hook`) shares with the Okta-facing functions and
//! the Okta-side tools (`nl3-okta-admin`), so that they do it exactly as the hook does: asking
//! Next Level3 whether an account is locked and ipinfo where a sign-in comes from; reading
//! whatever Lambda HTTP event carries a call; reading the hook's secret (all of it, or only its
//! `API_KEY`s for a receiver that must never hold NL3's signing key) through the same cache, and
//! authenticating a call by its header secret. It depends on neither.
//!
//! Layers, each importing only from the layers below it (`ARCHITECTURE.md`):
//!
//! 0. leaves: [`settings`] (NL3, ipinfo, the secret's source, `API_KEY_HEADER`, `MODE`),
//!    [`http_client`] (the one reqwest client, bounded body reads), [`lenient`] (tolerant serde
//!    field types), [`api_key`] (the hook secret as a digest, constant-time comparison),
//!    [`cache`] (the refreshing cache), [`log_cap`] (how verbosely each crate may log);
//! 1. [`check`] (NL3's signed lock-check request and its answer), [`geo`] (ipinfo's location),
//!    [`event`] (any Lambda HTTP event → headers and body; the answer in the event's shape),
//!    [`secrets`] (what the secret holds: [`secrets::HookSecrets`], [`secrets::KeysOnly`]);
//! 2. [`ask`] (one check's request from what a caller knows), [`secret_source`]: where the
//!    secret comes from (Secrets Manager or the environment);
//! 3. [`header_secret`]: a call authenticated by the hook secret in a header.

pub mod api_key;
pub mod cache;
pub mod http_client;
pub mod lenient;
pub mod log_cap;
pub mod settings;

pub mod check;
pub mod event;
pub mod geo;
pub mod secrets;

pub mod ask;
pub mod secret_source;

pub mod header_secret;

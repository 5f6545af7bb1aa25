//! nl3-shared: asking Next Level3 whether an account is locked, and ipinfo where a sign-in comes
//! from, the same way on both sides: the inline hook (`nl3-okta-hook`) and the Okta-side tools
//! (`nl3-okta-admin`). It depends on neither.
//!
//! Layers, each importing only from the layers below it (`ARCHITECTURE.md`):
//!
//! 0. leaves: [`settings`] (where NL3 and ipinfo are), [`http_client`] (the one reqwest client,
//!    bounded body reads);
//! 1. [`check`] (NL3's signed lock-check request and its answer), [`geo`] (ipinfo's location).

pub mod http_client;
pub mod settings;

pub mod check;
pub mod geo;

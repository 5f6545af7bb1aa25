//! The Okta side of NL3 account protection: `nl3-okta-admin` proves through Okta's Management
//! API that every sign-in is covered (`audit`), attaches the hook where it is missing (`setup`),
//! has Okta call it (`preview`), reads what only Okta sees (`watch`) and rotates the hook secret
//! (`rotate`); the functions `nl3-okta-rotate` and `nl3-okta-sentinel` run the same operations
//! on a schedule. This crate cannot use the hook's modules: it does not depend on its crate.
//!
//! Layers, each importing only from the layers below it (`ARCHITECTURE.md` has the map; checked
//! by `.ci/layers.py`):
//!
//! 0. leaves: [`error`], [`settings`] (every variable, parsed once), [`model`] (Okta's objects,
//!    typed), [`logging`];
//! 1. the edges: [`okta`] (the Management API client), [`secrets`] (Secrets Manager),
//!    [`requests`] (inline hook requests as Okta sends them), [`audit`] (coverage, pure);
//! 2. reading the org: [`org`] (snapshot, objects, execute-hook), [`syslog`] (System Log);
//! 3. the operations, taking domain inputs and printing nothing: [`setup`], [`preview`],
//!    [`rotation`], [`sentinel`];
//! 4. what people and Lambda see: [`output`] (tables), [`function`] (the Lambda functions);
//! 5. [`cli`] (clap). `bin/` only wires.

pub mod error;
pub mod logging;
pub mod model;
pub mod settings;

pub mod audit;
pub mod okta;
pub mod queue;
pub mod requests;
pub mod secrets;

pub mod org;
pub mod syslog;

pub mod guard;
pub mod preview;
pub mod rotation;
pub mod sentinel;
pub mod setup;

pub mod function;
pub mod output;

pub mod cli;

//! The Okta side of NL3 account protection: `nl3-okta-admin` proves through Okta's Management
//! API that every sign-in is covered (`audit`), attaches the hook where it is missing (`setup`),
//! has Okta call it (`preview`), reads what only Okta sees (`watch`) and rotates the hook secret
//! (`rotate`); the functions `nl3-okta-rotate` and `nl3-okta-sentinel` run the same operations
//! on a schedule. This crate cannot use the hook's modules: it does not depend on its crate.
//!
//! Layers, each importing only from the layers below it (`ARCHITECTURE.md` has the map; checked
//! by `.ci/layers.py`):
//!
//! 0. leaves: [`error`], [`model`] (Okta's objects, typed), [`logging`];
//! 1. [`settings`] (every variable, parsed once), [`requests`] (inline hook requests as Okta
//!    sends them), [`audit`] (coverage, pure);
//! 2. the edges: [`okta`] (the Management API client), [`secrets`] (Secrets Manager),
//!    [`queue`] (the guard's SQS queue), [`emf`] (metric lines);
//! 3. reading the org: [`org`] (snapshot, objects, execute-hook), [`syslog`] (System Log);
//! 4. the operations, taking domain inputs and printing nothing: [`setup`], [`preview`],
//!    [`rotation`], [`guard`]; then [`sentinel`] (on [`preview`]);
//! 5. what people and Lambda see: [`output`] (tables), [`function`] (the Lambda functions);
//! 6. [`cli`] (clap). `bin/` only wires.

pub mod error;
pub mod logging;
pub mod model;
pub mod settings;

pub mod audit;
pub mod emf;
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

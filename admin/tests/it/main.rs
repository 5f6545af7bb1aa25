//! The admin crate's integration tests, one binary (one build, one link): the CLI
//! (`nl3-okta-admin`) and the Lambda functions (`nl3-okta-rotate`, `nl3-okta-sentinel`,
//! `nl3-okta-events`, `nl3-okta-guard`) as Cargo built them, against a stand-in of Okta's
//! Management API that checks every request and answer against Okta's OpenAPI document
//! (`nl3_testkit::okta`) and real Secrets Manager and SQS APIs (moto's server), the functions
//! under cargo-lambda's Lambda emulator where the Lambda contract matters.
//! Where Okta calls the hook, the built hook binary answers, under the emulator (`hook`).

mod cli;
mod hook;

// audit, setup, preview (and the stand-in itself).
mod audit_setup;
// The rotation of the hook's secret (nl3-okta-rotate, `nl3-okta-admin rotate`).
mod rotation;
// The sentinel (nl3-okta-sentinel, `nl3-okta-admin watch`).
mod sentinel;
// The after-sign-in guard (nl3-okta-events, nl3-okta-guard, `setup --events`, `audit
// --events-url`, `release`) with moto's SQS standing in for the queue and its event source.
mod guard;

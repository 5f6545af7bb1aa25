//! The hook as Okta's calls reach it: the built `nl3-okta-hook` under cargo-lambda's emulator.
//! This crate does not depend on the hook crate: the binary is built from the workspace through
//! Cargo, as the hook's own end-to-end tests build it.

pub use nl3_testkit::emulator::emulated_hook;

/// `env` with each of `overrides` in place of the variable of its name.
pub fn hook_env(
    mut env: Vec<(String, String)>,
    overrides: &[(&str, &str)],
) -> Vec<(String, String)> {
    for (name, value) in overrides {
        env.retain(|(key, _)| key != name);
        env.push((name.to_string(), value.to_string()));
    }
    env
}

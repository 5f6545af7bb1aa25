//! `nl3-okta-admin`: audit, setup, preview, watch and rotate through Okta's Management API.
//! Wiring only; see `nl3_okta_admin::cli`.

use nl3_okta_admin::settings::{self, Vars};
use nl3_okta_admin::{cli, logging};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let vars = Vars::env();
    logging::init_cli(&settings::Cli::read(&vars).log_filter);
    let args: Vec<String> = std::env::args().collect();
    std::process::exit(cli::run(&args, &vars).await);
}

//! `nl3-okta-admin`: the command line (clap), what each subcommand runs and what it prints.
//! The operations below it print nothing; this is where people read the results.

use std::time::{Duration, Instant, SystemTime};

use clap::{Args, Parser, Subcommand};

use crate::error::{Error, Result, EXIT_NOT_COVERED, EXIT_OK, EXIT_USAGE};
use crate::okta::OktaClient;
use crate::preview::{self, HookChoice};
use crate::rotation::{self, left_behind, new_version, Rotation, RotationEvent, Step};
use crate::secrets;
use crate::sentinel::{self, Parts};
use crate::settings::{self, LogBounds, Probe, Vars, CLI_VARIABLES};
use crate::setup::{self, Progress, Targets};
use crate::syslog::Window;
use crate::{audit, guard, org, output};

/// Is every Okta sign-in covered by the NL3 inline hook?
#[derive(Debug, Parser)]
#[command(
    name = "nl3-okta-admin",
    version,
    about = "nl3-okta-admin: is every Okta sign-in covered by the NL3 inline hook?",
    after_help = environment_and_exit_codes(),
    disable_help_subcommand = false
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// What is covered: every rule, SAML app and OIDC app, with the reason
    Audit(AuditArgs),
    /// Register the NL3 hooks and attach them to rules and custom SAML apps
    Setup(SetupArgs),
    /// Okta calls the hook for a user; shows the answer and why
    Preview(PreviewArgs),
    /// Okta's failed calls of the NL3 hook, and the probe
    Watch(WatchArgs),
    /// Rotate the hook secret through Secrets Manager and Okta
    Rotate(RotateArgs),
    /// Take a user out of the quarantine group by hand (QUARANTINE_GROUP_ID)
    Release(ReleaseArgs),
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The NL3 hook's URL (default NL3_HOOK_URL); without it any token or SAML hook counts
    #[arg(long, value_name = "URL")]
    pub hook_url: Option<String>,
    /// The guard's receiver (default NL3_EVENTS_URL): its event hook must be in place there
    #[arg(long, value_name = "URL")]
    pub events_url: Option<String>,
    /// The whole report as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("targets").required(true).args(["all", "rule", "app", "events"]).multiple(true)))]
pub struct SetupArgs {
    /// The NL3 hook's URL (default NL3_HOOK_URL)
    #[arg(long, value_name = "URL")]
    pub hook_url: Option<String>,
    /// Every rule that lets a user sign in and every custom SAML app
    #[arg(long, conflicts_with_all = ["rule", "app"])]
    pub all: bool,
    /// An access-policy rule (repeatable)
    #[arg(long, value_name = "ID")]
    pub rule: Vec<String>,
    /// An app: a custom SAML app, or an OIDC app's rules (repeatable)
    #[arg(long, value_name = "ID")]
    pub app: Vec<String>,
    /// Print the plan, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Replace another team's hook on a rule or app
    #[arg(long)]
    pub replace_other_hooks: bool,
    /// Set the header secret on the NL3 hooks again
    #[arg(long)]
    pub update_secret: bool,
    /// Register the after-sign-in guard's event hook (created, updated, activated, verified)
    #[arg(long)]
    pub events: bool,
    /// The guard's receiver (default NL3_EVENTS_URL, else beside the hook URL: …/okta/events)
    #[arg(long, value_name = "URL")]
    pub events_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The user's login or ID
    #[arg(long, value_name = "LOGIN")]
    pub user: String,
    /// An OIDC or SAML app (default: an OIDC sign-in)
    #[arg(long, value_name = "ID")]
    pub app: Option<String>,
    /// The hook calling this URL (default NL3_HOOK_URL)
    #[arg(long, value_name = "URL", conflicts_with = "hook")]
    pub hook_url: Option<String>,
    /// This hook
    #[arg(long, value_name = "ID")]
    pub hook: Option<String>,
    /// The answer as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// How far back the System Log is read: 90s, 30m, 1h, 7d (at most 90d)
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_since)]
    pub since: Duration,
    /// The NL3 hook's URL (default NL3_HOOK_URL)
    #[arg(long, value_name = "URL")]
    pub hook_url: Option<String>,
    /// The guard's receiver (default NL3_EVENTS_URL): its failed deliveries are listed too
    #[arg(long, value_name = "URL")]
    pub events_url: Option<String>,
    /// Okta calls the token hook for this user (default PROBE_LOGIN)
    #[arg(long, value_name = "LOGIN")]
    pub probe: Option<String>,
    /// The decision the probe must get (default PROBE_EXPECT, else allowed)
    #[arg(long, value_name = "DECISION")]
    pub expect: Option<String>,
    /// The run as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The NL3 hook's URL (default NL3_HOOK_URL)
    #[arg(long, value_name = "URL")]
    pub hook_url: Option<String>,
    /// Undo a rotation in flight instead of finishing it
    #[arg(long)]
    pub roll_back: bool,
    /// Print the plan, change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The user's login or ID
    #[arg(long, value_name = "LOGIN")]
    pub user: String,
}

/// The help's closing sections: every variable the CLI reads, and the exit codes.
fn environment_and_exit_codes() -> String {
    let width = CLI_VARIABLES
        .iter()
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(0);
    let mut out = String::from("Environment:\n");
    for (name, what) in CLI_VARIABLES {
        out.push_str(&format!("  {name:<width$}  {what}\n"));
    }
    out.push_str(
        "\nExit codes:\n  \
         0  audit: everything that can be covered is; setup, rotate: done; preview: the hook\n     \
         allowed the sign-in; watch: Okta completed every call and the probe passed\n  \
         1  audit: something that can be covered is not; preview: the hook refused the sign-in;\n     \
         watch: Okta could not complete a call to the NL3 hook, or the probe failed\n  \
         2  usage or configuration error\n  \
         3  Okta refused the credentials, could not be reached, or answered unexpectedly\n",
    );
    out
}

/// `90s`, `30m`, `1h`, `7d`: how far back `watch` reads (Okta keeps 90 days of System Log).
pub fn parse_since(raw: &str) -> std::result::Result<Duration, String> {
    let bad = || format!("{raw:?}: give a duration such as 90s, 30m, 1h or 7d");
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = raw.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    settings::log_period(n, unit_secs)
        .ok_or_else(|| format!("{raw:?}: between 1s and 90d (Okta keeps 90 days of System Log)"))
}

/// Runs the tool on `args` (the program name first) with the settings in `vars`: prints the
/// result to stdout, errors to stderr, and returns the exit code.
pub async fn run(args: &[String], vars: &Vars<'_>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print to stdout and exit 0; a usage error to stderr, 2.
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    match run_command(cli.command, vars).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// `--hook-url`, else `NL3_HOOK_URL`, checked and normalised.
fn hook_url(flag: Option<String>, settings: &settings::Cli) -> Result<Option<String>> {
    flag.or_else(|| settings.hook_url.clone())
        .map(|u| settings::hook_url(&u, "--hook-url"))
        .transpose()
}

/// `--events-url`, else `NL3_EVENTS_URL`, checked and normalised.
fn events_url(flag: Option<String>, settings: &settings::Cli) -> Result<Option<String>> {
    flag.or_else(|| settings.events_url.clone())
        .map(|u| settings::hook_url(&u, "--events-url"))
        .transpose()
}

fn required_hook_url(
    flag: Option<String>,
    settings: &settings::Cli,
    command: &str,
) -> Result<String> {
    hook_url(flag, settings)?
        .ok_or_else(|| Error::Usage(format!("{command} needs --hook-url URL (or NL3_HOOK_URL)")))
}

async fn run_command(command: Command, vars: &Vars<'_>) -> Result<i32> {
    let settings = settings::Cli::read(vars);
    let client = |scopes: &[&'static str]| -> Result<OktaClient> {
        OktaClient::new(settings::Cli::okta(vars)?, scopes)
    };
    match command {
        Command::Audit(args) => {
            let hook_url = hook_url(args.hook_url, &settings)?;
            let events_url = events_url(args.events_url, &settings)?;
            let quarantine = settings.quarantine_group.as_deref();
            let mut scopes = audit::SCOPES.to_vec();
            if quarantine.is_some() {
                scopes.extend(audit::QUARANTINE_SCOPES);
            }
            let client = client(&scopes)?;
            let snapshot = org::snapshot(&client, quarantine).await?;
            let expect = audit::Expect {
                hook_url: hook_url.as_deref(),
                events_url: events_url.as_deref(),
            };
            let report = audit::audit(&snapshot, &client.org_url(), expect);
            if args.json {
                println!("{}", to_pretty(&report));
            } else {
                print!("{}", output::audit_table(&report));
            }
            Ok(if report.summary.not_covered == 0 {
                EXIT_OK
            } else {
                EXIT_NOT_COVERED
            })
        }
        Command::Setup(args) => {
            let hook_url = required_hook_url(args.hook_url, &settings, "setup")?;
            let events_url = match args.events {
                false => None,
                true => Some(
                    events_url(args.events_url, &settings)?
                        .or_else(|| settings::events_url_beside(&hook_url))
                        .ok_or_else(|| {
                            Error::Usage(
                                "setup --events needs --events-url URL (or NL3_EVENTS_URL): the \
                                 stack's EventsUrl"
                                    .into(),
                            )
                        })?,
                ),
            };
            let hook = settings::Hook::read(vars)?;
            let mut scopes = setup::SCOPES.to_vec();
            if events_url.is_some() {
                scopes.extend(setup::EVENT_SCOPES);
            }
            let client = client(&scopes)?;
            let request = setup::Request {
                hook_url: hook_url.clone(),
                targets: if args.all {
                    Targets::All
                } else {
                    Targets::Named {
                        rules: args.rule,
                        apps: args.app,
                    }
                },
                header: hook
                    .api_key_header
                    .clone()
                    .unwrap_or_else(|| crate::model::DEFAULT_SECRET_HEADER.into()),
                gateway_key: hook.gateway_api_key.is_some(),
                update_secret: args.update_secret,
                replace_other_hooks: args.replace_other_hooks,
                events_url,
            };
            let snapshot = org::snapshot(&client, None).await?;
            let plan = setup::plan(&snapshot, &request)?;
            print!("{}", output::plan(&plan, &hook_url));
            if plan.steps.is_empty() {
                println!("Nothing changed.");
                return Ok(EXIT_OK);
            }
            // Fail before changing anything when the secret is needed but unavailable.
            let secret = if plan.steps.iter().any(setup::Step::needs_secret) {
                Some(secrets::hook_header_secret(&hook).await?)
            } else {
                None
            };
            if args.dry_run {
                println!("--dry-run: nothing changed.");
                return Ok(EXIT_OK);
            }
            println!("Applying:");
            let done = setup::apply(
                &client,
                &plan,
                &hook_url,
                secret.as_ref(),
                &mut |p| match p {
                    Progress::Created { name, id } => println!("  created {name:?}: {id}"),
                    Progress::Done(what) => println!("  done: {what}"),
                },
            )
            .await?;
            println!(
                "{done} change(s) made. Check with `nl3-okta-admin audit --hook-url {hook_url}`."
            );
            Ok(EXIT_OK)
        }
        Command::Preview(args) => {
            let hook = match args.hook {
                Some(id) => HookChoice::Id(id),
                None => HookChoice::Url(hook_url(args.hook_url, &settings)?),
            };
            let client = client(preview::SCOPES)?;
            let request = preview::Request {
                user: args.user.clone(),
                app: args.app.clone(),
                hook,
            };
            let executed = preview::execute(&client, &request, None).await?;
            if args.json {
                println!(
                    "{}",
                    to_pretty(&output::preview_json(&executed, args.app.as_deref()))
                );
            } else {
                print!("{}", output::preview(&executed, &args.user));
            }
            Ok(if executed.refused() {
                EXIT_NOT_COVERED
            } else {
                EXIT_OK
            })
        }
        Command::Watch(args) => {
            let hook_url = hook_url(args.hook_url, &settings)?;
            let probe = match args.probe.or(settings.probe_login.clone()) {
                Some(login) => {
                    let expect = args
                        .expect
                        .or(settings.probe_expect.clone())
                        .unwrap_or_else(|| settings::DEFAULT_PROBE_EXPECT.into());
                    let expect = settings::decision(&expect, "--expect")
                        .map_err(|e| Error::Usage(e.to_string()))?;
                    Some(Probe { login, expect })
                }
                None => None,
            };
            let parts = Parts {
                coverage: false,
                failures: true,
            };
            let events_url = events_url(args.events_url, &settings)?;
            let watched = sentinel::Watched {
                hook_url: hook_url.as_deref(),
                events_url: events_url.as_deref(),
                quarantine: None,
            };
            let client = client(&sentinel::scopes(parts, watched, probe.is_some()))?;
            let now = SystemTime::now();
            let window = Window {
                since: now - args.since,
                until: now,
            };
            // On demand there is no schedule to keep: up to 100 pages (100 000 events) or 5 min,
            // and 15 minutes in all, however Okta's rate limits go.
            let bounds = LogBounds {
                max_pages: 100,
                max_time: Duration::from_secs(300),
            };
            let deadline = Instant::now() + Duration::from_secs(900);
            let run = sentinel::run(
                &client,
                watched,
                window,
                bounds,
                probe.as_ref(),
                parts,
                deadline,
            )
            .await;
            if args.json {
                println!("{}", to_pretty(&run));
            } else {
                print!("{}", output::watch(&run));
            }
            Ok(run.exit_code())
        }
        Command::Rotate(args) => {
            let hook_url = required_hook_url(args.hook_url.clone(), &settings, "rotate")?;
            let hook = settings::Hook::read(vars)?;
            let secret_id = match &hook.secret {
                settings::HookSecretFrom::SecretsManager(id) => id.clone(),
                _ => return Err(Error::Setting(
                    "rotate needs SECRET_ID: the hook's Secrets Manager secret (its ARN or name)"
                        .into(),
                )),
            };
            let events_url = events_url(None, &settings)?;
            let client = client(&rotation::scopes(events_url.as_deref()))?;
            let secrets = secrets::client().await;
            let rotation = Rotation {
                secrets: &secrets,
                okta: Some(&client),
                hook_url: hook_url.clone(),
                expected_header: hook.api_key_header.clone(),
                grace: hook.api_key_grace,
                events_url,
            };
            rotate(&rotation, &secret_id, &args).await
        }
        Command::Release(args) => {
            let group = settings.quarantine_group.clone().ok_or_else(|| {
                Error::Setting(
                    "release needs QUARANTINE_GROUP_ID: the group the guard holds locked users in"
                        .into(),
                )
            })?;
            let client = client(&["okta.users.read", "okta.groups.manage"])?;
            let user_id = guard::release(&client, &group, &args.user).await?;
            println!(
                "Released {} ({user_id}) from group {group}: the next sign-in is not denied by \
                 the quarantine rule.",
                args.user
            );
            Ok(EXIT_OK)
        }
    }
}

/// `rotate`: the four steps from a terminal, on the secret `secret_id`. A rotation left pending
/// (a failed one) is resumed; `--dry-run` prints the plan only; `--roll-back` undoes it.
async fn rotate(rotation: &Rotation<'_>, secret_id: &str, args: &RotateArgs) -> Result<i32> {
    let hook_url = &rotation.hook_url;
    let in_flight = rotation.in_flight(secret_id).await?;
    let plan = rotation.plan().await?;
    if args.roll_back {
        let token = in_flight.ok_or_else(|| {
            Error::Usage(format!(
                "no rotation of secret {secret_id} is in flight (no version is AWSPENDING without \
                 being AWSCURRENT): nothing to roll back"
            ))
        })?;
        println!(
            "Roll-back of the rotation in flight in secret {secret_id} (version {token}), for the \
             hooks calling {hook_url}:"
        );
        print!(
            "{}",
            output::rotation_plan(&plan, "AWSCURRENT's key again", rotation.grace)
        );
        if plan.header.is_empty() {
            return Err(plan.none_matching(hook_url));
        }
        println!("Then Okta calls each hook, and AWSPENDING leaves version {token}.");
        if args.dry_run {
            println!("--dry-run: nothing changed.");
            return Ok(EXIT_OK);
        }
        for line in rotation.roll_back(secret_id, &token).await? {
            println!("  {line}");
        }
        println!("Rolled back: Okta sends AWSCURRENT's key; version {token} is no longer pending.");
        return Ok(EXIT_OK);
    }
    println!("Rotation of API_KEY in secret {secret_id}, for the hooks calling {hook_url}:");
    let token = match in_flight {
        Some(token) => {
            println!("  resuming the rotation in flight: version {token} is AWSPENDING");
            token
        }
        None => {
            let token = new_version();
            println!("  new version {token}");
            token
        }
    };
    print!(
        "{}",
        output::rotation_plan(&plan, "the new key", rotation.grace)
    );
    if plan.header.is_empty() {
        return Err(plan.none_matching(hook_url));
    }
    println!("Steps: createSecret, setSecret, testSecret (Okta calls each hook), finishSecret");
    if args.dry_run {
        println!("--dry-run: nothing changed.");
        return Ok(EXIT_OK);
    }
    for step in Step::ALL {
        let event = RotationEvent {
            step,
            secret_id: secret_id.to_string(),
            token: token.clone(),
        };
        match rotation.run_step(&event).await {
            Ok(lines) => lines.iter().for_each(|l| println!("  {l}")),
            Err(e) => return Err(e.left_behind(left_behind(step, secret_id, &token))),
        }
    }
    println!("Done: version {token} is AWSCURRENT and Okta sends its key.");
    Ok(EXIT_OK)
}

fn to_pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(line: &str) -> std::result::Result<Command, clap::Error> {
        let args = std::iter::once("nl3-okta-admin").chain(line.split_whitespace());
        Cli::try_parse_from(args).map(|c| c.command)
    }

    #[test]
    fn parses_the_subcommands() {
        assert!(matches!(
            parse("audit --json").unwrap(),
            Command::Audit(AuditArgs {
                json: true,
                hook_url: None,
                events_url: None
            })
        ));
        let Command::Setup(s) =
            parse("setup --hook-url=https://h/x --rule r1 --rule r2 --app a --dry-run").unwrap()
        else {
            panic!()
        };
        assert_eq!(s.rule, ["r1", "r2"]);
        assert_eq!(s.app, ["a"]);
        assert!(s.dry_run && !s.all);
        let Command::Preview(p) = parse("preview --user a@b --app 0oa1").unwrap() else {
            panic!()
        };
        assert_eq!((p.user.as_str(), p.app.as_deref()), ("a@b", Some("0oa1")));
        let Command::Rotate(r) = parse("rotate --dry-run").unwrap() else {
            panic!()
        };
        assert!(r.dry_run && !r.roll_back);
    }

    #[test]
    fn parses_watch() {
        let Command::Watch(w) = parse("watch --since 30m --json").unwrap() else {
            panic!()
        };
        assert_eq!(w.since, Duration::from_secs(1800));
        assert!(w.json);
        let Command::Watch(w) = parse("watch").unwrap() else {
            panic!()
        };
        assert_eq!(w.since, Duration::from_secs(3600));
        assert_eq!(w.probe, None);
        for bad in [
            "watch --since",
            "watch --since 1w",
            "watch --since 0h",
            "watch --since 91d",
            "watch --since h",
            "watch --since 99999999999999999d",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_what_it_does_not_know() {
        for bad in [
            "audit --jsn",
            "setup --hook-url https://h",
            "setup --hook-url https://h --all --rule r",
            "preview --user",
            "preview --user u --hook h --hook-url https://h",
            "rotate --hook-url https://h --all",
            "frobnicate",
            "",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    /// The help names every variable the CLI reads, no more: each subcommand's settings are
    /// read through a recording `Vars`, and what was asked for must be what the help lists.
    #[test]
    fn the_help_names_every_variable_the_cli_reads() {
        let vars = Vars::list(&[]);
        settings::Cli::read(&vars);
        let _ = settings::Cli::okta(&Vars::list(&[("OKTA_ORG_URL", "https://a.okta.com")]));
        let with_client = Vars::list(&[
            ("OKTA_ORG_URL", "https://a.okta.com"),
            ("OKTA_CLIENT_ID", "0oa1"),
            ("OKTA_PRIVATE_KEY_FILE", "/nonexistent"),
        ]);
        let _ = settings::Cli::okta(&with_client);
        let token = Vars::list(&[
            ("OKTA_ORG_URL", "https://a.okta.com"),
            ("OKTA_API_TOKEN", "t"),
        ]);
        let _ = settings::Cli::okta(&token);
        let key = Vars::list(&[("OKTA_CLIENT_ID", "0oa1"), ("OKTA_PRIVATE_KEY", "x")]);
        let _ = settings::Credentials::read(&key, settings::KeyFile::Allowed);
        let _ = settings::Hook::read(&vars);
        let mut asked = vars.asked();
        for v in [&with_client, &token, &key] {
            asked.extend(v.asked());
        }
        let listed: std::collections::BTreeSet<String> =
            CLI_VARIABLES.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(asked, listed);
        let help = Cli::command().render_long_help().to_string();
        for name in &listed {
            assert!(help.contains(name.as_str()), "--help does not name {name}");
        }
    }

    /// Every flag of every subcommand is documented in docs/admin-cli.md.
    #[test]
    fn every_flag_is_documented() {
        let page =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/admin-cli.md"))
                .expect("docs/admin-cli.md");
        let cli = Cli::command();
        for sub in cli.get_subcommands() {
            for arg in sub.get_arguments() {
                if let Some(long) = arg.get_long() {
                    if long == "help" {
                        continue;
                    }
                    assert!(
                        page.contains(&format!("`--{long}")),
                        "docs/admin-cli.md does not document `{} --{long}`",
                        sub.get_name()
                    );
                }
            }
        }
    }
}

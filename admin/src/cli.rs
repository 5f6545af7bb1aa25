//! Command-line arguments of `nl3-okta-admin`, parsed by hand (three subcommands, a few flags).

use std::fmt;

pub const USAGE: &str = "\
nl3-okta-admin: is every Okta sign-in covered by the NL3 inline hook?

USAGE:
  nl3-okta-admin audit   [--hook-url URL] [--json]
  nl3-okta-admin setup   --hook-url URL (--all | --rule ID... | --app ID...)
                         [--dry-run] [--replace-other-hooks] [--update-secret]
  nl3-okta-admin preview --user LOGIN [--app ID] [--hook-url URL | --hook ID] [--json]
  nl3-okta-admin watch   [--since 1h] [--hook-url URL] [--probe LOGIN [--expect DECISION]] [--json]
  nl3-okta-admin rotate  [--hook-url URL] [--roll-back] [--dry-run]
  nl3-okta-admin help

ENVIRONMENT:
  OKTA_ORG_URL           https://your-org.okta.com (plain http only for loopback addresses)
  OKTA_API_TOKEN         an API token (sent as `Authorization: SSWS ...`), or:
  OKTA_CLIENT_ID         an API Services app using private_key_jwt, with
  OKTA_PRIVATE_KEY       its RSA private key (PEM text), or OKTA_PRIVATE_KEY_FILE (a PEM file),
  OKTA_KEY_ID            the key's `kid` (optional)
  NL3_HOOK_URL           default for --hook-url
  SECRET_ID              setup: Secrets Manager secret whose JSON holds API_KEY (else API_KEY);
                         rotate: the secret whose API_KEY is rotated (required)
  API_KEY_HEADER         setup: the header Okta sends the secret in (default Authorization)
  NL3_ADMIN_RATE_LIMIT_MAX_WAIT_SECS  longest wait for Okta's rate limit per call (default 90)
  PROBE_LOGIN, PROBE_EXPECT  watch: defaults for --probe and --expect (default allowed)

EXIT CODES:
    0  audit: everything that can be covered is; setup, rotate: done; preview: the hook allowed
       the sign-in
    1  audit: something that can be covered is not; preview: the hook refused the sign-in;
       watch: Okta could not complete a call to the NL3 hook, or the probe failed
  2  usage or configuration error
  3  Okta refused the credentials, could not be reached, or answered unexpectedly
";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Audit {
        hook_url: Option<String>,
        json: bool,
    },
    Setup(SetupArgs),
    Preview(PreviewArgs),
    Watch(WatchArgs),
    Rotate(RotateArgs),
}

/// `watch`: the sentinel's parts 2 and 3 on demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchArgs {
    /// How far back the System Log is read (`--since`, default 1h).
    pub since: std::time::Duration,
    pub hook_url: Option<String>,
    /// `--probe LOGIN` (or PROBE_LOGIN): Okta calls the token hook for this user.
    pub probe: Option<String>,
    /// `--expect DECISION` (or PROBE_EXPECT, default allowed).
    pub expect: String,
    pub json: bool,
}

/// `rotate`: the four rotation steps on `SECRET_ID`, for the hooks calling `hook_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotateArgs {
    pub hook_url: String,
    pub dry_run: bool,
    /// Undo a rotation in flight instead of finishing it.
    pub roll_back: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetupArgs {
    pub hook_url: String,
    pub all: bool,
    pub rules: Vec<String>,
    pub apps: Vec<String>,
    pub dry_run: bool,
    pub replace_other_hooks: bool,
    pub update_secret: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewArgs {
    pub user: String,
    pub app: Option<String>,
    pub hook_url: Option<String>,
    pub hook_id: Option<String>,
    pub json: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `90s`, `30m`, `1h`, `7d`: how far back `watch` reads (Okta keeps 90 days of System Log).
pub fn parse_since(raw: &str) -> Result<std::time::Duration, UsageError> {
    let bad = || {
        UsageError(format!(
            "--since {raw:?}: give a duration such as 90s, 30m, 1h or 7d"
        ))
    };
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = raw.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(bad()),
    };
    if secs == 0 || secs > 90 * 86_400 {
        return Err(UsageError(format!(
            "--since {raw:?}: between 1s and 90d (Okta keeps 90 days of System Log)"
        )));
    }
    Ok(std::time::Duration::from_secs(secs))
}

/// Parses the arguments after the program name. `default_hook_url` is `NL3_HOOK_URL`.
pub fn parse(args: &[String], default_hook_url: Option<String>) -> Result<Command, UsageError> {
    parse_with(args, default_hook_url, &|_| None)
}

/// [`parse`], with the environment for the defaults of `watch` (PROBE_LOGIN, PROBE_EXPECT).
pub fn parse_with(
    args: &[String],
    default_hook_url: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Command, UsageError> {
    let Some((sub, rest)) = args.split_first() else {
        return Err(UsageError(
            "a subcommand is required: audit, setup, preview, watch or rotate".into(),
        ));
    };
    let mut flags = Flags::new(rest);
    let command = match sub.as_str() {
        "help" | "--help" | "-h" => Command::Help,
        "audit" => {
            let hook_url = flags.value("--hook-url")?.or(default_hook_url);
            let json = flags.switch("--json");
            flags.finish()?;
            Command::Audit { hook_url, json }
        }
        "setup" => {
            let hook_url = flags
                .value("--hook-url")?
                .or(default_hook_url)
                .ok_or_else(|| UsageError("setup needs --hook-url URL (or NL3_HOOK_URL)".into()))?;
            let args = SetupArgs {
                hook_url,
                all: flags.switch("--all"),
                rules: flags.values("--rule")?,
                apps: flags.values("--app")?,
                dry_run: flags.switch("--dry-run"),
                replace_other_hooks: flags.switch("--replace-other-hooks"),
                update_secret: flags.switch("--update-secret"),
            };
            flags.finish()?;
            if args.all == (!args.rules.is_empty() || !args.apps.is_empty()) {
                return Err(UsageError(
                    "setup needs either --all or --rule ID / --app ID (not both)".into(),
                ));
            }
            Command::Setup(args)
        }
        "preview" => {
            let user = flags
                .value("--user")?
                .ok_or_else(|| UsageError("preview needs --user LOGIN".into()))?;
            let args = PreviewArgs {
                user,
                app: flags.value("--app")?,
                hook_url: flags.value("--hook-url")?.or(default_hook_url),
                hook_id: flags.value("--hook")?,
                json: flags.switch("--json"),
            };
            flags.finish()?;
            Command::Preview(args)
        }
        "watch" => {
            let non_empty = |name: &str| env(name).filter(|v| !v.trim().is_empty());
            let since = match flags.value("--since")? {
                Some(s) => parse_since(&s)?,
                None => std::time::Duration::from_secs(3600),
            };
            let args = WatchArgs {
                since,
                hook_url: flags.value("--hook-url")?.or(default_hook_url),
                probe: flags.value("--probe")?.or_else(|| non_empty("PROBE_LOGIN")),
                expect: flags
                    .value("--expect")?
                    .or_else(|| non_empty("PROBE_EXPECT"))
                    .unwrap_or_else(|| "allowed".into()),
                json: flags.switch("--json"),
            };
            flags.finish()?;
            Command::Watch(args)
        }
        "rotate" => {
            let hook_url = flags
                .value("--hook-url")?
                .or(default_hook_url)
                .ok_or_else(|| {
                    UsageError("rotate needs --hook-url URL (or NL3_HOOK_URL)".into())
                })?;
            let dry_run = flags.switch("--dry-run");
            let roll_back = flags.switch("--roll-back");
            flags.finish()?;
            Command::Rotate(RotateArgs {
                hook_url,
                dry_run,
                roll_back,
            })
        }
        other => {
            return Err(UsageError(format!(
                "unknown subcommand {other:?}: use audit, setup, preview, watch or rotate"
            )))
        }
    };
    Ok(command)
}

/// Flags still to be consumed; `--flag value` and `--flag=value` both work.
struct Flags {
    rest: Vec<Option<String>>,
}

impl Flags {
    fn new(args: &[String]) -> Self {
        Flags {
            rest: args.iter().cloned().map(Some).collect(),
        }
    }

    fn switch(&mut self, name: &str) -> bool {
        let mut found = false;
        for slot in &mut self.rest {
            if slot.as_deref() == Some(name) {
                *slot = None;
                found = true;
            }
        }
        found
    }

    fn values(&mut self, name: &str) -> Result<Vec<String>, UsageError> {
        let mut out = Vec::new();
        let prefix = format!("{name}=");
        let mut i = 0;
        while i < self.rest.len() {
            match self.rest[i].clone() {
                Some(arg) if arg == name => {
                    let value = self.rest.get_mut(i + 1).and_then(Option::take);
                    match value {
                        Some(v) if !v.starts_with("--") && !v.is_empty() => out.push(v),
                        _ => return Err(UsageError(format!("{name} needs a value"))),
                    }
                    self.rest[i] = None;
                    i += 2;
                }
                Some(arg) if arg.starts_with(&prefix) => {
                    let v = arg[prefix.len()..].to_string();
                    if v.is_empty() {
                        return Err(UsageError(format!("{name} needs a value")));
                    }
                    out.push(v);
                    self.rest[i] = None;
                    i += 1;
                }
                _ => i += 1,
            }
        }
        Ok(out)
    }

    fn value(&mut self, name: &str) -> Result<Option<String>, UsageError> {
        let mut all = self.values(name)?;
        if all.len() > 1 {
            return Err(UsageError(format!("{name} given more than once")));
        }
        Ok(all.pop())
    }

    fn finish(self) -> Result<(), UsageError> {
        match self.rest.into_iter().flatten().next() {
            Some(arg) => Err(UsageError(format!("unexpected argument {arg:?}"))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_the_three_subcommands() {
        assert_eq!(
            parse(&args("audit --json"), None).unwrap(),
            Command::Audit {
                hook_url: None,
                json: true
            }
        );
        let Command::Setup(s) = parse(
            &args("setup --hook-url=https://h/x --rule r1 --rule r2 --app a --dry-run"),
            None,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(s.rules, ["r1", "r2"]);
        assert_eq!(s.apps, ["a"]);
        assert!(s.dry_run && !s.all);
        assert!(matches!(
            parse(&args("preview --user a@b --app 0oa1"), Some("https://h".into())).unwrap(),
            Command::Preview(PreviewArgs { ref user, ref hook_url, .. }) if user == "a@b" && hook_url.as_deref() == Some("https://h")
        ));
    }

    #[test]
    fn parses_watch() {
        let env = |name: &str| (name == "PROBE_LOGIN").then(|| "probe@acme".to_string());
        let Command::Watch(w) = parse_with(&args("watch --since 30m --json"), None, &env).unwrap()
        else {
            panic!()
        };
        assert_eq!(w.since, std::time::Duration::from_secs(1800));
        assert_eq!(w.probe.as_deref(), Some("probe@acme"));
        assert_eq!(w.expect, "allowed");
        assert!(w.json);
        let Command::Watch(w) = parse(&args("watch"), None).unwrap() else {
            panic!()
        };
        assert_eq!(w.since, std::time::Duration::from_secs(3600));
        assert_eq!(w.probe, None);
        for bad in [
            "watch --since",
            "watch --since 1w",
            "watch --since 0h",
            "watch --since 91d",
            "watch --since h",
        ] {
            assert!(parse(&args(bad), None).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_rotate() {
        assert_eq!(
            parse(&args("rotate --dry-run"), Some("https://h".into())).unwrap(),
            Command::Rotate(RotateArgs {
                hook_url: "https://h".into(),
                dry_run: true,
                roll_back: false
            })
        );
        assert!(parse(&args("rotate"), None).is_err());
        assert!(parse(&args("rotate --hook-url https://h --all"), None).is_err());
    }

    #[test]
    fn rejects_what_it_does_not_know() {
        assert!(parse(&args("audit --jsn"), None).is_err());
        assert!(parse(&args("setup --all"), None).is_err());
        assert!(parse(&args("setup --hook-url https://h"), None).is_err());
        assert!(parse(&args("setup --hook-url https://h --all --rule r"), None).is_err());
        assert!(parse(&args("preview --user"), None).is_err());
        assert!(parse(&args("frobnicate"), None).is_err());
        assert!(parse(&[], None).is_err());
    }
}

//! `berth create -d DRIVER` takes the driver's own flags, which only the driver declares
//! (`Driver::create_flags`, built-in drivers and plugins alike). The command line is therefore
//! parsed in two steps: find the driver the words name, open it and ask for its flags, then
//! parse with those flags added to `create` — each with its environment-variable twin
//! (`FlagSpec::env_var`), so `berth create -d nspawn --help` lists them and their variables.
//!
//! The driver opened here is the one the create uses ([`ChosenDriver`]): a plugin is started
//! and handshaken once per create, not once for its flags and again for the work.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use berth_driver::builtin::{BUILTIN_NAMES, builtin};
use berth_driver::{PluginOptions, PluginSearch};
use berth_names::EnvVars;
use berth_plugin::{Driver, FlagKind, FlagSpec};
use clap::builder::BoolishValueParser;
use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command, FromArgMatches};

use crate::cli::Cli;
use crate::context::{ProcessEnv, open_store};
use crate::dialect::Dialect;

/// The driver a `create` names, opened, with the values of its flags.
pub(crate) struct ChosenDriver {
    /// The driver, ready for `create`; for a plugin, its process is already running.
    pub driver: Box<dyn Driver>,
    /// Flag values by flag name (no dashes), typed after each flag's kind.
    pub flags: BTreeMap<String, serde_json::Value>,
}

/// Parses the process's command line; for `create`, with the chosen driver's flags.
///
/// Help and usage errors exit here as clap does (status 2); a driver that cannot be opened
/// or that declares flags berth cannot take is an error for [`crate::report`].
pub(crate) fn parse(
    env: &ProcessEnv,
    dialect: Dialect,
) -> anyhow::Result<(Cli, Option<ChosenDriver>)> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let Some(mut name) = create_driver(&words) else {
        let matches = crate::cli::command(dialect)
            .try_get_matches_from(&args)
            .unwrap_or_else(|e| dialect.exit_usage(e));
        return Ok((from_matches(&matches, dialect), None));
    };
    // A second round only when clap read another driver name than the quick scan did
    // (a `-d` among other flags' values): the flags must be the named driver's.
    for _ in 0..2 {
        let driver = open(&name, &words, env, dialect)?;
        let specs = driver
            .create_flags()
            .with_context(|| format!("the {name} driver could not say which flags it takes"))?;
        let mut command = crate::cli::command(dialect);
        let foreign = add_driver_flags(&mut command, driver.name(), &specs)?;
        let matches = match command.try_get_matches_from_mut(&args) {
            Ok(matches) => matches,
            Err(e) => {
                // Help and usage errors exit the process: close the driver first (a plugin,
                // a Go plugin above all, must not outlive berth).
                let driver_name = driver.name().to_owned();
                drop(driver);
                exit_with_hint(&mut command, e, &driver_name, &specs, dialect)
            }
        };
        let cli = from_matches(&matches, dialect);
        let Some(create) = matches.subcommand_matches("create") else {
            return Ok((cli, None));
        };
        let parsed = create
            .get_one::<String>("driver")
            .cloned()
            .unwrap_or_default();
        if parsed != name {
            name = parsed;
            continue;
        }
        refuse_foreign(&mut command, create, driver.name(), &foreign, dialect);
        let flags = values(create, &specs);
        return Ok((cli, Some(ChosenDriver { driver, flags })));
    }
    bail!("cannot tell which driver the command line names; give it as `-d NAME`")
}

/// `Cli::command()` with every built-in driver's flags on `create`, for completion scripts.
pub(crate) fn completion_command(dialect: Dialect) -> Command {
    let mut command = crate::cli::command(dialect);
    let mut seen = BTreeSet::new();
    for name in BUILTIN_NAMES {
        let Some(driver) = builtin(name) else {
            continue;
        };
        let specs = driver.create_flags().unwrap_or_default();
        command = command.mut_subcommand("create", |mut create| {
            for spec in specs.iter().filter(|s| seen.insert(s.name.clone())) {
                create = create.arg(to_arg(spec, name, false));
            }
            create
        });
    }
    command
}

fn from_matches(matches: &ArgMatches, dialect: Dialect) -> Cli {
    Cli::from_arg_matches(matches).unwrap_or_else(|e| dialect.exit_usage(e))
}

/// The driver named by `create -d NAME` (`generic` without `-d`), or `None` when the
/// subcommand is not `create`. A quick scan; clap's parse has the last word.
fn create_driver(words: &[String]) -> Option<String> {
    let mut rest = words.iter().skip(1);
    loop {
        let word = rest.next()?;
        match word.as_str() {
            "create" => break,
            "--storage-path" | "-s" => {
                rest.next();
            }
            w if w.starts_with('-') => {}
            _ => return None,
        }
    }
    let mut driver = None;
    while let Some(word) = rest.next() {
        if word == "--" {
            break;
        }
        if word == "-d" || word == "--driver" {
            driver = rest.next().cloned();
        } else if let Some(value) = word.strip_prefix("--driver=") {
            driver = Some(value.to_owned());
        } else if let Some(value) = word.strip_prefix("-d").filter(|v| !v.is_empty()) {
            driver = Some(value.strip_prefix('=').unwrap_or(value).to_owned());
        }
    }
    // docker-machine read the driver from MACHINE_DRIVER too; so does clap's parse (`-d`'s env).
    Some(driver.unwrap_or_else(|| {
        std::env::var(EnvVars::MACHINE_DRIVER)
            .ok()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "generic".to_owned())
    }))
}

/// The driver `name`: built in, or a plugin found from the store the words name.
fn open(
    name: &str,
    words: &[String],
    env: &ProcessEnv,
    dialect: Dialect,
) -> anyhow::Result<Box<dyn Driver>> {
    if let Some(driver) = builtin(name) {
        return Ok(driver);
    }
    let storage = find_value(words, "--storage-path")
        .or_else(|| find_value(words, "-s"))
        .map(PathBuf::from);
    let store = open_store(storage, dialect, env)?;
    // The store's plugins/ is searched first, and its plugin runs as this user (root for
    // nspawn): refuse it before anything there is started.
    crate::context::check_trusted_folders(store.root(), None)?;
    let search = PluginSearch::from_env(store.root());
    Ok(berth_driver::open_driver(
        name,
        &search,
        PluginOptions::default(),
    )?)
}

/// The value of `--flag VALUE` or `--flag=VALUE`.
fn find_value(words: &[String], flag: &str) -> Option<String> {
    let prefix = format!("{flag}=");
    words.iter().enumerate().find_map(|(i, word)| {
        if word == flag {
            words.get(i + 1).cloned()
        } else {
            word.strip_prefix(&prefix).map(str::to_owned)
        }
    })
}

/// Adds `driver`'s flags to `create`, after checking that berth can take them. Returns the
/// other built-in drivers' flags, added hidden so that giving one is a clear error
/// ([`refuse_foreign`]) rather than "unexpected argument".
fn add_driver_flags(
    command: &mut Command,
    driver: &str,
    specs: &[FlagSpec],
) -> anyhow::Result<Vec<(String, String)>> {
    let taken = berth_flags(command);
    check_specs(driver, specs, &taken)?;
    let own: BTreeSet<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    let mut foreign = Vec::new();
    let mut hidden = Vec::new();
    for other in BUILTIN_NAMES.iter().filter(|n| **n != driver) {
        let Some(d) = builtin(other) else { continue };
        for spec in d.create_flags().unwrap_or_default() {
            if own.contains(spec.name.as_str()) || taken.names.contains(&spec.name) {
                continue;
            }
            foreign.push(((*other).to_owned(), spec.name.clone()));
            hidden.push(to_arg(&spec, other, false).hide(true));
        }
    }
    let heading = format!("Options of the {driver} driver");
    let owned = std::mem::take(command);
    *command = owned.mut_subcommand("create", |create| {
        let mut create = create.next_help_heading(heading);
        for spec in specs {
            create = create.arg(to_arg(spec, driver, true));
        }
        for arg in hidden {
            create = create.arg(arg);
        }
        create
    });
    Ok(foreign)
}

/// The long names and environment variables `create` already has.
struct Taken {
    names: BTreeSet<String>,
    envs: BTreeSet<String>,
}

fn berth_flags(command: &Command) -> Taken {
    let mut taken = Taken {
        // clap adds these two to every command when it builds it.
        names: ["help", "version"].map(str::to_owned).into(),
        envs: BTreeSet::new(),
    };
    let create = command.get_subcommands().find(|c| c.get_name() == "create");
    // Global flags (--storage-path, --debug) are accepted after `create` too.
    for arg in command
        .get_arguments()
        .chain(create.into_iter().flat_map(Command::get_arguments))
    {
        taken.names.insert(arg.get_id().to_string());
        taken.names.extend(arg.get_long().map(str::to_owned));
        taken.names.extend(
            arg.get_all_aliases()
                .into_iter()
                .flatten()
                .map(str::to_owned),
        );
        taken
            .envs
            .extend(arg.get_env().map(|e| e.to_string_lossy().into_owned()));
    }
    taken
}

/// Refuses declarations clap could not take (it would panic) or that would shadow berth's
/// own flags, naming the driver and the flag.
fn check_specs(driver: &str, specs: &[FlagSpec], taken: &Taken) -> anyhow::Result<()> {
    let whose = if builtin(driver).is_some() {
        format!("the built-in {driver} driver")
    } else {
        format!("the plugin berth-driver-{driver}")
    };
    let fix = "the plugin has to rename it (ask its author, or use another version of it)";
    let mut seen = BTreeSet::new();
    for spec in specs {
        let name = &spec.name;
        let well_formed = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !well_formed {
            bail!(
                "{whose} declares a create flag named {name:?}, which is not a flag name (letters, digits and dashes, starting with a letter or digit); {fix}"
            );
        }
        if taken.names.contains(name) {
            bail!(
                "{whose} declares the create flag --{name}, which `berth create` has itself; {fix}"
            );
        }
        let env = spec.env_var(driver);
        if taken.envs.contains(&env) {
            bail!(
                "{whose} declares the create flag --{name}, whose environment variable {env} is one of berth's own; {fix}"
            );
        }
        if !seen.insert(name.as_str()) {
            bail!("{whose} declares the create flag --{name} twice; {fix}");
        }
        if let Some(default) = &spec.default {
            let ok = match spec.kind {
                FlagKind::Int => default.trim().parse::<i64>().is_ok(),
                FlagKind::Bool => BOOL_WORDS.contains(&default.to_ascii_lowercase().as_str()),
                FlagKind::String | FlagKind::StringList => true,
            };
            if !ok {
                bail!(
                    "{whose} declares the create flag --{name} with the default {default:?}, which is not a {}; {fix}",
                    kind_word(spec.kind)
                );
            }
        }
    }
    Ok(())
}

/// What clap's `BoolishValueParser` takes, so that a default is checked before clap sees it.
const BOOL_WORDS: [&str; 12] = [
    "y", "yes", "t", "true", "on", "1", "n", "no", "f", "false", "off", "0",
];

fn kind_word(kind: FlagKind) -> &'static str {
    match kind {
        FlagKind::Int => "whole number",
        FlagKind::Bool => "true or false",
        FlagKind::String => "string",
        FlagKind::StringList => "list of strings",
    }
}

/// The clap argument for one declared flag; `with_env` gives it its environment twin.
fn to_arg(spec: &FlagSpec, driver: &str, with_env: bool) -> Arg {
    let mut arg = Arg::new(spec.name.clone())
        .long(spec.name.clone())
        .help(spec.help.clone());
    arg = match spec.kind {
        FlagKind::Bool => arg
            .action(ArgAction::SetTrue)
            .value_parser(BoolishValueParser::new()),
        FlagKind::StringList => arg.action(ArgAction::Append).value_name(value_name(spec)),
        FlagKind::Int => arg
            .value_parser(clap::value_parser!(i64))
            .value_name(value_name(spec)),
        FlagKind::String => arg.value_name(value_name(spec)),
    };
    if with_env {
        let env = spec.env_var(driver);
        if std::env::var_os(&env).is_some_and(|v| v.is_empty()) {
            // An empty variable counts as unset (`export X=` is how many clear one); clap would
            // hand the empty text to the value's parser. --help still names the variable.
            arg = arg.help(format!("{} [env: {env}]", spec.help));
        } else {
            // The values stay out of --help: a driver's flag may carry a token.
            arg = arg.env(env).hide_env_values(true);
        }
    }
    if let Some(default) = spec.default.as_ref().filter(|_| with_env) {
        arg = arg.default_value(default.clone());
    }
    arg
}

/// `--generic-ssh-port <PORT>`: the flag's last word says what the value is.
fn value_name(spec: &FlagSpec) -> String {
    let last = spec.name.rsplit('-').next().unwrap_or("value");
    if last.is_empty() {
        "VALUE".to_owned()
    } else {
        last.to_ascii_uppercase()
    }
}

/// Exits with clap's error, with what clap cannot know: which environment variable held a
/// bad value when the value came from there (clap names only the flag, which the user did not
/// type), and that an unknown flag may belong to another driver.
fn exit_with_hint(
    command: &mut Command,
    err: clap::Error,
    driver: &str,
    specs: &[FlagSpec],
    dialect: Dialect,
) -> ! {
    use clap::error::{ContextKind, ContextValue};
    let arg = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => arg.clone(),
        _ => dialect.exit_usage(err),
    };
    if err.kind() == ErrorKind::UnknownArgument && arg.starts_with("--") {
        let message = format!(
            "unexpected argument '{arg}': neither `berth create` nor the {driver} driver takes it. \
             `berth create -d {driver} --help` lists the flags; a flag of another driver needs -d DRIVER."
        );
        match command.find_subcommand_mut("create") {
            Some(c) => dialect.exit_usage(c.error(err.kind(), message)),
            None => dialect.exit_usage(err),
        }
    }
    if !matches!(
        err.kind(),
        ErrorKind::ValueValidation | ErrorKind::InvalidValue
    ) {
        dialect.exit_usage(err)
    }
    let words: Vec<String> = std::env::args().collect();
    for spec in specs {
        let long = format!("--{}", spec.name);
        let typed = words
            .iter()
            .any(|w| *w == long || w.starts_with(&format!("{long}=")));
        let env = spec.env_var(driver);
        let from_env = std::env::var(&env).ok().filter(|v| !v.is_empty());
        let names_it = arg == long || arg.starts_with(&format!("{long} "));
        if let (true, false, Some(value)) = (names_it, typed, from_env) {
            let message = format!(
                "the environment variable {env} holds {value:?}, which is not a {} as {long} takes; \
                 set it to one, or unset it",
                kind_word(spec.kind)
            );
            match command.find_subcommand_mut("create") {
                Some(c) => dialect.exit_usage(c.error(err.kind(), message)),
                None => dialect.exit_usage(clap::Error::raw(err.kind(), message)),
            }
        }
    }
    dialect.exit_usage(err)
}

/// Exits with a usage error when the command line gives a flag of another built-in driver.
/// Their environment twins are not read at all: a variable set for another driver is ignored.
fn refuse_foreign(
    command: &mut Command,
    create: &ArgMatches,
    driver: &str,
    foreign: &[(String, String)],
    dialect: Dialect,
) {
    for (owner, flag) in foreign {
        if create.value_source(flag) == Some(ValueSource::CommandLine) {
            let message = format!(
                "--{flag} is a flag of the {owner} driver, and this create uses the {driver} driver; \
                 leave it out, or give -d {owner}. `berth create -d {driver} --help` lists the {driver} driver's flags."
            );
            let create_cmd = command.find_subcommand_mut("create");
            match create_cmd {
                Some(c) => dialect.exit_usage(c.error(ErrorKind::ArgumentConflict, message)),
                None => dialect.exit_usage(clap::Error::raw(ErrorKind::ArgumentConflict, message)),
            }
        }
    }
}

/// The declared flags' values as the driver reads them.
fn values(matches: &ArgMatches, specs: &[FlagSpec]) -> BTreeMap<String, serde_json::Value> {
    let mut out = BTreeMap::new();
    for spec in specs {
        let id = spec.name.as_str();
        let value = match spec.kind {
            FlagKind::Bool => Some(serde_json::Value::Bool(matches.get_flag(id))),
            FlagKind::Int => matches
                .get_one::<i64>(id)
                .map(|n| serde_json::Value::from(*n)),
            FlagKind::String => matches
                .get_one::<String>(id)
                .map(|s| serde_json::Value::from(s.clone())),
            FlagKind::StringList => matches.get_many::<String>(id).map(|items| {
                serde_json::Value::Array(
                    items.map(|s| serde_json::Value::from(s.clone())).collect(),
                )
            }),
        };
        if let Some(value) = value {
            out.insert(spec.name.clone(), value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn the_quick_scan_finds_the_driver_of_a_create_only() {
        for (line, driver) in [
            ("berth create m", Some("generic")),
            ("berth -D create -d nspawn m", Some("nspawn")),
            (
                "berth --storage-path /s create --driver=none m",
                Some("none"),
            ),
            ("berth create -dnspawn m", Some("nspawn")),
            ("berth create -d=none m", Some("none")),
            ("berth create m -- -d x", Some("generic")),
            ("berth ls", None),
            ("berth ssh create -d x", None),
            ("berth --storage-path create ls", None),
        ] {
            assert_eq!(create_driver(&words(line)).as_deref(), driver, "{line}");
        }
    }

    #[test]
    fn value_names_come_from_the_flags_last_word() {
        let spec = |name| FlagSpec::new(name, FlagKind::String, "", None);
        assert_eq!(value_name(&spec("generic-ssh-port")), "PORT");
        assert_eq!(value_name(&spec("url")), "URL");
    }

    #[test]
    fn clashing_or_malformed_declarations_are_refused_naming_plugin_and_flag() {
        let command = crate::cli::command(Dialect::Berth);
        let taken = berth_flags(&command);
        let spec = |name: &str| FlagSpec::new(name, FlagKind::String, "", None);
        for (name, says) in [
            ("driver", "--driver, which `berth create` has itself"),
            ("engine-opt", "--engine-opt, which"),
            ("help", "--help, which"),
            ("storage-path", "--storage-path, which"),
            ("debug", "--debug, which"),
            ("bad name", "not a flag name"),
            ("", "not a flag name"),
            ("-x", "not a flag name"),
        ] {
            let err = check_specs("kvm", &[spec(name)], &taken)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("berth-driver-kvm") && err.contains(says),
                "{err}"
            );
        }
        let err = check_specs("berth", &[spec("debug-x"), spec("berth-debug")], &taken)
            .unwrap_err()
            .to_string();
        assert!(err.contains("BERTH_DEBUG"), "{err}");
        let err = check_specs("kvm", &[spec("kvm-a"), spec("kvm-a")], &taken)
            .unwrap_err()
            .to_string();
        assert!(err.contains("twice"), "{err}");
        let bad_default = FlagSpec::new("kvm-n", FlagKind::Int, "", Some("many"));
        let err = check_specs("kvm", &[bad_default], &taken)
            .unwrap_err()
            .to_string();
        assert!(err.contains("whole number"), "{err}");
        check_specs("kvm", &[spec("kvm-memory"), spec("url")], &taken).unwrap();
    }

    #[test]
    fn every_builtin_declaration_is_accepted_and_clap_builds() {
        for name in BUILTIN_NAMES {
            let specs = builtin(name).unwrap().create_flags().unwrap();
            let mut command = crate::cli::command(Dialect::Berth);
            add_driver_flags(&mut command, name, &specs).unwrap();
            command.debug_assert();
        }
        completion_command(Dialect::Berth).debug_assert();
    }
}

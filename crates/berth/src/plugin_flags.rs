//! `berth create -d PLUGIN` takes the plugin's own flags, which only the plugin knows: the
//! command line is parsed after asking the plugin (`Driver.CreateFlags`) and adding its flags
//! to `create`, so `berth create -d nspawn --help` lists them too.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use berth_driver::{FlagKind, FlagSpec, PluginOptions, PluginSearch};
use clap::{Arg, ArgAction, ArgMatches, CommandFactory, FromArgMatches};

use crate::cli::Cli;
use crate::context::{ProcessEnv, open_store};

/// Parses the command line, with the plugin's flags when `create` names a plugin driver.
pub fn parse() -> (Cli, BTreeMap<String, serde_json::Value>) {
    let args: Vec<OsString> = std::env::args_os().collect();
    let specs = plugin_specs(&args);
    let mut command = Cli::command();
    if !specs.is_empty() {
        command = command.mut_subcommand("create", |create| {
            let mut create = create.next_help_heading("Driver options");
            for spec in &specs {
                create = create.arg(to_arg(spec));
            }
            create
        });
    }
    let matches = command.get_matches_from(&args);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let values = matches
        .subcommand_matches("create")
        .map(|m| values(m, &specs))
        .unwrap_or_default();
    (cli, values)
}

/// The flags of the plugin named by `create -d NAME`, or none (built-in driver, no create,
/// or a plugin that cannot be asked: `create` itself then reports why).
fn plugin_specs(args: &[OsString]) -> Vec<FlagSpec> {
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if !words.iter().any(|w| w == "create") {
        return Vec::new();
    }
    let Some(driver) = find_value(&words, &["-d", "--driver"]) else {
        return Vec::new();
    };
    if berth_driver::builtin::builtin(&driver).is_some() {
        return Vec::new();
    }
    let env = ProcessEnv::from_process();
    let storage = find_value(&words, &["--storage-path"])
        .map(PathBuf::from)
        .or_else(|| env.get("BERTH_STORAGE_PATH").map(PathBuf::from));
    let Ok(store) = open_store(storage, &env) else {
        return Vec::new();
    };
    let search = PluginSearch::from_env(store.root());
    berth_driver::open_driver(&driver, &search, PluginOptions::default())
        .and_then(|d| d.create_flags())
        .unwrap_or_default()
}

/// The value of `--flag VALUE`, `--flag=VALUE` or `-dVALUE`.
fn find_value(words: &[String], names: &[&str]) -> Option<String> {
    for (i, word) in words.iter().enumerate() {
        for name in names {
            if word == name {
                return words.get(i + 1).cloned();
            }
            if let Some(value) = word.strip_prefix(&format!("{name}=")) {
                return Some(value.to_owned());
            }
        }
    }
    None
}

fn to_arg(spec: &FlagSpec) -> Arg {
    let mut arg = Arg::new(spec.name.clone())
        .long(spec.name.clone())
        .help(spec.help.clone());
    arg = match spec.kind {
        FlagKind::Bool => arg.action(ArgAction::SetTrue),
        FlagKind::StringList => arg.action(ArgAction::Append).value_name("VALUE"),
        FlagKind::Int => arg.value_parser(clap::value_parser!(i64)).value_name("N"),
        FlagKind::String => arg.value_name("VALUE"),
    };
    if let Some(default) = &spec.default {
        arg = arg.default_value(default.clone());
    }
    arg
}

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

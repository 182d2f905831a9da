//! docker-machine 0.16.2's sentences, word for word, for the cases a script can meet, and the
//! exit status it ended with. Each one is read from its source, named beside it: the errors of
//! `commands/*.go` and `libmachine/mcnerror/errors.go`, the usage errors of its CLI library
//! (`vendor/github.com/codegangsta/cli`) and `cmd/docker-machine/machine.go`. docs/docker-machine.md
//! lists them with berth's own sentence for the same case.
//!
//! docker-machine printed every error through `log.Error`: the bare sentence on stderr, no
//! prefix, one line (`commands.go` `runCommand`), then `os.Exit(1)`.

/// A docker-machine error sentence. `Display` is the text docker-machine printed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Sentence {
    /// mcnerror.ErrHostDoesNotExist.
    #[error(
        "Docker machine {} does not exist. Use \"docker-machine ls\" to list machines. Use \"docker-machine create\" to add a new one.",
        go_quote(.0)
    )]
    HostDoesNotExist(String),
    /// mcnerror.ErrHostAlreadyExists (create.go).
    #[error("Docker machine {} already exists", go_quote(.0))]
    HostAlreadyExists(String),
    /// create.go, with mcnerror.ErrInvalidHostname.
    #[error(
        "Error creating machine: Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -"
    )]
    InvalidHostname,
    /// create.go errNoMachineName.
    #[error("Error: No machine name specified")]
    NoMachineName,
    /// create.go: more than one name.
    #[error("Invalid command line. Found extra arguments [{}]", .0.join(" "))]
    ExtraArguments(Vec<String>),
    /// commands.go ErrNoDefault: no name given and no machine called `default`.
    #[error("Error: No machine name(s) specified and no \"default\" machine exists")]
    NoDefault,
    /// commands.go ErrExpectedOneMachine.
    #[error("Error: Expected one machine name as an argument")]
    ExpectedOneMachine,
    /// env.go errImproperUnsetEnvArgs.
    #[error("Error: Expected no machine name when the -u flag is present")]
    ImproperUnsetEnvArgs,
    /// ls.go: a filter without `=`.
    #[error("Unsupported filter syntax")]
    UnsupportedFilterSyntax,
    /// ls.go: a filter key it does not know.
    #[error("Unsupported filter key '{0}'")]
    UnsupportedFilterKey(String),
    /// active.go errNoActiveHost.
    #[error("No active host found")]
    NoActiveHost,
    /// scp.go errWrongNumberArguments.
    #[error("Improper number of arguments")]
    WrongNumberArguments,
    /// ssh.go errStateInvalidForSSH.
    #[error("Error: Cannot run SSH command: Host {} is not running", go_quote(.0))]
    NotRunningForSsh(String),
    /// mcnerror.ErrHostAlreadyInState (host.go, start and stop): the state in lower case.
    #[error("Machine {} is already {}.", go_quote(.0), .1.to_lowercase())]
    AlreadyInState(String, String),
    /// rm.go: each machine that could not be removed, one line each.
    #[error("Error removing host {}: {}", go_quote(.0), .1)]
    Removing(String, Box<Sentence>),
    /// machine.go cmdNotFound: `APP: 'CMD' is not a APP command. See 'ARGV0 --help'.`
    #[error("docker-machine: '{command}' is not a docker-machine command. See '{argv0} --help'.")]
    NotACommand {
        /// The word typed where a command was expected.
        command: String,
        /// The program's name as it was run, for the `--help` hint.
        argv0: String,
    },
    /// Go's flag package, as codegangsta/cli reports an unknown flag (one dash, whatever was
    /// typed).
    #[error("flag provided but not defined: -{}", .0.trim_start_matches('-'))]
    UnknownFlag(String),
}

/// The exit status docker-machine ended with after printing `sentence`: 1 for every error
/// (`runCommand` → `osExit(1)`; `cmdNotFound` → `os.Exit(1)`), except an unknown flag, after
/// which codegangsta/cli returns to `main`, which logs the error and returns: status 0.
pub fn exit_code(sentence: &Sentence) -> u8 {
    match sentence {
        Sentence::UnknownFlag(_) => 0,
        _ => 1,
    }
}

/// What codegangsta/cli printed on stdout before an unknown flag's sentence: `Incorrect
/// Usage.` and a blank line (then the command's help, which berth's help replaces).
pub const INCORRECT_USAGE: &str = "Incorrect Usage.\n";

/// Go's `%q` for the names berth allows (letters, digits, `-`, `.`, `_`): plain double quotes,
/// with `"` and `\` escaped as Go does for any other text a sentence may hold.
pub fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The two hint lines `env` ends with (env.go `GenerateUsageHint`), naming the command line as
/// typed; the program path is quoted when it holds a space or a backslash. The space after
/// the colon is docker-machine's.
pub fn env_usage_hint(comment: &str, eval: &str) -> String {
    format!("{comment} Run this command to configure your shell: \n{comment} {eval}\n")
}

/// The command line as `GenerateUsageHint` joins it.
pub fn command_line(args: &[String]) -> String {
    let mut args = args.to_vec();
    if let Some(first) = args.first_mut()
        && (first.contains(' ') || first.contains('\\'))
    {
        *first = format!("\"{first}\"");
    }
    args.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_machine_reads_as_mcnerror_says() {
        assert_eq!(
            Sentence::HostDoesNotExist("web1".into()).to_string(),
            "Docker machine \"web1\" does not exist. Use \"docker-machine ls\" to list machines. Use \"docker-machine create\" to add a new one."
        );
        assert_eq!(
            Sentence::Removing("x".into(), Box::new(Sentence::HostDoesNotExist("x".into())))
                .to_string(),
            "Error removing host \"x\": Docker machine \"x\" does not exist. Use \"docker-machine ls\" to list machines. Use \"docker-machine create\" to add a new one."
        );
    }

    #[test]
    fn states_are_lower_case_and_flags_have_one_dash() {
        assert_eq!(
            Sentence::AlreadyInState("m".into(), "Running".into()).to_string(),
            "Machine \"m\" is already running."
        );
        assert_eq!(
            Sentence::UnknownFlag("--bogus".into()).to_string(),
            "flag provided but not defined: -bogus"
        );
        assert_eq!(exit_code(&Sentence::UnknownFlag("x".into())), 0);
        assert_eq!(exit_code(&Sentence::NoDefault), 1);
    }

    #[test]
    fn extra_arguments_print_as_a_go_slice() {
        assert_eq!(
            Sentence::ExtraArguments(vec!["b".into(), "c".into()]).to_string(),
            "Invalid command line. Found extra arguments [b c]"
        );
    }

    #[test]
    fn go_quote_escapes_what_go_escapes() {
        assert_eq!(go_quote("web1"), "\"web1\"");
        assert_eq!(go_quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }

    #[test]
    fn a_program_path_with_a_space_is_quoted_in_the_hint() {
        let args = vec![
            "/opt/my tools/docker-machine".to_owned(),
            "env".to_owned(),
            "w".to_owned(),
        ];
        assert_eq!(
            command_line(&args),
            "\"/opt/my tools/docker-machine\" env w"
        );
    }
}

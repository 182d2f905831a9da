//! Running the system tools (ip, iptables, mount, debootstrap) with their
//! stderr kept for the error message.

use std::process::{Command, Stdio};

use crate::error::NspawnError;

/// Runs `program args…`; returns stdout, or an error carrying the command line and its stderr.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<String, NspawnError> {
    let command = command_line(program, args);
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| NspawnError::Spawn {
            command: command.clone(),
            source,
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(NspawnError::Command {
            command,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Runs a command only for its exit status (checks such as `iptables -C`).
pub(crate) fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The command as a user would type it, for messages.
pub(crate) fn command_line(program: &str, args: &[&str]) -> String {
    std::iter::once(program)
        .chain(args.iter().copied())
        .map(|a| {
            if a.is_empty() || a.contains([' ', '\'', '"']) {
                format!("'{}'", a.replace('\'', r"'\''"))
            } else {
                a.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_quotes_what_needs_it() {
        assert_eq!(
            command_line("ip", &["netns", "add", "a b"]),
            "ip netns add 'a b'"
        );
    }

    #[test]
    fn failure_carries_stderr() {
        let err = run("sh", &["-c", "echo nope >&2; exit 3"]).expect_err("exit 3 is a failure");
        let text = err.to_string();
        assert!(text.contains("nope") && text.contains("sh -c"), "{text}");
    }
}

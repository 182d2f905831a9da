//! Runs berth's shell scripts on the host: with or without `sudo -n`, values
//! passed as shell-quoted positional arguments (never pasted into the script),
//! file bytes through stdin, and every command reported for `--debug`.

use std::time::Instant;

use crate::error::ErrorKind;
use crate::remote::{Output, Remote, StreamKind};
use crate::step::Event;

/// Prepended to every script: a non-root user's PATH often lacks the sbin
/// directories where dockerd, hostname tools and systemctl live.
pub(crate) const PREAMBLE: &str =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH; export PATH\n";

/// The `$0` the scripts see, so their own error messages say who they are.
const ARGV0: &str = "berth";

/// The command line that runs `script` with `args` as `$1…`, through `sudo -n`
/// when `sudo` is set. Its first line is a comment naming `purpose`: what an SSH error
/// quotes of the command, and what `ps` shows on the host.
pub(crate) fn command_line(
    sudo: bool,
    purpose: &str,
    script: &str,
    args: &[&str],
) -> Result<String, ErrorKind> {
    let purpose = purpose.replace(['\n', '\''], " ");
    let body = format!("# berth: {purpose}\n{PREAMBLE}{script}");
    let mut words: Vec<&str> = Vec::with_capacity(args.len() + 6);
    if sudo {
        // -n: fail at once instead of prompting for a password nobody can type.
        words.extend(["sudo", "-n"]);
    }
    words.extend(["sh", "-c", body.as_str(), ARGV0]);
    words.extend(args);
    shlex::try_join(words.iter().copied()).map_err(|_| ErrorKind::Unquotable {
        value: words
            .iter()
            .find(|w| w.contains('\0'))
            .map(|w| (*w).to_owned())
            .unwrap_or_default(),
    })
}

/// The host seen through the SSH user, with or without sudo.
pub(crate) struct Runner<'a> {
    remote: &'a dyn Remote,
    /// Whether commands go through `sudo -n` (decided after detection, from `id -u`).
    pub(crate) sudo: bool,
    events: &'a mut dyn FnMut(Event<'_>),
}

impl<'a> Runner<'a> {
    pub(crate) fn new(remote: &'a dyn Remote, events: &'a mut dyn FnMut(Event<'_>)) -> Self {
        Self {
            remote,
            sudo: false,
            events,
        }
    }

    pub(crate) fn user(&self) -> &str {
        self.remote.user()
    }

    pub(crate) fn emit(&mut self, event: Event<'_>) {
        (self.events)(event);
    }

    /// Runs `script`, feeding `stdin` when given, and reports the command.
    pub(crate) fn script(
        &mut self,
        purpose: &str,
        script: &str,
        args: &[&str],
        stdin: Option<&[u8]>,
    ) -> Result<Output, ErrorKind> {
        let cmd = command_line(self.sudo, purpose, script, args)?;
        let started = Instant::now();
        let result = match stdin {
            Some(bytes) => self.remote.run_with_stdin(&cmd, bytes),
            None => self.remote.run(&cmd),
        };
        let output = result.map_err(|source| ErrorKind::Remote {
            purpose: purpose.to_owned(),
            source,
        })?;
        (self.events)(Event::RemoteCommand {
            purpose,
            cmd: &cmd,
            status: output.status,
            duration: started.elapsed(),
            stdout: &output.stdout,
            stderr: &output.stderr,
        });
        Ok(output)
    }

    /// Like [`Runner::script`] but fails on a non-zero exit, quoting stderr.
    pub(crate) fn checked(
        &mut self,
        purpose: &str,
        script: &str,
        args: &[&str],
        stdin: Option<&[u8]>,
    ) -> Result<Output, ErrorKind> {
        let output = self.script(purpose, script, args, stdin)?;
        if output.success() {
            Ok(output)
        } else {
            Err(ErrorKind::Command {
                purpose: purpose.to_owned(),
                status: output.status,
                stderr: crate::error::tail(&output.stderr_text(), 20),
            })
        }
    }

    /// Runs `script`, passing each output line on as [`Event::Detail`], and
    /// returns its exit status with its last `keep` lines (for error messages).
    pub(crate) fn stream(
        &mut self,
        purpose: &str,
        script: &str,
        args: &[&str],
        keep: usize,
    ) -> Result<(i32, Vec<String>), ErrorKind> {
        let cmd = command_line(self.sudo, purpose, script, args)?;
        let started = Instant::now();
        let mut last: std::collections::VecDeque<String> = std::collections::VecDeque::new();
        let events = &mut self.events;
        let mut on_line = |_: StreamKind, line: &str| {
            let line = line.trim_end();
            if last.len() == keep {
                last.pop_front();
            }
            last.push_back(line.to_owned());
            events(Event::Detail(line));
        };
        let status = self
            .remote
            .run_streaming(&cmd, &mut on_line)
            .map_err(|source| ErrorKind::Remote {
                purpose: purpose.to_owned(),
                source,
            })?;
        (self.events)(Event::RemoteCommand {
            purpose,
            cmd: &cmd,
            status,
            duration: started.elapsed(),
            stdout: &[],
            stderr: &[],
        });
        Ok((status, last.into()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn values_are_positional_and_quoted() {
        let cmd = command_line(false, "echo it", "echo \"$1\"", &["it's; rm -rf /"]).unwrap();
        let words = shlex::split(&cmd).unwrap();
        assert_eq!(words[0], "sh");
        assert_eq!(words[1], "-c");
        assert!(words[2].ends_with("echo \"$1\""));
        assert_eq!(words[3], "berth");
        assert_eq!(words[4], "it's; rm -rf /");
    }

    #[test]
    fn sudo_wraps_the_whole_script() {
        let cmd = command_line(true, "ask", "id -u", &[]).unwrap();
        assert!(cmd.starts_with("sudo -n sh -c '# berth: ask\n"), "{cmd}");
    }

    #[test]
    fn nul_bytes_are_refused() {
        assert!(matches!(
            command_line(false, "nothing", "true", &["a\0b"]),
            Err(ErrorKind::Unquotable { .. })
        ));
    }

    #[test]
    fn the_quoted_line_runs_in_a_real_shell() {
        let value = "spaces  and 'quotes' \"double\" $HOME `x` \\ end";
        let cmd = command_line(false, "print", "printf '%s' \"$1\"", &[value]).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .output()
            .expect("run sh");
        assert_eq!(String::from_utf8(out.stdout).unwrap(), value);
    }
}

//! `man [DIR]`: manual pages made from the clap definitions (clap_mangen), so that they say
//! exactly what `--help` says: `berth.1`, and `berth-COMMAND.1` for every command
//! (`berth-swarm-init.1` for a command of a command). `create`'s page lists the built-in
//! drivers' flags too.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use super::Ctx;
use crate::cli::ManArgs;

pub(super) fn run(ctx: &Ctx, args: &ManArgs) -> anyhow::Result<ExitCode> {
    let Some(dir) = &args.dir else {
        let mut out = Vec::new();
        clap_mangen::Man::new(command(ctx.dialect))
            .render(&mut out)
            .context("cannot render berth's manual page")?;
        ctx.printer.script(&String::from_utf8_lossy(&out));
        return Ok(ExitCode::SUCCESS);
    };
    let written = write_pages(dir, ctx.dialect)?;
    ctx.printer.info(&format!(
        "wrote {} manual pages into {}{}",
        written.len(),
        dir.display(),
        if dir.ends_with("man1") {
            ""
        } else {
            " (man looks for them in a man1 folder on its MANPATH, e.g. /usr/local/share/man/man1)"
        }
    ));
    Ok(ExitCode::SUCCESS)
}

/// The command whose pages are written: the dialect's name, every built-in driver's flags on
/// `create`, no `help` subcommand (it has no page of its own).
fn command(dialect: crate::dialect::Dialect) -> clap::Command {
    let mut command =
        crate::driver_flags::completion_command(dialect).disable_help_subcommand(true);
    command.build();
    command
}

/// Writes every page into `dir` (made if missing); returns the files written.
fn write_pages(dir: &Path, dialect: crate::dialect::Dialect) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot make the folder {}", dir.display()))?;
    let mut written = Vec::new();
    let mut pending = vec![command(dialect)];
    while let Some(command) = pending.pop() {
        pending.extend(
            command
                .get_subcommands()
                .filter(|s| !s.is_hide_set())
                .cloned(),
        );
        let man = clap_mangen::Man::new(command);
        let path = dir.join(man.get_filename());
        let mut page = Vec::new();
        man.render(&mut page)
            .with_context(|| format!("cannot render {}", path.display()))?;
        std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    written.sort();
    Ok(written)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Every command and command of a command gets a page named after its whole command line.
    #[test]
    fn every_subcommand_gets_a_page() {
        fn names(command: &clap::Command, prefix: &str, out: &mut Vec<String>) {
            let name = format!("{prefix}{}", command.get_name());
            out.push(format!("{name}.1"));
            for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
                names(sub, &format!("{name}-"), out);
            }
        }
        let mut expected = Vec::new();
        names(
            &crate::cli::command(crate::dialect::Dialect::Berth),
            "",
            &mut expected,
        );
        expected.sort();
        let dir = tempfile::tempdir().unwrap();
        let written: Vec<String> =
            write_pages(&dir.path().join("man1"), crate::dialect::Dialect::Berth)
                .unwrap()
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
        assert_eq!(written, expected);
        assert!(written.contains(&"berth-swarm-init.1".to_owned()));
        assert!(written.contains(&"berth-mount.1".to_owned()));
        let create = std::fs::read_to_string(dir.path().join("man1/berth-create.1")).unwrap();
        assert!(create.contains("generic\\-ip\\-address"), "{create}");
    }
}

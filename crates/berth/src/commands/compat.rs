//! `compat install-symlink`: the `docker-machine` name that makes berth speak docker-machine's
//! dialect (see `dialect.rs`). The same as `ln -s "$(command -v berth)" DIR/docker-machine`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};

use super::Ctx;
use crate::cli::{CompatCommand, InstallSymlinkArgs};
use crate::dialect::DOCKER_MACHINE;

pub(super) fn run(ctx: &Ctx, command: &CompatCommand) -> anyhow::Result<ExitCode> {
    match command {
        CompatCommand::InstallSymlink(args) => install_symlink(ctx, args),
    }
}

fn install_symlink(ctx: &Ctx, args: &InstallSymlinkArgs) -> anyhow::Result<ExitCode> {
    let berth = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .context("cannot tell where this berth binary is, to point the symlink at it")?;
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => berth
            .parent()
            .map(Path::to_path_buf)
            .context("this berth binary has no folder")?,
    };
    if !dir.is_dir() {
        bail!(
            "{} is not a folder; make it first, or name another one (one on PATH, e.g. ~/.local/bin)",
            dir.display()
        );
    }
    let link: PathBuf = dir.join(DOCKER_MACHINE);
    if let Ok(meta) = std::fs::symlink_metadata(&link) {
        let points_here = meta.file_type().is_symlink()
            && std::fs::canonicalize(&link).is_ok_and(|target| target == berth);
        if points_here {
            ctx.printer.info(&format!(
                "{} already points at {}",
                link.display(),
                berth.display()
            ));
            return Ok(ExitCode::SUCCESS);
        }
        if !args.force {
            bail!(
                "{} exists and is not a symlink to this berth (it may be docker-machine itself); \
                 move it away, or add --force to replace it",
                link.display()
            );
        }
        std::fs::remove_file(&link)
            .with_context(|| format!("cannot remove {} to replace it", link.display()))?;
    }
    std::os::unix::fs::symlink(&berth, &link)
        .with_context(|| format!("cannot make the symlink {}", link.display()))?;
    ctx.printer.info(&format!(
        "{} -> {}: called by that name, berth speaks docker-machine's dialect",
        link.display(),
        berth.display()
    ));
    Ok(ExitCode::SUCCESS)
}

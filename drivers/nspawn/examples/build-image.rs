//! Builds (or finds) the cached Debian root and says where it is and how long it took.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Instant;

fn main() -> std::process::ExitCode {
    let config = berth_nspawn::Config::default();
    let started = Instant::now();
    match berth_nspawn::preflight().and_then(|()| berth_nspawn::image::ensure(&config)) {
        Ok(root) => {
            println!("{} ready in {:.1?}", root.display(), started.elapsed());
            for old in berth_nspawn::image::prune(&config).unwrap_or_default() {
                println!("removed {}, the root of an older recipe", old.display());
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

//! Builds (or finds) the cached Debian roots — the plain one the test hosts boot from (Debian 12,
//! and 11 and 13 for the zoo's hosts) and the
//! one with the engine that the nspawn driver's machines boot from — and says where they are
//! and how long each took.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Instant;

fn main() -> std::process::ExitCode {
    let config = berth_nspawn::Config::default();
    if let Err(e) = berth_nspawn::preflight() {
        eprintln!("error: {e}");
        return std::process::ExitCode::FAILURE;
    }
    for (what, build) in [
        (
            "plain root",
            berth_nspawn::image::ensure as fn(&berth_nspawn::Config) -> _,
        ),
        ("root with the engine", berth_nspawn::image::ensure_engine),
    ] {
        let started = Instant::now();
        match build(&config) {
            Ok(root) => println!(
                "{what}: {} ready in {:.1?}",
                root.display(),
                started.elapsed()
            ),
            Err(e) => {
                eprintln!("error: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    // The test suite's zoo (issue 11) also boots Debian 11 and 13 hosts, without an engine.
    for release in ["bullseye", "trixie"] {
        let other = berth_nspawn::Config {
            release: release.into(),
            ..config.clone()
        };
        let started = Instant::now();
        match berth_nspawn::image::ensure(&other) {
            Ok(root) => println!(
                "plain {release} root: {} ready in {:.1?}",
                root.display(),
                started.elapsed()
            ),
            Err(e) => {
                eprintln!("error: building the {release} root: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    for old in berth_nspawn::image::prune(&config).unwrap_or_default() {
        println!("removed {}, the root of an older recipe", old.display());
    }
    std::process::ExitCode::SUCCESS
}

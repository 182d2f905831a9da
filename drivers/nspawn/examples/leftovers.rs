//! Lists what remains of local machines whose names start with the given prefix (all when none is given).
#![allow(clippy::print_stdout)]

fn main() -> std::process::ExitCode {
    let prefix = std::env::args().nth(1).unwrap_or_default();
    let left = berth_nspawn::leftovers(&berth_nspawn::Config::default(), &prefix);
    println!("{left:#?}");
    if left.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

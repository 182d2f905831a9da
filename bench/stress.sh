#!/usr/bin/env bash
# The first-create stall (issue 11): boots BERTH_STRESS_HOSTS hosts (default 20) from the cached
# engine root at once and runs `berth create` on each the moment its sshd answers. Prints hosts,
# creates, hangs, median and worst create time. Needs root (it boots test hosts).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin berth
BERTH_BIN="$PWD/target/release/berth" cargo bench -p berth-e2e --bench stress

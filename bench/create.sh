#!/usr/bin/env bash
# Times `berth create` on a fresh host and on hosts whose engine is installed, with the SSH
# connection count of each. Needs root (it boots test hosts, as the test suite does).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin berth
# FRESH=1 adds a create on a fresh host; BERTH_BASELINE_BIN pairs a baseline binary in each round.
BERTH_BIN="${BERTH_BIN:-$PWD/target/release/berth}" cargo bench -p berth-e2e --bench create

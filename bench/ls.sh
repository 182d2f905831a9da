#!/usr/bin/env bash
# Times `berth ls`: one machine (paired with a baseline binary, alternating runs) and a store of
# 200 machines of which 20 never answer (`--timeout 1`). Needs root (it boots a test host).
# BERTH_BASELINE_BIN names the baseline (e.g. a release build of an earlier commit); without it
# only the current binary is timed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin berth
BERTH_BIN="$PWD/target/release/berth" cargo bench -p berth-e2e --bench ls

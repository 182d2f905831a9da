#!/usr/bin/env bash
# `env NAME` (issue 20, first row), paired in one hyperfine run: this berth against a baseline
# binary (BERTH_BASELINE_BIN, berth's previous release). `env` reads one record and prints, so
# a record is all it needs: no host, no engine.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${BERTH_BIN:-}" ] || { cargo build --release --bin berth; BERTH_BIN="$PWD/target/release/berth"; }
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/web1"
cat > "$dir/web1/config.toml" <<TOML
version = 1
name = "web1"
driver = "generic"
state = "Running"
url = "tcp://127.0.0.9:2376"
created_at = "2026-11-23T12:00:00Z"

[ssh]
host = "127.0.0.9"
port = 22
user = "root"

[driver_data]
ip_address = "127.0.0.9"
ssh_user = "root"
ssh_port = 22
TOML
export BERTH_STORAGE_PATH="$dir"
cmds=("$BERTH_BIN env web1")
[ -n "${BERTH_BASELINE_BIN:-}" ] && cmds+=("$BERTH_BASELINE_BIN env web1")
hyperfine -N --warmup 10 --runs "${RUNS:-100}" "${cmds[@]}"

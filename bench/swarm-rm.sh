#!/usr/bin/env bash
# `rm -f` of a three-node Swarm (one manager, two workers) against `rm` of one machine outside a
# cluster (issue 20, last row), nspawn machines, this berth and a baseline (BERTH_BASELINE_BIN)
# alternating, RUNS rounds (default 3). Needs root, as the nspawn driver does.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${BERTH_BIN:-}" ]; then
  cargo build --release -p berth -p berth-nspawn
  BERTH_BIN="$PWD/target/release/berth"
fi
runs=${RUNS:-3}
store=$(mktemp -d)
cleanup() {
  for b in "$BERTH_BIN" ${BERTH_BASELINE_BIN:-}; do
    BERTH_STORAGE_PATH="$store" "$b" rm -y -f sa sm sw1 sw2 >/dev/null 2>&1 || true
  done
  rm -rf "$store"
}
trap cleanup EXIT
export BERTH_STORAGE_PATH="$store"
t() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>"$store/err" || { cat "$store/err" >&2; return 1; }; echo "$(date +%s.%N) - $s" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
bins=("$BERTH_BIN"); [ -n "${BERTH_BASELINE_BIN:-}" ] && bins+=("$BERTH_BASELINE_BIN")
for ((r = 0; r < runs; r++)); do
  for b in "${bins[@]}"; do
    key=$(echo "$b" | md5sum | cut -c1-6)
    "$b" create -d nspawn sa sm sw1 sw2 >/dev/null 2>&1
    "$b" swarm init sm >/dev/null 2>&1
    "$b" swarm join --manager sm sw1 sw2 >/dev/null 2>&1
    t "$b" rm -y sa >> "$store/one-$key"
    t "$b" rm -y -f sm sw1 sw2 >> "$store/three-$key"
  done
done
for b in "${bins[@]}"; do
  key=$(echo "$b" | md5sum | cut -c1-6)
  echo "$b: rm of one machine: median $(median < "$store/one-$key") s; rm -f of a three-node swarm: median $(median < "$store/three-$key") s (over $runs runs)"
done

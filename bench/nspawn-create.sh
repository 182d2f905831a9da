#!/usr/bin/env bash
# `create -d nspawn` (issue 20): one machine, then five at once, this berth and a baseline
# (BERTH_BASELINE_BIN, with its own berth-driver-nspawn beside it) alternating in one run, RUNS
# rounds (default 3). Each create is timed to an answering engine (`create` returns once the
# engine answers over TLS) and removed again. Needs root, as the nspawn driver does.
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
    BERTH_STORAGE_PATH="$store" "$b" rm -y -f bn0 bn1 bn2 bn3 bn4 bn5 >/dev/null 2>&1 || true
  done
  rm -rf "$store"
}
trap cleanup EXIT
export BERTH_STORAGE_PATH="$store"
t() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>"$store/err" || { cat "$store/err" >&2; return 1; }; echo "$(date +%s.%N) - $s" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
bins=("$BERTH_BIN"); [ -n "${BERTH_BASELINE_BIN:-}" ] && bins+=("$BERTH_BASELINE_BIN")
# The cached roots are built by the first create; keep that out of the timings.
"$BERTH_BIN" create -d nspawn bn0 >/dev/null 2>&1; "$BERTH_BIN" rm -y bn0 >/dev/null
for ((r = 0; r < runs; r++)); do
  for b in "${bins[@]}"; do
    key=$(basename "$(dirname "$b")")-$(echo "$b" | md5sum | cut -c1-6)
    t "$b" create -d nspawn bn0 >> "$store/one-$key"
    "$b" rm -y bn0 >/dev/null
    t "$b" create -d nspawn bn1 bn2 bn3 bn4 bn5 >> "$store/five-$key"
    "$b" rm -y bn1 bn2 bn3 bn4 bn5 >/dev/null
  done
done
for b in "${bins[@]}"; do
  key=$(basename "$(dirname "$b")")-$(echo "$b" | md5sum | cut -c1-6)
  echo "$b: create one: median $(median < "$store/one-$key") s; five at once: median $(median < "$store/five-$key") s (over $runs runs)"
done

#!/usr/bin/env bash
# `ls --timeout 1` of 200 machines (issue 20): 180 copies of one reachable machine and 20 copies
# pointed at addresses of the same local subnet where nothing answers, this berth and a baseline
# (BERTH_BASELINE_BIN) alternating, RUNS rounds (default 5). Prints each run's wall time and the
# states it showed. MACHINE names a machine of BERTH_STORAGE_PATH to copy (e.g. one made with
# `berth create -d nspawn`); DEAD_PREFIX the first three octets of its subnet (default: its own).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${BERTH_BIN:-}" ] || { cargo build --release --bin berth; BERTH_BIN="$PWD/target/release/berth"; }
: "${MACHINE:?name a reachable machine to copy}"
src="${BERTH_STORAGE_PATH:?}/$MACHINE"
ip=$("$BERTH_BIN" ip "$MACHINE")
prefix=${DEAD_PREFIX:-${ip%.*}}
store=$(mktemp -d); trap 'rm -rf "$store"' EXIT
copy() { mkdir -p "$store/$1"; cp "$src"/*.pem "$src/config.toml" "$store/$1/" 2>/dev/null || true
         sed -i -e "s/^name = \"$MACHINE\"/name = \"$1\"/" -e "s/$ip/$2/g" "$store/$1/config.toml"; }
for i in $(seq -w 0 179); do copy "m$i" "$ip"; done
for i in $(seq 0 19); do copy "d$i" "$prefix.$((200 + i))"; done
bins=("$BERTH_BIN"); [ -n "${BERTH_BASELINE_BIN:-}" ] && bins+=("$BERTH_BASELINE_BIN")
for ((r = 0; r < ${RUNS:-5}; r++)); do
  for b in "${bins[@]}"; do
    s=$(date +%s.%N)
    out=$(BERTH_STORAGE_PATH="$store" "$b" ls --timeout 1 --format '{{.Name}} {{.State}}' 2>/dev/null || true)
    e=$(date +%s.%N)
    m=$(grep '^m' <<<"$out" | awk '{print $2}' | sort | uniq -c | tr '\n' ' ')
    d=$(grep '^d' <<<"$out" | awk '{print $2}' | sort | uniq -c | tr '\n' ' ')
    echo "$b: $(echo "$e - $s" | bc) s; reachable: $m; dead: $d"
  done
done

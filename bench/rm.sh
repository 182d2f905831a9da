#!/usr/bin/env bash
# Times `berth rm` of one nspawn machine against `berth rm` of five at once, each machine with a
# running container (a local busybox image: no registry needed). Needs root, as the nspawn
# driver does. The five should take about as long as the one: rm works on them concurrently.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bins
B="$PWD/target/release/berth"
export PATH="$PWD/target/release:$PATH"
store=$(mktemp -d); image=$(mktemp -d)
export BERTH_STORAGE_PATH="$store"
names=(bra brb brc brd bre brf)
cleanup() { "$B" rm -y -f "${names[@]}" >/dev/null 2>&1 || true; rm -rf "$store" "$image"; }
trap cleanup EXIT
mkdir -p "$image/bin"; cp "$(command -v busybox)" "$image/bin/"; ln -s busybox "$image/bin/sleep"
"$B" create -d nspawn "${names[@]}" 2>/dev/null
for m in "${names[@]}"; do
    (eval "$("$B" env "$m")"; tar -C "$image" -c . | docker import - bb >/dev/null
     docker run -d --name sleeper bb sleep 100000 >/dev/null) &
done
wait
t() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>&1; echo "$(date +%s.%N) - $s" | bc; }
one=$(t "$B" rm -y bra)
five=$(t "$B" rm -y brb brc brd bre brf)
echo "rm of one machine with a running container: ${one} s"
echo "rm of five machines with running containers: ${five} s"

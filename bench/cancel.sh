#!/usr/bin/env bash
# Cancel latency (the timing figures the tests no longer assert): an apply
# whose host creates each wait 4 s on the sim driver gets two SIGINTs once
# its crypto is done; prints how long the process took to end after the
# second one (drivers wake within their 20 ms poll) and the wall time of
# an apply of 20 hosts at 200 ms latency with parallelism 20.
# Usage: bench/cancel.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
B=$(cd "${1:-build}" && pwd)
[ -x "$B/ledgerform" ] || { echo "build first: cmake --build $B" >&2; exit 1; }
W=$(mktemp -d /tmp/lf-bench-cancel-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"
spec() { # LATENCY PEERS
  printf 'name: bench\nproviders:\n  cloud:\n    driver: sim\n    config: {db: db.json, latency_ms: %s}\norgs:\n  - name: ordering\n    orderers: {count: 1, provider: cloud}\n  - name: bank\n    peers: {count: %s, provider: cloud}\nchannels:\n  - name: trade\n    orgs: [bank]\n' "$1" "$2" >spec.yaml
}
spec 4000 2
"$B/ledgerform" apply -f spec.yaml --auto-approve --parallelism 8 >out.txt 2>err.txt &
pid=$!
until grep -q '\[14/20\]' out.txt 2>/dev/null; do sleep 0.01; done
kill -INT "$pid"; sleep 0.1
t0=$(date +%s.%N); kill -INT "$pid"; wait "$pid" || true; t1=$(date +%s.%N)
echo "cancel: ended $(echo "($t1 - $t0) * 1000" | bc | cut -d. -f1) ms after the second SIGINT (target < 100 ms)"
rm -rf spec.state.json* db.json* .ledgerform
spec 200 19
t0=$(date +%s.%N)
"$B/ledgerform" apply -f spec.yaml --auto-approve --parallelism 20 >/dev/null
t1=$(date +%s.%N)
echo "apply: 20 hosts at 200 ms latency, parallelism 20, in $(echo "($t1 - $t0) * 1000" | bc | cut -d. -f1) ms (each node's file puts pay the latency one by one)"

#!/usr/bin/env bash
# etcd state backend figures against a real etcd (Debian etcd-server) that
# this script starts on 127.0.0.1:22350 in a temp dir and stops by PID:
#   - value sizes of a 10k-node network's state (largest key+value, total)
#   - first write, whole read, and the commit of a 10-resource batch on a
#     10k-node state (median of 20): etcd vs the file backend
#   - `ledgerform plan --refresh=false` of the 10k-node spec, state read
#     from etcd vs from the file (median of 5)
# Usage: bench/etcd.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
for x in ledgerform bench/bench_tool bench/etcd_bench; do
  [ -x "$B/$x" ] || { echo "build first: cmake --build $B --target ledgerform bench_tool etcd_bench" >&2; exit 1; }
done
command -v etcd >/dev/null || { echo "etcd is not installed (Debian: etcd-server)" >&2; exit 1; }
work=$(mktemp -d /tmp/lf-bench-etcd-XXXXXX)
EP=http://127.0.0.1:22350
etcd --name b --data-dir "$work/etcd" --listen-client-urls $EP --advertise-client-urls $EP \
  --listen-peer-urls http://127.0.0.1:22351 --initial-advertise-peer-urls http://127.0.0.1:22351 \
  --initial-cluster b=http://127.0.0.1:22351 > "$work/etcd.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for i in $(seq 100); do
  curl -s -X POST $EP/v3/kv/range -d '{"key":"eA=="}' >/dev/null && break
  sleep 0.1
done
spec="$work/bench.yaml"
"$B/bench/bench_tool" gen-spec 200 50 > "$spec"            # 10,003 nodes
"$B/bench/bench_tool" gen-state "$spec" > /dev/null       # bench.state.json
echo "== file backend"
"$B/bench/etcd_bench" file "$work/bench.state.json"
echo "== etcd backend ($EP)"
"$B/bench/etcd_bench" etcd "$work/bench.state.json" $EP /bench-commit/
# the same spec with its state in etcd, pushed from the file
espec="$work/bench-etcd.yaml"
{ cat "$spec"; echo "state: {backend: etcd, endpoints: [\"$EP\"], prefix: /bench-plan/}"; } > "$espec"
"$B/ledgerform" state push "$work/bench.state.json" -f "$espec" > /dev/null
median_plan() {
  local times=() t0 t1
  for i in 1 2 3 4 5; do
    t0=$(date +%s.%N)
    "$B/ledgerform" plan -f "$1" --refresh=false --detailed-exitcode > "$work/out" || { echo "plan failed or found changes" >&2; tail -5 "$work/out"; exit 1; }
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf "%s\n" "${times[@]}" | sort -n | sed -n 3p
}
echo "== plan of 10,003 nodes (--refresh=false, median of 5)"
printf "state in file: %.3f s\n" "$(median_plan "$spec")"
printf "state in etcd: %.3f s\n" "$(median_plan "$espec")"

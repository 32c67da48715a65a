#!/usr/bin/env bash
# Plan speed: `ledgerform plan` of a generated spec against matching state
# (nothing to change), at about 1k, 10k and 50k nodes. Prints the median
# wall time of 5 runs and peak memory (max RSS) per size. Wall times need a
# quiet machine; for a load-independent figure count instructions:
#   valgrind --tool=callgrind build/ledgerform plan -f SPEC --refresh=false
# The state is generated (no machines behind it), so these plans run --refresh=false;
# the last row is the default plan (refreshing what is cheap: local hosts,
# nodes, crypto files) of a 1k-node network really applied on this machine
# (LF_BENCH_NO_APPLY=1 leaves it out: it starts real node processes).
# min_s is the fastest of the 5 runs, the least disturbed by other load.
# Usage: bench/plan.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
[ -x "$B/ledgerform" ] && [ -x "$B/bench/bench_tool" ] || { echo "build first: cmake --build $B" >&2; exit 1; }
work=$(mktemp -d /tmp/lf-bench-plan-XXXXXX)
trap 'rm -rf "$work"' EXIT
printf "%-8s %-8s %-10s %-12s %-8s %-12s %-10s\n" nodes orgs resources plan_wall_s min_s validate_s peak_MB
for cfg in "20 50" "200 50" "999 50"; do  # 999 x 50 + 3: under the 50,000-node limit
  set -- $cfg
  orgs=$1 peers=$2
  spec="$work/bench-$orgs.yaml"
  "$B/bench/bench_tool" gen-spec "$orgs" "$peers" > "$spec"
  nres=$("$B/bench/bench_tool" gen-state "$spec" | awk '{print $1}')
  nodes=$((orgs * peers + 3))
  times=()
  for i in 1 2 3 4 5; do
    t0=$(date +%s.%N)
    "$B/ledgerform" plan -f "$spec" --refresh=false --detailed-exitcode > "$work/out" || { echo "plan failed or found changes" >&2; tail -5 "$work/out"; exit 1; }
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  med=$(printf "%s\n" "${times[@]}" | sort -n | sed -n 3p)
  min=$(printf "%s\n" "${times[@]}" | sort -n | sed -n 1p)
  t0=$(date +%s.%N); "$B/ledgerform" validate -f "$spec" >/dev/null; t1=$(date +%s.%N)
  val=$(echo "$t1 - $t0" | bc -l)
  peak=$( { /usr/bin/time -f "%M" "$B/ledgerform" plan -f "$spec" --refresh=false >/dev/null; } 2>&1 | tail -1)
  printf "%-8s %-8s %-10s %-12.3f %-8.3f %-12.3f %-10.1f\n" "$nodes" "$orgs" "$nres" "$med" "$min" "$val" "$(echo "$peak / 1024" | bc -l)"
done
[ "${LF_BENCH_NO_APPLY:-0}" = 1 ] && exit 0
# the default refresh on a real local network of about 1k nodes
spec="$work/real.yaml"
"$B/bench/bench_tool" gen-spec 20 50 > "$spec"
rm -f "$work/real.state.json"
"$B/ledgerform" apply -f "$spec" --auto-approve --parallelism 4 > "$work/apply.out" 2>&1 || { echo "apply failed" >&2; tail -5 "$work/apply.out"; exit 1; }
nres=$(grep -o '"type"' "$work/real.state.json" | wc -l)
times=()
for i in 1 2 3 4 5; do
  t0=$(date +%s.%N)
  "$B/ledgerform" plan -f "$spec" --detailed-exitcode > "$work/out" || { echo "refreshing plan failed or found changes" >&2; tail -5 "$work/out"; exit 1; }
  t1=$(date +%s.%N)
  times+=("$(echo "$t1 - $t0" | bc -l)")
done
med=$(printf "%s\n" "${times[@]}" | sort -n | sed -n 3p)
peak=$( { /usr/bin/time -f "%M" "$B/ledgerform" plan -f "$spec" >/dev/null; } 2>&1 | tail -1)
printf "%-8s %-8s %-10s %-12.3f %-8s %-12s %-10.1f  (default refresh, applied local network)\n" 1003 20 "$nres" "$med" - - "$(echo "$peak / 1024" | bc -l)"
echo "targets: 10k nodes plan < 0.5 s wall, < 200 MB peak. (Terraform has no Fabric equivalent to run side by side.)"

#!/usr/bin/env bash
# Apply speed: create 500 hosts on the sim driver at 100 ms latency with
# parallelism 50; the ideal is 500 x 0.1 s / 50 = 1.0 s. Prints wall time and
# the overhead against the ideal (median of 3), plus a parallelism sweep.
# Usage: bench/apply.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
[ -x "$B/bench/bench_tool" ] || { echo "build first: cmake --build $B" >&2; exit 1; }
export LEDGERFORM_DRIVER_PATH="$B/drivers"
for par in 50 10 100; do
  for i in 1 2 3; do "$B/bench/bench_tool" apply-sim 500 100 "$par"; done | sort -t= -k5 -n | sed -n 2p
done
echo "target: parallelism 50 within 10 % of the 1.0 s ideal"

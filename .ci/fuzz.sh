#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan+UBSan; tests/fuzz/) in
# build-fuzz, replays the crash inputs recorded under tests/fuzz/crashes/,
# then fuzzes each harness for SECONDS from its seed corpus.
#   bash .ci/fuzz.sh [SECONDS] [HARNESS...]      (default 45 s; all harnesses)
# Exit 1 when a recorded crash still reproduces or fuzzing finds a new one;
# new crash inputs are left in build-fuzz/artifacts/HARNESS/.
# See docs/fuzzing.md for long runs.
set -uo pipefail
cd "$(dirname "$0")/.."

secs=${1:-45}
shift || true
all=(spec state plan block policy)
if [ $# -gt 0 ]; then harnesses=("$@"); else harnesses=("${all[@]}"); fi
bdir=${LF_FUZZ_BUILD_DIR:-build-fuzz}

bash .ci/bootstrap.sh --with-fuzz || exit 1
CC=clang cmake -S . -B "$bdir" -DLF_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
targets=()
for h in "${harnesses[@]}"; do targets+=(--target "fuzz_$h"); done
cmake --build "$bdir" -j"$(nproc 2>/dev/null || echo 2)" "${targets[@]}" >/dev/null || exit 1

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=()
log="$bdir/fuzz-logs"
mkdir -p "$log"

# 1. every recorded crash input, alone: still crashing or fixed
for h in "${harnesses[@]}"; do
  for f in tests/fuzz/crashes/"$h"/*; do
    [ -f "$f" ] || continue
    case "$f" in *.txt|*.md) continue ;; esac
    if "$bdir/tests/fuzz/fuzz_$h" -runs=1 "$f" >"$log/replay.out" 2>&1; then
      echo "fuzz: $h: recorded crash $f no longer crashes"
    else
      echo "fuzz: $h: RECORDED CRASH STILL REPRODUCES: $f"
      grep -m3 -E "ERROR: |runtime error|SUMMARY" "$log/replay.out" | sed 's/^/    /'
      failed+=("$h (recorded $f)")
    fi
  done
done

# 2. bounded fuzzing from a scratch copy of the seed corpus
for h in "${harnesses[@]}"; do
  work="$bdir/corpus/$h"
  art="$bdir/artifacts/$h/"
  mkdir -p "$work" "$art"
  cp -n tests/fuzz/corpus/"$h"/* "$work"/ 2>/dev/null
  echo "fuzz: $h: ${secs}s"
  if "$bdir/tests/fuzz/fuzz_$h" -max_total_time="$secs" -timeout=30 \
       -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$art" "$work" >"$log/$h.log" 2>&1; then
    grep -E "stat::number_of_executed_units|cov: " "$log/$h.log" | tail -2 | sed 's/^/    /'
  else
    echo "fuzz: $h: CRASH (input in $art, log $log/$h.log)"
    grep -m3 -E "ERROR: |runtime error|SUMMARY|Test unit written" "$log/$h.log" | sed 's/^/    /'
    failed+=("$h")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzz: ok (${harnesses[*]})"

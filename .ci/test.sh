#!/usr/bin/env bash
# Installs what the build and tests need, builds warnings-as-errors, runs
# every test, then builds again with AddressSanitizer + UndefinedBehavior-
# Sanitizer and runs every test there too; then a ThreadSanitizer build of
# the executor, crypto and driver tests, and a bounded libFuzzer run of each
# fuzz harness (.ci/fuzz.sh).
#   LF_SKIP_ASAN=1       skip the ASan+UBSan pass (quicker local runs)
#   LF_SKIP_TSAN=1       skip the ThreadSanitizer pass
#   LF_FUZZ=0            skip fuzzing (default 1: on)
#   LF_FUZZ_SECONDS=N    seconds per harness (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/bootstrap.sh --with-tests

# Some tests listen on fixed ports from 33000 up, inside Linux's default
# ephemeral range (32768-60999): an outgoing connection of another test
# (a health poll, a gRPC client) may take one of them just before a node
# binds it, and the node dies with "address already in use". The
# ephemeral range starts at 40000 here instead. (Not a reservation of
# 32768-39999: with one, the kernel's pick for a port-0 bind skips up
# through the reserved block and lands on 40001 a quarter of the time,
# so two such binds in a row collide.) Best effort: it needs a writable
# /proc/sys (root, or a container that allows it); without it the tests
# still run.
pr=/proc/sys/net/ipv4/ip_local_port_range
if [ -w "$pr" ]; then
  read -r lo hi < "$pr"
  if [ "$lo" -lt 40000 ] && [ "$hi" -gt 50000 ]; then
    echo "40000 $hi" > "$pr" 2>/dev/null &&
      echo "ci: ephemeral ports now 40000-$hi, above the tests' fixed ports ($pr)" ||
      echo "ci: could not move the ephemeral port range in $pr" >&2
  fi
fi

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DLF_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

if [ "${LF_SKIP_ASAN:-0}" != 1 ]; then
  cmake -S . -B build-asan -DLF_WERROR=ON -DLF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs"
fi

if [ "${LF_SKIP_TSAN:-0}" != 1 ]; then
  # the tests that run threads: executor, crypto (parallel keygen), plugin
  # pool, drivers (the ssh driver's parallel channels on one session) and
  # the ABI checks
  tsan_tests='^(test_plans_exec|test_crypto|test_plugin|test_driver_sim|test_driver_local|test_driver_ssh|test_abi|test_speed_hashes)$'
  cmake -S . -B build-tsan -DLF_WERROR=ON -DLF_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-tsan -j"$jobs" --target test_plans_exec test_crypto \
    test_plugin test_driver_sim test_driver_local test_driver_ssh test_abi test_speed_hashes \
    ledgerform_driver_sim ledgerform_driver_local ledgerform_driver_ssh
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --test-dir build-tsan --output-on-failure -j"$jobs" -R "$tsan_tests"
fi

if [ "${LF_FUZZ:-1}" != 0 ]; then
  bash .ci/fuzz.sh "${LF_FUZZ_SECONDS:-30}"
fi

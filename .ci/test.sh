#!/usr/bin/env bash
# Installs what the build and tests need, builds warnings-as-errors, runs
# every test, then builds again with AddressSanitizer + UndefinedBehavior-
# Sanitizer and runs every test there too.
#   LF_SKIP_ASAN=1   skip the sanitizer pass (quicker local runs)
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/bootstrap.sh --with-tests

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

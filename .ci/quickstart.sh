#!/usr/bin/env bash
# The main job on embedded defaults: install, build, apply
# examples/quickstart.yaml with the local driver and file state, show it.
# Prints a line per stage and the build's own progress ([ 42%] ...); the
# full build log is in build/quickstart-build.log (its end is shown when
# the build fails).
set -euo pipefail
cd "$(dirname "$0")/.."
stage() { printf '==> %s\n' "$*"; }

stage "packages (.ci/bootstrap.sh)"
bash .ci/bootstrap.sh
stage "configure (cmake)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLF_TESTS=OFF >/dev/null
jobs="$(nproc 2>/dev/null || echo 2)"
stage "build: ledgerform and its drivers on $jobs cores (about a minute on 2)"
log=build/quickstart-build.log
start=$SECONDS
# cmake's progress lines, shortened to the file being compiled or linked
if ! cmake --build build -j"$jobs" 2>&1 | tee "$log" |
     sed -un -e 's/^\(\[ *[0-9]*%\]\) Building C object .*\.dir\/\(.*\)\.o$/  \1 compiling \2/p' \
             -e 's/^\(\[ *[0-9]*%\]\) Linking C [a-z ]* \(.*\)$/  \1 linking \2/p'; then
  echo "quickstart: build failed; the end of $log:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
stage "built in $((SECONDS - start)) s"
stage "apply examples/quickstart.yaml (local driver, file state)"
./build/ledgerform apply -f examples/quickstart.yaml --auto-approve
stage "show"
./build/ledgerform show -f examples/quickstart.yaml

#!/usr/bin/env bash
# The main job on embedded defaults: install, build, apply
# examples/quickstart.yaml with the local driver and file state, show it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/bootstrap.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLF_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
./build/ledgerform apply -f examples/quickstart.yaml --auto-approve
./build/ledgerform show -f examples/quickstart.yaml

#!/usr/bin/env bash
# The driver SDK works out of tree: install ledgerform into a scratch
# prefix, build the sim driver from its sources against the installed
# headers and pkg-config file only, and have the installed binary load it
# and apply a spec through it.
#   sdk_build.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d /tmp/lf-sdk-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/ledgerform/driver.h"
test -f "$tmp/prefix/include/ledgerform/error.h"
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
abi=$(pkg-config --variable=abi ledgerform-driver)
want=$(sed -n 's/^#define LF_DRIVER_ABI_VERSION \([0-9]*\)u.*/\1/p' "$src/include/ledgerform/driver.h")
[ "$abi" = "$want" ] || { echo "pkg-config says ABI $abi, driver.h says $want"; exit 1; }

# only the installed SDK: no -I into the source tree
mkdir -p "$tmp/out"
cp "$src"/drivers/sim/*.c "$src"/drivers/sim/*.h "$tmp/out/"
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -shared \
   $(pkg-config --cflags ledgerform-driver jansson) \
   -o "$tmp/out/ledgerform_driver_sim.so" "$tmp"/out/*.c \
   $(pkg-config --libs jansson) -lpthread

export LEDGERFORM_DRIVER_PATH="$tmp/out:$tmp/prefix/lib/ledgerform/drivers"
"$tmp/prefix/bin/ledgerform" drivers > "$tmp/drivers.txt"
grep -q "^sim .* abi $want  $tmp/out/ledgerform_driver_sim.so" "$tmp/drivers.txt" || {
	echo "the out-of-tree sim driver is not listed as loaded:"; cat "$tmp/drivers.txt"; exit 1; }

mkdir -p "$tmp/net"
cat > "$tmp/net/spec.yaml" <<YAML
name: sdk
providers:
  cloud: {driver: sim, config: {db: $tmp/net/db.json}}
orgs:
  - name: bank
    peers: {count: 2, provider: cloud}
YAML
(cd "$tmp/net" && "$tmp/prefix/bin/ledgerform" apply -f spec.yaml --auto-approve >/dev/null)
n=$(grep -o '"sim-[0-9a-f]*"' "$tmp/net/db.json" | sort -u | wc -l)
[ "$n" = 2 ] || { echo "expected 2 sim hosts, found $n"; exit 1; }
(cd "$tmp/net" && "$tmp/prefix/bin/ledgerform" destroy -f spec.yaml --auto-approve >/dev/null)
echo "sdk: out-of-tree sim driver (ABI $want) built, loaded and applied: 1 passed, 0 failed"

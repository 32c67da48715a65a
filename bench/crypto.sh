#!/bin/sh
# Crypto material benchmark: ledgerform vs the OpenSSL limit (vs cryptogen).
#
#   bench/crypto.sh [BUILD_DIR]      (default: build-crypto, then build)
#
# Layout: 20 orgs x 50 peers x 2 users + 1 orderer org with 3 orderers:
# 1,106 signing identities as cryptogen counts them (incl. 42 CAs), each
# leaf with a TLS pair, 8,659 files. Prints identities/s, wall time, the
# share of thread time in EC operations vs encoding vs file writes, each on
# the disk ($BENCH_DIR or /tmp) and on tmpfs (/dev/shm) when present, then
# `openssl speed ecdsap256` and, when $FABRIC_BIN/cryptogen exists, Fabric's
# cryptogen on the equivalent crypto-config.yaml.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-}
if [ -z "$BUILD" ]; then
	for b in "$ROOT/build-crypto" "$ROOT/build"; do
		if [ -x "$b/core/fabric/crypto/lf-bench-crypto" ]; then BUILD=$b; break; fi
	done
fi
BIN=${BUILD:-$ROOT/build}/core/fabric/crypto/lf-bench-crypto
if [ ! -x "$BIN" ]; then
	echo "crypto.sh: $BIN not found; build first (cmake --build BUILD)" >&2
	exit 1
fi
RUNS=${RUNS:-3}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}}
WORK=$(mktemp -d "$BENCH_DIR/lf-bench-crypto.XXXXXX")
trap 'rm -rf "$WORK" /dev/shm/lf-bench-crypto.$$' EXIT INT TERM

echo "== ledgerform crypto: 20 orgs x 50 peers x 2 users + 3 orderers, $(nproc) cores"

run_series() { # $1 = label, $2 = base dir
	i=1
	while [ "$i" -le "$RUNS" ]; do
		out="$2/run$i"
		echo "-- $1 run $i ($out)"
		"$BIN" "$out"
		i=$((i + 1))
	done
	files=$(find "$2/run1" -type f | wc -l)
	echo "-- $1: files in the tree: $files"
}

# fresh directories for every run; trees are deleted only at the end
# (this file system is mounted with 'discard': deleting right before a run
# slows the next run's file creation)
run_series "disk ($BENCH_DIR)" "$WORK"
# the file system's floor: copying the same tree (no crypto at all)
s=$(date +%s.%N)
cp -a "$WORK/run1" "$WORK/copy"
sync -f "$WORK/copy"
e=$(date +%s.%N)
echo "-- disk floor: cp -a + sync of the same 8,659-file tree: $(echo "$e - $s" | bc) s"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	mkdir -p "/dev/shm/lf-bench-crypto.$$"
	run_series "tmpfs (/dev/shm)" "/dev/shm/lf-bench-crypto.$$"
fi

echo
echo "== executor path (lf_crypto_expand + one create callback per resource, 2 threads, syncfs per call)"
"$BIN" --rtype "$WORK/rtype" 20 50 2 3 2
echo "-- no-op re-render of run 1 (everything up to date)"
"$BIN" "$WORK/run1" | grep -E "^(wall|identities/s|certs issued)"

echo
echo "== OpenSSL limit: openssl speed -seconds 1 ecdsap256"
openssl speed -seconds 1 ecdsap256 2>/dev/null | tail -1
echo "   all cores (-multi $(nproc)):"
openssl speed -seconds 1 -multi "$(nproc)" ecdsap256 2>/dev/null | tail -1
echo "   ledgerform needs per identity: 2 keygens + 2 signatures (2,170 of each here)"

echo
if [ -n "${FABRIC_BIN:-}" ] && [ -x "$FABRIC_BIN/cryptogen" ]; then
	cfg="$WORK/crypto-config.yaml"
	{
		echo "OrdererOrgs:"
		echo "  - Name: Orderer"
		echo "    Domain: example.com"
		echo "    EnableNodeOUs: true"
		echo "    Specs:"
		for n in 0 1 2; do echo "      - Hostname: orderer$n"; done
		echo "PeerOrgs:"
		o=1
		while [ "$o" -le 20 ]; do
			echo "  - Name: Org$o"
			echo "    Domain: org$o.example.com"
			echo "    EnableNodeOUs: true"
			echo "    Template:"
			echo "      Count: 50"
			echo "    Users:"
			echo "      Count: 2"
			o=$((o + 1))
		done
	} > "$cfg"
	echo "== cryptogen ($FABRIC_BIN/cryptogen generate), $RUNS runs"
	i=1
	while [ "$i" -le "$RUNS" ]; do
		s=$(date +%s.%N)
		"$FABRIC_BIN/cryptogen" generate --config="$cfg" --output="$WORK/cg$i" >/dev/null
		e=$(date +%s.%N)
		echo "cryptogen run $i: wall $(echo "$e - $s" | bc) s, files $(find "$WORK/cg$i" -type f | wc -l)"
		i=$((i + 1))
	done
else
	echo "cryptogen: skipped (FABRIC_BIN unset)"
	echo "   reference (/work/shared/fabric-reference.md): cryptogen v2.5, same layout,"
	echo "   2.9 s wall (1.6-4.0) on this 2-core machine; target < 0.29 s (10x)"
fi

#!/bin/sh
# Genesis block benchmark: ledgerform's lf_block_genesis vs Fabric's
# configtxgen -outputBlock, etcdraft with 3 consenters and 2, 20, 200
# application orgs (each with peer0 as anchor peer).
#
#   bench/block.sh [BUILD_DIR]     (default: build-block, then build)
#
# MSP material is made once with the openssl CLI (tests/unit/block/mkorg.sh)
# and copied for every org. Prints per org count: ledgerform time (min and
# median of $REPS in-process renders; wall and peak RSS of the whole
# process from /usr/bin/time), block size, the time to compute an add-org
# config update, the wall time of a one-shot process (one render + write,
# how configtxgen is timed); then configtxgen's wall time, peak RSS and
# size when $FABRIC_BIN/configtxgen exists.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-}
if [ -z "$BUILD" ]; then
	for b in "$ROOT/build-block" "$ROOT/build"; do
		if [ -x "$b/core/fabric/block/lf-bench-block" ]; then BUILD=$b; break; fi
	done
fi
BIN=${BUILD:-$ROOT/build}/core/fabric/block/lf-bench-block
if [ ! -x "$BIN" ]; then
	echo "block.sh: $BIN not found; build first (cmake --build BUILD)" >&2
	exit 1
fi
REPS=${REPS:-5}
COUNTS=${COUNTS:-"2 20 200"}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lf-bench-block.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
TIME=/usr/bin/time
[ -x "$TIME" ] || TIME=

sh "$ROOT/tests/unit/block/mkorg.sh" "$WORK/tmpl" orderer example.com \
	orderer0 orderer1 orderer2
sh "$ROOT/tests/unit/block/mkorg.sh" "$WORK/tmpl" peer tmpl.example.com peer0

crypto_for() { # $1 = N: orderer org + N+1 peer orgs (one to add)
	c=$WORK/c$1
	mkdir -p "$c/peerOrganizations"
	cp -r "$WORK/tmpl/ordererOrganizations" "$c/"
	i=1
	while [ "$i" -le $(($1 + 1)) ]; do
		cp -r "$WORK/tmpl/peerOrganizations/tmpl.example.com" \
			"$c/peerOrganizations/org$i.example.com"
		i=$((i + 1))
	done
}

configtx_for() { # $1 = N: configtx.yaml for configtxgen, same inputs
	c=$WORK/c$1
	f=$c/configtx.yaml
	{
		echo "Organizations:"
		echo "  - &OrdererOrg"
		echo "    Name: OrdererMSP"
		echo "    ID: OrdererMSP"
		echo "    MSPDir: $c/ordererOrganizations/example.com/msp"
		echo "    OrdererEndpoints: [orderer0.example.com:7050]"
		echo "    Policies:"
		for p in Readers Writers; do
			echo "      $p: {Type: Signature, Rule: \"OR('OrdererMSP.member')\"}"
		done
		echo "      Admins: {Type: Signature, Rule: \"OR('OrdererMSP.admin')\"}"
		i=1
		while [ "$i" -le "$1" ]; do
			echo "  - &Org$i"
			echo "    Name: Org${i}MSP"
			echo "    ID: Org${i}MSP"
			echo "    MSPDir: $c/peerOrganizations/org$i.example.com/msp"
			echo "    AnchorPeers: [{Host: peer0.org$i.example.com, Port: 7051}]"
			echo "    Policies:"
			for p in Readers Writers Endorsement; do
				echo "      $p: {Type: Signature, Rule: \"OR('Org${i}MSP.member')\"}"
			done
			echo "      Admins: {Type: Signature, Rule: \"OR('Org${i}MSP.admin')\"}"
			i=$((i + 1))
		done
		echo "Profiles:"
		echo "  Bench:"
		echo "    Policies:"
		echo "      Readers: {Type: ImplicitMeta, Rule: ANY Readers}"
		echo "      Writers: {Type: ImplicitMeta, Rule: ANY Writers}"
		echo "      Admins: {Type: ImplicitMeta, Rule: MAJORITY Admins}"
		echo "    Capabilities: {V2_0: true}"
		echo "    Orderer:"
		echo "      OrdererType: etcdraft"
		echo "      BatchTimeout: 2s"
		echo "      BatchSize: {MaxMessageCount: 10, AbsoluteMaxBytes: 99 MB, PreferredMaxBytes: 512 KB}"
		echo "      EtcdRaft:"
		echo "        Consenters:"
		for k in 0 1 2; do
			t=$c/ordererOrganizations/example.com/orderers/orderer$k.example.com/tls/server.crt
			echo "          - {Host: orderer$k.example.com, Port: 705$k, ClientTLSCert: $t, ServerTLSCert: $t}"
		done
		echo "      Organizations: [*OrdererOrg]"
		echo "      Capabilities: {V2_0: true}"
		echo "      Policies:"
		echo "        Readers: {Type: ImplicitMeta, Rule: ANY Readers}"
		echo "        Writers: {Type: ImplicitMeta, Rule: ANY Writers}"
		echo "        Admins: {Type: ImplicitMeta, Rule: MAJORITY Admins}"
		echo "        BlockValidation: {Type: ImplicitMeta, Rule: ANY Writers}"
		echo "    Application:"
		echo "      Capabilities: {V2_5: true}"
		echo "      Policies:"
		echo "        Readers: {Type: ImplicitMeta, Rule: ANY Readers}"
		echo "        Writers: {Type: ImplicitMeta, Rule: ANY Writers}"
		echo "        Admins: {Type: ImplicitMeta, Rule: MAJORITY Admins}"
		echo "        Endorsement: {Type: ImplicitMeta, Rule: MAJORITY Endorsement}"
		echo "        LifecycleEndorsement: {Type: ImplicitMeta, Rule: MAJORITY Endorsement}"
		printf "      Organizations: ["
		i=1
		while [ "$i" -le "$1" ]; do
			[ "$i" -gt 1 ] && printf ", "
			printf "*Org%d" "$i"
			i=$((i + 1))
		done
		echo "]"
	} > "$f"
}

echo "== genesis block, etcdraft, 3 consenters, $(nproc) cores, $REPS reps"
for n in $COUNTS; do
	crypto_for "$n"
	if [ -n "$TIME" ]; then
		line=$("$TIME" -f "wall_s=%e peak_rss_kb=%M" "$BIN" "$WORK/c$n" "$n" \
			"$REPS" "$WORK/lf$n.block" 2>"$WORK/time$n" | tail -1)
		echo "ledgerform: $line $(tail -1 "$WORK/time$n") (process, $REPS renders)"
	else
		echo "ledgerform: $("$BIN" "$WORK/c$n" "$n" "$REPS" "$WORK/lf$n.block")"
	fi
	# one-shot process, one render + write, as configtxgen is measured
	t0=$(date +%s%N)
	"$BIN" "$WORK/c$n" "$n" 1 "$WORK/one$n.block" --render-only > /dev/null
	t1=$(date +%s%N)
	echo "ledgerform one-shot process: orgs=$n wall_ms=$(( (t1 - t0) / 1000000 ))"
	if [ -n "${FABRIC_BIN:-}" ] && [ -x "$FABRIC_BIN/configtxgen" ]; then
		configtx_for "$n"
		if "$TIME" -f "wall_s=%e peak_rss_kb=%M" "$FABRIC_BIN/configtxgen" \
			-configPath "$WORK/c$n" -profile Bench -channelID bench \
			-outputBlock "$WORK/ctg$n.block" 2>"$WORK/ctg$n.log"; then
			echo "configtxgen: orgs=$n $(tail -1 "$WORK/ctg$n.log") bytes=$(wc -c < "$WORK/ctg$n.block")"
		else
			echo "configtxgen: orgs=$n failed: $(tail -1 "$WORK/ctg$n.log")"
		fi
	else
		echo "configtxgen: skipped (FABRIC_BIN unset)"
	fi
	rm -rf "$WORK/c$n"
done

#!/usr/bin/env bash
# Network bring-up: wall time from nothing to a network whose nodes run and
# whose channel every orderer and peer has joined, on this machine with
# Fabric's own binaries (FABRIC_BIN), for two shapes:
#   quickstart   3 raft orderers, 2 orgs x 2 peers, 1 channel
#   10orgs       3 raft orderers, 10 orgs x 2 peers, 1 channel
# side by side:
#   ledgerform   `ledgerform apply` (crypto, genesis block, node bundles,
#                starts, health, joins: everything)
#   by hand      Fabric's test-network sequence with the same binaries:
#                cryptogen generate, configtxgen -outputBlock, start every
#                node, osnadmin channel join per orderer, peer channel
#                join per peer (each step waits for the previous one)
# Each row is the median of RUNS runs (default 3). Uses Fabric's default
# ports (7050-9443 and the planned ones above 11000): run it alone.
# Usage: FABRIC_BIN=../shared/fabric/2.5.5/bin bench/network.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
RUNS=${RUNS:-3}
LF=$(pwd)/$B/ledgerform
: "${FABRIC_BIN:?set FABRIC_BIN to Fabric 2.5 binaries (../shared/fabric/2.5.5/bin)}"
FABRIC_BIN=$(cd "$FABRIC_BIN" && pwd)
export FABRIC_BIN
CFG=$(cd "$FABRIC_BIN/../config" && pwd)
[ -x "$LF" ] || { echo "build first: cmake --build $B" >&2; exit 1; }
work=$(mktemp -d /tmp/lf-bench-net-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }

# ---- the spec both sides build ----
gen_spec() { # ORGS
  local n=$1 i
  printf 'name: bench\nfabric: {version: "2.5", consensus: etcdraft}\norgs:\n'
  printf '  - name: ordering\n    orderers: {count: 3}\n'
  for ((i = 1; i <= n; i++)); do printf '  - name: org%d\n    peers: {count: 2}\n' "$i"; done
  printf 'channels:\n  - name: mychannel\n    orgs: ['
  for ((i = 1; i <= n; i++)); do printf '%sorg%d' "$([ "$i" -gt 1 ] && echo ', ')" "$i"; done
  printf ']\n'
}

# ---- ledgerform ----
lf_once() { # ORGS -> seconds
  local d="$work/lf-$1" t0 t1
  rm -rf "$d"; mkdir -p "$d"
  gen_spec "$1" > "$d/spec.yaml"
  t0=$(now)
  (cd "$d" && "$LF" apply -f spec.yaml --auto-approve > apply.out 2>&1) || {
    echo "ledgerform apply failed:" >&2; tail -20 "$d/apply.out" >&2; exit 1; }
  t1=$(now)
  (cd "$d" && "$LF" destroy -f spec.yaml --auto-approve > destroy.out 2>&1) || {
    echo "ledgerform destroy failed:" >&2; tail -20 "$d/destroy.out" >&2; exit 1; }
  echo "$t1 - $t0" | bc -l
}

# ---- by hand, test-network style ----
hand_crypto_config() { # ORGS
  local n=$1 i
  printf 'OrdererOrgs:\n  - Name: Ordering\n    Domain: ordering.example.com\n    EnableNodeOUs: true\n'
  printf '    Specs:\n      - {Hostname: orderer0, SANS: [localhost, 127.0.0.1]}\n'
  printf '      - {Hostname: orderer1, SANS: [localhost, 127.0.0.1]}\n      - {Hostname: orderer2, SANS: [localhost, 127.0.0.1]}\n'
  printf 'PeerOrgs:\n'
  for ((i = 1; i <= n; i++)); do
    printf '  - Name: Org%d\n    Domain: org%d.example.com\n    EnableNodeOUs: true\n' "$i" "$i"
    printf '    Template: {Count: 2, SANS: [localhost, 127.0.0.1]}\n    Users: {Count: 1}\n'
  done
}

# orderer o: listen 7050+o*100, admin 7053+o*100, ops 8443+o*100
# peer (org i, peer k): listen 20000+i*10+k*3, cc +1, ops +2
hand_configtx() { # ORGS DIR
  local n=$1 d=$2 i o
  printf 'Organizations:\n'
  printf '  - &Ordering\n    Name: OrderingMSP\n    ID: OrderingMSP\n    MSPDir: %s/crypto/ordererOrganizations/ordering.example.com/msp\n' "$d"
  printf '    Policies:\n'
  printf '      Readers: {Type: Signature, Rule: "OR('"'"'OrderingMSP.member'"'"')"}\n'
  printf '      Writers: {Type: Signature, Rule: "OR('"'"'OrderingMSP.member'"'"')"}\n'
  printf '      Admins: {Type: Signature, Rule: "OR('"'"'OrderingMSP.admin'"'"')"}\n'
  printf '    OrdererEndpoints: ['
  for o in 0 1 2; do printf '%s127.0.0.1:%d' "$([ $o -gt 0 ] && echo ', ')" $((7050 + o * 100)); done
  printf ']\n'
  for ((i = 1; i <= n; i++)); do
    printf '  - &Org%d\n    Name: Org%dMSP\n    ID: Org%dMSP\n    MSPDir: %s/crypto/peerOrganizations/org%d.example.com/msp\n' "$i" "$i" "$i" "$d" "$i"
    printf '    Policies:\n'
    printf '      Readers: {Type: Signature, Rule: "OR('"'"'Org%dMSP.admin'"'"', '"'"'Org%dMSP.peer'"'"', '"'"'Org%dMSP.client'"'"')"}\n' "$i" "$i" "$i"
    printf '      Writers: {Type: Signature, Rule: "OR('"'"'Org%dMSP.admin'"'"', '"'"'Org%dMSP.client'"'"')"}\n' "$i" "$i"
    printf '      Admins: {Type: Signature, Rule: "OR('"'"'Org%dMSP.admin'"'"')"}\n' "$i"
    printf '      Endorsement: {Type: Signature, Rule: "OR('"'"'Org%dMSP.peer'"'"')"}\n' "$i"
  done
  cat <<'EOF'
Capabilities:
  Channel: &ChannelCapabilities {V2_0: true}
  Orderer: &OrdererCapabilities {V2_0: true}
  Application: &ApplicationCapabilities {V2_5: true}
Application: &ApplicationDefaults
  Organizations:
  Policies:
    Readers: {Type: ImplicitMeta, Rule: "ANY Readers"}
    Writers: {Type: ImplicitMeta, Rule: "ANY Writers"}
    Admins: {Type: ImplicitMeta, Rule: "MAJORITY Admins"}
    LifecycleEndorsement: {Type: ImplicitMeta, Rule: "MAJORITY Endorsement"}
    Endorsement: {Type: ImplicitMeta, Rule: "MAJORITY Endorsement"}
  Capabilities: *ApplicationCapabilities
Orderer: &OrdererDefaults
  OrdererType: etcdraft
  BatchTimeout: 2s
  BatchSize: {MaxMessageCount: 10, AbsoluteMaxBytes: 99 MB, PreferredMaxBytes: 512 KB}
  Organizations:
  Policies:
    Readers: {Type: ImplicitMeta, Rule: "ANY Readers"}
    Writers: {Type: ImplicitMeta, Rule: "ANY Writers"}
    Admins: {Type: ImplicitMeta, Rule: "MAJORITY Admins"}
    BlockValidation: {Type: ImplicitMeta, Rule: "ANY Writers"}
Channel: &ChannelDefaults
  Policies:
    Readers: {Type: ImplicitMeta, Rule: "ANY Readers"}
    Writers: {Type: ImplicitMeta, Rule: "ANY Writers"}
    Admins: {Type: ImplicitMeta, Rule: "MAJORITY Admins"}
  Capabilities: *ChannelCapabilities
Profiles:
  Bench:
    <<: *ChannelDefaults
    Orderer:
      <<: *OrdererDefaults
      Organizations: [*Ordering]
      Capabilities: *OrdererCapabilities
      EtcdRaft:
        Consenters:
EOF
  for o in 0 1 2; do
    local t="$d/crypto/ordererOrganizations/ordering.example.com/orderers/orderer$o.ordering.example.com/tls/server.crt"
    printf '          - {Host: 127.0.0.1, Port: %d, ClientTLSCert: %s, ServerTLSCert: %s}\n' $((7050 + o * 100)) "$t" "$t"
  done
  printf '    Application:\n      <<: *ApplicationDefaults\n      Organizations: ['
  for ((i = 1; i <= n; i++)); do printf '%s*Org%d' "$([ "$i" -gt 1 ] && echo ', ')" "$i"; done
  printf ']\n      Capabilities: *ApplicationCapabilities\n'
}

start_orderer() { # DIR O
  local d=$1 o=$2 od="$1/crypto/ordererOrganizations/ordering.example.com/orderers/orderer$2.ordering.example.com"
  mkdir -p "$d/o$o"
  env -i PATH="$PATH" FABRIC_CFG_PATH="$CFG" \
    ORDERER_GENERAL_LISTENADDRESS=127.0.0.1 ORDERER_GENERAL_LISTENPORT=$((7050 + o * 100)) \
    ORDERER_GENERAL_LOCALMSPID=OrderingMSP ORDERER_GENERAL_LOCALMSPDIR="$od/msp" \
    ORDERER_GENERAL_TLS_ENABLED=true ORDERER_GENERAL_TLS_PRIVATEKEY="$od/tls/server.key" \
    ORDERER_GENERAL_TLS_CERTIFICATE="$od/tls/server.crt" ORDERER_GENERAL_TLS_ROOTCAS="[$od/tls/ca.crt]" \
    ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE="$od/tls/server.crt" \
    ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY="$od/tls/server.key" \
    ORDERER_GENERAL_CLUSTER_ROOTCAS="[$od/tls/ca.crt]" ORDERER_GENERAL_BOOTSTRAPMETHOD=none \
    ORDERER_CHANNELPARTICIPATION_ENABLED=true ORDERER_ADMIN_LISTENADDRESS=127.0.0.1:$((7053 + o * 100)) \
    ORDERER_ADMIN_TLS_ENABLED=true ORDERER_ADMIN_TLS_CERTIFICATE="$od/tls/server.crt" \
    ORDERER_ADMIN_TLS_PRIVATEKEY="$od/tls/server.key" ORDERER_ADMIN_TLS_ROOTCAS="[$od/tls/ca.crt]" \
    ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED=true ORDERER_ADMIN_TLS_CLIENTROOTCAS="[$od/tls/ca.crt]" \
    ORDERER_OPERATIONS_LISTENADDRESS=127.0.0.1:$((8443 + o * 100)) \
    ORDERER_FILELEDGER_LOCATION="$d/o$o/ledger" ORDERER_CONSENSUS_WALDIR="$d/o$o/wal" \
    ORDERER_CONSENSUS_SNAPDIR="$d/o$o/snap" \
    "$FABRIC_BIN/orderer" > "$d/o$o.log" 2>&1 &
  pids+=($!)
}

start_peer() { # DIR ORG K
  local d=$1 i=$2 k=$3 p=$((20000 + $2 * 10 + $3 * 3))
  local pd="$d/crypto/peerOrganizations/org$i.example.com/peers/peer$k.org$i.example.com"
  mkdir -p "$d/p$i-$k"
  env -i PATH="$PATH" FABRIC_CFG_PATH="$CFG" CORE_PEER_ID="peer$k.org$i.example.com" \
    CORE_PEER_LISTENADDRESS=127.0.0.1:$p CORE_PEER_ADDRESS=127.0.0.1:$p \
    CORE_PEER_CHAINCODELISTENADDRESS=127.0.0.1:$((p + 1)) CORE_PEER_CHAINCODEADDRESS=127.0.0.1:$((p + 1)) \
    CORE_PEER_GOSSIP_ENDPOINT=127.0.0.1:$p CORE_PEER_GOSSIP_EXTERNALENDPOINT=127.0.0.1:$p \
    CORE_PEER_GOSSIP_BOOTSTRAP=127.0.0.1:$p CORE_PEER_LOCALMSPID="Org${i}MSP" \
    CORE_PEER_MSPCONFIGPATH="$pd/msp" CORE_PEER_TLS_ENABLED=true \
    CORE_PEER_TLS_CERT_FILE="$pd/tls/server.crt" CORE_PEER_TLS_KEY_FILE="$pd/tls/server.key" \
    CORE_PEER_TLS_ROOTCERT_FILE="$pd/tls/ca.crt" CORE_PEER_FILESYSTEMPATH="$d/p$i-$k/data" \
    CORE_LEDGER_SNAPSHOTS_ROOTDIR="$d/p$i-$k/snap" CORE_VM_ENDPOINT= \
    CORE_OPERATIONS_LISTENADDRESS=127.0.0.1:$((p + 2)) \
    "$FABRIC_BIN/peer" node start > "$d/p$i-$k.log" 2>&1 &
  pids+=($!)
}

# retry a command until it succeeds (a node still starting), bounded
retry() {
  local i
  for ((i = 0; i < 600; i++)); do "$@" > /dev/null 2>&1 && return 0; sleep 0.1; done
  echo "gave up: $*" >&2; "$@" >&2 || true; return 1
}

peer_join() { # DIR ORG K
  local d=$1 i=$2 k=$3 p=$((20000 + $2 * 10 + $3 * 3)) od="$1/crypto/peerOrganizations/org$2.example.com"
  env -i PATH="$PATH" FABRIC_CFG_PATH="$CFG" CORE_PEER_TLS_ENABLED=true CORE_PEER_LOCALMSPID="Org${i}MSP" \
    CORE_PEER_ADDRESS=127.0.0.1:$p CORE_PEER_TLS_ROOTCERT_FILE="$od/peers/peer$k.org$i.example.com/tls/ca.crt" \
    CORE_PEER_MSPCONFIGPATH="$od/users/Admin@org$i.example.com/msp" \
    "$FABRIC_BIN/peer" channel join -b "$d/mychannel.block"
}

hand_once() { # ORGS -> seconds
  local n=$1 d="$work/hand-$1" t0 t1 i k o a
  rm -rf "$d"; mkdir -p "$d"
  hand_crypto_config "$n" > "$d/crypto-config.yaml"
  pids=()
  t0=$(now)
  "$FABRIC_BIN/cryptogen" generate --config "$d/crypto-config.yaml" --output "$d/crypto" > /dev/null
  hand_configtx "$n" "$d" > "$d/configtx.yaml"
  FABRIC_CFG_PATH="$d" "$FABRIC_BIN/configtxgen" -profile Bench -outputBlock "$d/mychannel.block" \
    -channelID mychannel > "$d/configtxgen.out" 2>&1
  for o in 0 1 2; do start_orderer "$d" $o; done
  for ((i = 1; i <= n; i++)); do for k in 0 1; do start_peer "$d" "$i" $k; done; done
  a="$d/crypto/ordererOrganizations/ordering.example.com/users/Admin@ordering.example.com/tls"
  for o in 0 1 2; do
    retry "$FABRIC_BIN/osnadmin" channel join --channelID mychannel --config-block "$d/mychannel.block" \
      -o 127.0.0.1:$((7053 + o * 100)) --ca-file "$a/ca.crt" --client-cert "$a/client.crt" --client-key "$a/client.key"
  done
  for ((i = 1; i <= n; i++)); do for k in 0 1; do retry peer_join "$d" "$i" $k; done; done
  t1=$(now)
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
  echo "$t1 - $t0" | bc -l
}

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

printf "%-12s %-7s %-7s %-15s %-15s\n" shape nodes joins ledgerform_s by_hand_s
for orgs in 2 10; do
  l=(); h=()
  for ((r = 0; r < RUNS; r++)); do
    l+=("$(lf_once "$orgs")")
    h+=("$(hand_once "$orgs")")
  done
  lm=$(printf "%s\n" "${l[@]}" | median)
  hm=$(printf "%s\n" "${h[@]}" | median)
  name=$([ "$orgs" = 2 ] && echo quickstart || echo 10orgs)
  printf "%-12s %-7s %-7s %-15.2f %-15.2f\n" "$name" $((3 + orgs * 2)) $((3 + orgs * 2)) "$lm" "$hm"
done
echo "ledgerform: crypto, genesis, bundles, starts, health and joins in one apply;"
echo "by hand: cryptogen, configtxgen, start, osnadmin channel join, peer channel join."

#!/usr/bin/env bash
# An org that keeps its CA keys (ca: {cert, tls_cert} without keys): the
# time of its rounds for N peers on the sim driver (no latency), against
# one apply of the same network with a CA ledgerform makes. Prints the
# first apply (keys + requests, exit 3), `ledgerform issue` (2 N
# certificates), the placing apply, the request file's size and the
# baseline apply. The CAs are made with the openssl CLI in a temp dir.
# Usage: bench/keyless.sh [BUILD_DIR] [N=500]
set -euo pipefail
cd "$(dirname "$0")/.."
B=$(realpath "${1:-build}")
N=${2:-500}
L="$B/ledgerform"
[ -x "$L" ] || { echo "build first: cmake --build $B" >&2; exit 1; }
export LEDGERFORM_DRIVER_PATH="$B/drivers"
unset FABRIC_BIN
T=$(mktemp -d /tmp/lf-bench-keyless-XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"
mkdir home pub base
for n in ca tlsca; do
  openssl ecparam -genkey -name prime256v1 -noout -out home/$n.key
  openssl req -new -x509 -key home/$n.key -days 3650 -subj "/O=org2.example.com/CN=$n.org2.example.com" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign,digitalSignature \
    -out home/$n.pem 2>/dev/null
done
openssl ecparam -genkey -name prime256v1 -noout -out home/admin.key
openssl req -new -key home/admin.key -subj /OU=admin/CN=Admin@org2.example.com -out home/admin.csr
openssl x509 -req -in home/admin.csr -CA home/ca.pem -CAkey home/ca.key -set_serial 3 -days 365 \
  -out pub/admin.pem 2>/dev/null
cp home/ca.pem home/tlsca.pem pub/
spec() { # $1: dir, $2: the org's extra lines
  cat > "$1/spec.yaml" <<EOF
name: net
sizes:
  box: {vcpus: 2, memory: 2GiB, disk: 20GiB}
providers:
  cloud:
    driver: sim
    config: {db: $T/$1/sim-db.json, files_dir: $T/$1/disks}
defaults: {size: box, provider: cloud}
orgs:
  - name: ordering
    orderers: {count: 1}
  - name: org2
$2    users: 0
    peers: {count: $N}
EOF
}
spec . "    ca: {cert: pub/ca.pem, tls_cert: pub/tlsca.pem}
    admin: offline
    admin_cert: pub/admin.pem
"
spec base ""
t() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
REQ=.ledgerform/net/certs/certs.org2.json
a1=$(t "$L" apply -f spec.yaml --auto-approve)
size=$(stat -c %s "$REQ")
is=$(t "$L" issue "$REQ" --ca-cert home/ca.pem --ca-key home/ca.key --tls-ca-cert home/tlsca.pem \
  --tls-ca-key home/tlsca.key)
a2=$(t "$L" apply -f spec.yaml --auto-approve)
[ ! -e "$REQ" ] || { echo "the request file is still there" >&2; exit 1; }
base=$(cd base && t "$L" apply -f spec.yaml --auto-approve)
printf 'peers=%d first_apply_s=%.2f issue_s=%.2f certs=%d placing_apply_s=%.2f request_file_kb=%d baseline_apply_s=%.2f\n' \
  "$N" "$a1" "$is" $((2 * N)) "$a2" $((size / 1024)) "$base"

#!/usr/bin/env bash
# aws driver benchmark (issue 12): apply 200 hosts (4 orgs x 50 peers, plus
# one orderer) against tests/node/ec2-fake.js with 300 ms API latency and
# 5 % of calls throttled (RequestLimitExceeded), --parallelism 50. Prints
# the wall time of the apply, the API-bound ideal (ceil(hosts / parallelism)
# waves of the 2 calls a host waits for at least: its RunInstances and one
# DescribeInstances seeing it running), and API calls per host, then the
# same for destroy. The rest of an apply (crypto, the local transport's
# files) is the same spec on the sim driver with transport local.
# Usage: tests/drivers/aws/bench_aws.sh [BUILD_DIR] [PORT]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
B=$(cd "${1:-$ROOT/build}" && pwd)
PORT=${2:-22499}
LAT=${LAT:-300}
PAR=${PAR:-50}
[ -x "$B/ledgerform" ] || { echo "build first: cmake --build $B" >&2; exit 1; }
export LEDGERFORM_DRIVER_PATH="$B/drivers"
W=$(mktemp -d /tmp/lf-aws-bench-XXXXXX)
cd "$W"
printf '[req]\ndistinguished_name=dn\n[dn]\n' > o.cnf
REQ="openssl req -config o.cnf -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2"
$REQ -keyout ca.key -out ca.pem -subj /CN=bench-ca -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
$REQ -keyout srv.key -out srv.pem -subj /CN=ec2 -CA ca.pem -CAkey ca.key \
  -addext subjectAltName=IP:127.0.0.1 -addext basicConstraints=critical,CA:FALSE 2>/dev/null
echo '{"AKIDBENCH": {"secret": "benchSECRET0123456789", "token": null}}' > keys.json
printf '[b]\naws_access_key_id = AKIDBENCH\naws_secret_access_key = benchSECRET0123456789\n' > credentials
chmod 600 credentials
node "$ROOT/tests/node/ec2-fake.js" --port "$PORT" --cert srv.pem --key srv.key --creds keys.json > fake.out &
FAKE=$!
trap 'kill $FAKE 2>/dev/null; wait $FAKE 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 100); do grep -q PORT fake.out && break; sleep 0.1; done
ctl() { curl -s --cacert ca.pem -d "$1" "https://127.0.0.1:$PORT/_control"; }
ctl "{\"op\":\"latency\",\"ms\":$LAT}" >/dev/null
ctl '{"op":"throttle_rate","rate":0.05}' >/dev/null
{
  echo "name: bench"
  echo "sizes: {small: {drivers: {aws: {instance_type: t3.small}}}}"
  echo "providers:"
  echo "  cloud:"
  echo "    driver: aws"
  echo "    config: {region: us-east-1, endpoint: \"https://127.0.0.1:$PORT/\", ca_bundle: $W/ca.pem, images: {debian-12: ami-0bench}, poll_ms: 500, retry_base_ms: 100}"
  echo "    credentials: {file: $W/credentials, profile: b}"
  echo "    transport: local"
  echo "defaults: {size: small, provider: cloud}"
  echo "orgs:"
  echo "  - {name: ordering, orderers: {count: 1}}"
  for o in 1 2 3 4; do echo "  - {name: org$o, peers: {count: 50}}"; done
} > spec.yaml
stats() { ctl '{"op":"stats"}' | python3 -c 'import json,sys; d=json.load(sys.stdin); c=d["calls"]; print(c.get("total",0), c.get("throttled",0), json.dumps({k:v for k,v in c.items() if k not in ("total","throttled")}))'; }
run() { # $1: command; prints wall seconds
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f "%U user %S sys" -o "$1.time" "$B/ledgerform" $1 -f spec.yaml --auto-approve --parallelism $PAR > "$1.out" 2>&1 || { tail -5 "$1.out"; exit 1; }
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}
HOSTS=201
IDEAL=$(echo "scale=2; ($HOSTS + $PAR - 1) / $PAR * 2 * $LAT / 1000" | bc)
wall=$(run apply); read -r total thr per <<<"$(stats)"
echo "apply:   $HOSTS hosts, wall ${wall}s, ideal ${IDEAL}s (2 calls x ${LAT} ms x ceil($HOSTS/$PAR) waves, API only)"
echo "         ledgerform CPU $(cat apply.time)"
echo "         API calls $total ($(echo "scale=2; $total / $HOSTS" | bc) per host), throttled $thr: $per"
"$B/ledgerform" plan -f spec.yaml --refresh --parallelism $PAR > plan.out 2>&1
grep -q "No changes" plan.out && echo "plan --refresh after apply: no changes"
read -r total0 _ _ <<<"$(stats)"
wall=$(run destroy); read -r total thr per <<<"$(stats)"
echo "destroy: wall ${wall}s, API calls $((total - total0)) ($(echo "scale=2; ($total - $total0) / $HOSTS" | bc) per host)"

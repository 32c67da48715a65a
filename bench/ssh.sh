#!/usr/bin/env bash
# Delivery of 20 node bundles plus Fabric's binaries to one machine over
# loopback SSH: ledgerform's ssh transport against `scp -r` and
# `rsync -a -e ssh` of the same files with the same key, then a second
# (unchanged) delivery of each. A real OpenSSH sshd is started here on
# 127.0.0.1:PORT (as the unprivileged user lf-sshtest when run as root,
# made by .ci/bootstrap.sh --with-tests; else as the current user), in a
# temp dir, and stopped by PID. Every client goes through a counting relay
# on 127.0.0.1:RELAY (bench/ssh_bench proxy): "sent" is what the client
# sent to the server, "received" what came back, protocol overhead
# included.
#   Ports: PORT is LF_BENCH_SSH_PORT (default 39010), RELAY is
#   LF_BENCH_SSH_RELAY (default PORT+1).
#   Binaries: FABRIC_BIN (and its sibling config/) when set, else a
#   generated 100 MB set of files.
#   Bundles: 20 x (12 PEM-sized files of 1 KiB, some 0600; a 2 KiB
#   node.env; a 30 KiB core.yaml).
# Usage: bench/ssh.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
PORT=${LF_BENCH_SSH_PORT:-39010}
RELAY=${LF_BENCH_SSH_RELAY:-$((PORT + 1))}
[ -x "$B/bench/ssh_bench" ] || { echo "build first: cmake --build $B --target ssh_bench" >&2; exit 1; }
for x in /usr/sbin/sshd scp rsync ssh-keygen; do
  command -v "$x" >/dev/null || { echo "$x is missing: run .ci/bootstrap.sh --with-tests" >&2; exit 1; }
done
export LEDGERFORM_DRIVER_PATH="$PWD/$B/plugins"

# who sshd runs as (an sshd not run as root logs in only its own user)
if [ "$(id -u)" -eq 0 ]; then
  getent passwd lf-sshtest >/dev/null ||
    { echo "run .ci/bootstrap.sh --with-tests (creates the unprivileged user lf-sshtest)" >&2; exit 1; }
  user=lf-sshtest
  home=$(getent passwd lf-sshtest | cut -d: -f6)
  as_user() { setpriv --reuid=lf-sshtest --regid=lf-sshtest --init-groups -- "$@"; }
else
  user=$(id -un)
  home=$HOME
  as_user() { "$@"; }
fi
srv=$(as_user mktemp -d "$home/lf-bench-ssh-XXXXXX")   # the server's side
cli=$(mktemp -d /tmp/lf-bench-ssh-XXXXXX)              # the client's side
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$srv" "$cli"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for p in $PORT $RELAY; do
  if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "port $p is in use" >&2; exit 1; fi
done
# keys: the host's (the server's user only), the client's
as_user ssh-keygen -q -t ed25519 -N '' -f "$srv/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$cli/user_key"
as_user cp /dev/stdin "$srv/authorized_keys" < "$cli/user_key.pub"
strict=no; [ "$(id -u)" -eq 0 ] && strict=yes   # keys under /tmp cannot pass StrictModes
as_user tee "$srv/sshd_config" >/dev/null <<CFG
Port $PORT
ListenAddress 127.0.0.1
HostKey $srv/host_key
AuthorizedKeysFile $srv/authorized_keys
PidFile $srv/sshd.pid
StrictModes $strict
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
Subsystem sftp internal-sftp
MaxStartups 64
LogLevel ERROR
UseDNS no
SetEnv SHLVL=2
CFG
(as_user() { exec setpriv --reuid=lf-sshtest --regid=lf-sshtest --init-groups -- "$@"; }
 [ "$(id -u)" -eq 0 ] || as_user() { exec "$@"; }
 as_user /usr/sbin/sshd -D -f "$srv/sshd_config" -E "$srv/sshd.log") &
pids+=($!)   # the subshell exec'd setpriv, which exec'd sshd: sshd's pid
printf '[127.0.0.1]:%s %s\n' "$RELAY" "$(cut -d' ' -f1,2 "$srv/host_key.pub")" > "$cli/known_hosts"
"$B/bench/ssh_bench" proxy $RELAY $PORT "$cli/stats" &
pids+=($!)
for i in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break
  sleep 0.1
done

# the files
src="$cli/src"
mkdir -p "$src"
if [ -n "${FABRIC_BIN:-}" ]; then
  bin=$(cd "$FABRIC_BIN" && pwd)
  cfgdir=$(cd "$bin/../config" 2>/dev/null && pwd || true)
  what="Fabric's binaries ($bin)"
else
  mkdir -p "$src/fabric/bin" "$src/fabric/config"
  for n in peer orderer osnadmin configtxgen configtxlator cryptogen discover ledgerutil; do
    head -c $((12 * 1024 * 1024)) /dev/urandom > "$src/fabric/bin/$n"
  done
  head -c $((4 * 1024 * 1024)) /dev/urandom > "$src/fabric/bin/idemixgen"
  chmod 0755 "$src/fabric/bin"/*
  head -c 40000 /dev/urandom | base64 > "$src/fabric/config/core.yaml"
  bin="$src/fabric/bin"
  cfgdir="$src/fabric/config"
  what="a generated 100 MB set of files"
fi
core="$src/core.yaml.sample"
if [ -n "$cfgdir" ] && [ -f "$cfgdir/core.yaml" ]; then head -c 30720 "$cfgdir/core.yaml" > "$core"
else head -c 23000 /dev/urandom | base64 | head -c 30720 > "$core"; fi
for i in $(seq -w 0 19); do
  d="$src/bundles/b$i"
  mkdir -p "$d/fabric/msp/keystore" "$d/fabric/msp/signcerts" "$d/fabric/msp/cacerts" "$d/fabric/tls"
  for j in 0 1 2; do
    head -c 768 /dev/urandom | base64 > "$d/fabric/msp/signcerts/cert$j.pem"
    head -c 768 /dev/urandom | base64 > "$d/fabric/msp/cacerts/ca$j.pem"
    head -c 768 /dev/urandom | base64 > "$d/fabric/tls/tls$j.crt"
    head -c 768 /dev/urandom | base64 > "$d/fabric/msp/keystore/key$j.pem"
    chmod 0600 "$d/fabric/msp/keystore/key$j.pem"
  done
  head -c 1536 /dev/urandom | base64 > "$d/fabric/node.env"
  cp "$core" "$d/fabric/core.yaml"
done
files=$(find "$src/bundles" "$bin" ${cfgdir:+"$cfgdir"} -type f | wc -l)
total=$(du -cbs "$src/bundles" "$bin" ${cfgdir:+"$cfgdir"} | tail -1 | cut -f1)

as_user mkdir -p "$srv/scp" "$srv/rsync"
ssh_opts=(-F /dev/null -i "$cli/user_key" -o UserKnownHostsFile="$cli/known_hosts"
          -o StrictHostKeyChecking=yes -o BatchMode=yes)
# run "$@" (one SSH connection) timed; prints "SECONDS SENT RECEIVED", the
# bytes from the relay's counters once it has seen that connection end
measure() {
  local before after t0 t1 i
  before=$(cat "$cli/stats" 2>/dev/null || echo "0 0 0")
  t0=$(date +%s.%N)
  "$@" > "$cli/out" 2>&1 || { echo "failed: $*" >&2; cat "$cli/out" >&2; exit 1; }
  t1=$(date +%s.%N)
  for i in $(seq 100); do
    after=$(cat "$cli/stats" 2>/dev/null || echo "0 0 0")
    [ "$(echo "$after" | cut -d' ' -f3)" -gt "$(echo "$before" | cut -d' ' -f3)" ] && break
    sleep 0.05
  done
  set -- $before $after
  printf '%.2f %d %d' "$(echo "$t1 - $t0" | bc -l)" $(($4 - $1)) $(($5 - $2))
}
lf() {
  ${LF_BENCH_TIME:+/usr/bin/time -f "%e s wall, %U s user, %S s sys" -o "$cli/lf.time"} "$B/bench/ssh_bench" deliver $RELAY "$user" "$cli/user_key" "$cli/known_hosts" "$src/bundles" \
    "$srv/lf" "$srv/lf-bin" "$bin" "$@"
}
scp_all() {
  scp -q -r -P $RELAY "${ssh_opts[@]}" "$src/bundles" "$bin" ${cfgdir:+"$cfgdir"} "$user@127.0.0.1:$srv/scp/"
}
rsync_all() {
  rsync -a -e "ssh -p $RELAY ${ssh_opts[*]}" "$src/bundles" "$bin" ${cfgdir:+"$cfgdir"} "$user@127.0.0.1:$srv/rsync/"
}
row() { # NAME "SECONDS SENT RECEIVED"
  set -- "$1" $2
  printf '%-34s %9s s %14s %12s\n' "$1" "$2" "$3" "$4"
}

echo "== delivery of 20 node bundles + $what over loopback SSH"
echo "   $files files, $total bytes; sshd as $user; $(nproc) cores"
printf '%-34s %11s %14s %12s\n' "" "wall" "bytes sent" "received"
r=$(measure lf) || exit 1; row "ledgerform ssh (first)" "$r"
[ -n "${LF_BENCH_TIME:-}" ] && echo "   ssh_bench: $(cat "$cli/lf.time")"
r=$(measure lf again) || exit 1; row "ledgerform ssh (unchanged)" "$r"
# the same again, one node at a time on the connection (a fresh copy)
as_user rm -rf "$srv/lf" "$srv/lf-bin"
r=$(LF_BENCH_WORKERS=1 measure lf) || exit 1; row "ledgerform ssh, 1 at a time (first)" "$r"
r=$(measure scp_all) || exit 1; row "scp -r (first)" "$r"
# scp cannot compare: it sends all again (into a fresh folder, as
# read-only files such as Fabric's release binaries cannot be overwritten)
as_user chmod -R u+w "$srv/scp"; as_user rm -rf "$srv/scp"; as_user mkdir -p "$srv/scp"
r=$(measure scp_all) || exit 1; row "scp -r (unchanged: all again)" "$r"
r=$(measure rsync_all) || exit 1; row "rsync -a -e ssh (first)" "$r"
r=$(measure rsync_all) || exit 1; row "rsync -a -e ssh (unchanged)" "$r"
# the same bytes arrived every way
for d in lf/b00/fabric/core.yaml lf/b19/fabric/msp/keystore/key2.pem; do
  cmp -s "$srv/$d" "$src/bundles/${d#lf/}" || { echo "ledgerform's copy of $d differs" >&2; exit 1; }
done
n_lf=$(find "$srv"/lf-bin/*/bin -type f | wc -l)
n_src=$(find "$bin" -type f | wc -l)
[ "$n_lf" -eq "$n_src" ] || { echo "ledgerform delivered $n_lf of $n_src binaries" >&2; exit 1; }
echo "(ledgerform: one connection, 20 nodes at once on it, each a root prepared, its"
echo " bundle put and a command started with FABRIC_BIN, the binaries sent once;"
echo " unchanged: each root read and the command run, the binaries checked by"
echo " SHA-256 on the machine, no bundle put, as an unchanged apply does)"

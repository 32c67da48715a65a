#!/usr/bin/env bash
# Installs every Debian package ledgerform's build, tests and benchmarks need.
# Idempotent: quiet and quick when everything is already present.
# Usage: .ci/bootstrap.sh [--with-tests] [--with-fuzz]
#   --with-fuzz  clang and its libFuzzer/sanitizer runtimes (.ci/fuzz.sh)
set -euo pipefail

BUILD_PKGS=(build-essential cmake pkg-config
  libyaml-dev libjansson-dev libyajl-dev libcurl4-openssl-dev libssl-dev libssh2-1-dev
  libvirt-dev libcmocka-dev libprotobuf-c-dev protobuf-c-compiler libxml2-dev libarchive-dev)
TEST_PKGS=(openssl openssh-server openssh-client etcd-server etcd-client graphviz man-db zsh
  nodejs npm procps util-linux ca-certificates bc time systemd curl rsync passwd
  libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils genisoimage)

FUZZ_PKGS=(clang libclang-rt-14-dev)

want=("${BUILD_PKGS[@]}")
with_tests=0
for arg in "$@"; do
  case "$arg" in
    --with-tests) with_tests=1; want+=("${TEST_PKGS[@]}") ;;
    --with-fuzz) want+=("${FUZZ_PKGS[@]}") ;;
    *) echo "bootstrap: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # node/npm may come from elsewhere (nvm, nodesource); accept them on PATH
    case "$p" in
      nodejs) command -v node >/dev/null 2>&1 && continue ;;
      npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    missing+=("$p")
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$with_tests" = 1 ] && [ "$(id -u)" -eq 0 ] && ! getent passwd lf-sshtest >/dev/null; then
  # Run as root, the ssh tests start their sshd as this unprivileged user
  # (an sshd not run as root logs in only the user it runs as).
  echo "bootstrap: creating the unprivileged user lf-sshtest (ssh tests)"
  useradd --system --create-home --home-dir /var/lib/lf-sshtest --shell /bin/sh \
    --comment "ledgerform ssh tests" lf-sshtest
fi

if [ "$with_tests" = 1 ]; then
  # Fabric's own protobuf bindings, used by tests to decode rendered blocks.
  here="$(cd "$(dirname "$0")/.." && pwd)"
  if { [ ! -d "$here/tests/node/node_modules/@hyperledger/fabric-protos" ] ||
       [ ! -d "$here/tests/node/node_modules/fabric-network" ] ||
       [ ! -d "$here/tests/node/node_modules/fabric-shim" ] ||
       [ ! -d "$here/tests/node/node_modules/@hyperledger/fabric-gateway" ] ||
       [ ! -d "$here/tests/node/node_modules/fabric-ca-client" ]; } && [ -f "$here/tests/node/package.json" ]; then
    echo "bootstrap: npm install in tests/node"
    # trust the system's CA bundle too (it holds any local/proxy CA the
    # machine trusts; npm otherwise only knows its own bundled list)
    if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
      export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
    fi
    (cd "$here/tests/node" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  fi
fi

#!/usr/bin/env bash
# Everything a fresh Debian machine needs, as root: Debian packages for the lab (routers, packet
# tools), npm dependencies, the native addon, the TypeScript build, and the real kube-apiserver and
# etcd (and the lab cluster's node components) built from the Go module proxy, and the Debian root
# filesystem the lab's images start from (all cached under .cache/tools/, keyed by version).
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "setup: run as root (network namespaces, packet sockets and apt need it)" >&2
  exit 1
fi

# runc and containerd run the lab's images (built without a container engine from mmdebstrap's
# Debian root, and images/pause/pause.c compiled static with gcc against libc6-dev's libc.a); the
# lab cluster's nodes also need the CNI bridge/host-local/loopback plugins, iptables for kube-proxy,
# and curl for the client's requests through the VIP.
APT_PACKAGES=(frr bird2 gobgpd openbgpd exabgp iproute2 iputils-arping iputils-ping ndisc6 tcpdump unzip procps psmisc
  runc containerd mmdebstrap gcc libc6-dev containernetworking-plugins iptables curl)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# OpenBGPD wants its runtime dir; nothing starts it (policy-rc.d), the tests run it by hand.
mkdir -p /run/openbgpd

# Offline native builds: node-gyp must use the system headers rather than downloading them.
if [ -d /usr/include/node ]; then export npm_config_nodedir=/usr; fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build:native >/dev/null
npm run --silent build:ts
bash scripts/build-tools.sh
bash scripts/debian-rootfs.sh >/dev/null

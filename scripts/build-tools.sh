#!/usr/bin/env bash
# Build the real Kubernetes binaries the tests run (docs/architecture.md §8) from the Go module
# proxy, into .cache/tools/<key>/ keyed by their pinned versions: kube-apiserver and etcd for the
# control plane, plus kube-controller-manager, kube-scheduler, kubelet and kube-proxy for lab
# clusters. Only missing binaries are built, so a second run is a no-op and a cache made before a
# binary was added only builds that one.
set -euo pipefail
cd "$(dirname "$0")/.."
K8S_VERSION=v1.34.4      # k8s.io/kubernetes; tools/go.mod maps its staging modules to v0.34.4
ETCD_VERSION=v3.6.4      # go.etcd.io/etcd/server/v3, the version k8s v1.34.4 itself requires
KEY="k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}"
OUT=".cache/tools/${KEY}"
K8S_COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

missing=()
for cmd in "${K8S_COMMANDS[@]}"; do
  [ -x "$OUT/$cmd" ] || missing+=("$cmd")
done
if [ ${#missing[@]} -eq 0 ] && [ -x "$OUT/etcd" ]; then
  touch "$OUT/.complete"
  echo "tools: cached in $OUT"
  exit 0
fi
mkdir -p "$OUT"
# .complete keeps meaning "kube-apiserver and etcd are here" for readers that only need those.
start=$(date +%s)
# Binaries land in a scratch directory first and are renamed in, so an interrupted build never
# leaves a truncated binary that the check above would take for a finished one.
tmp=$(mktemp -d "$OUT/.build-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd tools
# Static binaries, as the upstream release builds them (kubelet included).
export CGO_ENABLED=0
# The version is stamped so clients (helm's kubeVersion checks, kubectl, kubelet's node status)
# see a real version.
LDFLAGS="-s -w -X k8s.io/component-base/version.gitVersion=${K8S_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34 -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/component-base/version.buildDate=2025-01-01T00:00:00Z"
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=()
  for cmd in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$cmd"); done
  # One invocation for all of them: shared packages compile once (-o DIR/ names each by command).
  go build -trimpath -ldflags="$LDFLAGS" -o "../$tmp/" "${pkgs[@]}"
fi
if [ ! -x "../$OUT/etcd" ]; then
  go build -trimpath -ldflags="-s -w" -o "../$tmp/etcd" go.etcd.io/etcd/server/v3
fi
cd ..
for f in "$tmp"/*; do
  [ -e "$f" ] || continue
  "$f" --version >/dev/null          # a binary that cannot even print its version is not cached
  mv "$f" "$OUT/"
done
touch "$OUT/.complete"
echo "tools: built ${missing[*]} in $KEY in $(( $(date +%s) - start )) s"

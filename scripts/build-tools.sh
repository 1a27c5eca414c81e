#!/usr/bin/env bash
# Build the real kube-apiserver and etcd the tests run against (docs/architecture.md §8) from the Go
# module proxy, into .cache/tools/<key>/ keyed by their pinned versions: a second run is a no-op.
set -euo pipefail
cd "$(dirname "$0")/.."
K8S_VERSION=v1.34.4      # k8s.io/kubernetes; tools/go.mod maps its staging modules to v0.34.4
ETCD_VERSION=v3.6.4      # go.etcd.io/etcd/server/v3, the version k8s v1.34.4 itself requires
KEY="k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}"
OUT=".cache/tools/${KEY}"
if [ -x "$OUT/kube-apiserver" ] && [ -x "$OUT/etcd" ] && [ -f "$OUT/.complete" ]; then
  echo "tools: cached in $OUT"
  exit 0
fi
mkdir -p "$OUT"
start=$(date +%s)
cd tools
export CGO_ENABLED=0
# The version is stamped so clients (helm's kubeVersion checks, kubectl) see a real server version.
LDFLAGS="-s -w -X k8s.io/component-base/version.gitVersion=${K8S_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34 -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/component-base/version.buildDate=2025-01-01T00:00:00Z"
go build -trimpath -ldflags="$LDFLAGS" -o "../$OUT/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
go build -trimpath -ldflags="-s -w" -o "../$OUT/etcd" go.etcd.io/etcd/server/v3
cd ..
touch "$OUT/.complete"
echo "tools: built $KEY in $(( $(date +%s) - start )) s"

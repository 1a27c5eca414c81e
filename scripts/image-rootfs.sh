#!/usr/bin/env bash
# Reproduce the Dockerfile's runtime stage in DIR without a container engine:
#   DIR/app/package.json, DIR/app/node_modules (production dependencies only, npm ci --omit=dev),
#   DIR/app/dist/src (the TypeScript output), DIR/app/charts/metallb-ts/files/crds and
#   DIR/app/native/build/Release/metallb_native.node.
# The entrypoints are then `node DIR/app/dist/src/cli/main.js controller|speaker ...`, as in the
# image (where DIR is /). Uses the repository's existing build: run `npm run build` first.
# Prints DIR/app on the last line of stdout.
set -euo pipefail

if [ $# -ne 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  echo "usage: scripts/image-rootfs.sh DIR   (DIR must not exist or be empty)" >&2
  exit 2
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
addon=native/build/Release/metallb_native.node

for f in dist/src/cli/main.js "$addon" package.json package-lock.json; do
  if [ ! -e "$repo/$f" ]; then
    echo "image-rootfs: $repo/$f is missing: run npm run build first" >&2
    exit 1
  fi
done
if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
  echo "image-rootfs: $dir is not empty" >&2
  exit 1
fi
mkdir -p "$dir/app"
app=$(cd "$dir/app" && pwd)

# deps stage: production dependencies only, no install scripts (all are pure JavaScript).
cp "$repo/package.json" "$repo/package-lock.json" "$app/"
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >&2)
rm -f "$app/package-lock.json"

# runtime stage: the built output and the compiled addon.
mkdir -p "$app/dist" "$app/native/build/Release" "$app/charts/metallb-ts/files"
cp -R "$repo/dist/src" "$app/dist/src"
# `validate` finds the CRDs at <package root>/charts/metallb-ts/files/crds, as in the image.
cp -R "$repo/charts/metallb-ts/files/crds" "$app/charts/metallb-ts/files/crds"
cp "$repo/$addon" "$app/$addon"

echo "$app"

#!/usr/bin/env bash
# A Debian bookworm root filesystem like the one under node:20-bookworm-slim (the Dockerfile's
# base), made without a registry: mmdebstrap's minbase variant from this machine's configured
# Debian package sources, with the same files left out as Debian's slim images (documentation,
# manual pages, translations). Cached as a tarball in .cache/tools/<key>/rootfs.tar: a second run is
# a no-op. Prints the tarball's path on the last line of stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
SUITE=bookworm
RECIPE=1                  # bump when the options below change, so caches are rebuilt
KEY="debian-${SUITE}-minbase-r${RECIPE}"
OUT=".cache/tools/${KEY}"
if [ -f "$OUT/rootfs.tar" ]; then
  echo "$PWD/$OUT/rootfs.tar"
  exit 0
fi
command -v mmdebstrap >/dev/null || { echo "debian-rootfs: mmdebstrap is not installed (apt-get install mmdebstrap)" >&2; exit 1; }
sources=$(ls /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n1 || true)
[ -n "$sources" ] || { echo "debian-rootfs: no apt sources on this machine" >&2; exit 1; }
mkdir -p "$OUT"
start=$(date +%s)
tmp="$OUT/rootfs.tar.tmp-$$"
trap 'rm -f "$tmp"' EXIT
# The slim images' dpkg excludes (debuerreotype's slimify list, abridged to the large ones).
mmdebstrap --quiet --variant=minbase --format=tar \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/lintian/*' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
  "$SUITE" "$tmp" "$sources" >&2
mv "$tmp" "$OUT/rootfs.tar"
echo "debian-rootfs: built $KEY in $(( $(date +%s) - start )) s" >&2
echo "$PWD/$OUT/rootfs.tar"

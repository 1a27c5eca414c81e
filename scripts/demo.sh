#!/usr/bin/env bash
# The demo, from a fresh machine: set-up, then `metallb-ts demo` (control plane, CRDs, controller,
# speakers, an FRR router and a client in network namespaces). Ctrl-C tears everything down.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/src/cli/main.js demo "$@"

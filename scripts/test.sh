#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this): set-up, lint, then every tap
# test against the real apiserver and real routers. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
failed_steps=0

if ! bash scripts/setup.sh; then
  echo "setup failed"
  echo "0 passed, 1 failed"
  exit 1
fi
setup_done=$(date +%s)
echo "setup took $(( setup_done - started )) s"

if ! npm run --silent lint; then
  echo "lint failed"
  failed_steps=$((failed_steps + 1))
fi

mkdir -p .cache
log=.cache/tap-output.txt
# A stale namespace from an interrupted run would only waste addresses; remove those first.
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^mlb[0-9]+' || true); do
  pid=${ns#mlb}; pid=${pid%%[!0-9]*}
  if ! kill -0 "$pid" 2>/dev/null; then ip netns del "$ns" 2>/dev/null || true; fi
done

npx tap "$@" 2>&1 | tee "$log"
tap_status=${PIPESTATUS[0]}

summary=$(grep -E '^# \{ total: [0-9]+' "$log" | tail -n 1)
num() { echo "$summary" | grep -oE "$1: [0-9]+" | grep -oE '[0-9]+' || echo 0; }
pass=$(num pass); fail=$(num fail); skip=$(num skip); todo=$(num todo)
[ -z "$summary" ] && fail=$((fail + 1))
if [ "$tap_status" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
fail=$((fail + failed_steps))
# A test that skips is not a pass: skipped and todo tests count as failures here.
fail=$((fail + skip + todo))

echo "suite took $(( $(date +%s) - started )) s (set-up $(( setup_done - started )) s)"
if [ $((skip + todo)) -gt 0 ]; then
  echo "$pass passed, $fail failed, $((skip + todo)) skipped"
else
  echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]

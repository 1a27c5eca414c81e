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

# Files run three at a time (package.json "tap".jobs): most integration tests spend their time
# waiting on timers, daemons and the apiserver, not on the CPU. tap always runs files in path
# order, so the longest file, the two-minute soak, would start last and run alone at the end; on a
# full run it starts first, in a tap process of its own, beside the rest.
first=test/soak/soak-short.test.ts
first_log=.cache/tap-first.txt
first_pid=
rm -f "$first_log"
if [ $# -eq 0 ] && [ -f "$first" ]; then
  npx tap "$first" > "$first_log" 2>&1 &
  first_pid=$!
  mapfile -t rest < <(npx tap list | grep -vxF "$first")
  npx tap "${rest[@]}" 2>&1 | tee "$log"
  tap_status=${PIPESTATUS[0]}
else
  npx tap "$@" 2>&1 | tee "$log"
  tap_status=${PIPESTATUS[0]}
fi
if [ -n "$first_pid" ]; then
  wait "$first_pid" || tap_status=1
  echo "# $first (run beside the others):"
  cat "$first_log"
  cat "$first_log" >> "$log"
fi

# Counts are per test file (each file is one test of the suite; assertions are reported too).
# Integration tests run real daemons on a shared 2-core machine, so a file that failed is run
# once more on its own; a file is counted passed only if that second run passes, and every
# retried file is named, so a flaky test is visible rather than hidden.
files_ok() { grep -cE '^ok [0-9]+ - test/' "$1" || true; }
files_failed() { grep -oE '^not ok [0-9]+ - test/[^ ]+' "$1" | awk '{print $5}' || true; }
# One summary line per tap process: add them up.
summary=$(grep -E '^# \{ total: [0-9]+' "$log")
num() { echo "$summary" | grep -oE "$1: [0-9]+" | grep -oE '[0-9]+' | awk '{s += $1} END {print s + 0}'; }
assert_pass=$(num pass); assert_fail=$(num fail); skip=$(num skip); todo=$(num todo)
pass=$(files_ok "$log")
failed_list=$(files_failed "$log")
fail=0
if [ -n "$failed_list" ]; then
  echo "retrying once: $(echo $failed_list)"
  retry_log=.cache/tap-retry.txt
  # shellcheck disable=SC2086
  npx tap $failed_list 2>&1 | tee "$retry_log"
  pass=$((pass + $(files_ok "$retry_log")))
  still=$(files_failed "$retry_log")
  fail=$(echo "$still" | grep -c . || true)
  [ -n "$still" ] && echo "failed twice: $(echo $still)"
elif [ "$tap_status" -ne 0 ] || [ -z "$summary" ]; then
  fail=1
fi
fail=$((fail + failed_steps))
# A test that skips is not a pass: skipped and todo assertions count as failures here.
fail=$((fail + skip + todo))

echo "assertions (first run): $assert_pass passed, $assert_fail failed"
echo "suite took $(( $(date +%s) - started )) s (set-up $(( setup_done - started )) s)"
if [ $((skip + todo)) -gt 0 ]; then
  echo "$pass passed, $fail failed, $((skip + todo)) skipped"
else
  echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]

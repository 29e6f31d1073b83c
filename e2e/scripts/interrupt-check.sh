#!/usr/bin/env bash
# Proves that an interrupted e2e run leaves no etcd, kube-apiserver or kube-controller-manager and
# no data dir. Each case starts mocha with a test that waits forever, finds the plane's processes
# by its data dir, interrupts the run, and waits for them to be gone.
#   SIGINT  to mocha                      signal handler: orderly stop
#   SIGTERM to mocha                      signal handler: orderly stop
#   SIGTERM to a shell wrapping mocha     mocha orphaned (as under `npm run`): parent-death check
#   SIGKILL to mocha                      no handler runs: the watchdog cleans up
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
fixture=dist/e2e/suites/fixtures/hang.fixture.js
[ -f "$fixture" ] || { echo "interrupt-check: $fixture is missing: run 'npm run build' first" >&2; exit 1; }
# --no-config: the e2e run has no node flags, so mocha runs in-process (as under make e2e).
mocha=(node node_modules/mocha/bin/mocha.js --no-config --no-package --require dist/e2e/harness/root-hooks.js --timeout 0 "$fixture")
failed=0
passed=0

# pids whose command line contains $1 (from /proc: procps/pgrep may not be installed).
procs_matching() {
  local f cmd
  for f in /proc/[0-9]*/cmdline; do
    cmd="$(tr '\0' ' ' 2>/dev/null <"$f")" || continue
    [[ "$cmd" == *"$1"* ]] && { f="${f#/proc/}"; echo "${f%/cmdline}"; }
  done
  return 0
}

run_case() {
  local label="$1" how="$2" sig="$3" log target data pids left t0 i
  log="$(mktemp)"
  if [ "$how" = wrapped ]; then
    sh -c '"$@"; exit $?' sh "${mocha[@]}" >"$log" 2>&1 &
  else
    "${mocha[@]}" >"$log" 2>&1 &
  fi
  target=$!
  for i in $(seq 1 900); do grep -q 'interrupt-fixture: ready' "$log" && break; sleep 0.1; done
  if ! grep -q 'interrupt-fixture: ready' "$log"; then
    echo "interrupt-check: $label: the run did not start:"; tail -n 20 "$log"; kill -KILL "$target" 2>/dev/null || true
    failed=$((failed + 1)); rm -f "$log"; return
  fi
  data="$(sed -n 's/.*"kubeconfig":"\([^"]*\)\/kubeconfig".*/\1/p' "$log")"
  pids="$(procs_matching "$data/" | tr '\n' ' ')"
  if [ -z "$data" ] || [ "$(wc -w <<<"$pids")" -lt 2 ]; then
    echo "interrupt-check: FAIL $label: could not find the plane's processes (data dir '${data}')"
    kill -KILL "$target" 2>/dev/null || true; failed=$((failed + 1)); rm -f "$log"; return
  fi
  t0=$(date +%s%N)
  kill -s "$sig" "$target"
  wait "$target" 2>/dev/null || true
  for i in $(seq 1 200); do
    left="$(procs_matching "$data/" | tr '\n' ' ')"
    [ -z "$left" ] && [ ! -e "$data" ] && break
    sleep 0.1
  done
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  if [ -n "$left" ] || [ -e "$data" ]; then
    echo "interrupt-check: FAIL $label: still running after ${ms} ms: ${left:-none}; data dir present: $([ -e "$data" ] && echo yes || echo no)"
    failed=$((failed + 1))
  else
    passed=$((passed + 1))
    echo "interrupt-check: ok   $label: pids ${pids}gone and data dir removed ${ms} ms after the signal"
  fi
  rm -f "$log"
}

run_case "SIGINT to mocha" direct INT
run_case "SIGTERM to mocha" direct TERM
run_case "SIGTERM to sh wrapping mocha" wrapped TERM
run_case "SIGKILL to mocha" direct KILL
echo "interrupt-check: processes with an nhi-e2e data dir still running (any run on this machine): $(procs_matching "/nhi-e2e-" | wc -l)"
echo "interrupt-check: $passed passed, $failed failed"
[ -z "${INTERRUPT_CHECK_COUNTS:-}" ] || echo "$passed $failed" >"$INTERRUPT_CHECK_COUNTS"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# make e2e: build (or reuse) the control-plane binaries, run the e2e suites against a fresh local
# control plane (or E2E_KUBECONFIG's cluster), then check that an interrupted run leaves nothing.
# The plane is stopped by the suites' root hook; on interruption by the harness's signal handlers,
# its parent-death check and its watchdog (e2e/harness/procs.ts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if [ -z "${E2E_KUBECONFIG:-}" ]; then
  start=$SECONDS
  bash e2e/scripts/build-binaries.sh >/dev/null
  echo "e2e: control-plane binaries ready in $((SECONDS - start)) s"
fi

# The HTML view's browser test (graph-html.e2e.ts) drives Debian's chromium: install it when missing.
bash e2e/scripts/ensure-chromium.sh

# Forward INT/TERM to the test run (bash would not), then wait for it to clean up.
child=
forward() { [ -n "$child" ] && kill -s "$1" "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit "$2"; }
trap 'forward INT 130' INT
trap 'forward TERM 143' TERM

results="$(mktemp)"; interrupts="$(mktemp)"
trap 'rm -f "$results" "$interrupts"' EXIT
start=$SECONDS
rc=0
E2E_RESULTS_FILE="$results" npm run test:e2e &
child=$!
wait "$child" || rc=$?
echo "e2e: suites finished in $((SECONDS - start)) s (exit $rc)"
# Interrupted (where INT/TERM cannot be trapped because the caller ignores them): stop here.
case "$rc" in 130|143) exit "$rc" ;; esac

ipass=0 ifail=0
if [ -z "${E2E_KUBECONFIG:-}" ] && [ "${E2E_SKIP_INTERRUPT_CHECK:-}" != "1" ]; then
  INTERRUPT_CHECK_COUNTS="$interrupts" bash e2e/scripts/interrupt-check.sh || rc=$((rc == 0 ? 1 : rc))
  read -r ipass ifail <"$interrupts" || true
fi
# One closing line for the suites and the interrupt checks together (mocha's "N passing" is not read by CI).
# A run that failed outside any test (e.g. the control plane did not start) counts one failure.
# A skip is a hidden failure on the CI path (binaries built here): any skip fails the run. A developer
# who points the run at partial binaries (KUBEBUILDER_ASSETS) or at another cluster (E2E_KUBECONFIG)
# may skip, and every skipped test is listed.
strict=1
if [ -n "${KUBEBUILDER_ASSETS:-}" ] || [ -n "${E2E_KUBECONFIG:-}" ]; then strict=0; fi
node -e 'const fs = require("fs"); const t = fs.readFileSync(process.argv[1], "utf8"); const r = t ? JSON.parse(t) : {};
  const [ip, f, rc, strict] = process.argv.slice(2).map(Number); let failed = (r.failed ?? 0) + f; if (rc !== 0 && failed === 0) failed = 1;
  const skipped = r.skippedTitles ?? [];
  if (skipped.length > 0) {
    console.log(`\ne2e: ${skipped.length} SKIPPED TEST(S) — ${strict ? "a skip on the CI path is a failure" : "allowed only because KUBEBUILDER_ASSETS or E2E_KUBECONFIG is set"}:`);
    for (const s of skipped) console.log(`  - ${s}`);
    console.log("");
  }
  console.log(`e2e: ${(r.passed ?? 0) + ip} passed, ${failed} failed, ${r.skipped ?? 0} skipped`);
  process.exit(strict && skipped.length > 0 && rc === 0 ? 1 : rc)' \
  "$results" "${ipass:-0}" "${ifail:-0}" "$rc" "$strict" || rc=$?
exit "$rc"

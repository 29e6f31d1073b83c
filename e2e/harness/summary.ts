// The closing line of `make e2e` (e2e/scripts/e2e.sh) and its exit code, from the reporter's results
// file (reporter.ts) and the interruption checks. A skip is a hidden failure on a complete local
// plane (kube-controller-manager and kube-scheduler running), whatever KUBEBUILDER_ASSETS says; it
// is allowed, and listed, only on a partial plane or another cluster (E2E_KUBECONFIG).
import { readFileSync } from "node:fs";
import type { E2eResults } from "./reporter.js";

export interface Summary {
  lines: string[];
  exitCode: number;
}

export function summarize(
  results: Partial<E2eResults>,
  interrupts: { passed: number; failed: number },
  rc: number,
): Summary {
  let failed = (results.failed ?? 0) + interrupts.failed;
  // A run that failed outside any test (e.g. the control plane did not start) counts one failure.
  if (rc !== 0 && failed === 0) failed = 1;
  // Unknown (no results: the run died first) counts as complete: nothing may excuse a skip then.
  const strict = results.completePlane ?? true;
  const skipped = results.skippedTitles ?? [];
  const lines: string[] = [];
  if (skipped.length > 0) {
    lines.push(
      "",
      `e2e: ${skipped.length} SKIPPED TEST(S) — ${
        strict
          ? "a skip on the project's complete plane is a failure"
          : "allowed only because the plane is partial (KUBEBUILDER_ASSETS without kube-controller-manager or kube-scheduler) or another cluster (E2E_KUBECONFIG)"
      }:`,
      ...skipped.map((s) => `  - ${s}`),
      "",
    );
  }
  lines.push(
    `e2e: ${(results.passed ?? 0) + interrupts.passed} passed, ${failed} failed, ${results.skipped ?? 0} skipped`,
  );
  return { lines, exitCode: strict && skipped.length > 0 && rc === 0 ? 1 : rc };
}

/** `node summary.js RESULTS_FILE INTERRUPT_PASSED INTERRUPT_FAILED RC`: prints the summary, exits with its code. */
function main(argv: string[]): number {
  const [file = "", ip = "0", ifailed = "0", rc = "0"] = argv;
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    text = "";
  }
  const results = (text ? JSON.parse(text) : {}) as Partial<E2eResults>;
  const s = summarize(results, { passed: Number(ip), failed: Number(ifailed) }, Number(rc));
  for (const l of s.lines) console.log(l);
  return s.exitCode;
}

if (process.argv[1]?.endsWith("summary.js")) process.exitCode = main(process.argv.slice(2));

// Mocha reporter for the e2e run (e2e/.mocharc.json): mocha's spec output, plus a results file
// (E2E_RESULTS_FILE) with the counts and the title of every skipped test, read by e2e/scripts/e2e.sh.
// It listens to the runner, so a skip from `this.skip()` in a hook, `it.skip` or a pending test all
// count — a skip on the CI path is a hidden failure, and e2e.sh fails the run on it.
import { writeFileSync } from "node:fs";
import Mocha from "mocha";

export interface E2eResults {
  passed: number;
  failed: number;
  skipped: number;
  skippedTitles: string[];
  /**
   * The run's plane was this project's own with kube-controller-manager and kube-scheduler (the
   * root hook sets E2E_COMPLETE_PLANE): a skip there fails `make e2e` (summary.ts).
   */
  completePlane?: boolean;
}

class E2eReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const results: E2eResults = { passed: 0, failed: 0, skipped: 0, skippedTitles: [] };
    const { EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING, EVENT_RUN_END } =
      Mocha.Runner.constants;
    runner.on(EVENT_TEST_PASS, () => void results.passed++);
    // A failing hook is reported here too (as "before all" hook: ...), so it counts as a failure.
    runner.on(EVENT_TEST_FAIL, () => void results.failed++);
    runner.on(EVENT_TEST_PENDING, (test: Mocha.Test) => {
      results.skipped++;
      results.skippedTitles.push(test.fullTitle());
    });
    runner.once(EVENT_RUN_END, () => {
      if (process.env.E2E_COMPLETE_PLANE !== undefined)
        results.completePlane = process.env.E2E_COMPLETE_PLANE === "1";
      if (process.env.E2E_RESULTS_FILE)
        writeFileSync(process.env.E2E_RESULTS_FILE, JSON.stringify(results));
    });
  }
}

export default E2eReporter;

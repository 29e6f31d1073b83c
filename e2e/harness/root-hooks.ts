// Mocha root-hook plugin (required by e2e/.mocharc.json): one control plane for the whole e2e run.
import type { Context } from "mocha";
import { writeFileSync } from "node:fs";
import { ControlPlane } from "./controlplane.js";
import { startShared, stopShared } from "./mocha.js";

process.setSourceMapsEnabled(true);

const counts = { passed: 0, failed: 0, skipped: 0 };

export const mochaHooks = {
  afterEach(this: Context): void {
    const state = this.currentTest?.state;
    if (state === "passed") counts.passed++;
    else if (state === "failed") counts.failed++;
    else counts.skipped++;
  },
  async beforeAll(this: Context): Promise<void> {
    this.timeout(240_000);
    const c = await startShared();
    if (c instanceof ControlPlane) {
      const t = c.timings;
      const s = (ms: number): string => (ms / 1000).toFixed(1);
      process.stderr.write(`e2e: control plane ${c.apiServerUrl} ready in ${s(t.totalMs)} s ` +
        `(certs ${s(t.certsMs)}, etcd ${s(t.etcdMs)}, kube-apiserver ${s(t.apiServerMs)}, kube-controller-manager ${s(t.controllerManagerMs)})` +
        `${c.hasControllers ? "" : " — no kube-controller-manager: controller tests skip"}\n`);
    } else {
      process.stderr.write(`e2e: using existing cluster from E2E_KUBECONFIG=${c.kubeconfigPath}\n`);
    }
  },
  async afterAll(this: Context): Promise<void> {
    this.timeout(60_000);
    await stopShared();
    // For e2e.sh's closing "N passed, N failed" line (CI reads it; mocha's own summary differs).
    if (process.env.E2E_RESULTS_FILE) writeFileSync(process.env.E2E_RESULTS_FILE, JSON.stringify(counts));
  },
};

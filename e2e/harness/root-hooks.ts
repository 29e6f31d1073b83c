// Mocha root-hook plugin (required by e2e/.mocharc.json): one control plane for the whole e2e run.
import type { Context } from "mocha";
import { ControlPlane } from "./controlplane.js";
import { startShared, stopShared } from "./mocha.js";

process.setSourceMapsEnabled(true);

export const mochaHooks = {
  async beforeAll(this: Context): Promise<void> {
    this.timeout(240_000);
    const c = await startShared();
    // Child processes a suite starts (nhictl, the operator) find the audit log here too.
    if (c.auditLogPath) process.env.E2E_AUDIT_LOG = c.auditLogPath;
    // Read by the reporter: on the project's complete plane no test may skip (summary.ts).
    process.env.E2E_COMPLETE_PLANE =
      c instanceof ControlPlane && c.hasControllers && c.hasScheduler ? "1" : "0";
    if (c instanceof ControlPlane) {
      const t = c.timings;
      const s = (ms: number): string => (ms / 1000).toFixed(1);
      process.stderr.write(
        `e2e: control plane ${c.apiServerUrl} ready in ${s(t.totalMs)} s ` +
          `(certs ${s(t.certsMs)}, etcd ${s(t.etcdMs)}, kube-apiserver ${s(t.apiServerMs)}, kube-controller-manager ${s(t.controllerManagerMs)}, ` +
          `kube-scheduler ${s(t.schedulerMs)})\n`,
      );
      const missing = [
        c.hasControllers ? "" : "kube-controller-manager",
        c.hasScheduler ? "" : "kube-scheduler",
      ].filter(Boolean);
      if (missing.length > 0) {
        process.stderr.write(
          `\ne2e: WARNING: THIS IS NOT A REAL CLUSTER — no ${missing.join(" and no ")} in ${c.binaries.source}.\n` +
            "e2e: the tests that need them will be SKIPPED, and make e2e lists them; unset KUBEBUILDER_ASSETS to build them.\n\n",
        );
      }
    } else {
      process.stderr.write(`e2e: using existing cluster from E2E_KUBECONFIG=${c.kubeconfigPath}\n`);
    }
  },
  async afterAll(this: Context): Promise<void> {
    this.timeout(60_000);
    await stopShared();
  },
};

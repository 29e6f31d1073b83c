// The admission webhook as the webhook suites run it: operator/main's composition in this process
// (cache fed by real watches, HTTPS webhook with a development certificate), registered with the
// project's real configuration (webhooks/config.ts = manifests/webhook/: its rules and namespace
// exclusions, so controller-made objects in every namespace but kube-system and its own go through
// it, as in production).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULTS, startOperator, type RunningOperator } from "../../operator/main.js";
import { webhookConfiguration } from "../../webhooks/config.js";
import { silentLogger, type Log as Logger } from "../../edge/log.js";
import type { KubeObject } from "../harness/kube.js";
import { sharedCluster, skipUnlessLocalApiServer } from "../harness/mocha.js";
import { waitFor } from "../harness/wait.js";

export interface RegisteredWebhook {
  op: RunningOperator;
  /** Unregisters the configuration, stops the operator and removes its certificates. */
  close(): Promise<void>;
}

/**
 * The mocha hooks of a suite the registered webhook judges: before all, start it and register it as
 * `configName` (skipped unless the API server runs on this machine, as it must reach the webhook on
 * 127.0.0.1); after all, close it. Call inside the suite's `describe`, before its own hooks; `op` is
 * the running operator once the hook has run.
 */
export function useRegisteredWebhook(configName: string): { readonly op: RunningOperator } {
  let webhook: RegisteredWebhook | undefined;
  before(async function () {
    this.timeout(120_000);
    skipUnlessLocalApiServer(this);
    webhook = await startRegisteredWebhook(configName);
  });
  after(async function () {
    this.timeout(60_000);
    await webhook?.close();
  });
  return {
    get op(): RunningOperator {
      if (!webhook) throw new Error(`the webhook ${configName} is not started (before hook)`);
      return webhook.op;
    },
  };
}

/**
 * Starts the webhook, registers it as `configName` and resolves once the API server calls it (a
 * cluster-scoped dry-run write it denies). Call from a `before` hook with a generous timeout.
 */
export async function startRegisteredWebhook(
  configName: string,
  logger: Logger = silentLogger(),
): Promise<RegisteredWebhook> {
  const cluster = sharedCluster();
  const certDir = mkdtempSync(join(tmpdir(), `${configName}-`));
  let op: RunningOperator | undefined;
  const close = async (): Promise<void> => {
    await cluster.kube.delete(
      "admissionregistration.k8s.io/v1",
      "ValidatingWebhookConfiguration",
      configName,
    );
    await op?.close();
    rmSync(certDir, { recursive: true, force: true });
  };
  try {
    op = await startOperator(
      {
        ...DEFAULTS,
        kubeconfig: cluster.kubeconfigPath,
        host: "127.0.0.1",
        port: 0,
        metricsHost: "127.0.0.1",
        metricsPort: 0,
        devCertDir: certDir,
        installCrds: true,
        stallAfterMs: 60_000,
      },
      logger,
    );
    const running = op;
    await cluster.kubectlOk([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/nonhumanidentities.nhi.io",
      "crd/nhipolicies.nhi.io",
    ]);
    await running.cache.waitForSync(60_000);
    const config = webhookConfiguration({
      url: running.server.url,
      caBundlePem: running.caBundlePem ?? "",
      ownNamespace: "nhi-system",
      failurePolicy: "Fail",
      timeoutSeconds: 5,
    });
    const registered = await cluster.kube.apply({
      ...(config as unknown as KubeObject),
      metadata: { name: configName },
    });
    if (!registered.allowed)
      throw new Error(
        `e2e: registering ValidatingWebhookConfiguration ${configName}: ${registered.code} ${registered.message}`,
      );
    await waitFor(
      "the API server to call the webhook",
      async () => {
        const v = await cluster.kube.apply(
          {
            apiVersion: "nhi.io/v1alpha1",
            kind: "NHIPolicy",
            metadata: { name: `${configName}-probe` },
            spec: { forbidden: ["no-such-rule"] },
          },
          { dryRun: true },
        );
        return !v.allowed && v.message.includes("nhi-operator");
      },
      { timeoutMs: 30_000 },
    );
    return { op: running, close };
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }
}

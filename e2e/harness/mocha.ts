// Mocha glue: one control plane per run (root hooks in e2e/.mocharc.json), a fresh namespace per test.
import { ExternalCluster } from "./cluster.js";
import type { Cluster } from "./cluster.js";
import { ControlPlane } from "./controlplane.js";
import type { ControlPlaneOptions } from "./controlplane.js";
import { exitWhenOrphaned } from "./procs.js";

/** E2E_KUBECONFIG → that cluster; otherwise a new local control plane. */
export async function connect(opts: ControlPlaneOptions = {}): Promise<Cluster> {
  const external = process.env.E2E_KUBECONFIG;
  if (external) return new ExternalCluster(external);
  return ControlPlane.start(opts);
}

let shared: Cluster | undefined;

/** The run's cluster, started by the root hooks (e2e/harness/root-hooks.ts). */
export function sharedCluster(): Cluster {
  if (!shared)
    throw new Error(
      "e2e harness: no shared cluster; run through e2e/.mocharc.json (it requires dist/e2e/harness/root-hooks.js)",
    );
  return shared;
}

export async function startShared(): Promise<Cluster> {
  exitWhenOrphaned();
  shared ??= await connect();
  return shared;
}

export async function stopShared(): Promise<void> {
  const c = shared;
  shared = undefined;
  await c?.stop();
}

/**
 * A fresh namespace for each test of the enclosing describe: `const ns = useNamespace("crds")`,
 * then `ns()` inside a test. Deleted after each test (the namespace controller removes its content).
 */
export function useNamespace(prefix = "e2e", cluster: () => Cluster = sharedCluster): () => string {
  let current: string | undefined;
  beforeEach(async function () {
    current = await cluster().createNamespace(prefix);
  });
  afterEach(async function () {
    if (current) await cluster().deleteNamespace(current);
    current = undefined;
  });
  return () => {
    if (!current) throw new Error("e2e harness: useNamespace() value read outside a test");
    return current;
  };
}

/**
 * Skips the calling suite or test when the cluster's API server is not on this host: it could not
 * call a webhook (or audit sink) that listens on 127.0.0.1 (kind's container, a remote cluster).
 */
export function skipUnlessLocalApiServer(
  ctx: Mocha.Context,
  cluster: Cluster = sharedCluster(),
): void {
  const server = cluster.kube.config.getCurrentCluster()?.server ?? "";
  if (!/^https:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(server)) ctx.skip();
}

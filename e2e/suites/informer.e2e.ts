// The informer (operator/k8s/informer.ts) against a real kube-apiserver: a watch that lives longer
// than a minute keeps delivering events (client-node 2.0.0 aborted healthy watches every 30 s,
// #3020), and an informer recovers after the API server is killed and restarted (a relist
// reconciles what changed meanwhile). The restart runs on a control plane of its own, so the shared
// one stays undisturbed for the other suites.
import assert from "node:assert/strict";
import { KubeConfig, Watch } from "@kubernetes/client-node";
import { Informer, type InformerObject } from "../../operator/k8s/informer.js";
import { silentLogger } from "../../edge/log.js";
import type { Cluster } from "../harness/cluster.js";
import { ControlPlane } from "../harness/controlplane.js";
import { sharedCluster, useNamespace } from "../harness/mocha.js";
import { waitFor } from "../harness/wait.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function configMapInformer(
  kc: KubeConfig,
  ns: string,
): { informer: Informer<InformerObject>; seen: string[] } {
  const seen: string[] = [];
  const informer = new Informer<InformerObject>(kc, {
    name: "configmaps",
    path: `/api/v1/namespaces/${ns}/configmaps`,
    kind: "ConfigMap",
    apiVersion: "v1",
    logger: silentLogger(),
    watchTimeoutSeconds: 600,
    stallAfterMs: 300_000,
    backoff: { initialMs: 200, maxMs: 2_000 },
    handlers: { upsert: (o) => seen.push(o.metadata.name), remove: () => undefined },
  });
  return { informer, seen };
}

const has = (i: Informer<InformerObject>, name: string): boolean =>
  i.list().some((o) => o.metadata.name === name);

async function createConfigMap(c: Cluster, ns: string, name: string): Promise<void> {
  const r = await c.kube.request("POST", `/api/v1/namespaces/${ns}/configmaps`, {
    body: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: ns },
      data: { k: "v" },
    },
  });
  assert.equal(r.status, 201, `create ConfigMap ${name}: ${JSON.stringify(r.body)}`);
}

describe("informer against a real kube-apiserver", function () {
  const ns = useNamespace("informer");

  it("a watch that lives longer than a minute keeps delivering events, without a restart (ours and client-node's Watch)", async function () {
    this.timeout(150_000);
    const c = sharedCluster();
    const kc = new KubeConfig();
    kc.loadFromFile(c.kubeconfigPath);
    const { informer } = configMapInformer(kc, ns());
    // client-node's own Watch, as the pinned version behaves (the #3020 regression aborted it at 30 s).
    const raw: string[] = [];
    let rawEnded: unknown = undefined;
    const watch = await new Watch(kc).watch(
      `/api/v1/namespaces/${ns()}/configmaps`,
      { timeoutSeconds: 600 },
      (type, obj: InformerObject) => {
        if (type === "ADDED") raw.push(obj.metadata.name);
      },
      (err: unknown) => {
        rawEnded = err ?? "ended";
      },
    );
    informer.start();
    try {
      await waitFor("the informer to sync", () => informer.synced(), { timeoutMs: 10_000 });
      const started = Date.now();
      let i = 0;
      while (Date.now() - started < 75_000) {
        const name = `cm-${i++}`;
        await createConfigMap(c, ns(), name);
        await waitFor(
          `the informer to see ${name} (${Math.round((Date.now() - started) / 1000)} s into the watch)`,
          () => has(informer, name),
          { timeoutMs: 5_000, intervalMs: 20 },
        );
        await waitFor(`client-node's Watch to see ${name}`, () => raw.includes(name), {
          timeoutMs: 5_000,
          intervalMs: 20,
        });
        await sleep(7_500);
      }
      assert.ok(i >= 9, `events across the whole minute (${i})`);
      assert.equal(informer.restarts, 0, "the informer's watch was never restarted");
      assert.equal(rawEnded, undefined, "client-node's watch was not aborted");
    } finally {
      informer.stop();
      watch.abort();
    }
  });

  describe("on a control plane of its own", function () {
    let plane: ControlPlane | undefined;

    before(async function () {
      if (process.env.E2E_KUBECONFIG) this.skip(); // restarting someone else's API server is not ours to do
      this.timeout(120_000);
      plane = await ControlPlane.start({ controllerManager: false });
    });
    after(async function () {
      this.timeout(60_000);
      await plane?.stop();
    });

    it("an informer recovers after the API server is killed and restarted, and reconciles what changed", async function () {
      this.timeout(150_000);
      const p = plane;
      if (!p) return this.skip();
      const space = await p.createNamespace("restart");
      const kc = new KubeConfig();
      kc.loadFromFile(p.kubeconfigPath);
      const { informer } = configMapInformer(kc, space);
      await createConfigMap(p, space, "before");
      await createConfigMap(p, space, "doomed");
      informer.start();
      try {
        await waitFor(
          "the informer to list",
          () => has(informer, "before") && has(informer, "doomed"),
          { timeoutMs: 10_000 },
        );
        const restartsBefore = informer.restarts;

        await p.restartApiServer({ kill: true, downMs: 3_000 });
        // Changes right after the restart, possibly before the informer has reconnected.
        await createConfigMap(p, space, "after");
        const del = await p.kube.request("DELETE", `/api/v1/namespaces/${space}/configmaps/doomed`);
        assert.equal(del.status, 200);

        await waitFor(
          "the informer to see the change made after the restart",
          () => has(informer, "after") && !has(informer, "doomed"),
          { timeoutMs: 60_000, intervalMs: 100 },
        );
        assert.ok(informer.restarts > restartsBefore, "the informer restarted its watch");
        assert.ok(has(informer, "before"));

        // And it keeps watching: a later event arrives through the new watch.
        await createConfigMap(p, space, "later");
        await waitFor("the informer to see a later event", () => has(informer, "later"), {
          timeoutMs: 10_000,
          intervalMs: 50,
        });
        assert.ok(informer.lastEventAgeSeconds() < 10);

        // A graceful restart (SIGTERM) as well.
        await p.restartApiServer({ downMs: 1_000 });
        await createConfigMap(p, space, "after-graceful");
        await waitFor(
          "the informer to see a change after a graceful restart",
          () => has(informer, "after-graceful"),
          { timeoutMs: 60_000, intervalMs: 100 },
        );
      } finally {
        informer.stop();
      }
    });
  });
});

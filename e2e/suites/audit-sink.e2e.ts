// The real API server sends its audit webhook (batch mode, the plane's pre-allocated address and
// certificate) to the operator's audit sink. A ServiceAccount claimed by an NHI acts within its
// scopes from its pod (no finding), then out of scope, then its pod's token is used by kubectl from
// elsewhere: each gives its finding as a Warning Event on the NHI within seconds.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunningOperator } from "../../operator/main.js";
import type { ControlPlane } from "../harness/controlplane.js";
import { sharedCluster, skipUnlessLocalApiServer, useNamespace } from "../harness/mocha.js";
import type { Token } from "../harness/kube.js";
import { waitFor } from "../harness/wait.js";
import { declareIdentity, podBoundToken, startAuditOperator } from "./audit-helpers.js";

/** The pod's address: another loopback address, from which its requests really come (see RequestOpts.localAddress). */
const POD_IP = "127.0.0.9";
/** A request from the pod: its client's user agent, from its address. */
const FROM_POD = {
  headers: { "User-Agent": "orders/v2.0.1 (linux/amd64) kubernetes/abc1234" },
  localAddress: POD_IP,
};

interface EventItem {
  reason?: string;
  message?: string;
  type?: string;
  involvedObject?: { kind?: string; name?: string };
}

describe("audit sink: the API server's audit webhook to the operator", function () {
  this.timeout(180_000);
  const ns = useNamespace("audit-sink");
  let op: RunningOperator | undefined;
  let certDir = "";
  /** The namespace of the operator's baseline ConfigMaps. */
  let storeNs = "";
  const BASELINE = "audit-baseline-e2e";

  before(async function () {
    const c = sharedCluster();
    skipUnlessLocalApiServer(this, c);
    const sink = c.auditSink;
    if (!sink) this.skip();
    certDir = mkdtempSync(join(tmpdir(), "nhi-audit-sink-e2e-"));
    storeNs = await c.createNamespace("audit-baseline");
    op = await startOp();
  });

  /** The operator with the plane's audit sink; its learned baseline in ConfigMaps of storeNs. */
  const startOp = (): Promise<RunningOperator> =>
    startAuditOperator({
      certDir,
      baseline: { learningMs: 1_000, configMap: BASELINE, writeIntervalMs: 1_000 },
      ownNamespace: storeNs,
    });

  after(async function () {
    await op?.close();
    if (storeNs) await sharedCluster().deleteNamespace(storeNs);
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  async function findings(): Promise<EventItem[]> {
    const list = await sharedCluster().kube.must<{ items: EventItem[] }>(
      "GET",
      `/api/v1/namespaces/${ns()}/events`,
    );
    return list.items.filter((e) => e.reason === "BehaviourAnomalous");
  }

  /** orders: a ServiceAccount claimed by an NHI (ConfigMaps get/list in its namespace), its Role (also
   * Secrets), a pod orders-0 at POD_IP, and the pod's bound token, once the operator's cache has them. */
  async function ordersWithToken(): Promise<Token> {
    const c = sharedCluster();
    await declareIdentity(ns(), "orders", {
      granted: ["configmaps", "secrets"],
      purpose: "Reads the orders settings",
    });
    const pod = await c.kube.must<{ metadata: { uid: string } }>(
      "POST",
      `/api/v1/namespaces/${ns()}/pods`,
      {
        body: {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "orders-0", namespace: ns() },
          spec: {
            serviceAccountName: "orders",
            containers: [{ name: "orders", image: "registry.example/orders:2.0.1" }],
          },
        },
      },
    );
    if (!op) throw new Error("the operator is not running");
    return podBoundToken(op, ns(), "orders", { name: "orders-0", uid: pod.metadata.uid }, POD_IP);
  }

  it("within scope: nothing; out of scope: out-of-scope; the pod's token in kubectl from elsewhere: human-client and token-off-pod", async function () {
    const c = sharedCluster();
    const plane = c as ControlPlane;
    const token = await ordersWithToken();

    // 1. Within scope, from its pod, with its client: no finding.
    await c.kube.must("GET", `/api/v1/namespaces/${ns()}/configmaps/settings`, {
      as: { token },
      ...FROM_POD,
    });
    await c.kube.must("GET", `/api/v1/namespaces/${ns()}/configmaps`, {
      as: { token },
      ...FROM_POD,
    });
    // Nothing to wait for but time: the batch goes out within 1 s; give it 5.
    await new Promise((res) => setTimeout(res, 5_000));
    assert.deepEqual(await findings(), [], "activity within scope gave a finding");
    assert.ok((op?.auditSink?.stats().accepted ?? 0) > 0, "the sink received no event at all");

    // 2. Out of scope (allowed by the Role, not declared by the NHI).
    let t0 = Date.now();
    await c.kube.must("GET", `/api/v1/namespaces/${ns()}/secrets`, { as: { token }, ...FROM_POD });
    await waitFor(
      "an out-of-scope finding",
      async () =>
        (await findings()).some((e) =>
          /^out-of-scope \(high\): list secrets in namespace /.test(e.message ?? ""),
        ),
      { timeoutMs: 20_000 },
    );
    const outOfScopeMs = Date.now() - t0;

    // 3. The pod's token, used by kubectl from another address.
    t0 = Date.now();
    const kubeconfig = join(certDir, "stolen.kubeconfig");
    plane.writeTokenKubeconfig(kubeconfig, token, ns());
    const k = spawnSync(c.kubectlPath, ["--kubeconfig", kubeconfig, "get", "configmaps"], {
      encoding: "utf8",
      timeout: 30_000,
    });
    rmSync(kubeconfig);
    assert.equal(k.status, 0, k.stderr);
    await waitFor(
      "human-client and token-off-pod findings",
      async () => {
        const ms = (await findings()).map((e) => e.message ?? "");
        return (
          ms.some((m) => m.startsWith("human-client (high): kubectl used")) &&
          ms.some((m) =>
            m.startsWith(
              `token-off-pod (high): the token of pod ${ns()}/orders-0 (${POD_IP}) was used from 127.0.0.1 by kubectl`,
            ),
          )
        );
      },
      { timeoutMs: 20_000 },
    );
    const replayMs = Date.now() - t0;
    const all = await findings();
    assert.ok(
      all.every(
        (e) =>
          e.type === "Warning" &&
          e.involvedObject?.kind === "NonHumanIdentity" &&
          e.involvedObject.name === "orders",
      ),
    );
    assert.ok(!JSON.stringify(all).includes(token.reveal()));
    process.stderr.write(
      `      (out-of-scope finding after ${outOfScopeMs} ms, replay findings after ${replayMs} ms)\n`,
    );
  });

  it("a forged X-Forwarded-For naming the pod's address does not hide a replay: the connection's address decides", async function () {
    const c = sharedCluster();
    const token = await ordersWithToken();
    await c.kube.must("GET", `/api/v1/namespaces/${ns()}/configmaps/settings`, {
      as: { token },
      headers: { ...FROM_POD.headers, "X-Forwarded-For": POD_IP },
    });
    await waitFor(
      "a token-off-pod finding",
      async () =>
        (await findings()).some((e) =>
          (e.message ?? "").startsWith(
            `token-off-pod (high): the token of pod ${ns()}/orders-0 (${POD_IP}) was used from 127.0.0.1`,
          ),
        ),
      { timeoutMs: 20_000 },
    );
  });

  it("new-behaviour: the learned habits are stored in ConfigMaps, survive a restart, and a new client after learning is a finding", async function () {
    const c = sharedCluster();
    const token = await ordersWithToken();
    // Learning (1 s): its pod, its client.
    await c.kube.must("GET", `/api/v1/namespaces/${ns()}/configmaps/settings`, {
      as: { token },
      ...FROM_POD,
    });
    interface ConfigMap {
      metadata: { name: string };
      data?: Record<string, string>;
    }
    const stored = async (): Promise<ConfigMap | undefined> =>
      (
        await c.kube.request<ConfigMap>(
          "GET",
          `/api/v1/namespaces/${storeNs}/configmaps/${BASELINE}-0`,
        )
      ).status === 200
        ? await c.kube.must<ConfigMap>(
            "GET",
            `/api/v1/namespaces/${storeNs}/configmaps/${BASELINE}-0`,
          )
        : undefined;
    const identity = `system:serviceaccount:${ns()}:orders`;
    await waitFor(
      "the baseline in ConfigMap " + `${BASELINE}-0`,
      async () => (await stored())?.data?.["baseline.json"]?.includes(identity) === true,
      { timeoutMs: 20_000 },
    );
    const doc = JSON.parse((await stored())?.data?.["baseline.json"] ?? "{}") as {
      apiVersion: string;
      identities: Record<string, { sources: string[]; clients: string[] }>;
    };
    assert.equal(doc.apiVersion, "nhi.io/audit-baseline/v1");
    assert.deepEqual(doc.identities[identity]?.clients, ["orders"]);
    assert.ok(doc.identities[identity]?.sources.includes("own pod"));

    // A damaged part is left out (the operator starts, learning afresh without it) and removed.
    await c.kube.must("POST", `/api/v1/namespaces/${storeNs}/configmaps`, {
      body: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: `${BASELINE}-7`,
          namespace: storeNs,
          labels: { "nhi.io/audit-baseline": BASELINE },
        },
        data: { "baseline.json": '{"apiVersion":"nhi.io/audit-baseline/v1","identities":[' },
      },
    });
    await op?.close();
    op = undefined;
    op = await startOp();

    // The restarted operator knows the identity is past learning: its first request there, with a
    // new client, is a finding (a fresh baseline would only start learning with it).
    const newBehaviour = async (): Promise<string[]> =>
      (await findings()).map((e) => e.message ?? "").filter((m) => m.startsWith("new-behaviour"));
    assert.deepEqual(await newBehaviour(), [], "new-behaviour before the new client");
    const t0 = Date.now();
    await c.kube.must("GET", `/api/v1/namespaces/${ns()}/configmaps/settings`, {
      as: { token },
      ...FROM_POD,
      headers: { "User-Agent": "python-requests/2.31.0" },
    });
    const expected =
      "new-behaviour (medium): new client after its learning window: python-requests";
    await waitFor(
      "a new-behaviour finding for the new client",
      async () => (await newBehaviour()).includes(expected),
      { timeoutMs: 20_000 },
    );
    process.stderr.write(`      (new-behaviour finding after ${Date.now() - t0} ms)\n`);
    // The usual activity (its pod, its client, within scope): nothing more.
    await c.kube.must("GET", `/api/v1/namespaces/${ns()}/configmaps/settings`, {
      as: { token },
      ...FROM_POD,
    });
    await new Promise((res) => setTimeout(res, 4_000));
    assert.deepEqual(await newBehaviour(), [expected], "the usual activity gave a finding");
    await waitFor(
      "the damaged part removed",
      async () =>
        (await c.kube.request("GET", `/api/v1/namespaces/${storeNs}/configmaps/${BASELINE}-7`))
          .status === 404,
      { timeoutMs: 20_000 },
    );
  });

  it("status.rightsize: after the learning window the NHI lists the granted permissions never used, and the scopes that would do", async function () {
    const c = sharedCluster();
    const token = await ordersWithToken();
    // The Role grants get and list on ConfigMaps and Secrets; orders only reads ConfigMaps.
    await c.kube.must("GET", `/api/v1/namespaces/${ns()}/configmaps/settings`, {
      as: { token },
      ...FROM_POD,
    });
    await c.kube.must("GET", `/api/v1/namespaces/${ns()}/configmaps`, {
      as: { token },
      ...FROM_POD,
    });
    interface Nhi {
      status?: {
        rightsize?: {
          observedSince: string;
          unusedPermissions: string[];
          unusedCount: number;
          proposedScopes: unknown[];
          saturated: boolean;
        };
      };
    }
    const grant = `RoleBinding ${ns()}/orders → Role ${ns()}/orders`;
    const t0 = Date.now();
    // The learning window is 1 s (startOp): the proposal follows within a few seconds.
    // A proposal made between the two reads still lists `list configmaps`; the next one does not.
    const rightsize = await waitFor(
      "status.rightsize on the NHI, after both reads",
      async () => {
        const r = (
          await c.kube.must<Nhi>(
            "GET",
            `/apis/nhi.io/v1alpha1/namespaces/${ns()}/nonhumanidentities/orders`,
          )
        ).status?.rightsize;
        return r && !r.unusedPermissions.some((p) => p.includes("configmaps")) ? r : undefined;
      },
      { timeoutMs: 30_000 },
    );
    process.stderr.write(`      (status.rightsize after ${Date.now() - t0} ms)\n`);
    assert.deepEqual([...rightsize.unusedPermissions].sort(), [
      `get secrets in namespace ${ns()} (${grant})`,
      `list secrets in namespace ${ns()} (${grant})`,
    ]);
    assert.equal(rightsize.unusedCount, 2);
    assert.equal(rightsize.saturated, false);
    assert.deepEqual(rightsize.proposedScopes, [
      { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"], namespaces: [ns()] },
    ]);
    assert.ok(!JSON.stringify(rightsize).includes(token.reveal()));

    // The usage is stored beside the baseline and survives a restart: with the proposal cleared,
    // the restarted operator proposes the same from what it read back (a fresh usage would start
    // a new window with the next request and list `list configmaps` as unused).
    const identity = `system:serviceaccount:${ns()}:orders`;
    await waitFor(
      `the usage in ConfigMap ${BASELINE}-usage-0, both reads included`,
      async () => {
        const cm = await c.kube.request<{ data?: Record<string, string> }>(
          "GET",
          `/api/v1/namespaces/${storeNs}/configmaps/${BASELINE}-usage-0`,
        );
        const doc = JSON.parse(cm.body.data?.["usage.json"] ?? "{}") as {
          identities?: Record<string, { exercised: { rule: { verbs: string[] } }[] }>;
        };
        const verbs = doc.identities?.[identity]?.exercised.map((x) => x.rule.verbs[0]) ?? [];
        return cm.status === 200 && verbs.includes("get") && verbs.includes("list");
      },
      { timeoutMs: 20_000 },
    );
    await op?.close();
    op = undefined;
    await c.kube.must(
      "PATCH",
      `/apis/nhi.io/v1alpha1/namespaces/${ns()}/nonhumanidentities/orders/status`,
      { contentType: "application/merge-patch+json", body: { status: { rightsize: null } } },
    );
    op = await startOp();
    await c.kube.must("GET", `/api/v1/namespaces/${ns()}/configmaps/settings`, {
      as: { token },
      ...FROM_POD,
    });
    const again = await waitFor(
      "status.rightsize proposed again after the restart",
      async () =>
        (
          await c.kube.must<Nhi>(
            "GET",
            `/apis/nhi.io/v1alpha1/namespaces/${ns()}/nonhumanidentities/orders`,
          )
        ).status?.rightsize,
      { timeoutMs: 30_000 },
    );
    assert.deepEqual(
      [...again.unusedPermissions].sort(),
      [...rightsize.unusedPermissions].sort(),
      "the restarted operator forgot what the identity used",
    );
    assert.equal(again.observedSince, rightsize.observedSince);
  });
});

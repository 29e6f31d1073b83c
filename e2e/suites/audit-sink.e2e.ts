// The real API server sends its audit webhook (batch mode, the plane's pre-allocated address and
// certificate) to the operator's audit sink. A ServiceAccount claimed by an NHI acts within its
// scopes from its pod (no finding), then out of scope, then its pod's token is used by kubectl from
// elsewhere: each gives its finding as a Warning Event on the NHI within seconds.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { DEFAULTS, startOperator, type RunningOperator } from "../../operator/main.js";
import { nullLog } from "../../edge/log.js";
import type { ControlPlane } from "../harness/controlplane.js";
import { sharedCluster, skipUnlessLocalApiServer, useNamespace } from "../harness/mocha.js";
import { Token } from "../harness/kube.js";
import { waitFor } from "../harness/wait.js";

const POD_IP = "10.244.3.9";
const APP = {
  "User-Agent": "orders/v2.0.1 (linux/amd64) kubernetes/abc1234",
  "X-Forwarded-For": POD_IP,
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

  before(async function () {
    const c = sharedCluster();
    skipUnlessLocalApiServer(this, c);
    const sink = c.auditSink;
    if (!sink) this.skip();
    certDir = mkdtempSync(join(tmpdir(), "nhi-audit-sink-e2e-"));
    op = await startOperator(
      {
        ...DEFAULTS,
        kubeconfig: c.kubeconfigPath,
        host: "127.0.0.1",
        port: 0,
        metricsHost: "127.0.0.1",
        metricsPort: 0,
        devCertDir: certDir,
        installCrds: true,
        stallAfterMs: 60_000,
        auditSink: {
          host: "127.0.0.1",
          port: sink?.port ?? 0,
          certFile: sink?.certFile ?? "",
          keyFile: sink?.keyFile ?? "",
          trustedMinters: [],
        },
      },
      nullLog,
    );
    await c.kubectlOk([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/nonhumanidentities.nhi.io",
    ]);
    await op.cache.waitForSync(60_000);
  });

  after(async function () {
    await op?.close();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  async function findings(): Promise<EventItem[]> {
    const list = await sharedCluster().kube.must<{ items: EventItem[] }>(
      "GET",
      `/api/v1/namespaces/${ns()}/events`,
    );
    return list.items.filter((e) => e.reason === "BehaviourAnomalous");
  }

  it("within scope: nothing; out of scope: out-of-scope; the pod's token in kubectl from elsewhere: human-client and token-off-pod", async function () {
    const c = sharedCluster();
    const plane = c as ControlPlane;
    for (const o of [
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "orders", namespace: ns() } },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "orders", namespace: ns() },
        rules: [{ apiGroups: [""], resources: ["configmaps", "secrets"], verbs: ["get", "list"] }],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "orders", namespace: ns() },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "orders" },
        subjects: [{ kind: "ServiceAccount", name: "orders", namespace: ns() }],
      },
      {
        apiVersion: "nhi.io/v1alpha1",
        kind: "NonHumanIdentity",
        metadata: { name: "orders", namespace: ns() },
        spec: {
          owner: { team: "orders", contact: "orders@example.com" },
          purpose: "Reads the orders settings",
          serviceAccountName: "orders",
          scopes: [
            {
              namespaces: [ns()],
              apiGroups: [""],
              resources: ["configmaps"],
              verbs: ["get", "list"],
            },
          ],
        },
      },
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "settings", namespace: ns() },
        data: { a: "b" },
      },
    ]) {
      const v = await c.kube.create(o as Parameters<typeof c.kube.create>[0]);
      assert.ok(v.allowed, `${o.kind}: ${v.message}`);
    }
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
    await c.kube.must("PATCH", `/api/v1/namespaces/${ns()}/pods/orders-0/status`, {
      contentType: "application/merge-patch+json",
      body: { status: { podIP: POD_IP, podIPs: [{ ip: POD_IP }] } },
    });
    const r = await c.kube.request<{ status?: { token?: string } }>(
      "POST",
      `/api/v1/namespaces/${ns()}/serviceaccounts/orders/token`,
      {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: {
            expirationSeconds: 3600,
            boundObjectRef: {
              apiVersion: "v1",
              kind: "Pod",
              name: "orders-0",
              uid: pod.metadata.uid,
            },
          },
        },
      },
    );
    const token = new Token(r.body.status?.token ?? "");
    // The cache has the NHI and the pod's IP before the identity acts.
    await waitFor(
      "the operator's cache to hold the NHI and the pod's IP",
      () =>
        op?.cache.directory.nhiFor({ namespace: ns(), name: "orders" }) !== undefined &&
        op.cache
          .snapshot()
          .workloads.some(
            (w) =>
              w.metadata.name === "orders-0" &&
              JSON.stringify((w as { status?: unknown }).status ?? {}).includes(POD_IP),
          ),
      { timeoutMs: 30_000 },
    );

    // 1. Within scope, from its pod, with its client: no finding.
    await c.kube.must("GET", `/api/v1/namespaces/${ns()}/configmaps/settings`, {
      as: { token },
      headers: APP,
    });
    await c.kube.must("GET", `/api/v1/namespaces/${ns()}/configmaps`, {
      as: { token },
      headers: APP,
    });
    // Nothing to wait for but time: the batch goes out within 1 s; give it 5.
    await new Promise((res) => setTimeout(res, 5_000));
    assert.deepEqual(await findings(), [], "activity within scope gave a finding");
    assert.ok((op?.auditSink?.stats().accepted ?? 0) > 0, "the sink received no event at all");

    // 2. Out of scope (allowed by the Role, not declared by the NHI).
    let t0 = Date.now();
    await c.kube.must("GET", `/api/v1/namespaces/${ns()}/secrets`, { as: { token }, headers: APP });
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
    writeFileSync(
      kubeconfig,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: "c",
            cluster: {
              server: plane.apiServerUrl,
              "certificate-authority": join(plane.dataDir, "pki", "ca.crt"),
            },
          },
        ],
        users: [{ name: "u", user: { token: token.reveal() } }],
        contexts: [{ name: "c", context: { cluster: "c", user: "u", namespace: ns() } }],
        "current-context": "c",
      }),
      { mode: 0o600 },
    );
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
});

// The response to runtime detection on the real plane: the API server's audit webhook reaches the
// operator's sink, which runs here with the leader's reconcilers. An NHI with onAnomaly high: Suspend
// has its pod's token used by kubectl from elsewhere: the finding lands on the NHI
// (BehaviourAnomalous, status.anomalies, a PolicyReport result), the NHI is suspended, and the same
// token — still a valid JWT — gets 403 from the real API server within seconds, because the
// ServiceAccount's subject was parked out of its RoleBinding. Setting spec.suspended back to false
// restores the binding and the token works again. With onAnomaly high: Rotate, a replayed pod token
// dies with its pod (deleted, re-created by its ReplicaSet) and a replayed legacy token with its
// Secret (replaced by a successor its consumer is switched to first, then deleted).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { RunningOperator } from "../../operator/main.js";
import { CONTROLLER_DEFAULTS } from "../../operator/reconcilers.js";
import type { NonHumanIdentity } from "../../core/nhi/types.js";
import type { ControlPlane } from "../harness/controlplane.js";
import { sharedCluster, skipUnlessLocalApiServer, useNamespace } from "../harness/mocha.js";
import type { Token } from "../harness/kube.js";
import { waitFor } from "../harness/wait.js";
import { declareIdentity, podBoundToken, startAuditOperator } from "./audit-helpers.js";
import {
  getSecret,
  installPolicyReportCrd,
  tokenOf,
  type SecretObject,
} from "./reconcilers-helpers.js";

const run = promisify(execFile);
/** The pod's address: another loopback address, from which its requests really come (see RequestOpts.localAddress). */
const POD_IP = "127.0.0.21";
/** A request from the pod: its client's user agent, from its address. */
const FROM_POD = {
  headers: { "User-Agent": "billing/v1.4.0 (linux/amd64) kubernetes/abc1234" },
  localAddress: POD_IP,
};
const PARKED = "nhi.io/parked-subjects";

interface EventItem {
  reason?: string;
  message?: string;
  type?: string;
}
interface Binding {
  metadata: { annotations?: Record<string, string> };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

describe("audit response: onAnomaly Suspend on the real API server", function () {
  this.timeout(240_000);
  const ns = useNamespace("audit-response");
  let op: RunningOperator | undefined;
  let certDir = "";

  before(async function () {
    const c = sharedCluster();
    skipUnlessLocalApiServer(this, c);
    const sink = c.auditSink;
    if (!sink) this.skip();
    await installPolicyReportCrd();
    certDir = mkdtempSync(join(tmpdir(), "nhi-audit-response-e2e-"));
    op = await startAuditOperator({
      certDir,
      controllers: {
        ...CONTROLLER_DEFAULTS,
        leaseName: `nhi-audit-response-${process.pid}`,
        leaseNamespace: "default",
        // A replaced legacy token is deleted this long after its consumers were switched.
        tokenOverlapMs: 2_000,
      },
    });
  });

  after(async function () {
    await op?.close();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  const nhiOf = (): Promise<NonHumanIdentity> =>
    sharedCluster().kube.must<NonHumanIdentity>(
      "GET",
      `/apis/nhi.io/v1alpha1/namespaces/${ns()}/nonhumanidentities/billing`,
    );
  const bindingOf = (): Promise<Binding> =>
    sharedCluster().kube.must<Binding>(
      "GET",
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns()}/rolebindings/billing`,
    );
  const events = async (): Promise<EventItem[]> =>
    (
      await sharedCluster().kube.must<{ items: EventItem[] }>(
        "GET",
        `/api/v1/namespaces/${ns()}/events`,
      )
    ).items;

  /** A kubeconfig holding the token, and `kubectl get configmaps settings` with it (async: the operator runs in this process). */
  function stolenKubeconfig(token: Token): {
    kubeconfig: string;
    kubectl(): Promise<{ ok: boolean; stderr: string }>;
  } {
    const c = sharedCluster();
    const plane = c as ControlPlane;
    const kubeconfig = join(certDir, `stolen-${ns()}.kubeconfig`);
    plane.writeTokenKubeconfig(kubeconfig, token, ns());
    const kubectl = async (): Promise<{ ok: boolean; stderr: string }> => {
      try {
        await run(c.kubectlPath, ["--kubeconfig", kubeconfig, "get", "configmaps", "settings"], {
          timeout: 30_000,
        });
        return { ok: true, stderr: "" };
      } catch (e) {
        return { ok: false, stderr: String((e as { stderr?: unknown }).stderr ?? e) };
      }
    };
    return { kubeconfig, kubectl };
  }

  /** The identity billing (its ServiceAccount, Role, RoleBinding, NHI plus `spec`, a ConfigMap). */
  const declare = (spec: Record<string, unknown>): Promise<void> =>
    declareIdentity(ns(), "billing", {
      granted: ["configmaps"],
      purpose: "Reads the billing settings",
      spec,
    });

  /** Gives the pod its IP (no kubelet on the plane) and mints a token bound to it. */
  const podToken = (name: string, uid: string): Promise<Token> => {
    if (!op) throw new Error("the operator is not running");
    return podBoundToken(op, ns(), "billing", { name, uid }, POD_IP);
  };

  it("suspends the identity: its replayed token gets 403 within seconds; lifting the suspension restores access", async function () {
    const c = sharedCluster();
    await declare({ onAnomaly: { high: "Suspend" } });
    const pod = await c.kube.must<{ metadata: { uid: string } }>(
      "POST",
      `/api/v1/namespaces/${ns()}/pods`,
      {
        body: {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "billing-0", namespace: ns() },
          spec: {
            serviceAccountName: "billing",
            containers: [{ name: "billing", image: "registry.example/billing:1.4.0" }],
          },
        },
      },
    );
    const token = await podToken("billing-0", pod.metadata.uid);

    // Within scope, from its pod: works, no finding, not suspended.
    await c.kube.must("GET", `/api/v1/namespaces/${ns()}/configmaps/settings`, {
      as: { token },
      ...FROM_POD,
    });

    // The pod's token in kubectl, from another address.
    const { kubeconfig, kubectl } = stolenKubeconfig(token);
    try {
      const first = await kubectl();
      assert.ok(first.ok, `the replayed token's first use failed: ${first.stderr}`);
      const t0 = Date.now();
      let denied = "";
      await waitFor(
        "the replayed token to be refused by the API server",
        async () => {
          const k = await kubectl();
          if (!k.ok) denied = k.stderr;
          return !k.ok;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      const refusedMs = Date.now() - t0;
      assert.match(denied, /Forbidden|forbidden/, denied);

      // The NHI shows the finding, the condition and the suspension; the binding records the parked subject.
      const nhi = await nhiOf();
      assert.equal(nhi.spec.suspended, true);
      const cond = await waitFor(
        "BehaviourAnomalous True on the NHI, naming the response",
        async () =>
          (await nhiOf()).status?.conditions?.find(
            (x) =>
              x.type === "BehaviourAnomalous" &&
              x.status === "True" &&
              x.message.includes("Response: Suspend"),
          ),
        { timeoutMs: 30_000 },
      );
      assert.match(cond.reason, /^(HumanClient|TokenOffPod)$/);
      assert.match(cond.message, /from 127\.0\.0\.1/);
      await waitFor(
        "the token-off-pod finding answered with Suspend",
        async () =>
          (await nhiOf()).status?.anomalies?.some(
            (a) => a.rule === "token-off-pod" && a.response?.action === "Suspend",
          ),
        { timeoutMs: 30_000 },
      );
      const binding = await bindingOf();
      assert.deepEqual(binding.subjects ?? [], []);
      assert.match(binding.metadata.annotations?.[PARKED] ?? "", /"name":"billing"/);
      const ev = await events();
      assert.ok(
        ev.some((e) => e.reason === "AnomalySuspended" && /token-off-pod/.test(e.message ?? "")),
      );
      assert.ok(ev.some((e) => e.reason === "Quarantined" && /RoleBinding/.test(e.message ?? "")));
      const report = await waitFor(
        "a PolicyReport result of policy nhi-runtime",
        async () => {
          const rep = await c.kube.request<{
            results?: { policy: string; rule: string; result: string }[];
          }>("GET", `/apis/wgpolicyk8s.io/v1alpha2/namespaces/${ns()}/policyreports/nhi-operator`);
          return rep.status === 200 &&
            rep.body.results?.some((x) => x.policy === "nhi-runtime" && x.rule === "token-off-pod")
            ? rep.body
            : undefined;
        },
        { timeoutMs: 30_000 },
      );
      for (const text of [
        JSON.stringify(await nhiOf()),
        JSON.stringify(ev),
        JSON.stringify(report),
      ])
        assert.ok(!text.includes(token.reveal()), "a token was written");

      // The owner lifts the suspension: the subject is back and the same token works again.
      await c.kube.must(
        "PATCH",
        `/apis/nhi.io/v1alpha1/namespaces/${ns()}/nonhumanidentities/billing`,
        {
          contentType: "application/merge-patch+json",
          body: { spec: { suspended: false } },
        },
      );
      await waitFor("the token to work again", async () => (await kubectl()).ok, {
        timeoutMs: 60_000,
        intervalMs: 500,
      });
      const restored = await bindingOf();
      assert.deepEqual(restored.subjects, [
        { kind: "ServiceAccount", name: "billing", namespace: ns() },
      ]);
      assert.equal(restored.metadata.annotations?.[PARKED], undefined);
      // Answered findings are not answered again: the identity stays unsuspended.
      await new Promise((res) => setTimeout(res, 3_000));
      assert.notEqual((await nhiOf()).spec.suspended, true);
      process.stderr.write(`      (replayed token refused ${refusedMs} ms after its first use)\n`);
    } finally {
      rmSync(kubeconfig, { force: true });
    }
  });

  it("rotates: the replayed pod token stops working (401) once its pod is deleted and re-created by its ReplicaSet, and the declared token credential is re-issued", async function () {
    const c = sharedCluster();
    await declare({
      onAnomaly: { high: "Rotate" },
      credentials: [
        { name: "api", type: "ServiceAccountToken", secretName: "billing-token", ttl: "1h" },
      ],
    });
    const generation = async (): Promise<number> => {
      const sec = await c.kube.request<{ metadata: { annotations?: Record<string, string> } }>(
        "GET",
        `/api/v1/namespaces/${ns()}/secrets/billing-token`,
      );
      return sec.status === 200
        ? Number(sec.body.metadata.annotations?.["nhi.io/generation"] ?? 0)
        : 0;
    };
    await waitFor("the token credential's first issue", async () => (await generation()) >= 1, {
      timeoutMs: 60_000,
    });
    const issued = await generation();
    await c.kube.must("POST", `/apis/apps/v1/namespaces/${ns()}/replicasets`, {
      body: {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        metadata: { name: "billing", namespace: ns() },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "billing" } },
          template: {
            metadata: { labels: { app: "billing" } },
            spec: {
              serviceAccountName: "billing",
              containers: [{ name: "billing", image: "registry.example/billing:1.4.0" }],
            },
          },
        },
      },
    });
    const pods = async (): Promise<{ metadata: { name: string; uid: string } }[]> =>
      (
        await c.kube.must<{ items: { metadata: { name: string; uid: string } }[] }>(
          "GET",
          `/api/v1/namespaces/${ns()}/pods`,
          { query: { labelSelector: "app=billing" } },
        )
      ).items;
    const first = await waitFor("the ReplicaSet's pod", async () => (await pods())[0], {
      timeoutMs: 60_000,
    });
    const token = await podToken(first.metadata.name, first.metadata.uid);
    const { kubeconfig, kubectl } = stolenKubeconfig(token);
    try {
      const use = await kubectl();
      assert.ok(use.ok, `the replayed token's first use failed: ${use.stderr}`);
      const t0 = Date.now();
      let refused = "";
      await waitFor(
        "the replayed token to be refused",
        async () => {
          const k = await kubectl();
          if (!k.ok) refused = k.stderr;
          return !k.ok;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      const refusedMs = Date.now() - t0;
      assert.match(refused, /Unauthorized|must be logged in/, refused);
      await waitFor(
        "the ReplicaSet's new pod",
        async () => {
          const now = await pods();
          return now.length > 0 && now.every((p) => p.metadata.uid !== first.metadata.uid);
        },
        { timeoutMs: 60_000 },
      );
      let seen = "";
      await waitFor(
        "the credential re-issued",
        async () => {
          const sec = await c.kube.request<{ metadata: { annotations?: Record<string, string> } }>(
            "GET",
            `/api/v1/namespaces/${ns()}/secrets/billing-token`,
          );
          seen = JSON.stringify({
            annotations: sec.body.metadata?.annotations,
            events: (await events()).map((e) => `${e.reason ?? ""}: ${e.message ?? ""}`),
          });
          return (await generation()) > issued;
        },
        { timeoutMs: 90_000, describe: () => seen.slice(0, 4000) },
      );
      const nhi = await nhiOf();
      assert.notEqual(nhi.spec.suspended, true);
      assert.ok(
        nhi.status?.anomalies?.some(
          (a) => a.rule === "token-off-pod" && a.response?.action === "Rotate",
        ),
        JSON.stringify(nhi.status?.anomalies),
      );
      const ev = await events();
      assert.ok(
        ev.some(
          (e) =>
            e.reason === "AnomalyRotated" &&
            (e.message ?? "").includes(`deleted pod ${ns()}/${first.metadata.name}`),
        ),
        JSON.stringify(ev.map((e) => [e.reason, e.message])),
      );
      assert.ok(!JSON.stringify([nhi, ev]).includes(token.reveal()), "a token was written");
      process.stderr.write(
        `      (replayed pod token refused ${refusedMs} ms after its first use)\n`,
      );
    } finally {
      rmSync(kubeconfig, { force: true });
    }
  });

  it("rotates a replayed legacy token: a successor is filled and its consumer switched to it, then the replayed token gets 401", async function () {
    const c = sharedCluster();
    await declare({ onAnomaly: { high: "Rotate" }, legacyTokens: "Allow" });
    const secret = async (name: string): Promise<SecretObject | undefined> => getSecret(ns(), name);
    await c.kube.must("POST", `/api/v1/namespaces/${ns()}/secrets`, {
      body: {
        apiVersion: "v1",
        kind: "Secret",
        type: "kubernetes.io/service-account-token",
        metadata: {
          name: "billing-legacy",
          annotations: { "kubernetes.io/service-account.name": "billing" },
        },
      },
    });
    const old = await waitFor(
      "the token controller to fill the legacy Secret",
      async () => tokenOf(await secret("billing-legacy")),
      { timeoutMs: 30_000 },
    );
    // Its consumer. Recreate: without a kubelet no pod becomes Ready, a surge rollout would stall.
    await c.kube.must("POST", `/apis/apps/v1/namespaces/${ns()}/deployments`, {
      body: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "billing", namespace: ns() },
        spec: {
          replicas: 1,
          strategy: { type: "Recreate" },
          selector: { matchLabels: { app: "billing" } },
          template: {
            metadata: { labels: { app: "billing" } },
            spec: {
              serviceAccountName: "billing",
              automountServiceAccountToken: false,
              containers: [
                {
                  name: "billing",
                  image: "registry.example/billing:1.4.0",
                  env: [
                    {
                      name: "KUBE_TOKEN",
                      valueFrom: { secretKeyRef: { name: "billing-legacy", key: "token" } },
                    },
                  ],
                },
              ],
            },
          },
        },
      },
    });
    const consumedBy = async (): Promise<string | undefined> =>
      (
        await c.kube.must<{
          spec: {
            template: {
              spec: {
                containers: { env?: { valueFrom?: { secretKeyRef?: { name?: string } } }[] }[];
              };
            };
          };
        }>("GET", `/apis/apps/v1/namespaces/${ns()}/deployments/billing`)
      ).spec.template.spec.containers[0]?.env?.[0]?.valueFrom?.secretKeyRef?.name;

    const { kubeconfig, kubectl } = stolenKubeconfig(old);
    try {
      const use = await kubectl();
      assert.ok(use.ok, `the replayed legacy token's first use failed: ${use.stderr}`);
      const t0 = Date.now();
      let refused = "";
      let seen = "";
      await waitFor(
        "the replayed legacy token to be refused",
        async () => {
          const k = await kubectl();
          if (!k.ok) refused = k.stderr;
          else
            seen = JSON.stringify({
              anomalies: (await nhiOf()).status?.anomalies?.map((a) => [a.rule, a.response]),
              events: (await events()).map((e) => `${e.reason ?? ""}: ${e.message ?? ""}`),
            });
          return !k.ok;
        },
        { timeoutMs: 120_000, intervalMs: 1_000, describe: () => seen.slice(0, 4000) },
      );
      const refusedMs = Date.now() - t0;
      // 401, not 403: the token is revoked (its Secret deleted), not merely refused by RBAC.
      assert.match(refused, /Unauthorized|must be logged in/, refused);
      assert.equal(await secret("billing-legacy"), undefined, "the replayed Secret still exists");

      // The consumer holds a valid successor: switched before the old Secret was deleted.
      const successorName = await consumedBy();
      assert.equal(successorName, "billing-legacy-nhi-r1");
      const successor = tokenOf(await secret(successorName ?? ""));
      assert.ok(successor, "the successor holds no token");
      const review = await c.kube.request(
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        {
          body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
          as: { token: successor },
          ...FROM_POD,
        },
      );
      assert.equal(review.status, 201, "the successor token does not authenticate");

      const nhi = await nhiOf();
      assert.notEqual(nhi.spec.suspended, true);
      const answered = nhi.status?.anomalies?.find(
        (a) => a.rule === "human-client" && a.response?.action === "Rotate",
      );
      assert.ok(answered, JSON.stringify(nhi.status?.anomalies));
      assert.match(
        answered.response?.message ?? "",
        new RegExp(`replacing legacy token Secret ${ns()}/billing-legacy`),
      );
      const ev = await events();
      const reasons = ev.map((e) => e.reason);
      for (const r of ["AnomalyRotated", "LegacyRotationStarted", "LegacyTokenRevoked"])
        assert.ok(reasons.includes(r), `no ${r} event in ${reasons.join(",")}`);
      const text = JSON.stringify([nhi, ev]);
      for (const t of [old, successor])
        assert.ok(!text.includes(t.reveal().slice(0, 24)), "a token was written");
      process.stderr.write(
        `      (replayed legacy token refused (401) ${refusedMs} ms after its first use)\n`,
      );
    } finally {
      rmSync(kubeconfig, { force: true });
    }
  });
});

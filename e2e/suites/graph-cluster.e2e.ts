// Transitive escalation on a real kube-apiserver (issue 12): a namespace holds a powerful
// ServiceAccount (cluster-admin); a RoleBinding letting another identity create pods there opens a
// 2-hop path to cluster-admin. The webhook, registered with the project's real configuration, warns
// with the path (NHIPolicy default, Audit) and denies under `transitiveEscalation: Enforce`; `nhictl
// graph --cluster --from` draws the same path, hop by hop.
import assert from "node:assert/strict";
import type { RunningOperator } from "../../operator/main.js";
import type { Cluster } from "../harness/cluster.js";
import type { KubeObject } from "../harness/kube.js";
import { sharedCluster, skipUnlessLocalApiServer } from "../harness/mocha.js";
import { runNhictl } from "../harness/nhictl.js";
import { waitFor } from "../harness/wait.js";
import { startRegisteredWebhook, type RegisteredWebhook } from "./webhook-helpers.js";

const CONFIG_NAME = "nhi-operator-graph-e2e";
const RBAC = "rbac.authorization.k8s.io";

let op: RunningOperator;
let webhook: RegisteredWebhook | undefined;
const cluster = (): Cluster => sharedCluster();

async function must(obj: KubeObject): Promise<void> {
  const v = await cluster().kube.apply(obj);
  assert.ok(v.allowed, `apply ${obj.kind} ${obj.metadata.name ?? ""}: ${v.code} ${v.message}`);
}

describe("transitive escalation (identity graph) on a real kube-apiserver", function () {
  const suffix = Math.random().toString(36).slice(2, 7);
  const adminBinding = `graph-e2e-powerful-${suffix}`;
  const risingBinding = `graph-e2e-rising-${suffix}`;
  const policyName = `graph-e2e-enforce-${suffix}`;
  const overrideName = `graph-e2e-override-${suffix}`;
  let vault = "";
  let ci = "";
  let rev = "";
  const launcher = (name: string): KubeObject => ({
    apiVersion: `${RBAC}/v1`,
    kind: "RoleBinding",
    metadata: { name, namespace: vault },
    roleRef: { apiGroup: RBAC, kind: "Role", name: "pod-launcher" },
    subjects: [{ kind: "ServiceAccount", name: "deployer", namespace: ci }],
  });

  before(async function () {
    this.timeout(180_000);
    skipUnlessLocalApiServer(this); // the API server must reach the webhook on 127.0.0.1
    webhook = await startRegisteredWebhook(CONFIG_NAME);
    op = webhook.op;
    vault = await cluster().createNamespace("graph-vault");
    ci = await cluster().createNamespace("graph-ci");
    rev = await cluster().createNamespace("graph-rev");
    for (const [ns, name] of [
      [vault, "powerful"],
      [ci, "deployer"],
      [ci, "builder"],
      [ci, "tester"],
      [rev, "rising"],
    ] as const)
      await must({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: ns } });
    // The powerful account: cluster-admin. The webhook denies that binding (wildcard-all-cluster)
    // unless an NHIPolicy exemption names the account, as a cluster's own admin account would be.
    await must({
      apiVersion: "nhi.io/v1alpha1",
      kind: "NHIPolicy",
      metadata: { name: `graph-e2e-exempt-${suffix}` },
      spec: {
        exemptions: [
          {
            serviceAccounts: [`${vault}/powerful`, `${rev}/rising`],
            rules: ["wildcard-all-cluster"],
            reason: "graph e2e: the powerful account of the vault namespace",
          },
        ],
      },
    });
    await waitFor(
      "the cache to resolve the exemption",
      () => op.cache.policyAt(new Date()).sources.includes(`graph-e2e-exempt-${suffix}`),
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    await must({
      apiVersion: `${RBAC}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name: adminBinding },
      roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "ServiceAccount", name: "powerful", namespace: vault }],
    });
    await must({
      apiVersion: `${RBAC}/v1`,
      kind: "Role",
      metadata: { name: "pod-launcher", namespace: vault },
      rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["create"] }],
    });
    await waitFor(
      "the cache to see the powerful account and the Role",
      () =>
        op.cache.index.grantsOf({ namespace: vault, name: "powerful" }).length > 0 &&
        op.cache.index.rulesOf({ kind: "Role", namespace: vault, name: "pod-launcher" }) !==
          undefined &&
        op.cache.serviceAccount(ci, "deployer") !== undefined,
      { timeoutMs: 15_000, intervalMs: 50 },
    );
  });

  after(async function () {
    this.timeout(180_000);
    await webhook?.close();
    for (const b of [adminBinding, risingBinding])
      await cluster().kube.delete(`${RBAC}/v1`, "ClusterRoleBinding", b);
    for (const p of [`graph-e2e-exempt-${suffix}`, policyName, overrideName])
      await cluster().kube.delete("nhi.io/v1alpha1", "NHIPolicy", p);
    if (vault) await cluster().deleteNamespace(vault);
    if (ci) await cluster().deleteNamespace(ci);
    if (rev) await cluster().deleteNamespace(rev);
  });

  const path = (): string =>
    `${ci}/deployer —create pods in namespace ${vault}→ ${vault}/powerful —every verb on every resource in every API group, cluster-wide→ cluster-admin (2 hops)`;

  it("denies the binding that opens the path when the NHIPolicy says transitiveEscalation: Enforce, naming the path", async function () {
    this.timeout(60_000);
    await must({
      apiVersion: "nhi.io/v1alpha1",
      kind: "NHIPolicy",
      metadata: { name: policyName },
      spec: { transitiveEscalation: "Enforce" },
    });
    await waitFor(
      "the cache to resolve transitiveEscalation: Enforce",
      () => op.cache.policyAt(new Date()).transitiveEscalation === "Enforce",
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    try {
      const v = await cluster().kube.apply(launcher(`launch-enforced-${suffix}`));
      assert.equal(v.allowed, false, `expected a denial, got ${v.code}`);
      assert.equal(v.code, 403, v.message);
      assert.ok(v.message.includes("[transitive-escalation]"), v.message);
      assert.ok(v.message.includes(path()), v.message);
    } finally {
      await cluster().kube.delete("nhi.io/v1alpha1", "NHIPolicy", policyName);
      await waitFor(
        "the cache to drop the Enforce policy",
        () => op.cache.policyAt(new Date()).transitiveEscalation === "Audit",
        { timeoutMs: 10_000, intervalMs: 50 },
      );
    }
  });

  it("warns with the path by default, and the binding is created", async function () {
    this.timeout(60_000);
    const v = await cluster().kube.apply(launcher(`launch-${suffix}`));
    assert.equal(v.allowed, true, `${v.code} ${v.message}`);
    // Warnings travel as HTTP Warning headers: UTF-8 bytes, which node's HTTP client reads as latin1.
    const warnings = v.warnings.map((w) => Buffer.from(w, "latin1").toString("utf8"));
    const warning = warnings.find((w) => w.includes("[transitive-escalation]"));
    assert.ok(warning, `no transitive-escalation warning among: ${warnings.join(" | ")}`);
    assert.ok(warning.includes(path()), warning);
    // The cache's graph follows the new binding: the same write again opens nothing new.
    await waitFor(
      "the graph to follow the binding",
      () =>
        op.cache
          .identityGraph()
          .capabilities(`sa:${ci}/deployer`)
          .some((c) => c.kind === "pod-create"),
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    const again = await cluster().kube.apply(launcher(`launch-again-${suffix}`));
    assert.equal(again.allowed, true, again.message);
    assert.ok(
      !again.warnings.some((w) => w.includes("[transitive-escalation]")),
      again.warnings.join(" | "),
    );
  });

  it("nhictl graph --cluster --from draws the same path, hop by hop", async function () {
    this.timeout(60_000);
    const env = { KUBECONFIG: cluster().kubeconfigPath, HOME: "/nonexistent" };
    const run = await runNhictl(
      ["graph", "--cluster", "--from", `${ci}/deployer`, "--to", "cluster-admin"],
      { env },
    );
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split("\n").map((l) => l.trim());
    assert.ok(lines[0]?.startsWith(`${ci}/deployer [critical]:`), run.stdout);
    assert.ok(lines[0]?.includes("cluster-admin in 2 hops"), run.stdout);
    const hops = lines.filter((l) => l.includes("—") && l.includes("→"));
    assert.deepEqual(hops, [
      `${ci}/deployer —create pods in namespace ${vault}→ ${vault}/powerful`,
      `${vault}/powerful —every verb on every resource in every API group, cluster-wide→ cluster-admin`,
    ]);
  });

  it("warns of the path a binding opens for an identity that already reaches the account it makes cluster-admin", async function () {
    this.timeout(60_000);
    // ci/builder may create pods in the rev namespace, where rising holds nothing yet: allowed, no path.
    await must({
      apiVersion: `${RBAC}/v1`,
      kind: "Role",
      metadata: { name: "pod-launcher", namespace: rev },
      rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["create"] }],
    });
    await must({
      apiVersion: `${RBAC}/v1`,
      kind: "RoleBinding",
      metadata: { name: "builder-launch", namespace: rev },
      roleRef: { apiGroup: RBAC, kind: "Role", name: "pod-launcher" },
      subjects: [{ kind: "ServiceAccount", name: "builder", namespace: ci }],
    });
    await waitFor(
      "the graph to follow the builder's binding",
      () =>
        op.cache
          .identityGraph()
          .capabilities(`sa:${ci}/builder`)
          .some((c) => c.kind === "pod-create" && c.namespace === rev),
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    // Making rising cluster-admin opens ci/builder's path: the write changes rising's grants only.
    const v = await cluster().kube.apply({
      apiVersion: `${RBAC}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name: risingBinding },
      roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "ServiceAccount", name: "rising", namespace: rev }],
    });
    assert.equal(v.allowed, true, `${v.code} ${v.message}`);
    const warnings = v.warnings.map((w) => Buffer.from(w, "latin1").toString("utf8"));
    const warning = warnings.find(
      (w) => w.includes("[transitive-escalation]") && w.includes(`${ci}/builder`),
    );
    assert.ok(
      warning,
      `no transitive-escalation warning for ${ci}/builder among: ${warnings.join(" | ")}`,
    );
    assert.ok(
      warning.includes(
        `${ci}/builder —create pods in namespace ${rev}→ ${rev}/rising —every verb on every resource in every API group, cluster-wide→ cluster-admin (2 hops)`,
      ),
      warning,
    );
  });

  it("denies under a per-namespace override (transitiveEscalation: Enforce for the path's first namespace) while the cluster-wide setting is Audit", async function () {
    this.timeout(60_000);
    // The API server accepts an override that sets only transitiveEscalation (the CRD's CEL rule).
    await must({
      apiVersion: "nhi.io/v1alpha1",
      kind: "NHIPolicy",
      metadata: { name: overrideName },
      spec: {
        overrides: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ci } },
            transitiveEscalation: "Enforce",
          },
        ],
      },
    });
    await waitFor(
      "the cache to resolve the override",
      () => op.cache.policyAt(new Date()).sources.includes(overrideName),
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    try {
      assert.equal(op.cache.policyAt(new Date()).transitiveEscalation, "Audit");
      const v = await cluster().kube.apply({
        apiVersion: `${RBAC}/v1`,
        kind: "RoleBinding",
        metadata: { name: `launch-tester-${suffix}`, namespace: vault },
        roleRef: { apiGroup: RBAC, kind: "Role", name: "pod-launcher" },
        subjects: [{ kind: "ServiceAccount", name: "tester", namespace: ci }],
      });
      assert.equal(v.allowed, false, `expected a denial, got ${v.code}`);
      assert.ok(v.message.includes("[transitive-escalation]"), v.message);
      assert.ok(v.message.includes(`${ci}/tester —create pods in namespace ${vault}→`), v.message);
    } finally {
      await cluster().kube.delete("nhi.io/v1alpha1", "NHIPolicy", overrideName);
    }
  });
});

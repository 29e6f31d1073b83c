// Group subjects on a real kube-apiserver (issue 9, defect 1). A binding to
// system:serviceaccounts:<ns>, system:serviceaccounts or system:authenticated grants to every
// ServiceAccount in that scope, present and future: the webhook judges the group itself, not only
// the members its cache happens to hold; `nhictl check` judges it with no ServiceAccount in the
// files; `nhictl inventory --cluster` and `nhictl explain --cluster` show what the group holds.
import assert from "node:assert/strict";
import type { Cluster } from "../harness/cluster.js";
import type { KubeObject } from "../harness/kube.js";
import { sharedCluster } from "../harness/mocha.js";
import { runNhictl } from "../harness/nhictl.js";
import { waitFor } from "../harness/wait.js";
import { useRegisteredWebhook } from "./webhook-helpers.js";

const CONFIG_NAME = "nhi-operator-groups-e2e";
const RBAC = "rbac.authorization.k8s.io";

const cluster = (): Cluster => sharedCluster();

const groupSubject = (name: string): Record<string, string> => ({
  kind: "Group",
  apiGroup: RBAC,
  name,
});
const clusterRole = (name: string, rules: unknown[]): KubeObject => ({
  apiVersion: `${RBAC}/v1`,
  kind: "ClusterRole",
  metadata: { name },
  rules,
});
const clusterRoleBinding = (name: string, role: string, group: string): KubeObject => ({
  apiVersion: `${RBAC}/v1`,
  kind: "ClusterRoleBinding",
  metadata: { name },
  roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: role },
  subjects: [groupSubject(group)],
});
const role = (ns: string, name: string, rules: unknown[]): KubeObject => ({
  apiVersion: `${RBAC}/v1`,
  kind: "Role",
  metadata: { name, namespace: ns },
  rules,
});
const roleBinding = (ns: string, name: string, roleName: string, group: string): KubeObject => ({
  apiVersion: `${RBAC}/v1`,
  kind: "RoleBinding",
  metadata: { name, namespace: ns },
  roleRef: { apiGroup: RBAC, kind: "Role", name: roleName },
  subjects: [groupSubject(group)],
});
const NODES_PROXY = [{ apiGroups: [""], resources: ["nodes/proxy"], verbs: ["get"] }];
const READ_SECRETS = [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }];

async function must(obj: KubeObject): Promise<void> {
  const v = await cluster().kube.apply(obj);
  assert.ok(v.allowed, `apply ${obj.kind} ${obj.metadata.name ?? ""}: ${v.code} ${v.message}`);
}

const stream = (objects: KubeObject[]): string =>
  objects.map((o) => JSON.stringify(o)).join("\n---\n");

describe("group subjects judged as holders (webhook and nhictl) on a real kube-apiserver", function () {
  const suffix = Math.random().toString(36).slice(2, 7);
  const criticalRole = `groups-e2e-node-debug-${suffix}`;
  const created: KubeObject[] = [];
  let ns = "";

  const webhook = useRegisteredWebhook(CONFIG_NAME);

  before(async function () {
    this.timeout(60_000);
    // A namespace whose only ServiceAccount is the `default` the serviceaccount controller makes.
    ns = await cluster().createNamespace("groups");
    await waitFor(
      `the cache to hold ${ns}/default`,
      () => webhook.op.cache.serviceAccount(ns, "default") !== undefined,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const role = clusterRole(criticalRole, NODES_PROXY);
    await must(role);
    created.push(role);
    await waitFor(
      "the cache to see the ClusterRole",
      () => webhook.op.cache.index.clusterRole(criticalRole) !== undefined,
      { timeoutMs: 10_000, intervalMs: 50 },
    );
  });

  after(async function () {
    this.timeout(60_000);
    for (const o of created.reverse())
      await cluster().kube.delete(
        o.apiVersion,
        o.kind,
        o.metadata.name ?? "",
        o.metadata.namespace,
      );
    if (ns) await cluster().deleteNamespace(ns);
  });

  it("denies a critical ClusterRoleBinding to system:serviceaccounts:<ns> for every ServiceAccount of the namespace (its cache holds only `default`)", async function () {
    const inCache = webhook.op.cache.index
      .serviceAccounts()
      .filter((s) => s.namespace === ns)
      .map((s) => s.name);
    assert.deepEqual(inCache, ["default"]);
    const v = await cluster().kube.apply(
      clusterRoleBinding(`groups-e2e-ns-${suffix}`, criticalRole, `system:serviceaccounts:${ns}`),
    );
    if (v.allowed)
      created.push(
        clusterRoleBinding(`groups-e2e-ns-${suffix}`, criticalRole, `system:serviceaccounts:${ns}`),
      );
    assert.equal(
      v.allowed,
      false,
      "a critical permission for every ServiceAccount of a namespace must be denied",
    );
    assert.match(v.message, /\[nodes-proxy\]/);
    assert.match(
      v.message,
      new RegExp(
        `would give every ServiceAccount in namespace ${ns} \\(group system:serviceaccounts:${ns}\\)`,
      ),
    );
    assert.doesNotMatch(
      v.message,
      new RegExp(`system:serviceaccount:${ns}:default`),
      "the group's finding stands for its members",
    );
  });

  it("denies it for a namespace that has no ServiceAccount yet (future members)", async function () {
    const future = `groups-future-${suffix}`;
    const crb = clusterRoleBinding(
      `groups-e2e-future-${suffix}`,
      criticalRole,
      `system:serviceaccounts:${future}`,
    );
    const v = await cluster().kube.apply(crb);
    if (v.allowed) created.push(crb);
    assert.equal(
      v.allowed,
      false,
      `allowed: no ServiceAccount of ${future} exists, but every future one would hold nodes/proxy`,
    );
    assert.match(
      v.message,
      new RegExp(`\\[nodes-proxy\\].*every ServiceAccount in namespace ${future}`),
    );
  });

  it("denies a critical grant to system:serviceaccounts for every ServiceAccount in the cluster, in one finding", async function () {
    const v = await cluster().kube.apply(
      clusterRoleBinding(`groups-e2e-all-${suffix}`, criticalRole, "system:serviceaccounts"),
      { dryRun: true },
    );
    assert.equal(v.allowed, false);
    assert.match(
      v.message,
      /would give every ServiceAccount in the cluster \(group system:serviceaccounts\)/,
    );
    assert.doesNotMatch(
      v.message,
      /system:serviceaccount:kube-system:/,
      "not once per known account",
    );
  });

  it("warns about a high permission for a group under the day-one default, naming the group; nhictl inventory and explain --cluster show what the group holds", async function () {
    await must(role(ns, "secret-reader", READ_SECRETS));
    await waitFor(
      "the cache to see the Role",
      () =>
        webhook.op.cache.index.rulesOf({ kind: "Role", namespace: ns, name: "secret-reader" }) !==
        undefined,
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    const rb = roleBinding(
      ns,
      "everyone-reads-secrets",
      "secret-reader",
      `system:serviceaccounts:${ns}`,
    );
    const v = await cluster().kube.apply(rb);
    assert.ok(v.allowed, v.message);
    const warning = v.warnings.find((w) => w.includes("[secrets-read]"));
    assert.ok(warning, `warnings: ${JSON.stringify(v.warnings)}`);
    assert.match(
      warning,
      new RegExp(
        `every ServiceAccount in namespace ${ns} \\(group system:serviceaccounts:${ns}\\)`,
      ),
    );
    assert.match(warning, /No NonHumanIdentity can claim a group/);

    const env = { KUBECONFIG: cluster().kubeconfigPath, HOME: "/nonexistent" };
    const inv = await runNhictl(["inventory", "--cluster", "--format", "json"], { env });
    assert.equal(inv.code, 0, inv.stderr);
    const groups = (
      JSON.parse(inv.stdout) as {
        groups: { group: string; members: string; catalogue: { id: string }[] }[];
      }
    ).groups;
    const mine = groups.find((g) => g.group === `system:serviceaccounts:${ns}`);
    assert.ok(mine, `groups: ${JSON.stringify(groups.map((g) => g.group))}`);
    assert.equal(mine.members, `every ServiceAccount in namespace ${ns}`);
    assert.deepEqual(
      mine.catalogue.map((h) => h.id),
      ["secrets-read"],
    );

    const ex = await runNhictl(["explain", `system:serviceaccounts:${ns}`, "--cluster"], { env });
    assert.equal(ex.code, 0, ex.stderr);
    assert.match(
      ex.stdout,
      new RegExp(`^Group system:serviceaccounts:${ns}: every ServiceAccount in namespace ${ns}`),
    );
    assert.match(
      ex.stdout,
      new RegExp(`RoleBinding ${ns}/everyone-reads-secrets → Role ${ns}/secret-reader`),
    );
    assert.match(ex.stdout, /\[high\] secrets-read/);
  });

  it("denies the high permission for the group when an NHIPolicy enforces unclaimedHighPermissions", async function () {
    const policy = `groups-e2e-enforce-${suffix}`;
    await must({
      apiVersion: "nhi.io/v1alpha1",
      kind: "NHIPolicy",
      metadata: { name: policy },
      spec: { unclaimedHighPermissions: "Enforce" },
    });
    try {
      await waitFor(
        "the cache to resolve the NHIPolicy",
        () => webhook.op.cache.policyAt(new Date()).sources.includes(policy),
        { timeoutMs: 10_000, intervalMs: 50 },
      );
      // (The group already holds secrets-read through the previous test's binding: a new permission.)
      await must(
        role(ns, "exec", [{ apiGroups: [""], resources: ["pods/exec"], verbs: ["create"] }]),
      );
      await waitFor(
        "the cache to see the Role",
        () =>
          webhook.op.cache.index.rulesOf({ kind: "Role", namespace: ns, name: "exec" }) !==
          undefined,
        { timeoutMs: 10_000, intervalMs: 50 },
      );
      const v = await cluster().kube.apply(
        roleBinding(ns, "everyone-execs", "exec", `system:serviceaccounts:${ns}`),
        { dryRun: true },
      );
      assert.equal(v.allowed, false, v.message);
      assert.match(
        v.message,
        new RegExp(`\\[pods-exec\\].*every ServiceAccount in namespace ${ns}`),
      );
    } finally {
      await cluster().kube.delete("nhi.io/v1alpha1", "NHIPolicy", policy);
    }
  });

  it("nhictl check over a role and a group binding, with no ServiceAccount in the files, reports the group (exit 1)", async function () {
    const objects = [
      clusterRole("node-debug", NODES_PROXY),
      clusterRoleBinding("node-debug", "node-debug", "system:serviceaccounts:monitoring"),
    ];
    const run = await runNhictl(["check", "-f", "-", "--format", "json"], {
      input: stream(objects),
    });
    assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
    const report = JSON.parse(run.stdout) as {
      violations: { rule: string; identity?: string; message: string }[];
    };
    const f = report.violations.find((x) => x.rule === "nodes-proxy");
    assert.ok(f, JSON.stringify(report.violations));
    assert.equal(f.identity, "group:system:serviceaccounts:monitoring");
    assert.match(f.message, /every ServiceAccount in namespace monitoring/);
  });
});

// Kubernetes' default RBAC objects against a real kube-apiserver (issue 9, defect 6):
// - the generated table (core/rbac/builtin-roles.data.ts) equals what the API server bootstraps,
//   and the aggregated roles the clusterrole-aggregation controller fills equal the index's resolution;
// - nhictl check judges a ServiceAccount bound to a system:controller:* role without the role in
//   the input, and the API server confirms the permission is real (SubjectAccessReview);
// - a binding to a role that exists nowhere is a warning that its permissions are unknown, in
//   nhictl check (offline and --cluster) and in the webhook.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BOOTSTRAP_CLUSTER_ROLE_BINDINGS,
  BOOTSTRAP_CLUSTER_ROLES,
  BOOTSTRAP_ROLE_BINDINGS,
  BOOTSTRAP_ROLES,
} from "../../core/rbac/builtin-roles.data.js";
import { ruleKey } from "../../core/rbac/coverage.js";
import { EffectivePermissionIndex } from "../../core/rbac/effective.js";
import type { ClusterRole, PolicyRule, RbacObject } from "../../core/rbac/types.js";
import {
  listBootstrapRbac,
  normalizeBinding,
  normalizeRole,
  normalizeRule,
} from "../harness/bootstrap-rbac.js";
import type { Cluster } from "../harness/cluster.js";
import type { KubeObject } from "../harness/kube.js";
import { readVersions } from "../harness/binaries.js";
import { sharedCluster, useNamespace } from "../harness/mocha.js";
import { runNhictlCheck, type CheckFinding, type NhictlCheckRun } from "../harness/nhictl.js";
import { waitFor } from "../harness/wait.js";
import { useRegisteredWebhook } from "./webhook-helpers.js";

const cluster = (): Cluster => sharedCluster();
const RBAC = "rbac.authorization.k8s.io";
const GC_ROLE = "system:controller:generic-garbage-collector";

const placeOf = (o: { metadata: { namespace?: string; name: string } }): string =>
  `${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;

/** Objects by namespace/name, for a comparison whose failure names what differs. */
function byPlace<T extends RbacObject>(
  objects: readonly T[],
  normalize: (o: T) => T,
): Map<string, T> {
  return new Map(objects.map((o) => [placeOf(o), normalize(o)]));
}

function sameObjects<T extends RbacObject>(
  what: string,
  live: readonly T[],
  table: readonly T[],
  normalize: (o: T) => T,
): void {
  const l = byPlace(live, normalize);
  const t = byPlace(table, normalize);
  const missing = [...l.keys()].filter((k) => !t.has(k));
  const extra = [...t.keys()].filter((k) => !l.has(k));
  assert.deepEqual(
    { missing, extra },
    { missing: [], extra: [] },
    `${what}: the table lacks ${missing.join(", ") || "nothing"} and has ${extra.join(", ") || "nothing"} the API server does not create; run npm run gen:builtin-roles`,
  );
  for (const [k, obj] of l)
    assert.deepEqual(
      t.get(k),
      obj,
      `${what} ${k} differs from the API server's; run npm run gen:builtin-roles`,
    );
}

const ruleSet = (rules: readonly PolicyRule[] | undefined): string[] =>
  [...new Set((rules ?? []).map((r) => ruleKey(normalizeRule(r))))].sort();

async function must(obj: KubeObject): Promise<void> {
  const v = await cluster().kube.apply(obj);
  assert.ok(v.allowed, `apply ${obj.kind} ${obj.metadata.name ?? ""}: ${v.code} ${v.message}`);
}

/** What the API server's own authorizer says the account may do (SubjectAccessReview). */
async function mayDo(
  ns: string,
  name: string,
  attrs: { verb: string; resource: string; group?: string; namespace?: string },
): Promise<boolean> {
  const r = await cluster().kube.must<{ status?: { allowed?: boolean } }>(
    "POST",
    "/apis/authorization.k8s.io/v1/subjectaccessreviews",
    {
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: `system:serviceaccount:${ns}:${name}`,
          groups: [
            "system:serviceaccounts",
            `system:serviceaccounts:${ns}`,
            "system:authenticated",
          ],
          resourceAttributes: {
            verb: attrs.verb,
            resource: attrs.resource,
            group: attrs.group ?? "",
            ...(attrs.namespace ? { namespace: attrs.namespace } : {}),
          },
        },
      },
    },
  );
  return r.status?.allowed === true;
}

const crb = (name: string, roleName: string, ns: string, sa: string): KubeObject => ({
  apiVersion: `${RBAC}/v1`,
  kind: "ClusterRoleBinding",
  metadata: { name },
  roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: roleName },
  subjects: [{ kind: "ServiceAccount", name: sa, namespace: ns }],
});
const rb = (
  ns: string,
  name: string,
  roleKind: "Role" | "ClusterRole",
  roleName: string,
  sa: string,
): KubeObject => ({
  apiVersion: `${RBAC}/v1`,
  kind: "RoleBinding",
  metadata: { name, namespace: ns },
  roleRef: { apiGroup: RBAC, kind: roleKind, name: roleName },
  subjects: [{ kind: "ServiceAccount", name: sa, namespace: ns }],
});
const yaml = (...objects: KubeObject[]): string =>
  objects.map((o) => JSON.stringify(o)).join("\n---\n");

describe("Kubernetes' default RBAC objects: the generated table against a real kube-apiserver", function () {
  before(async function () {
    // The table is the pinned version's (e2e/versions.env); another cluster's defaults differ by design.
    const version = await cluster().kube.must<{ gitVersion?: string }>("GET", "/version");
    if (version.gitVersion !== readVersions().KUBE_VERSION) this.skip();
  });

  it("has exactly the ClusterRoles, ClusterRoleBindings, Roles and RoleBindings the API server bootstraps, with their exact rules", async function () {
    const live = await listBootstrapRbac(cluster().kube);
    assert.ok(
      live.clusterRoles.some((r) => r.metadata.name === GC_ROLE),
      "the API server bootstraps system:controller:* roles",
    );
    sameObjects("ClusterRole", live.clusterRoles, BOOTSTRAP_CLUSTER_ROLES, normalizeRole);
    sameObjects(
      "ClusterRoleBinding",
      live.clusterRoleBindings,
      BOOTSTRAP_CLUSTER_ROLE_BINDINGS,
      normalizeBinding,
    );
    sameObjects("Role", live.roles, BOOTSTRAP_ROLES, normalizeRole);
    sameObjects("RoleBinding", live.roleBindings, BOOTSTRAP_ROLE_BINDINGS, normalizeBinding);
  });

  it("resolves the aggregated roles (admin, edit, view, …) to what the clusterrole-aggregation controller fills in", async function () {
    this.timeout(60_000);
    if (!cluster().hasControllers) this.skip(); // needs kube-controller-manager (see README: KUBEBUILDER_ASSETS)
    const aggregating = BOOTSTRAP_CLUSTER_ROLES.filter((r) => r.aggregationRule !== undefined).map(
      (r) => r.metadata.name,
    );
    assert.ok(
      aggregating.includes("admin") && aggregating.includes("view"),
      `aggregating roles in the table: ${aggregating.join(", ")}`,
    );
    const listAll = async (): Promise<ClusterRole[]> =>
      (
        (
          await cluster().kube.must<{ items?: ClusterRole[] }>(
            "GET",
            `/apis/${RBAC}/v1/clusterroles`,
          )
        ).items ?? []
      ).map((r) => ({ ...r, kind: "ClusterRole" as const }));
    /** Per aggregating role, the live rules and the index's resolution of the table plus whatever else in the cluster feeds it (CRD roles labelled aggregate-to-*). */
    const compare = async (): Promise<{ name: string; live: string[]; resolved: string[] }[]> => {
      const live = await listAll();
      const index = new EffectivePermissionIndex();
      index.upsertAll(
        live.filter((r) => r.metadata.labels?.["kubernetes.io/bootstrapping"] !== "rbac-defaults"),
      );
      return aggregating.map((name) => ({
        name,
        live: ruleSet(live.find((r) => r.metadata.name === name)?.rules),
        resolved: ruleSet(index.rulesOf({ kind: "ClusterRole", name })),
      }));
    };
    // The controller fills one level per sync (admin takes edit's rules as they are then) and
    // re-syncs every aggregating role on any ClusterRole change, so wait until it has converged.
    const differing = (rows: Awaited<ReturnType<typeof compare>>): string[] =>
      rows.filter((r) => JSON.stringify(r.live) !== JSON.stringify(r.resolved)).map((r) => r.name);
    try {
      await waitFor(
        "the clusterrole-aggregation controller (kube-controller-manager) to fill the aggregating ClusterRoles as the index resolves them",
        async () => differing(await compare()).length === 0,
        { timeoutMs: 45_000, intervalMs: 500 },
      );
    } catch (err) {
      const rows = await compare();
      for (const r of rows)
        assert.deepEqual(
          r.resolved,
          r.live,
          `ClusterRole ${r.name}: the index's aggregation (actual) against the live role (expected); differing: ${differing(rows).join(", ")}`,
        );
      throw err;
    }
  });
});

describe("nhictl check on Kubernetes' controller roles and on roles defined nowhere (real kube-apiserver)", function () {
  const ns = useNamespace("builtin-roles");
  let dir = "";
  const cleanup: string[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "nhictl-builtin-roles-e2e-"));
  });
  afterEach(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    for (const name of cleanup.splice(0))
      await cluster().kube.delete(`${RBAC}/v1`, "ClusterRoleBinding", name);
  });

  it("reports a ServiceAccount bound to system:controller:generic-garbage-collector, whose power the API server confirms", async function () {
    const name = `${ns()}-gc`;
    const manifest = join(dir, "gc.yaml");
    const sa: KubeObject = {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "cleaner", namespace: ns() },
    };
    const binding = crb(name, GC_ROLE, ns(), "cleaner");
    writeFileSync(manifest, yaml(sa, binding));

    const r = await runNhictlCheck(["check", manifest, "--format", "json"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const identity = `system:serviceaccount:${ns()}:cleaner`;
    const found = r.violations
      .filter((v) => v.identity === identity && v.name === name)
      .map((v) => v.rule);
    assert.ok(found.includes("secrets-read-cluster"), `findings: ${found.join(", ")}\n${r.stdout}`);
    assert.ok(found.includes("wildcard-rule"), `findings: ${found.join(", ")}`);

    // The finding is true of a real cluster: bound the same way, the account reads every Secret and deletes any Deployment.
    await must(sa);
    cleanup.push(name);
    await must(binding);
    assert.equal(
      await mayDo(ns(), "cleaner", { verb: "get", resource: "secrets", namespace: "kube-system" }),
      true,
    );
    assert.equal(
      await mayDo(ns(), "cleaner", {
        verb: "delete",
        resource: "deployments",
        group: "apps",
        namespace: "default",
      }),
      true,
    );
  });

  it("warns that a role defined nowhere has unknown permissions, offline and with --cluster, and not once the cluster has it", async function () {
    const manifest = join(dir, "binding.yaml");
    await must({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "reporter", namespace: ns() },
    });
    writeFileSync(manifest, yaml(rb(ns(), "reporter-reads", "Role", "report-reader", "reporter")));
    const unresolved = (run: NhictlCheckRun): CheckFinding | undefined =>
      run.warnings.find((w) => w.rule === "unresolved-role-ref" && w.name === "reporter-reads");

    const offline = await runNhictlCheck(["check", manifest, "--format", "json"]);
    assert.equal(offline.code, 0, offline.stdout + offline.stderr);
    assert.match(
      unresolved(offline)?.message ?? offline.stdout,
      new RegExp(
        `the permissions of Role ${ns()}/report-reader are unknown: it is defined nowhere in the manifests`,
      ),
    );

    const withCluster = await runNhictlCheck([
      "check",
      manifest,
      "--format",
      "json",
      "--cluster",
      "--kubeconfig",
      cluster().kubeconfigPath,
    ]);
    assert.equal(withCluster.code, 0, withCluster.stdout + withCluster.stderr);
    assert.match(
      unresolved(withCluster)?.message ?? withCluster.stdout,
      /defined nowhere in the manifests or the cluster/,
    );

    await must({
      apiVersion: `${RBAC}/v1`,
      kind: "Role",
      metadata: { name: "report-reader", namespace: ns() },
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }],
    });
    const resolved = await runNhictlCheck([
      "check",
      manifest,
      "--format",
      "json",
      "--cluster",
      "--kubeconfig",
      cluster().kubeconfigPath,
    ]);
    assert.equal(resolved.code, 0, resolved.stdout + resolved.stderr);
    assert.equal(unresolved(resolved), undefined, resolved.stdout);
  });
});

describe("admission webhook on Kubernetes' controller roles and on roles defined nowhere (real kube-apiserver)", function () {
  const CONFIG_NAME = "nhi-operator-builtin-roles-e2e";
  const webhook = useRegisteredWebhook(CONFIG_NAME);
  let ns = "";
  const cleanup: string[] = [];

  beforeEach(async function () {
    ns = await cluster().createNamespace("builtin-wh");
    await must({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "stray", namespace: ns },
    });
  });

  afterEach(async function () {
    for (const name of cleanup.splice(0))
      await cluster().kube.delete(`${RBAC}/v1`, "ClusterRoleBinding", name);
    if (ns) await cluster().deleteNamespace(ns);
  });

  it("denies binding a ServiceAccount to system:controller:generic-garbage-collector", async function () {
    const name = `${ns}-gc`;
    cleanup.push(name);
    const v = await cluster().kube.apply(crb(name, GC_ROLE, ns, "stray"));
    assert.equal(
      v.allowed,
      false,
      `expected a denial, got ${v.code} ${JSON.stringify(v.warnings)}`,
    );
    assert.match(v.message, /\[secrets-read-cluster\]/);
    assert.match(v.message, new RegExp(`ClusterRole ${GC_ROLE}`));
  });

  it("allows a binding to a role that does not exist with a warning that its permissions are unknown, and none once the role exists", async function () {
    const v = await cluster().kube.apply(rb(ns, "stray-reads", "Role", "not-yet", "stray"));
    assert.equal(v.allowed, true, `${v.code} ${v.message}`);
    const warning = v.warnings.find((w) => w.includes("[unresolved-role-ref]"));
    assert.ok(warning, `warnings: ${JSON.stringify(v.warnings)}`);
    assert.match(
      warning,
      new RegExp(
        `the permissions of Role ${ns}/not-yet are unknown: it is defined nowhere in the cluster`,
      ),
    );

    await must({
      apiVersion: `${RBAC}/v1`,
      kind: "Role",
      metadata: { name: "not-yet", namespace: ns },
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }],
    });
    await waitFor(
      "the webhook's cache to see the Role",
      () =>
        webhook.op.cache.index.rulesOf({ kind: "Role", namespace: ns, name: "not-yet" }) !==
        undefined,
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    const again = await cluster().kube.apply(rb(ns, "stray-reads-2", "Role", "not-yet", "stray"));
    assert.equal(again.allowed, true, `${again.code} ${again.message}`);
    assert.equal(
      again.warnings.find((w) => w.includes("[unresolved-role-ref]")),
      undefined,
      JSON.stringify(again.warnings),
    );
  });
});

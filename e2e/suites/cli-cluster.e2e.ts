// `nhictl check --cluster` against a real kube-apiserver: a pull request that binds a Role the
// cluster already has to a ServiceAccount (and NHI) the cluster already has is judged against what
// is really there. Without --cluster the same manifest has nothing to judge the binding against.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../harness/binaries.js";
import type { Cluster } from "../harness/cluster.js";
import type { KubeObject } from "../harness/kube.js";
import { sharedCluster, useNamespace } from "../harness/mocha.js";
import { runNhictl } from "../harness/nhictl.js";

const cluster = (): Cluster => sharedCluster();

interface Finding { rule: string; identity?: string; permission?: string; permissions: string[]; kind: string; name: string; file?: string; message: string }
interface Run { code: number; violations: Finding[]; warnings: Finding[]; stdout: string; stderr: string }

async function nhictl(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const run = await runNhictl(args, { env: { HOME: "/nonexistent", ...env } });
  let report: { violations?: Finding[]; warnings?: Finding[] } = {};
  try {
    report = JSON.parse(run.stdout) as typeof report;
  } catch {
    // not JSON (an error, or another format)
  }
  return { ...run, violations: report.violations ?? [], warnings: report.warnings ?? [] };
}

async function must(obj: KubeObject): Promise<void> {
  const v = await cluster().kube.apply(obj);
  assert.ok(v.allowed, `apply ${obj.kind} ${obj.metadata.name ?? ""}: ${v.code} ${v.message}`);
}

describe("nhictl check --cluster against a real kube-apiserver", function () {
  const ns = useNamespace("cli-cluster");
  let dir = "";
  let manifest = "";

  before(async function () {
    this.timeout(120_000);
    await cluster().kubectlOk(["apply", "--server-side", "--force-conflicts", "-f", join(REPO_ROOT, "crds")]);
    await cluster().kubectlOk(["wait", "--for=condition=Established", "--timeout=60s", "crd/nonhumanidentities.nhi.io", "crd/nhipolicies.nhi.io"]);
  });

  beforeEach(async function () {
    dir = mkdtempSync(join(tmpdir(), "nhictl-cluster-e2e-"));
    // What the cluster already holds: an identity declared to read ConfigMaps, and a Role that reads Secrets.
    await must({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "orders-api", namespace: ns() } });
    await must({
      apiVersion: "nhi.io/v1alpha1", kind: "NonHumanIdentity", metadata: { name: "orders-api", namespace: ns() },
      spec: {
        owner: { team: "shop", contact: "shop@example.com" }, purpose: "e2e: nhictl --cluster", serviceAccountName: "orders-api",
        scopes: [{ namespaces: [ns()], apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }],
      },
    });
    await must({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "secret-reader", namespace: ns() }, rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }] });
    // The pull request: only a RoleBinding, naming the existing Role and the existing account.
    manifest = join(dir, "binding.yaml");
    writeFileSync(manifest, [
      "apiVersion: rbac.authorization.k8s.io/v1", "kind: RoleBinding", "metadata:", "  name: orders-secrets", `  namespace: ${ns()}`,
      "subjects:", `  - { kind: ServiceAccount, name: orders-api, namespace: ${ns()} }`,
      "roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: secret-reader }", "",
    ].join("\n"));
  });

  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const scopeExceeded = (r: Run): Finding | undefined => r.violations.find((v) => v.rule === "scope-exceeded" && v.identity === `system:serviceaccount:${ns()}:orders-api`);

  it("offline, the binding names a Role and an identity it cannot see: no finding", async function () {
    const r = await nhictl(["check", manifest, "--format", "json"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(scopeExceeded(r), undefined);
  });

  it("with --cluster --kubeconfig, the existing Role's permission exceeds the existing NHI's scopes", async function () {
    const r = await nhictl(["check", manifest, "--format", "json", "--cluster", "--kubeconfig", cluster().kubeconfigPath]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const f = scopeExceeded(r);
    assert.ok(f, JSON.stringify(r.violations));
    assert.equal(f.kind, "RoleBinding");
    assert.equal(f.name, "orders-secrets");
    assert.equal(f.file, manifest); // reported at the manifest binding
    assert.deepEqual(f.permissions, [`get secrets in namespace ${ns()}`]);
    assert.match(f.message, new RegExp(`NonHumanIdentity ${ns()}/orders-api`));
  });

  it("with --cluster and KUBECONFIG, the same; and a binding within the scopes passes", async function () {
    const env = { KUBECONFIG: cluster().kubeconfigPath };
    const r = await nhictl(["check", manifest, "--format", "json", "--cluster"], env);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.ok(scopeExceeded(r), JSON.stringify(r.violations));

    await must({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "cm-reader", namespace: ns() }, rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }] });
    const ok = join(dir, "ok.yaml");
    writeFileSync(ok, JSON.stringify({
      apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "orders-cm", namespace: ns() },
      subjects: [{ kind: "ServiceAccount", name: "orders-api", namespace: ns() }], roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "cm-reader" },
    }));
    const pass = await nhictl(["check", ok, "--format", "json", "--cluster"], env);
    assert.equal(pass.code, 0, pass.stdout + pass.stderr);
  });

  it("the manifests replace what the cluster has: a manifest Role narrowed to ConfigMaps makes the same binding pass", async function () {
    const narrowed = join(dir, "narrowed.yaml");
    writeFileSync(narrowed, [
      "apiVersion: rbac.authorization.k8s.io/v1", "kind: Role", "metadata:", "  name: secret-reader", `  namespace: ${ns()}`,
      "rules:", '  - { apiGroups: [""], resources: [configmaps], verbs: [get] }', "",
    ].join("\n"));
    const r = await nhictl(["check", manifest, narrowed, "--format", "json", "--cluster", "--kubeconfig", cluster().kubeconfigPath]);
    assert.equal(r.code, 0, JSON.stringify(r.violations));
  });

  it("a kubeconfig that does not exist, or --kubeconfig without --cluster, is bad input (exit 2)", async function () {
    const missing = await nhictl(["check", manifest, "--cluster", "--kubeconfig", join(dir, "nope")]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /kubeconfig/);
    const stray = await nhictl(["check", manifest, "--kubeconfig", cluster().kubeconfigPath]);
    assert.equal(stray.code, 2, stray.stderr);
    assert.match(stray.stderr, /--kubeconfig only applies with --cluster/);
  });
});

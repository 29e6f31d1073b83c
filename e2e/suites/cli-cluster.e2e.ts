// `nhictl check --cluster` against a real kube-apiserver: a pull request that binds a Role the
// cluster already has to a ServiceAccount (and NHI) the cluster already has is judged against what
// is really there. Without --cluster the same manifest has nothing to judge the binding against.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../harness/binaries.js";
import type { Cluster } from "../harness/cluster.js";
import type { KubeObject, Token } from "../harness/kube.js";
import { sharedCluster, useNamespace } from "../harness/mocha.js";
import {
  runNhictl,
  runNhictlCheck,
  type CheckFinding,
  type NhictlCheckRun,
} from "../harness/nhictl.js";
import { waitFor } from "../harness/wait.js";
import { installCrds } from "./reconcilers-helpers.js";

const cluster = (): Cluster => sharedCluster();
/** nhictl's arguments reading the shared cluster: `args` then --cluster --kubeconfig <the e2e kubeconfig>. */
const onCluster = (...args: string[]): string[] => [
  ...args,
  "--cluster",
  "--kubeconfig",
  cluster().kubeconfigPath,
];

/**
 * A kubeconfig that authenticates as a ServiceAccount's TokenRequest-minted token only (no client
 * certificate), for the same API server. Written 0600 into `dir`, which the test removes.
 */
function tokenKubeconfig(dir: string, token: Token): string {
  const kc = cluster().kube.config;
  const c = kc.getCurrentCluster();
  if (!c) throw new Error("the e2e kubeconfig has no current cluster");
  const ca = c.caData ?? (c.caFile ? readFileSync(c.caFile).toString("base64") : undefined);
  const path = join(dir, "token.kubeconfig");
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "sa",
      clusters: [
        {
          name: "e2e",
          cluster: { server: c.server, ...(ca ? { "certificate-authority-data": ca } : {}) },
        },
      ],
      users: [{ name: "sa", user: { token: token.reveal() } }],
      contexts: [{ name: "sa", context: { cluster: "e2e", user: "sa" } }],
    }),
    { mode: 0o600 },
  );
  return path;
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
    await installCrds();
  });

  beforeEach(async function () {
    dir = mkdtempSync(join(tmpdir(), "nhictl-cluster-e2e-"));
    // What the cluster already holds: an identity declared to read ConfigMaps, and a Role that reads Secrets.
    await must({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "orders-api", namespace: ns() },
    });
    await must({
      apiVersion: "nhi.io/v1alpha1",
      kind: "NonHumanIdentity",
      metadata: { name: "orders-api", namespace: ns() },
      spec: {
        owner: { team: "shop", contact: "shop@example.com" },
        purpose: "e2e: nhictl --cluster",
        serviceAccountName: "orders-api",
        scopes: [
          {
            namespaces: [ns()],
            apiGroups: [""],
            resources: ["configmaps"],
            verbs: ["get", "list", "watch"],
          },
        ],
      },
    });
    await must({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "secret-reader", namespace: ns() },
      rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }],
    });
    // The pull request: only a RoleBinding, naming the existing Role and the existing account.
    manifest = join(dir, "binding.yaml");
    writeFileSync(
      manifest,
      [
        "apiVersion: rbac.authorization.k8s.io/v1",
        "kind: RoleBinding",
        "metadata:",
        "  name: orders-secrets",
        `  namespace: ${ns()}`,
        "subjects:",
        `  - { kind: ServiceAccount, name: orders-api, namespace: ${ns()} }`,
        "roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: secret-reader }",
        "",
      ].join("\n"),
    );
  });

  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const scopeExceeded = (r: NhictlCheckRun): CheckFinding | undefined =>
    r.violations.find(
      (v) =>
        v.rule === "scope-exceeded" && v.identity === `system:serviceaccount:${ns()}:orders-api`,
    );

  it("offline, the binding names a Role and an identity it cannot see: no finding", async function () {
    const r = await runNhictlCheck(["check", manifest, "--format", "json"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(scopeExceeded(r), undefined);
  });

  it("with --cluster --kubeconfig, the existing Role's permission exceeds the existing NHI's scopes", async function () {
    const r = await runNhictlCheck(onCluster("check", manifest, "--format", "json"));
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
    const r = await runNhictlCheck(["check", manifest, "--format", "json", "--cluster"], env);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.ok(scopeExceeded(r), JSON.stringify(r.violations));

    await must({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "cm-reader", namespace: ns() },
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }],
    });
    const ok = join(dir, "ok.yaml");
    writeFileSync(
      ok,
      JSON.stringify({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "orders-cm", namespace: ns() },
        subjects: [{ kind: "ServiceAccount", name: "orders-api", namespace: ns() }],
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "cm-reader" },
      }),
    );
    const pass = await runNhictlCheck(["check", ok, "--format", "json", "--cluster"], env);
    assert.equal(pass.code, 0, pass.stdout + pass.stderr);
  });

  it("the manifests replace what the cluster has: a manifest Role narrowed to ConfigMaps makes the same binding pass", async function () {
    const narrowed = join(dir, "narrowed.yaml");
    writeFileSync(
      narrowed,
      [
        "apiVersion: rbac.authorization.k8s.io/v1",
        "kind: Role",
        "metadata:",
        "  name: secret-reader",
        `  namespace: ${ns()}`,
        "rules:",
        '  - { apiGroups: [""], resources: [configmaps], verbs: [get] }',
        "",
      ].join("\n"),
    );
    const r = await runNhictlCheck(onCluster("check", manifest, narrowed, "--format", "json"));
    assert.equal(r.code, 0, JSON.stringify(r.violations));
  });

  it("a kubeconfig that does not exist, or --kubeconfig without --cluster, is bad input (exit 2)", async function () {
    const missing = await runNhictlCheck([
      "check",
      manifest,
      "--cluster",
      "--kubeconfig",
      join(dir, "nope"),
    ]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /kubeconfig/);
    const stray = await runNhictlCheck([
      "check",
      manifest,
      "--kubeconfig",
      cluster().kubeconfigPath,
    ]);
    assert.equal(stray.code, 2, stray.stderr);
    assert.match(stray.stderr, /--kubeconfig only applies with --cluster/);
  });

  describe("read errors: nhictl never judges a cluster it could not read", function () {
    // A reader allowed every list nhictl makes except the one named: the API server answers 403 for it.
    async function readerWithout(
      name: string,
      denied: { apiGroup: string; resource: string },
    ): Promise<string> {
      const all: { apiGroups: string[]; resources: string[]; verbs: string[] }[] = [
        {
          apiGroups: [""],
          resources: ["namespaces", "serviceaccounts", "secrets", "pods"],
          verbs: ["list"],
        },
        {
          apiGroups: ["rbac.authorization.k8s.io"],
          resources: ["roles", "clusterroles", "rolebindings", "clusterrolebindings"],
          verbs: ["list"],
        },
        {
          apiGroups: ["apps"],
          resources: ["deployments", "statefulsets", "daemonsets"],
          verbs: ["list"],
        },
        { apiGroups: ["batch"], resources: ["jobs", "cronjobs"], verbs: ["list"] },
        {
          apiGroups: ["nhi.io"],
          resources: ["nonhumanidentities", "nhipolicies"],
          verbs: ["list"],
        },
      ];
      const rules = all
        .map((r) =>
          r.apiGroups[0] === denied.apiGroup
            ? { ...r, resources: r.resources.filter((x) => x !== denied.resource) }
            : r,
        )
        .filter((r) => r.resources.length > 0);
      const role = `${ns()}-${name}`;
      await must({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: ns() } });
      await must({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: role },
        rules,
      });
      await must({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: role },
        subjects: [{ kind: "ServiceAccount", name, namespace: ns() }],
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
      });
      return tokenKubeconfig(dir, await cluster().kube.mintToken(`${ns()}/${name}`));
    }

    /** An nhictl command (JSON output) over the cluster as the reader of `kubeconfig`. */
    const runAs = (kubeconfig: string, command: string[]): Promise<NhictlCheckRun> =>
      runNhictlCheck([...command, "--cluster", "--kubeconfig", kubeconfig, "--format", "json"]);

    afterEach(async function () {
      for (const n of ["no-nhis", "no-bindings"]) {
        await cluster()
          .kube.delete("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", `${ns()}-${n}`)
          .catch(() => undefined);
        await cluster()
          .kube.delete("rbac.authorization.k8s.io/v1", "ClusterRole", `${ns()}-${n}`)
          .catch(() => undefined);
      }
    });

    it("a user denied listing NonHumanIdentities gets exit 2 naming them and 'forbidden', not a check as if there were none", async function () {
      const kubeconfig = await readerWithout("no-nhis", {
        apiGroup: "nhi.io",
        resource: "nonhumanidentities",
      });
      for (const command of [
        ["check", manifest],
        ["explain", `${ns()}/orders-api`],
        ["inventory"],
      ]) {
        const r = await runAs(kubeconfig, command);
        assert.equal(r.code, 2, `${command[0] ?? ""}: ${r.stdout}${r.stderr}`);
        assert.equal(r.stdout, "", `${command[0] ?? ""} printed a result from a partial read`);
        assert.match(
          r.stderr,
          /cannot read nonhumanidentities\.nhi\.io from the cluster https:\/\/\S+: forbidden: .*cannot list resource "nonhumanidentities"/,
        );
        assert.doesNotMatch(r.stderr, /internal error|Headers|Bearer/);
      }
    });

    it("a user denied listing ClusterRoleBindings gets exit 2 naming them", async function () {
      const kubeconfig = await readerWithout("no-bindings", {
        apiGroup: "rbac.authorization.k8s.io",
        resource: "clusterrolebindings",
      });
      const r = await runAs(kubeconfig, ["check", manifest]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /cannot read clusterrolebindings\.rbac\.authorization\.k8s\.io from the cluster \S+: forbidden/,
      );
    });

    it("the same reader, allowed NHIs too, reads the cluster (the denial above was the only cause)", async function () {
      const kubeconfig = await readerWithout("no-bindings", { apiGroup: "none", resource: "none" });
      const r = await runAs(kubeconfig, ["check", manifest]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.ok(scopeExceeded(r), JSON.stringify(r.violations));
    });
  });

  describe("explain and inventory --cluster", function () {
    beforeEach(async function () {
      // The binding is live this time: explain and inventory read it from the cluster.
      await must({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "orders-secrets", namespace: ns() },
        subjects: [{ kind: "ServiceAccount", name: "orders-api", namespace: ns() }],
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "secret-reader" },
      });
      await must({
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "batch-runner", namespace: ns() },
      });
    });

    interface Explained {
      identity: string;
      exists: boolean;
      nhi?: { name: string; scopes: { used: boolean }[] };
      grants: { binding: string; role: string; clusterDefault?: boolean }[];
      beyondScopes: string[];
    }

    it("explain --cluster: the live binding, the live Role, the live NHI's scopes and what lies beyond them", async function () {
      const r = await runNhictl(onCluster("explain", `${ns()}/orders-api`, "--format", "json"));
      assert.equal(r.code, 0, r.stderr);
      const e = JSON.parse(r.stdout) as Explained;
      assert.equal(e.identity, `system:serviceaccount:${ns()}:orders-api`);
      assert.equal(e.exists, true);
      assert.equal(e.nhi?.name, "orders-api");
      // Besides what every account holds through the cluster's default bindings (system:discovery, …),
      // which are shown as such and are not "beyond its scopes" (as in the inventory).
      assert.deepEqual(
        e.grants.filter((g) => !g.clusterDefault).map((g) => [g.binding, g.role]),
        [[`RoleBinding ${ns()}/orders-secrets`, `Role ${ns()}/secret-reader`]],
      );
      assert.ok(
        e.grants.some(
          (g) => g.clusterDefault && g.binding === "ClusterRoleBinding system:discovery",
        ),
        JSON.stringify(e.grants),
      );
      assert.deepEqual(e.beyondScopes, [
        `get secrets in namespace ${ns()} (RoleBinding ${ns()}/orders-secrets → Role ${ns()}/secret-reader)`,
      ]);
      const text = await runNhictl(onCluster("explain", `${ns()}/orders-api`, "--no-color"));
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, new RegExp(`Claimed by NonHumanIdentity ${ns()}/orders-api`));
    });

    it("inventory --cluster: the claimed account with its live NHI and excess, the unclaimed one as shadow", async function () {
      const r = await runNhictl(onCluster("inventory", "--format", "json"));
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as {
        kind: string;
        identities: {
          namespace: string;
          name: string;
          nhi?: string;
          shadow: boolean;
          excess: {
            verb: string;
            resource?: string;
            namespace: string;
            binding: { name: string };
          }[];
        }[];
      };
      assert.equal(doc.kind, "Inventory");
      const mine = doc.identities.filter((i) => i.namespace === ns());
      const orders = mine.find((i) => i.name === "orders-api");
      assert.equal(orders?.nhi, "orders-api");
      assert.equal(orders.shadow, false);
      // The live RoleBinding's secret read is beyond the live NHI's scopes.
      assert.ok(
        orders.excess.some(
          (x) =>
            x.verb === "get" &&
            x.resource === "secrets" &&
            x.namespace === ns() &&
            x.binding.name === "orders-secrets",
        ),
        JSON.stringify(orders.excess),
      );
      const runner = mine.find((i) => i.name === "batch-runner");
      assert.equal(runner?.shadow, true);
      const table = await runNhictl(onCluster("inventory"));
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, new RegExp(`${ns()}\\s+orders-api\\s+orders-api`));
      assert.match(table.stdout, new RegExp(`${ns()}\\s+batch-runner\\s+shadow`));
    });

    it("inventory --cluster: a live binding of view to user system:anonymous makes system:unauthenticated Violating (binding-dangerous-group), as nhictl check judges it", async function () {
      const name = `anonymous-view-${ns()}`;
      await must({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name },
        subjects: [
          { kind: "User", name: "system:anonymous", apiGroup: "rbac.authorization.k8s.io" },
        ],
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
      });
      try {
        const r = await runNhictl(onCluster("inventory", "--format", "json"));
        assert.equal(r.code, 0, r.stderr);
        const doc = JSON.parse(r.stdout) as {
          groups: { group: string; violating: boolean; reason: string }[];
        };
        const group = doc.groups.find((g) => g.group === "system:unauthenticated");
        assert.equal(group?.violating, true, JSON.stringify(doc.groups));
        assert.match(group.reason, /binding-dangerous-group \(bound to ClusterRole view\)/);
      } finally {
        await cluster().kube.delete("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", name);
      }
    });

    it("inventory --cluster: a legacy token Secret is seen through its metadata alone, and its value never reaches the output", async function () {
      const name = "runner-legacy-token";
      const v = await cluster().kube.apply({
        apiVersion: "v1",
        kind: "Secret",
        type: "kubernetes.io/service-account-token",
        metadata: {
          name,
          namespace: ns(),
          annotations: { "kubernetes.io/service-account.name": "batch-runner" },
        },
      } as KubeObject);
      assert.ok(v.allowed, v.message);
      const token = await waitFor(
        "the token controller to fill the Secret",
        async () =>
          (
            await cluster().kube.get<KubeObject & { data?: Record<string, string> }>(
              "v1",
              "Secret",
              name,
              ns(),
            )
          )?.data?.token,
        { timeoutMs: 30_000 },
      );
      const r = await runNhictl(onCluster("inventory", "--format", "json"));
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as {
        identities: { namespace: string; name: string; legacyTokens: { name: string }[] }[];
      };
      const runner = doc.identities.find((i) => i.namespace === ns() && i.name === "batch-runner");
      assert.deepEqual(
        runner?.legacyTokens.map((t) => t.name),
        [name],
      );
      const value = Buffer.from(token, "base64").toString("utf8");
      assert.ok(
        !r.stdout.includes(value) && !r.stderr.includes(value) && !r.stdout.includes(token),
        "the token's value reached nhictl's output",
      );
    });
  });

  describe("adopting a third-party chart: the suggested NHIPolicy on the real API server", function () {
    let policyName = "";
    afterEach(async function () {
      if (policyName)
        await cluster()
          .kube.delete("nhi.io/v1alpha1", "NHIPolicy", policyName)
          .catch(() => undefined);
      policyName = "";
    });

    it("is accepted by the CRD (server-side dry run), and once created, nhictl check --cluster passes the same chart", async function () {
      this.timeout(120_000);
      const chart = join(dir, "chart.yaml");
      writeFileSync(
        chart,
        readFileSync(
          join(REPO_ROOT, "test/fixtures/manifests/third-party/chart.yaml"),
          "utf8",
        ).replace(/namespace: certs$/gm, `namespace: ${ns()}`),
      );
      const kubeconfig = ["--cluster", "--kubeconfig", cluster().kubeconfigPath];
      const first = await runNhictlCheck([
        "check",
        chart,
        ...kubeconfig,
        "--no-color",
        "--suggest-exemptions",
      ]);
      assert.equal(first.code, 1, first.stdout + first.stderr);
      assert.match(
        first.stdout,
        /✖ critical get secrets cluster-wide \[secrets-read-cluster\] — 5 objects:/,
      );
      const suggested = first.stdout.slice(first.stdout.indexOf("\n---\n") + 1);
      const file = join(dir, "adopt.yaml");
      writeFileSync(file, suggested);
      policyName = `adopt-${ns()}`;
      assert.match(suggested, new RegExp(`name: ${policyName}\n`));

      const dry = await cluster().kubectl(["apply", "--dry-run=server", "-f", file]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /nhipolicy\.nhi\.io\/\S+ created \(server dry run\)/);
      await cluster().kubectlOk(["create", "-f", file]);

      const again = await runNhictlCheck(["check", chart, ...kubeconfig, "--format", "json"]);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.equal(again.violations.length, 0);
      const accepted = again.warnings.filter((w) => w.rule === "secrets-read-cluster");
      assert.equal(accepted.length, 5, JSON.stringify(again.warnings));
      for (const w of accepted)
        assert.match(w.message, new RegExp(`allowed by NHIPolicy ${policyName} exemption`));
    });
  });
});

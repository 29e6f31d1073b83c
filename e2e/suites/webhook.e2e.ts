// The admission webhook against a real kube-apiserver: operator/main's composition (cache fed by
// real watches + HTTPS webhook) runs in this process, registered with a url + caBundle and the
// project's real rules and namespace exclusions (webhooks/config.ts = manifests/webhook/).
import assert from "node:assert/strict";
import { CATALOGUE } from "../../core/policy/catalogue.js";
import { catalogueHits } from "../../core/policy/catalogue-hits.js";
import type { PolicyRule } from "../../core/rbac/types.js";
import type { RunningOperator } from "../../operator/main.js";
import type { Cluster } from "../harness/cluster.js";
import type { KubeObject } from "../harness/kube.js";
import { sharedCluster } from "../harness/mocha.js";
import { humanUser } from "../harness/users.js";
import { waitFor } from "../harness/wait.js";
import { useRegisteredWebhook } from "./webhook-helpers.js";

const LABEL = "nhi.io/webhook-e2e";
/** Multi-line JSON is YAML that applyAs reads as text, not as a file name. */
const doc = (o: unknown): string => JSON.stringify(o, null, 2);
const CONFIG_NAME = "nhi-operator-e2e";

/** The registered webhook of the suite (useRegisteredWebhook). */
let webhook: { readonly op: RunningOperator };

function cluster(): Cluster {
  return sharedCluster();
}

const nhi = (ns: string, name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: "nhi.io/v1alpha1",
  kind: "NonHumanIdentity",
  metadata: { name, namespace: ns },
  spec: {
    owner: { team: "shop", contact: "shop@example.com" },
    purpose: `e2e ${name}`,
    serviceAccountName: name,
    ...spec,
  },
});
const sa = (ns: string, name: string): KubeObject => ({
  apiVersion: "v1",
  kind: "ServiceAccount",
  metadata: { name, namespace: ns },
});
const role = (ns: string, name: string, rules: PolicyRule[]): KubeObject => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "Role",
  metadata: { name, namespace: ns },
  rules,
});
const roleBinding = (
  ns: string,
  name: string,
  roleKind: "Role" | "ClusterRole",
  roleName: string,
  subject: string,
  annotations?: Record<string, string>,
): KubeObject => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "RoleBinding",
  metadata: { name, namespace: ns, ...(annotations ? { annotations } : {}) },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: roleKind, name: roleName },
  subjects: [{ kind: "ServiceAccount", name: subject, namespace: ns }],
});

async function must(obj: KubeObject): Promise<void> {
  const v = await cluster().kube.apply(obj);
  assert.ok(v.allowed, `apply ${obj.kind} ${obj.metadata.name ?? ""}: ${v.code} ${v.message}`);
}

/** Waits until the webhook's cache has seen an NHI (or its absence). */
async function cacheSeesNHI(ns: string, name: string): Promise<void> {
  await waitFor(
    `cache to see NHI ${ns}/${name}`,
    () => webhook.op.cache.directory.nhiFor({ namespace: ns, name }) !== undefined,
    { timeoutMs: 10_000, intervalMs: 50 },
  );
}

async function cacheSeesGrants(ns: string, name: string): Promise<void> {
  await waitFor(
    `cache to see grants of ${ns}/${name}`,
    () => webhook.op.cache.index.grantsOf({ namespace: ns, name }).length > 0,
    { timeoutMs: 10_000, intervalMs: 50 },
  );
}

/**
 * The orders-api NHI of every test: reads `resources` (core group) in its namespace, may edit its
 * own NHI, and has a one-hour ServiceAccountToken.
 */
const ordersApiNhi = (ns: string, resources: string[]): KubeObject =>
  nhi(ns, "orders-api", {
    scopes: [
      { namespaces: [ns], apiGroups: [""], resources, verbs: ["get", "list", "watch"] },
      {
        namespaces: [ns],
        apiGroups: ["nhi.io"],
        resources: ["nonhumanidentities"],
        verbs: ["get", "patch", "update"],
      },
    ],
    credentials: [
      {
        name: "ci",
        type: "ServiceAccountToken",
        secretName: "orders-ci-token",
        ttl: "1h",
        renewBefore: "20m",
      },
    ],
  });

/** RBAC lets orders-api edit its own NHI, so only the webhook stands between it and self-widening. */
async function letOrdersApiEditItsNhi(ns: string): Promise<void> {
  await must(
    role(ns, "self-edit", [
      {
        apiGroups: ["nhi.io"],
        resources: ["nonhumanidentities"],
        verbs: ["get", "patch", "update"],
      },
    ]),
  );
  await must(roleBinding(ns, "self-edit", "Role", "self-edit", "orders-api"));
  await cacheSeesGrants(ns, "orders-api");
}

async function withPolicy(spec: Record<string, unknown>, test: () => Promise<void>): Promise<void> {
  const name = `e2e-${Math.random().toString(36).slice(2, 8)}`;
  await must({ apiVersion: "nhi.io/v1alpha1", kind: "NHIPolicy", metadata: { name }, spec });
  await waitFor(
    `cache to resolve NHIPolicy ${name}`,
    () => webhook.op.cache.policyAt(new Date()).sources.includes(name),
    { timeoutMs: 10_000, intervalMs: 50 },
  );
  try {
    await test();
  } finally {
    await cluster().kube.delete("nhi.io/v1alpha1", "NHIPolicy", name);
    await waitFor(
      `cache to drop NHIPolicy ${name}`,
      () => !webhook.op.cache.policyAt(new Date()).sources.includes(name),
      { timeoutMs: 10_000, intervalMs: 50 },
    );
  }
}

describe("admission webhook on a real kube-apiserver", function () {
  webhook = useRegisteredWebhook(CONFIG_NAME);
  let ns = "";

  beforeEach(async function () {
    ns = await cluster().createNamespace("wh", { [LABEL]: "true" });
    for (const name of ["orders-api", "deployer", "powerful", "stray"]) await must(sa(ns, name));
    await must(ordersApiNhi(ns, ["configmaps"]));
    await must(
      nhi(ns, "deployer", {
        scopes: [
          {
            namespaces: [ns],
            apiGroups: ["apps"],
            resources: ["deployments"],
            verbs: ["get", "list", "create", "update", "patch"],
          },
          {
            namespaces: [ns],
            apiGroups: [""],
            resources: ["configmaps"],
            verbs: ["get", "list", "watch"],
          },
        ],
      }),
    );
    await cacheSeesNHI(ns, "orders-api");
    await cacheSeesNHI(ns, "deployer");
  });

  afterEach(async function () {
    if (ns) await cluster().deleteNamespace(ns);
  });

  it("denies a RoleBinding beyond an NHI's scopes with a precise kubectl message, and allows one within them", async function () {
    const r = await cluster().kubectl(["apply", "-f", "-"], {
      input: JSON.stringify(roleBinding(ns, "too-much", "ClusterRole", "edit", "orders-api")),
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error from server \(Forbidden\)/);
    assert.match(
      r.stderr,
      /admission webhook "validate\.nhi\.io" denied the request: nhi-operator denied CREATE RoleBinding/,
    );
    assert.match(
      r.stderr,
      new RegExp(
        `\\[scope-exceeded\\].*system:serviceaccount:${ns}:orders-api.*NonHumanIdentity ${ns}/orders-api.*Fix:`,
      ),
    );

    await must(
      role(ns, "cm-reader", [
        { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] },
      ]),
    );
    const ok = await cluster().applyAs(
      doc(roleBinding(ns, "cm-readers", "Role", "cm-reader", "orders-api")),
    );
    assert.ok(ok.allowed, ok.message);
  });

  it("denies a Role edit that widens a role already bound to a governed identity", async function () {
    await must(
      role(ns, "cm-reader", [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }]),
    );
    await must(roleBinding(ns, "cm-readers", "Role", "cm-reader", "orders-api"));
    await cacheSeesGrants(ns, "orders-api");
    const v = await cluster().applyAs(
      doc(
        role(ns, "cm-reader", [
          { apiGroups: [""], resources: ["configmaps", "secrets"], verbs: ["get"] },
        ]),
      ),
    );
    assert.equal(v.allowed, false);
    assert.equal(v.code, 403);
    assert.match(v.message, /get secrets in namespace/);
  });

  it("denies every critical catalogue path for an unclaimed ServiceAccount, naming the entry", async function () {
    this.timeout(120_000);
    const critical = CATALOGUE.filter((e) => e.severity === "critical");
    const triggers: Record<string, PolicyRule[]> = {
      impersonate: [{ apiGroups: [""], resources: ["users"], verbs: ["impersonate"] }],
    };
    for (const entry of critical) {
      const rules = triggers[entry.id] ?? entry.anyOf[0];
      assert.ok(rules, `no trigger for ${entry.id}`);
      const name = `e2e-${entry.id}-${ns}`.slice(0, 60);
      await must({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name },
        rules,
      });
      const v = await cluster().applyAs(
        doc({
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "ClusterRoleBinding",
          metadata: { name },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
          subjects: [{ kind: "ServiceAccount", name: "stray", namespace: ns }],
        }),
      );
      await cluster().kube.delete("rbac.authorization.k8s.io/v1", "ClusterRole", name);
      await cluster().kube.delete("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", name);
      assert.equal(v.allowed, false, `${entry.id} was allowed`);
      assert.equal(v.code, 403);
      assert.match(v.message, new RegExp(`\\[${entry.id}\\]`), `${entry.id}: ${v.message}`);
    }
  });

  it("high catalogue paths for an unclaimed account warn by default and are denied under unclaimedHighPermissions: Enforce", async function () {
    this.timeout(120_000);
    const warned = await cluster().applyAs(
      doc(role(ns, "pod-maker", [{ apiGroups: [""], resources: ["pods"], verbs: ["create"] }])),
    );
    assert.ok(warned.allowed);
    const b = await cluster().applyAs(
      doc(roleBinding(ns, "pod-makers", "Role", "pod-maker", "stray")),
    );
    assert.ok(b.allowed, b.message);
    assert.ok(
      b.warnings.some((w) => w.includes("[pods-create]")),
      JSON.stringify(b.warnings),
    );

    await must(sa(ns, "stray2"));
    await withPolicy({ unclaimedHighPermissions: "Enforce" }, async () => {
      // Entries whose trigger also reaches a critical one are covered by the critical test.
      const alone = CATALOGUE.filter(
        (e) =>
          e.severity === "high" &&
          e.anyOf[0] &&
          e.where === "any" &&
          catalogueHits([{ namespace: ns, rules: e.anyOf[0] ?? [] }]).every(
            (h) => h.entry.severity !== "critical",
          ),
      );
      assert.ok(alone.length >= 5, `only ${alone.length} high entries to try`);
      for (const entry of alone) {
        const rules = entry.anyOf[0] ?? [];
        const name = `h-${entry.id}`.slice(0, 60);
        await must(role(ns, name, rules));
        const v = await cluster().applyAs(doc(roleBinding(ns, name, "Role", name, "stray2")));
        assert.equal(v.allowed, false, `${entry.id} was allowed`);
        assert.match(v.message, new RegExp(`\\[${entry.id}\\]`), `${entry.id}: ${v.message}`);
      }
    });
  });

  it("Audit enforcement allows with a warning kubectl prints", async function () {
    await must(sa(ns, "adopting"));
    await must(nhi(ns, "adopting", { enforcement: "Audit", scopes: [] }));
    await cacheSeesNHI(ns, "adopting");
    const r = await cluster().kubectl(["apply", "-f", "-"], {
      input: JSON.stringify(roleBinding(ns, "view", "ClusterRole", "view", "adopting")),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Warning: \[scope-exceeded\]/);
  });

  it("dry-run requests are judged the same and create nothing", async function () {
    const denied = await cluster().kubectl(["apply", "--dry-run=server", "-f", "-"], {
      input: JSON.stringify(roleBinding(ns, "dry", "ClusterRole", "edit", "orders-api")),
    });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /scope-exceeded/);
    await must(
      role(ns, "cm-reader", [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }]),
    );
    const ok = await cluster().kubectl(["apply", "--dry-run=server", "-f", "-"], {
      input: JSON.stringify(roleBinding(ns, "dry-ok", "Role", "cm-reader", "orders-api")),
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(
      await cluster().kube.get("rbac.authorization.k8s.io/v1", "RoleBinding", "dry-ok", ns),
      undefined,
    );
  });

  it("break-glass allows with a recorded reason, and needs the reason", async function () {
    await withPolicy({ breakGlass: {} }, async () => {
      const noReason = await cluster().applyAs(
        doc(
          roleBinding(ns, "bg", "ClusterRole", "edit", "orders-api", {
            "nhi.io/break-glass": "true",
          }),
        ),
      );
      assert.equal(noReason.allowed, false);
      assert.match(noReason.message, /needs a reason/);
      const before = await (await fetch(`${webhook.op.server.metricsUrl}/metrics`)).text();
      const v = await cluster().applyAs(
        doc(
          roleBinding(ns, "bg", "ClusterRole", "edit", "orders-api", {
            "nhi.io/break-glass": "true",
            "nhi.io/break-glass-reason": "INC-7 restore",
          }),
        ),
      );
      assert.ok(v.allowed, v.message);
      assert.ok(
        v.warnings.some((w) => w.includes("break-glass") && w.includes("INC-7 restore")),
        JSON.stringify(v.warnings),
      );
      const after = await (await fetch(`${webhook.op.server.metricsUrl}/metrics`)).text();
      const count = (t: string): number =>
        Number(
          /nhi_webhook_break_glass_total\{resource="rolebindings.rbac.authorization.k8s.io"\} (\d+)/.exec(
            t,
          )?.[1] ?? 0,
        );
      assert.equal(count(after), count(before) + 1);
    });
  });

  it("a ServiceAccount deployer cannot launch a workload as a more powerful identity, but can as a weaker one", async function () {
    await must(
      role(ns, "deployer", [
        {
          apiGroups: ["apps"],
          resources: ["deployments"],
          verbs: ["get", "list", "create", "update", "patch"],
        },
      ]),
    );
    await must(roleBinding(ns, "deployer", "Role", "deployer", "deployer"));
    await must(
      role(ns, "secret-reader", [
        { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"] },
      ]),
    );
    await must(roleBinding(ns, "powerful", "Role", "secret-reader", "powerful"));
    await must(
      role(ns, "cm-reader", [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }]),
    );
    await must(roleBinding(ns, "cm-readers", "Role", "cm-reader", "orders-api"));
    await cacheSeesGrants(ns, "powerful");
    await cacheSeesGrants(ns, "deployer");
    const deployment = (name: string, account: string): string =>
      doc({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name, namespace: ns },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: {
              serviceAccountName: account,
              containers: [{ name: "app", image: "registry.example.com/app:1" }],
            },
          },
        },
      });
    const denied = await cluster().applyAs(deployment("borrow", "powerful"), {
      serviceAccount: `${ns}/deployer`,
    });
    assert.equal(denied.allowed, false);
    assert.equal(denied.code, 403);
    assert.match(
      denied.message,
      new RegExp(
        `\\[borrowed-identity\\].*system:serviceaccount:${ns}:deployer.*system:serviceaccount:${ns}:powerful.*get secrets in namespace ${ns}`,
      ),
    );
    const ok = await cluster().applyAs(deployment("fine", "orders-api"), {
      serviceAccount: `${ns}/deployer`,
    });
    assert.ok(ok.allowed, ok.message);
  });

  it("an NHI cannot widen itself", async function () {
    await letOrdersApiEditItsNhi(ns);
    const wider = ordersApiNhi(ns, ["configmaps", "secrets"]);
    const v = await cluster().applyAs(doc(wider), { serviceAccount: `${ns}/orders-api` });
    assert.equal(v.allowed, false, v.message);
    assert.match(v.message, /\[nhi-self-widening\]/);
    const byHuman = await cluster().applyAs(doc(wider));
    assert.ok(byHuman.allowed, byHuman.message);
  });

  it("caps token lifetimes at the NHI's credential ttl and forbids long-lived token Secrets", async function () {
    const mint = (seconds: number): Promise<{ status: number; body: unknown }> =>
      cluster().kube.request("POST", `/api/v1/namespaces/${ns}/serviceaccounts/orders-api/token`, {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: seconds },
        },
      });
    const long = await mint(7200);
    assert.equal(long.status, 403, JSON.stringify(long.body));
    assert.match(JSON.stringify(long.body), /token-ttl/);
    assert.equal((await mint(600)).status, 201);

    const secret = await cluster().applyAs(
      doc({
        apiVersion: "v1",
        kind: "Secret",
        type: "kubernetes.io/service-account-token",
        metadata: {
          name: "orders-forever",
          namespace: ns,
          annotations: { "kubernetes.io/service-account.name": "orders-api" },
        },
      }),
    );
    assert.equal(secret.allowed, false);
    assert.match(secret.message, /\[legacy-token-forbidden\]/);
  });

  it("denies a pod that mounts another identity's token Secret", async function () {
    const created = await cluster().applyAs(
      doc({
        apiVersion: "v1",
        kind: "Secret",
        type: "kubernetes.io/service-account-token",
        metadata: {
          name: "stray-token",
          namespace: ns,
          annotations: { "kubernetes.io/service-account.name": "stray" },
        },
      }),
    );
    assert.ok(created.allowed, created.message);
    await waitFor(
      "cache to see the token Secret",
      () =>
        webhook.op.cache.secretType(ns, "stray-token") === "kubernetes.io/service-account-token",
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    const v = await cluster().applyAs(
      doc({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "thief", namespace: ns },
        spec: {
          serviceAccountName: "orders-api",
          containers: [{ name: "a", image: "registry.example.com/a:1" }],
          volumes: [{ name: "t", secret: { secretName: "stray-token" } }],
        },
      }),
    );
    assert.equal(v.allowed, false);
    assert.match(v.message, /\[token-secret-mount\]/);
  });

  it("break-glass is for people: a ServiceAccount's own token cannot break glass to widen its NHI; users with client certificates can, and under allowedGroups only members", async function () {
    this.timeout(120_000);
    await letOrdersApiEditItsNhi(ns);
    // Two people, authenticated by client certificates the cluster's CA signed (CSR API), who may write Secrets here.
    const alice = await humanUser(cluster(), "alice", ["sre"]);
    const bob = await humanUser(cluster(), "bob", ["devs"]);
    await must(
      role(ns, "secret-writer", [
        { apiGroups: [""], resources: ["secrets"], verbs: ["get", "create", "patch", "update"] },
      ]),
    );
    await must({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "secret-writers", namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "secret-writer" },
      subjects: ["alice", "bob"].map((name) => ({
        kind: "User",
        apiGroup: "rbac.authorization.k8s.io",
        name,
      })),
    });
    const BREAK_GLASS = {
      "nhi.io/break-glass": "true",
      "nhi.io/break-glass-reason": "INC-9 restore orders",
    };
    const wider = ordersApiNhi(ns, ["configmaps", "secrets"]);
    wider.metadata = { ...wider.metadata, annotations: BREAK_GLASS };
    // A long-lived token Secret for the governed orders-api: legacy-token-forbidden, unless glass is broken.
    const foreverToken = (name: string): string =>
      doc({
        apiVersion: "v1",
        kind: "Secret",
        type: "kubernetes.io/service-account-token",
        metadata: {
          name,
          namespace: ns,
          annotations: { "kubernetes.io/service-account.name": "orders-api", ...BREAK_GLASS },
        },
      });
    const breakGlassBy = (user: string, warnings: string[]): boolean =>
      warnings.some(
        (w) => w.includes(`break-glass by ${user}`) && w.includes("INC-9 restore orders"),
      );

    await withPolicy({ breakGlass: {} }, async () => {
      const self = await cluster().applyAs(doc(wider), { serviceAccount: `${ns}/orders-api` });
      assert.equal(
        self.allowed,
        false,
        `the governed ServiceAccount broke glass to widen itself: ${JSON.stringify(self.warnings)}`,
      );
      assert.equal(self.code, 403);
      assert.match(self.message, /\[nhi-self-widening\]/);
      assert.match(
        self.message,
        new RegExp(
          `break-glass is reserved to human users: system:serviceaccount:${ns}:orders-api is a ServiceAccount`,
        ),
      );

      const byBob = await cluster().applyAs(foreverToken("orders-by-bob"), bob);
      assert.ok(byBob.allowed, byBob.message);
      assert.ok(breakGlassBy("bob", byBob.warnings), JSON.stringify(byBob.warnings));
    });

    await withPolicy({ breakGlass: { allowedGroups: ["sre"] } }, async () => {
      const byBob = await cluster().applyAs(foreverToken("orders-by-bob-2"), bob);
      assert.equal(byBob.allowed, false);
      assert.match(
        byBob.message,
        /\[legacy-token-forbidden\].*break-glass is reserved to members of sre; bob is not one/,
      );
      const byAlice = await cluster().applyAs(foreverToken("orders-by-alice"), alice);
      assert.ok(byAlice.allowed, byAlice.message);
      assert.ok(breakGlassBy("alice", byAlice.warnings), JSON.stringify(byAlice.warnings));
      const self = await cluster().applyAs(doc(wider), { serviceAccount: `${ns}/orders-api` });
      assert.equal(self.allowed, false);
      assert.match(self.message, /reserved to members of sre/);
    });
  });
});

// The real parts: our CRDs on a real kube-apiserver (schema + CEL), TokenRequest authentication,
// and the controllers envtest lacks (legacy token filling, garbage collection).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import type { KubeObject } from "../harness/kube.js";
import { sharedCluster, useNamespace } from "../harness/mocha.js";
import { waitFor } from "../harness/wait.js";
import { CRD_FILES, installCrds } from "./reconcilers-helpers.js";

function nhiYaml(ns: string, name: string, spec: string): string {
  return `apiVersion: nhi.io/v1alpha1
kind: NonHumanIdentity
metadata:
  name: ${name}
  namespace: ${ns}
spec:
${spec
  .trim()
  .split("\n")
  .map((l) => `  ${l}`)
  .join("\n")}
`;
}

const VALID_SPEC = `
owner: { team: shop-backend, contact: shop-oncall@example.com }
purpose: Serves the orders API
serviceAccountName: orders-api
scopes:
  - { namespaces: [shop], apiGroups: [""], resources: [configmaps], verbs: [get, list, watch] }
credentials:
  - { name: ci, type: ServiceAccountToken, secretName: orders-ci-token, ttl: 1h, renewBefore: 20m }
`;

async function createServiceAccount(ns: string, name: string): Promise<void> {
  const v = await sharedCluster().kube.create({
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name, namespace: ns },
  });
  assert.ok(v.allowed, `create ServiceAccount ${ns}/${name}: ${v.code} ${v.message}`);
}

describe("CRDs on a real kube-apiserver", function () {
  const ns = useNamespace("crds");

  before(async function () {
    const missing = CRD_FILES.filter((f) => !existsSync(f));
    assert.deepEqual(missing, [], "CRD files are missing");
    await installCrds();
  });

  it("creates a valid NonHumanIdentity with kubectl and reads it back", async function () {
    const c = sharedCluster();
    await c.kubectlOk(["apply", "-f", "-"], { input: nhiYaml(ns(), "orders-api", VALID_SPEC) });
    const got = JSON.parse(
      await c.kubectlOk(["get", "nhi", "orders-api", "-n", ns(), "-o", "json"]),
    ) as KubeObject & {
      spec: {
        owner: { team: string };
        serviceAccountName: string;
        credentials: { name: string; ttl: string; renewBefore: string }[];
      };
    };
    assert.equal(got.kind, "NonHumanIdentity");
    assert.equal(got.spec.owner.team, "shop-backend");
    assert.equal(got.spec.serviceAccountName, "orders-api");
    assert.deepEqual(
      got.spec.credentials.map((x) => [x.name, x.ttl, x.renewBefore]),
      [["ci", "1h", "20m"]],
    );
  });

  it("rejects a NonHumanIdentity without spec.owner.team (OpenAPI schema), naming the field", async function () {
    const spec = VALID_SPEC.replace(
      "owner: { team: shop-backend, contact: shop-oncall@example.com }",
      "owner: { contact: shop-oncall@example.com }",
    );
    const verdict = await sharedCluster().applyAs(nhiYaml(ns(), "no-team", spec));
    assert.equal(verdict.allowed, false);
    assert.equal(verdict.code, 422, verdict.message);
    assert.match(verdict.message, /spec\.owner\.team: Required value/);

    // What a user sees from kubectl: the same message, non-zero exit.
    const r = await sharedCluster().kubectl(["apply", "-f", "-"], {
      input: nhiYaml(ns(), "no-team", spec),
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.owner\.team: Required value/);
  });

  it("rejects renewBefore >= ttl (CEL rule), naming the field", async function () {
    const spec = VALID_SPEC.replace("ttl: 1h, renewBefore: 20m", "ttl: 1h, renewBefore: 1h");
    const verdict = await sharedCluster().applyAs(nhiYaml(ns(), "renew-too-late", spec));
    assert.equal(verdict.allowed, false);
    assert.equal(verdict.code, 422, verdict.message);
    assert.match(verdict.message, /spec\.credentials\[0\]\.renewBefore/);
    assert.match(verdict.message, /renewBefore must be shorter than ttl/);
  });
});

describe("ServiceAccount tokens on a real control plane", function () {
  const ns = useNamespace("tokens");

  it("a TokenRequest-minted token authenticates as its ServiceAccount", async function () {
    const c = sharedCluster();
    await createServiceAccount(ns(), "minted");
    const token = await c.kube.mintToken(`${ns()}/minted`, { expirationSeconds: 600 });
    assert.equal(String(token), "[token redacted]");
    const who = await c.kube.whoAmI({ token });
    assert.equal(who.username, `system:serviceaccount:${ns()}:minted`);
    assert.ok(who.groups.includes(`system:serviceaccounts:${ns()}`), who.groups.join(","));

    // applyAs with the same kind of token: RBAC gives this ServiceAccount nothing.
    const verdict = await c.applyAs(
      `apiVersion: v1
kind: ConfigMap
metadata: { name: probe, namespace: ${ns()} }
data: { a: b }
`,
      { serviceAccount: `${ns()}/minted` },
    );
    assert.equal(verdict.allowed, false);
    assert.equal(verdict.code, 403);
    assert.match(
      verdict.message,
      new RegExp(`"system:serviceaccount:${ns()}:minted" cannot patch resource "configmaps"`),
    );
  });

  it("impersonation: applyAs a user follows RBAC", async function () {
    const c = sharedCluster();
    const rbac = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: cm-writer, namespace: ${ns()} }
rules: [{ apiGroups: [""], resources: [configmaps], verbs: [get, create, patch, update] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: cm-writer, namespace: ${ns()} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: cm-writer }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: alice }]
`;
    assert.ok((await c.applyAs(rbac)).allowed);
    const cm = `apiVersion: v1
kind: ConfigMap
metadata: { name: by-user, namespace: ${ns()} }
data: { a: b }
`;
    const alice = await waitFor(
      "alice's RoleBinding to take effect",
      async () => {
        const v = await c.applyAs(cm, { user: "alice" });
        return v.allowed ? v : undefined;
      },
      { timeoutMs: 10_000 },
    );
    assert.equal(alice.code, 201);
    const bob = await c.applyAs(cm, { user: "bob", groups: ["team-b"] });
    assert.equal(bob.allowed, false);
    assert.equal(bob.code, 403);
    assert.match(bob.message, /User "bob" cannot patch resource "configmaps"/);
  });

  it("the token controller fills a legacy kubernetes.io/service-account-token Secret", async function () {
    const c = sharedCluster();
    if (!c.hasControllers) this.skip(); // needs kube-controller-manager (see README: KUBEBUILDER_ASSETS)
    await createServiceAccount(ns(), "legacy");
    const v = await c.kube.create({
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/service-account-token",
      metadata: {
        name: "legacy-token",
        namespace: ns(),
        annotations: { "kubernetes.io/service-account.name": "legacy" },
      },
    });
    assert.ok(v.allowed, `${v.code} ${v.message}`);
    // Only key names and lengths are ever printed: the token is a credential.
    const data = await waitFor(
      "the token controller to fill Secret legacy-token",
      async () => {
        const s = await c.kube.get<KubeObject & { data?: Record<string, string> }>(
          "v1",
          "Secret",
          "legacy-token",
          ns(),
        );
        return s?.data?.token ? s.data : undefined;
      },
      {
        timeoutMs: 30_000,
        describe: (last) =>
          `data keys: ${Object.keys((last as Record<string, string> | undefined) ?? {}).join(",") || "none"}`,
      },
    );
    assert.deepEqual(Object.keys(data).sort(), ["ca.crt", "namespace", "token"]);
    const jwt = Buffer.from(data.token ?? "", "base64").toString("utf8");
    assert.ok(jwt.length > 100, `token length ${jwt.length}`);
    assert.equal(jwt.split(".").length, 3, "token is not a JWT");
    assert.equal(Buffer.from(data.namespace ?? "", "base64").toString("utf8"), ns());
  });

  it("the garbage collector deletes dependents of a deleted owner", async function () {
    const c = sharedCluster();
    if (!c.hasControllers) this.skip();
    const owner = await c.kube.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "owner", namespace: ns() },
    });
    assert.ok(owner.allowed);
    const uid = (owner.object?.metadata as { uid: string }).uid;
    const dep = await c.kube.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "dependent",
        namespace: ns(),
        ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid }],
      },
    });
    assert.ok(dep.allowed, dep.message);
    await c.kube.delete("v1", "ConfigMap", "owner", ns());
    await waitFor(
      "the garbage collector to delete ConfigMap dependent",
      async () => (await c.kube.get("v1", "ConfigMap", "dependent", ns())) === undefined,
      { timeoutMs: 30_000 },
    );
  });
});

// The inventory against a real kube-apiserver: a namespace with claimed, shadow, unused,
// legacy-token, violating and orphaned identities, read back through NHI status, Events and the
// JSON inventory endpoint.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedCluster, useNamespace } from "../harness/mocha.js";
import { waitFor } from "../harness/wait.js";
import {
  OWNER,
  eventsOf,
  getNhi,
  installPolicyReportCrd,
  nhiYaml,
  useOperator,
  type OperatorProcess,
} from "./reconcilers-helpers.js";

interface InventoryDoc {
  kind: string;
  summary: { identities: number; shadow: number; byPhase: Record<string, number> };
  identities: {
    name: string;
    nhi?: string;
    phase: string;
    shadow: boolean;
    workloads: string[];
    reuse: boolean;
    pods: number;
    legacyTokens: { name: string }[];
    excessTotal: number;
    risk: { score: number; factors: { name: string }[] };
  }[];
}

function selfSignedCert(days: number): string {
  const dir = mkdtempSync(join(tmpdir(), "nhi-e2e-cert-"));
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        String(days),
        "-subj",
        "/CN=orders",
        "-keyout",
        join(dir, "k"),
        "-out",
        join(dir, "c"),
      ],
      { stdio: "ignore" },
    );
    return readFileSync(join(dir, "c"), "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("inventory: a namespace on a real control plane", function () {
  const ns = useNamespace("inv");
  const operator = useOperator();
  let op: OperatorProcess | undefined;

  it("classifies claimed, shadow, unused, legacy-token, violating and orphaned identities", async function () {
    this.timeout(120_000);
    const c = sharedCluster();
    const n = ns();
    const cert = selfSignedCert(10);
    const b64 = (s: string): string => Buffer.from(s).toString("base64");
    const objects = `
apiVersion: v1
kind: ServiceAccount
metadata: { name: orders, namespace: ${n} }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: shadow, namespace: ${n} }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: idle, namespace: ${n} }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: legacy, namespace: ${n} }
---
apiVersion: v1
kind: Secret
metadata: { name: legacy-token, namespace: ${n}, annotations: { kubernetes.io/service-account.name: legacy } }
type: kubernetes.io/service-account-token
---
apiVersion: v1
kind: Secret
metadata: { name: orders-tls, namespace: ${n} }
type: kubernetes.io/tls
data: { tls.crt: ${b64(cert)}, tls.key: ${b64("not a real key")} }
---
apiVersion: v1
kind: Secret
metadata: { name: gateway, namespace: ${n} }
data: { api-key: ${b64("sk_live_do_not_leak_me_1234567890")}, expiry: ${b64("2030-01-01T00:00:00Z")} }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: reader, namespace: ${n} }
rules: [{ apiGroups: [""], resources: [configmaps, secrets], verbs: [get] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: orders-reader, namespace: ${n} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader }
subjects: [{ kind: ServiceAccount, name: orders, namespace: ${n} }]
---
apiVersion: v1
kind: Pod
metadata: { name: orders-0, namespace: ${n} }
spec: { serviceAccountName: orders, containers: [{ name: app, image: registry.example.com/orders:1 }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${n} }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template: { metadata: { labels: { app: web } }, spec: { serviceAccountName: shadow, containers: [{ name: web, image: nginx }] } }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: worker, namespace: ${n} }
spec:
  replicas: 2
  selector: { matchLabels: { app: worker } }
  template: { metadata: { labels: { app: worker } }, spec: { serviceAccountName: shadow, containers: [{ name: worker, image: busybox }] } }
`;
    const v = await c.applyAs(objects);
    assert.ok(v.allowed, v.message);
    for (const [name, spec] of [
      [
        "orders",
        `${OWNER}\nserviceAccountName: orders\nscopes:\n  - { namespaces: [${n}], apiGroups: [""], resources: [configmaps], verbs: [get] }\ncredentials:\n  - { name: tls, type: Certificate, secretName: orders-tls, renewBefore: 720h }\n  - { name: gateway, type: External, secretName: gateway, expiryJSONPath: "$.data.expiry" }`,
      ],
      ["ghost", `${OWNER}\nserviceAccountName: does-not-exist`],
    ] as const) {
      const r = await c.applyAs(nhiYaml(n, name, spec));
      assert.ok(r.allowed, r.message);
    }
    await waitFor(
      "the token controller to fill the legacy token",
      async () => {
        const s = await c.kube.get<{
          apiVersion: string;
          kind: string;
          metadata: { name: string };
          data?: Record<string, string>;
        }>("v1", "Secret", "legacy-token", n);
        return s?.data?.token !== undefined;
      },
      { timeoutMs: 30_000 },
    );

    // The real PolicyReport CRD (Kyverno's schema): reports are written only when it exists.
    await installPolicyReportCrd();
    op = await operator.start({ args: ["--unused-after", "1s"] });
    const doc = await waitFor(
      "the inventory of the namespace",
      async () => {
        const d = await op?.get<InventoryDoc>(`/inventory?namespace=${n}`);
        return d &&
          d.identities.some((i) => i.name === "legacy" && i.legacyTokens.length > 0) &&
          d.identities.some((i) => i.name === "idle" && i.phase === "Unused")
          ? d
          : undefined;
      },
      { timeoutMs: 30_000, describe: (d) => JSON.stringify(d).slice(0, 800) },
    );
    const by = new Map(doc.identities.map((i) => [i.name, i]));
    assert.equal(doc.kind, "Inventory");
    assert.deepEqual([...by.keys()].sort(), [
      "default",
      "does-not-exist",
      "idle",
      "legacy",
      "orders",
      "shadow",
    ]);
    assert.deepEqual(
      [by.get("orders")?.phase, by.get("orders")?.shadow, by.get("orders")?.pods],
      ["Violating", false, 1],
    );
    assert.equal(by.get("orders")?.excessTotal, 1);
    assert.deepEqual(
      [by.get("shadow")?.shadow, by.get("shadow")?.reuse, by.get("shadow")?.workloads],
      [true, true, ["Deployment/web", "Deployment/worker"]],
    );
    assert.ok(by.get("shadow")?.risk.factors.some((f) => f.name === "usage-reuse"));
    assert.equal(by.get("idle")?.phase, "Unused");
    assert.deepEqual(
      by.get("legacy")?.legacyTokens.map((t) => t.name),
      ["legacy-token"],
    );
    assert.ok(by.get("legacy")?.risk.factors.some((f) => f.name === "credential-long-lived"));
    assert.equal(by.get("does-not-exist")?.phase, "Orphaned");
    assert.ok(
      !JSON.stringify(doc).includes("sk_live_do_not_leak_me"),
      "a secret value appears in the inventory",
    );

    const orders = await waitFor(
      "the orders NHI status",
      async () => {
        const x = await getNhi(n, "orders");
        return x?.status?.phase === "Violating" && (x.status.credentials?.length ?? 0) === 2
          ? x
          : undefined;
      },
      {
        timeoutMs: 30_000,
        describe: (x) =>
          JSON.stringify((x as { status?: unknown } | undefined)?.status ?? {}).slice(0, 800),
      },
    );
    const st = orders.status;
    assert.equal(st?.observedGeneration, orders.metadata.generation);
    assert.deepEqual(
      st?.excessPermissions?.map((e) => [
        e.verb,
        e.resource,
        e.namespace,
        e.binding.kind,
        e.binding.name,
      ]),
      [["get", "secrets", n, "RoleBinding", "orders-reader"]],
    );
    const cond = new Map(st?.conditions?.map((x) => [x.type, x]));
    assert.equal(cond.get("ScopeCompliant")?.status, "False");
    assert.match(
      cond.get("ScopeCompliant")?.message ?? "",
      /get secrets in namespace .* via RoleBinding .*orders-reader/,
    );
    assert.equal(cond.get("InUse")?.status, "True");
    const tls = st?.credentials?.find((x) => x.name === "tls");
    const notAfter = Date.parse(tls?.expiresAt ?? "");
    assert.ok(
      Math.abs(notAfter - (Date.now() + 10 * 86_400_000)) < 120_000,
      `certificate notAfter read as ${tls?.expiresAt}`,
    );
    assert.equal(
      st?.credentials?.find((x) => x.name === "gateway")?.expiresAt,
      "2030-01-01T00:00:00Z",
    );
    assert.ok((st?.risk?.score ?? 0) > 0 && (st?.risk?.factors?.length ?? 0) > 0);
    assert.ok(
      !JSON.stringify(st).includes("sk_live_do_not_leak_me"),
      "a secret value appears in the status",
    );
    assert.equal((await getNhi(n, "ghost"))?.status?.phase, "Orphaned");

    const events = await waitFor(
      "Violating and Expiring events",
      async () => {
        const e = await eventsOf(n, "orders");
        return e.some((x) => x.reason === "Violating") &&
          e.some((x) => x.reason === "CredentialsExpiring")
          ? e
          : undefined;
      },
      { timeoutMs: 20_000, describe: (e) => JSON.stringify(e) },
    );
    assert.ok(events.every((e) => !e.message.includes("sk_live")));
    const report = await waitFor(
      "the namespace's PolicyReport",
      async () => {
        const r = await c.kube.get<{
          apiVersion: string;
          kind: string;
          metadata: { name: string };
          summary?: Record<string, number>;
          results?: { rule: string; result: string; resources: { name: string }[] }[];
        }>("wgpolicyk8s.io/v1alpha2", "PolicyReport", "nhi-operator", n);
        return r?.results?.some((x) => x.rule === "scope-exceeded") ? r : undefined;
      },
      { timeoutMs: 30_000 },
    );
    assert.ok((report.summary?.fail ?? 0) >= 1);
    assert.ok(
      report.results?.some(
        (x) => x.rule === "shadow-identity" && x.resources[0]?.name === "shadow",
      ),
    );
    assert.ok(
      report.results?.some((x) => x.rule === "legacy-token" && x.resources[0]?.name === "legacy"),
    );
    assert.ok(!JSON.stringify(report).includes("sk_live_do_not_leak_me"));
    const metrics = await (await fetch(`http://127.0.0.1:${op.port}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(`nhi_identities\\{namespace="${n}",phase="Violating",claimed="true"\\} 1`),
    );
    assert.match(metrics, /nhi_credential_expiry_timestamp_seconds\{[^}]*credential="tls"/);
  });
});

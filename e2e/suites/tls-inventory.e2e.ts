// TLS Secrets no NHI declares, on a real control plane: an expired and an expiring certificate
// mounted by a Deployment, a tls.crt that cannot be parsed, and one an NHI declares. They must show
// in /inventory (held by the Deployment's ServiceAccount), in the metrics, in the namespace's
// PolicyReport (the real wgpolicyk8s.io CRD) and as Events on the Secret — and a renewed
// certificate must be re-read (its resourceVersion changed).
import assert from "node:assert/strict";
import { sharedCluster, useNamespace } from "../harness/mocha.js";
import type { KubeObject } from "../harness/kube.js";
import { waitFor } from "../harness/wait.js";
import { issueCa, issueServing } from "../../edge/x509.js";
import { OWNER, installPolicyReportCrd, nhiYaml, useOperator } from "./reconcilers-helpers.js";
import type { TlsCertificateRecord } from "../../core/inventory/tls.js";

const DAY = 86_400_000;

interface InventoryDoc {
  summary: { tlsCertificates?: { total: number; byHealth: Record<string, number> } };
  tlsCertificates?: TlsCertificateRecord[];
}
interface Report extends KubeObject {
  results?: {
    policy: string;
    rule: string;
    result: string;
    message: string;
    resources: { kind: string; name: string }[];
  }[];
}

describe("inventory: TLS Secrets no NHI declares", function () {
  const ns = useNamespace("tls");
  const operator = useOperator();

  it("reports expired, expiring and unreadable certificates with the ServiceAccount that mounts them", async function () {
    this.timeout(150_000);
    const c = sharedCluster();
    const n = ns();
    const now = Date.now();
    const ca = issueCa("e2e-ca", {
      notBefore: new Date(now - 60 * DAY),
      notAfter: new Date(now + 365 * DAY),
    });
    const leaf = (name: string, from: number, to: number) =>
      issueServing(ca, [`${name}.${n}.svc`], { notBefore: new Date(from), notAfter: new Date(to) });
    const expired = leaf("expired", now - 30 * DAY, now - DAY);
    const expiring = leaf("expiring", now - 20 * DAY, now + 2 * DAY); // 22 days of life: Expiring 7 days before
    const declared = leaf("declared", now - DAY, now + 90 * DAY);
    const b64 = (s: string): string => Buffer.from(s).toString("base64");
    const tls = (name: string, crt: string, key: string, extra = ""): string => `apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: ${n}${extra} }
type: kubernetes.io/tls
data: { tls.crt: ${b64(crt)}, tls.key: ${b64(key)} }
`;
    const objects = [
      `apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: web, namespace: ${n} }\n`,
      `apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: orders, namespace: ${n} }\n`,
      tls("expired-tls", expired.certPem, expired.keyPem),
      tls(
        "expiring-tls",
        expiring.certPem + ca.certPem,
        expiring.keyPem,
        ", annotations: { cert-manager.io/certificate-name: expiring }",
      ),
      tls(
        "broken-tls",
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
        expired.keyPem,
      ),
      tls("declared-tls", declared.certPem, declared.keyPem),
      `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${n} }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      serviceAccountName: web
      containers: [{ name: web, image: nginx, volumeMounts: [{ name: certs, mountPath: /certs }, { name: bundle, mountPath: /bundle }] }]
      volumes:
        - { name: certs, secret: { secretName: expired-tls } }
        - { name: bundle, projected: { sources: [{ secret: { name: expiring-tls } }] } }
`,
    ].join("---\n");
    const v = await c.applyAs(objects);
    assert.ok(v.allowed, v.message);
    const r = await c.applyAs(
      nhiYaml(
        n,
        "orders",
        `${OWNER}\nserviceAccountName: orders\ncredentials:\n  - { name: serving, type: Certificate, secretName: declared-tls }`,
      ),
    );
    assert.ok(r.allowed, r.message);
    await installPolicyReportCrd();
    // The cluster's deployment and replicaset controllers make the pod: it holds the certificates
    // too, under the Deployment's account, and is not a workload of its own.
    await waitFor(
      "the replicaset controller's pod of Deployment web",
      async () => {
        const pods = await c.kube.must<{
          items: { metadata: { ownerReferences?: { kind: string }[] } }[];
        }>("GET", `/api/v1/namespaces/${n}/pods`);
        return pods.items.some((p) =>
          p.metadata.ownerReferences?.some((o) => o.kind === "ReplicaSet"),
        );
      },
      { timeoutMs: 30_000 },
    );

    const op = await operator.start();
    let seen: InventoryDoc | undefined;
    const doc = await waitFor(
      "the namespace's four TLS Secrets in /inventory",
      async () => {
        seen = await op.get<InventoryDoc>(`/inventory?namespace=${n}`);
        return (seen.tlsCertificates?.length ?? 0) === 4 ? seen : undefined;
      },
      {
        timeoutMs: 30_000,
        describe: () => `/inventory answered ${JSON.stringify(seen ?? null).slice(0, 1500)}`,
      },
    );
    const by = new Map((doc.tlsCertificates ?? []).map((t) => [t.secretName, t]));
    const exp = by.get("expired-tls");
    assert.deepEqual(
      [exp?.health, exp?.serviceAccounts, exp?.workloads],
      ["Expired", ["web"], ["Deployment/web"]],
    );
    assert.ok(
      Math.abs(Date.parse(exp?.notAfter ?? "") - (now - DAY)) < 2000,
      `notAfter read as ${exp?.notAfter}`,
    );
    assert.deepEqual(
      [exp?.subject, exp?.issuer, exp?.dnsNames],
      [`expired.${n}.svc`, "e2e-ca", [`expired.${n}.svc`]],
    );
    assert.match(exp?.fingerprint ?? "", /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const soon = by.get("expiring-tls");
    assert.deepEqual(
      [soon?.health, soon?.serviceAccounts, soon?.workloads, soon?.managedBy],
      ["Expiring", ["web"], ["Deployment/web"], ["Certificate/expiring"]],
    );
    assert.equal(soon?.subject, `expiring.${n}.svc`, "the leaf, not the CA after it, is read");
    assert.equal(by.get("broken-tls")?.health, "Unreadable");
    assert.match(
      by.get("broken-tls")?.message ?? "",
      new RegExp(`^tls\\.crt of Secret ${n}/broken-tls cannot be parsed: `),
    );
    assert.deepEqual(
      [
        by.get("declared-tls")?.health,
        by.get("declared-tls")?.nhi,
        by.get("declared-tls")?.credential,
      ],
      ["Valid", "orders", "serving"],
    );
    assert.deepEqual(doc.summary.tlsCertificates, {
      total: 4,
      byHealth: { Expired: 1, Expiring: 1, Unreadable: 1, Valid: 1 },
    });
    const text = JSON.stringify(doc);
    for (const k of [expired.keyPem, expiring.keyPem, declared.keyPem])
      assert.ok(!text.includes(k.split("\n")[1] ?? "-"), "key material in the inventory");

    const metrics = await (await fetch(`http://127.0.0.1:${op.port}/metrics`)).text();
    const at = new RegExp(
      `nhi_tls_certificate_expiration_timestamp_seconds\\{namespace="${n}",secret="expired-tls"\\} (\\d+)`,
    ).exec(metrics);
    assert.ok(at, "no expiration gauge for expired-tls");
    assert.ok(Math.abs(Number(at[1]) - (now - DAY) / 1000) < 2);
    assert.match(
      metrics,
      new RegExp(`nhi_tls_certificates\\{namespace="${n}",health="Expired"\\} 1`),
    );
    assert.match(
      metrics,
      new RegExp(`nhi_tls_certificates\\{namespace="${n}",health="Expiring"\\} 1`),
    );

    const report = await waitFor(
      "the namespace's PolicyReport with the certificates",
      async () => {
        const x = await c.kube.get<Report>(
          "wgpolicyk8s.io/v1alpha2",
          "PolicyReport",
          "nhi-operator",
          n,
        );
        return x?.results?.some((y) => y.rule === "certificate-expired") ? x : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const certs = (report.results ?? []).filter((x) => x.policy === "nhi-certificates");
    const line = (x: (typeof certs)[number]): string =>
      `${x.rule}=${x.result} ${x.resources.map((y) => `${y.kind}/${y.name}`).join(",")}`;
    assert.deepEqual(
      certs.map(line).sort(),
      [
        "certificate-expired=fail Secret/expired-tls,ServiceAccount/web",
        "certificate-expiring=warn Secret/expiring-tls,ServiceAccount/web",
        "certificate-unreadable=error Secret/broken-tls",
      ],
      "declared-tls is reported through its NHI, not here",
    );
    assert.ok(!JSON.stringify(report).includes(expired.keyPem.split("\n")[1] ?? "-"));

    const events = await waitFor(
      "a CertificateExpired Event on the Secret",
      async () => {
        const e = await c.kube.must<{
          items: {
            reason: string;
            message: string;
            involvedObject: { kind: string; name: string };
          }[];
        }>("GET", `/api/v1/namespaces/${n}/events`);
        const mine = e.items.filter((x) => x.involvedObject.kind === "Secret");
        return mine.some(
          (x) => x.involvedObject.name === "expired-tls" && x.reason === "CertificateExpired",
        )
          ? mine
          : undefined;
      },
      { timeoutMs: 20_000 },
    );
    assert.ok(
      events.some(
        (x) => x.involvedObject.name === "expiring-tls" && x.reason === "CertificateExpiring",
      ),
    );
    assert.ok(!events.some((x) => x.involvedObject.name === "declared-tls"));

    // Renewed in place: a new resourceVersion is read again, and the finding clears.
    const renewed = leaf("expired", now - DAY, now + 60 * DAY);
    await c.kube.must("PATCH", `/api/v1/namespaces/${n}/secrets/expired-tls`, {
      body: { data: { "tls.crt": b64(renewed.certPem), "tls.key": b64(renewed.keyPem) } },
      contentType: "application/merge-patch+json",
    });
    await waitFor(
      "the renewed certificate to be read",
      async () => {
        const d = await op.get<InventoryDoc>(`/inventory?namespace=${n}`);
        return d.tlsCertificates?.find((t) => t.secretName === "expired-tls")?.health === "Valid";
      },
      { timeoutMs: 30_000 },
    );
  });
});

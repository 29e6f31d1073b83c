import { expect } from "chai";
import {
  assessCertificate,
  buildInventory,
  inventoryDocument,
  tlsInventory,
  tlsNextAt,
  type CertificateFacts,
  type TlsReading,
} from "../../../core/inventory/index.js";
import {
  emptySnapshot,
  indexSnapshot,
  type ClusterSnapshot,
  type SecretMetadata,
  type WorkloadObject,
} from "../../../core/snapshot.js";
import type { NonHumanIdentity } from "../../../core/nhi/types.js";
import { policyReports } from "../../../operator/controllers/reports/decide.js";
import { tlsTransitionEvents } from "../../../operator/controllers/inventory/decide.js";
import { ControllerMetrics } from "../../../operator/controllers/metrics.js";
import { Registry } from "prom-client";

const NOW = Date.parse("2026-11-22T12:00:00Z");
const DAY = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString().replace(".000Z", "Z");

const cert = (
  notBefore: number,
  notAfter: number,
  over: Partial<CertificateFacts> = {},
): CertificateFacts => ({
  notBefore,
  notAfter,
  subjectCN: "web.shop",
  issuerCN: "shop-ca",
  dnsNames: ["web.shop.svc"],
  fingerprint: "AA:BB",
  ...over,
});
const tlsSecret = (name: string, meta: Record<string, unknown> = {}): SecretMetadata => ({
  kind: "Secret",
  type: "kubernetes.io/tls",
  metadata: { name, namespace: "shop", resourceVersion: "1", ...meta },
});
const deployment = (
  name: string,
  serviceAccountName: string,
  volumes: unknown[],
  extra: Record<string, unknown> = {},
): WorkloadObject => ({
  kind: "Deployment",
  metadata: { name, namespace: "shop", ...extra },
  spec: { template: { spec: { serviceAccountName, volumes, containers: [{ name: "c" }] } } },
});

function shop(): { s: ClusterSnapshot; readings: Map<string, TlsReading> } {
  const s = emptySnapshot();
  s.serviceAccounts = [
    { kind: "ServiceAccount", metadata: { name: "web", namespace: "shop" } },
    { kind: "ServiceAccount", metadata: { name: "api", namespace: "shop" } },
  ];
  s.secrets = [
    tlsSecret("web-tls", { annotations: { "cert-manager.io/certificate-name": "web" } }),
    tlsSecret("old-tls"),
    tlsSecret("broken-tls"),
    tlsSecret("api-tls", {
      ownerReferences: [{ kind: "Certificate", name: "api", controller: true }],
    }),
    tlsSecret("declared-tls"),
    { kind: "Secret", type: "Opaque", metadata: { name: "not-tls", namespace: "shop" } },
  ];
  s.workloads = [
    deployment("web", "web", [
      { name: "certs", secret: { secretName: "web-tls" } },
      { name: "p", projected: { sources: [{ secret: { name: "old-tls" } }] } },
    ]),
    // A ReplicaSet and a Pod the controllers made for the Deployment: their account counts, they are not workloads of their own.
    {
      kind: "Pod",
      metadata: {
        name: "web-1",
        namespace: "shop",
        ownerReferences: [{ kind: "ReplicaSet", name: "web-1", controller: true }],
      } as WorkloadObject["metadata"],
      spec: {
        serviceAccountName: "web",
        volumes: [{ name: "certs", secret: { secretName: "web-tls" } }],
      },
      status: { phase: "Pending" },
    } as WorkloadObject,
    {
      kind: "Pod",
      metadata: { name: "debug", namespace: "shop" },
      spec: {
        serviceAccountName: "api",
        containers: [
          {
            name: "c",
            env: [
              { name: "CRT", valueFrom: { secretKeyRef: { name: "old-tls", key: "tls.crt" } } },
            ],
          },
        ],
      },
    },
    {
      kind: "Pod",
      metadata: { name: "done", namespace: "shop" },
      spec: {
        serviceAccountName: "gone",
        volumes: [{ name: "v", secret: { secretName: "web-tls" } }],
      },
      status: { phase: "Succeeded" },
    } as WorkloadObject,
    deployment("other-ns", "web", [{ name: "certs", secret: { secretName: "web-tls" } }], {
      namespace: "elsewhere",
    }),
  ];
  const orders: NonHumanIdentity = {
    apiVersion: "nhi.io/v1alpha1",
    kind: "NonHumanIdentity",
    metadata: { name: "orders", namespace: "shop" },
    spec: {
      owner: { team: "t", contact: "c" },
      purpose: "p",
      serviceAccountName: "web",
      credentials: [{ name: "serving", type: "Certificate", secretName: "declared-tls" }],
    },
  };
  s.nhis = [orders];
  const readings = new Map<string, TlsReading>([
    ["shop/web-tls", cert(NOW - 60 * DAY, NOW + 30 * DAY)],
    ["shop/old-tls", cert(NOW - 90 * DAY, NOW - DAY)],
    ["shop/broken-tls", { problem: "not a PEM certificate" }],
    ["shop/api-tls", cert(NOW - 80 * DAY, NOW + 2 * DAY)],
    ["shop/declared-tls", cert(NOW - 80 * DAY, NOW - DAY)],
  ]);
  return { s, readings };
}

describe("TLS Secrets in the inventory", () => {
  it("judges a certificate with the observed-credential threshold: a third of its life, at most 7 days", () => {
    const short = cert(NOW - 6 * DAY, NOW + 3 * DAY); // 9 days of life: alert 3 days before
    expect(assessCertificate(short, NOW - DAY, "Secret shop/x").health).to.equal("Valid");
    expect(assessCertificate(short, NOW, "Secret shop/x")).to.deep.equal({
      health: "Expiring",
      alertAt: NOW,
      message: "certificate of Secret shop/x expires at 2026-11-25T12:00:00Z",
    });
    expect(assessCertificate(short, NOW + 3 * DAY, "Secret shop/x").health).to.equal("Expired");
    const long = cert(NOW - 300 * DAY, NOW + 65 * DAY); // a year: alert 7 days before
    expect(assessCertificate(long, NOW + 57 * DAY, "s").health).to.equal("Valid");
    expect(assessCertificate(long, NOW + 58 * DAY, "s").health).to.equal("Expiring");
    expect(
      assessCertificate({ problem: "not a PEM certificate" }, NOW, "Secret shop/b"),
    ).to.deep.equal({
      health: "Unreadable",
      message: "tls.crt of Secret shop/b cannot be parsed: not a PEM certificate",
    });
    expect(assessCertificate(undefined, NOW, "Secret shop/b").health).to.equal("Unknown");
  });

  it("lists every kubernetes.io/tls Secret with its health, holders, manager and declaring NHI", () => {
    const { s, readings } = shop();
    const by = new Map(tlsInventory(s, readings, NOW).map((t) => [t.secretName, t]));
    expect([...by.keys()]).to.deep.equal([
      "api-tls",
      "broken-tls",
      "declared-tls",
      "old-tls",
      "web-tls",
    ]);
    expect(by.get("web-tls")).to.deep.equal({
      namespace: "shop",
      secretName: "web-tls",
      health: "Valid",
      message: "certificate of Secret shop/web-tls is valid until 2026-12-22T12:00:00Z",
      notBefore: iso(NOW - 60 * DAY),
      notAfter: iso(NOW + 30 * DAY),
      alertAt: iso(NOW + 23 * DAY),
      subject: "web.shop",
      issuer: "shop-ca",
      dnsNames: ["web.shop.svc"],
      fingerprint: "AA:BB",
      serviceAccounts: ["web"],
      workloads: ["Deployment/web"],
      managedBy: ["Certificate/web"],
    });
    // Projected volume and an env reference both hold it; the bare pod is a workload of its own.
    expect([
      by.get("old-tls")?.health,
      by.get("old-tls")?.serviceAccounts,
      by.get("old-tls")?.workloads,
    ]).to.deep.equal(["Expired", ["api", "web"], ["Deployment/web", "Pod/debug"]]);
    expect([
      by.get("api-tls")?.health,
      by.get("api-tls")?.managedBy,
      by.get("api-tls")?.serviceAccounts,
    ]).to.deep.equal(["Expiring", ["Certificate/api"], []]);
    expect(by.get("broken-tls")).to.include({
      health: "Unreadable",
      message: "tls.crt of Secret shop/broken-tls cannot be parsed: not a PEM certificate",
    });
    expect(by.get("broken-tls")?.notAfter).to.equal(undefined);
    expect(by.get("declared-tls")).to.include({
      health: "Expired",
      nhi: "orders",
      credential: "serving",
    });
  });

  it("wakes the inventory when a certificate turns Expiring or Expired", () => {
    const { s, readings } = shop();
    expect(tlsNextAt(tlsInventory(s, readings, NOW), NOW)).to.equal(NOW + 2 * DAY);
    expect(tlsNextAt([], NOW)).to.equal(undefined);
  });

  it("is part of the inventory document, filtered by namespace and counted by health", () => {
    const { s, readings } = shop();
    const index = indexSnapshot(s);
    const inv = buildInventory(s, index, { now: NOW, tlsReadings: readings });
    const doc = inventoryDocument(inv, "shop");
    expect(doc.tlsCertificates.map((t) => t.secretName)).to.have.length(5);
    expect(doc.summary.tlsCertificates).to.deep.equal({
      total: 5,
      byHealth: { Expiring: 1, Unreadable: 1, Expired: 2, Valid: 1 },
    });
    expect(inventoryDocument(inv, "elsewhere").tlsCertificates).to.deep.equal([]);
    // The declared certificate is the NHI's credential as before.
    expect(inv.byNhi.get("shop/orders")?.credentials.map((c) => c.health)).to.deep.equal([
      "Missing",
    ]);
  });

  it("reports an undeclared certificate on the Secret and its holders, a declared one only through its NHI", () => {
    const { s, readings } = shop();
    const index = indexSnapshot(s);
    const inv = buildInventory(s, index, { now: NOW, tlsReadings: readings });
    const results =
      policyReports(inv, NOW)
        .find((r) => r.metadata.namespace === "shop")
        ?.results.filter((r) => r.policy === "nhi-certificates") ?? [];
    expect(
      results.map(
        (r) =>
          `${r.rule}=${r.result}/${r.severity} ${r.resources.map((x) => `${x.kind}/${x.name}`).join(",")}`,
      ),
    ).to.deep.equal([
      "certificate-expiring=warn/medium Secret/api-tls",
      "certificate-unreadable=error/medium Secret/broken-tls",
      "certificate-expired=fail/high Secret/old-tls,ServiceAccount/api,ServiceAccount/web",
      "certificate-valid=pass/info Secret/web-tls,ServiceAccount/web",
    ]);
    const expired = results.find((r) => r.rule === "certificate-expired");
    expect(expired?.message).to.equal(
      "certificate of Secret shop/old-tls expired at 2026-11-21T12:00:00Z (held by ServiceAccount api, web)",
    );
    expect(expired?.properties).to.deep.equal({
      secret: "old-tls",
      notAfter: "2026-11-21T12:00:00Z",
      workloads: "Deployment/web, Pod/debug",
    });
    // A TLS Secret alone in its namespace still gets a report.
    const lone = emptySnapshot();
    lone.secrets = [{ ...tlsSecret("x"), metadata: { name: "x", namespace: "edge" } }];
    const inv2 = buildInventory(lone, indexSnapshot(lone), {
      now: NOW,
      tlsReadings: new Map([["edge/x", cert(NOW - 10 * DAY, NOW - DAY)]]),
    });
    expect(
      policyReports(inv2, NOW).map((r) => [r.metadata.namespace, r.summary.fail]),
    ).to.deep.equal([["edge", 1]]);
  });

  it("exports one expiration timestamp per readable TLS Secret and counts by health, no free text in labels", async () => {
    const { s, readings } = shop();
    const registry = new Registry();
    const metrics = new ControllerMetrics(registry);
    metrics.observeInventory(
      buildInventory(s, indexSnapshot(s), { now: NOW, tlsReadings: readings }),
    );
    const text = await registry.metrics();
    const series = text.split("\n").filter((l) => l.startsWith("nhi_tls_"));
    expect(series).to.include(
      `nhi_tls_certificate_expiration_timestamp_seconds{namespace="shop",secret="old-tls"} ${(NOW - DAY) / 1000}`,
    );
    expect(series).to.include(
      `nhi_tls_certificate_expiration_timestamp_seconds{namespace="shop",secret="declared-tls"} ${(NOW - DAY) / 1000}`,
    );
    expect(series.filter((l) => l.includes("broken-tls"))).to.deep.equal([]);
    expect(series.filter((l) => l.startsWith("nhi_tls_certificates{")).sort()).to.deep.equal([
      'nhi_tls_certificates{namespace="shop",health="Expired"} 2',
      'nhi_tls_certificates{namespace="shop",health="Expiring"} 1',
      'nhi_tls_certificates{namespace="shop",health="Unreadable"} 1',
      'nhi_tls_certificates{namespace="shop",health="Valid"} 1',
    ]);
  });

  it("records one Warning Event on an undeclared Secret when its certificate turns bad, none for a declared one", () => {
    const { s, readings } = shop();
    const by = new Map(tlsInventory(s, readings, NOW).map((t) => [t.secretName, t]));
    const old = by.get("old-tls");
    const declared = by.get("declared-tls");
    const valid = by.get("web-tls");
    if (!old || !declared || !valid) throw new Error("fixture");
    expect(tlsTransitionEvents(undefined, old)).to.deep.equal([
      {
        type: "Warning",
        reason: "CertificateExpired",
        message:
          "certificate of Secret shop/old-tls expired at 2026-11-21T12:00:00Z; mounted by Deployment/web, Pod/debug running as api, web",
      },
    ]);
    expect(tlsTransitionEvents("Expiring", old).map((e) => e.reason)).to.deep.equal([
      "CertificateExpired",
    ]);
    expect(tlsTransitionEvents("Expired", old)).to.deep.equal([]);
    expect(tlsTransitionEvents(undefined, declared)).to.deep.equal([]);
    expect(tlsTransitionEvents(undefined, valid)).to.deep.equal([]);
  });
});

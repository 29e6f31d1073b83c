import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  certificateValidity,
  factsOf,
  readJsonPathExpiry,
  tlsReadingOf,
  TlsCertificateReader,
} from "../../../operator/controllers/inventory/facts.js";
import { issueCa, issueServing } from "../../../edge/x509.js";
import { assessCertificate } from "../../../core/inventory/tls.js";
import { emptySnapshot, type ClusterSnapshot } from "../../../core/snapshot.js";
import type { KubeRest } from "../../../operator/k8s/rest.js";
import { scrub } from "../../../operator/k8s/events.js";
import { consumersOf, kubeconfigFor } from "../../../operator/controllers/credentials/decide.js";
import { transitionEvents } from "../../../operator/controllers/inventory/decide.js";
import type { IdentityRecord } from "../../../core/inventory/inventory.js";

const b64 = (s: string): string => Buffer.from(s).toString("base64");

describe("credential facts at the edge", () => {
  it("reads a certificate's validity with node:crypto", function () {
    const dir = mkdtempSync(join(tmpdir(), "nhi-cert-"));
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
          "30",
          "-subj",
          "/CN=t",
          "-keyout",
          join(dir, "k"),
          "-out",
          join(dir, "c"),
        ],
        { stdio: "ignore" },
      );
    } catch {
      this.skip();
    }
    const pem = readFileSync(join(dir, "c"), "utf8");
    rmSync(dir, { recursive: true, force: true });
    const v = certificateValidity(pem);
    if (!("notAfter" in v)) throw new Error(v.problem);
    expect(Math.round((v.notAfter - v.notBefore) / 86_400_000)).to.equal(30);
    expect(
      factsOf(
        { name: "t", type: "Certificate", secretName: "s" },
        { metadata: { name: "s" }, data: { "tls.crt": b64(pem) } },
      ).certificate,
    ).to.deep.equal(v);
    expect(certificateValidity("garbage")).to.deep.equal({ problem: "not a PEM certificate" });
  });

  it("reads an expiry at a JSONPath from decoded data or metadata, and never returns the value", () => {
    const secret = {
      metadata: { name: "s", annotations: { "vault/expires": "2027-01-01T00:00:00Z" } },
      data: { expiry: b64("1798761600"), password: b64("hunter2") },
    };
    expect(readJsonPathExpiry(secret, "$.data.expiry")).to.deep.equal({
      expiresAt: 1798761600_000,
    });
    expect(readJsonPathExpiry(secret, "$.metadata.annotations['vault/expires']")).to.deep.equal({
      expiresAt: Date.parse("2027-01-01T00:00:00Z"),
    });
    const wrong = readJsonPathExpiry(secret, "$.data.password");
    expect(wrong).to.deep.equal({ problem: "unparseable" });
    expect(JSON.stringify(wrong)).not.to.include("hunter2");
    expect(readJsonPathExpiry(secret, "$.data.nope")).to.deep.equal({ problem: "missing" });
  });
});

describe("edge helpers", () => {
  it("scrubs anything token-shaped from event messages", () => {
    const jwt =
      "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJrdWJlcm5ldGVzIn0.c2lnbmF0dXJlc2lnbmF0dXJl";
    expect(scrub(`rotated: ${jwt} done`)).to.equal("rotated: [redacted] done");
    expect(scrub("rotated credential ci (Secret ci-token, generation 2)")).to.equal(
      "rotated credential ci (Secret ci-token, generation 2)",
    );
  });

  it("finds the Deployments, StatefulSets and DaemonSets that consume a Secret, by any route", () => {
    const d = (kind: string, name: string, spec: unknown) => ({
      kind,
      metadata: { name, namespace: "shop" },
      spec: { template: { spec } },
    });
    const w = [
      d("Deployment", "env", {
        containers: [
          { name: "c", env: [{ name: "K", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }] },
        ],
      }),
      d("StatefulSet", "envfrom", {
        containers: [{ name: "c", envFrom: [{ secretRef: { name: "s" } }] }],
      }),
      d("DaemonSet", "projected", {
        volumes: [{ name: "v", projected: { sources: [{ secret: { name: "s" } }] } }],
      }),
      d("Deployment", "other", { volumes: [{ name: "v", secret: { secretName: "t" } }] }),
      d("Job", "job", { volumes: [{ name: "v", secret: { secretName: "s" } }] }),
    ];
    expect(consumersOf(w, "shop", "s").map((x) => x.metadata.name)).to.deep.equal([
      "env",
      "envfrom",
      "projected",
    ]);
    expect(consumersOf(w, "other", "s")).to.deep.equal([]);
  });

  it("writes a kubeconfig that names the account and namespace", () => {
    const k = JSON.parse(
      kubeconfigFor({
        server: "https://k:6443",
        caData: "Q0E=",
        namespace: "ci",
        user: "deployer",
        token: "T",
      }),
    ) as { "current-context": string; contexts: { context: { namespace: string } }[] };
    expect(k["current-context"]).to.equal("deployer");
    expect(k.contexts[0]?.context.namespace).to.equal("ci");
  });

  it("plans events on phase transitions and when credentials go stale", () => {
    const rec = { reason: "expires at 2026-12-01T00:00:00Z" } as IdentityRecord;
    const ev = transitionEvents(
      { phase: "Active" },
      {
        phase: "Expiring",
        conditions: [
          {
            type: "CredentialsFresh",
            status: "False",
            reason: "Expiring",
            message: "tls expires soon",
            lastTransitionTime: "",
          },
        ],
      },
      rec,
    );
    expect(ev.map((e) => `${e.type}/${e.reason}`)).to.deep.equal([
      "Warning/Expiring",
      "Warning/CredentialsExpiring",
    ]);
    expect(transitionEvents({ phase: "Active" }, { phase: "Active" }, rec)).to.deep.equal([]);
  });
});

describe("TLS Secret facts at the edge", () => {
  const DAY = 86_400_000;
  const now = Date.now();
  const ca = issueCa("shop-ca", {
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 365 * DAY),
  });
  const leaf = issueServing(ca, ["web.shop.svc", "web.shop.svc.cluster.local", "10.0.0.1"], {
    notBefore: new Date(now - 10 * DAY),
    notAfter: new Date(now + 20 * DAY),
  });
  const tlsSecret = (name: string, rv: string, crt: string | undefined) => ({
    metadata: { name, namespace: "shop", resourceVersion: rv },
    type: "kubernetes.io/tls",
    data: { ...(crt !== undefined ? { "tls.crt": b64(crt) } : {}), "tls.key": b64(leaf.keyPem) },
  });

  it("keeps the leaf's dates, names and fingerprint, never the key", () => {
    const r = tlsReadingOf(tlsSecret("web", "1", leaf.certPem + ca.certPem));
    if ("problem" in r) throw new Error(r.problem);
    expect(Math.round((r.notAfter - r.notBefore) / DAY)).to.equal(30);
    expect([r.subjectCN, r.issuerCN, r.dnsNames]).to.deep.equal([
      "web.shop.svc",
      "shop-ca",
      ["web.shop.svc", "web.shop.svc.cluster.local"],
    ]);
    expect(r.fingerprint).to.match(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const text = JSON.stringify(r);
    expect(text).not.to.include("PRIVATE");
    expect(text).not.to.include(leaf.keyPem.split("\n")[1]);
  });

  it("dates a chain by the certificate that expires first (an intermediate before its leaf), says which, and ignores a broken block after the leaf", () => {
    const shortCa = issueCa("short-lived-ca", {
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + 5 * DAY),
    });
    const longLeaf = issueServing(shortCa, ["api.shop.svc"], {
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + 300 * DAY),
    });
    const r = tlsReadingOf(tlsSecret("api", "1", longLeaf.certPem + shortCa.certPem));
    if ("problem" in r) throw new Error(r.problem);
    expect(r.notAfter).to.equal(Date.parse(new X509Certificate(shortCa.certPem).validTo));
    expect(r.expiresFirst).to.equal("short-lived-ca");
    expect(r.subjectCN).to.equal("api.shop.svc");
    const health = assessCertificate(r, now + 6 * DAY, "Secret shop/api");
    expect(health.health).to.equal("Expired");
    expect(health.message).to.include("its short-lived-ca certificate expires before the leaf");
    // The leaf alone is dated by itself; a block after it that does not parse is left out.
    const broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    const alone = tlsReadingOf(tlsSecret("api", "2", longLeaf.certPem + broken));
    if ("problem" in alone) throw new Error(alone.problem);
    expect(alone.expiresFirst).to.equal(undefined);
    expect(Math.round((alone.notAfter - now) / DAY)).to.equal(300);
    expect(certificateValidity(longLeaf.certPem + shortCa.certPem)).to.deep.equal({
      notBefore: r.notBefore,
      notAfter: r.notAfter,
    });
  });

  it("says what is wrong with a tls.crt that cannot be read, without its content", () => {
    expect(tlsReadingOf(tlsSecret("a", "1", "hello"))).to.deep.equal({
      problem: "not a PEM certificate",
    });
    expect(
      tlsReadingOf(
        tlsSecret("b", "1", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
      ),
    ).to.deep.equal({ problem: "not a parsable X.509 certificate" });
    expect(tlsReadingOf(tlsSecret("c", "1", undefined))).to.deep.equal({
      problem: "no tls.crt key",
    });
  });

  it("reads each TLS Secret once per resourceVersion and forgets deleted ones", async () => {
    const store = new Map<string, ReturnType<typeof tlsSecret>>([
      ["web", tlsSecret("web", "1", leaf.certPem)],
      ["bad", tlsSecret("bad", "1", "x")],
    ]);
    const gets: string[] = [];
    const rest = {
      find: async (path: string) => {
        gets.push(path);
        return store.get(path.split("/").at(-1) ?? "");
      },
    } as unknown as KubeRest;
    const reader = new TlsCertificateReader(rest);
    const snap = (): ClusterSnapshot => ({
      ...emptySnapshot(),
      secrets: [...store.values()].map((s) => ({
        kind: "Secret" as const,
        type: s.type,
        metadata: s.metadata,
      })),
    });
    const first = await reader.read(snap());
    expect([...first.keys()]).to.deep.equal(["shop/web", "shop/bad"]);
    expect(first.get("shop/bad")).to.deep.equal({ problem: "not a PEM certificate" });
    await reader.read(snap());
    expect(reader.reads).to.equal(2);
    store.set("bad", tlsSecret("bad", "2", leaf.certPem));
    const third = await reader.read(snap());
    expect(reader.reads).to.equal(3);
    expect(gets.at(-1)).to.equal("/api/v1/namespaces/shop/secrets/bad");
    expect(third.get("shop/bad")).to.have.property("notAfter");
    // Opaque Secrets are never read.
    const opaque: ClusterSnapshot = {
      ...emptySnapshot(),
      secrets: [
        {
          kind: "Secret",
          type: "Opaque",
          metadata: { name: "x", namespace: "shop", resourceVersion: "1" },
        },
      ],
    };
    expect((await reader.read(opaque)).size).to.equal(0);
    expect(reader.reads).to.equal(3);
  });
});

// The certificate generator (webhooks/server/x509.ts) and the edge's reading of it
// (operator/certs/self-managed.ts): Node parses and verifies what we write, a TLS client accepts it
// for the names it covers and only for them, and the bundle trusts both CAs during a rotation.
import { expect } from "chai";
import { X509Certificate } from "node:crypto";
import { createServer, type Server } from "node:https";
import { request } from "node:https";
import type { AddressInfo } from "node:net";
import { bundlePem, stateOf } from "../../../operator/certs/self-managed.js";
import { devServingCert } from "../../../webhooks/server/dev-certs.js";
import { issueCa, issueServing } from "../../../edge/x509.js";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const now = Date.now();
const validity = (fromMs: number, lifeMs: number): { notBefore: Date; notAfter: Date } => ({
  notBefore: new Date(now + fromMs),
  notAfter: new Date(now + fromMs + lifeMs),
});
const DAY = 86_400_000;

function get(port: number, ca: string, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/",
        ca,
        servername,
        headers: { host: servername },
        agent: false,
      },
      (res) => {
        res.resume();
        resolve(`HTTP ${res.statusCode ?? 0}`);
      },
    );
    req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end();
  });
}

describe("x509 generator", () => {
  const ca = issueCa("test-ca", validity(-60_000, 10 * DAY));
  const leaf = issueServing(
    ca,
    ["webhook.nhi-system.svc", "localhost", "127.0.0.1"],
    validity(-60_000, DAY),
  );

  it("writes a CA and a serving certificate Node parses and verifies", () => {
    const c = new X509Certificate(ca.certPem);
    const l = new X509Certificate(leaf.certPem);
    expect(c.ca).to.equal(true);
    expect(l.ca).to.equal(false);
    expect(c.verify(c.publicKey)).to.equal(true);
    expect(l.checkIssued(c)).to.equal(true);
    expect(l.verify(c.publicKey)).to.equal(true);
    expect(l.subjectAltName).to.equal(
      "DNS:webhook.nhi-system.svc, DNS:localhost, IP Address:127.0.0.1",
    );
    expect(l.checkHost("webhook.nhi-system.svc")).to.equal("webhook.nhi-system.svc");
    expect(l.checkIP("127.0.0.1")).to.equal("127.0.0.1");
    expect(l.checkHost("other.example.com")).to.equal(undefined);
    expect(Math.abs(new Date(l.validTo).getTime() - (now - 60_000 + DAY))).to.be.below(1000);
    expect(l.serialNumber).to.not.equal(
      new X509Certificate(issueServing(ca, ["localhost"], validity(0, DAY)).certPem).serialNumber,
    );
  });

  it("dates from 2050 on are GeneralizedTime and read back exactly", () => {
    const late = issueCa("late", {
      notBefore: new Date("2049-12-31T23:59:59Z"),
      notAfter: new Date("2051-06-01T12:00:00Z"),
    });
    const x = new X509Certificate(late.certPem);
    expect(new Date(x.validFrom).toISOString()).to.equal("2049-12-31T23:59:59.000Z");
    expect(new Date(x.validTo).toISOString()).to.equal("2051-06-01T12:00:00.000Z");
  });

  describe("over TLS", () => {
    let server: Server;
    let port = 0;
    before(async () => {
      server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (_req, res) => res.end("ok"));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      port = (server.address() as AddressInfo).port;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    it("a client trusting the CA connects for every covered name", async () => {
      expect(await get(port, ca.certPem, "localhost")).to.equal("HTTP 200");
      expect(await get(port, ca.certPem, "webhook.nhi-system.svc")).to.equal("HTTP 200");
    });
    it("and is refused for another name or another CA", async () => {
      expect(await get(port, ca.certPem, "evil.example.com")).to.equal(
        "ERR_TLS_CERT_ALTNAME_INVALID",
      );
      const other = issueCa("other", validity(-60_000, DAY));
      expect(await get(port, other.certPem, "localhost")).to.equal(
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      );
    });
    it("a bundle of old and new CA (rotation overlap) trusts certificates of both", async () => {
      const next = issueCa("next", validity(-60_000, 10 * DAY));
      const bundle = bundlePem({ signing: ca, pending: next, retired: [] }, new Date(now));
      expect(bundle.match(/BEGIN CERTIFICATE/g)?.length).to.equal(2);
      expect(await get(port, bundle, "localhost")).to.equal("HTTP 200");
      const s2 = issueServing(next, ["localhost"], validity(-60_000, DAY));
      server.setSecureContext({ cert: s2.certPem, key: s2.keyPem });
      expect(await get(port, bundle, "localhost")).to.equal("HTTP 200");
      expect(await get(port, ca.certPem, "localhost")).to.equal("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    });
  });

  it("stateOf reads ids, dates, names and which of our CAs signed the serving cert", () => {
    const next = issueCa("next", validity(-60_000, 10 * DAY));
    const s = stateOf({ signing: next, retired: [ca.certPem], serving: leaf }, ["x"]);
    expect(s.signing?.id).to.equal(new X509Certificate(next.certPem).fingerprint256);
    expect(s.retired.map((r) => r.id)).to.deep.equal([
      new X509Certificate(ca.certPem).fingerprint256,
    ]);
    expect(s.serving?.issuer).to.equal(new X509Certificate(ca.certPem).fingerprint256);
    expect(s.serving?.names).to.deep.equal(["webhook.nhi-system.svc", "localhost", "127.0.0.1"]);
    expect(s.published).to.deep.equal(["x"]);
  });

  it("make run's development certificate comes from the same generator and is reused while valid", () => {
    const dir = mkdtempSync(join(tmpdir(), "nhi-devcert-"));
    try {
      const a = devServingCert(dir);
      const b = devServingCert(dir);
      expect(b.caPem).to.equal(a.caPem);
      expect(statSync(a.keyFile).mode & 0o077).to.equal(0);
      const later = devServingCert(dir, Date.now() + 40 * DAY);
      expect(later.caPem).to.not.equal(a.caPem);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { certificateValidity, factsOf, readJsonPathExpiry } from "../../../operator/controllers/inventory/facts.js";
import { scrub } from "../../../operator/k8s/events.js";
import { consumersOf, kubeconfigFor } from "../../../operator/controllers/credentials/decide.js";
import { transitionEvents } from "../../../operator/controllers/inventory/decide.js";
import type { IdentityRecord } from "../../../core/inventory/inventory.js";

const b64 = (s: string): string => Buffer.from(s).toString("base64");

describe("credential facts at the edge", () => {
  it("reads a certificate's validity with node:crypto", function () {
    const dir = mkdtempSync(join(tmpdir(), "nhi-cert-"));
    try {
      execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30", "-subj", "/CN=t",
        "-keyout", join(dir, "k"), "-out", join(dir, "c")], { stdio: "ignore" });
    } catch {
      this.skip();
    }
    const pem = readFileSync(join(dir, "c"), "utf8");
    rmSync(dir, { recursive: true, force: true });
    const v = certificateValidity(pem);
    if (!("notAfter" in v)) throw new Error(v.problem);
    expect(Math.round((v.notAfter - v.notBefore) / 86_400_000)).to.equal(30);
    expect(factsOf({ name: "t", type: "Certificate", secretName: "s" }, { metadata: { name: "s" }, data: { "tls.crt": b64(pem) } }).certificate).to.deep.equal(v);
    expect(certificateValidity("garbage")).to.deep.equal({ problem: "not a PEM certificate" });
  });

  it("reads an expiry at a JSONPath from decoded data or metadata, and never returns the value", () => {
    const secret = { metadata: { name: "s", annotations: { "vault/expires": "2027-01-01T00:00:00Z" } }, data: { expiry: b64("1798761600"), password: b64("hunter2") } };
    expect(readJsonPathExpiry(secret, "$.data.expiry")).to.deep.equal({ expiresAt: 1798761600_000 });
    expect(readJsonPathExpiry(secret, "$.metadata.annotations['vault/expires']")).to.deep.equal({ expiresAt: Date.parse("2027-01-01T00:00:00Z") });
    const wrong = readJsonPathExpiry(secret, "$.data.password");
    expect(wrong).to.deep.equal({ problem: "unparseable" });
    expect(JSON.stringify(wrong)).not.to.include("hunter2");
    expect(readJsonPathExpiry(secret, "$.data.nope")).to.deep.equal({ problem: "missing" });
  });
});

describe("edge helpers", () => {
  it("scrubs anything token-shaped from event messages", () => {
    const jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJrdWJlcm5ldGVzIn0.c2lnbmF0dXJlc2lnbmF0dXJl";
    expect(scrub(`rotated: ${jwt} done`)).to.equal("rotated: [redacted] done");
    expect(scrub("rotated credential ci (Secret ci-token, generation 2)")).to.equal("rotated credential ci (Secret ci-token, generation 2)");
  });

  it("finds the Deployments, StatefulSets and DaemonSets that consume a Secret, by any route", () => {
    const d = (kind: string, name: string, spec: unknown) => ({ kind, metadata: { name, namespace: "shop" }, spec: { template: { spec } } });
    const w = [
      d("Deployment", "env", { containers: [{ name: "c", env: [{ name: "K", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }] }] }),
      d("StatefulSet", "envfrom", { containers: [{ name: "c", envFrom: [{ secretRef: { name: "s" } }] }] }),
      d("DaemonSet", "projected", { volumes: [{ name: "v", projected: { sources: [{ secret: { name: "s" } }] } }] }),
      d("Deployment", "other", { volumes: [{ name: "v", secret: { secretName: "t" } }] }),
      d("Job", "job", { volumes: [{ name: "v", secret: { secretName: "s" } }] }),
    ];
    expect(consumersOf(w, "shop", "s").map((x) => x.metadata.name)).to.deep.equal(["env", "envfrom", "projected"]);
    expect(consumersOf(w, "other", "s")).to.deep.equal([]);
  });

  it("writes a kubeconfig that names the account and namespace", () => {
    const k = JSON.parse(kubeconfigFor({ server: "https://k:6443", caData: "Q0E=", namespace: "ci", user: "deployer", token: "T" })) as { "current-context": string; contexts: { context: { namespace: string } }[] };
    expect(k["current-context"]).to.equal("deployer");
    expect(k.contexts[0]?.context.namespace).to.equal("ci");
  });

  it("plans events on phase transitions and when credentials go stale", () => {
    const rec = { reason: "expires at 2026-12-01T00:00:00Z" } as IdentityRecord;
    const ev = transitionEvents({ phase: "Active" }, { phase: "Expiring", conditions: [{ type: "CredentialsFresh", status: "False", reason: "Expiring", message: "tls expires soon", lastTransitionTime: "" }] }, rec);
    expect(ev.map((e) => `${e.type}/${e.reason}`)).to.deep.equal(["Warning/Expiring", "Warning/CredentialsExpiring"]);
    expect(transitionEvents({ phase: "Active" }, { phase: "Active" }, rec)).to.deep.equal([]);
  });
});

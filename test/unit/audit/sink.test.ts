// The operator's audit sink over HTTPS: EventLists in, findings out, a full queue answers 429 with
// Retry-After (the API server retries) and counts what it refused.
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { AuditDetector } from "../../../core/audit/index.js";
import type { AuditFinding } from "../../../core/audit/index.js";
import { nullLog } from "../../../edge/log.js";
import { startAuditSink, type RunningAuditSink } from "../../../operator/audit/sink.js";
import { devServingCert } from "../../../webhooks/server/dev-certs.js";
import { ROOT } from "../../cli/run.js";

const lines = (name: string): unknown[] =>
  readFileSync(join(ROOT, "test", "fixtures", "audit", `${name}.jsonl`), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as unknown);

function post(
  url: string,
  ca: string,
  body: unknown,
): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: "POST", ca, headers: { "Content-Type": "application/json" } },
      (res) => {
        res.resume();
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            ...(typeof res.headers["retry-after"] === "string"
              ? { retryAfter: res.headers["retry-after"] }
              : {}),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(typeof body === "string" ? body : JSON.stringify(body));
  });
}

describe("audit sink (HTTPS, EventList batches)", function () {
  let dir = "";
  let sink: RunningAuditSink | undefined;
  let ca = "";
  const found: AuditFinding[] = [];
  const registry = new Registry();

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), "nhi-audit-sink-"));
    const certs = devServingCert(dir);
    ca = certs.caPem;
    sink = await startAuditSink({
      host: "127.0.0.1",
      port: 0,
      tls: { cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile) },
      detector: new AuditDetector({ declaration: () => undefined }),
      capacity: 3,
      onFinding: (f) => found.push(f),
      registry,
      logger: nullLog,
    });
  });
  after(async function () {
    await sink?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("judges a batch and reports new findings; refuses a batch that does not fit with 429 and counts it; rejects what is not an EventList", async function () {
    const url = sink?.url ?? "";
    const list = (items: unknown[]): unknown => ({
      kind: "EventList",
      apiVersion: "audit.k8s.io/v1",
      items,
    });
    expect(await post(url, ca, list(lines("privilege-change")))).to.deep.equal({ status: 200 });
    await new Promise((r) => setTimeout(r, 50));
    expect(found.map((f) => f.rule).sort()).to.deep.equal([
      "rbac-write",
      "workload-as-other-identity",
    ]);
    expect(await post(url, ca, list(lines("enumeration")))).to.deep.equal({
      status: 429,
      retryAfter: "1",
    });
    expect(sink?.stats()).to.deep.include({ accepted: 2, refused: 10 });
    expect((await post(url, ca, "{")).status).to.equal(400);
    expect((await post(url, ca, { kind: "List" })).status).to.equal(400);
    const metrics = await registry.metrics();
    expect(metrics).to.match(/nhi_audit_events_total\{outcome="refused"\} 10/);
    expect(metrics).to.match(/nhi_audit_findings_total\{rule="rbac-write",severity="critical"\} 1/);
  });
});

// The plane's API server audits with manifests/audit/policy.yaml (the file the chart and README
// ship) to a JSON-lines log and to a webhook at a pre-allocated address: what the policy records
// (and never records) is checked against what the real API server writes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { randomBytes } from "node:crypto";
import { sharedCluster, skipUnlessLocalApiServer, useNamespace } from "../harness/mocha.js";
import { waitFor } from "../harness/wait.js";

interface AuditEvent {
  auditID: string;
  level: string;
  stage: string;
  verb: string;
  requestURI: string;
  user: { username: string; extra?: Record<string, string[]> };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  requestObject?: unknown;
  responseObject?: unknown;
  annotations?: Record<string, string>;
}

function logEvents(): AuditEvent[] {
  const path = sharedCluster().auditLogPath;
  if (!path)
    throw new Error("no audit log: the plane was started without one and E2E_AUDIT_LOG is unset");
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as AuditEvent);
}

async function eventsMatching(
  what: string,
  pred: (e: AuditEvent) => boolean,
  atLeast = 1,
): Promise<AuditEvent[]> {
  let found: AuditEvent[] = [];
  await waitFor(what, () => (found = logEvents().filter(pred)).length >= atLeast, {
    timeoutMs: 15_000,
    describe: () => `${found.length} found`,
  });
  return found;
}

describe("audit log: the shipped policy on the real API server", function () {
  const ns = useNamespace("audit");

  before(function () {
    if (!sharedCluster().auditLogPath) this.skip(); // an external cluster without E2E_AUDIT_LOG
  });

  it("records a ServiceAccount's requests at Metadata with its pod-less token's credential-id, and a 403 as forbid", async function () {
    const c = sharedCluster();
    await c.kube.create({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "actor", namespace: ns() },
    });
    const r = await c.kube.request("GET", `/api/v1/namespaces/${ns()}/configmaps`, {
      as: { serviceAccount: `${ns()}/actor` },
    });
    assert.equal(r.status, 403);
    const user = `system:serviceaccount:${ns()}:actor`;
    const [denied] = await eventsMatching(
      `a 403 list of configmaps by ${user}`,
      (e) =>
        e.user.username === user &&
        e.objectRef?.resource === "configmaps" &&
        e.objectRef.namespace === ns() &&
        e.stage === "ResponseComplete",
    );
    assert.ok(denied);
    assert.equal(denied.level, "Metadata");
    assert.equal(denied.verb, "list");
    assert.equal(denied.responseStatus?.code, 403);
    assert.equal(denied.annotations?.["authorization.k8s.io/decision"], "forbid");
    assert.match(
      denied.user.extra?.["authentication.kubernetes.io/credential-id"]?.[0] ?? "",
      /^JTI=/,
    );
  });

  it("never writes a Secret's value or a TokenRequest's token; the TokenRequest body is there at Request level", async function () {
    const c = sharedCluster();
    const value = `do-not-log-${randomBytes(8).toString("hex")}`;
    await c.kube.create({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "holder", namespace: ns() },
    });
    assert.ok(
      (
        await c.kube.create({
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "s", namespace: ns() },
          stringData: { password: value },
        })
      ).allowed,
    );
    await c.kube.must("GET", `/api/v1/namespaces/${ns()}/secrets/s`);
    const token = await c.kube.mintToken(`${ns()}/holder`, { audiences: ["audit-e2e"] });
    const [minted] = await eventsMatching(
      "the TokenRequest event",
      (e) =>
        e.objectRef?.subresource === "token" &&
        e.objectRef.namespace === ns() &&
        e.objectRef.name === "holder" &&
        e.stage === "ResponseComplete",
    );
    const secretEvents = await eventsMatching(
      "the Secret's create and get",
      (e) => e.objectRef?.resource === "secrets" && e.objectRef.namespace === ns(),
      2,
    );
    assert.ok(minted);
    assert.equal(minted.level, "Request");
    assert.equal(minted.responseObject, undefined);
    assert.deepEqual(
      (minted.requestObject as { spec?: { audiences?: string[] } }).spec?.audiences,
      ["audit-e2e"],
    );
    assert.match(
      minted.annotations?.["authentication.kubernetes.io/issued-credential-id"] ?? "",
      /^JTI=/,
    );
    assert.ok(
      secretEvents.every(
        (e) =>
          e.level === "Metadata" && e.requestObject === undefined && e.responseObject === undefined,
      ),
    );
    const log = readFileSync(c.auditLogPath ?? "", "utf8");
    assert.ok(!log.includes(value), "the Secret's value is in the audit log");
    assert.ok(
      !log.includes(Buffer.from(value).toString("base64")),
      "the Secret's base64 value is in the audit log",
    );
    assert.ok(!log.includes(token.reveal()), "the minted token is in the audit log");
  });

  it("leaves out lease renewals and events, and delivers the same events to a sink started after the API server", async function () {
    const c = sharedCluster();
    skipUnlessLocalApiServer(this, c);
    const sink = c.auditSink;
    if (!sink) return this.skip(); // an existing cluster (E2E_KUBECONFIG): its audit webhook is not ours
    assert.ok(
      logEvents().every(
        (e) => e.objectRef?.resource !== "leases" && e.objectRef?.resource !== "events",
      ),
    );
    // Nothing listened there until now: the API server dropped those batches and goes on.
    const users: string[] = [];
    const server = createServer(
      { cert: readFileSync(sink.certFile), key: readFileSync(sink.keyFile) },
      (req, res) => {
        let body = "";
        req
          .setEncoding("utf8")
          .on("data", (d: string) => (body += d))
          .on("end", () => {
            const list = JSON.parse(body) as {
              kind?: string;
              apiVersion?: string;
              items: AuditEvent[];
            };
            if (
              list.kind === "EventList" &&
              list.apiVersion === "audit.k8s.io/v1" &&
              new URL(req.url ?? "", sink.url).pathname === new URL(sink.url).pathname
            ) {
              for (const e of list.items) users.push(e.user.username);
            }
            res.end("{}");
          });
      },
    );
    await new Promise<void>((r) => server.listen(sink.port, "127.0.0.1", () => r()));
    try {
      await c.kube.create({
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "watched", namespace: ns() },
      });
      const user = `system:serviceaccount:${ns()}:watched`;
      await waitFor(
        `an audit batch naming ${user}`,
        async () => {
          await c.kube.whoAmI({ serviceAccount: `${ns()}/watched` });
          return users.includes(user);
        },
        { timeoutMs: 30_000, intervalMs: 1_000, describe: () => `${users.length} events received` },
      );
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

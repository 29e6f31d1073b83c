// The HTTPS server end to end on loopback: TLS, routes, body limit, malformed JSON, health, metrics.
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { connect } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CertAuthority, localServingCert } from "../../../e2e/harness/certs.js";
import { repoRoot } from "../../../crds/load.js";
import {
  CONNECTIONS_CHECK_MS,
  startWebhookServer,
  type RunningWebhookServer,
} from "../../../webhooks/server/app.js";
import { testHandler } from "./helpers.js";
import { ClientCaFile } from "../../../webhooks/server/tls.js";

function post(
  url: string,
  ca: string,
  body: string,
  contentType = "application/json",
  agent?: Agent,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        ca,
        headers: { "Content-Type": contentType, ...headers },
        ...(agent ? { agent } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            json: JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("webhook server (HTTPS on loopback)", () => {
  let dir: string;
  let server: RunningWebhookServer;
  let ca: string;
  let ready = false;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "nhi-webhook-test-"));
    const certs = localServingCert(dir);
    ca = certs.ca.certPem;
    const { handle, metrics } = testHandler();
    const { logger } = (await import("./helpers.js")).recordingLogger();
    server = await startWebhookServer({
      handle,
      tls: { cert: certs.serving.certPem, key: certs.serving.keyPem },
      host: "127.0.0.1",
      port: 0,
      metricsHost: "127.0.0.1",
      metricsPort: 0,
      bodyLimit: "64kb",
      metrics,
      logger,
      readiness: () => ({ ready, detail: { caches: ready ? "synced" : "listing" } }),
      routes: {
        "/extra": (_req, res) =>
          void res.writeHead(200, { "content-type": "text/plain" }).end("extra route"),
      },
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers an AdmissionReview over TLS", async () => {
    const fixture = JSON.parse(
      readFileSync(
        join(repoRoot(), "test", "fixtures", "admission", "pod-image-denied.json"),
        "utf8",
      ),
    ) as { review: unknown };
    const r = await post(server.url, ca, JSON.stringify(fixture.review));
    expect(r.status).to.equal(200);
    expect(r.json).to.nested.include({
      "response.uid": "u-2",
      "response.allowed": false,
      "response.status.code": 403,
    });
  });

  it("answers at the URL the API server calls (?timeout=10s) and its variants, as JSON in UTF-8", async () => {
    const fixture = JSON.parse(
      readFileSync(
        join(repoRoot(), "test", "fixtures", "admission", "pod-image-denied.json"),
        "utf8",
      ),
    ) as { review: unknown };
    const body = JSON.stringify(fixture.review);
    for (const url of [`${server.url}?timeout=10s`, `${server.url}/`, server.url]) {
      const { status, type, length, text } = await new Promise<{
        status: number;
        type: string | undefined;
        length: string | undefined;
        text: string;
      }>((resolve, reject) => {
        const req = request(
          url,
          { method: "POST", ca, headers: { "Content-Type": "application/json" } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () =>
              resolve({
                status: res.statusCode ?? 0,
                type: res.headers["content-type"],
                length: res.headers["content-length"],
                text: Buffer.concat(chunks).toString("utf8"),
              }),
            );
          },
        );
        req.on("error", reject);
        req.end(body);
      });
      expect(status, url).to.equal(200);
      expect(type, url).to.equal("application/json; charset=utf-8");
      expect(Number(length), url).to.equal(Buffer.byteLength(text));
      expect(JSON.parse(text), url).to.nested.include({ "response.uid": "u-2" });
    }
  });

  it("answers malformed JSON with a 400, a body over the limit with a 413, and a wrong path with a 404", async () => {
    expect((await post(server.url, ca, "{not json")).status).to.equal(400);
    expect(
      (await post(server.url, ca, JSON.stringify({ pad: "x".repeat(100_000) }))).status,
    ).to.equal(413);
    expect((await post(server.url.replace("/validate", "/other"), ca, "{}")).status).to.equal(404);
    expect((await post(server.url, ca, "[1,2]")).status).to.equal(400);
    expect((await post(server.url, ca, "hello", "text/plain")).status).to.equal(400);
  });

  it("answers a 10,000-level-deep kind with a 400 naming the problem, not a 500", async () => {
    const nested = `${"[".repeat(10_000)}"x"${"]".repeat(10_000)}`;
    const r = await post(
      server.url,
      ca,
      `{"apiVersion":"admission.k8s.io/v1","kind":${nested},"request":{"uid":"deep"}}`,
    );
    expect(r.status).to.equal(400);
    expect(r.json).to.deep.equal({
      error: "nhi-operator: kind is an array, expected AdmissionReview",
    });
  });

  it('says what is wrong with a charset or a content encoding it cannot read (415), not "internal error"', async () => {
    const latin1 = await post(server.url, ca, "{}", "application/json; charset=latin1");
    expect(latin1.status).to.equal(415);
    expect(latin1.json).to.deep.equal({
      error:
        'nhi-operator: unsupported charset "latin1": send the AdmissionReview as JSON in UTF-8 (Content-Type: application/json; charset=utf-8)',
    });
    const zstd = await post(server.url, ca, "{}", "application/json", undefined, {
      "Content-Encoding": "x-nhi-test",
    });
    expect(zstd.status).to.equal(415);
    expect((zstd.json as { error: string }).error).to.equal(
      'nhi-operator: unsupported Content-Encoding "x-nhi-test": send the body uncompressed, or gzip, deflate or br',
    );
  });

  it("serves /healthz, /readyz (503 until synced) and /metrics on the separate port", async () => {
    expect((await fetch(`${server.metricsUrl}/healthz`)).status).to.equal(200);
    expect((await fetch(`${server.metricsUrl}/readyz`)).status).to.equal(503);
    ready = true;
    expect((await fetch(`${server.metricsUrl}/readyz`)).status).to.equal(200);
    const metrics = await (await fetch(`${server.metricsUrl}/metrics`)).text();
    expect(metrics).to.contain("nhi_webhook_decisions_total");
    expect(metrics).to.contain("nhi_webhook_bad_requests_total");
  });

  it("serves extra GET routes (the leader's /inventory) on the health port, not on the admission port", async () => {
    const r = await fetch(`${server.metricsUrl}/extra?namespace=x`);
    expect(r.status).to.equal(200);
    expect(await r.text()).to.equal("extra route");
    expect((await post(server.url.replace("/validate", "/extra"), ca, "{}")).status).to.equal(404);
  });

  it("keeps every metric's series bounded when 500 reviews name distinct forged resources", async function () {
    this.timeout(60_000);
    const fixture = JSON.parse(
      readFileSync(join(repoRoot(), "test", "fixtures", "admission", "pod-allowed.json"), "utf8"),
    ) as { review: { request: Record<string, unknown> } };
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const seriesOf = (text: string): number =>
      text.split("\n").filter((l) => l.startsWith("nhi_webhook_")).length;
    const before = seriesOf(await (await fetch(`${server.metricsUrl}/metrics`)).text());
    try {
      for (let batch = 0; batch < 10; batch++) {
        await Promise.all(
          Array.from({ length: 50 }, (_, j) => {
            const i = batch * 50 + j;
            const request = {
              ...fixture.review.request,
              uid: `flood-${i}`,
              resource: {
                group: `g${i}.example`,
                version: "v1",
                resource: `forged-${i}-${"x".repeat(200)}`,
              },
              subResource: `s${i}`,
            };
            return post(
              server.url,
              ca,
              JSON.stringify({ ...fixture.review, request }),
              "application/json",
              agent,
            );
          }),
        );
      }
    } finally {
      agent.destroy();
    }
    const text = await (await fetch(`${server.metricsUrl}/metrics`)).text();
    // One more label value (other) for the decision counter and the latency histogram's buckets: a few dozen lines, not thousands.
    expect(seriesOf(text) - before, "new metric lines").to.be.below(40);
    expect(text).to.match(
      /nhi_webhook_decisions_total\{resource="other",operation="CREATE",result="unjudged",rule="none"\} 500/,
    );
    expect(text).not.to.contain("forged-");
  });
});

describe("webhook server: request timeout", () => {
  const TIMEOUT_MS = 2000;
  let dir: string;
  let server: RunningWebhookServer;
  let ca: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "nhi-webhook-test-"));
    const certs = localServingCert(dir);
    ca = certs.ca.certPem;
    const { handle, metrics } = testHandler();
    const { logger } = (await import("./helpers.js")).recordingLogger();
    server = await startWebhookServer({
      handle,
      tls: { cert: certs.serving.certPem, key: certs.serving.keyPem },
      host: "127.0.0.1",
      port: 0,
      metricsHost: "127.0.0.1",
      metricsPort: 0,
      requestTimeoutMs: TIMEOUT_MS,
      metrics,
      logger,
      readiness: () => ({ ready: true, detail: {} }),
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers 408 and closes a connection dribbling its body within the timeout plus the check interval", async function () {
    this.timeout(20_000);
    const { port } = new URL(server.url);
    const started = Date.now();
    const { elapsed, answer } = await new Promise<{ elapsed: number; answer: string }>(
      (resolve, reject) => {
        const socket = connect(
          { host: "127.0.0.1", port: Number(port), ca, servername: "localhost" },
          () => {
            socket.write(
              "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{",
            );
          },
        );
        let answer = "";
        // One byte every 100 ms: each arrives long before any idle timeout, the whole body never does.
        const drip = setInterval(() => socket.write(" "), 100);
        const giveUp = setTimeout(() => {
          clearInterval(drip);
          socket.destroy();
          reject(
            new Error(
              `still connected after ${Date.now() - started} ms (timeout ${TIMEOUT_MS} ms)`,
            ),
          );
        }, 12_000);
        socket.on("data", (d: Buffer) => {
          answer += d.toString("latin1");
        });
        socket.on("error", () => undefined);
        socket.on("close", () => {
          clearInterval(drip);
          clearTimeout(giveUp);
          resolve({ elapsed: Date.now() - started, answer });
        });
      },
    );
    expect(answer).to.match(/^HTTP\/1\.1 408/);
    expect(elapsed).to.be.at.least(TIMEOUT_MS - 100);
    expect(elapsed).to.be.below(TIMEOUT_MS + CONNECTIONS_CHECK_MS + 1000);
  });
});

describe("webhook server: client certificates (--client-ca-file)", () => {
  let dir: string;
  let server: RunningWebhookServer;
  let ca: string;
  let callers: CertAuthority;
  let others: CertAuthority;
  const review = (): string =>
    JSON.stringify(
      (
        JSON.parse(
          readFileSync(
            join(repoRoot(), "test", "fixtures", "admission", "pod-allowed.json"),
            "utf8",
          ),
        ) as { review: unknown }
      ).review,
    );

  /** POSTs a review presenting `client` (or no certificate): the HTTP status, or the connection's error. */
  const call = (client?: { certPem: string; keyPem: string }): Promise<number | string> =>
    new Promise((resolve) => {
      const req = request(
        server.url,
        {
          method: "POST",
          ca,
          headers: { "Content-Type": "application/json" },
          agent: false, // a new handshake each call: a kept-alive connection would skip the one under test
          ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      req.end(review());
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "nhi-webhook-mtls-"));
    const certs = localServingCert(dir);
    ca = certs.ca.certPem;
    callers = CertAuthority.create(join(dir, "callers"), "apiserver-webhook-client-ca");
    others = CertAuthority.create(join(dir, "others"), "someone-else-ca");
    const { handle, metrics } = testHandler();
    const { logger } = (await import("./helpers.js")).recordingLogger();
    server = await startWebhookServer({
      handle,
      tls: { cert: certs.serving.certPem, key: certs.serving.keyPem },
      host: "127.0.0.1",
      port: 0,
      metricsHost: "127.0.0.1",
      metricsPort: 0,
      clientCa: callers.certPem,
      metrics,
      logger,
      readiness: () => ({ ready: true, detail: {} }),
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers a caller presenting a certificate of the client CA, refuses the handshake without one or with another CA's", async function () {
    this.timeout(30_000);
    expect(
      await call(
        callers.issue("kube-apiserver", { commonName: "kube-apiserver", usage: "client" }),
      ),
    ).to.equal(200);
    expect(await call()).to.be.a("string");
    expect(
      await call(others.issue("intruder", { commonName: "kube-apiserver", usage: "client" })),
    ).to.be.a("string");
  });

  it("keeps requiring the client CA after a certificate source swaps the serving certificate (setSecureContext)", async function () {
    this.timeout(30_000);
    // As the self-managed source does right at start and at every renewal: the serving pair only.
    const renewed = localServingCert(join(dir, "renewed"));
    ca = renewed.ca.certPem;
    server.https.setSecureContext({ cert: renewed.serving.certPem, key: renewed.serving.keyPem });
    const apiserver = callers.issue("kube-apiserver-2", {
      commonName: "kube-apiserver",
      usage: "client",
    });
    expect(await call(apiserver), "the API server's certificate after the swap").to.equal(200);
    expect(await call(), "no certificate after the swap").to.be.a("string");
  });

  it("setClientCa swaps the trusted CA; a file with no certificate throws and keeps the current one", async function () {
    this.timeout(30_000);
    const apiserver = callers.issue("kube-apiserver-3", {
      commonName: "kube-apiserver",
      usage: "client",
    });
    const other = others.issue("other-apiserver", {
      commonName: "kube-apiserver",
      usage: "client",
    });
    try {
      server.setClientCa(others.certPem);
      expect(await call(other)).to.equal(200);
      expect(await call(apiserver)).to.be.a("string");
      expect(() => server.setClientCa("not a certificate")).to.throw(/no PEM certificate/);
      expect(await call(other), "the CA in force before the bad one").to.equal(200);
    } finally {
      server.setClientCa(callers.certPem);
    }
    expect(await call(apiserver)).to.equal(200);
  });

  it("ClientCaFile reloads the CA when the file changes and keeps it when the new file is unusable", async function () {
    this.timeout(30_000);
    const file = join(dir, "client-ca.crt");
    writeFileSync(file, callers.certPem);
    const { logger, lines } = (await import("./helpers.js")).recordingLogger();
    const source = new ClientCaFile(file, logger, 50);
    expect(source.load()).to.equal(callers.certPem);
    source.watch(server.setClientCa);
    const other = others.issue("other-apiserver-2", {
      commonName: "kube-apiserver",
      usage: "client",
    });
    try {
      writeFileSync(file, `${callers.certPem}${others.certPem}`); // a bundle: both CAs
      await until(() => lines.some((l) => l.includes("reloaded the client CA")));
      expect(await call(other)).to.equal(200);
      writeFileSync(file, "garbage");
      await until(() => lines.some((l) => l.includes("could not reload the client CA")));
      expect(await call(other), "the bundle in force before the garbage").to.equal(200);
    } finally {
      source.stop();
      server.setClientCa(callers.certPem);
    }
  });
});

async function until(done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 25));
  }
}

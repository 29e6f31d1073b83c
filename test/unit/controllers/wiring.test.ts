// The composition root's flags for the leader role, the /inventory mount and the cache's trimming.
import { expect } from "chai";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { trimMeta, trimWorkload } from "../../../operator/k8s/cache/trim.js";
import { leaderAddress } from "../../../operator/main.js";
import { parseArgs } from "../../../operator/flags.js";
import {
  CONTROLLER_DEFAULTS,
  inventoryRoute,
  type LeaderRole,
} from "../../../operator/reconcilers.js";
import type { RunningControllers } from "../../../operator/controllers/index.js";
import type { LeaseView } from "../../../core/inventory/document.js";

describe("operator wiring", () => {
  describe("parseArgs: the leader role", () => {
    it("campaigns by default, with the Lease in the operator's namespace", () => {
      const o = parseArgs([]);
      expect(o.controllers).to.deep.equal(CONTROLLER_DEFAULTS);
      expect(o.controllers?.leaseNamespace).to.equal(undefined);
    });
    it("--no-controllers serves the webhook only", () => {
      expect(parseArgs(["--no-controllers", "--lease-name", "x"]).controllers).to.equal(undefined);
    });
    it("reads the Lease, identity, rate limit and durations", () => {
      const o = parseArgs([
        "--lease-name",
        "l",
        "--lease-namespace",
        "ns",
        "--identity",
        "me",
        "--api-qps",
        "5",
        "--api-burst",
        "10",
        "--unused-after",
        "1s",
        "--token-overlap",
        "3s",
        "--kubeconfig-server",
        "https://k:6443",
      ]);
      expect(o.controllers).to.deep.equal({
        leaseName: "l",
        leaseNamespace: "ns",
        identity: "me",
        qps: 5,
        burst: 10,
        unusedAfterMs: 1000,
        tokenOverlapMs: 3000,
        kubeconfigServer: "https://k:6443",
      });
    });
    it("reads the Lease timing and rejects timings client-go would reject, naming the flag", () => {
      expect(
        parseArgs(["--lease-duration", "8s", "--renew-deadline", "6s", "--retry-period", "1s"])
          .controllers?.election,
      ).to.deep.equal({ leaseDurationMs: 8000, renewDeadlineMs: 6000, retryPeriodMs: 1000 });
      expect(parseArgs(["--retry-period", "500ms"]).controllers?.election).to.deep.equal({
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 500,
      });
      expect(() => parseArgs(["--lease-duration", "5s"])).to.throw(
        /--renew-deadline must be shorter than --lease-duration/,
      );
      expect(() => parseArgs(["--lease-duration", "8500ms", "--renew-deadline", "6s"])).to.throw(
        /--lease-duration must be whole seconds/,
      );
      expect(() => parseArgs(["--renew-deadline", "2s"])).to.throw(
        /--renew-deadline must be longer than 1.2 × --retry-period/,
      );
      expect(() => parseArgs(["--retry-period", "soon"])).to.throw(
        /--retry-period needs a duration/,
      );
    });
    it("records where the leader serves: $POD_IP, else a specific metrics host", () => {
      expect(leaderAddress("10.1.2.3", "0.0.0.0", 8080)).to.equal("10.1.2.3:8080");
      expect(leaderAddress("fd00::5", "0.0.0.0", 8080)).to.equal("[fd00::5]:8080");
      expect(leaderAddress(undefined, "127.0.0.1", 9000)).to.equal("127.0.0.1:9000");
      expect(leaderAddress(undefined, "0.0.0.0", 8080)).to.equal(undefined);
      expect(leaderAddress("", "::", 8080)).to.equal(undefined);
    });
    it("rejects a bad duration or rate with the flag's name", () => {
      expect(() => parseArgs(["--unused-after", "soon"])).to.throw(
        /--unused-after needs a duration/,
      );
      expect(() => parseArgs(["--api-qps", "0"])).to.throw(/--api-qps needs a positive number/);
    });
    it("reads the BehaviourAnomalous window, naming the flag when it is not a duration", () => {
      expect(parseArgs(["--audit-anomaly-window", "2h"]).controllers?.anomalyWindowMs).to.equal(
        2 * 3_600_000,
      );
      expect(parseArgs([]).controllers?.anomalyWindowMs).to.equal(undefined);
      expect(() => parseArgs(["--audit-anomaly-window", "a day"])).to.throw(
        /--audit-anomaly-window needs a duration/,
      );
    });
  });

  describe("inventoryRoute", () => {
    let server: Server;
    let controllers: RunningControllers | undefined;
    let leader = false;
    const now = Date.parse("2026-01-01T00:00:10Z");
    const lease: LeaseView = {
      namespace: "nhi-system",
      name: "rec",
      holderIdentity: "nhi-operator-7c9f_3a1b2c",
      renewTime: "2026-01-01T00:00:05.000000Z",
      leaseDurationSeconds: 15,
      address: "10.1.2.3:8080",
      observedAt: now - 1000,
    };
    const role: LeaderRole = {
      isLeader: () => leader,
      lease: () => lease,
      retryPeriodMs: 2000,
      controllers: () => controllers,
      stop: async () => undefined,
    };
    const get = async (
      path: string,
    ): Promise<{ status: number; body: string; retryAfter: string | null }> => {
      const r = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
      return { status: r.status, body: await r.text(), retryAfter: r.headers.get("retry-after") };
    };
    before(async () => {
      const route = inventoryRoute(
        () => role,
        () => now,
      );
      server = createServer((req, res) =>
        (req.url ?? "").startsWith("/inventory")
          ? route(req, res)
          : res.writeHead(200).end("inner"),
      );
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    });
    after(() => server.close());

    it("passes other paths to the metrics server's own routes", async () => {
      expect(await get("/metrics")).to.include({ status: 200, body: "inner" });
    });
    it("answers 503 on a follower, naming the Lease's holder and where it serves, with Retry-After", async () => {
      const r = await get("/inventory");
      expect(r).to.include({ status: 503, retryAfter: "2" });
      const body = JSON.parse(r.body) as Record<string, unknown>;
      expect(body).to.deep.include({
        kind: "NotLeader",
        lease: { namespace: "nhi-system", name: "rec" },
        leader: {
          identity: "nhi-operator-7c9f_3a1b2c",
          pod: "nhi-operator-7c9f",
          address: "10.1.2.3:8080",
          renewTime: "2026-01-01T00:00:05.000000Z",
        },
      });
      expect(body.error).to.match(
        /not the leader.*pod nhi-operator-7c9f at http:\/\/10\.1\.2\.3:8080\/inventory/,
      );
    });
    it("answers 503 on the leader before its first pass", async () => {
      leader = true;
      const r = await get("/inventory?namespace=x");
      expect(r).to.include({ status: 503, retryAfter: "2" });
      expect(r.body).to.match(/has not finished its first inventory pass/);
    });
    it("serves the leader's inventory", async () => {
      const inventoryHandler = (_req: IncomingMessage, res: ServerResponse): void =>
        void res.writeHead(200).end("inv");
      controllers = { inventoryHandler } as unknown as RunningControllers;
      expect(await get("/inventory")).to.include({ status: 200, body: "inv" });
    });
  });

  describe("cache trimming", () => {
    it("drops managedFields and the last-applied annotation", () => {
      const m = trimMeta({
        name: "a",
        namespace: "n",
        annotations: { "kubectl.kubernetes.io/last-applied-configuration": '{"data":{}}' },
        managedFields: [{}],
      } as Parameters<typeof trimMeta>[0]);
      expect(m).to.deep.equal({ name: "a", namespace: "n" });
    });
    it("keeps of a Deployment only what the decisions read", () => {
      const w = trimWorkload("Deployment", {
        metadata: { name: "d", namespace: "n" },
        spec: {
          replicas: 3,
          template: {
            metadata: { labels: { app: "d" } },
            spec: {
              serviceAccountName: "sa",
              containers: [
                {
                  name: "c",
                  image: "i",
                  args: ["--x"],
                  env: [
                    { name: "PLAIN", value: "v" },
                    { name: "S", valueFrom: { secretKeyRef: { name: "s", key: "k" } } },
                  ],
                },
              ],
            },
          },
        },
      });
      expect(w.spec).to.deep.equal({
        template: {
          metadata: { labels: { app: "d" } },
          spec: {
            serviceAccountName: "sa",
            containers: [
              {
                name: "c",
                image: "i",
                env: [{ name: "S", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }],
              },
            ],
          },
        },
      });
    });
  });
});

// The composition root's flags for the leader role, the /inventory mount and the cache's trimming.
import { expect } from "chai";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { trimMeta, trimWorkload } from "../../../operator/cache/trim.js";
import { parseArgs } from "../../../operator/main.js";
import { CONTROLLER_DEFAULTS, inventoryRoute, type LeaderRole } from "../../../operator/reconcilers.js";
import type { RunningControllers } from "../../../operator/controllers/index.js";

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
      const o = parseArgs(["--lease-name", "l", "--lease-namespace", "ns", "--identity", "me", "--api-qps", "5", "--api-burst", "10",
        "--unused-after", "1s", "--token-overlap", "3s", "--kubeconfig-server", "https://k:6443"]);
      expect(o.controllers).to.deep.equal({ leaseName: "l", leaseNamespace: "ns", identity: "me", qps: 5, burst: 10, unusedAfterMs: 1000, tokenOverlapMs: 3000, kubeconfigServer: "https://k:6443" });
    });
    it("rejects a bad duration or rate with the flag's name", () => {
      expect(() => parseArgs(["--unused-after", "soon"])).to.throw(/--unused-after needs a duration/);
      expect(() => parseArgs(["--api-qps", "0"])).to.throw(/--api-qps needs a positive number/);
    });
  });

  describe("inventoryRoute", () => {
    let server: Server;
    let controllers: RunningControllers | undefined;
    let leader = false;
    const role: LeaderRole = { isLeader: () => leader, controllers: () => controllers, stop: async () => undefined };
    const get = async (path: string): Promise<{ status: number; body: string }> => {
      const r = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
      return { status: r.status, body: await r.text() };
    };
    before(async () => {
      const route = inventoryRoute(() => role);
      server = createServer((req, res) => ((req.url ?? "").startsWith("/inventory") ? route(req, res) : res.writeHead(200).end("inner")));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    });
    after(() => server.close());

    it("passes other paths to the metrics server's own routes", async () => {
      expect(await get("/metrics")).to.deep.equal({ status: 200, body: "inner" });
    });
    it("answers 503 on a follower and before the first pass", async () => {
      expect((await get("/inventory")).body).to.match(/not the leader/);
      leader = true;
      expect(await get("/inventory?namespace=x")).to.include({ status: 503 });
    });
    it("serves the leader's inventory", async () => {
      const inventoryHandler = (_req: IncomingMessage, res: ServerResponse): void => void res.writeHead(200).end("inv");
      controllers = { inventoryHandler } as unknown as RunningControllers;
      expect(await get("/inventory")).to.deep.equal({ status: 200, body: "inv" });
    });
  });

  describe("cache trimming", () => {
    it("drops managedFields and the last-applied annotation", () => {
      const m = trimMeta({ name: "a", namespace: "n", annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{}}" }, managedFields: [{}] } as Parameters<typeof trimMeta>[0]);
      expect(m).to.deep.equal({ name: "a", namespace: "n" });
    });
    it("keeps of a Deployment only what the decisions read", () => {
      const w = trimWorkload("Deployment", {
        metadata: { name: "d", namespace: "n" },
        spec: { replicas: 3, template: { metadata: { labels: { app: "d" } }, spec: { serviceAccountName: "sa", containers: [{ name: "c", image: "i", args: ["--x"], env: [{ name: "PLAIN", value: "v" }, { name: "S", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }] }] } } },
      });
      expect(w.spec).to.deep.equal({ template: { metadata: { labels: { app: "d" } }, spec: { serviceAccountName: "sa", containers: [{ name: "c", image: "i", env: [{ name: "S", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }] }] } } });
    });
  });
});

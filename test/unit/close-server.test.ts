// edge/close-server.ts: a server closes without waiting out keep-alive. The webhook keeps the API
// server's connections for 60 s; a connection busy when close() began held an e2e suite's after-all
// hook past its 60 s timeout.
import { expect } from "chai";
import { Agent, createServer, get, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { closeServer } from "../../edge/close-server.js";

function listening(handler: Parameters<typeof createServer>[1]): Promise<Server> {
  const server = createServer(handler);
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function request(server: Server, agent: Agent): Promise<string> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port, agent }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

describe("closeServer (edge/close-server.ts)", () => {
  it("answers a request in flight, then closes its keep-alive connection at once", async () => {
    const server = await listening((_req, res) => setTimeout(() => res.end("answered"), 300));
    const agent = new Agent({ keepAlive: true });
    const answer = request(server, agent);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await closeServer(server, 10_000);
    expect(await answer).to.equal("answered");
    expect(Date.now() - started).to.be.below(2_000);
    agent.destroy();
  });

  it("drops a request that is still in flight when the grace period ends", async () => {
    const server = await listening(() => undefined); // never answers
    const agent = new Agent({ keepAlive: true });
    const answer = request(server, agent).then(
      () => "answered",
      () => "dropped",
    );
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await closeServer(server, 300);
    expect(Date.now() - started).to.be.within(250, 2_000);
    expect(await answer).to.equal("dropped");
    agent.destroy();
  });
});

// The cache's inventory informers (Pods among them) run while anyone needs them: the audit sink
// judges tokens against pods' IPs on every replica, so the leader losing its Lease must not stop
// them under the sink (it did: stopInventory stopped them outright).
import { KubeConfig } from "@kubernetes/client-node";
import { expect } from "chai";
import { ClusterCache } from "../../../operator/k8s/cache/cluster-cache.js";
import { nullLog } from "../../../edge/log.js";

function cacheWithSpies(): { cache: ClusterCache; running: Set<unknown> } {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: "https://127.0.0.1:1", skipTLSVerify: true }],
    users: [{ name: "u", token: "x" }],
    contexts: [{ name: "c", cluster: "c", user: "u" }],
    currentContext: "c",
  });
  const cache = new ClusterCache(kc, { logger: nullLog, stallAfterMs: 60_000 });
  const running = new Set<unknown>();
  for (const i of cache.inventoryInformers) {
    i.start = () => void running.add(i);
    i.stop = () => void running.delete(i);
  }
  return { cache, running };
}

describe("cluster cache: inventory informers and their holders", () => {
  it("the leader losing its Lease leaves them running for the audit sink", async () => {
    const { cache, running } = cacheWithSpies();
    const total = cache.inventoryInformers.length;
    expect(total).to.be.greaterThan(0);
    await cache.startInventory("audit-sink", 10).catch(() => undefined);
    await cache.startInventory("leader", 10).catch(() => undefined);
    expect(running.size).to.equal(total);
    cache.stopInventory("leader");
    expect(running.size).to.equal(total);
    cache.stopInventory("audit-sink");
    expect(running.size).to.equal(0);
  });

  it("the leader alone: they stop with its Lease and start again with the next", async () => {
    const { cache, running } = cacheWithSpies();
    await cache.startInventory("leader", 10).catch(() => undefined);
    expect(running.size).to.equal(cache.inventoryInformers.length);
    cache.stopInventory("leader");
    expect(running.size).to.equal(0);
    await cache.startInventory("leader", 10).catch(() => undefined);
    expect(running.size).to.equal(cache.inventoryInformers.length);
    cache.stop();
  });
});

import { expect } from "chai";
import { LeaderElector, type Lease, type LeaseClient } from "../../../operator/k8s/leader.js";
import { ApiError } from "../../../operator/k8s/rest.js";

/** An in-memory Lease store with the API server's optimistic concurrency. */
class Leases implements LeaseClient {
  lease: Lease | undefined;
  private rv = 0;
  async get(): Promise<Lease | undefined> { return this.lease ? structuredClone(this.lease) : undefined; }
  async create(l: Lease): Promise<Lease> {
    if (this.lease) throw new ApiError("POST", "/leases", 409, "AlreadyExists", "exists");
    this.lease = { ...l, metadata: { ...l.metadata, resourceVersion: String(++this.rv) } };
    return this.lease;
  }
  async replace(l: Lease): Promise<Lease> {
    if (l.metadata.resourceVersion !== this.lease?.metadata.resourceVersion) throw new ApiError("PUT", "/leases", 409, "Conflict", "stale");
    this.lease = { ...l, metadata: { ...l.metadata, resourceVersion: String(++this.rv) } };
    return this.lease;
  }
}

describe("leader election on a Lease (fake clock)", () => {
  const opts = (id: string, now: () => number) => ({ namespace: "ns", name: "l", identity: id, now, leaseDurationMs: 15_000, onStartedLeading: () => undefined, onStoppedLeading: () => undefined });

  it("one of two candidates wins; the other takes over only after the lease expires", async () => {
    let t = 1_000_000;
    const store = new Leases();
    const a = new LeaderElector(store, opts("a", () => t));
    const b = new LeaderElector(store, opts("b", () => t));
    expect(await a.tryAcquireOrRenew()).to.equal(true);
    expect(await b.tryAcquireOrRenew()).to.equal(false);
    t += 10_000;
    expect(await a.tryAcquireOrRenew(), "holder renews").to.equal(true);
    t += 14_000;
    expect(await b.tryAcquireOrRenew(), "renewed 14 s ago: still held").to.equal(false);
    t += 2_000;
    expect(await b.tryAcquireOrRenew(), "not renewed for 16 s: taken over").to.equal(true);
    expect(store.lease?.spec).to.include({ holderIdentity: "b", leaseTransitions: 1 });
    expect(await a.tryAcquireOrRenew()).to.equal(false);
  });

  it("a stale read loses on write (409), never two leaders", async () => {
    const t = 1_000_000;
    const store = new Leases();
    await store.create({ metadata: { name: "l", namespace: "ns" }, spec: { holderIdentity: "old", renewTime: new Date(0).toISOString(), leaseDurationSeconds: 15 } });
    const a = new LeaderElector(store, opts("a", () => t));
    const b = new LeaderElector(store, opts("b", () => t));
    const [ra, rb] = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    expect([ra, rb].filter(Boolean)).to.have.length(1);
  });

  it("releases the lease on stop so a successor need not wait", async () => {
    let t = 1_000_000;
    const store = new Leases();
    let started = 0, stopped = 0;
    const a = new LeaderElector(store, { ...opts("a", () => t), sleep: async () => { t += 2000; await new Promise((r) => setTimeout(r, 1)); }, onStartedLeading: () => started++, onStoppedLeading: () => stopped++ });
    const run = a.run();
    await new Promise((r) => setTimeout(r, 5));
    expect(a.isLeader()).to.equal(true);
    await a.stop();
    await run;
    expect([started, stopped]).to.deep.equal([1, 1]);
    const b = new LeaderElector(store, opts("b", () => t));
    expect(await b.tryAcquireOrRenew()).to.equal(true);
  });
});

import { expect } from "chai";
import {
  LEADER_ADDRESS_ANNOTATION,
  LeaderElector,
  electionTimingProblem,
  type Lease,
  type LeaseClient,
} from "../../../operator/k8s/leader.js";
import { ApiError } from "../../../operator/k8s/rest.js";

/** An in-memory Lease store with the API server's optimistic concurrency. */
class Leases implements LeaseClient {
  lease: Lease | undefined;
  private rv = 0;
  async get(): Promise<Lease | undefined> {
    return this.lease ? structuredClone(this.lease) : undefined;
  }
  async create(l: Lease): Promise<Lease> {
    if (this.lease) throw new ApiError("POST", "/leases", 409, "AlreadyExists", "exists");
    this.lease = { ...l, metadata: { ...l.metadata, resourceVersion: String(++this.rv) } };
    return this.lease;
  }
  async replace(l: Lease): Promise<Lease> {
    if (l.metadata.resourceVersion !== this.lease?.metadata.resourceVersion)
      throw new ApiError("PUT", "/leases", 409, "Conflict", "stale");
    this.lease = { ...l, metadata: { ...l.metadata, resourceVersion: String(++this.rv) } };
    return this.lease;
  }
}

describe("leader election on a Lease (fake clock)", () => {
  const opts = (id: string, now: () => number) => ({
    namespace: "ns",
    name: "l",
    identity: id,
    now,
    leaseDurationMs: 15_000,
    onStartedLeading: () => undefined,
    onStoppedLeading: () => undefined,
  });
  type Extra = Partial<ConstructorParameters<typeof LeaderElector>[1]>;
  /** A candidate `id` on `store`, reading the (fake) clock `now`. */
  const elector = (store: Leases, id: string, now: () => number, extra: Extra = {}) =>
    new LeaderElector(store, { ...opts(id, now), ...extra });
  /** A store whose Lease `holder` last renewed at the epoch, then abandoned. */
  const abandonedBy = async (holder: string): Promise<Leases> => {
    const store = new Leases();
    await store.create({
      metadata: { name: "l", namespace: "ns" },
      spec: {
        holderIdentity: holder,
        renewTime: new Date(0).toISOString(),
        leaseDurationSeconds: 15,
      },
    });
    return store;
  };
  const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  /** Runs the election loop of `e` for a few ms, calls `whileRunning`, then stops it. */
  const runBriefly = async (e: LeaderElector, whileRunning: () => void): Promise<void> => {
    const run = e.run();
    await tick(5);
    whileRunning();
    await e.stop();
    await run;
  };

  it("one of two candidates wins; the other takes over only leaseDuration after it last saw the record change", async () => {
    let t = 1_000_000;
    const store = new Leases();
    const a = elector(store, "a", () => t);
    const b = elector(store, "b", () => t);
    expect(await a.tryAcquireOrRenew()).to.equal(true);
    expect(await b.tryAcquireOrRenew()).to.equal(false);
    t += 10_000;
    expect(await a.tryAcquireOrRenew(), "holder renews").to.equal(true);
    expect(await b.tryAcquireOrRenew(), "b sees the renewal").to.equal(false);
    t += 14_000;
    expect(await b.tryAcquireOrRenew(), "renewed 14 s ago: still held").to.equal(false);
    t += 2_000;
    expect(await b.tryAcquireOrRenew(), "unchanged for 16 s: taken over").to.equal(true);
    expect(store.lease?.spec).to.include({ holderIdentity: "b", leaseTransitions: 1 });
    expect(await a.tryAcquireOrRenew()).to.equal(false);
  });

  it("a replica whose clock runs ahead never takes a Lease its holder may still lead under (client-go's observedTime)", async () => {
    let t = 1_000_000;
    const store = new Leases();
    const a = elector(store, "a", () => t);
    const b = elector(store, "b", () => t + 10_000);
    expect(await a.tryAcquireOrRenew()).to.equal(true);
    expect(await b.tryAcquireOrRenew()).to.equal(false);
    // a stops renewing now; it goes on leading until its renewDeadline (10 s).
    t += 6_000;
    expect(
      await b.tryAcquireOrRenew(),
      "6 s after a's last renewal, with b's clock 10 s ahead",
    ).to.equal(false);
    t += 10_000;
    expect(await b.tryAcquireOrRenew(), "16 s after b saw the record change").to.equal(true);
  });

  it("a replica that just started waits a full leaseDuration before taking an abandoned Lease", async () => {
    let t = 1_000_000;
    const store = await abandonedBy("dead");
    const b = elector(store, "b", () => t);
    expect(await b.tryAcquireOrRenew(), "its holder's renewTime is not our clock").to.equal(false);
    t += 15_000;
    expect(await b.tryAcquireOrRenew()).to.equal(true);
  });

  it("a stale read loses on write (409), never two leaders", async () => {
    let t = 1_000_000;
    const store = await abandonedBy("old");
    const a = elector(store, "a", () => t);
    const b = elector(store, "b", () => t);
    await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    t += 16_000;
    const [ra, rb] = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    expect([ra, rb].filter(Boolean)).to.have.length(1);
  });

  it("releases the lease on stop so a successor need not wait", async () => {
    let t = 1_000_000;
    const store = new Leases();
    let started = 0,
      stopped = 0;
    const a = elector(store, "a", () => t, {
      sleep: async () => {
        t += 2000;
        await tick(1);
      },
      onStartedLeading: () => started++,
      onStoppedLeading: () => stopped++,
    });
    await runBriefly(a, () => expect(a.isLeader()).to.equal(true));
    expect([started, stopped]).to.deep.equal([1, 1]);
    const b = elector(store, "b", () => t);
    expect(await b.tryAcquireOrRenew()).to.equal(true);
  });

  it("the holder records its address; a successor overwrites it, one without an address drops it; release removes it", async () => {
    let t = 1_000_000;
    const store = new Leases();
    const a = elector(store, "a", () => t, { address: "10.0.0.1:8080" });
    const b = elector(store, "b", () => t, { address: "10.0.0.2:8080" });
    const c = elector(store, "c", () => t);
    expect(await a.tryAcquireOrRenew()).to.equal(true);
    expect(store.lease?.metadata.annotations?.[LEADER_ADDRESS_ANNOTATION]).to.equal(
      "10.0.0.1:8080",
    );
    expect(await b.tryAcquireOrRenew()).to.equal(false);
    expect(b.observedLease()?.spec.holderIdentity, "a follower keeps what it read").to.equal("a");
    t += 16_000;
    expect(await b.tryAcquireOrRenew()).to.equal(true);
    expect(store.lease?.metadata.annotations?.[LEADER_ADDRESS_ANNOTATION]).to.equal(
      "10.0.0.2:8080",
    );
    expect(await c.tryAcquireOrRenew()).to.equal(false);
    t += 16_000;
    expect(await c.tryAcquireOrRenew()).to.equal(true);
    expect(store.lease?.metadata.annotations ?? {}).to.not.have.property(LEADER_ADDRESS_ANNOTATION);
    const d = elector(store, "d", () => t, { address: "10.0.0.4:8080", sleep: () => tick(1) });
    expect(await d.tryAcquireOrRenew()).to.equal(false);
    t += 16_000;
    await runBriefly(d, () =>
      expect(store.lease?.metadata.annotations?.[LEADER_ADDRESS_ANNOTATION]).to.equal(
        "10.0.0.4:8080",
      ),
    );
    expect(store.lease?.spec.holderIdentity).to.equal("");
    expect(store.lease?.metadata.annotations ?? {}).to.not.have.property(LEADER_ADDRESS_ANNOTATION);
  });

  it("refuses timings under which two replicas could lead at once", () => {
    expect(
      electionTimingProblem({
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
      }),
    ).to.equal(undefined);
    expect(
      electionTimingProblem({
        leaseDurationMs: 10_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
      }),
    ).to.match(/--renew-deadline must be shorter than --lease-duration/);
    expect(
      electionTimingProblem({
        leaseDurationMs: 15_000,
        renewDeadlineMs: 2_000,
        retryPeriodMs: 2_000,
      }),
    ).to.match(/1\.2 × --retry-period/);
    expect(
      electionTimingProblem({ leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 100 }),
    ).to.match(/whole seconds/);
    expect(
      electionTimingProblem({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 0 }),
    ).to.match(/--retry-period must be positive/);
    expect(
      () => new LeaderElector(new Leases(), { ...opts("a", Date.now), renewDeadlineMs: 20_000 }),
    ).to.throw(/leader election: renewDeadlineMs must be shorter than leaseDurationMs/);
  });
});

import { expect } from "chai";
import {
  MAX_DELAY_MS,
  runWorkers,
  WorkQueue,
  type QueueClock,
} from "../../../operator/k8s/queue.js";

/** A manual clock: timers fire only when advanced. */
class FakeClock implements QueueClock {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  advance(ms: number): void {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t).sort((a, b) => a.at - b.at);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const d of due) d.fn();
  }
  pending(): number {
    return this.timers.length;
  }
}

describe("work queue", () => {
  it("de-duplicates keys waiting to be processed", async () => {
    const q = new WorkQueue("t");
    q.add("a");
    q.add("b");
    q.add("a");
    q.add("a");
    expect(q.stats().depth).to.equal(2);
    expect(await q.get()).to.equal("a");
    expect(await q.get()).to.equal("b");
  });

  it("never hands out a key being processed; an add meanwhile runs it once more afterwards", async () => {
    const q = new WorkQueue("t");
    q.add("a");
    const k = await q.get();
    q.add("a");
    q.add("a");
    expect(q.stats().depth, "not queued while processing").to.equal(0);
    q.done(k ?? "");
    expect(q.stats().depth).to.equal(1);
    expect(await q.get()).to.equal("a");
  });

  it("backs off per key exponentially and forgets on success", () => {
    const clock = new FakeClock();
    const q = new WorkQueue("t", { clock, baseDelayMs: 10, maxDelayMs: 50 });
    expect([
      q.addRateLimited("a"),
      q.addRateLimited("a"),
      q.addRateLimited("a"),
      q.addRateLimited("a"),
    ]).to.deep.equal([10, 20, 40, 50]);
    expect(q.addRateLimited("b")).to.equal(10);
    q.forget("a");
    expect(q.addRateLimited("a")).to.equal(10);
  });

  it("collapses delayed adds to the earliest", () => {
    const clock = new FakeClock();
    const q = new WorkQueue("t", { clock });
    q.addAfter("a", 1000);
    q.addAfter("a", 5000);
    q.addAfter("a", 500);
    expect(clock.pending()).to.equal(1);
    clock.advance(499);
    expect(q.stats().depth).to.equal(0);
    clock.advance(1);
    expect(q.stats().depth).to.equal(1);
  });

  it("re-checks a far-off key within MAX_DELAY_MS instead of handing Node an overflowing timer", () => {
    const clock = new FakeClock();
    const q = new WorkQueue("t", { clock });
    q.addAfter("rotate-in-90-days", 90 * 24 * 3600 * 1000);
    clock.advance(MAX_DELAY_MS - 1);
    expect(q.stats().depth).to.equal(0);
    clock.advance(1);
    expect(q.stats().depth).to.equal(1);
  });

  it("runs workers: a failure is retried with backoff, a success honours requeueAfter, shutdown ends them", async () => {
    const q = new WorkQueue("t", { baseDelayMs: 1 });
    const seen: string[] = [];
    let failOnce = true;
    const done = runWorkers(q, 2, async (key) => {
      seen.push(key);
      if (key === "x" && failOnce) {
        failOnce = false;
        throw new Error("boom");
      }
      return {};
    });
    q.add("x");
    q.add("y");
    await new Promise((r) => setTimeout(r, 30));
    q.shutdown();
    await done;
    expect(seen.filter((k) => k === "x")).to.have.length(2);
    expect(seen.filter((k) => k === "y")).to.have.length(1);
    expect(q.stats().retries).to.equal(1);
  });
});

// The work queue every controller runs on (client-go's workqueue semantics, as cert-manager uses them):
// - keyed and de-duplicating: a key waiting once is processed once, however often it was added;
// - a key is never processed by two workers at once; added while processing, it runs again after;
// - rate-limited retries: exponential backoff per key (5 ms doubling to 5 min), reset by forget();
// - delayed adds (requeue at a time) that collapse to the earliest.
// Event handlers only add keys; all I/O happens in the process function.

export interface QueueClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: QueueClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface QueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  clock?: QueueClock;
}

export interface QueueStats {
  depth: number;
  processing: number;
  delayed: number;
  adds: number;
  retries: number;
}

/** Longest delay a key waits before it is looked at again. */
export const MAX_DELAY_MS = 6 * 60 * 60 * 1000;

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; handle: unknown }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private adds = 0;
  private retries = 0;
  private readonly clock: QueueClock;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(
    readonly name: string,
    opts: QueueOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 300_000;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    this.adds++;
    if (this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // re-queued by done()
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
  }

  /** Adds `key` after `ms`; an earlier pending delayed add wins, a later one is replaced. */
  addAfter(key: string, requestedMs: number): void {
    if (this.shuttingDown) return;
    // Node fires timers beyond 2^31-1 ms (~24.8 days) after 1 ms; a far-off due time is re-checked
    // earlier instead, which is harmless because reconciles recompute their next time.
    const ms = Math.min(requestedMs, MAX_DELAY_MS);
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.clock.clearTimeout(pending.handle);
    const handle = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, handle });
  }

  /** Re-adds after the key's backoff, which doubles with each consecutive failure. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    this.retries++;
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(n, 40));
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets the key's backoff (after a success). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to process (marked processing), or undefined once shut down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks `key` processed; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  shutdown(): void {
    this.shuttingDown = true;
    for (const { handle } of this.delayed.values()) this.clock.clearTimeout(handle);
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  stats(): QueueStats {
    return {
      depth: this.queue.length,
      processing: this.processing.size,
      delayed: this.delayed.size,
      adds: this.adds,
      retries: this.retries,
    };
  }
}

export interface ProcessResult {
  /** Process the key again after this long (a timed wake-up, not a failure). */
  requeueAfterMs?: number;
}

export interface WorkerHooks {
  onError?(key: string, err: unknown, retryInMs: number): void;
  onProcessed?(key: string, ms: number, ok: boolean): void;
}

/**
 * Runs `workers` loops taking keys from the queue; a throw re-adds the key rate-limited, a success
 * forgets its backoff and honours requeueAfterMs. Resolves when the queue shuts down.
 */
export async function runWorkers(
  queue: WorkQueue,
  workers: number,
  process: (key: string) => Promise<ProcessResult | void>,
  hooks: WorkerHooks = {},
): Promise<void> {
  const loop = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const start = Date.now();
      try {
        const r = await process(key);
        queue.forget(key);
        if (r?.requeueAfterMs !== undefined) queue.addAfter(key, r.requeueAfterMs);
        hooks.onProcessed?.(key, Date.now() - start, true);
      } catch (err) {
        const delay = queue.addRateLimited(key);
        hooks.onProcessed?.(key, Date.now() - start, false);
        hooks.onError?.(key, err, delay);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
}

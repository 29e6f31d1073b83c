// Tiny benchmark harness: a Benchmark returns named figures; bench/run.ts prints them. No
// assertions here — targets live in the issue, figures go in reports.

export interface Figure {
  label: string;
  value: number;
  unit: "ms" | "µs" | "KB" | "MB" | "count" | "ratio";
  /** The target from the issue, printed next to the figure (never asserted). */
  target?: string;
  /** Whether the figure meets its target, printed as PASS/FAIL (a report, not an exit status). */
  pass?: boolean;
}

export interface Benchmark {
  /** Short id used to pick benchmarks on the command line: `npm run bench -- <name>`. */
  name: string;
  description: string;
  run(): Promise<Figure[]> | Figure[];
}

/** Milliseconds since an arbitrary origin, sub-millisecond precision. */
export function now(): number {
  return performance.now();
}

/** Runs `fn` once and returns its duration in ms. */
export function timeOnce(fn: () => void): number {
  const t = now();
  fn();
  return now() - t;
}

/** Runs `fn(i)` `iterations` times after `warmup` untimed runs; returns sorted per-run durations in ms. */
export function sample(
  iterations: number,
  fn: (i: number) => void,
  warmup = Math.min(50, iterations),
): number[] {
  for (let i = 0; i < warmup; i++) fn(i);
  const out: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = now();
    fn(warmup + i);
    out.push(now() - t);
  }
  return out.sort((a, b) => a - b);
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

type GcGlobal = typeof globalThis & { gc?: () => void };

/** True when node runs with --expose-gc, so heap figures are exact rather than approximate. */
export function gcAvailable(): boolean {
  return typeof (globalThis as GcGlobal).gc === "function";
}

/** V8 heap in use, in MB, after a full GC when available. */
export function heapUsedMB(): number {
  const g = globalThis as GcGlobal;
  if (g.gc) {
    g.gc();
    g.gc();
  }
  return process.memoryUsage().heapUsed / (1024 * 1024);
}

/** Deterministic PRNG (mulberry32): synthetic data is identical from run to run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

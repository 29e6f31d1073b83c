// Polling with a failure message that says what was awaited, for how long, and what was last seen.
import { inspect } from "node:util";

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Describes the last value seen, for the timeout message (default: a short inspect of it). */
  describe?: (last: unknown) => string;
}

/**
 * Calls fn until it returns a truthy value (returned) or the timeout passes. Errors thrown by fn
 * count as "not yet" and the last one is reported. Values that may hold secrets should be
 * described with opts.describe.
 */
export async function waitFor<T>(
  description: string,
  fn: () => Promise<T> | T,
  opts: WaitOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 200;
  const start = Date.now();
  let attempts = 0;
  let last: unknown;
  let lastError: unknown;
  for (;;) {
    attempts++;
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() - start >= timeoutMs) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const seen =
    lastError !== undefined
      ? `last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`
      : `last result: ${opts.describe ? opts.describe(last) : inspect(last, { depth: 2, breakLength: Infinity }).slice(0, 300)}`;
  throw new Error(
    `timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${description}; ${seen}`,
  );
}

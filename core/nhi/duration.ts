// Go-style durations ("1h", "20m", "1h30m", "1.5h"), as the CRD's duration fields and CEL's
// duration() read them. Same grammar as Go's time.ParseDuration, so the CLI agrees with the API server.

const MS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go stores durations as int64 nanoseconds; anything longer overflows there, so it is invalid here too. */
export const MAX_DURATION_MS = 2 ** 63 / 1e6;

// One component: digits, optional fraction (Go accepts "1.", ".5" but not "."), then a unit.
const COMPONENT = /^([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h)/;

/** Milliseconds for a Go duration, or undefined when `s` is not one (or overflows int64 nanoseconds). */
export function tryParseDuration(s: string): number | undefined {
  let rest = s;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    if (rest.startsWith("-")) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0; // Go's one unit-less special case
  if (rest === "") return undefined;
  let total = 0;
  while (rest !== "") {
    const m = COMPONENT.exec(rest);
    if (!m) return undefined;
    const [whole, int = "", frac = "", unit = ""] = m;
    if (int === "" && frac === "") return undefined; // "." or a bare unit
    const perUnit = MS_PER_UNIT[unit];
    if (perUnit === undefined) return undefined;
    total += Number(`${int === "" ? "0" : int}.${frac === "" ? "0" : frac}`) * perUnit;
    rest = rest.slice(whole.length);
  }
  if (!Number.isFinite(total) || total > MAX_DURATION_MS) return undefined;
  return sign * total;
}

export class DurationError extends Error {
  constructor(readonly input: string) {
    super(
      `invalid duration ${JSON.stringify(input)}: expected a Go duration such as 1h, 20m or 1h30m`,
    );
    this.name = "DurationError";
  }
}

/** Milliseconds for a Go duration; throws DurationError when `s` is not one. */
export function parseDuration(s: string): number {
  const ms = tryParseDuration(s);
  if (ms === undefined) throw new DurationError(s);
  return ms;
}

/** Whether `s` is a Go duration. */
export function isDuration(s: string): boolean {
  return tryParseDuration(s) !== undefined;
}

/** Compact Go-like rendering for messages: 5400000 → "1h30m", 1500 → "1.5s", 0 → "0s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(ms);
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.round(rest * 1e6) / 1e9; // seconds, to the nanosecond
  return sign + (h > 0 ? `${h}h` : "") + (m > 0 ? `${m}m` : "") + (s > 0 ? `${s}s` : "");
}

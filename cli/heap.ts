// nhictl is a batch process on CI runners, where memory is the scarce resource: it builds one large
// snapshot, judges it and exits. V8's defaults suit a long-lived server — the young generation
// grows to 16 MB semi-spaces while a parse keeps nearly everything it allocates, and after each full
// collection the old generation may grow up to fourfold before the next. Measured on the 20,000- and
// 100,000-object benchmark streams (node 20): peak RSS 169 → 134 MB and 484 → 368 MB, wall time
// within noise at 20,000 and about 15% more CPU at 100,000 (docs in README "Performance").
import { setFlagsFromString } from "node:v8";

/** Young generation kept at its starting size; each full collection lets the old one grow 30%. */
export const BATCH_HEAP_FLAGS: readonly string[] = [
  "--semi-space-growth-factor=1",
  "--heap-growing-percent=30",
];

/**
 * The heap flags for a command line: none for `nhictl audit`, which streams events with a small
 * and steady heap, where more frequent collections only cost throughput (1,000,000 events: 76,000
 * → 62,000 events/s, peak RSS 231 → 183 MB, both within its targets either way).
 */
export function heapFlagsFor(argv: readonly string[]): readonly string[] {
  return argv[0] === "audit" ? [] : BATCH_HEAP_FLAGS;
}

// Set when this module is evaluated, which nhictl's entry makes the first thing it does (its first
// import), before its other modules load. Both flags are read by V8 at each collection, so setting
// them after start takes effect (unlike --max-semi-space-size, fixed when the heap is set up).
for (const flag of heapFlagsFor(process.argv.slice(2))) setFlagsFromString(flag);

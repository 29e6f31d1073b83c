// `npm run bench [-- <name>...] [-- --json]`: runs the registered benchmarks and prints their
// figures. To add one, write bench/<thing>.ts exporting a Benchmark and list it below; a benchmark
// that measures in other processes forks them itself (bench/webhook.ts). The load average is printed
// before and after: on a shared machine absolute figures are context, ratios measured in one run are
// the result.

import { auditBenchmark } from "./audit.js";
import { cliCheckBenchmark } from "./cli-check.js";
import { effectivePermissionsBenchmark } from "./effective-permissions.js";
import { graphBenchmark } from "./graph.js";
import { inventoryBenchmark } from "./inventory.js";
import { loadavg } from "node:os";
import { type Benchmark, type Figure, gcAvailable } from "./harness.js";
import { webhookBenchmark } from "./webhook.js";
import { webhookHandlerBenchmark } from "./webhook-handler.js";

const benchmarks: Benchmark[] = [
  effectivePermissionsBenchmark,
  cliCheckBenchmark,
  inventoryBenchmark,
  webhookBenchmark,
];
benchmarks.push(graphBenchmark); // issue 12; kept apart for easy merges
benchmarks.push(auditBenchmark); // issue 11
benchmarks.push(webhookHandlerBenchmark); // issue 14: the review path in process, load-independent

function format(f: Figure): string {
  const digits =
    f.unit === "ratio"
      ? 2
      : f.unit === "count"
        ? Number.isInteger(f.value)
          ? 0
          : 1
        : f.value >= 100
          ? 0
          : f.value >= 10
            ? 1
            : 2;
  const value = f.value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  const unit = f.unit === "count" ? "" : f.unit === "ratio" ? "×" : ` ${f.unit}`;
  const verdict = f.pass === undefined ? "" : f.pass ? "  PASS" : "  FAIL";
  return `${f.label.padEnd(80, " ")} ${`${value}${unit}`.padStart(12, " ")}${f.target ? `   (target ${f.target})${verdict}` : verdict}`;
}

const loadAverage = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(", ");

async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  const names = argv.filter((a) => !a.startsWith("--"));
  const unknown = names.filter((n) => !benchmarks.some((b) => b.name === n));
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown benchmark(s): ${unknown.join(", ")}; available: ${benchmarks.map((b) => b.name).join(", ")}\n`,
    );
    return 2;
  }
  const selected =
    names.length === 0 ? benchmarks : benchmarks.filter((b) => names.includes(b.name));
  const results: { name: string; figures: Figure[] }[] = [];
  if (!json) {
    process.stdout.write(
      `node ${process.version}, ${process.platform}/${process.arch}${gcAvailable() ? "" : " (run with --expose-gc for exact heap figures)"}\n`,
    );
    process.stdout.write(`load average at start: ${loadAverage()}\n`);
  }
  for (const b of selected) {
    if (!json) process.stdout.write(`\n== ${b.name}: ${b.description}\n`);
    const figures = await b.run();
    results.push({ name: b.name, figures });
    if (!json) for (const f of figures) process.stdout.write(`${format(f)}\n`);
  }
  if (json)
    process.stdout.write(
      `${JSON.stringify({ node: process.version, gc: gcAvailable(), loadavg: loadavg(), results }, null, 2)}\n`,
    );
  else process.stdout.write(`\nload average at end: ${loadAverage()}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);

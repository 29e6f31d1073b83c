// Preloaded (node --import) into a measured process by bench/cli-check.ts: on exit, writes the
// process's peak RSS in kilobytes to file descriptor 3, which the parent reads. Nothing else.
import { writeSync } from "node:fs";

process.on("exit", () => {
  try {
    writeSync(3, `${process.resourceUsage().maxRSS}\n`);
  } catch {
    // fd 3 not open: not run by the benchmark.
  }
});

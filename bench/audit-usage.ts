// Preloaded (node --import) into the process bench/audit.ts measures: on exit, writes its peak RSS
// (KB) and the CPU it used (user + system, µs) to file descriptor 3. On a shared machine the CPU
// time says what one core does; the wall time says what the machine gave it.
import { writeSync } from "node:fs";

process.on("exit", () => {
  const u = process.resourceUsage();
  try {
    writeSync(3, `${u.maxRSS} ${u.userCPUTime + u.systemCPUTime}\n`);
  } catch {
    // fd 3 not open: not run by the benchmark.
  }
});

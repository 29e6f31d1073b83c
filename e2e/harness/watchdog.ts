// Detached watchdog (see procs.ts, layer 2). Reads lines from stdin, a pipe from the test process:
//   pg <pid> <starttime>   a process group to kill
//   dir <path> / file <path>   to remove
//   done                   the owner stopped everything itself
// When the pipe closes without "done", the owner died: kill the groups, remove the paths, exit.
import { readFileSync, rmSync } from "node:fs";

const groups = new Map<number, string>();
const paths: string[] = [];
let done = false;
let buffered = "";

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" ? undefined : fields[19]; // a zombie is dead, just not reaped yet
  } catch {
    return undefined;
  }
}

function ours(pid: number, start: string): boolean {
  const now = startTime(pid);
  return now !== undefined && (start === "-" || now === start);
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // gone
  }
}

async function cleanup(): Promise<void> {
  // Reverse start order (controller-manager, apiserver, etcd), like a clean stop: an apiserver
  // whose etcd is already gone is slow to shut down.
  for (const [pid, start] of [...groups].reverse()) {
    if (!ours(pid, start)) continue;
    kill(pid, "SIGTERM");
    const deadline = Date.now() + 2_000;
    while (Date.now() < deadline && ours(pid, start)) await new Promise((r) => setTimeout(r, 50));
    if (ours(pid, start)) kill(pid, "SIGKILL");
  }
  await new Promise((r) => setTimeout(r, 200)); // let the kernel release files before removing them
  for (const p of paths) rmSync(p, { recursive: true, force: true });
}

function onLine(line: string): void {
  const [cmd, a, b] = line.split(" ");
  if (cmd === "pg" && a) groups.set(Number(a), b ?? "-");
  else if ((cmd === "dir" || cmd === "file") && a) paths.push(line.slice(cmd.length + 1));
  else if (cmd === "done") done = true;
}

// Ignore terminal signals: the owner handles those and we must outlive it to clean up after it.
process.on("SIGINT", () => undefined);
process.on("SIGHUP", () => undefined);
process.on("SIGTERM", () => void cleanup().finally(() => process.exit(0)));

process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  buffered += chunk;
  let i: number;
  while ((i = buffered.indexOf("\n")) >= 0) {
    onLine(buffered.slice(0, i));
    buffered = buffered.slice(i + 1);
  }
});
process.stdin.on("error", () => undefined);
process.stdin.on("close", () => {
  if (done) process.exit(0);
  void cleanup().finally(() => process.exit(0));
});

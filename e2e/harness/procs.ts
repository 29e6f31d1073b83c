// Child processes that never outlive the test run. Three layers, because any one can be bypassed:
// 1. stop() / signal handlers in this process (orderly, reverse order);
// 2. a detached watchdog (watchdog.ts) that holds a pipe from us and kills the process groups when
//    the pipe closes, i.e. when this process dies however it dies (SIGKILL included);
// 3. a registry of running planes swept on the next start, for when the watchdog itself was killed.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheRoot } from "./binaries.js";

/** /proc start time of a pid (clock ticks since boot), to tell a recycled pid from ours. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child in its own session and process group (setsid), logging to a file. */
export class ManagedProcess {
  readonly pid: number;
  readonly startTime: string | undefined;
  exit: ExitInfo | undefined;
  readonly exited: Promise<ExitInfo>;

  private constructor(
    readonly name: string,
    readonly logFile: string,
    private readonly child: ChildProcess,
  ) {
    if (child.pid === undefined) throw new Error(`e2e harness: could not start ${name}`);
    this.pid = child.pid;
    this.startTime = processStartTime(this.pid);
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  static spawn(name: string, bin: string, args: string[], logFile: string): ManagedProcess {
    const fd = openSync(logFile, "a");
    try {
      // detached: own session, so a terminal's Ctrl-C reaches only the test process, which stops
      // the plane in order; the log goes to a file so the child never depends on our pipes.
      const child = spawn(bin, args, { detached: true, stdio: ["ignore", fd, fd] });
      child.unref();
      return new ManagedProcess(name, logFile, child);
    } finally {
      closeSync(fd);
    }
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** SIGTERM the group, SIGKILL it after graceMs. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.running) {
      killGroup(this.pid, "SIGTERM");
      const timer = setTimeout(() => killGroup(this.pid, "SIGKILL"), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    killGroup(this.pid, "SIGKILL"); // anything the leader left in its group
  }

  killNow(): void {
    killGroup(this.pid, "SIGKILL");
  }

  /** The last lines of the log, for error messages. These components do not log credentials. */
  logTail(lines = 25): string {
    try {
      return readFileSync(this.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }
}

interface RegistryRecord {
  ownerPid: number;
  ownerStart: string | undefined;
  dataDir: string;
  keepData: boolean;
  children: { name: string; pid: number; start: string | undefined }[];
}

function registryDir(): string {
  return join(cacheRoot(), "run");
}

/**
 * Kills what a previous, hard-killed run left behind (layer 3). Returns what it cleaned, for a log line.
 * Only pids whose /proc start time matches the record are touched.
 */
export function sweepStale(): string[] {
  const dir = registryDir();
  if (!existsSync(dir)) return [];
  const cleaned: string[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".json"))) {
    const file = join(dir, f);
    let rec: RegistryRecord;
    try {
      rec = JSON.parse(readFileSync(file, "utf8")) as RegistryRecord;
    } catch {
      continue;
    }
    if (processStartTime(rec.ownerPid) === rec.ownerStart && rec.ownerStart !== undefined) continue;
    for (const c of rec.children) {
      if (c.start !== undefined && processStartTime(c.pid) === c.start) {
        killGroup(c.pid, "SIGKILL");
        cleaned.push(`${c.name} (pid ${c.pid})`);
      }
    }
    if (!rec.keepData) rmSync(rec.dataDir, { recursive: true, force: true });
    rmSync(file, { force: true });
  }
  return cleaned;
}

/** Layers 2 and 3 for one control plane. */
export class Guard {
  private readonly file: string;
  private readonly record: RegistryRecord;
  private watchdog: ChildProcess | undefined;

  constructor(dataDir: string, keepData: boolean) {
    mkdirSync(registryDir(), { recursive: true });
    this.file = join(registryDir(), `${process.pid}-${Date.now()}.json`);
    this.record = {
      ownerPid: process.pid,
      ownerStart: processStartTime(process.pid),
      dataDir,
      keepData,
      children: [],
    };
    this.save();
    const script = join(fileURLToPath(new URL(".", import.meta.url)), "watchdog.js");
    if (existsSync(script)) {
      this.watchdog = spawn(process.execPath, [script], {
        detached: true,
        stdio: ["pipe", "ignore", "ignore"],
      });
      this.watchdog.unref();
      const stdin = this.watchdog.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null;
      stdin?.on("error", () => undefined);
      stdin?.unref?.();
      this.send(`file ${this.file}`);
      if (!keepData) this.send(`dir ${dataDir}`);
    }
  }

  private save(): void {
    writeFileSync(this.file, JSON.stringify(this.record));
  }

  private send(line: string): void {
    this.watchdog?.stdin?.write(`${line}\n`);
  }

  add(p: ManagedProcess): void {
    this.record.children.push({ name: p.name, pid: p.pid, start: p.startTime });
    this.save();
    this.send(`pg ${p.pid} ${p.startTime ?? "-"}`);
  }

  /** Everything stopped cleanly: release the watchdog and drop the record. */
  release(): void {
    this.send("done");
    this.watchdog?.stdin?.end();
    try {
      unlinkSync(this.file);
    } catch {
      // already swept
    }
  }
}

type Stoppable = { stop(): Promise<void>; killNow(): void };
const live = new Set<Stoppable>();
let handlersInstalled = false;
let stopping = false;

async function stopAllAndExit(reason: string, exitCode: number): Promise<void> {
  if (stopping) {
    for (const s of live) s.killNow();
    process.exit(exitCode);
  }
  stopping = true;
  if (live.size > 0)
    process.stderr.write(`\ne2e harness: ${reason}: stopping ${live.size} control plane(s)\n`);
  const all = Promise.allSettled([...live].map((s) => s.stop()));
  await Promise.race([all, sleep(20_000)]);
  for (const s of live) s.killNow();
  process.exit(exitCode);
}

/** Layer 1: every live plane is stopped on SIGINT/SIGTERM/SIGHUP and killed on exit. */
export function track(s: Stoppable): () => void {
  if (!handlersInstalled) {
    handlersInstalled = true;
    const codes: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      process.on(sig, () => void stopAllAndExit(sig, codes[sig] ?? 1));
    }
    process.on("exit", () => {
      for (const x of live) x.killNow();
    });
  }
  live.add(s);
  return () => live.delete(s);
}

let orphanWatch: NodeJS.Timeout | undefined;

/**
 * Stops the planes and exits when this process's parent dies: `npm run` and `sh -c` do not pass
 * SIGTERM on, so killing them would otherwise leave the test process (and its plane) running.
 * Only for test runs; `cluster-up` detaches on purpose.
 */
export function exitWhenOrphaned(): void {
  if (orphanWatch) return;
  const parent = process.ppid;
  orphanWatch = setInterval(() => {
    if (process.ppid !== parent) void stopAllAndExit("parent process exited", 143);
  }, 500);
  orphanWatch.unref();
}

// `make cluster-up` / `make cluster-down`: a control plane in the background, state in .e2e/.
//   node dist/e2e/harness/cli.js up     start (or find) it; print .e2e/kubeconfig
//   node dist/e2e/harness/cli.js down   stop it
//   node dist/e2e/harness/cli.js serve  (internal) the detached process that owns the plane
import { spawn } from "node:child_process";
import {
  closeSync,
  copyFileSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { REPO_ROOT } from "./binaries.js";
import type { AuditSinkEndpoint } from "./cluster.js";
import { ControlPlane } from "./controlplane.js";
import { processStartTime, sleep } from "./procs.js";

const stateDir = join(REPO_ROOT, ".e2e");
const stateFile = join(stateDir, "state.json");
const kubeconfig = join(stateDir, "kubeconfig");
const logFile = join(stateDir, "cluster.log");

interface State {
  pid: number;
  start: string | undefined;
  ready: boolean;
  apiServerUrl?: string;
  pids?: Record<string, number>;
  startedInMs?: number;
  /** The API server's audit log and where it sends audit webhook batches (with the sink's cert files). */
  auditLogPath?: string;
  auditSink?: AuditSinkEndpoint;
}

function readState(): State | undefined {
  try {
    return JSON.parse(readFileSync(stateFile, "utf8")) as State;
  } catch {
    return undefined;
  }
}

function running(s: State | undefined): s is State {
  return s !== undefined && s.start !== undefined && processStartTime(s.pid) === s.start;
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

async function up(): Promise<number> {
  mkdirSync(stateDir, { recursive: true });
  const rel = relative(process.cwd(), kubeconfig) || kubeconfig;
  const existing = readState();
  if (running(existing) && existing.ready) {
    process.stderr.write(
      `cluster-up: already running (${existing.apiServerUrl ?? "?"}, pid ${existing.pid})\n`,
    );
    process.stdout.write(`${rel}\n`);
    return 0;
  }
  if (running(existing)) process.kill(existing.pid, "SIGTERM"); // half-started: start over
  rmSync(stateFile, { force: true });
  const fd = openSync(logFile, "w");
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "serve"], {
    detached: true,
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  child.unref();
  let exited = false;
  child.once("exit", () => (exited = true));
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline && !exited) {
    const s = readState();
    if (s?.ready && s.pid === child.pid) {
      process.stderr.write(
        `cluster-up: ready in ${((s.startedInMs ?? 0) / 1000).toFixed(1)} s at ${s.apiServerUrl ?? "?"} ` +
          `(pid ${s.pid}; log ${relative(process.cwd(), logFile)}). Use: export KUBECONFIG=$PWD/${rel}  ` +
          `or E2E_KUBECONFIG=${rel} npm run test:e2e. Stop: make cluster-down\n` +
          `cluster-up: audit log ${s.auditLogPath ?? "?"}; audit webhook batches go to ${s.auditSink?.url ?? "?"} (cert files in ${relative(process.cwd(), stateFile)})\n`,
      );
      process.stdout.write(`${rel}\n`);
      return 0;
    }
    await sleep(200);
  }
  if (!exited && child.pid) process.kill(child.pid, "SIGTERM");
  process.stderr.write(
    `cluster-up: the control plane did not start; ${logFile}:\n${tail(logFile)}\n`,
  );
  return 1;
}

async function down(): Promise<number> {
  const s = readState();
  if (!running(s)) {
    process.stderr.write("cluster-down: not running\n");
    rmSync(stateFile, { force: true });
    rmSync(kubeconfig, { force: true });
    return 0;
  }
  process.kill(s.pid, "SIGTERM");
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && running(s)) await sleep(100);
  if (running(s)) process.kill(s.pid, "SIGKILL"); // its watchdog then kills the components
  rmSync(stateFile, { force: true });
  rmSync(kubeconfig, { force: true });
  process.stderr.write(`cluster-down: stopped (pid ${s.pid})\n`);
  return 0;
}

async function serve(): Promise<void> {
  process.on("exit", () => {
    // Only remove what is ours: a newer `up` may have replaced the state.
    if (readState()?.pid === process.pid) {
      rmSync(stateFile, { force: true });
      rmSync(kubeconfig, { force: true });
    }
  });
  const cp = await ControlPlane.start({
    log: (l) => process.stdout.write(`${new Date().toISOString()} ${l}\n`),
  });
  copyFileSync(cp.kubeconfigPath, kubeconfig);
  const state: State = {
    pid: process.pid,
    start: processStartTime(process.pid),
    ready: true,
    apiServerUrl: cp.apiServerUrl,
    pids: cp.pids,
    startedInMs: cp.timings.totalMs,
    auditLogPath: cp.auditLogPath,
    auditSink: cp.auditSink,
  };
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  // Stays alive until SIGTERM/SIGINT; procs.ts stops the plane in order and exits.
  setInterval(() => undefined, 1 << 30);
}

const cmd = process.argv[2];
if (cmd === "up") process.exitCode = await up();
else if (cmd === "down") process.exitCode = await down();
else if (cmd === "serve") await serve();
else {
  process.stderr.write("usage: cli.js up|down\n");
  process.exitCode = 2;
}

// Webhook under load, measured as an outsider would (issue 14): three processes per window — the
// server (bench/webhook-server.ts: the webhook over the 10,000-identity cache, or the floor, a bare
// express allow-all HTTPS handler), and an open-loop keep-alive load generator (bench/loadgen.ts).
// Windows interleave webhook, floor, webhook, floor… at each fixed rate and saturated, so both meet
// the same machine load; nothing forces a collection. The server reports its own CPU time, bytes
// allocated, GC pauses and RSS per window. Figures are medians over the repeats; ratios are the
// median of each repeat's webhook/floor pair. Targets: p99 <= 2x the floor's at every rate, saturated
// throughput >= 0.6x the floor's.
//
// Environment: BENCH_WINDOW_SECONDS (default 30), BENCH_REPEATS (2), BENCH_WEBHOOK_RATES
// ("500,1000,2000"), BENCH_WARMUP_SECONDS (3), BENCH_CONNECTIONS (16, the saturated run's).
import { fork, type ChildProcess } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { issueCa, issueServing } from "../edge/x509.js";
import { SIZES } from "./effective-permissions.js";
import { type Benchmark, type Figure } from "./harness.js";
import type { LoadMessage, LoadResult, LoadSpec } from "./loadgen.js";
import { reviews } from "./webhook-cluster.js";
import type {
  ServerKind,
  ServerReply,
  ServerRequest,
  ServerStarted,
  WindowFigures,
} from "./webhook-server.js";

const num = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const WINDOW_SECONDS = num("BENCH_WINDOW_SECONDS", 30);
const REPEATS = Math.round(num("BENCH_REPEATS", 2));
const WARMUP_SECONDS = num("BENCH_WARMUP_SECONDS", 3);
const CONNECTIONS = Math.round(num("BENCH_CONNECTIONS", 16));
const RATES = (process.env.BENCH_WEBHOOK_RATES ?? "500,1000,2000")
  .split(",")
  .map(Number)
  .filter((r) => r > 0);

/** Node flags of both server processes (BENCH_SERVER_FLAGS, space-separated; never --expose-gc). */
const SERVER_FLAGS = (process.env.BENCH_SERVER_FLAGS ?? "").split(" ").filter((f) => f !== "");

const P99_RATIO_TARGET = 2;
const MB = 1024 * 1024;
const SATURATED_RATIO_TARGET = 0.6;

type Mode = { rate: number } | "saturated";
const modeName = (m: Mode): string =>
  m === "saturated"
    ? `saturated (${CONNECTIONS} connections)`
    : `${m.rate.toLocaleString("en-US")}/s`;

interface WindowResult {
  load: LoadResult;
  server: WindowFigures;
  loadavg1: number;
}

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

/** A child speaking one request/reply at a time over IPC. */
class ServerProcess {
  private readonly child: ChildProcess;
  private constructor(readonly kind: ServerKind) {
    // execArgv [] drops the parent's --expose-gc: nothing in the measured process can force a GC.
    this.child = fork(here("./webhook-server.js"), [], {
      execArgv: SERVER_FLAGS,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
  }

  private ask(m: ServerRequest): Promise<ServerReply> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void =>
        reject(new Error(`${this.kind} server exited with ${code}`));
      this.child.once("exit", onExit);
      this.child.once("message", (r: ServerReply) => {
        this.child.off("exit", onExit);
        if ("error" in r) reject(new Error(`${this.kind} server: ${r.error}`));
        else resolve(r);
      });
      this.child.send(m);
    });
  }

  static async start(
    kind: ServerKind,
    cert: string,
    key: string,
  ): Promise<{ server: ServerProcess; started: ServerStarted }> {
    const server = new ServerProcess(kind);
    const r = await server.ask({ start: { kind, cert, key } });
    if (!("started" in r)) throw new Error(`${kind} server did not start`);
    return { server, started: r.started };
  }

  begin(): void {
    this.child.send({ begin: true } satisfies ServerRequest);
  }

  async end(): Promise<WindowFigures> {
    const r = await this.ask({ end: true });
    if (!("window" in r)) throw new Error(`${this.kind} server sent no window figures`);
    return r.window;
  }

  stop(): void {
    this.child.disconnect();
  }
}

function runWindow(server: ServerProcess, spec: LoadSpec): Promise<WindowResult> {
  return new Promise((resolve, reject) => {
    const child = fork(here("./loadgen.js"), [], {
      execArgv: [],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    child.on("message", (m: LoadMessage) => {
      if ("measuring" in m) server.begin();
      else if ("error" in m) reject(new Error(`load generator: ${m.error}`));
      else
        server
          .end()
          .then(
            (figures) => resolve({ load: m.result, server: figures, loadavg1: loadavg()[0] ?? 0 }),
            reject,
          );
    });
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`load generator exited with ${code}`));
    });
    child.send(spec);
  });
}

const pct = (sorted: readonly number[], p: number): number =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[
        Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
      ] as number);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0
    ? Number.NaN
    : s.length % 2 === 1
      ? (s[mid] as number)
      : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** The per-window figures the report shows, per server. */
function summary(w: WindowResult): Record<string, number> {
  const ok = Math.max(1, w.load.ok);
  return {
    p50: pct(w.load.latenciesMs, 50),
    p99: pct(w.load.latenciesMs, 99),
    p999: pct(w.load.latenciesMs, 99.9),
    max: pct(w.load.latenciesMs, 100),
    throughput: w.load.ok / w.load.seconds,
    errors: w.load.errors + w.load.timedOut,
    denied: w.load.denied,
    cpuUsPerReview: (w.server.cpuMs * 1000) / ok,
    allocKBPerReview: (w.server.allocatedMB * 1024) / ok,
    promotedBPerReview: (w.server.promotedMB * MB) / ok,
    majorGcs: w.server.majorGcCount,
    maxGcPauseMs: w.server.maxGcPauseMs,
    gcPauseMs: w.server.gcPauseMs,
    rssMB: w.server.rssMB,
    heapMB: w.server.heapUsedMB,
    loadavg1: w.loadavg1,
  };
}

export const webhookBenchmark: Benchmark = {
  name: "webhook",
  description: `webhook (cache of ${(SIZES.namespaces * SIZES.serviceAccountsPerNamespace).toLocaleString("en-US")} SAs + NHIs, 20,000 roles, 50,000 bindings) vs a bare express allow-all HTTPS floor; separate server and load-generator processes; interleaved ${WINDOW_SECONDS} s windows at ${RATES.join(", ")}/s and saturated, ${REPEATS} repeat(s), no forced GC`,
  async run(): Promise<Figure[]> {
    const now = Date.now();
    const validity = { notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) };
    const ca = issueCa("bench-ca", validity);
    const tls = issueServing(ca, ["localhost", "127.0.0.1"], validity);
    const bodies = reviews(SIZES.namespaces, SIZES.serviceAccountsPerNamespace);
    const figures: Figure[] = [];

    const webhook = await ServerProcess.start("webhook", tls.certPem, tls.keyPem);
    const floor = await ServerProcess.start("floor", tls.certPem, tls.keyPem);
    figures.push(
      {
        label:
          "webhook: cache build in its process (index, directory, identity graph; from parsed JSON)",
        value: webhook.started.cacheBuildMs,
        unit: "ms",
      },
      {
        label: "webhook: RSS with the cache, before load",
        value: webhook.started.rssMB,
        unit: "MB",
      },
      {
        label: "webhook: V8 heap in use with the cache, before load (no forced GC)",
        value: webhook.started.heapMB,
        unit: "MB",
      },
      { label: "floor: RSS before load", value: floor.started.rssMB, unit: "MB" },
    );
    const modes: Mode[] = [...RATES.map((rate) => ({ rate })), "saturated"];
    const results = new Map<
      string,
      { webhook: Record<string, number>[]; floor: Record<string, number>[] }
    >();
    try {
      for (let r = 0; r < REPEATS; r++) {
        for (const mode of modes) {
          const name = modeName(mode);
          const entry = results.get(name) ?? { webhook: [], floor: [] };
          results.set(name, entry);
          for (const [kind, proc] of [
            ["webhook", webhook.server],
            ["floor", floor.server],
          ] as const) {
            const url = (kind === "webhook" ? webhook : floor).started.url;
            const spec: LoadSpec = {
              url,
              ca: ca.certPem,
              bodies,
              mode: mode === "saturated" ? "saturate" : "rate",
              rate: mode === "saturated" ? 0 : mode.rate,
              connections: CONNECTIONS,
              warmupSeconds: WARMUP_SECONDS,
              seconds: WINDOW_SECONDS,
            };
            const s = summary(await runWindow(proc, spec));
            entry[kind].push(s);
            process.stderr.write(
              `  [${r + 1}/${REPEATS}] ${kind.padEnd(7)} ${name.padEnd(26)} p50 ${s.p50?.toFixed(2)} ms  p99 ${s.p99?.toFixed(2)} ms  ${s.throughput?.toFixed(0)}/s  ` +
                `cpu ${s.cpuUsPerReview?.toFixed(0)} µs  alloc ${s.allocKBPerReview?.toFixed(1)} KB/review  promoted ${s.promotedBPerReview?.toFixed(0)} B/review  major GCs ${s.majorGcs}  max pause ${s.maxGcPauseMs?.toFixed(1)} ms  RSS ${s.rssMB?.toFixed(0)} MB  load ${s.loadavg1?.toFixed(2)}\n`,
            );
          }
        }
      }
    } finally {
      webhook.server.stop();
      floor.server.stop();
    }

    const med = (xs: Record<string, number>[], k: string): number =>
      median(xs.map((x) => x[k] ?? Number.NaN));
    /** The median over repeats of each interleaved pair's ratio. */
    const ratio = (
      e: { webhook: Record<string, number>[]; floor: Record<string, number>[] },
      k: string,
      invert = false,
    ): number =>
      median(
        e.webhook.map((w, i) => {
          const f = e.floor[i]?.[k] ?? Number.NaN;
          const v = w[k] ?? Number.NaN;
          return invert ? f / v : v / f;
        }),
      );
    for (const mode of modes) {
      const name = modeName(mode);
      const e = results.get(name);
      if (!e) continue;
      for (const kind of ["webhook", "floor"] as const) {
        const xs = e[kind];
        const tag = `${kind} @ ${name}`;
        figures.push(
          { label: `${tag}: achieved reviews/s`, value: med(xs, "throughput"), unit: "count" },
          { label: `${tag}: p50`, value: med(xs, "p50"), unit: "ms" },
          { label: `${tag}: p99`, value: med(xs, "p99"), unit: "ms" },
          { label: `${tag}: p99.9`, value: med(xs, "p999"), unit: "ms" },
          {
            label: `${tag}: CPU per review (server process)`,
            value: med(xs, "cpuUsPerReview"),
            unit: "µs",
          },
          {
            label: `${tag}: allocation per review (server process)`,
            value: med(xs, "allocKBPerReview"),
            unit: "KB",
          },
          {
            label: `${tag}: promoted to the old generation per review (by scavenges)`,
            value: med(xs, "promotedBPerReview") / 1024,
            unit: "KB",
          },
          {
            label: `${tag}: major (mark-compact) GCs in the window`,
            value: med(xs, "majorGcs"),
            unit: "count",
          },
          { label: `${tag}: longest GC pause`, value: med(xs, "maxGcPauseMs"), unit: "ms" },
          {
            label: `${tag}: errors (non-200, failed, or unanswered 10 s after the window)`,
            value: med(xs, "errors"),
            unit: "count",
          },
        );
      }
      if (mode === "saturated") {
        const v = ratio(e, "throughput");
        figures.push({
          label: `webhook / floor: saturated throughput`,
          value: v,
          unit: "ratio",
          target: `>= ${SATURATED_RATIO_TARGET}`,
          pass: v >= SATURATED_RATIO_TARGET,
        });
      } else {
        const v = ratio(e, "p99");
        figures.push(
          {
            label: `webhook / floor: p99 at ${name}`,
            value: v,
            unit: "ratio",
            target: `<= ${P99_RATIO_TARGET}`,
            pass: v <= P99_RATIO_TARGET,
          },
          { label: `webhook / floor: p50 at ${name}`, value: ratio(e, "p50"), unit: "ratio" },
          {
            label: `webhook / floor: CPU per review at ${name}`,
            value: ratio(e, "cpuUsPerReview"),
            unit: "ratio",
          },
          {
            label: `webhook / floor: allocation per review at ${name}`,
            value: ratio(e, "allocKBPerReview"),
            unit: "ratio",
          },
        );
      }
    }
    const all = [...results.values()];
    const last = (kind: "webhook" | "floor"): number =>
      Math.max(...all.flatMap((e) => e[kind].map((x) => x.rssMB ?? 0)));
    const loads = all.flatMap((e) => [...e.webhook, ...e.floor].map((x) => x.loadavg1 ?? 0));
    figures.push(
      {
        label: "webhook: highest RSS after a window (server process)",
        value: last("webhook"),
        unit: "MB",
      },
      {
        label: "floor: highest RSS after a window (server process)",
        value: last("floor"),
        unit: "MB",
      },
      {
        label: "load average (1 min) at the windows' ends: lowest",
        value: Math.min(...loads),
        unit: "count",
      },
      {
        label: "load average (1 min) at the windows' ends: highest",
        value: Math.max(...loads),
        unit: "count",
      },
    );
    return figures;
  },
};

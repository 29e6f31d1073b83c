// The server side of the webhook benchmark, one process per server (forked by bench/webhook.ts,
// without --expose-gc: nothing forces a collection here):
// - "webhook": the operator's webhook parts as operator/main.ts wires them (validator, admission
//   handler, metrics with the default process metrics, startWebhookServer) over a cache of the
//   synthetic 10,000-identity cluster. The cache's objects arrive as JSON text and are sanitized the
//   way the informers sanitize them, so the heap holds what a live cache holds (distinct objects and
//   strings, not the generator's shared ones).
// - "floor": a bare express allow-all HTTPS handler with the same body parser and TLS settings.
// The parent asks over IPC for the server's own figures around each measured window: CPU time,
// bytes allocated (from V8's GC profile: what every collection freed plus the heap's growth), GC
// pauses, RSS and heap.
import express from "express";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { GCProfiler } from "node:v8";
import { loadCrdDocuments } from "../crds/load.js";
import { createValidator } from "../core/nhi/validate.js";
import type { ClusterSnapshot } from "../core/snapshot.js";
import { snapshotView } from "../operator/k8s/cache/static.js";
import { trimMeta } from "../operator/k8s/cache/trim.js";
import { createAdmissionHandler } from "../webhooks/handler.js";
import { silentLogger } from "../edge/log.js";
import { WebhookMetrics } from "../webhooks/metrics.js";
import { startWebhookServer } from "../webhooks/server/app.js";
import { snapshot } from "./webhook-cluster.js";

export type ServerKind = "webhook" | "floor";

export type ServerRequest =
  { start: { kind: ServerKind; cert: string; key: string } } | { begin: true } | { end: true };

export interface ServerStarted {
  url: string;
  cacheBuildMs: number;
  rssMB: number;
  heapMB: number;
}

export interface WindowFigures {
  cpuMs: number;
  allocatedMB: number;
  /** What scavenges moved into the old generation: per-review garbage there waits for a full GC. */
  promotedMB: number;
  gcCount: number;
  /** Collections that mark the old generation (mark-compact), and their pauses. */
  majorGcCount: number;
  gcPauseMs: number;
  maxGcPauseMs: number;
  rssMB: number;
  heapUsedMB: number;
}

export type ServerReply =
  { started: ServerStarted } | { window: WindowFigures } | { error: string };

const MB = 1024 * 1024;

type Rec = Record<string, unknown>;

/** What the informers keep of each object (operator/k8s/cache/cluster-cache.ts `trimmed`). */
function sanitize<T>(items: T[]): T[] {
  return items.map((o) => {
    const r = o as unknown as Rec;
    return {
      ...r,
      metadata: trimMeta(r.metadata as Parameters<typeof trimMeta>[0]),
    } as unknown as T;
  });
}

async function startWebhook(cert: string, key: string): Promise<ServerStarted> {
  // As the informers receive it: JSON text from the API server, parsed object by object.
  const parsed = JSON.parse(JSON.stringify(snapshot())) as ClusterSnapshot;
  const t0 = performance.now();
  const snap: ClusterSnapshot = {
    namespaces: sanitize(parsed.namespaces),
    serviceAccounts: sanitize(parsed.serviceAccounts),
    rbac: sanitize(parsed.rbac),
    nhis: sanitize(parsed.nhis),
    policies: sanitize(parsed.policies),
    workloads: [],
    secrets: [],
  };
  const view = snapshotView(snap);
  // As ClusterCache.waitForSync does: the identity graph is built at sync, not by the first RBAC
  // review (which would stall the first measured window for seconds).
  view.identityGraph?.();
  const cacheBuildMs = performance.now() - t0;
  const metrics = new WebhookMetrics({ defaultMetrics: true });
  const handle = createAdmissionHandler({
    view,
    validator: createValidator(loadCrdDocuments()),
    logger: silentLogger(),
    metrics,
  });
  const server = await startWebhookServer({
    handle,
    tls: { cert, key },
    host: "127.0.0.1",
    port: 0,
    metricsHost: "127.0.0.1",
    metricsPort: 0,
    metrics,
    logger: silentLogger(),
    readiness: () => ({ ready: true, detail: {} }),
  });
  const m = process.memoryUsage();
  return { url: server.url, cacheBuildMs, rssMB: m.rss / MB, heapMB: m.heapUsed / MB };
}

function startFloor(cert: string, key: string): Promise<ServerStarted> {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.post(
    "/validate",
    express.json({ limit: "4mb", strict: false, type: () => true }),
    (req, res) => {
      const uid = (req.body as { request?: { uid?: string } }).request?.uid ?? "";
      res.json({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        response: { uid, allowed: true },
      });
    },
  );
  const server = createHttpsServer({ cert, key, minVersion: "TLSv1.2" }, app);
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const m = process.memoryUsage();
      resolve({
        url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/validate`,
        cacheBuildMs: 0,
        rssMB: m.rss / MB,
        heapMB: m.heapUsed / MB,
      });
    }),
  );
}

interface Window {
  profiler: GCProfiler;
  cpu: NodeJS.CpuUsage;
  heapUsed: number;
}

/** Bytes allocated between two points: the heap's growth plus what every collection in between freed. */
function windowFigures(w: Window): WindowFigures {
  const cpu = process.cpuUsage(w.cpu);
  const profile = w.profiler.stop();
  const heapNow = process.memoryUsage().heapUsed;
  let freed = 0,
    pause = 0,
    maxPause = 0,
    major = 0,
    promoted = 0;
  // GCProfiler's space statistics are camelCase (getHeapSpaceStatistics' are snake_case).
  const old = (spaces: { spaceName: string; spaceUsedSize: number }[]): number =>
    spaces.find((x) => x.spaceName === "old_space")?.spaceUsedSize ?? 0;
  for (const s of profile.statistics) {
    if (s.gcType === "Scavenge")
      promoted +=
        old(s.afterGC.heapSpaceStatistics as never) - old(s.beforeGC.heapSpaceStatistics as never);
    freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
    const ms = s.cost / 1000; // cost is in microseconds
    pause += ms;
    maxPause = Math.max(maxPause, ms);
    if (s.gcType === "MarkSweepCompact") major++;
  }
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    allocatedMB: (heapNow - w.heapUsed + freed) / MB,
    promotedMB: promoted / MB,
    gcCount: profile.statistics.length,
    majorGcCount: major,
    gcPauseMs: pause,
    maxGcPauseMs: maxPause,
    rssMB: process.memoryUsage().rss / MB,
    heapUsedMB: heapNow / MB,
  };
}

if (process.send) {
  let window: Window | undefined;
  const reply = (r: ServerReply): void => {
    process.send?.(r);
  };
  process.on("message", (m: ServerRequest) => {
    if ("start" in m) {
      const { kind, cert, key } = m.start;
      const started = kind === "webhook" ? startWebhook(cert, key) : startFloor(cert, key);
      started.then(
        (s) => reply({ started: s }),
        (err: unknown) =>
          reply({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      );
    } else if ("begin" in m) {
      const profiler = new GCProfiler();
      profiler.start();
      window = { profiler, cpu: process.cpuUsage(), heapUsed: process.memoryUsage().heapUsed };
    } else if ("end" in m && window) {
      reply({ window: windowFigures(window) });
      window = undefined;
    }
  });
  process.on("disconnect", () => process.exit(0));
}

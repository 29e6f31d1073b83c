// The admission handler in process, over the webhook bench's cache and review mix (issue 14):
// per review kind, bytes allocated, CPU time and bytes that reached the old generation. These do
// not depend on the machine's load, unlike the latencies of bench/webhook.ts, so they show what a
// change to the review path does while others share the machine. Needs --expose-gc (npm run bench).
import { GCProfiler, getHeapSpaceStatistics } from "node:v8";
import { loadCrdDocuments } from "../crds/load.js";
import { createValidator } from "../core/nhi/validate.js";
import type { ClusterSnapshot } from "../core/snapshot.js";
import { silentLogger } from "../edge/log.js";
import { snapshotView } from "../operator/k8s/cache/static.js";
import { trimMeta } from "../operator/k8s/cache/trim.js";
import { createAdmissionHandler } from "../webhooks/handler.js";
import { WebhookMetrics } from "../webhooks/metrics.js";
import { SIZES } from "./effective-permissions.js";
import { heapUsedMB, type Benchmark, type Figure } from "./harness.js";
import { reviews, snapshot } from "./webhook-cluster.js";

const REVIEWS_PER_KIND = 20_000;
const KB = 1024;

type Rec = Record<string, unknown>;
const sanitize = <T>(items: T[]): T[] =>
  items.map((o) => {
    const r = o as unknown as Rec;
    return {
      ...r,
      metadata: trimMeta(r.metadata as Parameters<typeof trimMeta>[0]),
    } as unknown as T;
  });

/** "Pod by a controller", "Pod by a person", "Deployment", "RoleBinding": the bench's mix. */
function kindOf(body: string): string {
  const r = (JSON.parse(body) as { request: { kind: { kind: string }; userInfo: Rec } }).request;
  if (r.kind.kind !== "Pod") return r.kind.kind;
  return String(r.userInfo.username).startsWith("system:serviceaccount:kube-system:")
    ? "Pod by a controller"
    : "Pod by a person";
}

const oldOf = (spaces: readonly { spaceName: string; spaceUsedSize: number }[]): number =>
  spaces.find((s) => s.spaceName === "old_space")?.spaceUsedSize ?? 0;
const oldNow = (): number =>
  getHeapSpaceStatistics().find((s) => s.space_name === "old_space")?.space_used_size ?? 0;

export const webhookHandlerBenchmark: Benchmark = {
  name: "webhook-handler",
  description: `the admission handler in process over the webhook bench's cache and reviews, ${REVIEWS_PER_KIND.toLocaleString("en-US")} reviews per kind after a warm-up: allocation, CPU and old-generation promotion per review`,
  run(): Figure[] {
    const parsed = JSON.parse(JSON.stringify(snapshot())) as ClusterSnapshot;
    const view = snapshotView({
      namespaces: sanitize(parsed.namespaces),
      serviceAccounts: sanitize(parsed.serviceAccounts),
      rbac: sanitize(parsed.rbac),
      nhis: sanitize(parsed.nhis),
      policies: sanitize(parsed.policies),
      workloads: [],
      secrets: [],
    });
    view.identityGraph?.();
    const handle = createAdmissionHandler({
      view,
      validator: createValidator(loadCrdDocuments()),
      logger: silentLogger(),
      metrics: new WebhookMetrics({ defaultMetrics: false }),
    });
    const bodies = reviews(SIZES.namespaces, SIZES.serviceAccountsPerNamespace);
    const byKind = new Map<string, string[]>([["the mix", bodies]]);
    for (const b of bodies) {
      const k = kindOf(b);
      byKind.set(k, [...(byKind.get(k) ?? []), b]);
    }
    const review = (list: readonly string[], i: number): string =>
      JSON.stringify(handle(JSON.parse(list[i % list.length] as string)).body);
    for (let i = 0; i < 2 * bodies.length; i++) review(bodies, i); // warm: optimized, memos filled
    const figures: Figure[] = [];
    for (const [kind, list] of byKind) {
      heapUsedMB(); // full GC
      const profiler = new GCProfiler();
      const heap0 = process.memoryUsage().heapUsed;
      const old0 = oldNow();
      const cpu0 = process.cpuUsage();
      profiler.start();
      for (let i = 0; i < REVIEWS_PER_KIND; i++) review(list, i);
      const stats = profiler.stop().statistics;
      const cpu = process.cpuUsage(cpu0);
      const heap1 = process.memoryUsage().heapUsed;
      const old1 = oldNow();
      let freed = 0;
      let oldFreed = 0;
      for (const s of stats) {
        freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
        if (s.gcType !== "Scavenge")
          oldFreed +=
            oldOf(s.beforeGC.heapSpaceStatistics as never) -
            oldOf(s.afterGC.heapSpaceStatistics as never);
      }
      figures.push(
        {
          label: `${kind}: allocation per review (JSON in and out included)`,
          value: (heap1 - heap0 + freed) / REVIEWS_PER_KIND / KB,
          unit: "KB",
        },
        {
          label: `${kind}: reaching the old generation per review`,
          value: (old1 - old0 + oldFreed) / REVIEWS_PER_KIND / KB,
          unit: "KB",
        },
        {
          label: `${kind}: CPU per review`,
          value: (cpu.user + cpu.system) / REVIEWS_PER_KIND,
          unit: "µs",
        },
      );
    }
    figures.push({
      label: "live heap after the reviews (cache, graph, memos), after a full GC",
      value: heapUsedMB(),
      unit: "MB",
    });
    return figures;
  },
};

// status.rightsize at the edge: every few seconds, each claimed identity whose learning window has
// passed (core/audit/rightsize-status.ts decides) gets its proposal computed from the sink's usage
// and the cache's grants, and written to its NHI through the detection status writer (only that
// field, conflict-guarded, and only when it changed).
import {
  rightsize,
  rightsizeChange,
  rightsizeDue,
  rightsizeStatusOf,
  rightsizeTiming,
  type DeclaredIdentity,
  type UsageRecorder,
} from "../../core/audit/index.js";
import type { Grant, ServiceAccountRef } from "../../core/rbac/types.js";
import type { Log } from "../../edge/log.js";
import type { AnomalyWriter } from "../k8s/anomalies.js";

export interface RightsizerOptions {
  usage: UsageRecorder;
  grantsOf(sa: ServiceAccountRef): Grant[];
  declaration(namespace: string, serviceAccount: string): DeclaredIdentity | undefined;
  writer: AnomalyWriter;
  learningMs: number;
  logger: Log;
  now?: () => number;
}

export interface Rightsizer {
  /** Considers every due identity now; resolves when their writes are done. */
  tick(): Promise<void>;
  stop(): void;
}

export function startRightsizer(o: RightsizerOptions): Rightsizer {
  const timing = rightsizeTiming(o.learningMs);
  const now = o.now ?? Date.now;
  /** identity → when it was last considered (this process). */
  const considered = new Map<string, number>();
  let running: Promise<void> | undefined;
  const tick = (): Promise<void> => {
    if (running) return running;
    const writes: Promise<unknown>[] = [];
    const t = now();
    for (const id of o.usage.identitiesSeen()) {
      const u = o.usage.usageOf(id);
      if (!u || !rightsizeDue(u.first, considered.get(id), t, timing)) continue;
      const d = o.declaration(u.sa.namespace, u.sa.name);
      if (!d) continue; // unclaimed: no NHI to write on (nhictl audit rightsize covers it)
      considered.set(id, t);
      const next = rightsizeStatusOf(
        rightsize(id, u, o.grantsOf(u.sa), { name: d.nhi, scopes: d.scopes }),
        t,
      );
      const [ns = "", name = ""] = d.nhi.split("/");
      writes.push(
        o.writer
          .updateField(ns, name, "rightsize", (nhi) => rightsizeChange(nhi.status?.rightsize, next))
          .then((r) => {
            if (r?.wrote)
              o.logger.info("proposed a narrower scope", {
                nhi: d.nhi,
                unused: next.unusedCount,
                saturated: next.saturated,
              });
          })
          .catch((err: unknown) =>
            o.logger.warn("could not record the rightsize proposal on the NHI's status", {
              nhi: d.nhi,
              error: err instanceof Error ? err.message : String(err),
            }),
          ),
      );
    }
    running = Promise.all(writes).then(() => {
      running = undefined;
    });
    return running;
  };
  // Often enough that a proposal is at most a few seconds late, never more than every second.
  const timer = setInterval(() => void tick(), Math.max(1000, Math.min(timing.intervalMs, 30_000)));
  timer.unref();
  return { tick, stop: () => clearInterval(timer) };
}

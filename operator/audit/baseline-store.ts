// The learned baseline (core/audit/baseline.ts) kept in ConfigMaps of the operator's namespace, so
// that it survives a restart: `<name>-0`, `<name>-1`, … each holding one part of the document under
// `baseline.json`, each part under `maxPartBytes` (a ConfigMap holds at most 1 MiB). Written at most
// once every `intervalMs`, and only when something was learned. Every write first merges what is
// stored (another replica's habits: the API server's batches reach one replica each), then
// replaces the parts with resourceVersion preconditions; a conflict waits for the next interval.
// A damaged part is logged with what is wrong and left out: the baseline starts afresh without it,
// and the next write replaces it.
import type { Baseline, BaselineDocument } from "../../core/audit/index.js";
import { parseBaselineDocument } from "../../core/audit/index.js";
import type { Log } from "../../edge/log.js";
import type { KubeRest } from "../k8s/rest.js";

export const BASELINE_KEY = "baseline.json";
const LABEL = "nhi.io/audit-baseline";

export interface BaselineStoreOptions {
  rest: KubeRest;
  namespace: string;
  /** The ConfigMaps' name prefix. */
  name: string;
  baseline: Baseline;
  /** At most one write this often (default 60 s). */
  intervalMs?: number;
  /** Largest part (default 900 KiB: under the 1 MiB object limit with room for metadata). */
  maxPartBytes?: number;
  /** Parts at most (default 16); what does not fit is not stored, and logged. */
  maxParts?: number;
  logger: Log;
}

interface ConfigMap {
  metadata: { name: string; resourceVersion?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

export interface BaselineStore {
  /** Merges what is stored into the baseline and writes it back, now. */
  sync(): Promise<void>;
  stop(): Promise<void>;
}

/** Reads the stored parts into `baseline` (replacing nothing: merged). Never throws for bad data. */
async function readStored(o: BaselineStoreOptions): Promise<Map<string, ConfigMap>> {
  const list = await o.rest.get<{ items?: ConfigMap[] }>(
    `/api/v1/namespaces/${o.namespace}/configmaps`,
    { query: { labelSelector: `${LABEL}=${o.name}` } },
  );
  const byName = new Map<string, ConfigMap>();
  for (const cm of list.items ?? []) {
    byName.set(cm.metadata.name, cm);
    const text = cm.data?.[BASELINE_KEY];
    const r =
      text === undefined
        ? { error: `no ${BASELINE_KEY} key` }
        : parseBaselineDocument(text, o.baseline.opts.maxHabits);
    if ("error" in r) {
      o.logger.warn("audit baseline: a stored part is not usable; learning afresh without it", {
        configMap: `${o.namespace}/${cm.metadata.name}`,
        error: r.error,
      });
      continue;
    }
    o.baseline.merge(r.document as BaselineDocument);
  }
  return byName;
}

export async function startBaselineStore(o: BaselineStoreOptions): Promise<BaselineStore> {
  const intervalMs = o.intervalMs ?? 60_000;
  const maxPartBytes = o.maxPartBytes ?? 900 * 1024;
  const maxParts = o.maxParts ?? 16;
  const base = `/api/v1/namespaces/${o.namespace}/configmaps`;
  try {
    await readStored(o);
    const s = o.baseline.stats();
    o.logger.info("audit baseline loaded", { identities: s.identities, name: o.name });
  } catch (err) {
    o.logger.warn("audit baseline: could not read the stored baseline; learning afresh", {
      error: err instanceof Error ? err.message : String(err),
    });
  }
  // What was read is stored already.
  o.baseline.dirty = false;

  const write = async (): Promise<void> => {
    const stored = await readStored(o);
    o.baseline.dirty = false;
    let parts = o.baseline.toParts(maxPartBytes);
    if (parts.length > maxParts) {
      o.logger.warn("audit baseline: larger than its ConfigMaps hold; the rest is not stored", {
        parts: parts.length,
        maxParts,
      });
      parts = parts.slice(0, maxParts);
    }
    for (const [i, part] of parts.entries()) {
      const name = `${o.name}-${i}`;
      const live = stored.get(name);
      const body: ConfigMap & { apiVersion: string; kind: string } = {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name,
          labels: { [LABEL]: o.name, "app.kubernetes.io/managed-by": "nhi-operator" },
          ...(live?.metadata.resourceVersion
            ? { resourceVersion: live.metadata.resourceVersion }
            : {}),
        },
        data: { [BASELINE_KEY]: part },
      };
      if (live) await o.rest.request("PUT", `${base}/${name}`, { body });
      else await o.rest.request("POST", base, { body });
    }
    for (const name of stored.keys()) {
      const i = Number(name.slice(o.name.length + 1));
      if (name.startsWith(`${o.name}-`) && Number.isInteger(i) && i >= parts.length)
        await o.rest.remove(`${base}/${name}`);
    }
  };

  let running: Promise<void> | undefined;
  const sync = (): Promise<void> =>
    (running ??= write()
      .catch((err: unknown) => {
        // A conflict (another replica wrote first) or an outage: the next interval tries again.
        o.baseline.dirty = true;
        o.logger.warn("audit baseline: not stored this time", {
          error: err instanceof Error ? err.message : String(err),
        });
      })
      .finally(() => (running = undefined)));
  const timer = setInterval(() => {
    if (o.baseline.dirty) void sync();
  }, intervalMs);
  timer.unref();
  return {
    sync,
    stop: async () => {
      clearInterval(timer);
      await running;
      if (o.baseline.dirty) await sync();
    },
  };
}

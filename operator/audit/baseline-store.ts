// What the audit sink learns, kept in ConfigMaps of the operator's namespace so that it survives a
// restart and is shared by the replicas: the learned baseline (core/audit/baseline.ts) in
// `<name>-0`, `<name>-1`, … under `baseline.json`, and the usage behind status.rightsize
// (core/audit/rightsize.ts) in `<name>-usage-0`, … under `usage.json`; each part under
// `maxPartBytes` (a ConfigMap holds at most 1 MiB). Written at most once every `intervalMs`, and
// only when something was learned. Every write first merges what is stored (another replica's
// share: the API server's batches reach one replica each), then replaces the parts with
// resourceVersion preconditions; a conflict waits for the next interval. Between writes a replica
// also merges what is stored (`mergeEveryMs`), so each one judges with what the others learned.
// A damaged part is logged with what is wrong and left out: that part starts afresh without it,
// and the next write replaces it.
import type { Baseline, UsageRecorder } from "../../core/audit/index.js";
import { parseBaselineDocument, parseUsageDocument } from "../../core/audit/index.js";
import type { Log } from "../../edge/log.js";
import type { KubeRest } from "../k8s/rest.js";

export const BASELINE_KEY = "baseline.json";
export const USAGE_KEY = "usage.json";
const LABEL = "nhi.io/audit-baseline";

/** What a store keeps: serialised in parts, merged from stored parts, written only when dirty. */
export interface StoredState {
  /** The ConfigMaps' data key, and what the logs call it. */
  key: string;
  what: string;
  dirty: boolean;
  toParts(maxBytes: number): string[];
  /** Parses one stored part and merges it; the error when it is not usable. */
  mergePart(text: string): string | undefined;
  /** Identities held, for the log. */
  identities(): number;
}

export function baselineState(b: Baseline): StoredState {
  return {
    key: BASELINE_KEY,
    what: "audit baseline",
    get dirty() {
      return b.dirty;
    },
    set dirty(v: boolean) {
      b.dirty = v;
    },
    toParts: (max) => b.toParts(max),
    mergePart: (text) => {
      const r = parseBaselineDocument(text, b.opts.maxHabits);
      if ("error" in r) return r.error;
      b.merge(r.document);
      return undefined;
    },
    identities: () => b.stats().identities,
  };
}

export function usageState(u: UsageRecorder): StoredState {
  return {
    key: USAGE_KEY,
    what: "audit usage (rightsize)",
    get dirty() {
      return u.dirty;
    },
    set dirty(v: boolean) {
      u.dirty = v;
    },
    toParts: (max) => u.toParts(max),
    mergePart: (text) => {
      const r = parseUsageDocument(text, u.opts.maxPermissions);
      if ("error" in r) return r.error;
      u.merge(r.document);
      return undefined;
    },
    identities: () => u.identitiesSeen().length,
  };
}

export interface BaselineStoreOptions {
  rest: KubeRest;
  namespace: string;
  /** The ConfigMaps' name prefix. */
  name: string;
  state: StoredState;
  /** At most one write this often (default 60 s). */
  intervalMs?: number;
  /** Largest part (default 900 KiB: under the 1 MiB object limit with room for metadata). */
  maxPartBytes?: number;
  /** Parts at most (default 16); what does not fit is not stored, and logged. */
  maxParts?: number;
  /** Merge the stored parts (other replicas' writes) this often between writes (default: intervalMs). */
  mergeEveryMs?: number;
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

/** Reads the stored parts into the state (replacing nothing: merged). Never throws for bad data. */
async function readStored(o: BaselineStoreOptions): Promise<Map<string, ConfigMap>> {
  const list = await o.rest.get<{ items?: ConfigMap[] }>(
    `/api/v1/namespaces/${o.namespace}/configmaps`,
    { query: { labelSelector: `${LABEL}=${o.name}` } },
  );
  const byName = new Map<string, ConfigMap>();
  for (const cm of list.items ?? []) {
    byName.set(cm.metadata.name, cm);
    const text = cm.data?.[o.state.key];
    const error = text === undefined ? `no ${o.state.key} key` : o.state.mergePart(text);
    if (error !== undefined)
      o.logger.warn(`${o.state.what}: a stored part is not usable; learning afresh without it`, {
        configMap: `${o.namespace}/${cm.metadata.name}`,
        error,
      });
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
    o.logger.info(`${o.state.what} loaded`, { identities: o.state.identities(), name: o.name });
  } catch (err) {
    o.logger.warn(`${o.state.what}: could not read what was stored; learning afresh`, {
      error: err instanceof Error ? err.message : String(err),
    });
  }
  // What was read is stored already.
  o.state.dirty = false;

  const write = async (): Promise<void> => {
    const stored = await readStored(o);
    o.state.dirty = false;
    let parts = o.state.toParts(maxPartBytes);
    if (parts.length > maxParts) {
      o.logger.warn(`${o.state.what}: larger than its ConfigMaps hold; the rest is not stored`, {
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
        data: { [o.state.key]: part },
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
        o.state.dirty = true;
        o.logger.warn(`${o.state.what}: not stored this time`, {
          error: err instanceof Error ? err.message : String(err),
        });
      })
      .finally(() => (running = undefined)));
  // Between writes, what the other replicas stored is merged in (a read; written back only when
  // it taught this replica something and the interval comes).
  const merge = (): Promise<void> =>
    (running ??= readStored(o)
      .then(() => undefined)
      .catch((err: unknown) => {
        o.logger.warn(`${o.state.what}: could not read what the other replicas stored`, {
          error: err instanceof Error ? err.message : String(err),
        });
      })
      .finally(() => (running = undefined)));
  const timer = setInterval(() => {
    if (o.state.dirty) void sync();
  }, intervalMs);
  timer.unref();
  const mergeTimer = setInterval(() => void merge(), o.mergeEveryMs ?? intervalMs);
  mergeTimer.unref();
  return {
    sync,
    stop: async () => {
      clearInterval(timer);
      clearInterval(mergeTimer);
      await running;
      if (o.state.dirty) await sync();
    },
  };
}

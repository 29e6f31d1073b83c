// `legacyTokens: Rotate`: the glue that drives each legacy token Secret of the governed account
// through core/rotation/legacy.ts, one step at a time, re-reading everything before each step.
// The old Secret is read as metadata only; the successor is read whole once per step, only to see
// which of its keys are non-empty (the token never leaves this function, never logged or recorded).
import type { ObjectMeta } from "../../../core/rbac/types.js";
import type { NonHumanIdentity } from "../../../core/nhi/types.js";
import {
  SERVICE_ACCOUNT_NAME_ANNOTATION,
  SERVICE_ACCOUNT_TOKEN_TYPE,
  type WorkloadObject,
} from "../../../core/snapshot.js";
import {
  TEMPLATE_REWRITABLE_KINDS,
  WORKLOAD_KINDS,
  workloadPath,
} from "../../../core/workloads/pod-template.js";
import {
  legacyRecordAnnotations,
  legacyRotationWanted,
  planLegacyRotation,
  readLegacyRecord,
  type LegacyRecord,
  type LegacySecretView,
  type LegacyStep,
} from "../../../core/rotation/index.js";
import {
  MERGE_PATCH,
  METADATA_ACCEPT,
  METADATA_LIST_ACCEPT,
  isAlreadyExists,
  isConflict,
  type KubeRest,
} from "../../k8s/rest.js";
import type { Log } from "../../../edge/log.js";
import type { ControllerMetricsSink } from "../types.js";
import { podsConsuming, retargetWorkload, switchableConsumers } from "./decide.js";

const MAX_STEPS = 12;
const CREDENTIAL_TYPE = "LegacyToken";

type Meta = ObjectMeta;
interface SecretLike {
  metadata: Meta;
  type?: string;
  data?: Record<string, string>;
}

export interface LegacyDeps {
  rest: KubeRest;
  log: Log;
  metrics: ControllerMetricsSink;
  now: () => number;
  /** Live pods (trimmed) from the cache. */
  workloads: () => readonly WorkloadObject[];
  event: (type: "Normal" | "Warning", reason: string, message: string) => Promise<void>;
  afterStep?: (step: string, key: string) => void;
  errorMessage: (e: unknown) => string;
}

export interface LegacyOptions {
  nhi: NonHumanIdentity;
  /**
   * Which of the account's legacy token Secrets to drive: all of them (legacyTokens: Rotate), or only
   * those whose replacement was asked for (nhi.io/rotate-requested-at: a replayed token under
   * onAnomaly: Rotate) and those already being replaced.
   */
  only: "all" | "requested";
  suspended: boolean;
  maxAgeMs: number;
  overlapMs: number;
}

const secretsPath = (ns: string): string => `/api/v1/namespaces/${ns}/secrets`;

function legacyView(s: SecretLike, withKeys: boolean): LegacySecretView {
  return {
    name: s.metadata.name,
    labels: s.metadata.labels ?? {},
    annotations: s.metadata.annotations ?? {},
    // Only the NAMES of keys whose value is non-empty: presence is all the plan needs.
    keys: withKeys
      ? Object.entries(s.data ?? {})
          .filter(([, v]) => typeof v === "string" && v.length > 0)
          .map(([k]) => k)
      : [],
    ...(s.type ? { type: s.type } : {}),
    ...(s.metadata.creationTimestamp ? { creationTimestamp: s.metadata.creationTimestamp } : {}),
  };
}

/** Drives every legacy token Secret of the NHI's ServiceAccount; returns when to look again. */
export async function driveLegacyTokens(
  d: LegacyDeps,
  o: LegacyOptions,
): Promise<number | undefined> {
  const ns = o.nhi.metadata.namespace ?? "default";
  const sa = o.nhi.spec.serviceAccountName;
  const tokens = (
    await d.rest.listAll<SecretLike>(secretsPath(ns), {
      accept: METADATA_LIST_ACCEPT,
      query: { fieldSelector: `type=${SERVICE_ACCOUNT_TOKEN_TYPE}` },
    })
  ).filter(
    (s) =>
      s.metadata.annotations?.[SERVICE_ACCOUNT_NAME_ANNOTATION] === sa &&
      (o.only === "all" || legacyRotationWanted(s.metadata.annotations)),
  );
  let next: number | undefined;
  let firstError: unknown;
  for (const t of tokens) {
    try {
      const at = await driveOne(d, o, t.metadata.name);
      if (at !== undefined) next = next === undefined ? at : Math.min(next, at);
    } catch (e) {
      firstError ??= e;
    }
  }
  if (firstError !== undefined) throw firstError;
  return next;
}

async function listSwitchable(rest: KubeRest, ns: string): Promise<WorkloadObject[]> {
  const out: WorkloadObject[] = [];
  for (const kind of TEMPLATE_REWRITABLE_KINDS) {
    const items = await rest.listAll<WorkloadObject>(workloadPath(kind, ns) as string);
    out.push(...items.map((w) => ({ ...w, kind })));
  }
  return out;
}

async function driveOne(
  d: LegacyDeps,
  o: LegacyOptions,
  name: string,
): Promise<number | undefined> {
  const ns = o.nhi.metadata.namespace ?? "default";
  const key = `${ns}/${o.nhi.metadata.name}/legacy/${name}`;
  for (let i = 0; i < MAX_STEPS; i++) {
    const old = await d.rest.find<SecretLike>(`${secretsPath(ns)}/${name}`, {
      accept: METADATA_ACCEPT,
    });
    if (!old) return undefined; // rotated (or deleted by someone): nothing left to do for it
    const rec = readLegacyRecord(old.metadata.annotations ?? {});
    let successor: LegacySecretView | undefined;
    let consumers: string[] = [];
    let podsOnOld: string[] = [];
    let workloads: WorkloadObject[] = [];
    if (rec.state !== "Idle" && rec.successor !== undefined) {
      const s = await d.rest.find<SecretLike>(`${secretsPath(ns)}/${rec.successor}`);
      successor = s ? legacyView(s, true) : undefined;
      // Fresh, not from the cache: a reference the cache has not seen yet must not be left behind.
      workloads = await listSwitchable(d.rest, ns);
      consumers = switchableConsumers(workloads, name);
      podsOnOld = podsConsuming(d.workloads(), ns, name);
    }
    const now = d.now();
    const step = planLegacyRotation(
      {
        nhiName: o.nhi.metadata.name,
        serviceAccountName: o.nhi.spec.serviceAccountName,
        secret: { ...legacyView(old, false), type: SERVICE_ACCOUNT_TOKEN_TYPE },
        successor,
        consumers,
        podsOnOld,
        suspended: o.suspended,
        maxAgeMs: o.maxAgeMs,
        overlapMs: o.overlapMs,
        now,
      },
      rec,
    );
    switch (step.kind) {
      case "Idle":
        return step.nextAt;
      case "Suspended":
        return undefined;
      case "Blocked":
        await noteOnce(d, ns, old, rec, "Warning", "LegacyRotationBlocked", step.message);
        return undefined;
      case "Wait":
        if (step.message !== undefined)
          await noteOnce(d, ns, old, rec, "Warning", "LegacyRotationWaiting", step.message);
        return step.until;
      default:
    }
    try {
      await perform(d, o, old, rec, step, workloads);
      d.metrics.rotation(ns, CREDENTIAL_TYPE, step.kind, "ok");
      d.afterStep?.(step.kind, key);
    } catch (e) {
      // A concurrent write (409), or the successor exists already: re-read and re-plan.
      if (isConflict(e) || isAlreadyExists(e)) continue;
      d.metrics.rotation(ns, CREDENTIAL_TYPE, step.kind, "error");
      const msg = `${step.kind} of legacy token Secret ${name} failed: ${d.errorMessage(e)}`;
      d.log.warn("legacy token rotation step failed", {
        nhi: key,
        step: step.kind,
        error: d.errorMessage(e),
      });
      await d.event("Warning", "LegacyRotationFailed", msg);
      throw e;
    }
  }
  return d.now() + 1000;
}

/** Merge patch of the old Secret's record, guarded by the resourceVersion it was planned from. */
async function writeRecord(
  d: LegacyDeps,
  ns: string,
  old: SecretLike,
  rec: LegacyRecord,
): Promise<void> {
  await d.rest.request("PATCH", `${secretsPath(ns)}/${old.metadata.name}`, {
    body: {
      metadata: {
        resourceVersion: old.metadata.resourceVersion,
        annotations: legacyRecordAnnotations(rec),
      },
    },
    contentType: MERGE_PATCH,
  });
}

/** An event and the record's lastError, once per distinct message (a waiting rotation does not repeat itself). */
async function noteOnce(
  d: LegacyDeps,
  ns: string,
  old: SecretLike,
  rec: LegacyRecord,
  type: "Normal" | "Warning",
  reason: string,
  message: string,
): Promise<void> {
  if (rec.lastError === message) return;
  await d.event(type, reason, message);
  await writeRecord(d, ns, old, { ...rec, lastError: message }).catch(() => undefined);
}

async function perform(
  d: LegacyDeps,
  o: LegacyOptions,
  old: SecretLike,
  rec: LegacyRecord,
  step: LegacyStep,
  workloads: WorkloadObject[],
): Promise<void> {
  const ns = o.nhi.metadata.namespace ?? "default";
  const name = old.metadata.name;
  switch (step.kind) {
    case "Begin": {
      await writeRecord(d, ns, old, step.record);
      const why = {
        MaxAge: `older than the maximum credential age (${Math.round(o.maxAgeMs / 3_600_000)}h)`,
        NotIssuedByOperator:
          "it was not issued by nhi-operator, so nobody knows where its never-expiring token was copied",
        Requested:
          "its replacement was requested (onAnomaly: Rotate: its token was used out of character)",
      }[step.reason];
      await d.event(
        "Normal",
        "LegacyRotationStarted",
        `replacing legacy token Secret ${name} with ${step.record.successor ?? ""}${step.reason === "Requested" ? "" : " (legacyTokens: Rotate)"}: ${why}`,
      );
      return;
    }
    case "CreateSuccessor": {
      await d.rest.request("POST", secretsPath(ns), {
        body: {
          apiVersion: "v1",
          kind: "Secret",
          type: SERVICE_ACCOUNT_TOKEN_TYPE,
          metadata: {
            name: step.name,
            namespace: ns,
            labels: step.labels,
            annotations: step.annotations,
          },
        },
      });
      await d.event(
        "Normal",
        "LegacySuccessorCreated",
        `created legacy token Secret ${step.name} to replace ${name}; the token controller fills it`,
      );
      return;
    }
    case "Switch": {
      for (const ref of step.workloads) {
        const [kind = "", wname = ""] = ref.split("/");
        const api = TEMPLATE_REWRITABLE_KINDS.has(kind) ? WORKLOAD_KINDS[kind] : undefined;
        const current = workloads.find((w) => w.kind === kind && w.metadata.name === wname);
        if (!api || !current) continue;
        const next = retargetWorkload(current, name, step.successor);
        if (!next) continue;
        // A PUT of what was read: its resourceVersion guards against a concurrent edit (409: re-plan).
        await d.rest.request("PUT", workloadPath(kind, ns, wname) as string, {
          body: { ...next, apiVersion: api.apiVersion, kind },
        });
      }
      const { lastError: _e, ...record } = step.record;
      await writeRecord(d, ns, old, record);
      if (step.workloads.length > 0) {
        await d.event(
          "Normal",
          "LegacyConsumersSwitched",
          `switched ${step.workloads.join(", ")} from legacy token Secret ${name} to ${step.successor}; they roll out with the new token`,
        );
      } else if (rec.state === "Creating") {
        await d.event(
          "Normal",
          "LegacyConsumersSwitched",
          `legacy token Secret ${step.successor} is filled; no workload references ${name}`,
        );
      }
      return;
    }
    case "Revoke": {
      // No DeleteOptions body (uid precondition): KubeRest sends a DELETE body without Content-Length,
      // which corrupts the keep-alive connection. The old Secret was read just before this step.
      await d.rest.remove(`${secretsPath(ns)}/${name}`);
      await d.event(
        "Normal",
        "LegacyTokenRevoked",
        `deleted legacy token Secret ${name}: its token no longer authenticates; consumers use ${step.successor}`,
      );
      return;
    }
    default:
  }
}

// `legacyTokens: Rotate`: replacing a legacy `kubernetes.io/service-account-token` Secret so the
// token controller issues a new token, after every consumer was switched to it. The progress is
// recorded on the OLD Secret (annotations), so a restart at any step resumes from what it says:
//
//   Idle ─(due)─Begin─► Creating ─CreateSuccessor─► (token controller fills it) ─Switch─► Overlap
//   Overlap ─(no pod still on the old Secret, overlap over)─Revoke─► (old Secret deleted)
//
// - Begin only records the intent and the successor's name (derived from the old one).
// - CreateSuccessor creates an empty token Secret annotated with the ServiceAccount's name; the
//   token controller fills it. The planner only sees the NAMES of non-empty data keys.
// - Switch rewrites every workload template that references the old Secret (volume, projected,
//   env, envFrom) to the successor, which also rolls the workload out; then records Overlap.
// - Overlap waits until no live pod consumes the old Secret (the rollout finished; a bare pod keeps
//   it alive indefinitely) and for the overlap; a workload that appears meanwhile is switched too.
// - Revoke deletes the old Secret: the token controller's authenticator stops accepting its token.
//
// When is a legacy token due? One the operator did not issue is replaced at once: nobody knows
// where its never-expiring value has been copied. One the operator issued (a successor) is replaced
// when older than `maxAgeMs` (the NHIPolicies' maxCredentialAge, default 90 days). A token the
// cleanup controller marked invalid is left alone: it authenticates nobody, and replacing it would
// revive an unused credential. A Secret annotated `nhi.io/rotate-requested-at` (runtime detection's
// onAnomaly: Rotate, when its token was replayed) is replaced at once, whatever the NHI's
// legacyTokens mode: the request stays on the old Secret until the Secret is deleted.
import { SERVICE_ACCOUNT_NAME_ANNOTATION, SERVICE_ACCOUNT_TOKEN_TYPE } from "../snapshot.js";
import type { PodSpec, Volume, Container } from "../workloads/pod-template.js";
import {
  ANNOTATIONS,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  NHI_LABEL,
  TOKEN_KEY,
  formatTime,
  parseTime,
} from "./state.js";

export const LEGACY_INVALID_SINCE = "kubernetes.io/legacy-token-invalid-since";
/** A legacy token older than this is rotated when no NHIPolicy sets maxCredentialAge. */
export const DEFAULT_LEGACY_MAX_AGE_MS = 90 * 24 * 3_600_000;
/** After this long without the token controller filling the successor, the rotation reports it. */
export const LEGACY_FILL_PATIENCE_MS = 5 * 60_000;
/** How often a waiting rotation looks again when nothing else wakes it. */
export const LEGACY_POLL_MS = 2_000;

export const LEGACY_ANNOTATIONS = {
  /** On the old Secret: Idle (absent) | Creating | Overlap. */
  state: "nhi.io/legacy-rotation-state",
  /** On the old Secret: the successor's name. */
  successor: "nhi.io/legacy-successor",
  startedAt: "nhi.io/legacy-rotation-started-at",
  /** While Overlap: not revoked before this time (RFC 3339). */
  revokeAt: "nhi.io/legacy-revoke-at",
  /** On a successor: the Secret it replaces (names exceed label limits, so an annotation). */
  successorOf: "nhi.io/legacy-successor-of",
  /** On a successor: how many rotations led to it. */
  rotations: "nhi.io/rotations",
  /** The last problem of the rotation (never a value). */
  lastError: "nhi.io/last-error",
} as const;

export const LEGACY_STATES = ["Idle", "Creating", "Overlap"] as const;
export type LegacyState = (typeof LEGACY_STATES)[number];

export interface LegacyRecord {
  state: LegacyState;
  successor?: string;
  startedAt?: number;
  revokeAt?: number;
  lastError?: string;
}

/** A token Secret as the plan sees it: metadata and the names of NON-EMPTY data keys, never values. */
export interface LegacySecretView {
  name: string;
  type?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Names of data keys whose value is non-empty (the edge checks, the plan never sees a value). */
  keys: string[];
  creationTimestamp?: string;
}

export interface LegacyRotationInput {
  nhiName: string;
  serviceAccountName: string;
  /** The legacy token Secret being rotated. */
  secret: LegacySecretView;
  /** Its successor as it exists now (undefined: not created yet). */
  successor: LegacySecretView | undefined;
  /** Workloads whose template still references the old Secret and can be rewritten ("Deployment/api"). */
  consumers: string[];
  /** Live pods that still consume the old Secret ("Pod/api-7d9-x"): a rollout in progress, or a bare pod. */
  podsOnOld: string[];
  suspended: boolean;
  /** maxAge of an operator-issued legacy token. */
  maxAgeMs: number;
  overlapMs: number;
  now: number;
}

export type LegacyReason = "NotIssuedByOperator" | "MaxAge" | "Requested";

export type LegacyStep =
  | { kind: "Idle"; nextAt?: number }
  | { kind: "Suspended" }
  | { kind: "Blocked"; message: string }
  /** Record the intent on the old Secret. */
  | { kind: "Begin"; reason: LegacyReason; record: LegacyRecord }
  /** Create the successor token Secret (no data: the token controller fills it). */
  | {
      kind: "CreateSuccessor";
      name: string;
      labels: Record<string, string>;
      annotations: Record<string, string>;
    }
  /** Rewrite `workloads`' references old → successor, then write `record` on the old Secret. */
  | { kind: "Switch"; successor: string; workloads: string[]; record: LegacyRecord }
  /** Nothing to do before `until`; `message` says what is awaited when it is worth an event. */
  | { kind: "Wait"; until: number; message?: string }
  /** Delete the old Secret (its token stops authenticating). */
  | { kind: "Revoke"; secret: string; successor: string };

/** The successor's name: `<base>-nhi-r<N+1>` where the old one is `<base>` or `<base>-nhi-r<N>`; at most 253 characters. */
export function successorName(oldName: string): string {
  const m = /^(.*)-nhi-r([0-9]{1,9})$/.exec(oldName);
  const base = m?.[1] ?? oldName;
  const n = m?.[2] !== undefined ? Number(m[2]) + 1 : 1;
  const suffix = `-nhi-r${n}`;
  return `${base.slice(0, 253 - suffix.length).replace(/[-.]+$/, "")}${suffix}`;
}

export function readLegacyRecord(annotations: Record<string, string>): LegacyRecord {
  const raw = annotations[LEGACY_ANNOTATIONS.state];
  const state: LegacyState = (LEGACY_STATES as readonly string[]).includes(raw ?? "")
    ? (raw as LegacyState)
    : "Idle";
  const rec: LegacyRecord = { state };
  const successor = annotations[LEGACY_ANNOTATIONS.successor];
  if (successor) rec.successor = successor;
  const startedAt = parseTime(annotations[LEGACY_ANNOTATIONS.startedAt]);
  if (startedAt !== undefined) rec.startedAt = startedAt;
  const revokeAt = parseTime(annotations[LEGACY_ANNOTATIONS.revokeAt]);
  if (revokeAt !== undefined) rec.revokeAt = revokeAt;
  const lastError = annotations[LEGACY_ANNOTATIONS.lastError];
  if (lastError) rec.lastError = lastError;
  // A half-state without its successor cannot be resumed: read it as Idle (it starts again).
  if (rec.state !== "Idle" && rec.successor === undefined) return { state: "Idle" };
  return rec;
}

/** The annotation changes that write `rec` (null removes), for a merge patch. */
export function legacyRecordAnnotations(rec: LegacyRecord): Record<string, string | null> {
  const t = (ms: number | undefined): string | null => (ms === undefined ? null : formatTime(ms));
  return {
    [LEGACY_ANNOTATIONS.state]: rec.state === "Idle" ? null : rec.state,
    [LEGACY_ANNOTATIONS.successor]: rec.successor ?? null,
    [LEGACY_ANNOTATIONS.startedAt]: t(rec.startedAt),
    [LEGACY_ANNOTATIONS.revokeAt]: t(rec.revokeAt),
    [LEGACY_ANNOTATIONS.lastError]: rec.lastError ?? null,
  };
}

/** Whether the operator issued this legacy token (it is some rotation's successor). */
export const issuedByOperator = (s: LegacySecretView): boolean =>
  s.labels[MANAGED_BY_LABEL] === MANAGED_BY &&
  s.annotations[LEGACY_ANNOTATIONS.successorOf] !== undefined;

/** Whether someone asked for this legacy token's replacement (`nhi.io/rotate-requested-at`; onAnomaly: Rotate). */
export const legacyRotationRequested = (annotations: Readonly<Record<string, string>>): boolean =>
  parseTime(annotations[ANNOTATIONS.rotateRequestedAt]) !== undefined;

/** Whether a legacy token Secret is asked to be replaced, or is being replaced (its record is not Idle). */
export const legacyRotationWanted = (
  annotations: Readonly<Record<string, string>> | undefined,
): boolean =>
  annotations !== undefined &&
  (legacyRotationRequested(annotations) || readLegacyRecord(annotations).state !== "Idle");

/** When a legacy token is due for replacement (undefined: never by age — it is invalid or not a token of this account). */
export function legacyDueAt(s: LegacySecretView, maxAgeMs: number): number | undefined {
  // Asked for: its token was replayed, so it is replaced now even when marked invalid (it authenticated).
  if (legacyRotationRequested(s.annotations)) return Number.NEGATIVE_INFINITY;
  if (s.labels[LEGACY_INVALID_SINCE] !== undefined) return undefined;
  if (!issuedByOperator(s)) return Number.NEGATIVE_INFINITY;
  const created = parseTime(s.creationTimestamp);
  return created === undefined ? Number.NEGATIVE_INFINITY : created + maxAgeMs;
}

const rotationsOf = (s: LegacySecretView): number => {
  const v = s.annotations[LEGACY_ANNOTATIONS.rotations];
  return v !== undefined && /^[0-9]{1,9}$/.test(v) ? Number(v) : 0;
};

/** The one next step of a legacy token's replacement. */
export function planLegacyRotation(input: LegacyRotationInput, rec: LegacyRecord): LegacyStep {
  const { secret, successor, now } = input;
  if (secret.type !== undefined && secret.type !== SERVICE_ACCOUNT_TOKEN_TYPE)
    return { kind: "Idle" };
  if (secret.annotations[SERVICE_ACCOUNT_NAME_ANNOTATION] !== input.serviceAccountName)
    return { kind: "Idle" };

  if (rec.state === "Idle") {
    if (input.suspended) return { kind: "Suspended" };
    const due = legacyDueAt(secret, input.maxAgeMs);
    if (due === undefined) return { kind: "Idle" };
    if (now < due) return { kind: "Idle", nextAt: due };
    return {
      kind: "Begin",
      reason: legacyRotationRequested(secret.annotations)
        ? "Requested"
        : issuedByOperator(secret)
          ? "MaxAge"
          : "NotIssuedByOperator",
      record: { state: "Creating", successor: successorName(secret.name), startedAt: now },
    };
  }

  const name = rec.successor ?? successorName(secret.name);
  if (
    successor !== undefined &&
    successor.annotations[LEGACY_ANNOTATIONS.successorOf] !== secret.name
  ) {
    return {
      kind: "Blocked",
      message: `Secret ${name}, the chosen successor of legacy token Secret ${secret.name}, exists and was not created for it; delete or rename it to let the rotation continue`,
    };
  }
  if (
    successor !== undefined &&
    successor.type !== undefined &&
    successor.type !== SERVICE_ACCOUNT_TOKEN_TYPE
  ) {
    return {
      kind: "Blocked",
      message: `Secret ${name} is not a ${SERVICE_ACCOUNT_TOKEN_TYPE} Secret`,
    };
  }

  switch (rec.state) {
    case "Creating": {
      // No successor yet: create it (suspended identities get no new credential; the old one stays).
      if (successor === undefined) {
        if (input.suspended) return { kind: "Suspended" };
        return {
          kind: "CreateSuccessor",
          name,
          labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [NHI_LABEL]: input.nhiName },
          annotations: {
            [SERVICE_ACCOUNT_NAME_ANNOTATION]: input.serviceAccountName,
            [LEGACY_ANNOTATIONS.successorOf]: secret.name,
            [LEGACY_ANNOTATIONS.rotations]: String(rotationsOf(secret) + 1),
          },
        };
      }
      if (!successor.keys.includes(TOKEN_KEY)) {
        const late = rec.startedAt !== undefined && now - rec.startedAt >= LEGACY_FILL_PATIENCE_MS;
        return {
          kind: "Wait",
          until: now + LEGACY_POLL_MS,
          ...(late
            ? {
                message: `the token controller has not filled Secret ${name} since ${formatTime(rec.startedAt ?? now)}; is kube-controller-manager running, and does ServiceAccount ${input.serviceAccountName} exist?`,
              }
            : {}),
        };
      }
      return {
        kind: "Switch",
        successor: name,
        workloads: input.consumers,
        record: overlap(input, rec, name),
      };
    }
    case "Overlap": {
      // The successor vanished: never delete the old token then. Create it again (back to Creating).
      if (successor === undefined || !successor.keys.includes(TOKEN_KEY)) {
        return {
          kind: "Begin",
          reason: "NotIssuedByOperator",
          record: { state: "Creating", successor: name, startedAt: rec.startedAt ?? now },
        };
      }
      // A workload that (again) references the old Secret is switched, and the overlap starts over.
      if (input.consumers.length > 0)
        return {
          kind: "Switch",
          successor: name,
          workloads: input.consumers,
          record: overlap(input, rec, name),
        };
      if (input.podsOnOld.length > 0) {
        return {
          kind: "Wait",
          until: now + LEGACY_POLL_MS,
          message: `waiting for ${input.podsOnOld.slice(0, 5).join(", ")}${input.podsOnOld.length > 5 ? ", …" : ""} to stop consuming legacy token Secret ${secret.name} before it is deleted`,
        };
      }
      if (rec.revokeAt !== undefined && now < rec.revokeAt)
        return { kind: "Wait", until: rec.revokeAt };
      return { kind: "Revoke", secret: secret.name, successor: name };
    }
  }
}

function overlap(input: LegacyRotationInput, rec: LegacyRecord, successor: string): LegacyRecord {
  return {
    state: "Overlap",
    successor,
    ...(rec.startedAt !== undefined ? { startedAt: rec.startedAt } : {}),
    revokeAt: input.now + input.overlapMs,
  };
}

// ---- rewriting a pod template's references ----

const retargetVolume = (v: Volume, from: string, to: string): Volume => {
  let out = v;
  if (v.secret?.secretName === from) out = { ...out, secret: { ...v.secret, secretName: to } };
  if (v.projected?.sources?.some((s) => s.secret?.name === from)) {
    out = {
      ...out,
      projected: {
        ...v.projected,
        sources: v.projected.sources.map((s) =>
          s.secret?.name === from ? { ...s, secret: { ...s.secret, name: to } } : s,
        ),
      },
    };
  }
  return out;
};

const retargetContainer = (c: Container, from: string, to: string): Container => {
  let out = c;
  if (c.env?.some((e) => e.valueFrom?.secretKeyRef?.name === from)) {
    out = {
      ...out,
      env: c.env.map((e) =>
        e.valueFrom?.secretKeyRef?.name === from
          ? {
              ...e,
              valueFrom: {
                ...e.valueFrom,
                secretKeyRef: { ...e.valueFrom.secretKeyRef, name: to },
              },
            }
          : e,
      ),
    };
  }
  if (c.envFrom?.some((e) => e.secretRef?.name === from)) {
    out = {
      ...out,
      envFrom: c.envFrom.map((e) =>
        e.secretRef?.name === from ? { ...e, secretRef: { ...e.secretRef, name: to } } : e,
      ),
    };
  }
  return out;
};

/**
 * A copy of `spec` with every reference to Secret `from` (volume, projected source, env, envFrom of
 * init, regular and ephemeral containers) pointing at `to`; fields it does not know are kept.
 * Returns the same object when nothing references `from`.
 */
export function retargetSecret<S extends PodSpec>(spec: S, from: string, to: string): S {
  const cs = (list: Container[] | undefined): Container[] | undefined =>
    list?.map((c) => retargetContainer(c, from, to));
  const next: S = { ...spec };
  if (spec.volumes) next.volumes = spec.volumes.map((v) => retargetVolume(v, from, to));
  const containers = cs(spec.containers);
  const init = cs(spec.initContainers);
  const eph = cs(spec.ephemeralContainers);
  if (containers) next.containers = containers;
  if (init) next.initContainers = init;
  if (eph) next.ephemeralContainers = eph;
  const same = JSON.stringify(next) === JSON.stringify(spec);
  return same ? spec : next;
}

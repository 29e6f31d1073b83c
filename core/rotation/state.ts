// What the operator records on a credential Secret it manages. The rotation's progress lives on the
// Secret itself (annotations), not in memory: a restart at any point reads it back and resumes.
// Only metadata is recorded here, never a value.

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "nhi-operator";
/** NHI name (same namespace) on every Secret the operator manages for it. */
export const NHI_LABEL = "nhi.io/nhi";
/** Credential name within the NHI. */
export const CREDENTIAL_LABEL = "nhi.io/credential";
/** On a token anchor: the credential Secret whose tokens it anchors. */
export const ANCHOR_FOR_LABEL = "nhi.io/anchor-for";
/** On a token anchor: the credential generation whose token is bound to it. */
export const ANCHOR_GENERATION_LABEL = "nhi.io/generation";

export const ANNOTATIONS = {
  /** Idle (absent) | Issuing | Verifying | RollingOut | Revoking. */
  state: "nhi.io/rotation-state",
  /** Generation of the credential currently in the data (0 or absent: none yet). */
  generation: "nhi.io/generation",
  /** While Issuing: the generation being issued. */
  target: "nhi.io/target-generation",
  /** Why the current rotation started (reason code). */
  reason: "nhi.io/rotation-reason",
  startedAt: "nhi.io/rotation-started-at",
  /** When the current value was issued (RFC 3339). */
  issuedAt: "nhi.io/issued-at",
  /** When the current value stops being valid (RFC 3339); also honoured on Secrets nobody manages. */
  expiresAt: "nhi.io/expires-at",
  /** Completed rotations (decimal). */
  rotations: "nhi.io/rotations",
  /** While Revoking: when the old credential is revoked (RFC 3339). */
  revokeAt: "nhi.io/revoke-at",
  /** The parameters the current value was issued with (ttl, audiences, length, encoding, key). */
  config: "nhi.io/credential-config",
  /** While Verifying: failed verifications of the issued value. */
  verifyAttempts: "nhi.io/verify-attempts",
  /** A rotation asked for at this time (RFC 3339; onAnomaly: Rotate): due while issuedAt is earlier. */
  rotateRequestedAt: "nhi.io/rotate-requested-at",
  /** The last failure of a rotation step (a reason and a message; never a value). */
  lastError: "nhi.io/last-error",
} as const;

export const ROTATION_STATES = ["Idle", "Issuing", "Verifying", "RollingOut", "Revoking"] as const;
export type RotationState = (typeof ROTATION_STATES)[number];

/** Data keys of the Secrets the operator fills. */
export const TOKEN_KEY = "token";
export const KUBECONFIG_KEY = "kubeconfig";
export const CA_KEY = "ca.crt";
export const NAMESPACE_KEY = "namespace";
export const previousKey = (key: string): string => `${key}.previous`;

/** The name of the anchor Secret that generation `g`'s token is bound to (TokenRequest boundObjectRef). */
export function anchorName(secretName: string, generation: number): string {
  const suffix = `-nhi-g${generation}`;
  return `${secretName.slice(0, 253 - suffix.length)}${suffix}`;
}

/** A Secret as the rotation sees it: metadata and the NAMES of its data keys, never the values. */
export interface SecretView {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Names of data keys present. */
  keys: string[];
  type?: string;
  creationTimestamp?: string;
  resourceVersion?: string;
  uid?: string;
}

export interface RotationRecord {
  state: RotationState;
  generation: number;
  target?: number;
  reason?: string;
  startedAt?: number;
  issuedAt?: number;
  expiresAt?: number;
  rotations: number;
  revokeAt?: number;
  config?: string;
  verifyAttempts?: number;
  lastError?: string;
}

function int(s: string | undefined): number | undefined {
  if (s === undefined || !/^[0-9]{1,15}$/.test(s)) return undefined;
  return Number(s);
}

/** Milliseconds since the epoch for an RFC 3339 time, or undefined. */
export function parseTime(s: string | undefined): number | undefined {
  if (s === undefined || s === "") return undefined;
  // RFC 3339 only: Date.parse also accepts "March 7" and friends.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(s))
    return undefined;
  const ms = Date.parse(s);
  return Number.isFinite(ms) ? ms : undefined;
}

/** RFC 3339 in UTC, seconds precision (what metav1.Time stores). */
export function formatTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** The rotation record of a Secret's annotations; unknown or garbled values read as Idle/absent. */
export function readRecord(annotations: Record<string, string>): RotationRecord {
  const raw = annotations[ANNOTATIONS.state];
  const state: RotationState = (ROTATION_STATES as readonly string[]).includes(raw ?? "")
    ? (raw as RotationState)
    : "Idle";
  const rec: RotationRecord = {
    state,
    generation: int(annotations[ANNOTATIONS.generation]) ?? 0,
    rotations: int(annotations[ANNOTATIONS.rotations]) ?? 0,
  };
  const target = int(annotations[ANNOTATIONS.target]);
  if (target !== undefined) rec.target = target;
  const set = <K extends keyof RotationRecord>(k: K, v: RotationRecord[K] | undefined): void => {
    if (v !== undefined) rec[k] = v;
  };
  set("reason", annotations[ANNOTATIONS.reason]);
  set("startedAt", parseTime(annotations[ANNOTATIONS.startedAt]));
  set("issuedAt", parseTime(annotations[ANNOTATIONS.issuedAt]));
  set("expiresAt", parseTime(annotations[ANNOTATIONS.expiresAt]));
  set("revokeAt", parseTime(annotations[ANNOTATIONS.revokeAt]));
  set("config", annotations[ANNOTATIONS.config]);
  set("verifyAttempts", int(annotations[ANNOTATIONS.verifyAttempts]));
  set("lastError", annotations[ANNOTATIONS.lastError]);
  return rec;
}

/**
 * The annotation changes that write `rec` (null removes a key), for a merge patch or a full update.
 * Every rotation annotation is either set or removed, so a write never leaves a stale field behind.
 */
export function recordAnnotations(rec: RotationRecord): Record<string, string | null> {
  const t = (ms: number | undefined): string | null => (ms === undefined ? null : formatTime(ms));
  return {
    [ANNOTATIONS.state]: rec.state === "Idle" ? null : rec.state,
    [ANNOTATIONS.generation]: String(rec.generation),
    [ANNOTATIONS.target]: rec.target === undefined ? null : String(rec.target),
    [ANNOTATIONS.reason]: rec.reason ?? null,
    [ANNOTATIONS.startedAt]: t(rec.startedAt),
    [ANNOTATIONS.issuedAt]: t(rec.issuedAt),
    [ANNOTATIONS.expiresAt]: t(rec.expiresAt),
    [ANNOTATIONS.rotations]: String(rec.rotations),
    [ANNOTATIONS.revokeAt]: t(rec.revokeAt),
    [ANNOTATIONS.config]: rec.config ?? null,
    [ANNOTATIONS.verifyAttempts]: rec.verifyAttempts ? String(rec.verifyAttempts) : null,
    [ANNOTATIONS.lastError]: rec.lastError ?? null,
  };
}

/** Applies recordAnnotations to an annotation map (for a full-object update). */
export function withRecord(
  annotations: Record<string, string>,
  rec: RotationRecord,
): Record<string, string> {
  const out = { ...annotations };
  for (const [k, v] of Object.entries(recordAnnotations(rec))) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

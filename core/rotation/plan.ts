// The rotation of an operator-managed credential (ServiceAccountToken, Generated) as a two-phase
// state machine whose state is recorded on the Secret (state.ts):
//
//   (no Secret) ─Create─► Issuing ─Issue─► Verifying ─Verify─► [RollingOut ─Rollout─►] Revoking ─Revoke─► Idle
//   Idle ─(due)─Begin─► Issuing
//
// - Begin/Create only record the intent; nothing is lost if the process dies right after.
// - Issue writes the new value AND the new state in one write of the Secret (resourceVersion-guarded),
//   so the data and the record never disagree. The old value stays valid: for a token, its anchor
//   Secret still exists; for a Generated value, it is kept under `<key>.previous`.
// - Verify checks the stored value (a TokenReview; the format of a generated value).
// - Revoke happens only after verification, after the consumers were restarted when `rollout: true`,
//   and after an overlap (gracePeriod for Generated), so no consumer is left without a valid credential.
// planRotation is pure: given the Secret's metadata and the time, it names the one next step. The
// edge performs it and asks again, so a restart at any point resumes from what the Secret says.
import { formatDuration, parseDuration } from "../nhi/duration.js";
import { CREDENTIAL_DEFAULTS, type NHICredential } from "../nhi/types.js";
import {
  ANNOTATIONS,
  CREDENTIAL_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  NHI_LABEL,
  TOKEN_KEY,
  anchorName,
  parseTime,
  previousKey,
  type RotationRecord,
  type SecretView,
} from "./state.js";

export type ManagedCredentialType = "ServiceAccountToken" | "Generated";
export const isManaged = (c: NHICredential): c is NHICredential & { type: ManagedCredentialType } =>
  c.type === "ServiceAccountToken" || c.type === "Generated";

/** Default overlap between a verified new token and the revocation of the old one: the kubelet refreshes mounted Secrets within about a minute. */
export const DEFAULT_TOKEN_OVERLAP_MS = 2 * 60_000;
/** Verification failures of one issued value before it is issued again. */
export const MAX_VERIFY_ATTEMPTS = 5;

export interface AnchorView {
  name: string;
  generation: number;
}

export interface RotationInput {
  credential: NHICredential;
  nhiName: string;
  /** The credential Secret's metadata, undefined when it does not exist. */
  secret: SecretView | undefined;
  /** ServiceAccountToken: anchor Secrets of this credential. */
  anchors: AnchorView[];
  /** spec.rollout and the number of workloads that consume the Secret. */
  rollout: boolean;
  consumers: number;
  suspended: boolean;
  now: number;
  tokenOverlapMs?: number;
}

export type RotationReason =
  "Missing" | "Renew" | "Expired" | "MaxAge" | "ConfigChanged" | "VerifyFailed" | "Requested";

export type RotationStep =
  /** Nothing to do until `nextAt` (undefined: until something changes). */
  | { kind: "Idle"; nextAt?: number }
  /** Suspended identities get no new credentials. */
  | { kind: "Suspended" }
  /** The Secret exists and is not ours: never overwrite a value someone else owns. */
  | { kind: "Blocked"; reason: "NotManaged" | "InvalidSpec"; message: string }
  /** Create the Secret with labels and the intent recorded, no data yet. */
  | { kind: "Create"; labels: Record<string, string>; record: RotationRecord }
  /** Record the intent on the existing Secret. */
  | { kind: "Begin"; record: RotationRecord }
  /**
   * Issue generation `generation`: mint (token bound to `anchor`) or generate, and write the value
   * together with `record`. `shiftPrevious`: move the current value to `<key>.previous` first.
   */
  | {
      kind: "Issue";
      generation: number;
      anchor?: string;
      shiftPrevious: boolean;
      record: RotationRecord;
    }
  /** Verify the stored value of `generation`; write `onSuccess` or `onFailure`. */
  | { kind: "Verify"; generation: number; onSuccess: RotationRecord; onFailure: RotationRecord }
  /** Restart the consumers (pod-template annotation), then write `record`. */
  | { kind: "Rollout"; generation: number; record: RotationRecord }
  /** Waiting for the overlap before revoking. */
  | { kind: "Wait"; until: number }
  /** Delete `anchors`, remove `dropKeys` from the data, then write `record`. */
  | { kind: "Revoke"; anchors: string[]; dropKeys: string[]; record: RotationRecord };

/** The data key a Generated credential is written under. */
export function generatedKey(c: NHICredential): string {
  return c.key ?? CREDENTIAL_DEFAULTS.generatedKey;
}

/** The parameters a value was issued with; a change re-issues it. Never contains a value. */
export function credentialConfig(c: NHICredential): string {
  if (c.type === "ServiceAccountToken")
    return `ttl=${c.ttl ?? ""};audiences=${[...(c.audiences ?? [])].sort().join(",")}`;
  return `key=${generatedKey(c)};length=${c.length ?? CREDENTIAL_DEFAULTS.generatedLength};encoding=${c.encoding ?? CREDENTIAL_DEFAULTS.generatedEncoding}`;
}

/** How long before expiry a token is renewed: renewBefore, default ttl/3, never more than a third of the lifetime actually issued. */
export function tokenRenewBeforeMs(c: NHICredential, issuedLifetimeMs?: number): number {
  const ttl = parseDuration(c.ttl ?? "1h");
  const declared =
    c.renewBefore !== undefined
      ? parseDuration(c.renewBefore)
      : ttl * CREDENTIAL_DEFAULTS.renewBeforeFractionOfTtl;
  // The API server may issue a shorter token than asked (--service-account-max-token-expiration);
  // renewing "20m before" a 15m token would renew forever.
  if (issuedLifetimeMs !== undefined && issuedLifetimeMs > 0 && declared >= issuedLifetimeMs)
    return issuedLifetimeMs / 3;
  return declared;
}

/** When the current value is due for rotation, undefined when there is none yet (due now). */
export function dueAt(c: NHICredential, rec: RotationRecord): number | undefined {
  if (rec.generation === 0) return undefined;
  if (c.type === "ServiceAccountToken") {
    if (rec.expiresAt === undefined) return undefined;
    const lifetime = rec.issuedAt !== undefined ? rec.expiresAt - rec.issuedAt : undefined;
    return rec.expiresAt - tokenRenewBeforeMs(c, lifetime);
  }
  if (rec.issuedAt === undefined) return undefined;
  return rec.issuedAt + parseDuration(c.maxAge ?? "720h");
}

function dueReason(
  c: NHICredential,
  rec: RotationRecord,
  secret: SecretView,
  now: number,
): RotationReason | undefined {
  const key = c.type === "ServiceAccountToken" ? TOKEN_KEY : generatedKey(c);
  if (rec.generation === 0 || !secret.keys.includes(key)) return "Missing";
  if (rec.config !== undefined && rec.config !== credentialConfig(c)) return "ConfigChanged";
  // A rotation asked for (onAnomaly: Rotate) no earlier than the current value was issued. Both
  // times have whole seconds, so a request in the second of the issue cannot be ordered: it counts
  // (at most one extra rotation, as the next issue lands in a later second), never is ignored.
  const requested = parseTime(secret.annotations[ANNOTATIONS.rotateRequestedAt]);
  if (requested !== undefined && (rec.issuedAt === undefined || requested >= rec.issuedAt))
    return "Requested";
  const due = dueAt(c, rec);
  if (due === undefined) return "Missing";
  if (c.type === "ServiceAccountToken" && rec.expiresAt !== undefined && now >= rec.expiresAt)
    return "Expired";
  if (now >= due) return c.type === "ServiceAccountToken" ? "Renew" : "MaxAge";
  return undefined;
}

function specProblem(c: NHICredential): string | undefined {
  try {
    if (c.type === "ServiceAccountToken") {
      if (c.ttl === undefined) return "ttl is required for a ServiceAccountToken credential";
      parseDuration(c.ttl);
      if (c.renewBefore !== undefined) parseDuration(c.renewBefore);
    } else {
      parseDuration(c.maxAge ?? "720h");
      if (c.gracePeriod !== undefined) parseDuration(c.gracePeriod);
    }
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  return undefined;
}

const cleared = (rec: RotationRecord): RotationRecord => {
  const { target: _t, reason: _r, startedAt: _s, revokeAt: _v, lastError: _e, ...rest } = rec;
  return { ...rest, state: "Idle" };
};

/** The one next step of a managed credential's rotation. */
export function planRotation(input: RotationInput, rec: RotationRecord): RotationStep {
  const { credential: c, secret, now } = input;
  const problem = specProblem(c);
  if (problem !== undefined)
    return { kind: "Blocked", reason: "InvalidSpec", message: `credential ${c.name}: ${problem}` };
  const sat = c.type === "ServiceAccountToken";

  if (secret === undefined) {
    if (input.suspended) return { kind: "Suspended" };
    return {
      kind: "Create",
      labels: {
        [MANAGED_BY_LABEL]: MANAGED_BY,
        [NHI_LABEL]: input.nhiName,
        [CREDENTIAL_LABEL]: c.name,
      },
      record: {
        state: "Issuing",
        generation: 0,
        target: 1,
        reason: "Missing",
        startedAt: now,
        rotations: 0,
      },
    };
  }
  if (secret.labels[MANAGED_BY_LABEL] !== MANAGED_BY) {
    return {
      kind: "Blocked",
      reason: "NotManaged",
      message: `Secret ${secret.name} exists and is not managed by nhi-operator; delete it or label it ${MANAGED_BY_LABEL}=${MANAGED_BY} to let the operator own its value`,
    };
  }

  switch (rec.state) {
    case "Idle": {
      if (input.suspended) return { kind: "Suspended" };
      const reason = dueReason(c, rec, secret, now);
      if (reason !== undefined) {
        return {
          kind: "Begin",
          record: {
            ...cleared(rec),
            state: "Issuing",
            target: rec.generation + 1,
            reason,
            startedAt: now,
          },
        };
      }
      // Anchors of other generations left behind (e.g. the operator was stopped while revoking by hand).
      const stray = sat
        ? input.anchors.filter((a) => a.generation !== rec.generation).map((a) => a.name)
        : [];
      if (stray.length > 0)
        return { kind: "Revoke", anchors: stray, dropKeys: [], record: cleared(rec) };
      return { kind: "Idle", nextAt: dueAt(c, rec) };
    }
    case "Issuing": {
      if (input.suspended) return { kind: "Suspended" };
      const generation = Math.max(rec.target ?? rec.generation + 1, rec.generation + 1);
      const record: RotationRecord = {
        ...rec,
        state: "Verifying",
        generation,
        issuedAt: now,
        config: credentialConfig(c),
        verifyAttempts: 0,
      };
      // The edge fills expiresAt from the TokenRequest's answer; a Generated value has none.
      delete record.target;
      delete record.lastError;
      delete record.expiresAt;
      // A value that failed verification is not worth keeping as the "previous" one.
      const shiftPrevious = !sat && rec.generation > 0 && rec.reason !== "VerifyFailed";
      return {
        kind: "Issue",
        generation,
        shiftPrevious,
        record,
        ...(sat ? { anchor: anchorName(secret.name, generation) } : {}),
      };
    }
    case "Verifying": {
      const attempts = (rec.verifyAttempts ?? 0) + 1;
      const onFailure: RotationRecord =
        attempts >= MAX_VERIFY_ATTEMPTS
          ? {
              ...rec,
              state: "Issuing",
              target: rec.generation + 1,
              reason: "VerifyFailed",
              verifyAttempts: attempts,
            }
          : { ...rec, verifyAttempts: attempts };
      return {
        kind: "Verify",
        generation: rec.generation,
        onSuccess: afterVerify(input, rec),
        onFailure,
      };
    }
    case "RollingOut":
      return { kind: "Rollout", generation: rec.generation, record: revoking(input, rec) };
    case "Revoking": {
      if (rec.revokeAt !== undefined && now < rec.revokeAt)
        return { kind: "Wait", until: rec.revokeAt };
      const anchors = sat
        ? input.anchors.filter((a) => a.generation !== rec.generation).map((a) => a.name)
        : [];
      const prev = previousKey(generatedKey(c));
      const dropKeys = !sat && secret.keys.includes(prev) ? [prev] : [];
      return {
        kind: "Revoke",
        anchors,
        dropKeys,
        record: { ...cleared(rec), rotations: rec.rotations + (rec.generation > 1 ? 1 : 0) },
      };
    }
  }
}

function revoking(input: RotationInput, rec: RotationRecord): RotationRecord {
  const c = input.credential;
  const overlap =
    c.type === "ServiceAccountToken"
      ? (input.tokenOverlapMs ?? DEFAULT_TOKEN_OVERLAP_MS)
      : c.gracePeriod !== undefined
        ? parseDuration(c.gracePeriod)
        : 0;
  const { verifyAttempts: _a, ...rest } = rec;
  // The old value is revoked by the time the new one is due at the latest: an overlap longer than
  // the renewal interval (ttl 10m, renewBefore 9m50s: due 10 s after each issue) would hold the
  // rotation in Revoking for the whole overlap, the credential due and its next rotation in the past.
  const due = dueAt(c, rec);
  const revokeAt =
    due === undefined
      ? input.now + overlap
      : Math.max(input.now, Math.min(input.now + overlap, due));
  return { ...rest, state: "Revoking", revokeAt };
}

function afterVerify(input: RotationInput, rec: RotationRecord): RotationRecord {
  if (input.rollout && input.consumers > 0 && rec.generation > 1) {
    const { verifyAttempts: _a, ...rest } = rec;
    return { ...rest, state: "RollingOut" };
  }
  // The first value has nothing to overlap with.
  if (rec.generation <= 1 && !input.anchors.some((a) => a.generation !== rec.generation))
    return { ...revoking(input, rec), revokeAt: input.now };
  return revoking(input, rec);
}

/** Why a step label reads as it does in events and status ("renewing: token expires in 19m"). */
export function describeReason(reason: string | undefined, c: NHICredential): string {
  switch (reason) {
    case "Missing":
      return "no value yet";
    case "Renew":
      return `within renewBefore (${formatDuration(tokenRenewBeforeMs(c))}) of expiry`;
    case "Expired":
      return "the token expired";
    case "MaxAge":
      return `older than maxAge ${c.maxAge ?? ""}`;
    case "ConfigChanged":
      return "its declared parameters changed";
    case "VerifyFailed":
      return `the issued value failed verification ${MAX_VERIFY_ATTEMPTS} times`;
    case "Requested":
      return "a rotation was requested (onAnomaly: Rotate)";
    default:
      return reason ?? "";
  }
}

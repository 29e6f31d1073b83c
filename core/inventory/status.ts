// The NonHumanIdentity status the inventory implies: phase, conditions, excess, credentials, risk.
import type { NHIPhase, NonHumanIdentity, NonHumanIdentityStatus } from "../nhi/types.js";
import { describePermission } from "../rbac/scoped.js";
import { formatTime, parseTime } from "../rotation/state.js";
import { mergeConditions, type ConditionInput } from "./conditions.js";
import { anomalyCondition } from "../audit/response.js";
import type { IdentityRecord } from "./inventory.js";

/** lastUsed is written at most this often, so a running identity does not rewrite its status every pass. */
export const LAST_USED_GRANULARITY_MS = 60 * 60_000;

/** NHI phases have no "Unused": an unused identity is Active with InUse=False (unusedAfter turns it Expired). */
export function nhiPhase(rec: IdentityRecord): NHIPhase {
  return rec.phase === "Unused" ? "Active" : rec.phase;
}

function excessLine(rec: IdentityRecord): string {
  const first = rec.excess.slice(0, 3).map((e) => {
    const what =
      e.nonResourceURL !== undefined
        ? describePermission({ kind: "url", namespace: "*", url: e.nonResourceURL, verb: e.verb })
        : describePermission({
            kind: "resource",
            namespace: e.namespace,
            apiGroup: e.apiGroup ?? "",
            resource: e.resource ?? "",
            verb: e.verb,
            ...(e.resourceName !== undefined ? { resourceName: e.resourceName } : {}),
          });
    return `${what} via ${e.binding.kind} ${e.binding.namespace ? `${e.binding.namespace}/` : ""}${e.binding.name}`;
  });
  return `${rec.excessTotal} permission(s) beyond the declared scopes: ${first.join("; ")}${rec.excessTotal > 3 ? "; …" : ""}. Remove the binding or widen the scopes through a reviewed change.`;
}

export function desiredConditions(nhi: NonHumanIdentity, rec: IdentityRecord): ConditionInput[] {
  const c: ConditionInput[] = [];
  const notReady = rec.phase === "Orphaned" || rec.phase === "Suspended" || rec.phase === "Expired";
  c.push(
    rec.conflicts?.length
      ? {
          type: "Ready",
          status: "False",
          reason: "Conflict",
          message: `ServiceAccount ${rec.name} is also claimed by ${rec.conflicts.join(", ")}; the first by name governs it`,
        }
      : notReady
        ? { type: "Ready", status: "False", reason: rec.phase, message: rec.reason }
        : { type: "Ready", status: "True", reason: "Reconciled", message: rec.reason },
  );
  c.push(
    rec.excessTotal > 0
      ? {
          type: "ScopeCompliant",
          status: "False",
          reason: "ExcessPermissions",
          message: excessLine(rec),
        }
      : {
          type: "ScopeCompliant",
          status: "True",
          reason: "WithinScopes",
          message: "every RBAC grant is covered by the declared scopes",
        },
  );
  const bad = rec.credentials.filter((x) => x.health !== "Fresh");
  c.push(
    bad.length > 0
      ? {
          type: "CredentialsFresh",
          status: "False",
          reason: bad.some((x) => x.health === "Expired")
            ? "Expired"
            : bad.some((x) => x.health === "Failing")
              ? "RotationFailing"
              : (bad[0]?.health ?? "Unknown"),
          message: bad.map((x) => x.message).join("; "),
        }
      : {
          type: "CredentialsFresh",
          status: "True",
          reason: "Fresh",
          message:
            rec.credentials.length > 0 ? "every credential is valid" : "no credentials declared",
        },
  );
  c.push(
    rec.pods > 0
      ? {
          type: "InUse",
          status: "True",
          reason: "PodsRunning",
          message: `${rec.pods} pod(s) run as ${rec.name}`,
        }
      : {
          type: "InUse",
          status: "False",
          reason: rec.phase === "Unused" ? "Unused" : "NoPods",
          message: `no pod runs as ${rec.name}${rec.lastUsed ? `; last used ${rec.lastUsed}` : ""}`,
        },
  );
  const mode = nhi.spec.legacyTokens ?? "Forbid";
  if (mode !== "Allow") {
    // Under Rotate the operator's own successors are the managed state, not a finding.
    const live = rec.legacyTokens.filter(
      (t) => t.invalidSince === undefined && !(mode === "Rotate" && t.operatorIssued),
    );
    const rotated = rec.legacyTokens.filter(
      (t) => mode === "Rotate" && t.operatorIssued && t.invalidSince === undefined,
    );
    c.push(
      live.length > 0
        ? mode === "Forbid"
          ? {
              type: "NoLegacyTokens",
              status: "False",
              reason: "LegacyTokensForbidden",
              message: `long-lived token Secret(s) ${live.map((t) => t.name).join(", ")} exist for ${rec.name}; legacyTokens: Forbid. Delete them and use a ServiceAccountToken credential (TokenRequest) instead`,
            }
          : {
              type: "NoLegacyTokens",
              status: "False",
              reason: "LegacyTokensToRotate",
              message: `long-lived token Secret(s) ${live.map((t) => t.name).join(", ")} of ${rec.name} are being replaced by operator-issued successors (legacyTokens: Rotate)`,
            }
        : rotated.length > 0
          ? {
              type: "NoLegacyTokens",
              status: "True",
              reason: "RotatedByOperator",
              message: `only operator-issued, rotated token Secrets remain: ${rotated.map((t) => t.name).join(", ")}`,
            }
          : {
              type: "NoLegacyTokens",
              status: "True",
              reason: "None",
              message: "no long-lived token Secrets",
            },
    );
  }
  const lt = rec.lifetime;
  if (nhi.spec.lifetime) {
    c.push(
      lt?.state === "Expired"
        ? { type: "LifetimeValid", status: "False", reason: "Expired", message: rec.reason }
        : lt?.state === "Expiring"
          ? {
              type: "LifetimeValid",
              status: "True",
              reason: "Expiring",
              message: `expires at ${formatTime(lt.expiresAt)}`,
            }
          : {
              type: "LifetimeValid",
              status: "True",
              reason: "Valid",
              message: "within its declared lifetime",
            },
    );
  }
  return c;
}

/** The full status to write, conditions merged with the previous ones at `now`. */
export function desiredStatus(
  nhi: NonHumanIdentity,
  rec: IdentityRecord,
  now: number,
  anomalyWindowMs?: number,
): NonHumanIdentityStatus {
  const prev = nhi.status;
  // BehaviourAnomalous is derived from status.anomalies (written by the audit sink), which passes
  // through unchanged: the status writer never patches it.
  const anomalous = anomalyCondition(prev?.anomalies, now, anomalyWindowMs);
  const status: NonHumanIdentityStatus = {
    phase: nhiPhase(rec),
    conditions: mergeConditions(
      prev?.conditions,
      [...desiredConditions(nhi, rec), ...(anomalous ? [anomalous] : [])],
      now,
      nhi.metadata.generation,
    ),
    excessPermissions: rec.excess,
    credentials: rec.credentials.map(({ type: _t, health: _h, message: _m, ...s }) => s),
    risk: rec.risk,
  };
  if (rec.blastRadius !== undefined) status.blastRadius = rec.blastRadius;
  if (nhi.metadata.generation !== undefined) status.observedGeneration = nhi.metadata.generation;
  const next = rec.credentials
    .map((x) => parseTime(x.nextRotationAt))
    .filter((x): x is number => x !== undefined);
  if (next.length > 0) status.nextRotationAt = formatTime(Math.min(...next));
  // lastUsed moves in steps, so a busy identity's status is not rewritten on every pass.
  const prevUsed = parseTime(prev?.lastUsed);
  const used = parseTime(rec.lastUsed);
  if (used !== undefined)
    status.lastUsed =
      prevUsed !== undefined && used - prevUsed < LAST_USED_GRANULARITY_MS
        ? (prev?.lastUsed ?? rec.lastUsed)
        : rec.lastUsed;
  else if (prev?.lastUsed !== undefined) status.lastUsed = prev.lastUsed;
  if (prev?.anomalies !== undefined) status.anomalies = prev.anomalies;
  return status;
}

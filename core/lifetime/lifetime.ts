// How long an identity may live, and what happens when it may not any more. Pure: the reconciler
// passes the time, the last use it observed and the objects it found, and performs the actions.
import { parseDuration } from "../nhi/duration.js";
import type { ExpiryAction, NonHumanIdentity } from "../nhi/types.js";
import { parseTime } from "../rotation/state.js";

/** Default warning period before lifetime.expiresAt. */
export const DEFAULT_EXPIRING_WITHIN_MS = 7 * 24 * 3_600_000;

export type LifetimeState =
  | { state: "Valid"; /** next time the answer may change */ nextAt?: number }
  | { state: "Expiring"; expiresAt: number; reason: "ExpiresAt" | "Unused"; nextAt: number }
  | { state: "Expired"; since: number; reason: "ExpiresAt" | "Unused"; action: ExpiryAction }
  | { state: "Suspended" };

export interface LifetimeInput {
  nhi: NonHumanIdentity;
  now: number;
  /** Last time the identity was seen in use (a pod running as it, a legacy token's last-used label, an audit event). */
  lastUsed?: number;
  expiringWithinMs?: number;
}

/**
 * The identity's lifetime state. `suspended: true` wins (quarantine is explicit and reversible).
 * Unused time counts from the last use, or from the NHI's creation when it was never seen in use,
 * so a freshly declared identity is not expired before its first pod starts.
 */
export function lifetimeOf(input: LifetimeInput): LifetimeState {
  const { nhi, now } = input;
  if (nhi.spec.suspended === true) return { state: "Suspended" };
  const lt = nhi.spec.lifetime;
  const within = input.expiringWithinMs ?? DEFAULT_EXPIRING_WITHIN_MS;
  const action: ExpiryAction = lt?.onExpiry ?? "Disable";
  const candidates: { at: number; reason: "ExpiresAt" | "Unused" }[] = [];
  const at = parseTime(lt?.expiresAt);
  if (at !== undefined) candidates.push({ at, reason: "ExpiresAt" });
  if (lt?.unusedAfter !== undefined) {
    const since = input.lastUsed ?? parseTime(nhi.metadata.creationTimestamp);
    if (since !== undefined)
      candidates.push({ at: since + parseDuration(lt.unusedAfter), reason: "Unused" });
  }
  if (candidates.length === 0) return { state: "Valid" };
  const first = candidates.reduce((a, b) => (b.at < a.at ? b : a));
  if (now >= first.at) return { state: "Expired", since: first.at, reason: first.reason, action };
  // Unused identities warn only over the last tenth of the period (a day of 10 days): usage resumes often.
  const window =
    first.reason === "Unused"
      ? Math.min(within, parseDuration(lt?.unusedAfter ?? "0s") / 10)
      : within;
  if (now >= first.at - window)
    return { state: "Expiring", expiresAt: first.at, reason: first.reason, nextAt: first.at };
  return { state: "Valid", nextAt: first.at - window };
}

/** What the reconciler found that an expiry or a quarantine acts on. */
export interface LifetimeObjects {
  serviceAccountExists: boolean;
  /** kubernetes.io/service-account-token Secrets of the account. */
  legacyTokenSecrets: string[];
  /** Operator-managed ServiceAccountToken credential Secrets of the NHI. */
  managedTokenSecrets: string[];
  /** Token anchors of those Secrets (deleting one revokes the tokens bound to it). */
  anchors: string[];
  /** Other operator-managed credential Secrets of the NHI (Generated). */
  managedOtherSecrets: string[];
}

export type LifetimeAction =
  | { kind: "DeleteSecret"; name: string; why: string }
  | { kind: "DeleteServiceAccount"; name: string; why: string };

/**
 * The deletions that apply the state. Disable and suspension revoke every token of the identity
 * (anchors, operator-managed token Secrets, legacy token Secrets); the webhook refuses new pods.
 * Delete also removes the ServiceAccount and the operator-managed Secrets — never RBAC bindings,
 * workloads, or Secrets the operator does not manage. Idempotent: what is gone is not listed.
 */
export function lifetimeActions(
  state: LifetimeState,
  serviceAccountName: string,
  o: LifetimeObjects,
): LifetimeAction[] {
  const disable =
    state.state === "Suspended" ||
    (state.state === "Expired" && (state.action === "Disable" || state.action === "Delete"));
  if (!disable) return [];
  const why =
    state.state === "Suspended"
      ? "suspended: quarantine revokes its tokens"
      : `expired (${state.reason}): onExpiry ${state.action}`;
  const out: LifetimeAction[] = [
    ...o.anchors.map((name): LifetimeAction => ({
      kind: "DeleteSecret",
      name,
      why: `${why} (token anchor)`,
    })),
    ...o.managedTokenSecrets.map((name): LifetimeAction => ({ kind: "DeleteSecret", name, why })),
    ...o.legacyTokenSecrets.map((name): LifetimeAction => ({
      kind: "DeleteSecret",
      name,
      why: `${why} (legacy token)`,
    })),
  ];
  if (state.state === "Expired" && state.action === "Delete") {
    out.push(
      ...o.managedOtherSecrets.map((name): LifetimeAction => ({ kind: "DeleteSecret", name, why })),
    );
    if (o.serviceAccountExists)
      out.push({ kind: "DeleteServiceAccount", name: serviceAccountName, why });
  }
  return out;
}

/** Whether credentials may be issued: not while suspended or after a Disable/Delete expiry. */
export function mayIssueCredentials(state: LifetimeState): boolean {
  if (state.state === "Suspended") return false;
  return !(state.state === "Expired" && state.action !== "Notify");
}

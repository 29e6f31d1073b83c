// status.rightsize on a claimed identity's NHI (issue #11, unused permissions): when the audit sink
// proposes, and what it writes. Pure: the sink keeps the clock, the usage and the writer.
import type { RightsizeStatus } from "../nhi/types.js";
import type { RightsizeProposal } from "./rightsize.js";

/** status.rightsize.unusedPermissions holds at most this many (the CRD's maxItems). */
export const MAX_UNUSED_LISTED = 20;
/** status.rightsize.proposedScopes holds at most this many (the CRD's maxItems). */
export const MAX_PROPOSED_SCOPES = 64;
/** How often an identity's proposal is reconsidered once its learning window has passed. */
export const DEFAULT_RIGHTSIZE_INTERVAL_MS = 3_600_000;

export interface RightsizeTiming {
  /** Usage is watched this long (from the identity's first request) before anything is proposed. */
  learningMs: number;
  /** At most one proposal per identity this often. */
  intervalMs: number;
}

/** The reconsideration interval for a learning window: an hour, or the window when shorter. */
export function rightsizeTiming(learningMs: number): RightsizeTiming {
  return { learningMs, intervalMs: Math.min(DEFAULT_RIGHTSIZE_INTERVAL_MS, learningMs) };
}

/**
 * Whether to propose for an identity now: its usage has been watched for the whole learning window
 * (a permission used once a day is not "unused" after an hour), and it was not considered within
 * the interval.
 */
export function rightsizeDue(
  firstSeenMs: number,
  lastConsideredMs: number | undefined,
  now: number,
  t: RightsizeTiming,
): boolean {
  if (now - firstSeenMs < t.learningMs) return false;
  return lastConsideredMs === undefined || now - lastConsideredMs >= t.intervalMs;
}

/** Lists inside one proposed scope hold at most this many (the CRD's maxItems). */
const MAX_SCOPE_LIST = 256;

/**
 * The proposal as status.rightsize keeps it: short strings, capped lists, never a token. Scopes
 * are never cut (a cut proposal would drop permissions in use): one that does not fit is
 * "saturated", nothing proposed.
 */
export function rightsizeStatusOf(p: RightsizeProposal, now: number): RightsizeStatus {
  const fits =
    p.proposedScopes.length <= MAX_PROPOSED_SCOPES &&
    p.proposedScopes.every((s) =>
      [s.namespaces, s.apiGroups, s.resources, s.resourceNames, s.nonResourceURLs, s.verbs].every(
        (l) => (l?.length ?? 0) <= MAX_SCOPE_LIST,
      ),
    );
  const saturated = p.saturated || !fits;
  return {
    observedSince: p.since,
    evaluatedAt: new Date(now).toISOString(),
    events: p.events,
    unusedPermissions: p.removed
      .slice(0, MAX_UNUSED_LISTED)
      .map((r) => `${r.permission} (${r.grant})`.slice(0, 512)),
    unusedCount: p.removed.length,
    proposedScopes: saturated ? [] : p.proposedScopes,
    saturated,
  };
}

const gist = (s: RightsizeStatus): string =>
  JSON.stringify([s.unusedPermissions, s.unusedCount, s.proposedScopes, s.saturated]);

/**
 * status.rightsize to write: `next`, or undefined when the NHI already says the same (the times and
 * the event count alone do not make a write: one per change, not one per interval).
 */
export function rightsizeChange(
  existing: RightsizeStatus | undefined,
  next: RightsizeStatus,
): RightsizeStatus | undefined {
  return existing !== undefined && gist(existing) === gist(next) ? undefined : next;
}

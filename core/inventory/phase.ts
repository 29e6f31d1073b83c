// An identity's inventory phase, as a chain of named checks like the admission checks: the first
// check that applies names the phase and says why; none applies: Active. The order is the
// precedence (a quarantined identity is Suspended whatever else holds; an expired one Expired
// before it is Orphaned; a Violating one before it is merely Expiring or Unused).
import type { LifetimeState } from "../lifetime/lifetime.js";
import { formatTime } from "../rotation/state.js";
import type { CredentialHealth } from "./expiry.js";

export const INVENTORY_PHASES = [
  "Active",
  "Unused",
  "Orphaned",
  "Expiring",
  "Expired",
  "Suspended",
  "Violating",
] as const;
export type InventoryPhase = (typeof INVENTORY_PHASES)[number];

/** What the phase is decided from, computed once per identity by buildInventory. */
export interface PhaseFacts {
  /** The ServiceAccount's name, and whether it exists. */
  name: string;
  exists: boolean;
  /** The NHI a ServiceAccount annotation names as its claimant, when that NHI is gone. */
  claimedBy?: string;
  orphaned: boolean;
  lifetime?: LifetimeState;
  /** Permissions beyond the NHI's scopes, and catalogue entries the policy forbids it. */
  uncovered: number;
  forbidden: readonly string[];
  credentials: readonly { health: CredentialHealth; message: string }[];
  unused: boolean;
  /** Last use, or creation: when an Unused identity was last seen alive. */
  since?: number;
  pods: number;
}

export interface PhaseCheck {
  name: string;
  phase: InventoryPhase;
  /** Why the identity is in `phase`, or undefined when this check does not apply. */
  reason(f: PhaseFacts): string | undefined;
}

const expiringCredentials = (f: PhaseFacts): PhaseFacts["credentials"] =>
  f.credentials.filter((c) => c.health === "Expiring" || c.health === "Expired");

export const PHASE_CHECKS: readonly PhaseCheck[] = [
  {
    name: "suspended",
    phase: "Suspended",
    reason: (f) =>
      f.lifetime?.state === "Suspended" ? "suspended: true (quarantined)" : undefined,
  },
  {
    name: "expired",
    phase: "Expired",
    reason: (f) =>
      f.lifetime?.state === "Expired"
        ? `expired (${f.lifetime.reason === "Unused" ? "unused for longer than unusedAfter" : "past lifetime.expiresAt"}) at ${formatTime(f.lifetime.since)}; onExpiry ${f.lifetime.action}`
        : undefined,
  },
  {
    name: "orphaned",
    phase: "Orphaned",
    reason: (f) =>
      !f.orphaned
        ? undefined
        : f.exists
          ? `claimed by NonHumanIdentity ${f.claimedBy ?? ""}, which no longer exists`
          : `ServiceAccount ${f.name} does not exist`,
  },
  {
    name: "violating",
    phase: "Violating",
    reason: (f) =>
      f.uncovered > 0
        ? `${f.uncovered} permissions beyond its declared scopes`
        : f.forbidden.length > 0
          ? `holds forbidden permissions: ${f.forbidden.join(", ")}`
          : undefined,
  },
  {
    name: "lifetime-expiring",
    phase: "Expiring",
    reason: (f) =>
      f.lifetime?.state === "Expiring"
        ? `expires at ${formatTime(f.lifetime.expiresAt)} (${f.lifetime.reason === "Unused" ? "unused" : "lifetime.expiresAt"})`
        : undefined,
  },
  {
    name: "credential-expiring",
    phase: "Expiring",
    reason: (f) => {
      const due = expiringCredentials(f);
      return due.length > 0 ? due.map((c) => c.message).join("; ") : undefined;
    },
  },
  {
    name: "unused",
    phase: "Unused",
    reason: (f) =>
      f.unused
        ? `no pod and no recorded use since ${f.since !== undefined ? formatTime(f.since) : "creation"}`
        : undefined,
  },
];

/** The first check of the chain that applies, or Active. */
export function phaseOf(
  f: PhaseFacts,
  checks: readonly PhaseCheck[] = PHASE_CHECKS,
): { phase: InventoryPhase; reason: string } {
  for (const c of checks) {
    const reason = c.reason(f);
    if (reason !== undefined) return { phase: c.phase, reason };
  }
  return {
    phase: "Active",
    reason: f.pods > 0 ? `${f.pods} pods run as it` : "within its declaration",
  };
}

// Pure part of the inventory controller: which Events a status change deserves.
import type { NHIPhase, NonHumanIdentityStatus } from "../../../core/nhi/types.js";
import type { IdentityRecord } from "../../../core/inventory/inventory.js";
import type { TlsCertificateRecord, TlsHealth } from "../../../core/inventory/tls.js";

export interface PlannedEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

const PHASE_EVENT: Record<NHIPhase, { type: "Normal" | "Warning"; reason: string }> = {
  Pending: { type: "Normal", reason: "Pending" },
  Active: { type: "Normal", reason: "Active" },
  Expiring: { type: "Warning", reason: "Expiring" },
  Expired: { type: "Warning", reason: "Expired" },
  Suspended: { type: "Normal", reason: "Suspended" },
  Violating: { type: "Warning", reason: "Violating" },
  Orphaned: { type: "Warning", reason: "Orphaned" },
};

/** Events for a status change: a phase transition, and a credential turning not fresh. */
export function transitionEvents(
  previous: NonHumanIdentityStatus | undefined,
  next: NonHumanIdentityStatus,
  rec: IdentityRecord,
): PlannedEvent[] {
  const out: PlannedEvent[] = [];
  const from = previous?.phase;
  if (next.phase !== undefined && from !== next.phase) {
    const e = PHASE_EVENT[next.phase];
    out.push({ ...e, message: `phase ${from ?? "(none)"} → ${next.phase}: ${rec.reason}` });
  }
  const was = previous?.conditions?.find((c) => c.type === "CredentialsFresh");
  const now = next.conditions?.find((c) => c.type === "CredentialsFresh");
  if (now && now.status === "False" && (was?.status !== "False" || was.reason !== now.reason)) {
    out.push({ type: "Warning", reason: `Credentials${now.reason}`, message: now.message });
  }
  return out;
}

const TLS_EVENT: Partial<Record<TlsHealth, string>> = {
  Expiring: "CertificateExpiring",
  Expired: "CertificateExpired",
  Unreadable: "CertificateUnreadable",
};

/**
 * The Event a TLS Secret deserves: one Warning when its certificate turns Expiring, Expired or
 * Unreadable. A certificate an NHI declares gets none here: its NHI's CredentialsExpiring/Expired does.
 */
export function tlsTransitionEvents(
  previous: TlsHealth | undefined,
  rec: TlsCertificateRecord,
): PlannedEvent[] {
  const reason = TLS_EVENT[rec.health];
  if (reason === undefined || rec.nhi !== undefined || previous === rec.health) return [];
  const held =
    rec.serviceAccounts.length > 0
      ? `; mounted by ${rec.workloads.join(", ") || "pods"} running as ${rec.serviceAccounts.join(", ")}`
      : "";
  return [{ type: "Warning", reason, message: `${rec.message}${held}` }];
}

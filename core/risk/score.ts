// A risk score 0–100 per identity, the sum of named factors, each with the points it adds and why.
// The weights are a judgement, written down here so they can be argued about in one place.
import type { RiskAssessment, RiskFactor, RiskLevel } from "../nhi/types.js";

export interface RiskInput {
  /** Catalogue entries the identity's grants reach. */
  catalogue: { id: string; severity: "critical" | "high"; namespace: string }[];
  /** Atomic permissions beyond the NHI's scopes (0 for unclaimed identities: they have no scopes). */
  excess: number;
  claimed: boolean;
  /** The identity's NHI or ServiceAccount is gone. */
  orphaned: boolean;
  /** Legacy long-lived token Secrets of the account. */
  legacyTokens: number;
  /** Credentials expired, older than their maximum age, or failing rotation. */
  expiredCredentials: number;
  staleCredentials: number;
  failingCredentials: number;
  /** No pod and no recorded use for the unused period. */
  unused: boolean;
  /** Distinct workloads running as the identity. */
  workloads: number;
  /** Pods that get the token mounted automatically. */
  automountingPods: number;
  /** Cluster-wide grants (ClusterRoleBindings) the identity has. */
  clusterWideGrants: number;
  suspended: boolean;
  /** What a leaked token reaches through the identity graph (core/graph); absent: not computed. */
  blastRadius?: { identities: number; clusterAdminHops?: number };
}

export const RISK_WEIGHTS = {
  critical: 65,
  criticalEach: 5,
  high: 20,
  highEach: 3,
  excess: 10,
  excessEach: 1,
  excessMax: 20,
  unclaimed: 10,
  orphaned: 15,
  legacyTokens: 15,
  expired: 10,
  stale: 8,
  failing: 8,
  unused: 5,
  reuse: 10,
  automountPrivileged: 10,
  clusterWide: 5,
  /** Reaches cluster-admin through other identities (2+ hops; 1 hop is privilege-critical). */
  radiusClusterAdmin: 40,
  radiusIdentities: 5,
  radiusEach: 1,
  radiusMax: 15,
} as const;

export function riskLevel(score: number): RiskLevel {
  if (score >= 75) return "critical";
  if (score >= 50) return "high";
  if (score >= 25) return "medium";
  return "low";
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

export function scoreRisk(r: RiskInput): RiskAssessment {
  const W = RISK_WEIGHTS;
  const f: RiskFactor[] = [];
  const critical = [
    ...new Set(r.catalogue.filter((h) => h.severity === "critical").map((h) => h.id)),
  ];
  const high = [...new Set(r.catalogue.filter((h) => h.severity === "high").map((h) => h.id))];
  if (critical.length > 0) {
    f.push({
      name: "privilege-critical",
      points: W.critical + W.criticalEach * (critical.length - 1),
      detail: `holds critical escalation paths: ${critical.join(", ")} (cluster takeover if the token leaks)`,
    });
  }
  if (high.length > 0) {
    f.push({
      name: "privilege-high",
      points: Math.min(30, W.high + W.highEach * (high.length - 1)),
      detail: `holds high-risk permissions: ${high.join(", ")}`,
    });
  }
  if (r.excess > 0) {
    f.push({
      name: "excess-over-scope",
      points: Math.min(W.excessMax, W.excess + W.excessEach * (r.excess - 1)),
      detail: `${plural(r.excess, "permission")} beyond its declared scopes`,
    });
  }
  if (r.clusterWideGrants > 0) {
    f.push({
      name: "cluster-wide-grants",
      points: W.clusterWide,
      detail: `${plural(r.clusterWideGrants, "ClusterRoleBinding grant")} reach every namespace`,
    });
  }
  const radius = r.blastRadius;
  if (radius?.clusterAdminHops !== undefined && radius.clusterAdminHops >= 2) {
    f.push({
      name: "blast-radius-cluster-admin",
      points: W.radiusClusterAdmin,
      detail: `reaches cluster-admin in ${radius.clusterAdminHops} hops by becoming other identities (nhictl graph --from draws the path)`,
    });
  } else if (
    radius !== undefined &&
    radius.identities > 0 &&
    radius.clusterAdminHops === undefined
  ) {
    f.push({
      name: "blast-radius-identities",
      points: Math.min(W.radiusMax, W.radiusIdentities + W.radiusEach * (radius.identities - 1)),
      detail: `can become ${plural(radius.identities, "other identity", "other identities")} (create pods, read their tokens, impersonate, …)`,
    });
  }
  if (r.orphaned)
    f.push({
      name: "ownership-orphaned",
      points: W.orphaned,
      detail: "its owner or ServiceAccount is gone: nobody answers for it",
    });
  else if (!r.claimed)
    f.push({
      name: "ownership-unclaimed",
      points: W.unclaimed,
      detail: "no NonHumanIdentity claims it (shadow identity): no owner, purpose or ceiling",
    });
  if (r.legacyTokens > 0) {
    f.push({
      name: "credential-long-lived",
      points: W.legacyTokens,
      detail: `${plural(r.legacyTokens, "legacy token Secret")} that never expire`,
    });
  }
  if (r.expiredCredentials > 0)
    f.push({
      name: "credential-expired",
      points: W.expired,
      detail: `${plural(r.expiredCredentials, "credential")} expired`,
    });
  if (r.staleCredentials > 0)
    f.push({
      name: "credential-age",
      points: W.stale,
      detail: `${plural(r.staleCredentials, "credential")} older than the maximum age`,
    });
  if (r.failingCredentials > 0)
    f.push({
      name: "credential-rotation-failing",
      points: W.failing,
      detail: `rotation of ${plural(r.failingCredentials, "credential")} is failing`,
    });
  if (r.unused)
    f.push({
      name: "usage-dormant",
      points: W.unused,
      detail: "unused: a dormant identity with access is an unwatched door",
    });
  if (r.workloads > 1)
    f.push({
      name: "usage-reuse",
      points: W.reuse,
      detail: `shared by ${r.workloads} workloads: one leak exposes all of them (NHI reuse)`,
    });
  const privileged = critical.length > 0 || high.length > 0;
  if (r.automountingPods > 0 && privileged) {
    f.push({
      name: "exposure-automount",
      points: W.automountPrivileged,
      detail: `${plural(r.automountingPods, "pod")} automount a token with high-risk permissions: anyone who compromises the pod holds them`,
    });
  }
  // A suspended identity has no valid tokens: what it holds can no longer be used.
  const raw = f.reduce((s, x) => s + x.points, 0);
  const score = r.suspended ? Math.min(raw, 10) : Math.min(100, raw);
  const factors = f
    .sort((a, b) => b.points - a.points || a.name.localeCompare(b.name))
    .slice(0, 32);
  if (r.suspended)
    factors.push({
      name: "suspended",
      points: 0,
      detail: "quarantined: tokens revoked, new pods refused; score capped at 10",
    });
  return { score, level: riskLevel(score), factors };
}

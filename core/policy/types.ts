// The result shape of every decision the core makes (admission, CLI check, inventory finding).

export type Severity = "critical" | "high" | "medium" | "low";

export interface ObjectRef {
  apiVersion?: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface Violation {
  /** Stable id of the check or catalogue entry that fired, e.g. "NHI-ESC-WILDCARD" or "scope-exceeded". */
  rule: string;
  severity: Severity;
  /** The object being judged (the one written, or the one found). */
  object: ObjectRef;
  /** The identity affected, "system:serviceaccount:<ns>:<name>" form. */
  identity?: string;
  /** The exact permission, human-readable, e.g. "get secrets in namespace shop". */
  permission?: string;
  /** One sentence naming object, identity, permission and what sets the ceiling. */
  message: string;
  /** What to do about it. */
  fix: string;
  /** The attack paths the change opens (core/graph), one line per hop; transitive-escalation findings. */
  paths?: AttackPath[];
}

/** One path through the identity graph, as a reader follows it. */
export interface AttackPath {
  /** Where it leads: "cluster-admin", "vault/powerful". */
  to: string;
  /** Hops an attacker takes (group membership is none). */
  length: number;
  /** "ci/deployer —create pods in namespace vault→ vault/powerful", one per hop. */
  hops: string[];
}

export interface Decision {
  allowed: boolean;
  /** Denying findings. */
  violations: Violation[];
  /** Findings that do not deny (Audit enforcement, unclaimed identities on day one). */
  warnings: Violation[];
  /** A controller made the object from this owner's template, so it was judged by the owner (core/workloads/owner.ts). */
  judgedByOwner?: ObjectRef;
}

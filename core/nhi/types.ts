// TypeScript shapes of the nhi.io/v1alpha1 kinds. The CRD YAML in crds/ is the contract; these types
// mirror it field for field (test/unit/nhi/types-vs-schema.test.ts fails when the two drift).
import type { LabelSelector, ObjectMeta, ScopedRule } from "../rbac/types.js";

export const NHI_GROUP = "nhi.io";
export const NHI_VERSION = "v1alpha1";
export const NHI_API_VERSION = `${NHI_GROUP}/${NHI_VERSION}` as const;

// Enum values as runtime lists (tests compare them with the schema's enums).
export const CREDENTIAL_TYPES = [
  "ServiceAccountToken",
  "Generated",
  "External",
  "Certificate",
] as const;
export type CredentialType = (typeof CREDENTIAL_TYPES)[number];

export const SECRET_ENCODINGS = ["base64", "base64url", "hex", "alphanumeric"] as const;
export type SecretEncoding = (typeof SECRET_ENCODINGS)[number];

export const LEGACY_TOKEN_MODES = ["Forbid", "Allow", "Rotate"] as const;
export type LegacyTokenMode = (typeof LEGACY_TOKEN_MODES)[number];

export const EXPIRY_ACTIONS = ["Disable", "Delete", "Notify"] as const;
export type ExpiryAction = (typeof EXPIRY_ACTIONS)[number];

export const ANOMALY_ACTIONS = ["Notify", "Rotate", "Suspend"] as const;
export type AnomalyAction = (typeof ANOMALY_ACTIONS)[number];

export const ENFORCEMENT_MODES = ["Enforce", "Audit"] as const;
export type EnforcementMode = (typeof ENFORCEMENT_MODES)[number];

export const CLAIM_MODES = ["Enforce", "Audit", "Off"] as const;
export type ClaimMode = (typeof CLAIM_MODES)[number];

export const NHI_PHASES = [
  "Pending",
  "Active",
  "Expiring",
  "Expired",
  "Suspended",
  "Violating",
  "Orphaned",
] as const;
export type NHIPhase = (typeof NHI_PHASES)[number];

export const RISK_LEVELS = ["low", "medium", "high", "critical"] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

/** Type-specific defaults the operator applies (the CRD cannot default fields that only some types allow). */
export const CREDENTIAL_DEFAULTS = {
  generatedKey: "value",
  generatedLength: 32,
  generatedEncoding: "base64" as SecretEncoding,
  certificateKey: "tls.crt",
  /** ServiceAccountToken renewBefore when unset: this fraction of ttl. */
  renewBeforeFractionOfTtl: 1 / 3,
} as const;

// ---------------------------------------------------------------------------------------------
// NonHumanIdentity
// ---------------------------------------------------------------------------------------------

export interface NHIOwner {
  team: string;
  contact: string;
}

export interface NHIWorkloads {
  /** Labels a pod must have to run as the identity; absent: any pod. */
  podSelector?: LabelSelector;
  /** Image globs (* any run, ? one character), registry host literal. Absent: any image. */
  images?: string[];
  /** false: pods that automount the token are denied. Defaulted to true by the CRD. */
  automountToken?: boolean;
}

/** One credential. Which optional fields apply depends on `type` (see the CRD's CEL rules). */
export interface NHICredential {
  name: string;
  type: CredentialType;
  secretName: string;
  /** ServiceAccountToken: token lifetime (Go duration). */
  ttl?: string;
  /** ServiceAccountToken: renew this long before expiry. Certificate/External: alert this long before. */
  renewBefore?: string;
  /** ServiceAccountToken: token audiences. */
  audiences?: string[];
  /** Generated/Certificate: data key in the Secret. */
  key?: string;
  /** Generated: random bytes. */
  length?: number;
  /** Generated: how the bytes are written. */
  encoding?: SecretEncoding;
  /** Generated: rotation age (required). External: staleness alert age. */
  maxAge?: string;
  /** Generated: how long the previous value stays valid after rotation. */
  gracePeriod?: string;
  /** External: JSONPath into the Secret object where its expiry is written. */
  expiryJSONPath?: string;
}

export interface NHILifetime {
  /** RFC 3339. */
  expiresAt?: string;
  /** Go duration. */
  unusedAfter?: string;
  /** Defaulted to Disable by the CRD. */
  onExpiry?: ExpiryAction;
}

export interface NonHumanIdentitySpec {
  owner: NHIOwner;
  purpose: string;
  /** The governed ServiceAccount, same namespace. Immutable. */
  serviceAccountName: string;
  /** The ceiling of RBAC the identity may ever hold; absent or [] = no API access. */
  scopes?: ScopedRule[];
  workloads?: NHIWorkloads;
  credentials?: NHICredential[];
  /** Defaulted to Forbid by the CRD. */
  legacyTokens?: LegacyTokenMode;
  /** Defaulted to false by the CRD. */
  rollout?: boolean;
  lifetime?: NHILifetime;
  /** Defaulted to Enforce by the CRD. */
  enforcement?: EnforcementMode;
  /** Defaulted to false by the CRD. */
  suspended?: boolean;
  /** What runtime detection's findings trigger, per severity (unset: Notify). */
  onAnomaly?: NHIOnAnomaly;
}

/** An action per severity; a finding gets the strongest one set at its severity or below. */
export interface NHIOnAnomaly {
  low?: AnomalyAction;
  medium?: AnomalyAction;
  high?: AnomalyAction;
  critical?: AnomalyAction;
}

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  observedGeneration?: number;
  /** RFC 3339. */
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface ExcessPermission {
  verb: string;
  apiGroup?: string;
  resource?: string;
  resourceName?: string;
  nonResourceURL?: string;
  /** Namespace where the grant applies, "*" for cluster-wide. */
  namespace: string;
  binding: { kind: "RoleBinding" | "ClusterRoleBinding"; name: string; namespace?: string };
  role?: { kind: "Role" | "ClusterRole"; name: string };
}

export interface CredentialStatus {
  name: string;
  secretName?: string;
  issuedAt?: string;
  expiresAt?: string;
  nextRotationAt?: string;
  rotations?: number;
  lastError?: string;
}

export interface RiskFactor {
  name: string;
  points: number;
  detail?: string;
}

export interface RiskAssessment {
  /** 0..100. */
  score?: number;
  level?: RiskLevel;
  factors?: RiskFactor[];
}

/** What a runtime-detection finding showed (never a token). */
export interface AnomalyEvidence {
  sourceIPs?: string[];
  userAgents?: string[];
  verbs?: string[];
  resources?: string[];
  namespaces?: string[];
  credentials?: string[];
  grantedBy?: string[];
  codes?: number[];
}

/** One runtime-detection finding on the identity, and what the operator did about it. */
export interface AnomalyRecord {
  /** rule@firstSeen: stable across writes. */
  id: string;
  rule: string;
  category?: string;
  severity: RiskLevel;
  message: string;
  firstSeen: string;
  lastSeen: string;
  count: number;
  evidence?: AnomalyEvidence;
  response?: { action: AnomalyAction; at: string; message: string };
}

export interface NonHumanIdentityStatus {
  phase?: NHIPhase;
  observedGeneration?: number;
  conditions?: Condition[];
  /** At most 200 (the CRD's bound). */
  excessPermissions?: ExcessPermission[];
  credentials?: CredentialStatus[];
  /** Earliest credentials[].nextRotationAt (printer column). */
  nextRotationAt?: string;
  blastRadius?: BlastRadiusStatus;
  risk?: RiskAssessment;
  lastUsed?: string;
  /** Written by the audit sink (findings) and the response controller (response); at most 20. */
  anomalies?: AnomalyRecord[];
  /** Written by the audit sink once its learning window has passed (core/audit/rightsize-status.ts). */
  rightsize?: RightsizeStatus;
}

/** Granted but unused permissions seen by the audit sink, and the narrower scopes that would do. */
export interface RightsizeStatus {
  /** The first request of this identity the sink saw (since the operator's start). */
  observedSince: string;
  /** When this proposal was made. */
  evaluatedAt: string;
  /** Requests seen in between. */
  events: number;
  /** "list secrets in namespace shop (RoleBinding shop/x → Role shop/y)"; at most 20. */
  unusedPermissions: string[];
  /** How many unused permissions there are in all (the list above is cut). */
  unusedCount: number;
  /** The scopes exercised, as NHI scopes; at most 64. Empty when saturated. */
  proposedScopes: ScopedRule[];
  /** Too many distinct permissions were used to keep them all: nothing proposed. */
  saturated: boolean;
}

/** What a leaked token reaches through the identity graph (core/graph). */
export interface BlastRadiusStatus {
  /** Other identities (ServiceAccounts, member groups) it can become. */
  identities: number;
  /** Hops to cluster-admin on the shortest path; absent when unreachable. */
  clusterAdminHops?: number;
}

export interface NonHumanIdentity {
  apiVersion: typeof NHI_API_VERSION;
  kind: "NonHumanIdentity";
  metadata: ObjectMeta;
  spec: NonHumanIdentitySpec;
  status?: NonHumanIdentityStatus;
}

// ---------------------------------------------------------------------------------------------
// NHIPolicy
// ---------------------------------------------------------------------------------------------

export interface ChangeRequestPolicy {
  /** Defaulted to false by the CRD. */
  enabled?: boolean;
  /** Defaulted to nhi.io/change-request by the CRD. */
  annotation?: string;
  /** RE2 the annotation value must match. */
  valuePattern?: string;
}

export interface PolicyExemption {
  /** Namespace globs. */
  namespaces?: string[];
  /** "namespace/name" globs. */
  serviceAccounts?: string[];
  /** Catalogue ids; absent: every rule. */
  rules?: string[];
  reason: string;
  /** RFC 3339; absent: never lapses. */
  expiresAt?: string;
}

export interface BreakGlassPolicy {
  /** Defaulted to nhi.io/break-glass by the CRD. */
  annotation?: string;
  /** Defaulted to nhi.io/break-glass-reason by the CRD. */
  reasonAnnotation?: string;
  allowedGroups?: string[];
}

export interface NamespaceOverride {
  namespaceSelector: LabelSelector;
  requireClaim?: ClaimMode;
  unclaimedHighPermissions?: EnforcementMode;
  /** For the paths that start from an identity of these namespaces. */
  transitiveEscalation?: EnforcementMode;
}

export interface NHIPolicySpec {
  /** Defaulted to Audit by the CRD. */
  requireClaim?: ClaimMode;
  /** Defaulted to Audit by the CRD. */
  unclaimedHighPermissions?: EnforcementMode;
  /** A write opening a new attack path (core/graph) to cluster-admin or beyond an NHI's scopes. Defaulted to Audit by the CRD. */
  transitiveEscalation?: EnforcementMode;
  /** Catalogue ids forbidden for every ServiceAccount beyond the critical ones. */
  forbidden?: string[];
  maxTokenTTL?: string;
  maxCredentialAge?: string;
  requireChangeRequest?: ChangeRequestPolicy;
  exemptNamespaces?: string[];
  exemptions?: PolicyExemption[];
  /** Absent: no break-glass. */
  breakGlass?: BreakGlassPolicy;
  /** First match wins. */
  overrides?: NamespaceOverride[];
}

export interface NHIPolicyStatus {
  observedGeneration?: number;
  conditions?: Condition[];
}

export interface NHIPolicy {
  apiVersion: typeof NHI_API_VERSION;
  kind: "NHIPolicy";
  metadata: ObjectMeta;
  spec: NHIPolicySpec;
  status?: NHIPolicyStatus;
}

export type NHIKind = NonHumanIdentity["kind"] | NHIPolicy["kind"];

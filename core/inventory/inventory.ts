// The inventory: every ServiceAccount with who owns it, who runs as it, what it holds, its
// credentials, its phase and its risk; and every member group (system:serviceaccounts:<ns>, …) that
// holds grants of its own, since those reach every member, present and future. One pass over a
// ClusterSnapshot at time `now`; indexes are built once so 5,000 accounts and 20,000 Secrets stay linear.
import { parseDuration } from "../nhi/duration.js";
import type {
  CredentialStatus,
  ExcessPermission,
  NHIOwner,
  NonHumanIdentity,
} from "../nhi/types.js";
import { catalogueHits } from "../policy/catalogue-hits.js";
import { DANGEROUS_GROUPS, DISCOVERY_ROLES } from "../policy/catalogue.js";
import { exemptionFor, serviceAccountIdentity, type EffectivePolicy } from "../policy/settings.js";
import { groupIdentity, memberGroup } from "../rbac/groups.js";
import { uncoveredGrants } from "../rbac/scoped.js";
import type { Grant, ServiceAccountRef, UncoveredGrant } from "../rbac/types.js";
import { dueAt, isManaged } from "../rotation/plan.js";
import {
  MANAGED_BY,
  MANAGED_BY_LABEL,
  formatTime,
  parseTime,
  readRecord,
} from "../rotation/state.js";
import { scoreRisk } from "../risk/score.js";
import {
  blastRadius,
  saNodeId,
  summarize,
  type IdentityGraph,
  type WalkBudget,
} from "../graph/index.js";
import type { BlastRadiusStatus, RiskAssessment } from "../nhi/types.js";
import { lifetimeOf, type LifetimeState } from "../lifetime/lifetime.js";
import {
  SERVICE_ACCOUNT_NAME_ANNOTATION,
  SERVICE_ACCOUNT_TOKEN_TYPE,
  identityDirectory,
  type ClusterSnapshot,
  type SecretMetadata,
  type WorkloadObject,
} from "../snapshot.js";
import { automountsToken, podTemplateOf, serviceAccountOf } from "../workloads/pod-template.js";
import {
  assessObserved,
  observedExpiry,
  type CredentialFacts,
  type CredentialHealth,
} from "./expiry.js";
import { tlsInventory, type TlsCertificateRecord, type TlsReading } from "./tls.js";

import { phaseOf, type InventoryPhase } from "./phase.js";

export { INVENTORY_PHASES, type InventoryPhase } from "./phase.js";

export const LEGACY_LAST_USED_LABEL = "kubernetes.io/legacy-token-last-used";
export const LEGACY_INVALID_SINCE_LABEL = "kubernetes.io/legacy-token-invalid-since";
/** On a ServiceAccount: the NHI that claims it. When that NHI is gone, the account is Orphaned. */
export const CLAIMED_BY_ANNOTATION = "nhi.io/claimed-by";
/** Unused after this long without a pod or recorded use, for identities that declare no unusedAfter. */
export const DEFAULT_UNUSED_AFTER_MS = 720 * 3_600_000;
/** status.excessPermissions is bounded by the CRD. */
export const MAX_EXCESS_LISTED = 200;
/**
 * Edges all blast-radius walks of one inventory pass may examine together (see buildInventory):
 * about a second of the event loop the webhook shares, where every account reaches everything.
 */
export const RADIUS_BUDGET_EDGES = 300_000;

export interface InventoryOptions {
  now: number;
  policy?: EffectivePolicy;
  unusedAfterMs?: number;
  expiringWithinMs?: number;
  /** Facts about declared Certificate/External credentials, keyed "namespace/secretName" (the edge reads them). */
  credentialFacts?: ReadonlyMap<string, CredentialFacts>;
  /** What the edge read of every kubernetes.io/tls Secret's tls.crt, keyed "namespace/secretName" (absent: not read). */
  tlsReadings?: ReadonlyMap<string, TlsReading>;
  /** The identity graph over the same state (core/graph): each identity's blast radius; absent: none. */
  graph?: IdentityGraph;
  /** Edges the blast-radius walks of one pass may examine in all (default RADIUS_BUDGET_EDGES). */
  radiusBudgetEdges?: number;
}

export interface LegacyToken {
  name: string;
  lastUsed?: string;
  invalidSince?: string;
  /** Issued by the operator as a rotated successor (legacyTokens: Rotate keeps it rotated). */
  operatorIssued?: boolean;
}

export interface CredentialRecord extends CredentialStatus {
  type: string;
  health: CredentialHealth;
  message: string;
}

export interface IdentityRecord {
  namespace: string;
  name: string;
  /** The ServiceAccount exists (false: an NHI names an account that does not). */
  exists: boolean;
  nhi?: string;
  /** Other NHIs that also claim the account. */
  conflicts?: string[];
  owner?: NHIOwner;
  shadow: boolean;
  phase: InventoryPhase;
  /** Why the phase is what it is, one sentence. */
  reason: string;
  pods: number;
  automountingPods: number;
  /** "Deployment/orders", "Pod/debug" — distinct workloads running as it. */
  workloads: string[];
  reuse: boolean;
  legacyTokens: LegacyToken[];
  excessTotal: number;
  excess: ExcessPermission[];
  /** Human-readable, first few: "get secrets in namespace shop via RoleBinding shop/x → Role shop/y". */
  catalogue: { id: string; severity: "critical" | "high"; namespace: string; exempt: boolean }[];
  clusterWideGrants: number;
  lastUsed?: string;
  credentials: CredentialRecord[];
  risk: RiskAssessment;
  /** What a leaked token reaches through the identity graph; absent when no graph was given. */
  blastRadius?: BlastRadiusStatus;
  lifetime?: LifetimeState;
  /** Next time this record may change by the clock alone (a credential due, an expiry), ms. */
  nextAt?: number;
}

/** A member group that holds grants of its own: what every member holds through it. */
export interface GroupRecord {
  /** The group's name, e.g. "system:serviceaccounts:shop". */
  group: string;
  /** "every ServiceAccount in namespace shop". */
  members: string;
  /** The namespace of its ServiceAccounts, "*" for every namespace; absent when it holds none (anonymous). */
  namespace?: string;
  /** Grants every member holds through it (Kubernetes' own default bindings left out). */
  grants: number;
  clusterWideGrants: number;
  catalogue: { id: string; severity: "critical" | "high"; namespace: string; exempt: boolean }[];
  /**
   * It holds a critical (or NHIPolicy-forbidden) catalogue permission no exemption allows, or, for
   * a group whose members include people or everyone, is bound to any role but the discovery ones
   * (binding-dangerous-group, as `nhictl check` and the webhook judge it).
   */
  violating: boolean;
  /** One sentence. */
  reason: string;
}

/** What the inventory reads of the effective permissions (the EffectivePermissionIndex has it). */
export interface HeldPermissions {
  grantsOf(sa: ServiceAccountRef): Grant[];
  /** Member groups some binding names. */
  memberGroups(): string[];
  grantsOfGroup(group: string): Grant[];
}

export interface Inventory {
  at: string;
  identities: IdentityRecord[];
  /** Member groups holding grants beyond Kubernetes' defaults, by name. */
  groups: GroupRecord[];
  /** NHIs by "ns/name" → the record of the account they claim. */
  byNhi: Map<string, IdentityRecord>;
  /** Every kubernetes.io/tls Secret, declared by an NHI or not. */
  tlsCertificates: TlsCertificateRecord[];
}

const key = (ns: string | undefined, name: string): string => `${ns ?? "default"}/${name}`;

/**
 * Grants every identity of the cluster holds through Kubernetes' own default bindings
 * (system:basic-user, system:discovery, system:public-info-viewer, system:service-account-issuer-discovery
 * to system:authenticated / system:serviceaccounts): not the identity's own, so not its excess or risk.
 */
export function isClusterDefaultGrant(g: Grant): boolean {
  return (
    g.via !== "serviceaccount" &&
    g.binding.kind === "ClusterRoleBinding" &&
    g.binding.name.startsWith("system:")
  );
}

interface OwnerRef {
  kind?: string;
  name?: string;
  controller?: boolean;
}
const ownersOf = (w: WorkloadObject): OwnerRef[] =>
  (w.metadata as { ownerReferences?: OwnerRef[] }).ownerReferences ?? [];
const podPhase = (w: WorkloadObject): string | undefined =>
  (w as { status?: { phase?: string } }).status?.phase;

function legacyDate(v: string | undefined): number | undefined {
  return v !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(v)
    ? Date.parse(`${v}T00:00:00Z`)
    : undefined;
}

export function toExcess(u: UncoveredGrant): ExcessPermission {
  const p = u.permission;
  const e: ExcessPermission = {
    verb: p.verb,
    namespace: u.namespace,
    binding: {
      kind: u.grant.binding.kind,
      name: u.grant.binding.name,
      ...(u.grant.binding.namespace ? { namespace: u.grant.binding.namespace } : {}),
    },
    role: { kind: u.grant.role.kind, name: u.grant.role.name },
  };
  if (p.kind === "url") e.nonResourceURL = p.url;
  else {
    e.apiGroup = p.apiGroup;
    e.resource = p.resource;
    if (p.resourceName !== undefined) e.resourceName = p.resourceName;
  }
  return e;
}

/** Status of one declared credential from the Secret's metadata (managed) or the edge's facts (observed). */
export function credentialRecord(
  nhi: NonHumanIdentity,
  c: NonNullable<NonHumanIdentity["spec"]["credentials"]>[number],
  secret: SecretMetadata | undefined,
  opts: InventoryOptions,
): CredentialRecord {
  const ns = nhi.metadata.namespace ?? "default";
  const base = { name: c.name, secretName: c.secretName, type: c.type };
  if (isManaged(c)) {
    if (!secret)
      return { ...base, health: "Missing", message: `Secret ${c.secretName} not issued yet` };
    const rec = readRecord(secret.metadata.annotations ?? {});
    const out: CredentialRecord = {
      ...base,
      rotations: rec.rotations,
      health: "Fresh",
      message: `${c.name} is valid`,
    };
    if (rec.issuedAt !== undefined) out.issuedAt = formatTime(rec.issuedAt);
    if (rec.expiresAt !== undefined) out.expiresAt = formatTime(rec.expiresAt);
    const due = dueAt(c, rec);
    if (due !== undefined) out.nextRotationAt = formatTime(due);
    if (rec.lastError !== undefined) out.lastError = rec.lastError.slice(0, 1024);
    if (rec.generation === 0)
      return { ...out, health: "Missing", message: `${c.name} not issued yet` };
    if (rec.expiresAt !== undefined && opts.now >= rec.expiresAt)
      return {
        ...out,
        health: "Expired",
        message: `${c.name} expired at ${formatTime(rec.expiresAt)}`,
      };
    if (rec.lastError !== undefined)
      return {
        ...out,
        health: "Failing",
        message: `rotation of ${c.name} is failing: ${rec.lastError}`,
      };
    if (rec.state !== "Idle") return { ...out, message: `${c.name} is rotating (${rec.state})` };
    return out;
  }
  const facts = opts.credentialFacts?.get(key(ns, c.secretName)) ?? {
    secretExists: secret !== undefined,
    annotations: secret?.metadata.annotations ?? {},
    keys: [],
    ...(parseTime(secret?.metadata.creationTimestamp) !== undefined
      ? { createdAt: parseTime(secret?.metadata.creationTimestamp) }
      : {}),
  };
  const e = observedExpiry(c, facts);
  const a = assessObserved(c, e, opts.now, opts.policy?.maxCredentialAgeMs);
  const out: CredentialRecord = { ...base, health: a.health, message: a.message };
  if (e.issuedAt !== undefined) out.issuedAt = formatTime(e.issuedAt);
  if (e.expiresAt !== undefined) out.expiresAt = formatTime(e.expiresAt);
  if (a.alertAt !== undefined) out.nextRotationAt = formatTime(a.alertAt);
  if (e.problem !== undefined) out.lastError = e.problem.slice(0, 1024);
  return out;
}

/** Catalogue hits of a holder's grants, each marked exempt when an NHIPolicy exemption allows it. */
function catalogueOf(
  grants: Grant[],
  identity: string,
  object: { kind: string; name: string; namespace?: string },
  policy: EffectivePolicy | undefined,
): IdentityRecord["catalogue"] {
  return catalogueHits(grants).map((h) => ({
    id: h.entry.id,
    severity: h.entry.severity,
    namespace: h.namespace,
    exempt: policy
      ? exemptionFor(policy, {
          rule: h.entry.id,
          severity: h.entry.severity,
          object,
          identity,
          message: "",
          fix: "",
        }) !== undefined
      : false,
  }));
}

/** Forbidden hits no exemption allows: critical ones, and those an NHIPolicy forbids. */
const forbiddenHits = (
  catalogue: IdentityRecord["catalogue"],
  policy: EffectivePolicy | undefined,
): string[] => [
  ...new Set(
    catalogue
      .filter(
        (h) => !h.exempt && (h.severity === "critical" || (policy?.forbidden ?? []).includes(h.id)),
      )
      .map((h) => h.id),
  ),
];

/** The rule `nhictl check` and the webhook deny a binding to such a group with (core/policy/rbac-write.ts). */
const DANGEROUS_GROUP_RULE = "binding-dangerous-group";

/**
 * The roles bound to `group` itself when it is one whose members include people or everyone
 * (system:authenticated, system:unauthenticated): any such binding but the discovery roles is
 * forbidden, as `nhictl check` and the webhook judge it, whatever the role holds. Empty when an
 * NHIPolicy exempts the group from that rule.
 */
function dangerousGroupRoles(
  group: string,
  grants: Grant[],
  policy: EffectivePolicy | undefined,
): string[] {
  const who = DANGEROUS_GROUPS.get(group);
  if (who === undefined) return [];
  const identity = groupIdentity(group);
  const exempt =
    policy !== undefined &&
    exemptionFor(policy, {
      rule: DANGEROUS_GROUP_RULE,
      severity: "critical",
      object: { kind: "Group", name: group },
      identity,
      message: "",
      fix: "",
    }) !== undefined;
  if (exempt) return [];
  return [
    ...new Set(
      grants
        .filter(
          (g) =>
            g.via === identity &&
            !(g.role.kind === "ClusterRole" && DISCOVERY_ROLES.has(g.role.name)),
        )
        .map((g) => `${g.role.kind} ${g.role.name}`),
    ),
  ];
}

/** The member groups holding grants beyond Kubernetes' defaults. */
export function groupRecords(
  held: HeldPermissions,
  policy: EffectivePolicy | undefined,
): GroupRecord[] {
  const out: GroupRecord[] = [];
  for (const name of held.memberGroups()) {
    const group = memberGroup(name);
    if (!group) continue;
    const grants = held.grantsOfGroup(name).filter((g) => !isClusterDefaultGrant(g));
    if (grants.length === 0) continue;
    const catalogue = catalogueOf(grants, groupIdentity(name), { kind: "Group", name }, policy);
    const boundRoles = dangerousGroupRoles(name, grants, policy);
    const forbidden = [
      ...forbiddenHits(catalogue, policy),
      ...(boundRoles.length > 0 ? [DANGEROUS_GROUP_RULE] : []),
    ];
    const rec: GroupRecord = {
      group: name,
      members: group.members,
      grants: grants.length,
      clusterWideGrants: grants.filter((g) => g.namespace === "*").length,
      catalogue,
      violating: forbidden.length > 0,
      reason:
        forbidden.length > 0
          ? `${group.members} holds forbidden permissions: ${forbidden.join(", ")}${boundRoles.length > 0 ? ` (bound to ${boundRoles.join(", ")})` : ""}`
          : `${group.members} holds ${grants.length} grant${grants.length === 1 ? "" : "s"} through it${catalogue.length > 0 ? `, reaching ${[...new Set(catalogue.map((h) => h.id))].join(", ")}` : ""}`,
    };
    if (group.serviceAccountNamespace !== undefined) rec.namespace = group.serviceAccountNamespace;
    out.push(rec);
  }
  return out;
}

/** An identity's blast radius summary: identities it can become, hops to cluster-admin; undefined past the budget. */
function radiusOf(
  graph: IdentityGraph,
  ref: ServiceAccountRef,
  budget: WalkBudget,
): BlastRadiusStatus | undefined {
  if (budget.edges <= 0) return undefined;
  const radius = blastRadius(graph, saNodeId(ref.namespace, ref.name), undefined, budget);
  if (radius.truncated) return undefined;
  const s = summarize(radius, graph);
  return {
    identities: s.identities,
    ...(s.clusterAdminHops !== undefined ? { clusterAdminHops: s.clusterAdminHops } : {}),
  };
}

/** The whole inventory at `opts.now`. `held` is the EffectivePermissionIndex (or what reads it). */
export function buildInventory(
  snapshot: ClusterSnapshot,
  held: HeldPermissions,
  opts: InventoryOptions,
): Inventory {
  const now = opts.now;
  const grantsOf = (sa: ServiceAccountRef): Grant[] => held.grantsOf(sa);
  const dir = identityDirectory(snapshot.nhis);
  const nhiNames = new Set(snapshot.nhis.map((n) => key(n.metadata.namespace, n.metadata.name)));

  // Who runs as which account.
  const pods = new Map<string, { count: number; automount: number; workloads: Set<string> }>();
  const saAutomount = new Map(
    snapshot.serviceAccounts.map((sa) => [
      key(sa.metadata.namespace, sa.metadata.name),
      sa.automountServiceAccountToken,
    ]),
  );
  for (const w of snapshot.workloads) {
    const t = podTemplateOf(w);
    if (!t) continue;
    const k = key(w.metadata.namespace, serviceAccountOf(t.spec));
    let u = pods.get(k);
    if (!u) pods.set(k, (u = { count: 0, automount: 0, workloads: new Set() }));
    if (w.kind === "Pod") {
      const phase = podPhase(w);
      if (phase === "Succeeded" || phase === "Failed") continue;
      u.count++;
      if (automountsToken(t.spec, saAutomount.get(k))) u.automount++;
      if (ownersOf(w).length === 0) u.workloads.add(`Pod/${w.metadata.name}`);
    } else if (!ownersOf(w).some((o) => o.controller === true)) {
      // ReplicaSets of a Deployment and Jobs of a CronJob are the same workload as their owner.
      u.workloads.add(`${w.kind}/${w.metadata.name}`);
    }
  }

  // Legacy token Secrets and declared credential Secrets.
  const legacy = new Map<string, LegacyToken[]>();
  const secretsByKey = new Map<string, SecretMetadata>();
  for (const s of snapshot.secrets) {
    secretsByKey.set(key(s.metadata.namespace, s.metadata.name), s);
    if (s.type !== SERVICE_ACCOUNT_TOKEN_TYPE) continue;
    const sa = s.metadata.annotations?.[SERVICE_ACCOUNT_NAME_ANNOTATION];
    if (!sa) continue;
    const t: LegacyToken = { name: s.metadata.name };
    const lu = s.metadata.labels?.[LEGACY_LAST_USED_LABEL];
    const inv = s.metadata.labels?.[LEGACY_INVALID_SINCE_LABEL];
    if (lu) t.lastUsed = lu;
    if (inv) t.invalidSince = inv;
    if (s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY) t.operatorIssued = true;
    const k = key(s.metadata.namespace, sa);
    legacy.set(k, [...(legacy.get(k) ?? []), t]);
  }

  const refs: {
    ref: ServiceAccountRef;
    exists: boolean;
    createdAt?: number;
    claimedBy?: string;
  }[] = snapshot.serviceAccounts.map((sa) => ({
    ref: { namespace: sa.metadata.namespace ?? "default", name: sa.metadata.name },
    exists: true,
    createdAt: parseTime(sa.metadata.creationTimestamp),
    claimedBy: sa.metadata.annotations?.[CLAIMED_BY_ANNOTATION],
  }));
  const known = new Set(refs.map((r) => key(r.ref.namespace, r.ref.name)));
  for (const nhi of snapshot.nhis) {
    const k = key(nhi.metadata.namespace, nhi.spec.serviceAccountName);
    if (!known.has(k)) {
      known.add(k);
      refs.push({
        ref: { namespace: nhi.metadata.namespace ?? "default", name: nhi.spec.serviceAccountName },
        exists: false,
      });
    }
  }

  const unusedDefault = opts.unusedAfterMs ?? DEFAULT_UNUSED_AFTER_MS;
  // Walks are per identity; where every account reaches the whole cluster (a cluster-wide group
  // binding to create pods) they would be |accounts|²: past this many edges examined in one pass the
  // remaining identities carry no blastRadius (absent, not zero) rather than stalling the pass.
  const radiusBudget: WalkBudget = { edges: opts.radiusBudgetEdges ?? RADIUS_BUDGET_EDGES };
  const identities: IdentityRecord[] = [];
  const byNhi = new Map<string, IdentityRecord>();
  for (const { ref, exists, createdAt, claimedBy } of refs) {
    const k = key(ref.namespace, ref.name);
    const nhi = dir.nhiFor(ref);
    const use = pods.get(k) ?? { count: 0, automount: 0, workloads: new Set<string>() };
    const tokens = legacy.get(k) ?? [];
    const grants = exists ? grantsOf(ref).filter((g) => !isClusterDefaultGrant(g)) : [];
    const uncovered = nhi ? uncoveredGrants(nhi.spec.scopes ?? [], grants) : [];
    const identity = serviceAccountIdentity(ref.namespace, ref.name);
    const catalogue = catalogueOf(
      grants,
      identity,
      { kind: "ServiceAccount", name: ref.name, namespace: ref.namespace },
      opts.policy,
    );

    // Last use: a running pod is use now; legacy tokens record their last day of use; the NHI's status remembers.
    const lastUsedCandidates = [
      use.count > 0 ? now : undefined,
      ...tokens.map((t) => legacyDate(t.lastUsed)),
      parseTime(nhi?.status?.lastUsed),
    ].filter((x): x is number => x !== undefined);
    const lastUsed = lastUsedCandidates.length > 0 ? Math.max(...lastUsedCandidates) : undefined;

    const credentials = nhi
      ? (nhi.spec.credentials ?? []).map((c) =>
          credentialRecord(nhi, c, secretsByKey.get(key(ref.namespace, c.secretName)), opts),
        )
      : [];
    const lifetime = nhi
      ? lifetimeOf({
          nhi,
          now,
          ...(lastUsed !== undefined ? { lastUsed } : {}),
          ...(opts.expiringWithinMs !== undefined
            ? { expiringWithinMs: opts.expiringWithinMs }
            : {}),
        })
      : undefined;
    const unusedAfter =
      nhi?.spec.lifetime?.unusedAfter !== undefined
        ? parseDuration(nhi.spec.lifetime.unusedAfter)
        : unusedDefault;
    const since = lastUsed ?? createdAt;
    const unused = exists && use.count === 0 && since !== undefined && now - since >= unusedAfter;
    const orphaned =
      !exists || (claimedBy !== undefined && !nhi && !nhiNames.has(key(ref.namespace, claimedBy)));
    const forbidden = forbiddenHits(catalogue, opts.policy);
    const { phase, reason } = phaseOf({
      name: ref.name,
      exists,
      ...(claimedBy !== undefined ? { claimedBy } : {}),
      orphaned,
      ...(lifetime ? { lifetime } : {}),
      uncovered: uncovered.length,
      forbidden,
      credentials,
      unused,
      ...(since !== undefined ? { since } : {}),
      pods: use.count,
    });

    const radius =
      opts.graph !== undefined && exists ? radiusOf(opts.graph, ref, radiusBudget) : undefined;
    const risk = scoreRisk({
      ...(radius !== undefined ? { blastRadius: radius } : {}),
      catalogue: catalogue.filter((h) => !h.exempt),
      excess: uncovered.length,
      claimed: nhi !== undefined,
      orphaned,
      legacyTokens: tokens.filter((t) => t.invalidSince === undefined).length,
      expiredCredentials: credentials.filter((c) => c.health === "Expired").length,
      staleCredentials: credentials.filter((c) => c.health === "Stale").length,
      failingCredentials: credentials.filter((c) => c.health === "Failing").length,
      unused,
      workloads: use.workloads.size,
      automountingPods: use.automount,
      clusterWideGrants: grants.filter((g) => g.namespace === "*").length,
      suspended: lifetime?.state === "Suspended",
    });

    const nextCandidates = [
      ...credentials.map((c) => parseTime(c.nextRotationAt)),
      ...credentials.map((c) => parseTime(c.expiresAt)),
      lifetime && (lifetime.state === "Valid" || lifetime.state === "Expiring")
        ? lifetime.nextAt
        : undefined,
    ].filter((x): x is number => x !== undefined && x > now);

    const rec: IdentityRecord = {
      namespace: ref.namespace,
      name: ref.name,
      exists,
      shadow: nhi === undefined,
      phase,
      reason,
      pods: use.count,
      automountingPods: use.automount,
      workloads: [...use.workloads].sort(),
      reuse: use.workloads.size > 1,
      legacyTokens: tokens,
      excessTotal: uncovered.length,
      excess: uncovered.slice(0, MAX_EXCESS_LISTED).map(toExcess),
      catalogue,
      clusterWideGrants: grants.filter((g) => g.namespace === "*").length,
      credentials,
      risk,
    };
    if (nhi) {
      rec.nhi = nhi.metadata.name;
      rec.owner = nhi.spec.owner;
      const others = dir.conflicts.get(k);
      if (others) rec.conflicts = others.map((n) => n.metadata.name);
      byNhi.set(key(nhi.metadata.namespace, nhi.metadata.name), rec);
      for (const other of others ?? [])
        byNhi.set(key(other.metadata.namespace, other.metadata.name), rec);
    }
    if (radius !== undefined) rec.blastRadius = radius;
    if (lifetime) rec.lifetime = lifetime;
    if (lastUsed !== undefined) rec.lastUsed = formatTime(lastUsed);
    if (nextCandidates.length > 0) rec.nextAt = Math.min(...nextCandidates);
    identities.push(rec);
  }
  identities.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  return {
    at: formatTime(now),
    identities,
    groups: groupRecords(held, opts.policy),
    byNhi,
    tlsCertificates: tlsInventory(snapshot, opts.tlsReadings, now),
  };
}

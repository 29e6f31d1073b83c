// Unused permissions (audit2rbac's idea, continuously): what each ServiceAccount actually did,
// against what RBAC grants it (core/rbac: the effective-permission index and its coverage, not a
// second matcher). Every granted permission that no request of the window exercised is proposed
// for removal; the Roles that would suffice hold exactly what was exercised, narrowed to the
// namespaces it was exercised in and to the resourceNames the grant itself named.
import { breakdown, ruleCovers } from "../rbac/coverage.js";
import { CLUSTER_WIDE, describeGrant, describePermission, toPermission } from "../rbac/scoped.js";
import type {
  ClusterRole,
  Grant,
  PolicyRule,
  Role,
  ScopedRule,
  ServiceAccountRef,
} from "../rbac/types.js";
import { parseServiceAccountIdentity } from "../policy/settings.js";
import { indexSnapshot, type ClusterSnapshot } from "../snapshot.js";
import { declarationIndex } from "./declarations.js";
import type { AuditEvent } from "./event.js";
import { BASELINE_RULES, permissionOf } from "./request.js";
import { documentParts, parseDocumentEnvelope } from "./parts.js";
import { isRecord } from "../json.js";
import type { RequestPermission } from "./request.js";

export interface UsageOptions {
  maxIdentities: number;
  /** Distinct permissions (names dropped) kept per identity. */
  maxPermissions: number;
}

export const DEFAULT_USAGE_OPTIONS: UsageOptions = { maxIdentities: 20_000, maxPermissions: 512 };

interface IdentityUsage {
  sa: ServiceAccountRef;
  first: number;
  last: number;
  events: number;
  /** key → the permission, resourceNames dropped. */
  exercised: Map<string, RequestPermission>;
  /** More distinct permissions than maxPermissions: no proposal (it would drop some in use). */
  saturated: boolean;
}

/** A request as RBAC checked it, without the object's name (names do not widen a Role). */
function unnamed(p: RequestPermission): { key: string; p: RequestPermission } {
  const r = p.rule;
  if (r.nonResourceURLs) return { key: `${p.namespace} ${r.verbs[0]} ${r.nonResourceURLs[0]}`, p };
  const rule: PolicyRule = {
    apiGroups: r.apiGroups ?? [],
    resources: r.resources ?? [],
    verbs: r.verbs,
  };
  return {
    key: `${p.namespace} ${r.verbs[0]} ${r.apiGroups?.[0]} ${r.resources?.[0]}`,
    p: { rule, namespace: p.namespace, permission: toPermission(rule, p.namespace) },
  };
}

/** What every ServiceAccount did that RBAC allowed, bounded. */
export class UsageRecorder {
  readonly opts: UsageOptions;
  private readonly identities = new Map<string, IdentityUsage>();
  identitiesRefused = 0;
  /**
   * Set when a proposal's inputs changed (a new identity, permission or saturation); the store
   * writes only then, and clears it. The event count and last time ride along with those writes.
   */
  dirty = false;

  constructor(options: Partial<UsageOptions> = {}) {
    this.opts = { ...DEFAULT_USAGE_OPTIONS, ...options };
  }

  /** `p`: the event's permission, when the caller has it already. */
  observe(e: AuditEvent, p: RequestPermission = permissionOf(e)): void {
    if (e.code === 403 || e.code === 401 || e.decision === "forbid") return;
    let u = this.identities.get(e.username);
    if (u === undefined) {
      const sa = parseServiceAccountIdentity(e.username);
      if (!sa) return;
      if (this.identities.size >= this.opts.maxIdentities) {
        this.identitiesRefused++;
        return;
      }
      u = { sa, first: e.time, last: e.time, events: 0, exercised: new Map(), saturated: false };
      this.identities.set(e.username, u);
      this.dirty = true;
    }
    u.events++;
    if (e.time < u.first) {
      u.first = e.time;
      this.dirty = true;
    }
    if (e.time > u.last) u.last = e.time;
    if (BASELINE_RULES.some((o) => ruleCovers(o, p.rule))) return;
    const { key, p: q } = unnamed(p);
    if (u.exercised.has(key) || u.saturated) return;
    if (u.exercised.size >= this.opts.maxPermissions) u.saturated = true;
    else u.exercised.set(key, q);
    this.dirty = true;
  }

  // --- persistence (operator/audit/baseline-store.ts keeps it in ConfigMaps) ------------------

  /** The serialisable form, identities sorted (stable output, small diffs). */
  toDocument(): UsageDocument {
    const identities: Record<string, StoredUsage> = {};
    for (const id of this.identitiesSeen()) {
      const u = this.identities.get(id);
      if (!u) continue;
      identities[id] = {
        first: u.first,
        last: u.last,
        events: u.events,
        exercised: [...u.exercised.values()].map((x) => ({ namespace: x.namespace, rule: x.rule })),
        ...(u.saturated ? { saturated: true } : {}),
      };
    }
    return { apiVersion: USAGE_API_VERSION, identities };
  }

  /** The document in parts of at most `maxBytes` of JSON (maxPermissions bounds one identity). */
  toParts(maxBytes: number): string[] {
    return documentParts(USAGE_API_VERSION, Object.entries(this.toDocument().identities), maxBytes);
  }

  /**
   * Adds a stored document (another replica's share, or this one's before a restart): the union of
   * what was exercised, the earliest first and latest last; merging the same document twice
   * changes nothing, so the event count is the larger of the two (replicas' shares are not added:
   * a count each replica re-reads would grow with every merge).
   */
  merge(doc: UsageDocument): void {
    for (const [id, s] of Object.entries(doc.identities)) {
      let u = this.identities.get(id);
      if (u === undefined) {
        const sa = parseServiceAccountIdentity(id);
        if (!sa) continue;
        if (this.identities.size >= this.opts.maxIdentities) {
          this.identitiesRefused++;
          continue;
        }
        u = { sa, first: s.first, last: s.last, events: 0, exercised: new Map(), saturated: false };
        this.identities.set(id, u);
        this.dirty = true;
      }
      if (s.first < u.first) {
        u.first = s.first;
        this.dirty = true;
      }
      u.last = Math.max(u.last, s.last);
      u.events = Math.max(u.events, s.events);
      if (s.saturated === true && !u.saturated) {
        u.saturated = true;
        this.dirty = true;
      }
      for (const x of s.exercised) {
        const { key, p } = unnamed({
          rule: x.rule,
          namespace: x.namespace,
          permission: toPermission(x.rule, x.namespace),
        });
        if (u.exercised.has(key) || u.saturated) continue;
        if (u.exercised.size >= this.opts.maxPermissions) u.saturated = true;
        else u.exercised.set(key, p);
        this.dirty = true;
      }
    }
  }

  identitiesSeen(): string[] {
    return [...this.identities.keys()].sort();
  }

  usageOf(identity: string): Readonly<IdentityUsage> | undefined {
    return this.identities.get(identity);
  }
}

export const USAGE_API_VERSION = "nhi.io/audit-usage/v1";

interface StoredUsage {
  first: number;
  last: number;
  events: number;
  /** Each exercised permission, its name dropped: one verb, group and resource, or one URL. */
  exercised: { namespace: string; rule: PolicyRule }[];
  saturated?: true;
}

export interface UsageDocument {
  apiVersion: typeof USAGE_API_VERSION;
  identities: Record<string, StoredUsage>;
}

const MAX_STORED_VALUE = 512;
const isShortStrings = (v: unknown, max: number): v is string[] =>
  Array.isArray(v) &&
  v.length <= max &&
  v.every((x) => typeof x === "string" && x.length <= MAX_STORED_VALUE);

/**
 * A stored usage document, checked field by field; the error names the field and what was expected
 * (the store logs it and starts that part afresh). At most `maxPermissions` per identity.
 */
export function parseUsageDocument(
  text: string,
  maxPermissions = DEFAULT_USAGE_OPTIONS.maxPermissions,
): { document: UsageDocument } | { error: string } {
  const envelope = parseDocumentEnvelope(text, USAGE_API_VERSION);
  if ("error" in envelope) return envelope;
  const identities: Record<string, StoredUsage> = {};
  for (const [id, raw] of Object.entries(envelope.identities)) {
    const at = `identities[${JSON.stringify(id.slice(0, 100))}]`;
    if (!parseServiceAccountIdentity(id))
      return { error: `${at} is not a ServiceAccount identity` };
    if (!isRecord(raw)) return { error: `${at} is not an object` };
    for (const t of ["first", "last", "events"] as const)
      if (typeof raw[t] !== "number" || !Number.isFinite(raw[t]) || (raw[t] as number) < 0)
        return { error: `${at}.${t} is not a non-negative number` };
    if (!Array.isArray(raw.exercised) || raw.exercised.length > maxPermissions)
      return { error: `${at}.exercised is not a list of at most ${maxPermissions} permissions` };
    const exercised: StoredUsage["exercised"] = [];
    for (const [i, x] of raw.exercised.entries()) {
      const where = `${at}.exercised[${i}]`;
      if (!isRecord(x) || typeof x.namespace !== "string" || !isRecord(x.rule))
        return { error: `${where} is not {namespace, rule}` };
      const r = x.rule;
      if (!isShortStrings(r.verbs, 1) || r.verbs.length !== 1)
        return { error: `${where}.rule.verbs is not one verb` };
      const rule: PolicyRule = { verbs: r.verbs };
      if (r.nonResourceURLs !== undefined) {
        if (!isShortStrings(r.nonResourceURLs, 1) || r.nonResourceURLs.length !== 1)
          return { error: `${where}.rule.nonResourceURLs is not one URL` };
        rule.nonResourceURLs = r.nonResourceURLs;
      } else {
        if (!isShortStrings(r.apiGroups, 1) || r.apiGroups.length !== 1)
          return { error: `${where}.rule.apiGroups is not one group` };
        if (!isShortStrings(r.resources, 1) || r.resources.length !== 1)
          return { error: `${where}.rule.resources is not one resource` };
        rule.apiGroups = r.apiGroups;
        rule.resources = r.resources;
      }
      exercised.push({ namespace: x.namespace, rule });
    }
    identities[id] = {
      first: raw.first as number,
      last: raw.last as number,
      events: raw.events as number,
      exercised,
      ...(raw.saturated === true ? { saturated: true as const } : {}),
    };
  }
  return { document: { apiVersion: USAGE_API_VERSION, identities } };
}

export interface RemovedPermission {
  /** "get secrets in namespace shop". */
  permission: string;
  /** "RoleBinding shop/x → Role shop/y". */
  grant: string;
}

export interface RightsizeProposal {
  identity: string;
  serviceAccount: ServiceAccountRef;
  nhi?: string;
  /** The NHI's declared scopes, as they are. */
  scopes?: ScopedRule[];
  /** The window: first and last request seen, and how many. */
  since: string;
  until: string;
  events: number;
  /** What would suffice, as NHI scopes. */
  proposedScopes: ScopedRule[];
  /** ...and as RBAC: a Role per namespace, a ClusterRole for cluster-wide requests. */
  roles: (Role | ClusterRole)[];
  /** Granted, never exercised within the window. */
  removed: RemovedPermission[];
  /** Too many distinct permissions were used to keep them all: no narrower scope proposed. */
  saturated: boolean;
}

const grantApplies = (grant: Grant, namespace: string): boolean =>
  grant.namespace === CLUSTER_WIDE || grant.namespace === namespace;

const withoutNames = (r: PolicyRule): PolicyRule =>
  r.resourceNames === undefined
    ? r
    : {
        verbs: r.verbs,
        ...(r.apiGroups ? { apiGroups: r.apiGroups } : {}),
        ...(r.resources ? { resources: r.resources } : {}),
      };

/**
 * The proposal for one identity: `grants` from the effective-permission index (grantsOf), its
 * usage from the recorder, its NHI if any.
 */
export function rightsize(
  identity: string,
  usage: Readonly<IdentityUsage>,
  grants: readonly Grant[],
  nhi?: { name: string; scopes: ScopedRule[] },
): RightsizeProposal {
  const exercised = [...usage.exercised.values()];
  const usedAtomics = new Set<PolicyRule>();
  // namespace → rule group key → rule being built.
  const proposed = new Map<string, Map<string, PolicyRule>>();
  for (const x of exercised) {
    let names: Set<string> | undefined;
    let unrestricted = false;
    let granted = false;
    for (const g of grants) {
      if (!grantApplies(g, x.namespace)) continue;
      for (const a of g.rules.flatMap((r) => breakdown(r))) {
        if (!ruleCovers(withoutNames(a), x.rule)) continue;
        granted = true;
        usedAtomics.add(a);
        if (a.resourceNames === undefined) unrestricted = true;
        else for (const n of a.resourceNames) (names ??= new Set()).add(n);
      }
    }
    if (!granted) continue;
    const rule = x.rule;
    const key = rule.nonResourceURLs
      ? `url`
      : `${rule.apiGroups?.[0]}\u0000${rule.resources?.[0]}\u0000${unrestricted ? "" : [...(names ?? [])].sort().join(",")}`;
    let byKey = proposed.get(x.namespace);
    if (!byKey) proposed.set(x.namespace, (byKey = new Map()));
    const into = byKey.get(key);
    if (rule.nonResourceURLs) {
      if (!into)
        byKey.set(key, { nonResourceURLs: [...rule.nonResourceURLs], verbs: [...rule.verbs] });
      else {
        for (const u of rule.nonResourceURLs)
          if (!into.nonResourceURLs?.includes(u)) into.nonResourceURLs?.push(u);
        for (const v of rule.verbs) if (!into.verbs.includes(v)) into.verbs.push(v);
      }
      continue;
    }
    if (into) {
      for (const v of rule.verbs) if (!into.verbs.includes(v)) into.verbs.push(v);
    } else {
      const r: PolicyRule = {
        apiGroups: [...(rule.apiGroups ?? [])],
        resources: [...(rule.resources ?? [])],
        verbs: [...rule.verbs],
      };
      if (!unrestricted && names) r.resourceNames = [...names].sort();
      byKey.set(key, r);
    }
  }

  const removed: RemovedPermission[] = [];
  const seen = new Set<string>();
  for (const g of grants) {
    // A grant to a member group (system:authenticated: discovery, self-reviews) is every member's:
    // narrowing this identity cannot remove it, so listing it would only be noise.
    if (g.via !== "serviceaccount") continue;
    for (const a of g.rules.flatMap((r) => breakdown(r))) {
      if (usedAtomics.has(a)) continue;
      // URL rules through a RoleBinding grant nothing (core/rbac/scoped.ts): nothing to remove.
      if (a.nonResourceURLs && g.namespace !== CLUSTER_WIDE) continue;
      const permission = describePermission(toPermission(a, g.namespace));
      const grant = describeGrant(g);
      const key = `${permission}\u0000${grant}`;
      if (seen.has(key)) continue;
      seen.add(key);
      removed.push({ permission, grant });
    }
  }

  const sa = usage.sa;
  const roles: (Role | ClusterRole)[] = [];
  const proposedScopes: ScopedRule[] = [];
  for (const namespace of [...proposed.keys()].sort()) {
    const rules = mergeRules([...(proposed.get(namespace)?.values() ?? [])]);
    const name = `${sa.name}-rightsized`;
    roles.push(
      namespace === CLUSTER_WIDE
        ? {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRole",
            metadata: { name: `${sa.namespace}-${name}` },
            rules,
          }
        : {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "Role",
            metadata: { name, namespace },
            rules,
          },
    );
    for (const r of rules) proposedScopes.push({ ...r, namespaces: [namespace] });
  }
  const p: RightsizeProposal = {
    identity,
    serviceAccount: sa,
    since: new Date(usage.first).toISOString(),
    until: new Date(usage.last).toISOString(),
    events: usage.events,
    proposedScopes,
    roles,
    removed: usage.saturated ? [] : removed,
    saturated: usage.saturated,
  };
  if (nhi) {
    p.nhi = nhi.name;
    p.scopes = nhi.scopes;
  }
  return p;
}

/** Rules with the same group, verbs and names share one rule listing their resources; all sorted. */
function mergeRules(rules: PolicyRule[]): PolicyRule[] {
  const byShape = new Map<string, PolicyRule>();
  for (const r of rules) {
    r.verbs.sort();
    if (r.nonResourceURLs) {
      r.nonResourceURLs.sort();
      byShape.set(`url ${r.verbs.join(",")} ${r.nonResourceURLs.join(",")}`, r);
      continue;
    }
    const shape = `${r.apiGroups?.[0]}\u0000${r.verbs.join(",")}\u0000${(r.resourceNames ?? []).join(",")}`;
    const into = byShape.get(shape);
    if (into) into.resources?.push(...(r.resources ?? []));
    else byShape.set(shape, { ...r, resources: [...(r.resources ?? [])] });
  }
  const out = [...byShape.values()];
  for (const r of out) r.resources?.sort();
  return out.sort((a, b) =>
    `${a.apiGroups?.[0] ?? "~"} ${a.resources?.[0] ?? a.nonResourceURLs?.[0]}`.localeCompare(
      `${b.apiGroups?.[0] ?? "~"} ${b.resources?.[0] ?? b.nonResourceURLs?.[0]}`,
    ),
  );
}

/**
 * A proposal for every identity seen to which RBAC grants something it did not use, by identity.
 */
export function rightsizeSnapshot(
  usage: UsageRecorder,
  snapshot: ClusterSnapshot,
): RightsizeProposal[] {
  const index = indexSnapshot(snapshot);
  const declared = declarationIndex(snapshot.nhis);
  const out: RightsizeProposal[] = [];
  for (const id of usage.identitiesSeen()) {
    const u = usage.usageOf(id);
    if (!u) continue;
    const d = declared(u.sa.namespace, u.sa.name);
    const p = rightsize(
      id,
      u,
      index.grantsOf(u.sa),
      d ? { name: d.nhi, scopes: d.scopes } : undefined,
    );
    if (p.removed.length > 0 || p.saturated) out.push(p);
  }
  return out;
}

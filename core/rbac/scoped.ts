// Scoped coverage: RBAC coverage plus *where* a permission applies.
//
// A grant applies in one namespace (through a RoleBinding, also one that references a ClusterRole)
// or cluster-wide ("*", through a ClusterRoleBinding). An NHI scope is a PolicyRule plus the
// namespaces it may apply in, ["*"] meaning cluster-wide. Hence:
// - a namespaced grant is covered by scopes listing that namespace or "*";
// - a cluster-wide grant only by cluster-wide scopes (namespaces containing "*"): holding
//   "get secrets" in every namespace is more than holding it in each listed one;
// - nonResourceURLs exist only cluster-wide: the authorizer checks non-resource requests against
//   ClusterRoleBindings alone (pkg/registry/rbac/validation/rule.go VisitRulesFor with namespace ""),
//   so URL rules reached through a RoleBinding grant nothing and are not reported.

import { breakdown, ruleCovers, ruleKey } from "./coverage.js";
import type { Grant, Permission, PolicyRule, ScopedRule, UncoveredGrant } from "./types.js";

export const CLUSTER_WIDE = "*";

/** The scope rules that apply to a grant made in `namespace` ("*" = cluster-wide). */
export function scopeRulesFor(scopes: readonly ScopedRule[], namespace: string): ScopedRule[] {
  if (namespace === CLUSTER_WIDE) return scopes.filter((s) => s.namespaces.includes(CLUSTER_WIDE));
  return scopes.filter(
    (s) => s.namespaces.includes(CLUSTER_WIDE) || s.namespaces.includes(namespace),
  );
}

/** An atomic rule (one element of breakdown()) as a Permission tuple applying in `namespace`. */
export function toPermission(atomic: PolicyRule, namespace: string): Permission {
  const url = atomic.nonResourceURLs?.[0];
  const verb = atomic.verbs[0] ?? "";
  if (url !== undefined) return { kind: "url", namespace: "*", url, verb };
  const p: Permission = {
    kind: "resource",
    namespace,
    apiGroup: atomic.apiGroups?.[0] ?? "",
    resource: atomic.resources?.[0] ?? "",
    verb,
  };
  const name = atomic.resourceNames?.[0];
  if (name !== undefined) p.resourceName = name;
  return p;
}

// What a grant has beyond a set of scopes is remembered: the webhook judges the same identities'
// grants (and the same roles' rules, in what-ifs) against the same NHI's scopes on every review.
// By (scopes, rules array, namespace) the atomic permissions; by (scopes, grant) the finished list,
// for grants that cannot change (the index's answers are frozen and shared). Scopes and rules are
// read from cached objects, which are replaced, never edited, when the object changes; a new array
// misses the memo.
type Uncovered = Pick<UncoveredGrant, "rule" | "permission">;
const atomicsMemo = new WeakMap<
  readonly ScopedRule[],
  WeakMap<readonly PolicyRule[], Map<string, readonly Uncovered[]>>
>();
const grantMemo = new WeakMap<readonly ScopedRule[], WeakMap<Grant, readonly UncoveredGrant[]>>();

function inner<K extends object, V>(
  outer: WeakMap<readonly ScopedRule[], WeakMap<K, V>>,
  scopes: readonly ScopedRule[],
): WeakMap<K, V> {
  let m = outer.get(scopes);
  if (m === undefined) {
    m = new WeakMap();
    outer.set(scopes, m);
  }
  return m;
}

function uncoveredAtomics(
  scopes: readonly ScopedRule[],
  rules: readonly PolicyRule[],
  namespace: string,
  owners: readonly ScopedRule[],
): readonly Uncovered[] {
  const byRules = inner(atomicsMemo, scopes);
  let byNamespace = byRules.get(rules);
  const hit = byNamespace?.get(namespace);
  if (hit !== undefined) return hit;
  const clusterWide = namespace === CLUSTER_WIDE;
  const seen = new Set<string>();
  const out: Uncovered[] = [];
  for (const rule of rules) {
    for (const atomic of breakdown(rule)) {
      if (!clusterWide && atomic.nonResourceURLs !== undefined) continue;
      if (owners.some((o) => ruleCovers(o, atomic))) continue;
      const key = ruleKey(atomic);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(Object.freeze({ rule: atomic, permission: toPermission(atomic, namespace) }));
    }
  }
  if (byNamespace === undefined) {
    byNamespace = new Map();
    byRules.set(rules, byNamespace);
  }
  byNamespace.set(namespace, Object.freeze(out));
  return out;
}

function uncoveredOfGrant(
  scopes: readonly ScopedRule[],
  grant: Grant,
  owners: readonly ScopedRule[],
): readonly UncoveredGrant[] {
  const frozen = Object.isFrozen(grant);
  const hit = frozen ? grantMemo.get(scopes)?.get(grant) : undefined;
  if (hit !== undefined) return hit;
  const out = uncoveredAtomics(scopes, grant.rules, grant.namespace, owners).map(
    (u): UncoveredGrant => ({
      namespace: grant.namespace,
      rule: u.rule,
      permission: u.permission,
      grant,
    }),
  );
  if (frozen) {
    for (const u of out) Object.freeze(u);
    inner(grantMemo, scopes).set(grant, Object.freeze(out));
  }
  return out;
}

/**
 * Every atomic permission of `grants` that no applicable scope covers, each with its namespace and
 * the grant (binding → role) it came from. Duplicates within one grant are reported once. [] means
 * the scopes cover every grant.
 */
export function uncoveredGrants(
  scopes: readonly ScopedRule[],
  grants: readonly Grant[],
): UncoveredGrant[] {
  const byNamespace = new Map<string, ScopedRule[]>();
  const out: UncoveredGrant[] = [];
  for (const grant of grants) {
    let owners = byNamespace.get(grant.namespace);
    if (owners === undefined) {
      owners = scopeRulesFor(scopes, grant.namespace);
      byNamespace.set(grant.namespace, owners);
    }
    for (const u of uncoveredOfGrant(scopes, grant, owners)) out.push(u);
  }
  return out;
}

/** "get secrets in namespace shop", "create deployments.apps/scale cluster-wide", "get /healthz". */
export function describePermission(p: Permission): string {
  if (p.kind === "url")
    return `${p.verb === "*" ? "every verb on" : p.verb} ${p.url === "*" ? "every non-resource URL" : `${p.url} (non-resource URL)`}`;
  const slash = p.resource.indexOf("/");
  const base = slash < 0 ? p.resource : p.resource.slice(0, slash);
  const sub = slash < 0 ? "" : p.resource.slice(slash);
  // Wildcards in words: "* *.*" reads as noise where "every resource in every API group" does not.
  const resource =
    p.resource === "*"
      ? p.apiGroup === "*"
        ? "every resource in every API group"
        : `every resource in API group ${JSON.stringify(p.apiGroup)}`
      : p.apiGroup === "*"
        ? `${p.resource} in every API group`
        : p.apiGroup === ""
          ? p.resource
          : `${base}.${p.apiGroup}${sub}`;
  const verb = p.verb === "*" ? "every verb on" : p.verb;
  const named = p.resourceName === undefined ? "" : ` named ${JSON.stringify(p.resourceName)}`;
  const where = p.namespace === CLUSTER_WIDE ? "cluster-wide" : `in namespace ${p.namespace}`;
  return `${verb} ${resource}${named} ${where}`;
}

function refName(ref: { namespace?: string; name: string }): string {
  return ref.namespace === undefined || ref.namespace === ""
    ? ref.name
    : `${ref.namespace}/${ref.name}`;
}

/** "RoleBinding shop/x → Role shop/y". */
export function describeGrant(grant: Grant): string {
  return `${grant.binding.kind} ${refName(grant.binding)} → ${grant.role.kind} ${refName(grant.role)}`;
}

/** "get secrets in namespace shop via RoleBinding shop/x → Role shop/y". */
export function describeUncovered(u: UncoveredGrant): string {
  const through =
    u.grant.via === "serviceaccount" ? "" : ` (as member of ${u.grant.via.slice("group:".length)})`;
  return `${describePermission(u.permission)} via ${describeGrant(u.grant)}${through}`;
}

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
  return scopes.filter((s) => s.namespaces.includes(CLUSTER_WIDE) || s.namespaces.includes(namespace));
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

/**
 * Every atomic permission of `grants` that no applicable scope covers, each with its namespace and
 * the grant (binding → role) it came from. Duplicates within one grant are reported once. [] means
 * the scopes cover every grant.
 */
export function uncoveredGrants(scopes: readonly ScopedRule[], grants: readonly Grant[]): UncoveredGrant[] {
  const byNamespace = new Map<string, ScopedRule[]>();
  const out: UncoveredGrant[] = [];
  for (const grant of grants) {
    let owners = byNamespace.get(grant.namespace);
    if (owners === undefined) {
      owners = scopeRulesFor(scopes, grant.namespace);
      byNamespace.set(grant.namespace, owners);
    }
    const clusterWide = grant.namespace === CLUSTER_WIDE;
    const seen = new Set<string>();
    for (const rule of grant.rules) {
      for (const atomic of breakdown(rule)) {
        if (!clusterWide && atomic.nonResourceURLs !== undefined) continue;
        if (owners.some((o) => ruleCovers(o, atomic))) continue;
        const key = ruleKey(atomic);
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ namespace: grant.namespace, rule: atomic, permission: toPermission(atomic, grant.namespace), grant });
      }
    }
  }
  return out;
}

/** "get secrets in namespace shop", "create deployments.apps/scale cluster-wide", "get /healthz". */
export function describePermission(p: Permission): string {
  if (p.kind === "url") return `${p.verb === "*" ? "every verb on" : p.verb} ${p.url === "*" ? "every non-resource URL" : `${p.url} (non-resource URL)`}`;
  const slash = p.resource.indexOf("/");
  const base = slash < 0 ? p.resource : p.resource.slice(0, slash);
  const sub = slash < 0 ? "" : p.resource.slice(slash);
  // Wildcards in words: "* *.*" reads as noise where "every resource in every API group" does not.
  const resource = p.resource === "*"
    ? (p.apiGroup === "*" ? "every resource in every API group" : `every resource in API group ${JSON.stringify(p.apiGroup)}`)
    : p.apiGroup === "*" ? `${p.resource} in every API group`
    : p.apiGroup === "" ? p.resource : `${base}.${p.apiGroup}${sub}`;
  const verb = p.verb === "*" ? "every verb on" : p.verb;
  const named = p.resourceName === undefined ? "" : ` named ${JSON.stringify(p.resourceName)}`;
  const where = p.namespace === CLUSTER_WIDE ? "cluster-wide" : `in namespace ${p.namespace}`;
  return `${verb} ${resource}${named} ${where}`;
}

function refName(ref: { namespace?: string; name: string }): string {
  return ref.namespace === undefined || ref.namespace === "" ? ref.name : `${ref.namespace}/${ref.name}`;
}

/** "RoleBinding shop/x → Role shop/y". */
export function describeGrant(grant: Grant): string {
  return `${grant.binding.kind} ${refName(grant.binding)} → ${grant.role.kind} ${refName(grant.role)}`;
}

/** "get secrets in namespace shop via RoleBinding shop/x → Role shop/y". */
export function describeUncovered(u: UncoveredGrant): string {
  const through = u.grant.via === "serviceaccount" ? "" : ` (as member of ${u.grant.via.slice("group:".length)})`;
  return `${describePermission(u.permission)} via ${describeGrant(u.grant)}${through}`;
}

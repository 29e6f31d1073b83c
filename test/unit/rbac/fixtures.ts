// Builders for RBAC objects in tests and benchmarks' cross-checks.
import { ruleKey } from "../../../core/rbac/coverage.js";
import type {
  ClusterRole,
  ClusterRoleBinding,
  Grant,
  LabelSelector,
  PolicyRule,
  Role,
  RoleBinding,
  Subject,
} from "../../../core/rbac/types.js";

export const rule = (
  apiGroups: string[],
  resources: string[],
  verbs: string[],
  resourceNames?: string[],
): PolicyRule =>
  resourceNames === undefined
    ? { apiGroups, resources, verbs }
    : { apiGroups, resources, verbs, resourceNames };

export const role = (namespace: string, name: string, rules: PolicyRule[]): Role => ({
  kind: "Role",
  metadata: { namespace, name },
  rules,
});

export const clusterRole = (
  name: string,
  rules: PolicyRule[],
  labels?: Record<string, string>,
  aggregate?: LabelSelector[],
): ClusterRole => {
  const cr: ClusterRole = {
    kind: "ClusterRole",
    metadata: labels === undefined ? { name } : { name, labels },
    rules,
  };
  if (aggregate !== undefined) cr.aggregationRule = { clusterRoleSelectors: aggregate };
  return cr;
};

export const roleBinding = (
  namespace: string,
  name: string,
  roleRef: { kind: "Role" | "ClusterRole"; name: string },
  subjects: Subject[],
): RoleBinding => ({
  kind: "RoleBinding",
  metadata: { namespace, name },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", ...roleRef },
  subjects,
});

export const clusterRoleBinding = (
  name: string,
  roleName: string,
  subjects: Subject[],
): ClusterRoleBinding => ({
  kind: "ClusterRoleBinding",
  metadata: { name },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: roleName },
  subjects,
});

export const sa = (namespace: string | undefined, name: string): Subject =>
  namespace === undefined
    ? { kind: "ServiceAccount", name }
    : { kind: "ServiceAccount", name, namespace };
export const group = (name: string): Subject => ({
  kind: "Group",
  name,
  apiGroup: "rbac.authorization.k8s.io",
});
export const user = (name: string): Subject => ({
  kind: "User",
  name,
  apiGroup: "rbac.authorization.k8s.io",
});

/** A grant in a comparable form: rules as a sorted set of keys (aggregation order is not semantic). */
export function normalizeGrant(g: Grant): string {
  const rules = [...new Set(g.rules.map(ruleKey))].sort();
  return JSON.stringify([g.binding, g.role, g.namespace, g.via, rules]);
}

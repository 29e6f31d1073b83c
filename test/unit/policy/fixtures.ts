// Small builders for grants and identities used by the policy tests.
import type { Grant, PolicyRule } from "../../../core/rbac/types.js";

export function grant(namespace: string, rules: PolicyRule[], role = "r", binding = "b"): Grant {
  const cluster = namespace === "*";
  return {
    namespace,
    rules,
    binding: cluster
      ? { kind: "ClusterRoleBinding", name: binding }
      : { kind: "RoleBinding", namespace, name: binding },
    role: cluster ? { kind: "ClusterRole", name: role } : { kind: "Role", namespace, name: role },
    via: "serviceaccount",
  };
}

// One PolicyRule builder for every unit test.
export { rule } from "../rbac/fixtures.js";

export const CLUSTER_ADMIN_RULES: PolicyRule[] = [
  { apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
  { nonResourceURLs: ["*"], verbs: ["*"] },
];

// Human-readable forms of objects and suggested scopes for policy messages. Permissions and grants
// are described by core/rbac/scoped.ts (describePermission, describeGrant).
import type { PolicyRule } from "../rbac/types.js";
import type { ObjectRef } from "./types.js";

const list = (xs: string[] | undefined): string => (xs && xs.length > 0 ? xs.join(",") : "");

/** "RoleBinding shop/ci", "ClusterRole admin". */
export function describeObject(ref: Pick<ObjectRef, "kind" | "name" | "namespace">): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;
}

/** A scope entry an NHI owner could add, in the YAML flow style a reviewer reads. */
export function suggestScope(rule: PolicyRule, namespace: string): string {
  const ns = `namespaces: [${namespace === "*" ? '"*"' : namespace}]`;
  if (rule.nonResourceURLs && rule.nonResourceURLs.length > 0) {
    return `{ ${ns}, nonResourceURLs: [${list(rule.nonResourceURLs)}], verbs: [${list(rule.verbs)}] }`;
  }
  const groups = (rule.apiGroups ?? [""]).map((g) => JSON.stringify(g)).join(", ");
  const names =
    rule.resourceNames && rule.resourceNames.length > 0
      ? `, resourceNames: [${list(rule.resourceNames)}]`
      : "";
  return `{ ${ns}, apiGroups: [${groups}], resources: [${list(rule.resources)}]${names}, verbs: [${list(rule.verbs)}] }`;
}

// What an audited request asked for, in RBAC's terms, and whether an identity's declared scopes
// cover it — with the RBAC coverage the webhook uses (core/rbac), not a second matcher.
import { builtinClusterRole } from "../rbac/builtin-roles.js";
import { ruleCovers } from "../rbac/coverage.js";
import { CLUSTER_WIDE, describePermission, scopeRulesFor, toPermission } from "../rbac/scoped.js";
import type { Permission, PolicyRule, ScopedRule } from "../rbac/types.js";
import type { AuditEvent } from "./event.js";

export interface RequestPermission {
  /** One verb, one group, one resource (with "/subresource"), at most one name; or one URL. */
  rule: PolicyRule;
  /** Where RBAC checked it: the namespace, or "*" for cluster-scoped and all-namespace requests. */
  namespace: string;
  permission: Permission;
}

/** The permission RBAC checked for the request. */
export function permissionOf(e: AuditEvent): RequestPermission {
  const ref = e.objectRef;
  if (!ref) {
    const url = e.requestURI.split("?")[0] ?? "";
    const rule: PolicyRule = { nonResourceURLs: [url], verbs: [e.verb] };
    return { rule, namespace: CLUSTER_WIDE, permission: toPermission(rule, CLUSTER_WIDE) };
  }
  const resource = ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource;
  const rule: PolicyRule = { apiGroups: [ref.apiGroup], resources: [resource], verbs: [e.verb] };
  // RBAC authorizes a create of a top-level object without its name (the audit event names the
  // created object); everything else with the name in the path.
  const named = ref.name !== undefined && !(e.verb === "create" && !ref.subresource);
  if (named && ref.name !== undefined) rule.resourceNames = [ref.name];
  const namespace = ref.namespace ?? CLUSTER_WIDE;
  return { rule, namespace, permission: toPermission(rule, namespace) };
}

export const describeRequest = (p: RequestPermission): string => describePermission(p.permission);

/**
 * What every authenticated identity may do without any grant of its own (Kubernetes' default
 * bindings to system:authenticated): asking who it is and what it may do, discovery, health.
 * Those requests are never "out of scope".
 */
export const BASELINE_RULES: readonly PolicyRule[] = [
  "system:basic-user",
  "system:discovery",
  "system:public-info-viewer",
].flatMap((name) => builtinClusterRole(name)?.rules ?? []);

/** Do the declared scopes (or the baseline every identity holds) cover the request? */
export function withinScopes(scopes: readonly ScopedRule[], p: RequestPermission): boolean {
  if (BASELINE_RULES.some((o) => ruleCovers(o, p.rule))) return true;
  return scopeRulesFor(scopes, p.namespace).some((o) => ruleCovers(o, p.rule));
}

/** Tools people run by hand. A ServiceAccount's token in one of them is a person holding it. */
export const HUMAN_CLIENTS: readonly string[] = [
  "kubectl",
  "curl",
  "wget",
  "k9s",
  "helm",
  "PostmanRuntime",
  "HTTPie",
  "insomnia",
  "Lens",
  "OpenLens",
  "Headlamp",
  "kubectx",
  "kubens",
  "stern",
];

/**
 * The client's name from its User-Agent: client-go's "<program>/<version> (<os>/<arch>) kubernetes/<commit>"
 * and most tools' "<name>/<version>" both start with it. "" when none was sent.
 */
export function clientOf(userAgent: string | undefined): string {
  if (!userAgent) return "";
  const name = userAgent.split(/[/\s]/)[0] ?? "";
  return name.length > 64 ? name.slice(0, 64) : name;
}

const HUMAN_CLIENTS_LOWER = HUMAN_CLIENTS.map((h) => h.toLowerCase());

export function isHumanClient(client: string): boolean {
  const lower = client.toLowerCase();
  if (lower.startsWith("kubectl")) return true;
  // Judged for every event: the lowercase names are made once.
  return HUMAN_CLIENTS_LOWER.some(
    (h) =>
      lower.length >= h.length &&
      lower.startsWith(h) &&
      (lower.length === h.length || lower.charCodeAt(h.length) === 45),
  );
}

/** The binding the API server named in authorization.k8s.io/reason ("RoleBinding shop/api → Role api"). */
export function grantFromReason(reason: string | undefined): string | undefined {
  const m =
    /^RBAC: allowed by (ClusterRoleBinding|RoleBinding) "([^"]*)" of (ClusterRole|Role) "([^"]*)"/.exec(
      reason ?? "",
    );
  if (!m) return undefined;
  const [, bindingKind, binding = "", roleKind, role] = m;
  // The API server writes a RoleBinding as "<name>/<namespace>".
  const slash = binding.lastIndexOf("/");
  const bindingName =
    bindingKind === "RoleBinding" && slash > 0
      ? `${binding.slice(slash + 1)}/${binding.slice(0, slash)}`
      : binding;
  return `${bindingKind} ${bindingName} → ${roleKind} ${role}`;
}

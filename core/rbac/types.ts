// Plain-data shapes of the RBAC objects the core reasons about. They mirror rbac.authorization.k8s.io/v1
// closely enough that a parsed manifest or an informer object can be passed in unchanged.

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  /** At most one reference per object is its managing controller. */
  controller?: boolean;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface Role {
  apiVersion?: string;
  kind: "Role";
  metadata: ObjectMeta;
  rules?: PolicyRule[];
}

export interface ClusterRole {
  apiVersion?: string;
  kind: "ClusterRole";
  metadata: ObjectMeta;
  rules?: PolicyRule[];
  aggregationRule?: { clusterRoleSelectors?: LabelSelector[] };
}

export interface Subject {
  kind: "ServiceAccount" | "User" | "Group";
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface RoleRef {
  apiGroup?: string;
  kind: "Role" | "ClusterRole";
  name: string;
}

export interface RoleBinding {
  apiVersion?: string;
  kind: "RoleBinding";
  metadata: ObjectMeta;
  subjects?: Subject[];
  roleRef: RoleRef;
}

export interface ClusterRoleBinding {
  apiVersion?: string;
  kind: "ClusterRoleBinding";
  metadata: ObjectMeta;
  subjects?: Subject[];
  roleRef: RoleRef;
}

export type RbacObject = Role | ClusterRole | RoleBinding | ClusterRoleBinding;

/** A ServiceAccount's identity: namespace + name. Key form: "ns/name". */
export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

/**
 * One atomic permission: a single (apiGroup, resource[/subresource], verb, resourceName?) or a
 * single (nonResourceURL, verb). `namespace` is where it applies: a namespace name for grants
 * through a RoleBinding, "*" for cluster-wide grants through a ClusterRoleBinding.
 */
export type Permission =
  | {
      kind: "resource";
      namespace: string;
      apiGroup: string;
      resource: string;
      verb: string;
      resourceName?: string;
    }
  | { kind: "url"; namespace: "*"; url: string; verb: string };

/**
 * An NHI scope: a PolicyRule plus where it applies. `namespaces: ["*"]` is cluster-wide, the only
 * form that covers grants made through a ClusterRoleBinding (and nonResourceURLs).
 */
export interface ScopedRule extends PolicyRule {
  namespaces: string[];
}

/** Reference to a binding object. `namespace` only for RoleBindings. */
export interface BindingRef {
  kind: "RoleBinding" | "ClusterRoleBinding";
  namespace?: string;
  name: string;
}

/** Reference to a role object. `namespace` only for Roles. */
export interface RoleObjectRef {
  kind: "Role" | "ClusterRole";
  namespace?: string;
  name: string;
}

/** Reference to any RBAC object (for removals and look-ups). */
export type RbacObjectRef = BindingRef | RoleObjectRef;

/**
 * How a binding's subjects reach a holder: a ServiceAccount named directly (a ServiceAccount subject,
 * or a User subject "system:serviceaccount:<ns>:<name>"), or a member group (groups.ts) that
 * contains the ServiceAccount or the group judged.
 */
export type GrantVia =
  | "serviceaccount"
  | "group:system:serviceaccounts"
  | `group:system:serviceaccounts:${string}`
  | "group:system:authenticated"
  | "group:system:unauthenticated";

/**
 * What one binding gives one ServiceAccount. `namespace` is where the rules apply: the
 * RoleBinding's namespace (also when it references a ClusterRole), or "*" for a
 * ClusterRoleBinding. `rules` may be shared with the index: treat them as read-only.
 */
export interface Grant {
  namespace: string;
  rules: PolicyRule[];
  binding: BindingRef;
  role: RoleObjectRef;
  via: GrantVia;
}

/** One atomic permission of a grant that no scope covers, with where it came from. */
export interface UncoveredGrant {
  /** Where the permission applies: a namespace, or "*" for cluster-wide. */
  namespace: string;
  /** The atomic rule (see coverage.breakdown). */
  rule: PolicyRule;
  /** The same permission as a tuple, for messages and reports. */
  permission: Permission;
  grant: Grant;
}

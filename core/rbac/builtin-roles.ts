// Kubernetes' default RBAC objects: every ClusterRole, ClusterRoleBinding, Role and RoleBinding the
// API server of the pinned version creates at startup (label kubernetes.io/bootstrapping=rbac-defaults),
// system:controller:* included. The data is generated from a live kube-apiserver
// (builtin-roles.data.ts, `npm run gen:builtin-roles`) and kept equal to one by an e2e test; this
// module only marks and freezes it. A manifest may bind `cluster-admin`, `view` or
// `system:controller:generic-garbage-collector` without defining it: the effective-permission index
// preloads these roles and lets a real object of the same name override one.

import {
  BOOTSTRAP_CLUSTER_ROLE_BINDINGS,
  BOOTSTRAP_CLUSTER_ROLES,
  BOOTSTRAP_KUBERNETES_VERSION,
  BOOTSTRAP_ROLE_BINDINGS,
  BOOTSTRAP_ROLES,
} from "./builtin-roles.data.js";
import type { ClusterRole, ClusterRoleBinding, RbacObject, Role, RoleBinding } from "./types.js";

/** Annotation set on every built-in object we ship, so callers can tell them from real ones. */
export const BUILTIN_ANNOTATION = "nhi.io/builtin";

/** The Kubernetes version whose defaults these are. */
export const BUILTIN_KUBERNETES_VERSION: string = BOOTSTRAP_KUBERNETES_VERSION;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function marked<T extends RbacObject>(objects: T[]): readonly T[] {
  return deepFreeze(
    objects.map((o) => ({
      ...o,
      metadata: {
        ...o.metadata,
        annotations: { ...o.metadata.annotations, [BUILTIN_ANNOTATION]: "true" },
      },
    })),
  );
}

/** The default ClusterRoles, system:controller:* included (frozen: share them, never mutate). */
export const BUILTIN_CLUSTER_ROLES: readonly ClusterRole[] = marked(BOOTSTRAP_CLUSTER_ROLES);

/**
 * The default ClusterRoleBindings. Not preloaded into the index by default: every ServiceAccount
 * holds system:basic-user, system:discovery, system:public-info-viewer and
 * system:service-account-issuer-discovery through them, which is noise for most scope checks.
 */
export const BUILTIN_CLUSTER_ROLE_BINDINGS: readonly ClusterRoleBinding[] = marked(
  BOOTSTRAP_CLUSTER_ROLE_BINDINGS,
);

/** The default Roles in kube-system and kube-public (extension-apiserver-authentication-reader, …). */
export const BUILTIN_ROLES: readonly Role[] = marked(BOOTSTRAP_ROLES);

export const BUILTIN_ROLE_BINDINGS: readonly RoleBinding[] = marked(BOOTSTRAP_ROLE_BINDINGS);

const BUILTIN_CLUSTER_ROLES_BY_NAME: ReadonlyMap<string, ClusterRole> = new Map(
  BUILTIN_CLUSTER_ROLES.map((r) => [r.metadata.name, r]),
);

const BUILTIN_ROLES_BY_PLACE: ReadonlyMap<string, Role> = new Map(
  BUILTIN_ROLES.map((r) => [`${r.metadata.namespace ?? ""}/${r.metadata.name}`, r]),
);

/** The built-in ClusterRole of that name, if Kubernetes ships one. */
export function builtinClusterRole(name: string): ClusterRole | undefined {
  return BUILTIN_CLUSTER_ROLES_BY_NAME.get(name);
}

export function isBuiltinClusterRole(name: string): boolean {
  return BUILTIN_CLUSTER_ROLES_BY_NAME.has(name);
}

/** The built-in Role of that namespace and name, if Kubernetes ships one. */
export function builtinRole(namespace: string, name: string): Role | undefined {
  return BUILTIN_ROLES_BY_PLACE.get(`${namespace}/${name}`);
}

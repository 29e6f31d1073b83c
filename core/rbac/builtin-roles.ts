// Kubernetes' built-in default ClusterRoles and ClusterRoleBindings, as data.
//
// Transcribed from kubernetes v1.35.4 plugin/pkg/auth/authorizer/rbac/bootstrappolicy/testdata/
// cluster-roles.yaml and cluster-role-bindings.yaml (the golden output of policy.go with the
// default feature gates). The API server creates these at startup, so a manifest may bind
// `cluster-admin` or `view` without defining it; the effective-permission index preloads them and
// lets a real object of the same name override one. admin/edit/view carry no rules of their own:
// they are aggregated (edit is itself aggregated into admin, view into edit), exactly as in a cluster.
// system:controller:* roles are deliberately left out: they are bound to controller identities only.

import type { ClusterRole, ClusterRoleBinding, PolicyRule, Subject } from "./types.js";

/** Annotation set on every built-in object we synthesise, so callers can tell them from real ones. */
export const BUILTIN_ANNOTATION = "nhi.io/builtin";
const AGGREGATE_PREFIX = "rbac.authorization.k8s.io/aggregate-to-";
const RBAC_GROUP = "rbac.authorization.k8s.io";

type AggregateName = "admin" | "edit" | "view";

function role(
  name: string,
  opts: { aggregateTo?: AggregateName[]; aggregates?: AggregateName[] },
  rules: PolicyRule[],
): ClusterRole {
  const labels: Record<string, string> = { "kubernetes.io/bootstrapping": "rbac-defaults" };
  for (const a of opts.aggregateTo ?? []) labels[AGGREGATE_PREFIX + a] = "true";
  const cr: ClusterRole = {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: "ClusterRole",
    metadata: {
      name,
      labels,
      annotations: { "rbac.authorization.kubernetes.io/autoupdate": "true", [BUILTIN_ANNOTATION]: "true" },
    },
    rules,
  };
  if (opts.aggregates) {
    cr.aggregationRule = {
      clusterRoleSelectors: opts.aggregates.map((a) => ({ matchLabels: { [AGGREGATE_PREFIX + a]: "true" } })),
    };
  }
  return cr;
}

function binding(name: string, roleName: string, subjects: Subject[]): ClusterRoleBinding {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: "ClusterRoleBinding",
    metadata: {
      name,
      labels: { "kubernetes.io/bootstrapping": "rbac-defaults" },
      annotations: { "rbac.authorization.kubernetes.io/autoupdate": "true", [BUILTIN_ANNOTATION]: "true" },
    },
    roleRef: { apiGroup: RBAC_GROUP, kind: "ClusterRole", name: roleName },
    subjects,
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The default ClusterRoles of Kubernetes v1.35 (frozen: share them, never mutate). */
export const BUILTIN_CLUSTER_ROLES: readonly ClusterRole[] = deepFreeze([
  role("admin", { aggregates: ["admin"] }, []),
  role("cluster-admin", {}, [
    { apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
    { nonResourceURLs: ["*"], verbs: ["*"] },
  ]),
  role("edit", { aggregateTo: ["admin"], aggregates: ["edit"] }, []),
  role("system:aggregate-to-admin", { aggregateTo: ["admin"] }, [
    { apiGroups: ["authorization.k8s.io"], resources: ["localsubjectaccessreviews"], verbs: ["create"] },
    { apiGroups: ["rbac.authorization.k8s.io"], resources: ["rolebindings", "roles"], verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"] },
  ]),
  role("system:aggregate-to-edit", { aggregateTo: ["edit"] }, [
    { apiGroups: [""], resources: ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["impersonate"] },
    { apiGroups: [""], resources: ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"], verbs: ["create", "delete", "deletecollection", "patch", "update"] },
    { apiGroups: [""], resources: ["pods/eviction"], verbs: ["create"] },
    { apiGroups: [""], resources: ["configmaps", "persistentvolumeclaims", "replicationcontrollers", "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"], verbs: ["create", "delete", "deletecollection", "patch", "update"] },
    { apiGroups: [""], resources: ["serviceaccounts/token"], verbs: ["create"] },
    { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "delete", "deletecollection", "patch", "update"] },
    { apiGroups: ["apps"], resources: ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets", "replicasets/scale", "statefulsets", "statefulsets/scale"], verbs: ["create", "delete", "deletecollection", "patch", "update"] },
    { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers"], verbs: ["create", "delete", "deletecollection", "patch", "update"] },
    { apiGroups: ["batch"], resources: ["cronjobs", "jobs"], verbs: ["create", "delete", "deletecollection", "patch", "update"] },
    { apiGroups: ["extensions"], resources: ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "ingresses", "networkpolicies", "replicasets", "replicasets/scale", "replicationcontrollers/scale"], verbs: ["create", "delete", "deletecollection", "patch", "update"] },
    { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: ["create", "delete", "deletecollection", "patch", "update"] },
    { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "networkpolicies"], verbs: ["create", "delete", "deletecollection", "patch", "update"] },
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"] },
    { apiGroups: ["resource.k8s.io"], resources: ["resourceclaims", "resourceclaimtemplates"], verbs: ["create", "delete", "deletecollection", "patch", "update"] },
  ]),
  role("system:aggregate-to-view", { aggregateTo: ["view"] }, [
    { apiGroups: [""], resources: ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services", "services/status"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["bindings", "limitranges", "namespaces/status", "pods/log", "pods/status", "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["apps"], resources: ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status", "replicasets", "replicasets/scale", "replicasets/status", "statefulsets", "statefulsets/scale", "statefulsets/status"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers", "horizontalpodautoscalers/status"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["batch"], resources: ["cronjobs", "cronjobs/status", "jobs", "jobs/status"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["extensions"], resources: ["daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status", "ingresses", "ingresses/status", "networkpolicies", "replicasets", "replicasets/scale", "replicasets/status", "replicationcontrollers/scale"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["policy"], resources: ["poddisruptionbudgets", "poddisruptionbudgets/status"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "ingresses/status", "networkpolicies"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["resource.k8s.io"], resources: ["resourceclaims", "resourceclaims/status", "resourceclaimtemplates"], verbs: ["get", "list", "watch"] },
  ]),
  role("system:auth-delegator", {}, [
    { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
    { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
  ]),
  role("system:basic-user", {}, [
    { apiGroups: ["authorization.k8s.io"], resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], verbs: ["create"] },
    { apiGroups: ["authentication.k8s.io"], resources: ["selfsubjectreviews"], verbs: ["create"] },
  ]),
  role("system:certificates.k8s.io:certificatesigningrequests:nodeclient", {}, [
    { apiGroups: ["certificates.k8s.io"], resources: ["certificatesigningrequests/nodeclient"], verbs: ["create"] },
  ]),
  role("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", {}, [
    { apiGroups: ["certificates.k8s.io"], resources: ["certificatesigningrequests/selfnodeclient"], verbs: ["create"] },
  ]),
  role("system:certificates.k8s.io:kube-apiserver-client-approver", {}, [
    { apiGroups: ["certificates.k8s.io"], resources: ["signers"], resourceNames: ["kubernetes.io/kube-apiserver-client"], verbs: ["approve"] },
  ]),
  role("system:certificates.k8s.io:kube-apiserver-client-kubelet-approver", {}, [
    { apiGroups: ["certificates.k8s.io"], resources: ["signers"], resourceNames: ["kubernetes.io/kube-apiserver-client-kubelet"], verbs: ["approve"] },
  ]),
  role("system:certificates.k8s.io:kubelet-serving-approver", {}, [
    { apiGroups: ["certificates.k8s.io"], resources: ["signers"], resourceNames: ["kubernetes.io/kubelet-serving"], verbs: ["approve"] },
  ]),
  role("system:certificates.k8s.io:legacy-unknown-approver", {}, [
    { apiGroups: ["certificates.k8s.io"], resources: ["signers"], resourceNames: ["kubernetes.io/legacy-unknown"], verbs: ["approve"] },
  ]),
  role("system:discovery", {}, [
    { nonResourceURLs: ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"], verbs: ["get"] },
  ]),
  role("system:heapster", {}, [
    { apiGroups: [""], resources: ["events", "namespaces", "nodes", "pods"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["extensions"], resources: ["deployments"], verbs: ["get", "list", "watch"] },
  ]),
  role("system:kube-aggregator", {}, [
    { apiGroups: [""], resources: ["endpoints", "services"], verbs: ["get", "list", "watch"] },
  ]),
  role("system:kube-controller-manager", {}, [
    { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch", "update"] },
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: ["kube-controller-manager"], verbs: ["get", "update"] },
    { apiGroups: [""], resources: ["secrets", "serviceaccounts"], verbs: ["create"] },
    { apiGroups: [""], resources: ["secrets"], verbs: ["delete"] },
    { apiGroups: [""], resources: ["configmaps", "namespaces", "secrets", "serviceaccounts"], verbs: ["get"] },
    { apiGroups: [""], resources: ["secrets", "serviceaccounts"], verbs: ["update"] },
    { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
    { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
    { apiGroups: ["*"], resources: ["*"], verbs: ["list", "watch"] },
    { apiGroups: [""], resources: ["serviceaccounts/token"], verbs: ["create"] },
  ]),
  role("system:kube-dns", {}, [
    { apiGroups: [""], resources: ["endpoints", "services"], verbs: ["list", "watch"] },
  ]),
  role("system:kube-scheduler", {}, [
    { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch", "update"] },
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: ["kube-scheduler"], verbs: ["get", "list", "update", "watch"] },
    { apiGroups: ["coordination.k8s.io"], resources: ["leasecandidates"], verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"] },
    { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["pods"], verbs: ["delete", "get", "list", "watch"] },
    { apiGroups: [""], resources: ["bindings", "pods/binding"], verbs: ["create"] },
    { apiGroups: [""], resources: ["pods/status"], verbs: ["patch", "update"] },
    { apiGroups: [""], resources: ["replicationcontrollers", "services"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["apps", "extensions"], resources: ["replicasets"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["apps"], resources: ["statefulsets"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["persistentvolumeclaims", "persistentvolumes"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
    { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
    { apiGroups: ["storage.k8s.io"], resources: ["csinodes"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["storage.k8s.io"], resources: ["volumeattachments"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["storage.k8s.io"], resources: ["csidrivers"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["storage.k8s.io"], resources: ["csistoragecapacities"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["resource.k8s.io"], resources: ["deviceclasses"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["resource.k8s.io"], resources: ["resourceclaims"], verbs: ["get", "list", "patch", "update", "watch"] },
    { apiGroups: ["resource.k8s.io"], resources: ["resourceclaims/status"], verbs: ["get", "list", "patch", "update", "watch"] },
    { apiGroups: [""], resources: ["pods/finalizers"], verbs: ["update"] },
    { apiGroups: ["resource.k8s.io"], resources: ["resourceslices"], verbs: ["get", "list", "watch"] },
  ]),
  role("system:kubelet-api-admin", {}, [
    { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["nodes"], verbs: ["proxy"] },
    { apiGroups: [""], resources: ["nodes/log", "nodes/metrics", "nodes/proxy", "nodes/stats"], verbs: ["*"] },
    { apiGroups: [""], resources: ["nodes/configz", "nodes/healthz", "nodes/pods"], verbs: ["*"] },
  ]),
  role("system:monitoring", {}, [
    { nonResourceURLs: ["/healthz", "/healthz/*", "/livez", "/livez/*", "/metrics", "/metrics/slis", "/readyz", "/readyz/*"], verbs: ["get"] },
    { apiGroups: [""], resources: ["nodes/metrics"], verbs: ["get"] },
  ]),
  role("system:node", {}, [
    { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
    { apiGroups: ["authorization.k8s.io"], resources: ["localsubjectaccessreviews", "subjectaccessreviews"], verbs: ["create"] },
    { apiGroups: [""], resources: ["services"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["nodes"], verbs: ["create", "get", "list", "watch"] },
    { apiGroups: [""], resources: ["nodes/status"], verbs: ["patch", "update"] },
    { apiGroups: [""], resources: ["nodes"], verbs: ["patch", "update"] },
    { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch", "update"] },
    { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["pods"], verbs: ["create", "delete"] },
    { apiGroups: [""], resources: ["pods/status"], verbs: ["patch", "update"] },
    { apiGroups: [""], resources: ["pods/eviction"], verbs: ["create"] },
    { apiGroups: [""], resources: ["configmaps", "secrets"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["persistentvolumeclaims", "persistentvolumes"], verbs: ["get"] },
    { apiGroups: [""], resources: ["endpoints"], verbs: ["get"] },
    { apiGroups: ["certificates.k8s.io"], resources: ["certificatesigningrequests"], verbs: ["create", "get", "list", "watch"] },
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create", "delete", "get", "patch", "update"] },
    { apiGroups: ["storage.k8s.io"], resources: ["volumeattachments"], verbs: ["get"] },
    { apiGroups: [""], resources: ["serviceaccounts/token"], verbs: ["create"] },
    { apiGroups: [""], resources: ["persistentvolumeclaims/status"], verbs: ["get", "patch", "update"] },
    { apiGroups: ["storage.k8s.io"], resources: ["csidrivers"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["storage.k8s.io"], resources: ["csinodes"], verbs: ["create", "delete", "get", "patch", "update"] },
    { apiGroups: ["node.k8s.io"], resources: ["runtimeclasses"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["resource.k8s.io"], resources: ["resourceclaims"], verbs: ["get"] },
    { apiGroups: ["resource.k8s.io"], resources: ["resourceslices"], verbs: ["deletecollection"] },
    { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get"] },
  ]),
  role("system:node-bootstrapper", {}, [
    { apiGroups: ["certificates.k8s.io"], resources: ["certificatesigningrequests"], verbs: ["create", "get", "list", "watch"] },
  ]),
  role("system:node-problem-detector", {}, [
    { apiGroups: [""], resources: ["nodes"], verbs: ["get"] },
    { apiGroups: [""], resources: ["nodes/status"], verbs: ["patch"] },
    { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch", "update"] },
  ]),
  role("system:node-proxier", {}, [
    { apiGroups: [""], resources: ["endpoints", "services"], verbs: ["list", "watch"] },
    { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch", "update"] },
    { apiGroups: ["networking.k8s.io"], resources: ["servicecidrs"], verbs: ["list", "watch"] },
    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
  ]),
  role("system:persistent-volume-provisioner", {}, [
    { apiGroups: [""], resources: ["persistentvolumes"], verbs: ["create", "delete", "get", "list", "watch"] },
    { apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["get", "list", "update", "watch"] },
    { apiGroups: ["storage.k8s.io"], resources: ["storageclasses"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["events"], verbs: ["watch"] },
    { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch", "update"] },
  ]),
  role("system:public-info-viewer", {}, [
    { nonResourceURLs: ["/healthz", "/livez", "/readyz", "/version", "/version/"], verbs: ["get"] },
  ]),
  role("system:service-account-issuer-discovery", {}, [
    { nonResourceURLs: ["/.well-known/openid-configuration", "/.well-known/openid-configuration/", "/openid/v1/jwks", "/openid/v1/jwks/"], verbs: ["get"] },
  ]),
  role("system:volume-scheduler", {}, [
    { apiGroups: [""], resources: ["persistentvolumes"], verbs: ["get", "list", "patch", "update", "watch"] },
    { apiGroups: ["storage.k8s.io"], resources: ["storageclasses"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["get", "list", "patch", "update", "watch"] },
  ]),
  role("view", { aggregateTo: ["edit"], aggregates: ["view"] }, []),
]);

/**
 * The default ClusterRoleBindings of Kubernetes v1.35. Not preloaded into the index by default:
 * every ServiceAccount holds system:basic-user, system:discovery, system:public-info-viewer and
 * system:service-account-issuer-discovery through them, which is noise for most scope checks.
 */
export const BUILTIN_CLUSTER_ROLE_BINDINGS: readonly ClusterRoleBinding[] = deepFreeze([
  binding("cluster-admin", "cluster-admin", [{ kind: "Group", name: "system:masters", apiGroup: "rbac.authorization.k8s.io" }]),
  binding("system:basic-user", "system:basic-user", [{ kind: "Group", name: "system:authenticated", apiGroup: "rbac.authorization.k8s.io" }]),
  binding("system:discovery", "system:discovery", [{ kind: "Group", name: "system:authenticated", apiGroup: "rbac.authorization.k8s.io" }]),
  binding("system:kube-controller-manager", "system:kube-controller-manager", [{ kind: "User", name: "system:kube-controller-manager", apiGroup: "rbac.authorization.k8s.io" }]),
  binding("system:kube-dns", "system:kube-dns", [{ kind: "ServiceAccount", name: "kube-dns", namespace: "kube-system" }]),
  binding("system:kube-scheduler", "system:kube-scheduler", [{ kind: "User", name: "system:kube-scheduler", apiGroup: "rbac.authorization.k8s.io" }]),
  binding("system:monitoring", "system:monitoring", [{ kind: "Group", name: "system:monitoring", apiGroup: "rbac.authorization.k8s.io" }]),
  binding("system:node", "system:node", []),
  binding("system:node-proxier", "system:node-proxier", [{ kind: "User", name: "system:kube-proxy", apiGroup: "rbac.authorization.k8s.io" }]),
  binding("system:public-info-viewer", "system:public-info-viewer", [{ kind: "Group", name: "system:authenticated", apiGroup: "rbac.authorization.k8s.io" }, { kind: "Group", name: "system:unauthenticated", apiGroup: "rbac.authorization.k8s.io" }]),
  binding("system:service-account-issuer-discovery", "system:service-account-issuer-discovery", [{ kind: "Group", name: "system:serviceaccounts", apiGroup: "rbac.authorization.k8s.io" }]),
  binding("system:volume-scheduler", "system:volume-scheduler", [{ kind: "User", name: "system:kube-scheduler", apiGroup: "rbac.authorization.k8s.io" }]),
]);

const BUILTIN_ROLES_BY_NAME: ReadonlyMap<string, ClusterRole> = new Map(
  BUILTIN_CLUSTER_ROLES.map((r) => [r.metadata.name, r]),
);

/** The built-in ClusterRole of that name, if Kubernetes ships one. */
export function builtinClusterRole(name: string): ClusterRole | undefined {
  return BUILTIN_ROLES_BY_NAME.get(name);
}

export function isBuiltinClusterRole(name: string): boolean {
  return BUILTIN_ROLES_BY_NAME.has(name);
}

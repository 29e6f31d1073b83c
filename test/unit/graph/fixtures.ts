// Small builders for identity-graph tests: objects as manifests would hold them, into a ClusterSnapshot.
import { emptySnapshot, type ClusterSnapshot } from "../../../core/snapshot.js";
import type { PolicyRule, RbacObject, Subject } from "../../../core/rbac/types.js";

// One PolicyRule builder for every unit test.
export { rule } from "../rbac/fixtures.js";

type Obj = {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
} & Record<string, unknown>;

export function snapshotOf(objects: readonly Obj[]): ClusterSnapshot {
  const s = emptySnapshot();
  for (const o of objects) {
    if (["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"].includes(o.kind))
      s.rbac.push(o as unknown as RbacObject);
    else if (o.kind === "ServiceAccount") s.serviceAccounts.push(o as never);
    else if (o.kind === "Secret") s.secrets.push(o as never);
    else if (o.kind === "NonHumanIdentity") s.nhis.push(o as never);
    else if (o.kind === "Namespace") s.namespaces.push(o as never);
    else s.workloads.push(o as never);
  }
  return s;
}

export const sa = (ns: string, name: string, extra: Record<string, unknown> = {}): Obj => ({
  kind: "ServiceAccount",
  metadata: { namespace: ns, name },
  ...extra,
});

export const role = (ns: string, name: string, rules: PolicyRule[]): Obj => ({
  kind: "Role",
  metadata: { namespace: ns, name },
  rules,
});
export const clusterRole = (name: string, rules: PolicyRule[]): Obj => ({
  kind: "ClusterRole",
  metadata: { name },
  rules,
});

const subjectOf = (s: string): Subject => {
  if (s.startsWith("system:serviceaccounts") || s.startsWith("system:authenticated"))
    return { kind: "Group", name: s, apiGroup: "rbac.authorization.k8s.io" };
  const [namespace, name] = s.split("/") as [string, string];
  return { kind: "ServiceAccount", namespace, name };
};

/** A RoleBinding of Role (or ClusterRole with "ClusterRole/"-prefixed name) to "ns/sa" or group subjects. */
export const roleBinding = (
  ns: string,
  name: string,
  roleName: string,
  ...subjects: string[]
): Obj => ({
  kind: "RoleBinding",
  metadata: { namespace: ns, name },
  roleRef: roleName.startsWith("ClusterRole/")
    ? {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: roleName.slice("ClusterRole/".length),
      }
    : { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: roleName },
  subjects: subjects.map(subjectOf),
});

export const clusterRoleBinding = (name: string, roleName: string, ...subjects: string[]): Obj => ({
  kind: "ClusterRoleBinding",
  metadata: { name },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: roleName },
  subjects: subjects.map(subjectOf),
});

/** A pod spec running one container as `serviceAccountName`, with `extra` fields over it. */
const podSpecOf = (serviceAccountName: string, extra: Record<string, unknown>) => ({
  serviceAccountName,
  containers: [{ name: "app", image: "app:1" }],
  ...extra,
});

export const deployment = (
  ns: string,
  name: string,
  serviceAccountName: string,
  podSpec: Record<string, unknown> = {},
): Obj => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { namespace: ns, name },
  spec: {
    template: {
      metadata: { labels: { app: name } },
      spec: podSpecOf(serviceAccountName, podSpec),
    },
  },
});

export const pod = (
  ns: string,
  name: string,
  serviceAccountName: string,
  podSpec: Record<string, unknown> = {},
): Obj => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { namespace: ns, name },
  spec: podSpecOf(serviceAccountName, podSpec),
});

export const tokenSecret = (ns: string, name: string, account: string): Obj => ({
  kind: "Secret",
  metadata: { namespace: ns, name, annotations: { "kubernetes.io/service-account.name": account } },
  type: "kubernetes.io/service-account-token",
});

// Kubernetes' default RBAC objects as a live API server creates them: listing, normalising (the
// metadata noise stripped) and rendering them as core/rbac/builtin-roles.data.ts. Shared by the
// generator (e2e/scripts/gen-builtin-roles.ts) and the e2e test that compares the table with a live
// API server (e2e/suites/builtin-roles.e2e.ts), so both see the objects the same way.
import type {
  ClusterRole,
  ClusterRoleBinding,
  ObjectMeta,
  PolicyRule,
  RbacObject,
  Role,
  RoleBinding,
} from "../../core/rbac/types.js";
import type { KubeClient } from "./kube.js";

/** The label kube-apiserver's RBAC bootstrap (bootstrappolicy) puts on every object it creates. */
export const BOOTSTRAP_SELECTOR = "kubernetes.io/bootstrapping=rbac-defaults";

const RBAC_V1 = "rbac.authorization.k8s.io/v1";

interface Listed<T> {
  items?: T[];
}

function sortedRecord(r: Record<string, string> | undefined): Record<string, string> | undefined {
  if (r === undefined || Object.keys(r).length === 0) return undefined;
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));
}

/** A rule with its fields in one order and nothing empty; values keep the server's order (exact comparison). */
export function normalizeRule(r: PolicyRule): PolicyRule {
  const out: Omit<PolicyRule, "verbs"> = {};
  if (r.apiGroups !== undefined) out.apiGroups = [...r.apiGroups];
  if (r.resources !== undefined && r.resources.length > 0) out.resources = [...r.resources];
  if (r.resourceNames !== undefined && r.resourceNames.length > 0)
    out.resourceNames = [...r.resourceNames];
  if (r.nonResourceURLs !== undefined && r.nonResourceURLs.length > 0)
    out.nonResourceURLs = [...r.nonResourceURLs];
  return { ...out, verbs: [...r.verbs] };
}

function metadataOf(m: ObjectMeta): ObjectMeta {
  const labels = sortedRecord(m.labels);
  const annotations = sortedRecord(m.annotations);
  return {
    name: m.name,
    ...(m.namespace !== undefined && m.namespace !== "" ? { namespace: m.namespace } : {}),
    ...(labels ? { labels } : {}),
    ...(annotations ? { annotations } : {}),
  };
}

/**
 * A role as data: name (namespace), labels, annotations, aggregationRule and rules. An aggregating
 * ClusterRole's rules are written by the clusterrole-aggregation controller, not by the bootstrap,
 * so they are left empty (the effective-permission index resolves aggregation itself).
 */
export function normalizeRole<R extends Role | ClusterRole>(role: R): R {
  const out = { apiVersion: RBAC_V1, kind: role.kind, metadata: metadataOf(role.metadata) } as R;
  if (role.kind === "ClusterRole" && role.aggregationRule) {
    (out as ClusterRole).aggregationRule = {
      clusterRoleSelectors: (role.aggregationRule.clusterRoleSelectors ?? []).map((s) => ({
        ...s,
      })),
    };
    out.rules = [];
  } else {
    out.rules = (role.rules ?? []).map(normalizeRule);
  }
  return out;
}

export function normalizeBinding<B extends RoleBinding | ClusterRoleBinding>(b: B): B {
  return {
    apiVersion: RBAC_V1,
    kind: b.kind,
    metadata: metadataOf(b.metadata),
    roleRef: {
      apiGroup: b.roleRef.apiGroup ?? "rbac.authorization.k8s.io",
      kind: b.roleRef.kind,
      name: b.roleRef.name,
    },
    subjects: (b.subjects ?? []).map((s) => ({
      kind: s.kind,
      name: s.name,
      ...(s.namespace !== undefined && s.namespace !== "" ? { namespace: s.namespace } : {}),
      ...(s.apiGroup !== undefined && s.apiGroup !== "" ? { apiGroup: s.apiGroup } : {}),
    })),
  } as B;
}

/** Every object the RBAC bootstrap creates: cluster-wide ones, and Roles/RoleBindings in kube-system and kube-public. */
export interface BootstrapRbac {
  clusterRoles: ClusterRole[];
  clusterRoleBindings: ClusterRoleBinding[];
  roles: Role[];
  roleBindings: RoleBinding[];
}

const byPlace = (a: { metadata: ObjectMeta }, b: { metadata: ObjectMeta }): number =>
  (a.metadata.namespace ?? "").localeCompare(b.metadata.namespace ?? "") ||
  a.metadata.name.localeCompare(b.metadata.name);

/** The bootstrapping-labelled RBAC objects of a live cluster, as given (sorted by namespace and name). */
export async function listBootstrapRbac(kube: KubeClient): Promise<BootstrapRbac> {
  const list = async <T extends RbacObject>(resource: string, kind: T["kind"]): Promise<T[]> => {
    const got = await kube.must<Listed<T>>(
      "GET",
      `/apis/rbac.authorization.k8s.io/v1/${resource}?labelSelector=${encodeURIComponent(BOOTSTRAP_SELECTOR)}`,
    );
    return (got.items ?? []).map((o) => ({ ...o, kind })).sort(byPlace);
  };
  return {
    clusterRoles: await list<ClusterRole>("clusterroles", "ClusterRole"),
    clusterRoleBindings: await list<ClusterRoleBinding>(
      "clusterrolebindings",
      "ClusterRoleBinding",
    ),
    roles: await list<Role>("roles", "Role"),
    roleBindings: await list<RoleBinding>("rolebindings", "RoleBinding"),
  };
}

const json = (v: unknown): string => JSON.stringify(v);

function renderRole(role: Role | ClusterRole): string[] {
  const r = normalizeRole(role);
  const lines = [
    `  {`,
    `    apiVersion: ${json(r.apiVersion)},`,
    `    kind: ${json(r.kind)},`,
    `    metadata: ${json(r.metadata)},`,
  ];
  if (r.kind === "ClusterRole" && r.aggregationRule)
    lines.push(`    aggregationRule: ${json(r.aggregationRule)},`);
  const rules = r.rules ?? [];
  if (rules.length === 0) lines.push(`    rules: [],`);
  else lines.push(`    rules: [`, ...rules.map((x) => `      ${json(x)},`), `    ],`);
  lines.push(`  },`);
  return lines;
}

function renderBinding(binding: RoleBinding | ClusterRoleBinding): string[] {
  const b = normalizeBinding(binding);
  const lines = [
    `  {`,
    `    apiVersion: ${json(b.apiVersion)},`,
    `    kind: ${json(b.kind)},`,
    `    metadata: ${json(b.metadata)},`,
    `    roleRef: ${json(b.roleRef)},`,
  ];
  const subjects = b.subjects ?? [];
  if (subjects.length === 0) lines.push(`    subjects: [],`);
  else lines.push(`    subjects: [`, ...subjects.map((s) => `      ${json(s)},`), `    ],`);
  lines.push(`  },`);
  return lines;
}

/** core/rbac/builtin-roles.data.ts: one object per block, one rule or subject per line (reviewable diffs). */
export function renderDataModule(rbac: BootstrapRbac, kubeVersion: string): string {
  return [
    `// GENERATED by \`npm run gen:builtin-roles\` (e2e/scripts/gen-builtin-roles.ts): do not edit, regenerate.`,
    `//`,
    `// Every RBAC object labelled ${BOOTSTRAP_SELECTOR} that kube-apiserver ${kubeVersion} creates`,
    `// at startup (its RBAC bootstrap, default feature gates), read from a live API server and stripped of`,
    `// server-set metadata. Aggregating ClusterRoles (admin, edit, view) carry no rules here: the`,
    `// clusterrole-aggregation controller fills them in a cluster, and the effective-permission index`,
    `// resolves aggregation itself. e2e/suites/builtin-roles.e2e.ts keeps this file equal to a live API server.`,
    `import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from "./types.js";`,
    ``,
    `/** The Kubernetes version these objects were read from (e2e/versions.env KUBE_VERSION). */`,
    `export const BOOTSTRAP_KUBERNETES_VERSION = ${json(kubeVersion)};`,
    ``,
    `export const BOOTSTRAP_CLUSTER_ROLES: ClusterRole[] = [`,
    ...rbac.clusterRoles.flatMap(renderRole),
    `];`,
    ``,
    `export const BOOTSTRAP_CLUSTER_ROLE_BINDINGS: ClusterRoleBinding[] = [`,
    ...rbac.clusterRoleBindings.flatMap(renderBinding),
    `];`,
    ``,
    `/** Roles the bootstrap creates in kube-system and kube-public. */`,
    `export const BOOTSTRAP_ROLES: Role[] = [`,
    ...rbac.roles.flatMap(renderRole),
    `];`,
    ``,
    `export const BOOTSTRAP_ROLE_BINDINGS: RoleBinding[] = [`,
    ...rbac.roleBindings.flatMap(renderBinding),
    `];`,
    ``,
  ].join("\n");
}

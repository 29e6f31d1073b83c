// What the CLI knows about Kubernetes kinds: which API groups it understands (a misspelt kind there is
// bad input, exit 2), which kinds are cluster-scoped (no namespace defaulting), and the minimal shape
// of the objects handed to the core (so a malformed RoleBinding is an error naming its line, not a
// crash inside the core).
import { InputError, type LoadedObject } from "./load.js";
import { isRecord, quoteHint, show, typeName } from "../core/json.js";

/** Kinds per group/version the checks read or that commonly appear next to them. Other groups (CRDs) pass through unchecked. */
const KNOWN: Record<string, readonly string[]> = {
  v1: [
    "Binding",
    "ConfigMap",
    "Endpoints",
    "Event",
    "LimitRange",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Pod",
    "PodTemplate",
    "ReplicationController",
    "ResourceQuota",
    "Secret",
    "Service",
    "ServiceAccount",
  ],
  "rbac.authorization.k8s.io/v1": ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"],
  "apps/v1": ["ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"],
  "batch/v1": ["CronJob", "Job"],
  "nhi.io/v1alpha1": ["NHIPolicy", "NonHumanIdentity"],
};
const GROUPS = new Map<string, string[]>();
for (const gv of Object.keys(KNOWN)) {
  const group = gv.includes("/") ? gv.slice(0, gv.indexOf("/")) : "";
  GROUPS.set(group, [...(GROUPS.get(group) ?? []), gv]);
}

/** Cluster-scoped kinds of the groups above and common others; everything else is namespaced. */
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "Node",
  "PersistentVolume",
  "ClusterRole",
  "ClusterRoleBinding",
  "NHIPolicy",
  "CustomResourceDefinition",
  "StorageClass",
  "PriorityClass",
  "IngressClass",
  "RuntimeClass",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "APIService",
  "CertificateSigningRequest",
  "ClusterIssuer",
  "PodSecurityPolicy",
  "VolumeAttachment",
  "CSIDriver",
  "CSINode",
]);

export const isClusterScoped = (kind: string): boolean => CLUSTER_SCOPED.has(kind);

const isStringArray = (x: unknown): x is string[] =>
  Array.isArray(x) && x.every((s) => typeof s === "string");

function fail(o: LoadedObject, path: string, message: string): never {
  throw new InputError(o.location.file, path === "" ? o.location.line : o.lineOf(path), message);
}

/** Fails unless `v` is a string: the message names the field, what it holds instead, and the fix. */
function requireString(o: LoadedObject, path: string, v: unknown, what: string): void {
  if (typeof v === "string") return;
  if (v === undefined || v === null) fail(o, path, `${path} is required: ${what}`);
  const type = typeName(v);
  const article = /^[aeiou]/.test(type) ? "an" : "a";
  fail(o, path, `${path} must be ${what}, but it is ${article} ${type}, ${show(v)}${quoteHint(v)}`);
}

function checkRules(o: LoadedObject, field: string, rules: unknown): void {
  if (rules === undefined || rules === null) return;
  if (!Array.isArray(rules)) fail(o, field, `${field} must be a list of PolicyRules`);
  rules.forEach((r: unknown, i) => {
    const at = `${field}[${i}]`;
    if (!isRecord(r)) fail(o, at, `${at} must be a PolicyRule (verbs, apiGroups, resources, …)`);
    if (!isStringArray(r.verbs) || r.verbs.length === 0)
      fail(o, `${at}.verbs`, `${at}.verbs is required: a non-empty list of strings`);
    for (const k of ["apiGroups", "resources", "resourceNames", "nonResourceURLs"]) {
      if (r[k] !== undefined && r[k] !== null && !isStringArray(r[k]))
        fail(o, `${at}.${k}`, `${at}.${k} must be a list of strings`);
    }
  });
}

/**
 * Checks apiVersion/kind/metadata, and the shape of the kinds the core reads. Throws InputError
 * (with file and line) for anything the API server would reject outright.
 */
export function checkShape(o: LoadedObject): void {
  const { obj } = o;
  if (typeof obj.apiVersion !== "string" || obj.apiVersion === "")
    fail(o, "", "object has no apiVersion");
  if (typeof obj.kind !== "string" || obj.kind === "") fail(o, "", "object has no kind");
  const apiVersion = obj.apiVersion;
  const kind = obj.kind;
  const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
  const versions = GROUPS.get(group);
  if (versions) {
    const kinds = KNOWN[apiVersion];
    if (!kinds)
      fail(
        o,
        "apiVersion",
        `unknown apiVersion ${apiVersion} for kind ${kind}; this API serves ${versions.join(", ")}`,
      );
    if (!kinds.includes(kind))
      fail(o, "kind", `unknown kind ${kind} in ${apiVersion} (known: ${kinds.join(", ")})`);
  }
  const meta = obj.metadata;
  if (!isRecord(meta)) fail(o, "", `${kind} has no metadata`);
  if (meta.name === undefined || meta.name === null || meta.name === "") {
    if (typeof meta.generateName === "string") return; // created by name generation: nothing to join on, nothing to judge
    fail(o, "metadata", `${kind} has no metadata.name`);
  }
  requireString(o, "metadata.name", meta.name, "the object's name");
  if (meta.namespace !== undefined && meta.namespace !== null)
    requireString(o, "metadata.namespace", meta.namespace, "a namespace name");
  for (const k of ["labels", "annotations"]) {
    const m = meta[k];
    if (m === undefined || m === null) continue;
    if (!isRecord(m)) fail(o, `metadata.${k}`, `metadata.${k} must map strings to strings`);
    for (const [key, v] of Object.entries(m))
      requireString(o, `metadata.${k}.${key}`, v, "a string value");
  }
  switch (kind) {
    case "Role":
    case "ClusterRole":
      if (group !== "rbac.authorization.k8s.io") return;
      checkRules(o, "rules", obj.rules);
      if (
        kind === "ClusterRole" &&
        obj.aggregationRule !== undefined &&
        obj.aggregationRule !== null
      ) {
        const ar = obj.aggregationRule;
        if (
          !isRecord(ar) ||
          (ar.clusterRoleSelectors !== undefined && !Array.isArray(ar.clusterRoleSelectors))
        ) {
          fail(
            o,
            "aggregationRule",
            "aggregationRule.clusterRoleSelectors must be a list of label selectors",
          );
        }
      }
      return;
    case "RoleBinding":
    case "ClusterRoleBinding": {
      if (group !== "rbac.authorization.k8s.io") return;
      const ref = obj.roleRef;
      if (
        !isRecord(ref) ||
        typeof ref.name !== "string" ||
        (ref.kind !== "Role" && ref.kind !== "ClusterRole")
      ) {
        fail(
          o,
          "roleRef",
          "roleRef is required: { apiGroup: rbac.authorization.k8s.io, kind: Role | ClusterRole, name }",
        );
      }
      if (kind === "ClusterRoleBinding" && ref.kind === "Role")
        fail(o, "roleRef.kind", "a ClusterRoleBinding can only reference a ClusterRole");
      const subjects = obj.subjects;
      if (subjects !== undefined && subjects !== null) {
        if (!Array.isArray(subjects)) fail(o, "subjects", "subjects must be a list");
        subjects.forEach((s: unknown, i) => {
          if (!isRecord(s) || !["ServiceAccount", "User", "Group"].includes(String(s.kind))) {
            fail(
              o,
              `subjects[${i}]`,
              `subjects[${i}] must be { kind: ServiceAccount | User | Group, name, namespace? }`,
            );
          }
          requireString(o, `subjects[${i}].name`, s.name, `the ${String(s.kind)}'s name`);
          if (s.namespace !== undefined && s.namespace !== null)
            requireString(o, `subjects[${i}].namespace`, s.namespace, "a namespace name");
        });
      }
      return;
    }
    default:
      return;
  }
}

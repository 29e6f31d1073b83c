// The escalation catalogue: every known way a ServiceAccount's RBAC permission turns into more power.
// Entries are data; `catalogueHits` (below) says which of them an identity's grants reach.
import type { PolicyRule } from "../rbac/types.js";

/** OWASP Non-Human Identities Top 10 (2025). */
export const OWASP_NHI = {
  NHI1: "NHI1:2025 Improper Offboarding",
  NHI2: "NHI2:2025 Secret Leakage",
  NHI3: "NHI3:2025 Vulnerable Third-Party NHI",
  NHI4: "NHI4:2025 Insecure Authentication",
  NHI5: "NHI5:2025 Overprivileged NHI",
  NHI6: "NHI6:2025 Insecure Cloud Deployment Configurations",
  NHI7: "NHI7:2025 Long-Lived Secrets",
  NHI8: "NHI8:2025 Environment Isolation",
  NHI9: "NHI9:2025 NHI Reuse",
  NHI10: "NHI10:2025 Human Use of NHI",
} as const;
export type OwaspNhi = (typeof OWASP_NHI)[keyof typeof OWASP_NHI];

export type CatalogueSeverity = "critical" | "high";

export interface CatalogueEntry {
  id: string;
  title: string;
  /** critical: forbidden for every ServiceAccount unless an NHIPolicy exemption names it.
   *  high: allowed only when the identity's NHI declares a scope that covers it. */
  severity: CatalogueSeverity;
  owasp: OwaspNhi[];
  /** How holding this becomes more power. */
  why: string;
  fix: string;
  /** "cluster": only grants that apply cluster-wide (ClusterRoleBinding) count; "any": any namespace. */
  where: "cluster" | "any";
  /** Fires when every rule of one alternative is held (rules are matched with RBAC coverage). */
  anyOf: PolicyRule[][];
  /** Syntactic trigger for entries about the shape of a rule rather than what it reaches (wildcards). */
  ruleShape?: (rule: PolicyRule) => boolean;
  /** Entries this one makes redundant when both fire at the same place; "*": every other entry. */
  supersedes?: string[];
}

const r = (apiGroups: string[], resources: string[], verbs: string[]): PolicyRule => ({
  apiGroups,
  resources,
  verbs,
});
/** One alternative per verb: holding any single verb is enough. */
const eachVerb = (apiGroups: string[], resources: string[], verbs: string[]): PolicyRule[][] =>
  resources.flatMap((res) => verbs.map((v) => [r(apiGroups, [res], [v])]));

const WORKLOADS: Array<[string, string]> = [
  ["apps", "deployments"],
  ["apps", "statefulsets"],
  ["apps", "daemonsets"],
  ["apps", "replicasets"],
  ["", "replicationcontrollers"],
  ["batch", "jobs"],
  ["batch", "cronjobs"],
];
const WRITE = ["create", "update", "patch"];
const hasStar = (xs: string[] | undefined): boolean => (xs ?? []).includes("*");

export const CATALOGUE: readonly CatalogueEntry[] = [
  {
    id: "wildcard-all-cluster",
    title: "Full wildcard (cluster-admin equivalent)",
    severity: "critical",
    owasp: [OWASP_NHI.NHI5],
    why: "every verb on every resource in every API group, cluster-wide: the identity is cluster-admin",
    fix: "grant the specific verbs and resources the workload uses, in its own namespace",
    where: "cluster",
    anyOf: [[r(["*"], ["*"], ["*"])]],
    // cluster-admin implies every other entry: one finding says it all.
    supersedes: ["*"],
  },
  {
    id: "wildcard-all-namespace",
    title: "Full wildcard in a namespace (namespace admin)",
    severity: "high",
    owasp: [OWASP_NHI.NHI5],
    why: "every verb on every resource of the namespace, including its secrets, pods and role bindings",
    fix: "grant the specific verbs and resources the workload uses",
    where: "any",
    anyOf: [[r(["*"], ["*"], ["*"])]],
    supersedes: ["wildcard-rule"],
  },
  {
    id: "wildcard-rule",
    title: "Wildcard verbs, resources or API groups",
    severity: "high",
    owasp: [OWASP_NHI.NHI5],
    why: "a wildcard also grants every verb and resource added in the future, including subresources such as pods/exec",
    fix: "list the verbs, resources and API groups explicitly",
    where: "any",
    anyOf: [],
    ruleShape: (rule) => hasStar(rule.verbs) || hasStar(rule.resources) || hasStar(rule.apiGroups),
  },
  {
    id: "rbac-escalate",
    title: "escalate on roles",
    severity: "critical",
    owasp: [OWASP_NHI.NHI5],
    why: "the escalate verb lets it write roles holding permissions it does not have, then use them",
    fix: "remove the escalate verb; let a human or the GitOps pipeline own role changes",
    where: "any",
    anyOf: eachVerb(["rbac.authorization.k8s.io"], ["roles", "clusterroles"], ["escalate"]),
  },
  {
    id: "rbac-bind",
    title: "bind on roles",
    severity: "critical",
    owasp: [OWASP_NHI.NHI5],
    why: "the bind verb lets it bind any role, cluster-admin included, to itself",
    fix: "remove the bind verb; restrict resourceNames to the exact roles it must hand out if it is a controller that must",
    where: "any",
    anyOf: eachVerb(["rbac.authorization.k8s.io"], ["roles", "clusterroles"], ["bind"]),
  },
  {
    id: "impersonate",
    title: "impersonate users, groups, service accounts or user extras",
    severity: "critical",
    owasp: [OWASP_NHI.NHI5, OWASP_NHI.NHI10],
    why: "impersonation acts as any other identity, system:masters included",
    fix: "remove the impersonate verb; authenticate as the identity itself instead",
    where: "any",
    // A shape, not coverage: impersonating even one named user extra (userextras/<key>) is impersonation.
    anyOf: [],
    ruleShape: (rule) => {
      const verbs = rule.verbs ?? [];
      if (!verbs.includes("impersonate") && !verbs.includes("*")) return false;
      const groups = rule.apiGroups ?? [];
      const core = groups.includes("") || groups.includes("*");
      const authn = groups.includes("authentication.k8s.io") || groups.includes("*");
      return (rule.resources ?? []).some(
        (res) =>
          (core && (res === "*" || ["users", "groups", "serviceaccounts"].includes(res))) ||
          (authn &&
            (res === "*" ||
              res === "uids" ||
              res === "userextras" ||
              res.startsWith("userextras/"))),
      );
    },
  },
  {
    id: "secrets-read-cluster",
    title: "Read secrets cluster-wide",
    severity: "critical",
    owasp: [OWASP_NHI.NHI2, OWASP_NHI.NHI5],
    why: "reads every credential of the cluster, including other service accounts' tokens; list and watch return contents too",
    fix: "bind a Role in the namespaces it needs, with resourceNames naming the exact secrets",
    where: "cluster",
    anyOf: eachVerb([""], ["secrets"], ["get", "list", "watch"]),
    supersedes: ["secrets-read"],
  },
  {
    id: "secrets-read",
    title: "Read secrets in a namespace",
    severity: "high",
    owasp: [OWASP_NHI.NHI2, OWASP_NHI.NHI5],
    why: "reads every credential of the namespace; list and watch return secret contents, not just names",
    fix: "use resourceNames to name the exact secrets, or mount them into the pod instead",
    where: "any",
    anyOf: eachVerb([""], ["secrets"], ["get", "list", "watch"]),
  },
  {
    id: "secrets-create",
    title: "Create secrets (mint long-lived tokens)",
    severity: "high",
    owasp: [OWASP_NHI.NHI7, OWASP_NHI.NHI5],
    why: "creating a kubernetes.io/service-account-token Secret mints a non-expiring token for any service account of the namespace",
    fix: "drop create on secrets, or limit it with resourceNames",
    where: "any",
    anyOf: eachVerb([""], ["secrets"], ["create"]),
  },
  {
    id: "serviceaccount-token-create",
    title: "Create service account tokens",
    severity: "high",
    owasp: [OWASP_NHI.NHI5, OWASP_NHI.NHI9],
    why: "the TokenRequest API issues a token for another service account: it can act as any of them",
    fix: "remove create on serviceaccounts/token, or limit it with resourceNames to the accounts it must serve",
    where: "any",
    anyOf: eachVerb([""], ["serviceaccounts/token"], ["create"]),
  },
  {
    id: "pods-create",
    title: "Create pods",
    severity: "high",
    owasp: [OWASP_NHI.NHI5, OWASP_NHI.NHI9],
    why: "a pod can run as any service account of its namespace and mount any of its secrets",
    fix: "let a controller or the GitOps pipeline create pods; remove create on pods",
    where: "any",
    anyOf: eachVerb([""], ["pods"], ["create"]),
  },
  {
    id: "workloads-write",
    title: "Create or change workload controllers",
    severity: "high",
    owasp: [OWASP_NHI.NHI5, OWASP_NHI.NHI9],
    why: "a Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job or CronJob runs pods as any service account of its namespace",
    fix: "limit writes to the named workloads it owns with resourceNames, or move deployment to the GitOps pipeline",
    where: "any",
    anyOf: WORKLOADS.flatMap(([g, res]) => eachVerb([g], [res], WRITE)),
  },
  {
    id: "pods-exec",
    title: "Exec, attach or add ephemeral containers",
    severity: "high",
    owasp: [OWASP_NHI.NHI5],
    why: "runs commands inside other pods, with their service account tokens and mounted secrets",
    fix: "remove pods/exec, pods/attach and pods/ephemeralcontainers",
    where: "any",
    anyOf: [
      // get is listed too: WebSocket exec was authorised with get before Kubernetes 1.31.
      ...eachVerb([""], ["pods/exec", "pods/attach"], ["create", "get"]),
      ...eachVerb([""], ["pods/ephemeralcontainers"], ["update", "patch"]),
    ],
  },
  {
    id: "nodes-proxy",
    title: "nodes/proxy",
    severity: "critical",
    owasp: [OWASP_NHI.NHI5],
    why: "the kubelet API behind nodes/proxy runs commands in every pod of the node; get alone is enough over WebSocket",
    fix: "remove nodes/proxy; read metrics through the metrics API instead",
    where: "any",
    anyOf: eachVerb([""], ["nodes/proxy"], ["get", "create", "update", "patch", "*"]),
  },
  {
    id: "csr-approve",
    title: "Approve certificate signing requests",
    severity: "critical",
    owasp: [OWASP_NHI.NHI5, OWASP_NHI.NHI4],
    why: "approving its own CSR for a kubernetes.io signer yields a client certificate for any user or group, system:masters included",
    fix: "leave CSR approval to the controller manager or a dedicated approver with signer resourceNames",
    where: "any",
    anyOf: [
      [
        r(["certificates.k8s.io"], ["certificatesigningrequests/approval"], ["update"]),
        r(["certificates.k8s.io"], ["signers"], ["approve"]),
      ],
    ],
  },
  {
    id: "admission-config-write",
    title: "Write admission webhooks or policies",
    severity: "critical",
    owasp: [OWASP_NHI.NHI5, OWASP_NHI.NHI6],
    why: "admission configuration sees or rewrites every object written to the cluster, and can switch this operator's own checks off",
    fix: "leave admission configuration to cluster administrators",
    where: "any",
    anyOf: [
      ...eachVerb(
        ["admissionregistration.k8s.io"],
        [
          "validatingwebhookconfigurations",
          "mutatingwebhookconfigurations",
          "validatingadmissionpolicies",
          "validatingadmissionpolicybindings",
          "mutatingadmissionpolicies",
          "mutatingadmissionpolicybindings",
        ],
        ["create", "update", "patch", "delete"],
      ),
    ],
  },
  {
    id: "rbac-write",
    title: "Write RBAC objects",
    severity: "high",
    owasp: [OWASP_NHI.NHI5],
    why: "writing roles and bindings changes who may do what; aggregated ClusterRoles pull in other roles' rules",
    fix: "let the GitOps pipeline own RBAC; limit writes with resourceNames where a controller must",
    where: "any",
    anyOf: eachVerb(
      ["rbac.authorization.k8s.io"],
      ["roles", "rolebindings", "clusterroles", "clusterrolebindings"],
      WRITE,
    ),
  },
  {
    id: "namespaces-write",
    title: "Change namespace labels",
    severity: "high",
    owasp: [OWASP_NHI.NHI8],
    why: "namespace labels decide Pod Security levels and which admission webhooks apply: changing them escapes both",
    fix: "remove update and patch on namespaces",
    where: "any",
    anyOf: eachVerb([""], ["namespaces"], ["update", "patch"]),
  },
  {
    id: "persistentvolumes-create",
    title: "Create PersistentVolumes",
    severity: "high",
    owasp: [OWASP_NHI.NHI8],
    why: "a hostPath PersistentVolume mounts the node's file system into a pod",
    fix: "use a StorageClass and PersistentVolumeClaims instead",
    where: "any",
    anyOf: eachVerb([""], ["persistentvolumes"], ["create"]),
  },
];

export const CATALOGUE_BY_ID: ReadonlyMap<string, CatalogueEntry> = new Map(
  CATALOGUE.map((e) => [e.id, e]),
);

/** Groups whose members include people or everyone: binding roles to them gives power beyond any NHI. */
export const DANGEROUS_GROUPS: ReadonlyMap<string, string> = new Map([
  ["system:masters", "members bypass RBAC entirely"],
  ["system:anonymous", "every unauthenticated request"],
  ["system:unauthenticated", "every unauthenticated request"],
  ["system:authenticated", "every user and service account of the cluster"],
]);

/** Roles that only let a caller discover the API and ask about itself: harmless for any group. */
export const DISCOVERY_ROLES: ReadonlySet<string> = new Set([
  "system:basic-user",
  "system:discovery",
  "system:public-info-viewer",
]);

/** Users every request of a kind authenticates as: a binding to one grants to all of them. */
export const DANGEROUS_USERS: ReadonlyMap<string, string> = new Map([
  ["system:anonymous", "every unauthenticated request"],
]);

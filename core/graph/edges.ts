// The "can become / can obtain" edges of the identity graph: which permission enables each, and the
// Kubernetes attack technique it is. One table (EDGE_KINDS); `capabilitiesOf` reads an identity's
// grants (core/rbac, the same effective-permission index the webhook uses) through RBAC coverage
// (coverage.ts — no second matcher) and says which edges leave it. Targets are resolved later, by the
// graph, from what the namespace holds now: a new ServiceAccount or workload changes no capability.
import { covers } from "../rbac/coverage.js";
import { describeGrant } from "../rbac/scoped.js";
import type { Grant, PolicyRule } from "../rbac/types.js";
import { WORKLOAD_KINDS } from "../workloads/pod-template.js";

/** Every edge kind. Holder edges come from RBAC; the others from what objects are (a workload runs as its account). */
export type EdgeKindId =
  | "pod-create"
  | "workload-patch"
  | "pod-exec"
  | "secret-read"
  | "secret-mint"
  | "token-request"
  | "impersonate"
  | "rbac-bind"
  | "rbac-escalate"
  | "nodes-proxy"
  | "csr-approve"
  | "admission-write"
  | "cluster-admin"
  | "member-of"
  | "runs-as"
  | "token-of"
  | "kubelet";

export interface EdgeKind {
  id: EdgeKindId;
  /** The attack technique, as a reviewer would name it. */
  technique: string;
  /** The escalation-catalogue entry (core/policy/catalogue.ts) whose permission enables it, when one does. */
  catalogue?: string;
}

/** One table of edge kinds: technique and catalogue entry. */
export const EDGE_KINDS: Readonly<Record<EdgeKindId, EdgeKind>> = {
  "pod-create": {
    id: "pod-create",
    technique:
      "create a pod (or a workload that makes one) running as the ServiceAccount and read its token",
    catalogue: "pods-create",
  },
  "workload-patch": {
    id: "workload-patch",
    technique:
      "change a workload's pod template (image, command) and run code as the ServiceAccount it runs as",
    catalogue: "workloads-write",
  },
  "pod-exec": {
    id: "pod-exec",
    technique:
      "exec or attach into a running pod, or add an ephemeral container, and read the mounted token",
    catalogue: "pods-exec",
  },
  "secret-read": {
    id: "secret-read",
    technique:
      "read a Secret's value: a legacy token authenticates as its ServiceAccount; a declared credential is the credential",
    catalogue: "secrets-read",
  },
  "secret-mint": {
    id: "secret-mint",
    technique:
      "create a kubernetes.io/service-account-token Secret naming the ServiceAccount; the token controller fills it with a never-expiring token, read back with get",
    catalogue: "secrets-create",
  },
  "token-request": {
    id: "token-request",
    technique: "mint a token for the ServiceAccount through the TokenRequest API",
    catalogue: "serviceaccount-token-create",
  },
  impersonate: {
    id: "impersonate",
    technique:
      "send requests impersonating the user, group or ServiceAccount (Impersonate-* headers)",
    catalogue: "impersonate",
  },
  "rbac-bind": {
    id: "rbac-bind",
    technique:
      "bind a more powerful role (cluster-admin) to itself: bind skips the escalation check",
    catalogue: "rbac-bind",
  },
  "rbac-escalate": {
    id: "rbac-escalate",
    technique: "add any permission to a role it is bound to: escalate skips the escalation check",
    catalogue: "rbac-escalate",
  },
  "nodes-proxy": {
    id: "nodes-proxy",
    technique:
      "call the kubelet API through the API server's node proxy (run commands in any pod of the node)",
    catalogue: "nodes-proxy",
  },
  "csr-approve": {
    id: "csr-approve",
    technique:
      "create and approve a client certificate signing request for any user or group (system:masters)",
    catalogue: "csr-approve",
  },
  "admission-write": {
    id: "admission-write",
    technique:
      "register an admission webhook or policy that sees and rewrites every object admitted (pods of any account included)",
    catalogue: "admission-config-write",
  },
  "cluster-admin": {
    id: "cluster-admin",
    technique: "holds every verb on every resource cluster-wide",
    catalogue: "wildcard-all-cluster",
  },
  "member-of": { id: "member-of", technique: "a binding to the group grants to every member" },
  "runs-as": { id: "runs-as", technique: "the pod runs with the ServiceAccount's token" },
  "token-of": {
    id: "token-of",
    technique: "a legacy token Secret holds a never-expiring token of its ServiceAccount",
  },
  kubelet: {
    id: "kubelet",
    technique: "the kubelet runs every pod of the node and can exec into any of them",
  },
};

/** The RBAC-enabled kinds, in the order a holder's capabilities are listed. */
export const HOLDER_EDGE_KINDS: readonly EdgeKindId[] = [
  "cluster-admin",
  "rbac-bind",
  "rbac-escalate",
  "impersonate",
  "csr-approve",
  "admission-write",
  "nodes-proxy",
  "pod-create",
  "token-request",
  "secret-mint",
  "secret-read",
  "workload-patch",
  "pod-exec",
];

/**
 * One way an identity's grants let it reach others. The graph turns it into edges to whatever the
 * namespace holds at the time it is asked, so workloads and ServiceAccounts can change without
 * recomputing any capability.
 */
export interface Capability {
  kind: EdgeKindId;
  /** Where it applies: a namespace, or "*" cluster-wide. */
  namespace: string;
  /** The permission, in words: "create pods in namespace shop". */
  permission: string;
  /** The grants that give it: "RoleBinding shop/x → Role shop/y". */
  through: string[];
  /** Only these objects (RBAC resourceNames); undefined: every object of the kind. */
  names?: string[];
  /**
   * What it acts on. workload-patch: the workload kind (Deployment, …); impersonate: "users",
   * "groups" or "serviceaccounts"; rbac-bind/rbac-escalate: "cluster-admin" when cluster-wide
   * (otherwise the namespace's accounts); otherwise undefined.
   */
  target?: string;
}

const RBAC = "rbac.authorization.k8s.io";
const CLUSTER = "*";

const rule = (apiGroup: string, resource: string, verb: string, name?: string): PolicyRule =>
  name === undefined
    ? { apiGroups: [apiGroup], resources: [resource], verbs: [verb] }
    : { apiGroups: [apiGroup], resources: [resource], verbs: [verb], resourceNames: [name] };

/** What `rules` allow on (apiGroup, resource) for any of `verbs`: every object, some named ones, or nothing. */
interface Allowed {
  all: boolean;
  names: string[];
  verb?: string;
}

function allowed(
  rules: readonly PolicyRule[],
  apiGroup: string,
  resource: string,
  verbs: readonly string[],
): Allowed {
  for (const verb of verbs)
    if (covers(rules, rule(apiGroup, resource, verb))) return { all: true, names: [], verb };
  // resourceNames: only the names some rule lists can be covered; check each with the same matcher.
  const names = new Set<string>();
  let first: string | undefined;
  for (const r of rules) {
    for (const name of r.resourceNames ?? []) {
      for (const verb of verbs) {
        if (!names.has(name) && covers(rules, rule(apiGroup, resource, verb, name))) {
          names.add(name);
          first ??= verb;
        }
      }
    }
  }
  return { all: false, names: [...names].sort(), ...(first !== undefined ? { verb: first } : {}) };
}

const some = (a: Allowed): boolean => a.all || a.names.length > 0;
const whereText = (namespace: string): string =>
  namespace === CLUSTER ? ", cluster-wide" : ` in namespace ${namespace}`;
const resText = (apiGroup: string, resource: string): string => {
  if (apiGroup === "") return resource;
  const slash = resource.indexOf("/");
  return slash < 0
    ? `${resource}.${apiGroup}`
    : `${resource.slice(0, slash)}.${apiGroup}${resource.slice(slash)}`;
};
const namedText = (a: Allowed): string =>
  a.all ? "" : ` named ${a.names.map((n) => JSON.stringify(n)).join(", ")}`;

function apiGroupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/** Every workload kind, its API group and resource, from the one WORKLOAD_KINDS table. */
const WORKLOAD_RESOURCES = Object.entries(WORKLOAD_KINDS).map(([kind, k]) => ({
  kind,
  apiGroup: apiGroupOf(k.apiVersion),
  resource: k.resource,
}));
const WRITE = ["create", "update", "patch"];
const ADMISSION = "admissionregistration.k8s.io";
const CERTS = "certificates.k8s.io";
const ADMISSION_RESOURCES = [
  "mutatingwebhookconfigurations",
  "validatingwebhookconfigurations",
  "mutatingadmissionpolicies",
  "validatingadmissionpolicies",
];
// WebSocket exec was authorised with get before Kubernetes 1.31: get counts too (as in the catalogue).
const EXEC_RESOURCES: readonly (readonly [string, readonly string[]])[] = [
  ["pods/exec", ["create", "get"]],
  ["pods/attach", ["create", "get"]],
  ["pods/ephemeralcontainers", ["update", "patch"]],
];

/** A question asked of every rule set: which verbs on which resource. */
interface Query {
  apiGroup: string;
  resource: string;
  verbs: readonly string[];
}

const QUERIES: ReadonlyMap<string, Query> = new Map<string, Query>([
  ["all", { apiGroup: "*", resource: "*", verbs: ["*"] }],
  ["bind-clusterroles", { apiGroup: RBAC, resource: "clusterroles", verbs: ["bind"] }],
  ["bind-roles", { apiGroup: RBAC, resource: "roles", verbs: ["bind"] }],
  ["write-clusterrolebindings", { apiGroup: RBAC, resource: "clusterrolebindings", verbs: WRITE }],
  ["write-rolebindings", { apiGroup: RBAC, resource: "rolebindings", verbs: WRITE }],
  ["escalate-clusterroles", { apiGroup: RBAC, resource: "clusterroles", verbs: ["escalate"] }],
  ["update-clusterroles", { apiGroup: RBAC, resource: "clusterroles", verbs: ["update", "patch"] }],
  ["escalate-roles", { apiGroup: RBAC, resource: "roles", verbs: ["escalate"] }],
  ["update-roles", { apiGroup: RBAC, resource: "roles", verbs: ["update", "patch"] }],
  ["impersonate-users", { apiGroup: "", resource: "users", verbs: ["impersonate"] }],
  ["impersonate-groups", { apiGroup: "", resource: "groups", verbs: ["impersonate"] }],
  [
    "impersonate-serviceaccounts",
    { apiGroup: "", resource: "serviceaccounts", verbs: ["impersonate"] },
  ],
  ["approve-signers", { apiGroup: CERTS, resource: "signers", verbs: ["approve"] }],
  [
    "update-csr-approval",
    {
      apiGroup: CERTS,
      resource: "certificatesigningrequests/approval",
      verbs: ["update", "patch"],
    },
  ],
  ["create-csr", { apiGroup: CERTS, resource: "certificatesigningrequests", verbs: ["create"] }],
  ...ADMISSION_RESOURCES.map((res): [string, Query] => [
    `write-${res}`,
    { apiGroup: ADMISSION, resource: res, verbs: WRITE },
  ]),
  ["nodes-proxy", { apiGroup: "", resource: "nodes/proxy", verbs: ["get", "create"] }],
  ...WORKLOAD_RESOURCES.map((w): [string, Query] => [
    `create-${w.kind}`,
    { apiGroup: w.apiGroup, resource: w.resource, verbs: ["create"] },
  ]),
  ...WORKLOAD_RESOURCES.map((w): [string, Query] => [
    `patch-${w.kind}`,
    { apiGroup: w.apiGroup, resource: w.resource, verbs: ["patch", "update"] },
  ]),
  ["create-token", { apiGroup: "", resource: "serviceaccounts/token", verbs: ["create"] }],
  ["read-secrets", { apiGroup: "", resource: "secrets", verbs: ["get", "list", "watch"] }],
  ["create-secrets", { apiGroup: "", resource: "secrets", verbs: ["create"] }],
  ...EXEC_RESOURCES.map(([res, verbs]): [string, Query] => [
    res,
    { apiGroup: "", resource: res, verbs },
  ]),
]);

/** A necessary condition for `r` to cover part of `q` (coverage.ts decides; this only skips the hopeless). */
function mayCover(r: PolicyRule, q: Query): boolean {
  const groups = r.apiGroups ?? [];
  if (!groups.includes("*") && !groups.includes(q.apiGroup)) return false;
  const verbs = r.verbs ?? [];
  if (!verbs.includes("*") && !q.verbs.some((v) => verbs.includes(v))) return false;
  const resources = r.resources ?? [];
  const slash = q.resource.indexOf("/");
  return (
    resources.includes("*") ||
    resources.includes(q.resource) ||
    (slash >= 0 && resources.includes(`*${q.resource.slice(slash)}`))
  );
}

const NONE: Allowed = { all: false, names: [] };

// Roles are shared by many bindings and the index hands out the same rule arrays: answer every
// query once per rule array. Coverage of one atomic permission by a union of rule sets is coverage
// by one of them, so the answers combine per place without asking again.
const factsCache = new WeakMap<readonly PolicyRule[], ReadonlyMap<string, Allowed>>();
const NO_FACTS: ReadonlyMap<string, Allowed> = new Map();
function factsOf(rules: readonly PolicyRule[]): ReadonlyMap<string, Allowed> {
  let facts = factsCache.get(rules);
  if (facts === undefined) {
    const m = new Map<string, Allowed>();
    for (const [key, q] of QUERIES) {
      // Most rules name other resources: ask coverage only of those that could answer.
      const candidates = rules.filter((r) => mayCover(r, q));
      if (candidates.length === 0) continue;
      const a = allowed(candidates, q.apiGroup, q.resource, q.verbs);
      if (some(a)) m.set(key, a);
    }
    // Most rule sets answer nothing: they share one empty answer (the cache lives as long as the roles).
    facts = m.size > 0 ? m : NO_FACTS;
    factsCache.set(rules, facts);
  }
  return facts;
}

/** The grants at one place, asked together: every answer merged once. */
class Place {
  private readonly answers = new Map<string, { allowed: Allowed; grants: Grant[] }>();
  constructor(grants: readonly Grant[]) {
    for (const grant of grants) {
      for (const [key, a] of factsOf(grant.rules)) {
        const have = this.answers.get(key);
        if (have === undefined) {
          this.answers.set(key, { allowed: a, grants: [grant] });
          continue;
        }
        have.grants.push(grant);
        const prev = have.allowed;
        if (prev.all) continue;
        have.allowed = a.all
          ? a
          : {
              all: false,
              names: [...new Set([...prev.names, ...a.names])].sort(),
              ...(prev.verb !== undefined
                ? { verb: prev.verb }
                : a.verb !== undefined
                  ? { verb: a.verb }
                  : {}),
            };
      }
    }
  }

  get empty(): boolean {
    return this.answers.size === 0;
  }

  at(key: string): Allowed {
    return this.answers.get(key)?.allowed ?? NONE;
  }

  /** The grants that answer any of `keys`: "RoleBinding shop/x → Role shop/y". */
  through(...keys: string[]): string[] {
    const out = new Set<string>();
    for (const k of keys)
      for (const g of this.answers.get(k)?.grants ?? []) out.add(describeGrant(g));
    return [...out];
  }
}

/**
 * The capabilities of grants that apply at one place (`namespace`, or "*" for the cluster-wide
 * grants). `grants` are every grant that applies there (cluster-wide ones included).
 */
function capabilitiesAt(namespace: string, grants: readonly Grant[]): Capability[] {
  const p = new Place(grants);
  if (p.empty) return [];
  const out: Capability[] = [];
  const where = whereText(namespace);
  const add = (
    kind: EdgeKindId,
    permission: string,
    through: string[],
    a?: Allowed,
    target?: string,
  ): void => {
    const cap: Capability = { kind, namespace, permission, through };
    if (a !== undefined && !a.all) cap.names = a.names;
    if (target !== undefined) cap.target = target;
    out.push(cap);
  };
  const cluster = namespace === CLUSTER;

  if (cluster && p.at("all").all) {
    // cluster-admin reaches everything: every other edge would only repeat it.
    add(
      "cluster-admin",
      "every verb on every resource in every API group, cluster-wide",
      p.through("all"),
    );
    return out;
  }

  // bind: with a binding write it grants itself any role. Cluster-wide: a ClusterRoleBinding to
  // cluster-admin. In a namespace: a RoleBinding to admin there, i.e. every account of it.
  // (A binding write without bind or escalate grants nothing beyond what the writer holds: the API
  // server's escalation check.)
  const bind = p.at("bind-clusterroles");
  const bindRoles = p.at("bind-roles");
  const crbWrite = p.at("write-clusterrolebindings");
  const rbWrite = p.at("write-rolebindings");
  if (cluster && (bind.all || bind.names.includes("cluster-admin")) && crbWrite.all) {
    add(
      "rbac-bind",
      `bind clusterroles and ${crbWrite.verb ?? "create"} clusterrolebindings, cluster-wide`,
      p.through("bind-clusterroles", "write-clusterrolebindings"),
      undefined,
      "cluster-admin",
    );
  } else if ((bind.all || bindRoles.all) && rbWrite.all) {
    add(
      "rbac-bind",
      `bind roles and ${rbWrite.verb ?? "create"} rolebindings${where}`,
      p.through(bind.all ? "bind-clusterroles" : "bind-roles", "write-rolebindings"),
    );
  }
  const escalateCR = p.at("escalate-clusterroles");
  const writeCR = p.at("update-clusterroles");
  const escalateR = p.at("escalate-roles");
  const writeR = p.at("update-roles");
  if (cluster && escalateCR.all && writeCR.all) {
    add(
      "rbac-escalate",
      `escalate and ${writeCR.verb ?? "update"} clusterroles, cluster-wide`,
      p.through("escalate-clusterroles", "update-clusterroles"),
      undefined,
      "cluster-admin",
    );
  } else if (escalateR.all && writeR.all) {
    add(
      "rbac-escalate",
      `escalate and ${writeR.verb ?? "update"} roles${where}`,
      p.through("escalate-roles", "update-roles"),
    );
  }

  // impersonate: users and groups are cluster-scoped (only cluster-wide grants count); ServiceAccounts are namespaced.
  if (cluster) {
    for (const target of ["users", "groups"]) {
      const a = p.at(`impersonate-${target}`);
      if (some(a))
        add(
          "impersonate",
          `impersonate ${target}${namedText(a)}, cluster-wide`,
          p.through(`impersonate-${target}`),
          a,
          target,
        );
    }
  }
  const impSA = p.at("impersonate-serviceaccounts");
  if (some(impSA))
    add(
      "impersonate",
      `impersonate serviceaccounts${namedText(impSA)}${where}`,
      p.through("impersonate-serviceaccounts"),
      impSA,
      "serviceaccounts",
    );

  if (cluster) {
    if (
      some(p.at("approve-signers")) &&
      p.at("update-csr-approval").all &&
      p.at("create-csr").all
    ) {
      add(
        "csr-approve",
        "create certificatesigningrequests, update certificatesigningrequests/approval and approve signers, cluster-wide",
        p.through("create-csr", "update-csr-approval", "approve-signers"),
      );
    }
    for (const res of ADMISSION_RESOURCES) {
      const a = p.at(`write-${res}`);
      if (a.all) {
        add(
          "admission-write",
          `${a.verb ?? "create"} ${resText(ADMISSION, res)}, cluster-wide`,
          p.through(`write-${res}`),
        );
        break;
      }
    }
    const proxy = p.at("nodes-proxy");
    if (some(proxy))
      add(
        "nodes-proxy",
        `${proxy.verb ?? "get"} nodes/proxy${namedText(proxy)}, cluster-wide`,
        p.through("nodes-proxy"),
        proxy,
      );
  }

  // create pods, or any workload kind: a pod template may name any ServiceAccount of the namespace.
  for (const w of WORKLOAD_RESOURCES) {
    if (p.at(`create-${w.kind}`).all) {
      add(
        "pod-create",
        `create ${resText(w.apiGroup, w.resource)}${where}`,
        p.through(`create-${w.kind}`),
      );
      break;
    }
  }
  const token = p.at("create-token");
  if (some(token))
    add(
      "token-request",
      `create serviceaccounts/token${namedText(token)}${where}`,
      p.through("create-token"),
      token,
    );
  // create a token Secret and read it back: a name both allow (any name when one of them is unnamed).
  const createSecrets = p.at("create-secrets");
  const readSecrets = p.at("read-secrets");
  const mintable = createSecrets.all
    ? some(readSecrets)
    : readSecrets.all
      ? some(createSecrets)
      : createSecrets.names.some((n) => readSecrets.names.includes(n));
  if (mintable)
    add(
      "secret-mint",
      `create secrets${namedText(createSecrets)} and ${readSecrets.verb ?? "get"} secrets${namedText(readSecrets)}${where}`,
      p.through("create-secrets", "read-secrets"),
    );
  const secrets = p.at("read-secrets");
  if (some(secrets))
    add(
      "secret-read",
      `${secrets.verb ?? "get"} secrets${namedText(secrets)}${where}`,
      p.through("read-secrets"),
      secrets,
    );
  for (const w of WORKLOAD_RESOURCES) {
    const a = p.at(`patch-${w.kind}`);
    if (some(a))
      add(
        "workload-patch",
        `${a.verb ?? "patch"} ${resText(w.apiGroup, w.resource)}${namedText(a)}${where}`,
        p.through(`patch-${w.kind}`),
        a,
        w.kind,
      );
  }
  for (const [res, verbs] of EXEC_RESOURCES) {
    const a = p.at(res);
    if (some(a)) {
      add(
        "pod-exec",
        `${a.verb ?? verbs[0] ?? "create"} ${res}${namedText(a)}${where}`,
        p.through(res),
        a,
      );
      break;
    }
  }
  return out;
}

/**
 * Every capability an identity's grants give: cluster-wide ones once, then per namespace only what
 * the namespace adds (grants there combined with the cluster-wide ones).
 */
export function capabilitiesOf(grants: readonly Grant[]): Capability[] {
  const clusterGrants = grants.filter((g) => g.namespace === CLUSTER);
  const out = clusterGrants.length > 0 ? capabilitiesAt(CLUSTER, clusterGrants) : [];
  const clusterKeys = new Set(out.filter((c) => c.names === undefined).map(capabilityKindKey));
  const clusterThrough = new Set(clusterGrants.map(describeGrant));
  const namespaces = [
    ...new Set(grants.map((g) => g.namespace).filter((ns) => ns !== CLUSTER)),
  ].sort();
  for (const ns of namespaces) {
    const here = capabilitiesAt(
      ns,
      grants.filter((g) => g.namespace === ns || g.namespace === CLUSTER),
    );
    for (const cap of here) {
      // Already reached everywhere by the cluster-wide grants alone.
      if (cap.names === undefined && clusterKeys.has(capabilityKindKey(cap))) continue;
      // Given by the cluster-wide grants alone: the cluster-wide capability already says it.
      if (cap.through.every((t) => clusterThrough.has(t))) continue;
      out.push(cap);
    }
  }
  return out;
}

/** Kinds that need two permissions at once: held jointly by an account and its groups, they are the account's. */
export const JOINT_KINDS: ReadonlySet<EdgeKindId> = new Set([
  "rbac-bind",
  "rbac-escalate",
  "csr-approve",
  "secret-mint",
]);
/** Facts a JOINT_KINDS capability is made of. */
const JOINT_FACTS = [
  "bind-clusterroles",
  "bind-roles",
  "write-clusterrolebindings",
  "write-rolebindings",
  "escalate-clusterroles",
  "update-clusterroles",
  "escalate-roles",
  "update-roles",
  "approve-signers",
  "update-csr-approval",
  "create-csr",
  "create-secrets",
  "read-secrets",
];

/** Do these grants hold part of a capability that needs two permissions (so a group may hold the rest)? */
export function holdsJointPart(grants: readonly Grant[]): boolean {
  return grants.some((g) => {
    const facts = factsOf(g.rules);
    return JOINT_FACTS.some((k) => facts.has(k));
  });
}

/**
 * Can these grant sets together hold a capability that needs two permissions? No when, across all
 * of them, one part of each such capability is missing anywhere: then no place holds both. Spares
 * building an account's every grant (its groups' included) when it holds one part alone.
 */
export function mayHoldJoint(grantSets: readonly (readonly Grant[])[]): boolean {
  const have = new Set<string>();
  for (const grants of grantSets)
    for (const g of grants) for (const key of factsOf(g.rules).keys()) have.add(key);
  const any = (...keys: string[]): boolean => keys.some((k) => have.has(k));
  return (
    (any("bind-clusterroles", "bind-roles") &&
      any("write-clusterrolebindings", "write-rolebindings")) ||
    (any("escalate-clusterroles", "escalate-roles") &&
      any("update-clusterroles", "update-roles")) ||
    (have.has("approve-signers") && have.has("update-csr-approval") && have.has("create-csr")) ||
    (have.has("create-secrets") && have.has("read-secrets"))
  );
}

/** Kind and target, without place or names: "the same capability" across namespaces. */
function capabilityKindKey(c: Capability): string {
  return `${c.kind}|${c.target ?? ""}`;
}

/** A capability's identity, for de-duplicating one held both directly and through a group. */
export function capabilityKey(c: Capability): string {
  return `${c.kind}|${c.target ?? ""}|${c.namespace}|${c.names?.join(",") ?? "*"}`;
}

/**
 * May `gained` change the capabilities of `before`? No when every fact a gained grant answers is
 * already answered for every object at its place by `before` (a cluster-wide grant of `before`
 * counts everywhere): every place's answers are then the same, so capabilitiesOf(before + gained)
 * lists the capabilities of capabilitiesOf(before), only cited through more grants. Answers a
 * webhook review that adds nothing (most: a binding to a role the account's groups already hold)
 * from the facts cached per rule array, without building either capability list.
 */
export function mayAddCapability(before: readonly Grant[], gained: readonly Grant[]): boolean {
  for (const g of gained) {
    for (const key of factsOf(g.rules).keys()) {
      const held = before.some(
        (b) =>
          (b.namespace === CLUSTER || b.namespace === g.namespace) &&
          factsOf(b.rules).get(key)?.all === true,
      );
      if (!held) return true;
    }
  }
  return false;
}

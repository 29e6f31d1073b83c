// The identity graph: who can become whom. Nodes are ServiceAccounts, the member groups that stand
// for them (core/rbac/groups.ts), credential Secrets, workloads and pods, the cluster's nodes and the
// "cluster-admin" sink; edges are EDGE_KINDS (edges.ts), each with the permission that enables it.
//
// Built from the same ClusterSnapshot and EffectivePermissionIndex the webhook and `nhictl check`
// use. An identity's RBAC edges are stored as capabilities ("create pods in namespace shop");
// their targets are resolved from what the namespace holds when the graph is walked, so adding a
// ServiceAccount, a workload or a Secret touches one table entry, and an RBAC change recomputes the
// capabilities of the identities it affects only.
import type { EffectivePermissionIndex } from "../rbac/effective.js";
import { saKey } from "../rbac/effective.js";
import { groupsOfServiceAccount, memberGroup } from "../rbac/groups.js";
import type { RbacObject, RbacObjectRef, RoleObjectRef, ServiceAccountRef } from "../rbac/types.js";
import {
  SERVICE_ACCOUNT_NAME_ANNOTATION,
  SERVICE_ACCOUNT_TOKEN_TYPE,
  TLS_SECRET_TYPE,
  indexSnapshot,
  type ClusterSnapshot,
  type SecretMetadata,
  type ServiceAccountObject,
  type WorkloadObject,
} from "../snapshot.js";
import { automountsToken, podTemplateOf, serviceAccountOf } from "../workloads/pod-template.js";
import {
  EDGE_KINDS,
  JOINT_KINDS,
  capabilitiesOf,
  capabilityKey,
  holdsJointPart,
  mayHoldJoint,
  type Capability,
  type EdgeKindId,
} from "./edges.js";

export type NodeKind =
  "ServiceAccount" | "Group" | "Secret" | "Workload" | "Nodes" | "ClusterAdmin" | "Accounts";

export interface GraphNode {
  id: string;
  kind: NodeKind;
  /** How a person reads it: "shop/orders-api", "Deployment shop/api", "cluster-admin". */
  label: string;
  namespace?: string;
  name?: string;
}

/** One hop: `from` can become or obtain `to` through `permission`. */
export interface Hop {
  from: string;
  to: string;
  kind: EdgeKindId;
  /** The permission (or fact) that enables it: "create pods in namespace kube-system". */
  permission: string;
  technique: string;
  /** The grants that give the permission. */
  through: string[];
  /**
   * Leaves a shared node ("every ServiceAccount of namespace N") at no cost: the walk's compact form
   * (blastRadius), folded into the hop before it by pathTo, so no path shows it.
   */
  shared?: true;
}

export const CLUSTER_ADMIN = "cluster-admin";
export const NODES = "nodes";
export const saNodeId = (namespace: string, name: string): string => `sa:${namespace}/${name}`;
/** The shared node standing for every ServiceAccount of a namespace ("*": of every namespace). */
export const accountsNodeId = (namespace: string): string => `accounts:${namespace}`;
export const groupNodeId = (group: string): string => `group:${group}`;
/**
 * A shared node of the walk (compact edges) standing for a namespace's Secrets ("secrets"),
 * workloads of one kind ("workloads.Deployment") or pods carrying a token ("exec"); "*": every
 * namespace's. blastRadius folds it into the hop before it: it is never reached, nor in a path.
 */
export const objectsNodeId = (what: string, namespace: string): string =>
  `objects:${what}:${namespace}`;
export const secretNodeId = (namespace: string, name: string): string =>
  `secret:${namespace}/${name}`;
export const workloadNodeId = (kind: string, namespace: string, name: string): string =>
  `workload:${kind}:${namespace}/${name}`;

/** Secret types that are credentials (besides legacy tokens and Secrets an NHI declares). */
const CREDENTIAL_SECRET_TYPES = new Set([
  SERVICE_ACCOUNT_TOKEN_TYPE,
  TLS_SECRET_TYPE,
  "kubernetes.io/dockerconfigjson",
  "kubernetes.io/dockercfg",
  "kubernetes.io/basic-auth",
  "kubernetes.io/ssh-auth",
]);

interface WorkloadInfo {
  node: GraphNode;
  kind: string;
  serviceAccount: string;
  /** The pod's own automountServiceAccountToken (it wins over the account's). */
  automount?: boolean;
  /** A projected serviceAccountToken volume: the token is there whatever automount says. */
  projectsToken: boolean;
}

interface SecretInfo {
  node: GraphNode;
  /** A legacy token Secret's ServiceAccount. */
  serviceAccount?: string;
}

/**
 * Capabilities standing in for a holder's own, keyed by node id: "what if" a write were admitted,
 * asked of the graph without changing it (the webhook's graph is shared by every request).
 */
export type CapabilityOverlay = ReadonlyMap<string, readonly Capability[]>;

/** A change the graph follows incrementally. */
export type GraphChange =
  | { rbac: { upsert: RbacObject } | { remove: RbacObjectRef } }
  | { upsertServiceAccount: ServiceAccountObject }
  | { removeServiceAccount: ServiceAccountRef }
  | { upsertWorkload: WorkloadObject }
  | { removeWorkload: { kind: string; namespace: string; name: string } }
  | { upsertSecret: SecretMetadata }
  | { removeSecret: { namespace: string; name: string } };

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(value);
}

function deleteFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (set === undefined) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

function projectsToken(spec: {
  volumes?: { projected?: { sources?: { serviceAccountToken?: unknown }[] } }[];
}): boolean {
  return (spec.volumes ?? []).some((v) =>
    (v.projected?.sources ?? []).some((s) => s.serviceAccountToken !== undefined),
  );
}

const isRoleRef = (ref: RbacObjectRef): ref is RoleObjectRef =>
  ref.kind === "Role" || ref.kind === "ClusterRole";

function refOf(obj: RbacObject): RbacObjectRef {
  if (obj.kind === "Role" || obj.kind === "RoleBinding")
    return { kind: obj.kind, namespace: obj.metadata.namespace ?? "", name: obj.metadata.name };
  return { kind: obj.kind, name: obj.metadata.name };
}

const nsOf = (meta: { namespace?: string }): string => meta.namespace ?? "default";

export class IdentityGraph {
  /** ServiceAccount names per namespace: existing ones and those a binding names. */
  private readonly accounts = new Map<string, Set<string>>();
  /** "ns/name" → automountServiceAccountToken of the account. */
  private readonly automount = new Map<string, boolean | undefined>();
  private readonly explicitAccounts = new Set<string>();
  private readonly workloads = new Map<string, WorkloadInfo>();
  private readonly workloadsByNs = new Map<string, Set<string>>();
  private readonly secrets = new Map<string, SecretInfo>();
  private readonly secretsByNs = new Map<string, Set<string>>();
  /** Secrets an NHI declares as credentials: "ns/name" → the NHI. */
  private readonly declared = new Map<string, string>();
  /** holder node id → its capabilities (only holders with some). */
  private readonly caps = new Map<string, Capability[]>();
  /**
   * Per namespace, what its accounts reach as members: the groups holding capabilities and those
   * capabilities' grants by key. Every account of the namespace asks the same: asked once, dropped
   * when a group's capabilities change.
   */
  /** Every namespace the tables hold; dropped on any change (see namespaces()). */
  private allNamespaces: string[] | undefined;
  private readonly memberOf = new Map<
    string,
    { groups: string[]; groupCaps: Map<string, Set<string>> }
  >();

  /**
   * One copy of each text the capabilities carry (permission, grants cited): tens of thousands of
   * capabilities cite a few thousand texts, and the graph lives in the webhook's heap, where every
   * full collection marks it. Rebuilt from the live capabilities when it has grown past twice them.
   */
  private texts = new Map<string, string>();
  /** Holders by what their capabilities reach (see reachKeys), for walking backwards; dropped on any change. */
  private reverse: Map<string, string[]> | undefined;
  private textsLive = 0;

  private constructor(readonly index: EffectivePermissionIndex) {}

  private text(s: string): string {
    const have = this.texts.get(s);
    if (have !== undefined) return have;
    this.texts.set(s, s);
    return s;
  }

  /** The holder's capabilities kept, their texts shared with every other holder's. */
  private keep(id: string, caps: Capability[]): void {
    if (caps.length === 0) {
      this.caps.delete(id);
      return;
    }
    if (this.texts.size > 2 * this.textsLive + 4096) {
      // Texts of capabilities since replaced: start again from the live ones.
      this.texts = new Map();
      for (const held of this.caps.values()) for (const c of held) this.share(c);
      this.textsLive = this.texts.size;
    }
    for (const c of caps) this.share(c);
    this.caps.set(id, caps);
  }

  private share(c: Capability): void {
    c.permission = this.text(c.permission);
    for (let i = 0; i < c.through.length; i++) c.through[i] = this.text(c.through[i] as string);
  }

  /**
   * The graph of a snapshot. Pass the index the caller already keeps (the webhook's cache, `nhictl`'s
   * prepared state) to share it; the graph then follows it through `apply`.
   */
  static fromSnapshot(
    snapshot: ClusterSnapshot,
    index: EffectivePermissionIndex = indexSnapshot(snapshot),
  ): IdentityGraph {
    const g = new IdentityGraph(index);
    for (const nhi of snapshot.nhis) {
      for (const c of nhi.spec.credentials ?? [])
        g.declared.set(
          `${nsOf(nhi.metadata)}/${c.secretName}`,
          `${nsOf(nhi.metadata)}/${nhi.metadata.name}`,
        );
    }
    for (const sa of snapshot.serviceAccounts) g.upsertServiceAccount(sa);
    for (const sa of index.serviceAccounts()) g.addAccount(sa.namespace, sa.name);
    for (const w of snapshot.workloads) g.upsertWorkload(w);
    for (const s of snapshot.secrets) g.upsertSecret(s);
    for (const [ns, names] of g.accounts)
      for (const name of names) g.recomputeServiceAccount(ns, name);
    for (const group of index.memberGroups()) g.recomputeGroup(group);
    return g;
  }

  // ---------------------------------------------------------------------------------------------
  // Changes

  /**
   * Follow one change. For RBAC, the index is updated here (unless `indexUpdated`: the caller's
   * cache already applied it) and only the identities whose grants it touches are recomputed.
   */
  apply(change: GraphChange, options: { indexUpdated?: boolean } = {}): void {
    this.allNamespaces = undefined;
    this.reverse = undefined;
    if ("rbac" in change) {
      this.applyRbac(change.rbac, options.indexUpdated ?? false);
    } else if ("upsertServiceAccount" in change) {
      const sa = change.upsertServiceAccount;
      this.upsertServiceAccount(sa);
      this.index.addServiceAccount({ namespace: nsOf(sa.metadata), name: sa.metadata.name });
      this.recomputeServiceAccount(nsOf(sa.metadata), sa.metadata.name);
    } else if ("removeServiceAccount" in change) {
      const { namespace, name } = change.removeServiceAccount;
      const key = `${namespace}/${name}`;
      this.explicitAccounts.delete(key);
      this.automount.delete(key);
      this.index.removeServiceAccount(change.removeServiceAccount);
      if (!this.index.serviceAccountKnown(change.removeServiceAccount)) {
        // Still named by a binding: it stays a node (a binding may name an account before it exists).
        deleteFrom(this.accounts, namespace, name);
        this.caps.delete(saNodeId(namespace, name));
      }
    } else if ("upsertWorkload" in change) {
      this.upsertWorkload(change.upsertWorkload);
    } else if ("removeWorkload" in change) {
      const { kind, namespace, name } = change.removeWorkload;
      const id = workloadNodeId(kind, namespace, name);
      this.workloads.delete(id);
      deleteFrom(this.workloadsByNs, namespace, id);
    } else if ("upsertSecret" in change) {
      this.upsertSecret(change.upsertSecret);
    } else {
      const { namespace, name } = change.removeSecret;
      const id = secretNodeId(namespace, name);
      this.secrets.delete(id);
      deleteFrom(this.secretsByNs, namespace, id);
    }
  }

  private applyRbac(
    change: { upsert: RbacObject } | { remove: RbacObjectRef },
    indexUpdated: boolean,
  ): void {
    // Whose grants change: a binding's subjects before and after; for a role, everyone bound to it
    // (or to a role aggregating it) before and after. Groups are not expanded: a ServiceAccount
    // reaches its groups' edges through membership, and keeps capabilities of its own only when a
    // binding names it (see recomputeServiceAccount).
    const ref: RbacObjectRef = "upsert" in change ? refOf(change.upsert) : change.remove;
    const affected = new Map<string, ServiceAccountRef>();
    const touchedGroups = new Set<string>();
    const collect = (s: { serviceAccounts: ServiceAccountRef[]; groups: string[] }): void => {
      for (const sa of s.serviceAccounts) affected.set(saKey(sa), sa);
      for (const g of s.groups) touchedGroups.add(g);
    };
    const subjects = (): { serviceAccounts: ServiceAccountRef[]; groups: string[] } =>
      isRoleRef(ref) ? this.index.subjectsHolding(ref) : this.index.subjectsOf(ref);
    if (!indexUpdated) collect(subjects());
    else {
      // The index already forgot who the object named before: take the accounts whose capabilities cite it.
      const cited = `${ref.kind} ${ref.namespace !== undefined && ref.namespace !== "" ? `${ref.namespace}/` : ""}${ref.name}`;
      const cites = (t: string): boolean =>
        isRoleRef(ref) ? t.endsWith(`→ ${cited}`) : t.startsWith(`${cited} →`);
      for (const [id, caps] of this.caps) {
        if (id.startsWith("group:")) {
          if (caps.some((c) => c.through.some(cites))) touchedGroups.add(id.slice("group:".length));
        } else if (caps.some((c) => c.through.some(cites))) {
          const n = this.node(id) as GraphNode;
          affected.set(`${n.namespace as string}/${n.name as string}`, {
            namespace: n.namespace as string,
            name: n.name as string,
          });
        }
      }
    }
    if (
      "upsert" in change &&
      (change.upsert.kind === "RoleBinding" || change.upsert.kind === "ClusterRoleBinding")
    ) {
      collect({
        serviceAccounts: directSubjects(change.upsert),
        groups: (change.upsert.subjects ?? [])
          .filter((x) => x.kind === "Group" && memberGroup(x.name) !== undefined)
          .map((x) => x.name),
      });
    }
    if (!indexUpdated) {
      if ("upsert" in change) this.index.upsert(change.upsert);
      else this.index.remove(change.remove);
    }
    collect(subjects());
    if (indexUpdated) {
      // A group the removed object named may be named by no binding now: it holds nothing.
      const named = new Set(this.index.memberGroups());
      for (const id of [...this.caps.keys()]) {
        if (id.startsWith("group:") && !named.has(id.slice("group:".length)))
          touchedGroups.add(id.slice("group:".length));
      }
    }
    if (touchedGroups.size > 0) {
      // A group's grants changed: its members that a binding names combine them with their own.
      for (const group of touchedGroups) {
        const ns = memberGroup(group)?.serviceAccountNamespace;
        for (const namespace of ns === undefined
          ? []
          : ns === "*"
            ? [...this.accounts.keys()]
            : [ns]) {
          for (const name of this.accounts.get(namespace) ?? []) {
            const sa = { namespace, name };
            if (this.index.hasDirectBinding(sa)) affected.set(saKey(sa), sa);
          }
        }
      }
      // Member groups are few (one per namespace at most, plus three): recompute them all.
      for (const id of [...this.caps.keys()]) if (id.startsWith("group:")) this.caps.delete(id);
      this.memberOf.clear();
      for (const group of this.index.memberGroups()) this.recomputeGroup(group);
    }
    for (const sa of affected.values()) {
      if (this.index.serviceAccountKnown(sa)) this.addAccount(sa.namespace, sa.name);
      this.recomputeServiceAccount(sa.namespace, sa.name);
    }
  }

  private upsertServiceAccount(sa: ServiceAccountObject): void {
    const ns = nsOf(sa.metadata);
    const key = `${ns}/${sa.metadata.name}`;
    this.explicitAccounts.add(key);
    this.automount.set(key, sa.automountServiceAccountToken);
    this.addAccount(ns, sa.metadata.name);
  }

  private addAccount(namespace: string, name: string): void {
    this.allNamespaces = undefined;
    addTo(this.accounts, namespace, name);
  }

  private upsertWorkload(w: WorkloadObject): void {
    this.allNamespaces = undefined;
    const template = podTemplateOf(w);
    const ns = nsOf(w.metadata);
    const id = workloadNodeId(w.kind, ns, w.metadata.name);
    if (template === undefined) {
      this.workloads.delete(id);
      deleteFrom(this.workloadsByNs, ns, id);
      return;
    }
    const info: WorkloadInfo = {
      node: {
        id,
        kind: "Workload",
        label: `${w.kind} ${ns}/${w.metadata.name}`,
        namespace: ns,
        name: w.metadata.name,
      },
      kind: w.kind,
      serviceAccount: serviceAccountOf(template.spec),
      projectsToken: projectsToken(template.spec),
    };
    if (template.spec.automountServiceAccountToken !== undefined)
      info.automount = template.spec.automountServiceAccountToken;
    this.workloads.set(id, info);
    addTo(this.workloadsByNs, ns, id);
  }

  /** Do the workload's pods carry a token of their account (the account's setting read now, so it may change later)? */
  private tokenMounted(w: WorkloadInfo): boolean {
    const ns = w.node.namespace as string;
    return (
      w.projectsToken ||
      automountsToken(
        w.automount === undefined ? {} : { automountServiceAccountToken: w.automount },
        this.automount.get(`${ns}/${w.serviceAccount}`),
      )
    );
  }

  private upsertSecret(s: SecretMetadata): void {
    this.allNamespaces = undefined;
    const ns = nsOf(s.metadata);
    const id = secretNodeId(ns, s.metadata.name);
    const declared = this.declared.has(`${ns}/${s.metadata.name}`);
    if (!declared && !CREDENTIAL_SECRET_TYPES.has(s.type ?? "")) {
      this.secrets.delete(id);
      deleteFrom(this.secretsByNs, ns, id);
      return;
    }
    const info: SecretInfo = {
      node: {
        id,
        kind: "Secret",
        label: `Secret ${ns}/${s.metadata.name}`,
        namespace: ns,
        name: s.metadata.name,
      },
    };
    const owner = s.metadata.annotations?.[SERVICE_ACCOUNT_NAME_ANNOTATION];
    if (s.type === SERVICE_ACCOUNT_TOKEN_TYPE && owner !== undefined && owner !== "")
      info.serviceAccount = owner;
    this.secrets.set(id, info);
    addTo(this.secretsByNs, ns, id);
  }

  /**
   * An account's own capabilities: what the bindings naming it give (everything it holds through its
   * groups are the groups' edges, reached as a member), plus two-permission capabilities it holds
   * only together with its groups.
   */
  private recomputeServiceAccount(namespace: string, name: string): void {
    const sa = { namespace, name };
    const direct = this.index.directGrantsOf(sa);
    let caps = direct.length > 0 ? capabilitiesOf(direct) : [];
    // A capability needing two permissions may be split between the account's bindings and its
    // groups': then it is the account's alone. (Single permissions from groups are the groups' edges.)
    if (
      direct.length > 0 &&
      holdsJointPart(direct) &&
      mayHoldJoint([
        direct,
        ...groupsOfServiceAccount(namespace).map((g) => this.index.grantsOfGroup(g)),
      ])
    ) {
      const own = new Set(caps.map(capabilityKey));
      const joint = capabilitiesOf(this.index.grantsOf(sa)).filter(
        (c) => JOINT_KINDS.has(c.kind) && !own.has(capabilityKey(c)),
      );
      caps = [...caps, ...joint];
    }
    this.keep(saNodeId(namespace, name), caps);
  }

  private recomputeGroup(group: string): void {
    const caps = capabilitiesOf(this.index.grantsOfGroup(group));
    if (caps.length > 0) this.keep(groupNodeId(group), caps);
    this.memberOf.clear();
  }

  // ---------------------------------------------------------------------------------------------
  // Reading

  /** The capabilities a holder (ServiceAccount or group node) has of its own grants, member groups' included. */
  capabilities(id: string): readonly Capability[] {
    return this.caps.get(id) ?? [];
  }

  /** Identities holding any capability: the sources worth a blast radius. */
  holders(): string[] {
    return [...this.caps.keys()].sort();
  }

  /** Every ServiceAccount node id, sorted. */
  serviceAccountIds(): string[] {
    const out: string[] = [];
    for (const [ns, names] of this.accounts) for (const n of names) out.push(saNodeId(ns, n));
    return out.sort();
  }

  node(id: string): GraphNode | undefined {
    if (id === CLUSTER_ADMIN) return { id, kind: "ClusterAdmin", label: "cluster-admin" };
    if (id === NODES) return { id, kind: "Nodes", label: "every node (kubelet)" };
    if (id.startsWith("accounts:")) {
      const ns = id.slice("accounts:".length);
      return {
        id,
        kind: "Accounts",
        label: ns === "*" ? "every ServiceAccount" : `every ServiceAccount of namespace ${ns}`,
        ...(ns === "*" ? {} : { namespace: ns }),
      };
    }
    if (id.startsWith("sa:")) {
      const rest = id.slice(3);
      const slash = rest.indexOf("/");
      return {
        id,
        kind: "ServiceAccount",
        label: rest,
        namespace: rest.slice(0, slash),
        name: rest.slice(slash + 1),
      };
    }
    if (id.startsWith("group:")) {
      const g = memberGroup(id.slice(6));
      return {
        id,
        kind: "Group",
        label: id,
        ...(g?.serviceAccountNamespace !== undefined && g.serviceAccountNamespace !== "*"
          ? { namespace: g.serviceAccountNamespace }
          : {}),
        name: id.slice(6),
      };
    }
    return this.workloads.get(id)?.node ?? this.secrets.get(id)?.node;
  }

  /**
   * Every edge leaving `id`, targets resolved against the graph's current tables, sorted by target;
   * with `overlay`, the holders it names have its capabilities instead of their own.
   */
  edgesFrom(id: string, overlay?: CapabilityOverlay, compact = false): Hop[] {
    const capsOf = (holder: string): readonly Capability[] | undefined =>
      overlay?.get(holder) ?? this.caps.get(holder);
    const hops: Hop[] = [];
    const hop = (
      to: string,
      kind: EdgeKindId,
      permission: string,
      through: string[] = [],
    ): void => {
      if (to !== id)
        hops.push({
          from: id,
          to,
          kind,
          permission,
          technique: EDGE_KINDS[kind].technique,
          through,
        });
    };
    // A shared node's members: a step inside the walk's compact form, no edge of its own.
    const shared = (to: string): void => {
      hops.push({
        from: id,
        to,
        kind: "member-of",
        permission: "",
        technique: "",
        through: [],
        shared: true,
      });
    };
    if (id.startsWith("sa:")) {
      const node = this.node(id) as GraphNode;
      const ns = node.namespace as string;
      // Group grants are the group's edges: an account reaches them through membership. Its own
      // capability is left out when a group has the same one from the same grants only.
      const overlaid =
        overlay !== undefined && [...overlay.keys()].some((k) => k.startsWith("group:"));
      let member = overlaid ? undefined : this.memberOf.get(ns);
      if (member === undefined) {
        member = { groups: [], groupCaps: new Map<string, Set<string>>() };
        for (const g of groupsOfServiceAccount(ns)) {
          const caps = capsOf(groupNodeId(g));
          if (caps === undefined || caps.length === 0) continue;
          member.groups.push(g);
          for (const c of caps) {
            const key = capabilityKey(c);
            const through = member.groupCaps.get(key) ?? new Set<string>();
            for (const t of c.through) through.add(t);
            member.groupCaps.set(key, through);
          }
        }
        if (!overlaid) this.memberOf.set(ns, member);
      }
      for (const g of member.groups) hop(groupNodeId(g), "member-of", `member of ${g}`);
      const { groupCaps } = member;
      for (const c of capsOf(id) ?? []) {
        const group = groupCaps.get(capabilityKey(c));
        if (group === undefined || !c.through.every((t) => group.has(t)))
          this.resolve(c, hop, capsOf, compact);
      }
    } else if (id.startsWith("group:")) {
      for (const c of capsOf(id) ?? []) this.resolve(c, hop, capsOf, compact);
    } else if (id.startsWith("accounts:")) {
      // A shared node: every ServiceAccount of its namespace (of every namespace for "*"), at no cost.
      const ns = id.slice("accounts:".length);
      const targets =
        ns === "*"
          ? [...this.accounts.keys()].sort().map(accountsNodeId)
          : [...(this.accounts.get(ns) ?? [])].sort().map((name) => saNodeId(ns, name));
      for (const to of targets) shared(to);
    } else if (id.startsWith("objects:")) {
      // A shared node of the walk: a namespace's Secrets, workloads of one kind, or pods carrying a
      // token ("*": every namespace's), in the order the capability's own edges list them.
      const rest = id.slice("objects:".length);
      const colon = rest.indexOf(":");
      const what = rest.slice(0, colon);
      const ns = rest.slice(colon + 1);
      if (ns === "*") {
        const present = what === "secrets" ? this.secretsByNs : this.workloadsByNs;
        for (const n of this.namespaces("*")) if (present.has(n)) shared(objectsNodeId(what, n));
      } else if (what === "secrets") {
        for (const sid of [...(this.secretsByNs.get(ns) ?? [])].sort()) shared(sid);
      } else {
        const kind = what.startsWith("workloads.") ? what.slice("workloads.".length) : undefined;
        for (const wid of [...(this.workloadsByNs.get(ns) ?? [])].sort()) {
          const w = this.workloads.get(wid) as WorkloadInfo;
          if (kind !== undefined ? w.kind === kind : this.tokenMounted(w)) shared(wid);
        }
      }
    } else if (id.startsWith("workload:")) {
      const w = this.workloads.get(id);
      if (w !== undefined)
        hop(
          saNodeId(w.node.namespace as string, w.serviceAccount),
          "runs-as",
          `runs as ServiceAccount ${w.serviceAccount}`,
        );
    } else if (id.startsWith("secret:")) {
      const s = this.secrets.get(id);
      if (s?.serviceAccount !== undefined)
        hop(
          saNodeId(s.node.namespace as string, s.serviceAccount),
          "token-of",
          `legacy token of ServiceAccount ${s.serviceAccount}`,
        );
    } else if (id === NODES) {
      for (const [wid, w] of this.workloads)
        if (this.tokenMounted(w)) hop(wid, "kubelet", "runs the pod");
    }
    return hops;
  }

  /**
   * The nodes with an edge into `id` — a superset where a capability's kind or names may not match
   * the object (edgesFrom decides) — each with whether it is a member of `id` (no hop). For walking
   * backwards: who already reaches an identity a write changes. Built on first use from the
   * capabilities, kept until the next change.
   */
  edgesInto(id: string): { from: string; member: boolean }[] {
    const index = (this.reverse ??= this.reverseIndex());
    const out: { from: string; member: boolean }[] = [];
    const holders = (key: string): void => {
      for (const from of index.get(key) ?? []) out.push({ from, member: false });
    };
    const node = this.node(id);
    const ns = node?.namespace ?? "";
    if (id.startsWith("sa:")) {
      const name = node?.name ?? "";
      for (const key of [accountsNodeId(ns), accountsNodeId("*"), id, saNodeId("*", name)])
        holders(key);
      for (const wid of this.workloadsByNs.get(ns) ?? [])
        if (this.workloads.get(wid)?.serviceAccount === name)
          out.push({ from: wid, member: false });
      for (const sid of this.secretsByNs.get(ns) ?? [])
        if (this.secrets.get(sid)?.serviceAccount === name) out.push({ from: sid, member: false });
    } else if (id.startsWith("group:")) {
      const members = memberGroup(id.slice("group:".length))?.serviceAccountNamespace;
      for (const n of members === undefined
        ? []
        : members === "*"
          ? this.accounts.keys()
          : [members])
        for (const name of this.accounts.get(n) ?? [])
          out.push({ from: saNodeId(n, name), member: true });
      holders(id);
    } else if (id.startsWith("workload:")) {
      holders(`workloads:${ns}`);
      holders("workloads:*");
      const w = this.workloads.get(id);
      if (w !== undefined && this.tokenMounted(w)) out.push({ from: NODES, member: false });
    } else if (id.startsWith("secret:")) {
      holders(`secrets:${ns}`);
      holders("secrets:*");
    } else if (id === NODES) {
      holders(NODES);
    }
    return out;
  }

  private reverseIndex(): Map<string, string[]> {
    const index = new Map<string, string[]>();
    for (const [holder, caps] of this.caps) {
      for (const c of caps) {
        for (const key of reachKeys(c)) {
          const list = index.get(key);
          if (list === undefined) index.set(key, [holder]);
          else if (list[list.length - 1] !== holder) list.push(holder);
        }
      }
    }
    return index;
  }

  private namespaces(ns: string): Iterable<string> {
    if (ns !== "*") return [ns];
    // Asked per account and capability on every walk: kept until a namespace table changes.
    this.allNamespaces ??= [
      ...new Set([
        ...this.accounts.keys(),
        ...this.workloadsByNs.keys(),
        ...this.secretsByNs.keys(),
      ]),
    ];
    return this.allNamespaces;
  }

  /** The edges one capability gives, to what the namespace holds now. */
  private resolve(
    c: Capability,
    hop: (to: string, kind: EdgeKindId, permission: string, through?: string[]) => void,
    capsOf: (holder: string) => readonly Capability[] | undefined,
    compact = false,
  ): void {
    const named = (n: string): boolean => c.names === undefined || c.names.includes(n);
    const accountsIn = (onlyNamed: boolean): void => {
      if (compact && !onlyNamed) {
        // One hop to the shared node instead of one per account: the walk does not fan out.
        hop(accountsNodeId(c.namespace), c.kind, c.permission, c.through);
        return;
      }
      for (const ns of this.namespaces(c.namespace)) {
        for (const name of [...(this.accounts.get(ns) ?? [])].sort())
          if (!onlyNamed || named(name)) hop(saNodeId(ns, name), c.kind, c.permission, c.through);
      }
    };
    switch (c.kind) {
      case "cluster-admin":
      case "csr-approve":
      case "admission-write":
        hop(CLUSTER_ADMIN, c.kind, c.permission, c.through);
        return;
      case "rbac-bind":
      case "rbac-escalate":
        if (c.target === CLUSTER_ADMIN) hop(CLUSTER_ADMIN, c.kind, c.permission, c.through);
        else accountsIn(false);
        return;
      case "nodes-proxy":
        hop(NODES, c.kind, c.permission, c.through);
        return;
      case "pod-create":
      case "secret-mint":
        accountsIn(false);
        return;
      case "token-request":
        accountsIn(true);
        return;
      case "impersonate":
        if (c.target === "groups") {
          // system:masters, or any member group named.
          if (c.names === undefined || c.names.includes("system:masters"))
            hop(CLUSTER_ADMIN, c.kind, `${c.permission} (system:masters)`, c.through);
          for (const g of c.names ?? [])
            if (memberGroup(g) !== undefined && (capsOf(groupNodeId(g))?.length ?? 0) > 0)
              hop(groupNodeId(g), c.kind, c.permission, c.through);
        } else if (c.target === "users") {
          for (const ns of this.namespaces("*")) {
            for (const name of [...(this.accounts.get(ns) ?? [])].sort()) {
              if (c.names === undefined || c.names.includes(`system:serviceaccount:${ns}:${name}`))
                hop(saNodeId(ns, name), c.kind, c.permission, c.through);
            }
          }
        } else {
          accountsIn(true);
        }
        return;
      case "secret-read":
        if (compact && c.names === undefined) {
          // One hop to the namespace's Secrets instead of one per Secret (see objectsNodeId).
          hop(objectsNodeId("secrets", c.namespace), c.kind, c.permission, c.through);
          return;
        }
        for (const ns of this.namespaces(c.namespace)) {
          for (const sid of [...(this.secretsByNs.get(ns) ?? [])].sort()) {
            const s = this.secrets.get(sid) as SecretInfo;
            if (named(s.node.name as string)) hop(sid, c.kind, c.permission, c.through);
          }
        }
        return;
      case "workload-patch":
      case "pod-exec":
        if (compact && c.names === undefined) {
          const what = c.kind === "pod-exec" ? "exec" : `workloads.${c.target ?? ""}`;
          hop(objectsNodeId(what, c.namespace), c.kind, c.permission, c.through);
          return;
        }
        for (const ns of this.namespaces(c.namespace)) {
          for (const wid of [...(this.workloadsByNs.get(ns) ?? [])].sort()) {
            const w = this.workloads.get(wid) as WorkloadInfo;
            if (c.kind === "workload-patch" ? w.kind !== c.target : !this.tokenMounted(w)) continue;
            // exec names pods; only bare pods carry those names in a snapshot.
            if (c.names !== undefined && (c.kind === "pod-exec" ? w.kind !== "Pod" : false))
              continue;
            if (named(w.node.name as string)) hop(wid, c.kind, c.permission, c.through);
          }
        }
        return;
      default:
        return;
    }
  }
}

/**
 * What a capability's edges lead to, as keys of IdentityGraph.edgesInto's index: a namespace's
 * accounts, workloads or Secrets ("*": of every namespace), named accounts, groups, the nodes.
 * The cluster-admin sink is left out: nothing is walked back from it.
 */
function reachKeys(c: Capability): string[] {
  const named = (): string[] =>
    c.names === undefined
      ? [accountsNodeId(c.namespace)]
      : c.names.map((n) => saNodeId(c.namespace, n));
  switch (c.kind) {
    case "pod-create":
    case "secret-mint":
      return [accountsNodeId(c.namespace)];
    case "rbac-bind":
    case "rbac-escalate":
      return c.target === CLUSTER_ADMIN ? [] : [accountsNodeId(c.namespace)];
    case "token-request":
      return named();
    case "impersonate":
      if (c.target === "groups") return (c.names ?? []).map(groupNodeId);
      if (c.target === "users") {
        if (c.names === undefined) return [accountsNodeId("*")];
        return c.names.flatMap((u) => {
          const [ns, name, extra] = u.startsWith("system:serviceaccount:")
            ? u.slice("system:serviceaccount:".length).split(":")
            : [];
          return ns && name && extra === undefined ? [saNodeId(ns, name)] : [];
        });
      }
      return named();
    case "secret-read":
      return [`secrets:${c.namespace}`];
    case "workload-patch":
    case "pod-exec":
      return [`workloads:${c.namespace}`];
    case "nodes-proxy":
      return [NODES];
    default:
      return [];
  }
}

/** The ServiceAccounts a binding names directly (ServiceAccount subjects and their usernames). */
function directSubjects(obj: RbacObject): ServiceAccountRef[] {
  if (obj.kind !== "RoleBinding" && obj.kind !== "ClusterRoleBinding") return [];
  const out: ServiceAccountRef[] = [];
  const ns = obj.kind === "RoleBinding" ? (obj.metadata.namespace ?? "") : "";
  for (const s of obj.subjects ?? []) {
    if (s.kind === "ServiceAccount") {
      const saNs = s.namespace !== undefined && s.namespace !== "" ? s.namespace : ns;
      if (saNs !== "") out.push({ namespace: saNs, name: s.name });
    } else if (s.kind === "User" && s.name.startsWith("system:serviceaccount:")) {
      const [saNs, name] = s.name.slice("system:serviceaccount:".length).split(":");
      if (saNs && name) out.push({ namespace: saNs, name });
    }
  }
  return out;
}

// Blast radius: everything an identity's token reaches, transitively, with the shortest path to each
// (fewest hops; breadth-first over IdentityGraph.edgesFrom, whose edges come sorted, so the path
// found is the same on every run) and to cluster-admin.
import {
  CLUSTER_ADMIN,
  type CapabilityOverlay,
  type GraphNode,
  type Hop,
  type IdentityGraph,
  type NodeKind,
} from "./graph.js";

export interface Reached {
  /** Hops from the source (0 for the source itself); being a member of a group is no hop. */
  depth: number;
  /** The last hop of a shortest path; absent for the source. */
  hop?: Hop;
}

export interface BlastRadius {
  source: string;
  /** Every node reached, the source included, in the order reached. */
  reached: Map<string, Reached>;
  /** The walk stopped when its budget ran out: `reached` is a part of the closure. */
  truncated?: true;
}

/**
 * Edges a walk (or several sharing it) may still examine. Walks run on the webhook's path and in
 * the inventory pass, both on the event loop that answers admission: where every account reaches the
 * whole cluster one walk examines ~90,000 edges (~0.3 s), so callers bound the work and say what
 * they did not judge.
 */
export interface WalkBudget {
  edges: number;
}

/**
 * The closure from `source`; with `overlay`, as if the holders it names had its capabilities. With a
 * budget, each edge examined spends one; when none is left the walk stops, `truncated`.
 */
export function blastRadius(
  graph: IdentityGraph,
  source: string,
  overlay?: CapabilityOverlay,
  budget?: WalkBudget,
): BlastRadius {
  const reached = new Map<string, Reached>([[source, { depth: 0 }]]);
  const done = new Set<string>();
  // Shared object nodes (objects:…) expanded, at the depth their objects were reached: once per walk.
  const expanded = new Map<string, number>();
  const spend = (): boolean => budget === undefined || budget.edges-- > 0;
  // 0-1 breadth-first: membership costs nothing (a member is the group, it takes no step to be one).
  let level = [source];
  for (let depth = 0; level.length > 0; depth++) {
    const next: string[] = [];
    const reach = (hop: Hop, at: number): void => {
      const known = reached.get(hop.to);
      if (known !== undefined && known.depth <= at) return;
      reached.set(hop.to, { depth: at, hop });
      (at === depth ? level : next).push(hop.to);
    };
    /** The objects behind a shared node, each reached by `into` itself ("get secrets in N" → the Secret). */
    const expand = (into: Hop, at: number): boolean => {
      if ((expanded.get(into.to) ?? Infinity) <= at) return true;
      expanded.set(into.to, at);
      for (const out of graph.edgesFrom(into.to, overlay, true)) {
        if (!spend()) return false;
        if (out.to.startsWith("objects:")) {
          if (!expand({ ...into, to: out.to }, at)) return false;
        } else reach({ ...into, to: out.to }, at);
      }
      return true;
    };
    for (let i = 0; i < level.length; i++) {
      const id = level[i] as string;
      if (done.has(id) || (reached.get(id) as Reached).depth !== depth) continue;
      done.add(id);
      // cluster-admin is a sink: it reaches everything, so nothing past it adds a shorter path.
      if (id === CLUSTER_ADMIN) continue;
      for (const hop of graph.edgesFrom(id, overlay, true)) {
        if (!spend()) return { source, reached, truncated: true };
        const cost = hop.kind === "member-of" ? 0 : 1;
        if (hop.to.startsWith("objects:")) {
          if (!expand(hop, depth + cost)) return { source, reached, truncated: true };
        } else reach(hop, depth + cost);
      }
    }
    level = next;
  }
  return { source, reached };
}

/** The shortest path from the radius' source to `target`, one hop per edge; undefined when unreachable. */
export function pathTo(radius: BlastRadius, target: string): Hop[] | undefined {
  if (!radius.reached.has(target)) return undefined;
  const raw: Hop[] = [];
  for (
    let at = radius.reached.get(target);
    at?.hop !== undefined;
    at = radius.reached.get(at.hop.from)
  )
    raw.push(at.hop);
  // A hop out of a shared node continues the hop into it: "create pods in namespace N" reaches the account.
  const path: Hop[] = [];
  for (const hop of raw.reverse()) {
    const last = path[path.length - 1];
    if (hop.shared && last !== undefined) path[path.length - 1] = { ...last, to: hop.to };
    else path.push(hop);
  }
  return path;
}

export interface RadiusSummary {
  /** Identities (ServiceAccounts and member groups) reached, the source excluded. */
  identities: number;
  serviceAccounts: number;
  secrets: number;
  workloads: number;
  /** Hops to cluster-admin; undefined when it is not reachable. */
  clusterAdminHops?: number;
}

export function summarize(radius: BlastRadius, graph: IdentityGraph): RadiusSummary {
  const count: Record<NodeKind, number> = {
    ServiceAccount: 0,
    Group: 0,
    Secret: 0,
    Workload: 0,
    Nodes: 0,
    ClusterAdmin: 0,
    Accounts: 0,
  };
  for (const id of radius.reached.keys()) {
    if (id === radius.source) continue;
    const kind = (graph.node(id) as GraphNode | undefined)?.kind ?? kindOf(id);
    count[kind]++;
  }
  const admin = radius.reached.get(CLUSTER_ADMIN);
  return {
    identities: count.ServiceAccount + count.Group,
    serviceAccounts: count.ServiceAccount,
    secrets: count.Secret,
    workloads: count.Workload,
    ...(admin !== undefined ? { clusterAdminHops: admin.depth } : {}),
  };
}

function kindOf(id: string): NodeKind {
  if (id.startsWith("sa:")) return "ServiceAccount";
  if (id.startsWith("group:")) return "Group";
  if (id.startsWith("secret:")) return "Secret";
  if (id.startsWith("workload:")) return "Workload";
  if (id.startsWith("accounts:")) return "Accounts";
  return id === CLUSTER_ADMIN ? "ClusterAdmin" : "Nodes";
}

/** One hop as a line: "ci/deployer —create pods in namespace kube-system→ kube-system/admin". */
export function describeHop(graph: IdentityGraph, hop: Hop): string {
  return `${graph.node(hop.from)?.label ?? hop.from} —${hop.permission}→ ${graph.node(hop.to)?.label ?? hop.to}`;
}

/** A path in one line: "ci/deployer —create pods…→ kube-system/admin —every verb…→ cluster-admin (2 hops)". */
export function describePath(graph: IdentityGraph, path: readonly Hop[]): string {
  if (path.length === 0) return "";
  const first = path[0] as Hop;
  let out = graph.node(first.from)?.label ?? first.from;
  for (const hop of path) out += ` —${hop.permission}→ ${graph.node(hop.to)?.label ?? hop.to}`;
  const hops = hopCount(path);
  return `${out} (${hops} ${hops === 1 ? "hop" : "hops"})`;
}

/** Hops an attacker takes along a path: membership of a group is none. */
export function hopCount(path: readonly Hop[]): number {
  return path.filter((h) => h.kind !== "member-of").length;
}

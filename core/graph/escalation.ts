// Transitive escalation: the attack paths a write opens. A write changes the grants of a few holders
// (core/policy/rbac-write.ts identityChanges); only for those is the blast radius asked twice, over
// the graph as it is and over an overlay with the holder's capabilities after the write. A new path
// to cluster-admin (two hops or more: one hop is the permission itself, which the catalogue judges),
// or from a governed ServiceAccount to an identity holding more than its NHI declares, is a finding.
// A write that adds no capability (most writes: a ConfigMap reader, a narrower role) opens no edge
// and costs one capabilitiesOf per holder, no walk.
import type { Finding } from "../policy/chain.js";
import { describeObject } from "../policy/describe.js";
import type { GoverningIdentity, IdentityChange } from "../policy/rbac-write.js";
import { serviceAccountIdentity, type Mode } from "../policy/settings.js";
import type { ObjectRef } from "../policy/types.js";
import { groupIdentity, memberGroup } from "../rbac/groups.js";
import { describePermission, uncoveredGrants } from "../rbac/scoped.js";
import type { Grant, ServiceAccountRef } from "../rbac/types.js";
import { capabilitiesOf, capabilityKey, mayAddCapability, type Capability } from "./edges.js";
import {
  CLUSTER_ADMIN,
  groupNodeId,
  saNodeId,
  type CapabilityOverlay,
  type Hop,
  type IdentityGraph,
} from "./graph.js";
import {
  blastRadius,
  describeHop,
  describePath,
  hopCount,
  pathTo,
  type WalkBudget,
} from "./radius.js";

export const TRANSITIVE_ESCALATION = "transitive-escalation";

/** One path a write opens, from a holder whose grants it changes. */
export interface OpenedPath {
  /** The holder's node id ("sa:ns/name", "group:…"). */
  from: string;
  /** Where it leads: cluster-admin, or an identity holding more than the holder's NHI declares. */
  to: string;
  hops: Hop[];
  /** Hops an attacker takes (membership is none). */
  length: number;
  /** "ci/deployer —create pods in namespace vault→ vault/powerful —…→ cluster-admin (2 hops)". */
  text: string;
  /** For a governed holder: a permission the identity reached holds beyond the NHI's scopes. */
  beyondScopes?: { permission: string; nhi: string };
}

export interface EscalationInput {
  /** The graph before the write. */
  graph: IdentityGraph;
  /**
   * The graph after it, when the caller has one (`nhictl check`: the manifests over the cluster);
   * absent: the holders' capabilities after the write are overlaid on `graph` (the webhook).
   */
  after?: IdentityGraph;
  changes: readonly IdentityChange[];
  governing: (sa: ServiceAccountRef) => GoverningIdentity | undefined;
  /** Edges the walks may examine in all (default WALK_BUDGET_EDGES, for the admission path). */
  budgetEdges?: number;
}

/** Holders of one write whose blast radius is walked (twice: before and after). */
export const MAX_WALKED_HOLDERS = 16;
/** Edges the walks of one write may examine in all (~0.1 s where every account reaches everything). */
export const WALK_BUDGET_EDGES = 30_000;
/** Newly reached identities of a governed holder worth naming, per holder: the nearest first. */
const MAX_SCOPE_PATHS = 3;

const holderId = (change: IdentityChange): string =>
  "group" in change
    ? groupNodeId(change.group.name)
    : saNodeId(change.serviceAccount.namespace, change.serviceAccount.name);

/** The holder's capabilities before and after the write, when the write adds one (else undefined). */
function capabilityGain(change: IdentityChange): { after: Capability[] } | undefined {
  if (change.gained.length === 0 || !mayAddCapability(change.before, change.gained))
    return undefined;
  const before = new Set(capabilitiesOf(change.before).map(capabilityKey));
  const after = capabilitiesOf([...change.before, ...change.gained]);
  return after.some((c) => !before.has(capabilityKey(c))) ? { after } : undefined;
}

const nhiText = (g: GoverningIdentity): string =>
  `NonHumanIdentity ${g.nhi.namespace}/${g.nhi.name}`;

/** Does the change add a capability (an edge) to some holder? Only then can it open a path. */
export function addsCapability(changes: readonly IdentityChange[]): boolean {
  return changes.some((c) => capabilityGain(c) !== undefined);
}

/**
 * Every path the write opens: for each holder gaining a capability, a walk before and after; then
 * the same for the identities that already reach such a holder (binding an account to
 * cluster-admin opens a path for whoever may create pods in its namespace), found by walking the
 * graph backwards from the holders, nearest first.
 */
export function openedPaths(input: EscalationInput): {
  paths: OpenedPath[];
  /** Holders gaining a capability past MAX_WALKED_HOLDERS or the walk budget: not judged. */
  unwalked: number;
  /** Holders judged (walked before and after the write to the end). */
  walked: number;
  /** Identities reaching a holder judged, when the budget or MAX_REACHING left others unjudged. */
  reachingJudged?: number;
} {
  const { graph } = input;
  const afterGraph = input.after ?? graph;
  const gains = new Map<string, { change: IdentityChange; after: Capability[] }>();
  for (const change of input.changes) {
    const gain = capabilityGain(change);
    if (gain) gains.set(holderId(change), { change, after: gain.after });
  }
  if (gains.size === 0) return { paths: [], unwalked: 0, walked: 0 };
  // Every holder the write changes takes its new capabilities at once: a path may use two of them.
  const overlay: CapabilityOverlay | undefined =
    input.after === undefined ? new Map([...gains].map(([id, g]) => [id, g.after])) : undefined;
  const out: OpenedPath[] = [];
  // Two walks per holder, on the webhook's path: a binding naming hundreds of accounts is judged
  // for the first MAX_WALKED_HOLDERS (member groups first: each stands for many), and says so.
  const walked = [...gains].sort(
    ([a], [b]) =>
      Number(b.startsWith("group:")) - Number(a.startsWith("group:")) || a.localeCompare(b),
  );
  const budget = { edges: input.budgetEdges ?? WALK_BUDGET_EDGES };
  /** Walk `id` before and after the write and keep the paths it opens; false when the budget ran out. */
  const judge = (id: string, gov: GoverningIdentity | undefined): boolean => {
    const before = blastRadius(graph, id, undefined, budget);
    // Already at cluster-admin and not governed: the write can open nothing new for it.
    if (!before.truncated && gov === undefined && before.reached.has(CLUSTER_ADMIN)) return true;
    const after = before.truncated ? before : blastRadius(afterGraph, id, overlay, budget);
    // A part of either closure would name paths that are not new.
    if (after.truncated) return false;
    const opened = (to: string, beyondScopes?: OpenedPath["beyondScopes"]): void => {
      const hops = pathTo(after, to);
      if (hops === undefined) return;
      out.push({
        from: id,
        to,
        hops,
        length: hopCount(hops),
        text: describePath(afterGraph, hops),
        ...(beyondScopes ? { beyondScopes } : {}),
      });
    };
    const admin = after.reached.get(CLUSTER_ADMIN);
    if (admin !== undefined && admin.depth >= 2 && !before.reached.has(CLUSTER_ADMIN))
      opened(CLUSTER_ADMIN);
    if (!gov) return true;
    const fresh = [...after.reached]
      .filter(
        ([to, r]) =>
          // Depth 0: its own member groups; what it holds through them is scope-exceeded's to judge.
          r.depth >= 1 &&
          !before.reached.has(to) &&
          (to.startsWith("sa:") || to.startsWith("group:")),
      )
      .sort(([a, x], [b, y]) => x.depth - y.depth || a.localeCompare(b));
    let named = 0;
    for (const [to] of fresh) {
      if (named >= MAX_SCOPE_PATHS) break;
      const node = afterGraph.node(to);
      const grants: Grant[] = to.startsWith("group:")
        ? afterGraph.index.grantsOfGroup(to.slice("group:".length))
        : afterGraph.index.grantsOf({
            namespace: node?.namespace ?? "",
            name: node?.name ?? "",
          });
      const beyond = uncoveredGrants(gov.scopes, grants)[0];
      if (beyond === undefined) continue;
      opened(to, { permission: describePermission(beyond.permission), nhi: nhiText(gov) });
      named++;
    }
    return true;
  };
  let judged = 0;
  for (const [id, { change }] of walked.slice(0, MAX_WALKED_HOLDERS)) {
    // A part of either closure would name paths that are not new: this holder and the rest are not judged.
    if (!judge(id, "group" in change ? undefined : input.governing(change.serviceAccount))) break;
    judged++;
  }
  const unwalked = walked.length - judged;
  // The holders not all judged: the warning says so already, and the budget is spent.
  if (unwalked > 0) return { paths: out, unwalked, walked: judged };
  const reaching = reachingHolders(graph, [...gains.keys()], budget);
  let complete = !reaching.truncated;
  let reachingJudged = 0;
  for (const id of reaching.ids) {
    const node = graph.node(id);
    const gov =
      id.startsWith("sa:") && node?.namespace !== undefined && node.name !== undefined
        ? input.governing({ namespace: node.namespace, name: node.name })
        : undefined;
    if (!judge(id, gov)) {
      complete = false;
      break;
    }
    reachingJudged++;
  }
  return {
    paths: out,
    unwalked: 0,
    walked: judged,
    ...(complete ? {} : { reachingJudged }),
  };
}

/** Identities (besides the holders) that reach a holder the write changes and are judged, the nearest first. */
export const MAX_REACHING = 16;

/**
 * The identities that reach any of `holders` before the write, nearest first (a member of a holder
 * group is the group: it is judged as the group), at most MAX_REACHING; walking edges backwards,
 * one budget edge per edge examined.
 */
function reachingHolders(
  graph: IdentityGraph,
  holders: readonly string[],
  budget: WalkBudget,
): { ids: string[]; truncated: boolean } {
  const depth = new Map<string, number>(holders.map((h) => [h, 0]));
  const ids: string[] = [];
  let level = [...holders];
  for (let d = 0; level.length > 0; d++) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i++) {
      const id = level[i] as string;
      if (depth.get(id) !== d) continue;
      for (const { from, member } of graph.edgesInto(id)) {
        if (budget.edges-- <= 0) return { ids, truncated: true };
        const cost = member ? 0 : 1;
        const known = depth.get(from);
        if (known !== undefined && known <= d + cost) continue;
        depth.set(from, d + cost);
        (cost === 0 ? level : next).push(from);
        if (d + cost >= 1 && (from.startsWith("sa:") || from.startsWith("group:"))) {
          ids.push(from);
          if (ids.length >= MAX_REACHING) return { ids, truncated: true };
        }
      }
    }
    level = next;
  }
  return { ids, truncated: false };
}

const identityOfNode = (graph: IdentityGraph, id: string): string => {
  const node = graph.node(id);
  if (id.startsWith("group:")) return groupIdentity(id.slice("group:".length));
  return serviceAccountIdentity(node?.namespace ?? "", node?.name ?? "");
};

/** The one namespace of a path's source: a ServiceAccount's, or that of a namespace's account group. */
function namespaceOfSource(graph: IdentityGraph, id: string): string | undefined {
  if (id.startsWith("group:")) {
    const ns = memberGroup(id.slice("group:".length))?.serviceAccountNamespace;
    return ns === "*" ? undefined : ns;
  }
  return graph.node(id)?.namespace;
}

/**
 * The findings of the paths a write of `object` opens: warnings, or denials under Enforce. `mode`
 * is the cluster-wide setting; `modeIn`, when given, the setting for a path starting from an
 * identity of one namespace (NHIPolicy `overrides`).
 */
export function transitiveEscalationFindings(
  input: EscalationInput & {
    object: ObjectRef;
    mode: Mode;
    modeIn?: (namespace: string) => Mode;
  },
): Finding[] {
  const { paths, unwalked, walked, reachingJudged } = openedPaths(input);
  const findings = paths.map((p): Finding => {
    const g = input.after ?? input.graph;
    const ns = input.modeIn ? namespaceOfSource(g, p.from) : undefined;
    const mode = ns !== undefined && input.modeIn ? input.modeIn(ns) : input.mode;
    const outcome = mode === "Enforce" ? "deny" : "warn";
    const who = g.node(p.from)?.label ?? p.from;
    const to = g.node(p.to)?.label ?? p.to;
    const lead =
      p.to === CLUSTER_ADMIN
        ? `opens a path from ${who} to cluster-admin`
        : `opens a path from ${who} to ${to}, which holds "${p.beyondScopes?.permission ?? ""}" beyond what ${p.beyondScopes?.nhi ?? "its NHI"} declares in spec.scopes`;
    return {
      outcome,
      rule: TRANSITIVE_ESCALATION,
      severity: p.to === CLUSTER_ADMIN ? "critical" : "high",
      object: input.object,
      identity: identityOfNode(g, p.from),
      permission: p.hops[0]?.permission ?? "",
      message: `${describeObject(input.object)} ${lead}: ${p.text}.`,
      paths: [{ to, length: p.length, hops: p.hops.map((h) => describeHop(g, h)) }],
      fix: `remove the first hop's permission (${p.hops[0]?.permission ?? ""}), or take the power of the identity it reaches away; \`nhictl graph --cluster --from ${who}\` draws every path`,
    };
  });
  /** The warning that a part of the write's paths was not judged (the walk's bounds). */
  const partialJudgement = (message: string, fix: string): Finding => ({
    outcome: "warn",
    rule: TRANSITIVE_ESCALATION,
    severity: "medium",
    object: input.object,
    message: `${describeObject(input.object)} ${message}`,
    fix,
  });
  if (reachingJudged !== undefined)
    findings.unshift(
      partialJudgement(
        reachingJudged > 0
          ? `adds capabilities to identities others already reach; the paths it opens for those others were judged for the nearest ${reachingJudged} only.`
          : "adds capabilities to identities others already reach; the paths it opens for those others were not judged: more reach them than one admission answer may walk.",
        "judge them with `nhictl graph --cluster --to cluster-admin`",
      ),
    );
  if (unwalked > 0)
    findings.unshift(
      partialJudgement(
        walked > 0
          ? `adds capabilities to ${walked + unwalked} identities; the attack paths it opens were judged for the first ${walked} only.`
          : `adds capabilities to ${unwalked} ${unwalked === 1 ? "identity" : "identities"}; the attack paths it opens were not judged: their closure is larger than one admission answer may walk.`,
        "bind fewer identities per object, or judge the rest with `nhictl graph --cluster`",
      ),
    );
  return findings;
}

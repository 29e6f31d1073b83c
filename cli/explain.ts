// `nhictl explain ns/sa`: a ServiceAccount's effective permissions, which binding grants each, the
// catalogue entries they reach, and its NHI's scopes side by side. `nhictl explain <group>` does the
// same for a member group (system:serviceaccounts:<ns>, system:serviceaccounts, …): what every
// member holds through it. Answers come from core/rbac and core/policy; this file only arranges them.
import {
  CLUSTER_ADMIN,
  IdentityGraph,
  blastRadius,
  describeHop,
  groupNodeId,
  hopCount,
  pathTo,
  saNodeId,
  summarize,
} from "../core/graph/index.js";
import { isClusterDefaultGrant } from "../core/inventory/inventory.js";
import type { AttackPath } from "../core/policy/types.js";
import { catalogueHits } from "../core/policy/catalogue-hits.js";
import { grantsOfHolder, holderIdentity, type Holder } from "../core/policy/rbac-write.js";
import {
  ANONYMOUS_USER,
  GROUP_UNAUTHENTICATED,
  memberGroup,
  parseGroupIdentity,
} from "../core/rbac/groups.js";
import { parseServiceAccountIdentity } from "../core/policy/settings.js";
import { ruleCovers } from "../core/rbac/coverage.js";
import {
  describeGrant,
  describePermission,
  scopeRulesFor,
  uncoveredGrants,
} from "../core/rbac/scoped.js";
import type { Grant, PolicyRule, ScopedRule, ServiceAccountRef } from "../core/rbac/types.js";
import type { ClusterSnapshot } from "../core/snapshot.js";
import { prepare } from "./check.js";
import type { Location } from "./load.js";
import type { ManifestSet } from "./snapshot.js";

export function parseServiceAccountArg(arg: string): ServiceAccountRef | undefined {
  const parsed = parseServiceAccountIdentity(arg);
  if (parsed && parsed.namespace !== "" && parsed.name !== "") return parsed;
  const parts = arg.split("/");
  if (parts.length === 2 && parts[0] && parts[1]) return { namespace: parts[0], name: parts[1] };
  return undefined;
}

/** What `explain` explains: a ServiceAccount (ns/name, its username) or a member group (its name, or group:<name>). */
export function parseExplainTarget(arg: string): Holder | undefined {
  // The anonymous user's grants are held by system:unauthenticated (core/rbac/groups.ts).
  const group =
    memberGroup(arg === ANONYMOUS_USER ? GROUP_UNAUTHENTICATED : arg) ?? parseGroupIdentity(arg);
  if (group) return { group };
  const serviceAccount = parseServiceAccountArg(arg);
  return serviceAccount ? { serviceAccount } : undefined;
}

export interface ExplainedRule {
  rule: PolicyRule;
  /** "verbs [get list] on configmaps, secrets (apiGroup core) in namespace shop". */
  text: string;
  /** Indexes into scopes[] that cover (part of) this rule. */
  coveredBy: number[];
  /** Atomic permissions of this rule no scope covers (empty: fully covered). */
  uncovered: string[];
}

export interface ExplainedGrant {
  binding: string;
  role: string;
  /** Where it applies: a namespace, or "*" cluster-wide. */
  namespace: string;
  via: string;
  bindingLocation?: Location;
  roleLocation?: Location;
  rules: ExplainedRule[];
  /** Held by every identity through Kubernetes' own default bindings (system:discovery, …): not measured against the scopes. */
  clusterDefault?: boolean;
}

export interface Explanation {
  /** The ServiceAccount explained; absent when a group is. */
  serviceAccount?: ServiceAccountRef;
  /** The member group explained: what every member holds through it. */
  group?: { name: string; members: string };
  identity: string;
  /** Whether a ServiceAccount object for it is in the manifests (or cluster); true for a group. */
  exists: boolean;
  nhi?: {
    name: string;
    namespace: string;
    owner?: { team: string; contact: string };
    purpose?: string;
    enforcement: string;
    location?: Location;
    scopes: { index: number; scope: ScopedRule; text: string; used: boolean }[];
  };
  grants: ExplainedGrant[];
  catalogue: {
    id: string;
    title: string;
    severity: string;
    where: string;
    through: string[];
    why: string;
    fix: string;
  }[];
  /** Permissions the NHI's scopes do not cover (what `check` reports as scope-exceeded). */
  beyondScopes: string[];
  /** What a leaked token reaches through the identity graph (core/graph), and how. */
  blastRadius: {
    identities: number;
    clusterAdminHops?: number;
    /** Shortest path to cluster-admin (first, when reached) and to each identity reached, nearest first; at most MAX_PATHS. */
    paths: AttackPath[];
  };
}

const MAX_PATHS = 10;

/** The holder's blast radius and its shortest paths, from the identity graph over the same state. */
function radiusOf(graph: IdentityGraph, target: Holder): Explanation["blastRadius"] {
  const id =
    "group" in target
      ? groupNodeId(target.group.name)
      : saNodeId(target.serviceAccount.namespace, target.serviceAccount.name);
  const radius = blastRadius(graph, id);
  const summary = summarize(radius, graph);
  const targets = [...radius.reached]
    .filter(
      ([to]) =>
        to !== id && (to === CLUSTER_ADMIN || to.startsWith("sa:") || to.startsWith("group:")),
    )
    .sort(
      ([a, x], [b, y]) =>
        Number(b === CLUSTER_ADMIN) - Number(a === CLUSTER_ADMIN) ||
        x.depth - y.depth ||
        a.localeCompare(b),
    )
    .slice(0, MAX_PATHS);
  const paths = targets.flatMap(([to]): AttackPath[] => {
    const hops = pathTo(radius, to) ?? [];
    return hops.length === 0
      ? []
      : [
          {
            to: graph.node(to)?.label ?? to,
            length: hopCount(hops),
            hops: hops.map((h) => describeHop(graph, h)),
          },
        ];
  });
  return {
    identities: summary.identities,
    ...(summary.clusterAdminHops !== undefined
      ? { clusterAdminHops: summary.clusterAdminHops }
      : {}),
    paths,
  };
}

const list = (xs: string[] | undefined): string => (xs && xs.length > 0 ? xs.join(", ") : "—");

function ruleText(r: PolicyRule, namespace: string): string {
  const where = namespace === "*" ? "cluster-wide" : `in namespace ${namespace}`;
  if (r.nonResourceURLs && r.nonResourceURLs.length > 0)
    return `${list(r.verbs)} on URLs ${list(r.nonResourceURLs)}`;
  const groups = (r.apiGroups ?? [""]).map((g) => (g === "" ? "core" : g)).join(", ");
  const names =
    r.resourceNames && r.resourceNames.length > 0 ? ` named ${r.resourceNames.join(", ")}` : "";
  return `${list(r.verbs)} on ${list(r.resources)}${names} (${groups}) ${where}`;
}

const refText = (r: { kind: string; namespace?: string; name: string }): string =>
  `${r.kind} ${r.namespace ? `${r.namespace}/` : ""}${r.name}`;

export function explain(
  set: ManifestSet,
  target: Holder,
  options: { now: Date; cluster?: ClusterSnapshot },
): Explanation {
  const judged = prepare(set, {
    policies: [],
    strict: false,
    now: options.now,
    ...(options.cluster ? { cluster: options.cluster } : {}),
  });
  const grants: Grant[] = grantsOfHolder(judged.index, target);
  const sa = "serviceAccount" in target ? target.serviceAccount : undefined;
  // No NonHumanIdentity can claim a group.
  const nhi = sa ? judged.directory.nhiFor(sa) : undefined;
  const scopes: ScopedRule[] = nhi?.spec.scopes ?? [];
  const used = new Set<number>();
  // The inventory's rule: what every identity holds through the cluster's default bindings is not its own excess.
  const ownGrants = grants.filter((g) => !isClusterDefaultGrant(g));
  const explainedGrants = grants.map((g): ExplainedGrant => {
    const applicable = scopeRulesFor(scopes, g.namespace);
    const clusterDefault = isClusterDefaultGrant(g);
    const rules = g.rules.map((r): ExplainedRule => {
      const uncovered =
        nhi && !clusterDefault
          ? uncoveredGrants(scopes, [{ ...g, rules: [r] }]).map((u) =>
              describePermission(u.permission),
            )
          : [];
      const coveredBy = applicable
        .filter(
          (s) =>
            ruleCovers(s, r) ||
            (uncovered.length > 0 && r.verbs.some((v) => ruleCovers(s, { ...r, verbs: [v] }))),
        )
        .map((s) => scopes.indexOf(s));
      for (const i of coveredBy) used.add(i);
      return { rule: r, text: ruleText(r, g.namespace), coveredBy, uncovered };
    });
    const out: ExplainedGrant = {
      binding: refText(g.binding),
      role: refText(g.role),
      namespace: g.namespace,
      via: g.via,
      rules,
      ...(clusterDefault ? { clusterDefault } : {}),
    };
    const bl = set.locate(g.binding);
    const rl = set.locate(g.role);
    if (bl) out.bindingLocation = bl.location;
    if (rl) out.roleLocation = rl.location;
    return out;
  });
  const exists = sa
    ? judged.merged.serviceAccounts.some(
        (s) => s.metadata.name === sa.name && (s.metadata.namespace ?? "default") === sa.namespace,
      )
    : true;
  const result: Explanation = {
    ...("group" in target
      ? { group: { name: target.group.name, members: target.group.members } }
      : { serviceAccount: target.serviceAccount }),
    identity: holderIdentity(target),
    exists,
    grants: explainedGrants,
    catalogue: catalogueHits(grants).map((h) => ({
      id: h.entry.id,
      title: h.entry.title,
      severity: h.entry.severity,
      where: h.namespace === "*" ? "cluster-wide" : `namespace ${h.namespace}`,
      through: h.grants.map(describeGrant),
      why: h.entry.why,
      fix: h.entry.fix,
    })),
    beyondScopes: nhi
      ? uncoveredGrants(scopes, ownGrants).map(
          (u) => `${describePermission(u.permission)} (${describeGrant(u.grant)})`,
        )
      : [],
    blastRadius: radiusOf(IdentityGraph.fromSnapshot(judged.merged, judged.index), target),
  };
  if (nhi) {
    const loc = set.locate({
      kind: "NonHumanIdentity",
      namespace: nhi.metadata.namespace,
      name: nhi.metadata.name,
    });
    result.nhi = {
      name: nhi.metadata.name,
      namespace: nhi.metadata.namespace ?? sa?.namespace ?? "default",
      owner: nhi.spec.owner,
      purpose: nhi.spec.purpose,
      enforcement: nhi.spec.enforcement ?? "Enforce",
      ...(loc ? { location: loc.location } : {}),
      scopes: scopes.map((s, index) => ({
        index,
        scope: s,
        text: `${ruleText(s, "*").replace(/ cluster-wide$/, "")} in ${s.namespaces.includes("*") ? "all namespaces" : s.namespaces.join(", ")}`,
        used: used.has(index),
      })),
    };
  }
  return result;
}

const at = (l: Location | undefined): string => (l ? ` [${l.file}:${l.line}]` : "");

export function formatExplainText(e: Explanation, color: boolean): string {
  const red = (s: string): string => (color ? `\u001b[31m${s}\u001b[0m` : s);
  const green = (s: string): string => (color ? `\u001b[32m${s}\u001b[0m` : s);
  const bold = (s: string): string => (color ? `\u001b[1m${s}\u001b[0m` : s);
  const out: string[] = e.group
    ? [
        bold(`Group ${e.group.name}`) + `: ${e.group.members}, present and future`,
        red(
          "No NonHumanIdentity can claim a group: what it holds, every member holds, and nothing declares that they may.",
        ),
      ]
    : [
        bold(
          `ServiceAccount ${e.serviceAccount?.namespace ?? ""}/${e.serviceAccount?.name ?? ""}`,
        ) + ` (${e.identity})${e.exists ? "" : " — no ServiceAccount object found"}`,
      ];
  if (e.nhi) {
    out.push(
      `Claimed by NonHumanIdentity ${e.nhi.namespace}/${e.nhi.name}${at(e.nhi.location)}: owner ${e.nhi.owner?.team ?? "?"} <${e.nhi.owner?.contact ?? "?"}>, enforcement ${e.nhi.enforcement}`,
    );
    if (e.nhi.purpose) out.push(`Purpose: ${e.nhi.purpose}`);
  } else if (!e.group) {
    out.push(
      red(
        "Not claimed by any NonHumanIdentity (shadow identity): nothing bounds what it may hold.",
      ),
    );
  }
  out.push("", bold("Effective permissions (and the scope that covers each)"));
  if (e.grants.length === 0) out.push("  none: no binding in these manifests reaches it");
  for (const g of e.grants) {
    const viaGroup = g.via.slice("group:".length);
    const via =
      g.via === "serviceaccount" || viaGroup === e.group?.name ? "" : ` (as member of ${viaGroup})`;
    out.push(
      `  ${g.binding}${at(g.bindingLocation)} → ${g.role}${at(g.roleLocation)}${via}${g.clusterDefault ? " — every identity holds this (Kubernetes default binding)" : ""}`,
    );
    for (const r of g.rules) {
      let cover = "";
      if (e.nhi && !g.clusterDefault)
        cover =
          r.uncovered.length === 0
            ? green(`  ✓ scopes[${r.coveredBy.join(",")}]`)
            : red(
                `  ✗ not in scopes: ${r.uncovered.slice(0, 3).join("; ")}${r.uncovered.length > 3 ? ` (+${r.uncovered.length - 3})` : ""}`,
              );
      out.push(`      ${r.text}${cover}`);
    }
  }
  out.push("", bold("Escalation catalogue"));
  if (e.catalogue.length === 0) out.push("  no catalogue entry reached");
  for (const c of e.catalogue) {
    const sev = c.severity === "critical" ? red(`[${c.severity}]`) : `[${c.severity}]`;
    out.push(
      `  ${sev} ${c.id} — ${c.title}, ${c.where}`,
      `      through ${c.through.join("; ")}`,
      `      ${c.why}`,
      `      fix: ${c.fix}`,
    );
  }
  if (e.nhi) {
    out.push("", bold(`Scopes of NonHumanIdentity ${e.nhi.namespace}/${e.nhi.name}`));
    if (e.nhi.scopes.length === 0) out.push("  [] (no API access)");
    for (const s of e.nhi.scopes)
      out.push(`  [${s.index}] ${s.text}${s.used ? "" : "  (not used by any grant)"}`);
    if (e.beyondScopes.length > 0) {
      out.push("", red(bold(`Beyond its scopes (${e.beyondScopes.length})`)));
      for (const b of e.beyondScopes) out.push(`  ${b}`);
    }
  }
  const r = e.blastRadius;
  const admin =
    r.clusterAdminHops !== undefined
      ? red(`cluster-admin in ${r.clusterAdminHops} hop${r.clusterAdminHops === 1 ? "" : "s"}`)
      : "not cluster-admin";
  out.push(
    "",
    bold("Attack paths (identity graph)"),
    `  blast radius: ${r.identities} other identit${r.identities === 1 ? "y" : "ies"}, ${admin}`,
  );
  for (const p of r.paths) {
    out.push(`  to ${p.to} (${p.length} hop${p.length === 1 ? "" : "s"}):`);
    for (const h of p.hops) out.push(`    ${h}`);
  }
  return `${out.join("\n")}\n`;
}

// `nhictl graph`: the identity graph (core/graph) of manifests, optionally over the live cluster, as
// attack paths in text (one line per hop), JSON, Graphviz dot, Mermaid, or one self-contained HTML
// page. The graph and every path come from core/graph; this file selects and renders them.
import {
  CLUSTER_ADMIN,
  IdentityGraph,
  blastRadius,
  hopCount,
  pathTo,
  summarize,
  type GraphNode,
  type Hop,
  type RadiusSummary,
} from "../core/graph/index.js";
import { memberGroup, parseGroupIdentity } from "../core/rbac/groups.js";
import type { ClusterSnapshot } from "../core/snapshot.js";
import { prepare } from "./check.js";
import { parseServiceAccountArg } from "./explain.js";
import { renderGraphHtml } from "./graph-html.js";
import type { ManifestSet } from "./snapshot.js";

export const GRAPH_FORMATS = ["text", "json", "dot", "mermaid", "html"] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

export type Risk = "critical" | "high" | "medium" | "low";

export interface ReportNode extends GraphNode {
  risk: Risk;
}

export interface ReportPath {
  to: string;
  hops: Hop[];
  /** Hops an attacker takes (group membership is none). */
  length: number;
}

export interface ReportIdentity {
  id: string;
  label: string;
  risk: Risk;
  summary: RadiusSummary;
  /** Shortest path to each identity reached, and to cluster-admin (first when reached). */
  paths: ReportPath[];
}

export interface GraphReport {
  nodes: ReportNode[];
  edges: Hop[];
  /** The identities paths start from (--from, or every identity holding a capability), riskiest first. */
  identities: ReportIdentity[];
}

/** Parse --from / --to: "ns/name", "system:serviceaccount:ns:name", a member group, or "cluster-admin". */
export function parseNodeArg(arg: string): string | undefined {
  if (arg === CLUSTER_ADMIN) return CLUSTER_ADMIN;
  const group = memberGroup(arg) ?? parseGroupIdentity(arg);
  if (group) return `group:${group.name}`;
  const sa = parseServiceAccountArg(arg);
  return sa ? `sa:${sa.namespace}/${sa.name}` : undefined;
}

const RISK_ORDER: Record<Risk, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/** What holding this identity's token exposes: cluster-admin, other identities, credentials or workloads, or nothing. */
export function riskOf(s: RadiusSummary): Risk {
  if (s.clusterAdminHops !== undefined) return "critical";
  if (s.identities > 0) return "high";
  if (s.secrets + s.workloads > 0) return "medium";
  return "low";
}

export interface GraphOptions {
  now: Date;
  cluster?: ClusterSnapshot;
  from?: string;
  to?: string;
}

export function buildGraphReport(set: ManifestSet, options: GraphOptions): GraphReport {
  const judged = prepare(set, {
    policies: [],
    strict: false,
    now: options.now,
    ...(options.cluster ? { cluster: options.cluster } : {}),
  });
  const graph = IdentityGraph.fromSnapshot(judged.merged, judged.index);
  return graphReport(graph, options);
}

export function graphReport(
  graph: IdentityGraph,
  options: Pick<GraphOptions, "from" | "to">,
): GraphReport {
  const sources = options.from !== undefined ? [options.from] : graph.holders();
  const identities: ReportIdentity[] = [];
  const nodeIds = new Set<string>();
  const risks = new Map<string, Risk>();
  for (const source of sources) {
    const radius = blastRadius(graph, source);
    const summary = summarize(radius, graph);
    const risk = riskOf(summary);
    risks.set(source, risk);
    const targets =
      options.to !== undefined
        ? [options.to]
        : [...radius.reached.keys()].filter(
            (id) =>
              id !== source &&
              (id === CLUSTER_ADMIN || id.startsWith("sa:") || id.startsWith("group:")),
          );
    const paths: ReportPath[] = [];
    for (const to of targets) {
      const hops = pathTo(radius, to);
      if (hops === undefined || hops.length === 0) continue;
      paths.push({ to, hops, length: hopCount(hops) });
    }
    paths.sort((a, b) =>
      a.to === CLUSTER_ADMIN
        ? -1
        : b.to === CLUSTER_ADMIN
          ? 1
          : a.length - b.length || a.to.localeCompare(b.to),
    );
    if (options.to !== undefined && paths.length === 0 && options.from === undefined) continue;
    identities.push({
      id: source,
      label: graph.node(source)?.label ?? source,
      risk,
      summary,
      paths,
    });
    nodeIds.add(source);
    for (const p of paths)
      for (const h of p.hops) {
        nodeIds.add(h.from);
        nodeIds.add(h.to);
      }
  }
  identities.sort(
    (a, b) =>
      RISK_ORDER[a.risk] - RISK_ORDER[b.risk] ||
      b.summary.identities - a.summary.identities ||
      a.id.localeCompare(b.id),
  );
  // The drawn graph: every node on a path, and every edge between them.
  const edges: Hop[] = [];
  for (const id of [...nodeIds].sort())
    for (const h of graph.edgesFrom(id)) if (nodeIds.has(h.to)) edges.push(h);
  const nodes: ReportNode[] = [...nodeIds].sort().map((id) => {
    const node = graph.node(id) ?? { id, kind: "ServiceAccount" as const, label: id };
    let risk: Risk = risks.get(id) ?? "low";
    if (id === CLUSTER_ADMIN) risk = "critical";
    else if (!risks.has(id) && (id.startsWith("sa:") || id.startsWith("group:")))
      risk = riskOf(summarize(blastRadius(graph, id), graph));
    return { ...node, risk };
  });
  return { nodes, edges, identities };
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function summaryText(s: RadiusSummary): string {
  const parts = [`reaches ${plural(s.identities, "identity", "identities")}`];
  if (s.secrets > 0) parts.push(plural(s.secrets, "credential Secret"));
  if (s.workloads > 0) parts.push(plural(s.workloads, "workload"));
  parts.push(
    s.clusterAdminHops !== undefined
      ? `cluster-admin in ${plural(s.clusterAdminHops, "hop")}`
      : "not cluster-admin",
  );
  return parts.join(", ");
}

function label(report: GraphReport, id: string): string {
  return report.nodes.find((n) => n.id === id)?.label ?? id;
}

export function formatGraphText(report: GraphReport): string {
  if (report.identities.length === 0) return "No identity can become another: no attack paths.\n";
  const lines: string[] = [];
  for (const ident of report.identities) {
    lines.push(`${ident.label} [${ident.risk}]: ${summaryText(ident.summary)}`);
    for (const p of ident.paths) {
      lines.push(`  to ${label(report, p.to)} (${plural(p.length, "hop")}):`);
      for (const h of p.hops) {
        lines.push(`    ${label(report, h.from)} —${h.permission}→ ${label(report, h.to)}`);
        if (h.kind !== "member-of")
          lines.push(
            `        ${h.kind}: ${h.technique}${h.through.length > 0 ? ` (through ${h.through.join("; ")})` : ""}`,
          );
      }
    }
    lines.push("");
  }
  return `${lines.join("\n")}`;
}

const RISK_COLOUR: Record<Risk, string> = {
  critical: "#d62728",
  high: "#ff7f0e",
  medium: "#bcbd22",
  low: "#2ca02c",
};

const dotId = (id: string): string => JSON.stringify(id);
const dotLabel = (s: string): string => JSON.stringify(s);

export function formatGraphDot(report: GraphReport): string {
  const lines = [
    "digraph identities {",
    "  rankdir=LR;",
    '  node [style=filled, fontname="Helvetica", fontcolor=white];',
    '  edge [fontname="Helvetica", fontsize=10];',
  ];
  for (const n of report.nodes) {
    const shape =
      n.kind === "ServiceAccount"
        ? "ellipse"
        : n.kind === "Group"
          ? "doubleoctagon"
          : n.kind === "ClusterAdmin"
            ? "octagon"
            : n.kind === "Secret"
              ? "note"
              : "box";
    lines.push(
      `  ${dotId(n.id)} [label=${dotLabel(n.label)}, shape=${shape}, fillcolor=${dotLabel(RISK_COLOUR[n.risk])}, tooltip=${dotLabel(`${n.kind}, risk ${n.risk}`)}];`,
    );
  }
  for (const e of report.edges)
    lines.push(
      `  ${dotId(e.from)} -> ${dotId(e.to)} [label=${dotLabel(e.permission)}, tooltip=${dotLabel(`${e.kind}: ${e.technique}`)}];`,
    );
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

export function formatGraphMermaid(report: GraphReport): string {
  const ids = new Map(report.nodes.map((n, i) => [n.id, `n${i}`]));
  // Mermaid labels: quotes and brackets would end them.
  const text = (s: string): string => s.replace(/["[\]{}|<>]/g, (c) => `#${c.charCodeAt(0)};`);
  const lines = ["flowchart LR"];
  for (const n of report.nodes) {
    const id = ids.get(n.id) as string;
    const l = text(n.label);
    lines.push(
      n.kind === "Group"
        ? `  ${id}{{"${l}"}}`
        : n.kind === "ClusterAdmin"
          ? `  ${id}(("${l}"))`
          : n.kind === "ServiceAccount"
            ? `  ${id}(["${l}"])`
            : `  ${id}["${l}"]`,
    );
  }
  for (const e of report.edges)
    lines.push(
      `  ${ids.get(e.from) as string} -->|"${text(e.permission)}"| ${ids.get(e.to) as string}`,
    );
  for (const risk of ["critical", "high", "medium", "low"] as const) {
    const members = report.nodes.filter((n) => n.risk === risk).map((n) => ids.get(n.id) as string);
    if (members.length === 0) continue;
    lines.push(`  classDef ${risk} fill:${RISK_COLOUR[risk]},color:#fff`);
    lines.push(`  class ${members.join(",")} ${risk}`);
  }
  return `${lines.join("\n")}\n`;
}

export function formatGraph(report: GraphReport, format: GraphFormat): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(report, null, 2)}\n`;
    case "dot":
      return formatGraphDot(report);
    case "mermaid":
      return formatGraphMermaid(report);
    case "html":
      return renderGraphHtml(report);
    default:
      return formatGraphText(report);
  }
}

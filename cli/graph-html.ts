// `nhictl graph --format html`: one self-contained page (inline CSS and JS, the report as inline
// JSON, a Content-Security-Policy that forbids every fetch) that draws the identity graph as SVG,
// coloured by risk; clicking an identity shows its blast radius and the paths to everything it reaches.
import type { GraphReport } from "./graph.js";

interface Placed {
  id: string;
  x: number;
  y: number;
}

const COL_WIDTH = 260;
const ROW_HEIGHT = 64;
const MARGIN = 40;

/** Columns by the fewest hops from any starting identity (identities first), rows in label order. */
function layout(report: GraphReport): { placed: Placed[]; width: number; height: number } {
  const column = new Map<string, number>();
  for (const ident of report.identities) column.set(ident.id, 0);
  for (const ident of report.identities) {
    for (const p of ident.paths) {
      p.hops.forEach((h, i) => {
        const c = column.get(h.to);
        if (c === undefined || c > i + 1) column.set(h.to, i + 1);
      });
    }
  }
  const byColumn = new Map<number, string[]>();
  for (const n of report.nodes) {
    const c = column.get(n.id) ?? 0;
    byColumn.set(c, [...(byColumn.get(c) ?? []), n.id]);
  }
  const labels = new Map(report.nodes.map((n) => [n.id, n.label]));
  const placed: Placed[] = [];
  let rows = 0;
  const cols = [...byColumn.keys()].sort((a, b) => a - b);
  cols.forEach((c, ci) => {
    const ids = (byColumn.get(c) ?? []).sort((a, b) =>
      (labels.get(a) ?? a).localeCompare(labels.get(b) ?? b),
    );
    rows = Math.max(rows, ids.length);
    ids.forEach((id, r) =>
      placed.push({ id, x: MARGIN + ci * COL_WIDTH, y: MARGIN + r * ROW_HEIGHT }),
    );
  });
  return {
    placed,
    width: MARGIN * 2 + Math.max(1, cols.length) * COL_WIDTH,
    height: MARGIN * 2 + Math.max(1, rows) * ROW_HEIGHT,
  };
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** JSON safe inside <script>: no "</script", no "<!--", and U+2028/2029 escaped. */
const inlineJson = (x: unknown): string =>
  JSON.stringify(x)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");

const STYLE = `
body { font-family: Helvetica, Arial, sans-serif; margin: 0; display: flex; height: 100vh; color: #222; }
#canvas { flex: 1; overflow: auto; background: #fafafa; }
#details { width: 460px; overflow: auto; border-left: 1px solid #ccc; padding: 12px 16px; font-size: 13px; }
#details h2 { font-size: 16px; margin: 4px 0 8px; }
.node rect { stroke: #333; stroke-width: 1; rx: 8; }
.node text { fill: #fff; font-size: 11px; pointer-events: none; }
.node.identity { cursor: pointer; }
.node.selected rect { stroke: #000; stroke-width: 3; }
.edge line { stroke: #999; stroke-width: 1.2; }
.edge.on line { stroke: #000; stroke-width: 2.5; }
.edge text { font-size: 9px; fill: #555; display: none; }
.edge.on text { display: inline; fill: #000; }
.risk-critical { fill: #d62728; } .risk-high { fill: #ff7f0e; } .risk-medium { fill: #8c8c00; } .risk-low { fill: #2ca02c; }
.badge { display: inline-block; padding: 1px 6px; border-radius: 4px; color: #fff; font-size: 11px; }
.badge.critical { background: #d62728; } .badge.high { background: #ff7f0e; } .badge.medium { background: #8c8c00; } .badge.low { background: #2ca02c; }
.path { margin: 8px 0; padding: 6px 8px; background: #f4f4f4; border-radius: 4px; }
.hop { margin: 2px 0 2px 8px; font-family: monospace; font-size: 12px; }
.legend { font-size: 12px; margin-bottom: 8px; }
`;

// The page's script: reads the inline report, wires clicks, fills the details panel. No fetch, no eval.
const SCRIPT = `
(function () {
  var report = JSON.parse(document.getElementById("graph-data").textContent);
  var byId = {}; report.nodes.forEach(function (n) { byId[n.id] = n; });
  var identities = {}; report.identities.forEach(function (i) { identities[i.id] = i; });
  var details = document.getElementById("details");
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  function labelOf(id) { return byId[id] ? byId[id].label : id; }
  function select(id) {
    var ident = identities[id];
    document.querySelectorAll(".node.selected").forEach(function (n) { n.classList.remove("selected"); });
    document.querySelectorAll(".edge.on").forEach(function (e) { e.classList.remove("on"); });
    var node = document.querySelector('.node[data-id="' + CSS.escape(id) + '"]');
    if (node) node.classList.add("selected");
    details.textContent = "";
    var h = el("h2", null, labelOf(id) + " ");
    var risk = ident ? ident.risk : (byId[id] ? byId[id].risk : "low");
    h.appendChild(el("span", "badge " + risk, risk));
    details.appendChild(h);
    if (!ident) { details.appendChild(el("p", null, "Reached by the identities on the left; it starts no path of its own here.")); return; }
    var s = ident.summary;
    var sum = el("p", "summary");
    sum.textContent = "Blast radius: " + s.identities + " identities, " + s.secrets + " credential Secrets, " + s.workloads + " workloads; " +
      (s.clusterAdminHops !== undefined ? "cluster-admin in " + s.clusterAdminHops + " hop" + (s.clusterAdminHops === 1 ? "" : "s") : "not cluster-admin") + ".";
    details.appendChild(sum);
    var list = el("div", "paths");
    ident.paths.forEach(function (p) {
      var box = el("div", "path");
      box.setAttribute("data-to", p.to);
      box.appendChild(el("div", "to", "to " + labelOf(p.to) + " (" + p.length + " hop" + (p.length === 1 ? "" : "s") + ")"));
      p.hops.forEach(function (hop) {
        box.appendChild(el("div", "hop", labelOf(hop.from) + " \\u2014" + hop.permission + "\\u2192 " + labelOf(hop.to)));
        var e = document.querySelector('.edge[data-from="' + CSS.escape(hop.from) + '"][data-to="' + CSS.escape(hop.to) + '"]');
        if (e) e.classList.add("on");
      });
      list.appendChild(box);
    });
    details.appendChild(list);
  }
  document.querySelectorAll(".node").forEach(function (n) {
    n.addEventListener("click", function () { select(n.getAttribute("data-id")); });
  });
  window.nhiSelect = select;
})();
`;

export function renderGraphHtml(report: GraphReport): string {
  const { placed, width, height } = layout(report);
  const at = new Map(placed.map((p) => [p.id, p]));
  const identityIds = new Set(report.identities.map((i) => i.id));
  const NODE_W = 200;
  const NODE_H = 36;
  const edges = report.edges.map((e) => {
    const a = at.get(e.from);
    const b = at.get(e.to);
    if (a === undefined || b === undefined) return "";
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x;
    const y2 = b.y + NODE_H / 2;
    return `<g class="edge" data-from="${escapeHtml(e.from)}" data-to="${escapeHtml(e.to)}" data-kind="${escapeHtml(e.kind)}"><line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" marker-end="url(#arrow)"><title>${escapeHtml(`${e.permission} — ${e.kind}: ${e.technique}`)}</title></line><text x="${(x1 + x2) / 2}" y="${(y1 + y2) / 2 - 4}" text-anchor="middle">${escapeHtml(e.permission)}</text></g>`;
  });
  const nodes = report.nodes.map((n) => {
    const p = at.get(n.id) as Placed;
    const short = n.label.length > 32 ? `${n.label.slice(0, 31)}…` : n.label;
    const cls = `node${identityIds.has(n.id) ? " identity" : ""}`;
    return `<g class="${cls}" data-id="${escapeHtml(n.id)}" data-kind="${n.kind}" data-risk="${n.risk}" transform="translate(${p.x},${p.y})"><rect class="risk-${n.risk}" width="${NODE_W}" height="${NODE_H}"></rect><text x="8" y="22">${escapeHtml(short)}</text><title>${escapeHtml(`${n.kind} ${n.label} — risk ${n.risk}`)}</title></g>`;
  });
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>nhictl graph — identity graph and blast radius</title>
<style>${STYLE}</style>
</head>
<body>
<div id="canvas">
<svg xmlns="http://www.w3.org/2000/svg" id="graph" width="${width}" height="${height}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#666"></path></marker></defs>
${edges.join("\n")}
${nodes.join("\n")}
</svg>
</div>
<div id="details">
<h2>Identity graph</h2>
<p class="legend"><span class="badge critical">critical</span> reaches cluster-admin <span class="badge high">high</span> becomes other identities <span class="badge medium">medium</span> reads credentials or workloads <span class="badge low">low</span> nothing further</p>
<p>${report.identities.length} identities start attack paths; ${report.nodes.length} nodes, ${report.edges.length} edges. Click an identity to see its blast radius and paths.</p>
</div>
<script type="application/json" id="graph-data">${inlineJson(report)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

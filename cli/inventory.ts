// `nhictl inventory`: which ServiceAccounts exist, which NHI claims each (or none: shadow), which NHIs
// govern an account that does not exist (orphaned), and the catalogue entries each account reaches.
// The operator's full inventory model (risk, usage, credential health) is computed by the operator;
// `--endpoint` prints that. Offline this is the basic claimed/shadow/orphaned view of a snapshot.
import { catalogueHits } from "../core/policy/catalogue-hits.js";
import { emptySnapshot, type ClusterSnapshot } from "../core/snapshot.js";
import { podTemplateOf, serviceAccountOf } from "../core/workloads/pod-template.js";
import { prepare } from "./check.js";
import type { ManifestSet } from "./snapshot.js";

export interface InventoryEntry {
  namespace: string;
  serviceAccount: string;
  status: "claimed" | "shadow" | "orphaned";
  nhi?: string;
  owner?: string;
  /** Workloads that run as it. */
  workloads: number;
  /** Catalogue ids its effective permissions reach ("id@namespace"). */
  catalogue: string[];
}

export interface Inventory {
  source: string;
  items: InventoryEntry[];
  summary: { serviceAccounts: number; claimed: number; shadow: number; orphaned: number };
}

export function inventoryFromSnapshot(set: ManifestSet, cluster: ClusterSnapshot | undefined, now: Date): Inventory {
  const judged = prepare(set, { policies: [], strict: false, now, cluster: cluster ?? emptySnapshot() });
  const { merged, directory, lookups } = judged;
  const runs = new Map<string, number>();
  for (const w of merged.workloads) {
    const t = podTemplateOf(w);
    if (!t) continue;
    const k = `${w.metadata.namespace ?? "default"}/${serviceAccountOf(t.spec)}`;
    runs.set(k, (runs.get(k) ?? 0) + 1);
  }
  const items: InventoryEntry[] = [];
  const seen = new Set<string>();
  for (const sa of merged.serviceAccounts) {
    const ref = { namespace: sa.metadata.namespace ?? "default", name: sa.metadata.name };
    const key = `${ref.namespace}/${ref.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const nhi = directory.nhiFor(ref);
    const hits = catalogueHits(lookups.index.grantsOf(ref)).map((h) => `${h.entry.id}@${h.namespace === "*" ? "cluster" : h.namespace}`);
    items.push({
      namespace: ref.namespace, serviceAccount: ref.name, status: nhi ? "claimed" : "shadow",
      ...(nhi ? { nhi: nhi.metadata.name, owner: nhi.spec.owner.team } : {}),
      workloads: runs.get(key) ?? 0, catalogue: hits,
    });
  }
  for (const nhi of merged.nhis) {
    const key = `${nhi.metadata.namespace ?? "default"}/${nhi.spec.serviceAccountName}`;
    if (seen.has(key)) continue;
    seen.add(key);
    items.push({ namespace: nhi.metadata.namespace ?? "default", serviceAccount: nhi.spec.serviceAccountName, status: "orphaned", nhi: nhi.metadata.name, owner: nhi.spec.owner.team, workloads: runs.get(key) ?? 0, catalogue: [] });
  }
  items.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.serviceAccount.localeCompare(b.serviceAccount));
  const count = (s: InventoryEntry["status"]): number => items.filter((i) => i.status === s).length;
  return {
    source: cluster ? "cluster (computed by nhictl)" : "manifests (computed by nhictl)",
    items,
    summary: { serviceAccounts: items.filter((i) => i.status !== "orphaned").length, claimed: count("claimed"), shadow: count("shadow"), orphaned: count("orphaned") },
  };
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/** GET the operator's inventory endpoint. The body is passed through; the table reads the common fields. */
export async function inventoryFromEndpoint(url: string): Promise<Inventory> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(15_000) });
  } catch (e) {
    throw new Error(`cannot reach the inventory endpoint ${url}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!res.ok) throw new Error(`inventory endpoint ${url} answered HTTP ${res.status}`);
  const body: unknown = await res.json();
  const rawItems = Array.isArray(body) ? body : isRecord(body) && Array.isArray(body.items) ? body.items : [];
  const items = rawItems.filter(isRecord).map((i): InventoryEntry => {
    const s = (k: string): string | undefined => (typeof i[k] === "string" ? i[k] : undefined);
    const status = s("status") ?? s("phase") ?? "";
    return {
      namespace: s("namespace") ?? "", serviceAccount: s("serviceAccount") ?? s("serviceAccountName") ?? s("name") ?? "",
      status: status === "claimed" || status === "orphaned" ? status : status === "" ? "shadow" : (status.toLowerCase() as InventoryEntry["status"]),
      ...(s("nhi") ? { nhi: s("nhi") } : {}), ...(s("owner") ? { owner: s("owner") } : {}),
      workloads: typeof i.workloads === "number" ? i.workloads : 0,
      catalogue: Array.isArray(i.catalogue) ? i.catalogue.filter((c): c is string => typeof c === "string") : [],
    };
  });
  const count = (st: string): number => items.filter((x) => x.status === st).length;
  return { source: url, items, summary: { serviceAccounts: items.length, claimed: count("claimed"), shadow: count("shadow"), orphaned: count("orphaned") } };
}

export function formatInventoryTable(inv: Inventory): string {
  const header = ["NAMESPACE", "SERVICEACCOUNT", "STATUS", "NHI", "OWNER", "WORKLOADS", "CATALOGUE"];
  const rows = inv.items.map((i) => [i.namespace, i.serviceAccount, i.status, i.nhi ?? "-", i.owner ?? "-", String(i.workloads), i.catalogue.join(",") || "-"]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]): string => r.map((x, c) => (c === r.length - 1 ? x : x.padEnd(widths[c] ?? 0))).join("  ");
  const s = inv.summary;
  return `${[line(header), ...rows.map(line)].join("\n")}\n\n${s.serviceAccounts} ServiceAccounts: ${s.claimed} claimed, ${s.shadow} shadow; ${s.orphaned} orphaned NHIs (source: ${inv.source})\n`;
}

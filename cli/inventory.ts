// `nhictl inventory`: the operator's own inventory model (core/inventory buildInventory: claimed or
// shadow, phase, risk, workloads, legacy tokens, excess permissions, catalogue hits, credentials),
// in the document the operator serves at GET /inventory (inventoryDocument). Offline (manifests)
// and with --cluster it is computed here with the same function over the same snapshot shape; with
// --endpoint it is read from the operator. Either way the JSON is that one document.
import { IdentityGraph } from "../core/graph/graph.js";
import { buildInventory } from "../core/inventory/inventory.js";
import { ADMISSION_DEFAULTS, resolvePolicy } from "../core/policy/settings.js";
import {
  emptySnapshot,
  indexSnapshot,
  overlaySnapshot,
  type ClusterSnapshot,
} from "../core/snapshot.js";
import {
  inventoryDocument,
  type InventoryDocument,
  type InventoryIdentity,
} from "../core/inventory/document.js";
import type { GroupRecord } from "../core/inventory/inventory.js";
import type { TlsCertificateRecord } from "../core/inventory/tls.js";
import { definedBy, type ManifestSet } from "./snapshot.js";
import { isRecord } from "../core/json.js";

export type { InventoryDocument, InventoryIdentity };

export interface InventoryResult {
  /** Where it came from: the endpoint's URL, or what nhictl computed it from. */
  source: string;
  document: InventoryDocument;
}

/**
 * The manifests over the cluster (when given): the manifests replace the cluster's objects of the
 * same kind, namespace and name, as with check. The policy is what the operator resolves: the
 * admission defaults and the NHIPolicies present.
 */
export function inventoryFromSnapshot(
  set: ManifestSet,
  cluster: ClusterSnapshot | undefined,
  now: Date,
  namespace?: string,
): InventoryResult {
  const merged = overlaySnapshot(cluster ?? emptySnapshot(), set.snapshot, definedBy(set));
  const index = indexSnapshot(merged);
  const policy = resolvePolicy(merged.policies, ADMISSION_DEFAULTS, now);
  // The operator's graph (its cache's) holds ServiceAccounts and RBAC only: the same here, so both
  // compute the same document.
  const graph = IdentityGraph.fromSnapshot({ ...merged, workloads: [], secrets: [] }, index);
  const inv = buildInventory(merged, index, { now: now.getTime(), policy, graph });
  const what = cluster
    ? set.objects.length > 0
      ? "cluster and manifests"
      : "cluster"
    : "manifests";
  return { source: `${what} (computed by nhictl)`, document: inventoryDocument(inv, namespace) };
}

/** Why a replica answered 503: a follower names the leader (NotLeaderAnswer); otherwise the first pass is not done. */
async function unavailableReason(res: Response): Promise<string> {
  const body: unknown = await res.json().catch(() => undefined);
  if (isRecord(body) && body.kind === "NotLeader" && typeof body.error === "string")
    return body.error;
  return "the operator has not finished its first inventory pass";
}

/** GET the operator's inventory endpoint (optionally ?namespace=), and check it is the document we read. */
export async function inventoryFromEndpoint(
  url: string,
  namespace?: string,
): Promise<InventoryResult> {
  const target = new URL(url);
  if (namespace !== undefined) target.searchParams.set("namespace", namespace);
  let res: Response;
  try {
    res = await fetch(target, {
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(15_000),
    });
  } catch (e) {
    throw new Error(
      `cannot reach the inventory endpoint ${url}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (!res.ok)
    throw new Error(
      `inventory endpoint ${url} answered HTTP ${res.status}${res.status === 503 ? ` (${await unavailableReason(res)})` : ""}`,
    );
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new Error(`inventory endpoint ${url} did not answer JSON`);
  }
  if (
    !isRecord(body) ||
    body.kind !== "Inventory" ||
    !Array.isArray(body.identities) ||
    !isRecord(body.summary)
  ) {
    throw new Error(
      `inventory endpoint ${url} answered something other than an nhi.io/v1alpha1 Inventory document`,
    );
  }
  const identities = body.identities.filter(
    (i): i is InventoryIdentity =>
      isRecord(i) &&
      typeof i.namespace === "string" &&
      typeof i.name === "string" &&
      typeof i.phase === "string",
  );
  // An operator of an earlier version serves no groups and no TLS inventory.
  const groups = (Array.isArray(body.groups) ? body.groups : []).filter(
    (g): g is GroupRecord =>
      isRecord(g) && typeof g.group === "string" && typeof g.members === "string",
  );
  const tlsCertificates = (Array.isArray(body.tlsCertificates) ? body.tlsCertificates : []).filter(
    (t): t is TlsCertificateRecord =>
      isRecord(t) &&
      typeof t.namespace === "string" &&
      typeof t.secretName === "string" &&
      typeof t.health === "string" &&
      Array.isArray(t.serviceAccounts) &&
      Array.isArray(t.workloads),
  );
  return {
    source: url,
    document: { ...(body as unknown as InventoryDocument), identities, groups, tlsCertificates },
  };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]): string =>
    r.map((x, c) => (c === r.length - 1 ? x : x.padEnd(widths[c] ?? 0))).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}

export function formatInventoryTable(result: InventoryResult): string {
  const doc = result.document;
  const tls = doc.tlsCertificates.map((t) => [
    t.namespace,
    t.secretName,
    t.health,
    t.notAfter ?? "-",
    t.serviceAccounts.join(",") || "-",
    t.workloads.join(",") || "-",
    t.nhi !== undefined ? `${t.nhi}/${t.credential ?? ""}` : t.managedBy.join(",") || "-",
  ]);
  const tlsTable =
    tls.length > 0
      ? `\n${table(["NAMESPACE", "TLS SECRET", "HEALTH", "NOT AFTER", "HELD BY", "WORKLOADS", "DECLARED BY / MANAGED BY"], tls)}\n`
      : "";
  const header = [
    "NAMESPACE",
    "SERVICEACCOUNT",
    "NHI",
    "PHASE",
    "RISK",
    "BLAST-RADIUS",
    "OWNER",
    "PODS",
    "WORKLOADS",
    "CATALOGUE",
  ];
  const rows = doc.identities.map((i) => {
    const catalogue = [
      ...new Set(
        (i.catalogue ?? []).map(
          (h) =>
            `${h.id}@${h.namespace === "*" ? "cluster" : h.namespace}${h.exempt ? "(exempt)" : ""}`,
        ),
      ),
    ];
    const risk = i.risk?.level !== undefined ? `${i.risk.level}(${i.risk.score ?? 0})` : "-";
    const r = i.blastRadius;
    const radius =
      r === undefined || (r.identities === 0 && r.clusterAdminHops === undefined)
        ? "-"
        : `${r.identities}${r.clusterAdminHops !== undefined ? `,cluster-admin@${r.clusterAdminHops}` : ""}`;
    return [
      i.namespace,
      i.name,
      i.nhi ?? (i.shadow ? "shadow" : "-"),
      i.phase,
      risk,
      radius,
      i.owner?.team ?? "-",
      String(i.pods ?? 0),
      (i.workloads ?? []).join(",") || "-",
      catalogue.join(",") || "-",
    ];
  });
  const phases = Object.entries(doc.summary.byPhase)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([p, n]) => `${n} ${p}`)
    .join(", ");
  const tables = [table(header, rows)];
  const groups = doc.groups ?? [];
  if (groups.length > 0) {
    // Groups hold grants for every member, present and future: listed apart, as what they are.
    tables.push(
      table(
        ["GROUP", "MEMBERS", "STATE", "CATALOGUE"],
        groups.map((g) => [
          g.group,
          g.members,
          g.violating ? "Violating" : "-",
          [
            ...new Set(
              g.catalogue.map(
                (h) =>
                  `${h.id}@${h.namespace === "*" ? "cluster" : h.namespace}${h.exempt ? "(exempt)" : ""}`,
              ),
            ),
          ].join(",") || "-",
        ]),
      ),
    );
  }
  const groupsLine =
    groups.length > 0
      ? `, ${groups.length} member group${groups.length === 1 ? "" : "s"} holding grants`
      : "";
  return `${tables.join("\n\n")}\n\n${doc.summary.identities} identities, ${doc.summary.shadow} shadow${phases ? `; ${phases}` : ""}${groupsLine} (source: ${result.source}, at ${doc.generatedAt})\n${tlsTable}`;
}

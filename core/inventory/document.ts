// The inventory as it leaves the operator (GET /inventory) and as nhictl reads or computes it:
// identities without the reconciler's internal scheduling fields.
import type { GroupRecord, IdentityRecord, Inventory } from "./inventory.js";
import type { TlsCertificateRecord } from "./tls.js";

export type InventoryIdentity = Omit<IdentityRecord, "lifetime" | "nextAt">;

export interface InventoryDocument {
  apiVersion: "nhi.io/v1alpha1";
  kind: "Inventory";
  generatedAt: string;
  summary: { identities: number; shadow: number; byPhase: Record<string, number>; tlsCertificates?: { total: number; byHealth: Record<string, number> } };
  identities: InventoryIdentity[];
  /** Member groups holding grants of their own (every member holds them); with a namespace, those reaching its accounts. */
  groups: GroupRecord[];
  /** Every kubernetes.io/tls Secret: validity, holders, the NHI that declares it. */
  tlsCertificates: TlsCertificateRecord[];
}

export function inventoryDocument(inv: Inventory, namespace?: string): InventoryDocument {
  const identities = inv.identities.filter((r) => namespace === undefined || r.namespace === namespace).map((r): InventoryIdentity => {
    const { lifetime: _l, nextAt: _n, ...rest } = r;
    return rest;
  });
  const byPhase: Record<string, number> = {};
  for (const r of identities) byPhase[r.phase] = (byPhase[r.phase] ?? 0) + 1;
  const tlsCertificates = inv.tlsCertificates.filter((t) => namespace === undefined || t.namespace === namespace);
  const byHealth: Record<string, number> = {};
  for (const t of tlsCertificates) byHealth[t.health] = (byHealth[t.health] ?? 0) + 1;
  return {
    apiVersion: "nhi.io/v1alpha1", kind: "Inventory", generatedAt: inv.at,
    summary: { identities: identities.length, shadow: identities.filter((r) => r.shadow).length, byPhase, tlsCertificates: { total: tlsCertificates.length, byHealth } },
    identities,
    groups: inv.groups.filter((g) => namespace === undefined || g.namespace === namespace || g.namespace === "*"),
    tlsCertificates,
  };
}

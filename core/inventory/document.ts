// The inventory as it leaves the operator (GET /inventory) and as nhictl reads or computes it:
// identities without the reconciler's internal scheduling fields.
import type { GroupRecord, IdentityRecord, Inventory } from "./inventory.js";
import type { TlsCertificateRecord } from "./tls.js";

export type InventoryIdentity = Omit<IdentityRecord, "lifetime" | "nextAt">;

export interface InventoryDocument {
  apiVersion: "nhi.io/v1alpha1";
  kind: "Inventory";
  generatedAt: string;
  summary: {
    identities: number;
    shadow: number;
    byPhase: Record<string, number>;
    tlsCertificates?: { total: number; byHealth: Record<string, number> };
  };
  identities: InventoryIdentity[];
  /** Member groups holding grants of their own (every member holds them); with a namespace, those reaching its accounts. */
  groups: GroupRecord[];
  /** Every kubernetes.io/tls Secret: validity, holders, the NHI that declares it. */
  tlsCertificates: TlsCertificateRecord[];
}

export function inventoryDocument(inv: Inventory, namespace?: string): InventoryDocument {
  const identities = inv.identities
    .filter((r) => namespace === undefined || r.namespace === namespace)
    .map((r): InventoryIdentity => {
      const { lifetime: _l, nextAt: _n, ...rest } = r;
      return rest;
    });
  const byPhase: Record<string, number> = {};
  for (const r of identities) byPhase[r.phase] = (byPhase[r.phase] ?? 0) + 1;
  const tlsCertificates = inv.tlsCertificates.filter(
    (t) => namespace === undefined || t.namespace === namespace,
  );
  const byHealth: Record<string, number> = {};
  for (const t of tlsCertificates) byHealth[t.health] = (byHealth[t.health] ?? 0) + 1;
  return {
    apiVersion: "nhi.io/v1alpha1",
    kind: "Inventory",
    generatedAt: inv.at,
    summary: {
      identities: identities.length,
      shadow: identities.filter((r) => r.shadow).length,
      byPhase,
      tlsCertificates: { total: tlsCertificates.length, byHealth },
    },
    identities,
    groups: inv.groups.filter(
      (g) => namespace === undefined || g.namespace === namespace || g.namespace === "*",
    ),
    tlsCertificates,
  };
}

/** What a follower knows of the reconcilers' Lease (its last read, at most one retry period old). */
export interface LeaseView {
  namespace: string;
  name: string;
  holderIdentity?: string;
  /** RFC 3339 (MicroTime), the holder's clock: shown, never compared with ours. */
  renewTime?: string;
  leaseDurationSeconds?: number;
  /** When, on this replica's clock, the record last changed: the holder is live until then + leaseDurationSeconds. */
  observedAt?: number;
  /** host:port of the holder's metrics listener, when it could name one. */
  address?: string;
}

/**
 * GET /inventory on a replica that does not hold the Lease: 503 with this body. Which replica
 * answers depends on the Service's load balancing, so a retry may reach the leader; a client pinned
 * to this replica (port-forward, API server proxy) is told which one to ask instead.
 */
export interface NotLeaderAnswer {
  apiVersion: "nhi.io/v1alpha1";
  kind: "NotLeader";
  error: string;
  lease: { namespace: string; name: string };
  /** The replica holding a live Lease; absent while none does (an election is under way). */
  leader?: {
    identity: string;
    /** The identity's part before "_": the pod name ($POD_NAME) in a cluster, the host name outside. */
    pod?: string;
    /** host:port of its metrics listener ($POD_IP in a cluster): GET http://<address>/inventory. */
    address?: string;
    renewTime?: string;
  };
}

/** The pod (or host) name an identity "<pod>_<random>" starts with; undefined for other identities. */
export function identityPod(identity: string): string | undefined {
  const m = /^([a-z0-9]([a-z0-9.-]*[a-z0-9])?)_[A-Za-z0-9-]+$/.exec(identity);
  return m?.[1];
}

export function notLeaderAnswer(lease: LeaseView, now: number): NotLeaderAnswer {
  const ref = `Lease ${lease.namespace}/${lease.name}`;
  const live =
    lease.holderIdentity !== undefined &&
    lease.holderIdentity !== "" &&
    lease.observedAt !== undefined &&
    lease.observedAt + (lease.leaseDurationSeconds ?? 0) * 1000 > now;
  const base = {
    apiVersion: "nhi.io/v1alpha1",
    kind: "NotLeader",
    lease: { namespace: lease.namespace, name: lease.name },
  } as const;
  if (!live || lease.holderIdentity === undefined) {
    return {
      ...base,
      error: `this replica is not the leader and no replica holds ${ref} right now (an election is under way): retry shortly`,
    };
  }
  const identity = lease.holderIdentity;
  const pod = identityPod(identity);
  const where = `${pod !== undefined ? `pod ${pod}` : identity}${lease.address ? ` at http://${lease.address}/inventory` : ""}`;
  return {
    ...base,
    error: `this replica is not the leader: the inventory is served by the holder of ${ref}, ${where}`,
    leader: {
      identity,
      ...(pod !== undefined ? { pod } : {}),
      ...(lease.address ? { address: lease.address } : {}),
      ...(lease.renewTime ? { renewTime: lease.renewTime } : {}),
    },
  };
}

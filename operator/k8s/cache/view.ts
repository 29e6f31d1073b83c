// What the webhook and the reconcilers read from the cluster: lookups over an in-memory view, never a
// call to the API server. ClusterCache (informers) implements both interfaces; tests and the
// benchmark fill a ClusterView from a static snapshot.
import type { NHIPolicy } from "../../../core/nhi/types.js";
import type { ClusterLookups } from "../../../core/policy/workload.js";
import {
  ADMISSION_DEFAULTS,
  resolvePolicy,
  type EffectivePolicy,
} from "../../../core/policy/settings.js";
import type { IdentityGraph } from "../../../core/graph/graph.js";
import type { EffectivePermissionIndex } from "../../../core/rbac/effective.js";
import type { Grant, ServiceAccountRef } from "../../../core/rbac/types.js";
import type { ClusterSnapshot, IdentityDirectory } from "../../../core/snapshot.js";

export interface ClusterView extends ClusterLookups {
  index: EffectivePermissionIndex;
  directory: IdentityDirectory;
  /** The NHIPolicies resolved over the admission defaults, with exemptions lapsed at `now`. */
  policyAt(now: Date): EffectivePolicy;
  /** True once every watched kind has been listed. */
  synced(): boolean;
  /**
   * The identity graph (core/graph) over the view's ServiceAccounts and RBAC, sharing `index` and
   * kept up to date with it; absent: the transitive-escalation check is not run.
   */
  identityGraph?(): IdentityGraph;
}

export interface ObjectChange {
  kind: string;
  namespace?: string;
  name: string;
}

/**
 * What the reconcilers read: the whole cluster as a snapshot (Secrets as metadata and type, Pods and
 * workloads trimmed to what the decisions read) and the grants of each ServiceAccount and member group.
 */
export interface InventorySource {
  snapshot(): ClusterSnapshot;
  grantsOf(sa: ServiceAccountRef): Grant[];
  /** Member groups some binding names, and what every member holds through each (core/rbac/groups.ts). */
  memberGroups(): string[];
  grantsOfGroup(group: string): Grant[];
  /** True once every kind the inventory reads (workloads and all Secrets included) has been listed. */
  inventorySynced(): boolean;
  /** The identity graph over ServiceAccounts and RBAC (ClusterView.identityGraph), for blast radii. */
  identityGraph?(): IdentityGraph;
  /** Called after the view changed, once per changed object (no I/O in listeners). */
  onChange(listener: (c: ObjectChange) => void): () => void;
}

/**
 * Memoises resolvePolicy: recomputed when the policies change or when `now` passes the earliest
 * exemption expiry (so a lapsing exemption lapses on time without resolving per request).
 */
export class PolicyResolver {
  private cached: { version: number; validUntil: number; value: EffectivePolicy } | undefined;
  private version = 0;
  private policies: NHIPolicy[] = [];

  constructor(private readonly base: EffectivePolicy = ADMISSION_DEFAULTS) {}

  set(policies: NHIPolicy[]): void {
    this.policies = policies;
    this.version++;
  }

  at(now: Date): EffectivePolicy {
    const t = now.getTime();
    const c = this.cached;
    if (c && c.version === this.version && t < c.validUntil) return c.value;
    const value = resolvePolicy(this.policies, this.base, now);
    const expiries = this.policies
      .flatMap((p) =>
        (p.spec.exemptions ?? []).map((e) => (e.expiresAt ? Date.parse(e.expiresAt) : Number.NaN)),
      )
      .filter((x) => !Number.isNaN(x) && x > t);
    this.cached = {
      version: this.version,
      validUntil: expiries.length > 0 ? Math.min(...expiries) : Number.POSITIVE_INFINITY,
      value,
    };
    return value;
  }
}

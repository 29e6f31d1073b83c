// The one shape every edge fills: the operator from informers, the CLI from manifests on disk.
// Secrets appear as metadata and type only: the core never sees a secret value.
import { EffectivePermissionIndex } from "./rbac/effective.js";
import type { ObjectMeta, RbacObject, ScopedRule, ServiceAccountRef } from "./rbac/types.js";
import type { NHIPolicy, NonHumanIdentity } from "./nhi/types.js";
import type { GoverningIdentity } from "./policy/rbac-write.js";

/** The type of a legacy, non-expiring ServiceAccount token Secret, filled by the token controller. */
export const SERVICE_ACCOUNT_TOKEN_TYPE = "kubernetes.io/service-account-token";
/** The annotation naming the ServiceAccount a token Secret belongs to. */
export const SERVICE_ACCOUNT_NAME_ANNOTATION = "kubernetes.io/service-account.name";
/** The type of a Secret holding a certificate (tls.crt) and its key (tls.key). */
export const TLS_SECRET_TYPE = "kubernetes.io/tls";

export interface NamespaceObject {
  apiVersion?: string;
  kind: "Namespace";
  metadata: ObjectMeta;
}

export interface ServiceAccountObject {
  apiVersion?: string;
  kind: "ServiceAccount";
  metadata: ObjectMeta;
  automountServiceAccountToken?: boolean;
  secrets?: { name?: string }[];
}

/** A Secret without its data. */
export interface SecretMetadata {
  apiVersion?: string;
  kind: "Secret";
  metadata: ObjectMeta;
  type?: string;
}

/** The ServiceAccount a kubernetes.io/service-account-token Secret belongs to; undefined for any other Secret. */
export function tokenSecretAccount(secret: SecretMetadata | undefined): string | undefined {
  if (secret?.type !== SERVICE_ACCOUNT_TOKEN_TYPE) return undefined;
  return secret.metadata.annotations?.[SERVICE_ACCOUNT_NAME_ANNOTATION];
}

/** Lookups of a snapshot's Secrets by namespace/name: their type, and a token Secret's account. */
export function secretLookups(secrets: readonly SecretMetadata[]): {
  secretType(namespace: string, name: string): string | undefined;
  tokenSecretAccount(namespace: string, name: string): string | undefined;
} {
  const byKey = new Map(
    secrets.map((s) => [`${s.metadata.namespace ?? "default"}/${s.metadata.name}`, s]),
  );
  return {
    secretType: (ns, name) => {
      const s = byKey.get(`${ns}/${name}`);
      return s === undefined ? undefined : (s.type ?? "Opaque");
    },
    tokenSecretAccount: (ns, name) => tokenSecretAccount(byKey.get(`${ns}/${name}`)),
  };
}

/** A Pod or a workload controller (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob). */
export interface WorkloadObject {
  apiVersion?: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: unknown;
}

export interface ClusterSnapshot {
  namespaces: NamespaceObject[];
  serviceAccounts: ServiceAccountObject[];
  rbac: RbacObject[];
  nhis: NonHumanIdentity[];
  policies: NHIPolicy[];
  workloads: WorkloadObject[];
  secrets: SecretMetadata[];
}

export function emptySnapshot(): ClusterSnapshot {
  return {
    namespaces: [],
    serviceAccounts: [],
    rbac: [],
    nhis: [],
    policies: [],
    workloads: [],
    secrets: [],
  };
}

/** Which objects a set of written objects (manifests) defines, by kind, namespace and name. */
export type DefinesObject = (ref: {
  kind: string;
  namespace?: string | undefined;
  name: string;
}) => boolean;

/** `base` without the objects `defined` names: what stays of the cluster when those are rewritten. */
export function snapshotWithout(base: ClusterSnapshot, defined: DefinesObject): ClusterSnapshot {
  const keep = <T extends { kind: string; metadata: { namespace?: string; name: string } }>(
    xs: T[],
  ): T[] =>
    xs.filter(
      (x) => !defined({ kind: x.kind, namespace: x.metadata.namespace, name: x.metadata.name }),
    );
  return {
    namespaces: keep(base.namespaces),
    serviceAccounts: keep(base.serviceAccounts),
    rbac: keep(base.rbac),
    nhis: keep(base.nhis),
    policies: keep(base.policies),
    workloads: keep(base.workloads),
    secrets: keep(base.secrets),
  };
}

/**
 * Written objects over a snapshot: `top`'s objects replace every object of `base` that `defined`
 * names (the manifests are the desired state, as a kubectl apply would make them), the rest of
 * `base` stays. `defined` may name more than `top` holds (an invalid NHI manifest still replaces
 * the live one). The one overlay `nhictl check`, `explain` and `inventory` judge over.
 */
export function overlaySnapshot(
  base: ClusterSnapshot,
  top: ClusterSnapshot,
  defined: DefinesObject,
): ClusterSnapshot {
  const b = snapshotWithout(base, defined);
  return {
    namespaces: [...b.namespaces, ...top.namespaces],
    serviceAccounts: [...b.serviceAccounts, ...top.serviceAccounts],
    rbac: [...b.rbac, ...top.rbac],
    nhis: [...b.nhis, ...top.nhis],
    policies: [...b.policies, ...top.policies],
    workloads: [...b.workloads, ...top.workloads],
    secrets: [...b.secrets, ...top.secrets],
  };
}

/** The effective-permission index of a snapshot, with its ServiceAccounts known for group subjects. */
export function indexSnapshot(snapshot: ClusterSnapshot): EffectivePermissionIndex {
  const index = new EffectivePermissionIndex();
  index.upsertAll(snapshot.rbac);
  for (const sa of snapshot.serviceAccounts)
    index.addServiceAccount({
      namespace: sa.metadata.namespace ?? "default",
      name: sa.metadata.name,
    });
  return index;
}

/** Which NHI governs which ServiceAccount. Two NHIs claiming one account is a conflict, reported, not guessed. */
export interface IdentityDirectory {
  nhiFor(sa: ServiceAccountRef): NonHumanIdentity | undefined;
  governing(sa: ServiceAccountRef): GoverningIdentity | undefined;
  /** "ns/sa" → the NHIs (beyond the first by name) that also claim it. */
  conflicts: Map<string, NonHumanIdentity[]>;
}

export function governingIdentity(nhi: NonHumanIdentity): GoverningIdentity {
  const scopes: ScopedRule[] = nhi.spec.scopes ?? [];
  return {
    nhi: { namespace: nhi.metadata.namespace ?? "default", name: nhi.metadata.name },
    scopes,
    enforcement: nhi.spec.enforcement ?? "Enforce",
  };
}

export function identityDirectory(nhis: readonly NonHumanIdentity[]): IdentityDirectory {
  const byKey = new Map<string, NonHumanIdentity>();
  const conflicts = new Map<string, NonHumanIdentity[]>();
  const sorted = [...nhis].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  for (const nhi of sorted) {
    const key = `${nhi.metadata.namespace ?? "default"}/${nhi.spec.serviceAccountName}`;
    const first = byKey.get(key);
    if (first) conflicts.set(key, [...(conflicts.get(key) ?? []), nhi]);
    else byKey.set(key, nhi);
  }
  const governed = new Map([...byKey].map(([k, nhi]) => [k, governingIdentity(nhi)]));
  return {
    nhiFor: (sa) => byKey.get(`${sa.namespace}/${sa.name}`),
    governing: (sa) => governed.get(`${sa.namespace}/${sa.name}`),
    conflicts,
  };
}

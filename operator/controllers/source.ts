// What the reconcilers read the cluster through. The cluster cache (operator/cache, informers) is
// meant to implement InventorySource; until it does, ListingSource implements it by paged LISTs on
// an interval — no watches, so no second informer wrapper. Either way the reconcilers only see a
// snapshot: Secrets as metadata and type, Pods and workloads trimmed to what the decisions read.
import type { Grant, RbacObject, ServiceAccountRef } from "../../core/rbac/types.js";
import { EffectivePermissionIndex } from "../../core/rbac/effective.js";
import type { NHIPolicy, NonHumanIdentity } from "../../core/nhi/types.js";
import type { ClusterSnapshot, NamespaceObject, SecretMetadata, ServiceAccountObject, WorkloadObject } from "../../core/snapshot.js";
import { METADATA_LIST_ACCEPT, type KubeRest } from "../k8s/rest.js";

export interface ObjectChange {
  kind: string;
  namespace?: string;
  name: string;
}

export interface InventorySource {
  snapshot(): ClusterSnapshot;
  grantsOf(sa: ServiceAccountRef): Grant[];
  synced(): boolean;
  /** Called after the source's view changed, once per changed object (no I/O in listeners). */
  onChange(listener: (c: ObjectChange) => void): () => void;
}

interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  ownerReferences?: { kind?: string; name?: string; controller?: boolean }[];
}

/** Metadata without managedFields and the last-applied annotation (which can hold a whole Secret). */
export function trimMeta(m: Meta): Meta {
  const out: Meta = { name: m.name };
  if (m.namespace) out.namespace = m.namespace;
  if (m.labels) out.labels = m.labels;
  if (m.annotations) {
    const { "kubectl.kubernetes.io/last-applied-configuration": _drop, ...rest } = m.annotations;
    if (Object.keys(rest).length > 0) out.annotations = rest;
  }
  for (const k of ["uid", "resourceVersion", "generation", "creationTimestamp"] as const) if (m[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = m[k];
  if (m.ownerReferences?.length) out.ownerReferences = m.ownerReferences.map((o) => ({ kind: o.kind, name: o.name, controller: o.controller }));
  return out;
}

type Rec = Record<string, unknown>;
const isRec = (x: unknown): x is Rec => typeof x === "object" && x !== null && !Array.isArray(x);

/** A pod spec reduced to what the decisions read: account, automount, images, secret references. */
export function trimPodSpec(spec: unknown): Rec {
  if (!isRec(spec)) return {};
  const container = (c: unknown): Rec => {
    if (!isRec(c)) return {};
    const env = Array.isArray(c.env) ? c.env.filter((e) => isRec(e) && isRec(e.valueFrom) && isRec(e.valueFrom.secretKeyRef))
      .map((e) => ({ name: (e as Rec).name, valueFrom: { secretKeyRef: ((e as Rec).valueFrom as Rec).secretKeyRef } })) : undefined;
    const envFrom = Array.isArray(c.envFrom) ? c.envFrom.filter((e) => isRec(e) && isRec(e.secretRef)).map((e) => ({ secretRef: (e as Rec).secretRef })) : undefined;
    return { name: c.name, image: c.image, ...(env?.length ? { env } : {}), ...(envFrom?.length ? { envFrom } : {}) };
  };
  const volumes = Array.isArray(spec.volumes) ? spec.volumes.filter((v) => isRec(v) && (isRec(v.secret) || isRec(v.projected)))
    .map((v) => ({ name: (v as Rec).name, ...(isRec((v as Rec).secret) ? { secret: (v as Rec).secret } : {}), ...(isRec((v as Rec).projected) ? { projected: (v as Rec).projected } : {}) })) : undefined;
  const out: Rec = {};
  for (const k of ["serviceAccountName", "serviceAccount", "automountServiceAccountToken"]) if (spec[k] !== undefined) out[k] = spec[k];
  for (const k of ["containers", "initContainers", "ephemeralContainers"]) if (Array.isArray(spec[k])) out[k] = (spec[k] as unknown[]).map(container);
  if (volumes?.length) out.volumes = volumes;
  return out;
}

export function trimWorkload(kind: string, o: Rec): WorkloadObject {
  const meta = trimMeta(o.metadata as Meta);
  if (kind === "Pod") {
    const phase = isRec(o.status) ? o.status.phase : undefined;
    return { kind, metadata: meta, spec: trimPodSpec(o.spec), ...(phase ? { status: { phase } } : {}) } as WorkloadObject;
  }
  const spec = isRec(o.spec) ? o.spec : {};
  const tpl = kind === "CronJob" ? (isRec(spec.jobTemplate) && isRec(spec.jobTemplate.spec) ? spec.jobTemplate.spec.template : undefined) : spec.template;
  const t = isRec(tpl) ? { metadata: { labels: isRec(tpl.metadata) ? tpl.metadata.labels : undefined }, spec: trimPodSpec(tpl.spec) } : undefined;
  return { kind, metadata: meta, spec: kind === "CronJob" ? { jobTemplate: { spec: { template: t } } } : { template: t } };
}

const WORKLOAD_LISTS: [string, string][] = [
  ["Pod", "/api/v1/pods"], ["Deployment", "/apis/apps/v1/deployments"], ["StatefulSet", "/apis/apps/v1/statefulsets"],
  ["DaemonSet", "/apis/apps/v1/daemonsets"], ["Job", "/apis/batch/v1/jobs"], ["CronJob", "/apis/batch/v1/cronjobs"],
  ["ReplicationController", "/api/v1/replicationcontrollers"],
];
const RBAC_LISTS: [RbacObject["kind"], string][] = [
  ["Role", "/apis/rbac.authorization.k8s.io/v1/roles"], ["ClusterRole", "/apis/rbac.authorization.k8s.io/v1/clusterroles"],
  ["RoleBinding", "/apis/rbac.authorization.k8s.io/v1/rolebindings"], ["ClusterRoleBinding", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"],
];
/** Secret types the decisions distinguish; a metadata list does not carry the type, a field selector does. */
const TYPED_SECRETS = ["kubernetes.io/service-account-token", "kubernetes.io/tls"];

/**
 * Polls the API server with paged LISTs and diffs by resourceVersion. The stop-gap InventorySource
 * until the informer-backed cache implements the interface; also what the benchmark measures.
 */
export class ListingSource implements InventorySource {
  private snap: ClusterSnapshot = { namespaces: [], serviceAccounts: [], rbac: [], nhis: [], policies: [], workloads: [], secrets: [] };
  private index = new EffectivePermissionIndex();
  private versions = new Map<string, string>();
  private listeners = new Set<(c: ObjectChange) => void>();
  private isSynced = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  lastError: unknown;

  constructor(private readonly rest: KubeRest, private readonly intervalMs = 5_000, private readonly opts: { pageSize?: number } = {}) {}

  snapshot(): ClusterSnapshot {
    return this.snap;
  }

  grantsOf(sa: ServiceAccountRef): Grant[] {
    return this.index.grantsOf(sa);
  }

  synced(): boolean {
    return this.isSynced;
  }

  onChange(listener: (c: ObjectChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Lists once now (and on the interval after start()). Resolves when this pass is done. */
  refresh(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.refresh().catch((e: unknown) => (this.lastError = e));
    const tick = (): void => {
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.refresh().catch((e: unknown) => (this.lastError = e)).finally(tick), this.intervalMs);
      this.timer.unref();
    };
    tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async pass(): Promise<void> {
    const list = <T>(path: string, opts: { accept?: string; query?: Record<string, string> } = {}): Promise<T[]> =>
      this.rest.listAll<T>(path, { ...opts, ...(this.opts.pageSize ? { pageSize: this.opts.pageSize } : {}) });
    const [namespaces, sas, nhis, policies] = await Promise.all([
      list<NamespaceObject>("/api/v1/namespaces", { accept: METADATA_LIST_ACCEPT }),
      list<ServiceAccountObject>("/api/v1/serviceaccounts"),
      list<NonHumanIdentity>("/apis/nhi.io/v1alpha1/nonhumanidentities").catch(() => []),
      list<NHIPolicy>("/apis/nhi.io/v1alpha1/nhipolicies").catch(() => []),
    ]);
    const rbac = (await Promise.all(RBAC_LISTS.map(async ([kind, path]) => (await list<RbacObject>(path)).map((o) => ({ ...o, kind, metadata: trimMeta(o.metadata) } as RbacObject))))).flat();
    const workloads = (await Promise.all(WORKLOAD_LISTS.map(async ([kind, path]) => (await list<Rec>(path)).map((o) => trimWorkload(kind, o))))).flat();
    const secretMetas = await list<{ metadata: Meta }>("/api/v1/secrets", { accept: METADATA_LIST_ACCEPT });
    const typeOf = new Map<string, string>();
    for (const type of TYPED_SECRETS) {
      for (const s of await list<{ metadata: Meta }>("/api/v1/secrets", { accept: METADATA_LIST_ACCEPT, query: { fieldSelector: `type=${type}` } })) {
        typeOf.set(`${s.metadata.namespace ?? ""}/${s.metadata.name}`, type);
      }
    }
    const secrets: SecretMetadata[] = secretMetas.map((s) => ({ kind: "Secret", metadata: trimMeta(s.metadata), type: typeOf.get(`${s.metadata.namespace ?? ""}/${s.metadata.name}`) ?? "Opaque" }));

    const next: ClusterSnapshot = {
      namespaces: namespaces.map((n) => ({ kind: "Namespace", metadata: trimMeta(n.metadata) })),
      serviceAccounts: sas.map((s) => ({ kind: "ServiceAccount", metadata: trimMeta(s.metadata), ...(s.automountServiceAccountToken !== undefined ? { automountServiceAccountToken: s.automountServiceAccountToken } : {}) })),
      rbac, nhis: nhis.map((n) => ({ ...n, apiVersion: "nhi.io/v1alpha1", kind: "NonHumanIdentity", metadata: trimMeta(n.metadata) as NonHumanIdentity["metadata"] })),
      policies: policies.map((p) => ({ ...p, apiVersion: "nhi.io/v1alpha1", kind: "NHIPolicy" })), workloads, secrets,
    };
    // Diff by resourceVersion: what changed (or disappeared) since the last pass.
    const versions = new Map<string, string>();
    const changes: ObjectChange[] = [];
    let rbacChanged = false;
    const visit = (kind: string, m: { name: string; namespace?: string; resourceVersion?: string }): void => {
      const k = `${kind}/${m.namespace ?? ""}/${m.name}`;
      const rv = m.resourceVersion ?? "";
      versions.set(k, rv);
      if (this.versions.get(k) !== rv) {
        changes.push({ kind, name: m.name, ...(m.namespace ? { namespace: m.namespace } : {}) });
        if (kind === "ServiceAccount" || RBAC_LISTS.some(([rk]) => rk === kind)) rbacChanged = true;
      }
    };
    for (const n of next.namespaces) visit("Namespace", n.metadata);
    for (const s of next.serviceAccounts) visit("ServiceAccount", s.metadata);
    for (const r of next.rbac) visit(r.kind, r.metadata);
    for (const n of next.nhis) visit("NonHumanIdentity", n.metadata);
    for (const p of next.policies) visit("NHIPolicy", p.metadata);
    for (const w of next.workloads) visit(w.kind, w.metadata);
    for (const s of next.secrets) visit("Secret", s.metadata);
    for (const k of this.versions.keys()) {
      if (versions.has(k)) continue;
      const [kind = "", namespace = "", ...rest] = k.split("/");
      changes.push({ kind, name: rest.join("/"), ...(namespace ? { namespace } : {}) });
      if (kind === "ServiceAccount" || RBAC_LISTS.some(([rk]) => rk === kind)) rbacChanged = true;
    }
    if (rbacChanged || !this.isSynced) {
      const index = new EffectivePermissionIndex();
      index.upsertAll(next.rbac);
      for (const sa of next.serviceAccounts) index.addServiceAccount({ namespace: sa.metadata.namespace ?? "default", name: sa.metadata.name });
      this.index = index;
    }
    this.snap = next;
    this.versions = versions;
    this.isSynced = true;
    for (const c of changes) for (const l of this.listeners) l(c);
  }
}

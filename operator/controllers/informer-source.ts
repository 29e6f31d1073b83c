// InventorySource over the project's Informer (operator/k8s/informer.ts: restart with backoff,
// stall detection, replay-tolerant): one informer per kind the inventory reads. Secrets are
// watched as metadata only; their type comes from two typed, field-selected metadata watches.
// Pods and workloads are trimmed on arrival. Handlers only update maps and notify (no I/O).
import type { KubeConfig } from "@kubernetes/client-node";
import { EffectivePermissionIndex } from "../../core/rbac/effective.js";
import type { Grant, RbacObject, RbacObjectRef, ServiceAccountRef } from "../../core/rbac/types.js";
import type { NHIPolicy, NonHumanIdentity } from "../../core/nhi/types.js";
import type { ClusterSnapshot, NamespaceObject, SecretMetadata, ServiceAccountObject, WorkloadObject } from "../../core/snapshot.js";
import type { Logger } from "../../webhooks/log.js";
import { Informer, type InformerObject } from "../k8s/informer.js";
import { trimMeta, trimWorkload, type InventorySource, type ObjectChange } from "./source.js";

type Obj = InformerObject & Record<string, unknown>;
const k = (o: InformerObject): string => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;

function rbacRef(o: RbacObject): RbacObjectRef {
  return o.kind === "Role" || o.kind === "RoleBinding" ? { kind: o.kind, namespace: o.metadata.namespace ?? "", name: o.metadata.name } : { kind: o.kind, name: o.metadata.name };
}

const WORKLOADS: [string, string][] = [
  ["Pod", "/api/v1/pods"], ["Deployment", "/apis/apps/v1/deployments"], ["StatefulSet", "/apis/apps/v1/statefulsets"],
  ["DaemonSet", "/apis/apps/v1/daemonsets"], ["Job", "/apis/batch/v1/jobs"], ["CronJob", "/apis/batch/v1/cronjobs"],
  ["ReplicationController", "/api/v1/replicationcontrollers"],
];
const RBAC: [RbacObject["kind"], string][] = [
  ["Role", "roles"], ["ClusterRole", "clusterroles"], ["RoleBinding", "rolebindings"], ["ClusterRoleBinding", "clusterrolebindings"],
];
const TYPED = ["kubernetes.io/service-account-token", "kubernetes.io/tls"];

export class InformerSource implements InventorySource {
  private readonly index = new EffectivePermissionIndex();
  private readonly namespaces = new Map<string, NamespaceObject>();
  private readonly sas = new Map<string, ServiceAccountObject>();
  private readonly rbac = new Map<string, RbacObject>();
  private readonly nhis = new Map<string, NonHumanIdentity>();
  private readonly policies = new Map<string, NHIPolicy>();
  private readonly workloads = new Map<string, WorkloadObject>();
  private readonly secrets = new Map<string, SecretMetadata>();
  private readonly types = new Map<string, string>();
  private readonly listeners = new Set<(c: ObjectChange) => void>();
  private cached: ClusterSnapshot | undefined;
  readonly informers: Informer<Obj>[] = [];

  constructor(kc: KubeConfig, logger: Logger, opts: { stallAfterMs?: number } = {}) {
    // Every informer trims on arrival (sanitize), so its store and our maps share one small copy.
    const add = (name: string, path: string, kind: string, apiVersion: string, upsert: (o: Obj) => void, remove: (o: Obj) => void,
      extra: { metadataOnly?: boolean; fieldSelector?: string; optional?: boolean; sanitize?: (o: Obj) => Obj } = {}): void => {
      const sanitize = extra.sanitize ?? ((o: Obj): Obj => ({ ...o, metadata: trimMeta(o.metadata) as Obj["metadata"] }));
      this.informers.push(new Informer<Obj>(kc, {
        name, path, kind, apiVersion, logger, ...extra, sanitize, ...(opts.stallAfterMs ? { stallAfterMs: opts.stallAfterMs } : {}),
        handlers: {
          upsert: (o) => { upsert(o); this.changed(kind, o); },
          remove: (o) => { remove(o); this.changed(kind, o); },
        },
      }));
    };
    add("namespaces", "/api/v1/namespaces", "Namespace", "v1",
      (o) => this.namespaces.set(o.metadata.name, { kind: "Namespace", metadata: trimMeta(o.metadata) }), (o) => this.namespaces.delete(o.metadata.name), { metadataOnly: true });
    add("serviceaccounts", "/api/v1/serviceaccounts", "ServiceAccount", "v1", (o) => {
      const auto = o.automountServiceAccountToken;
      this.sas.set(k(o), { kind: "ServiceAccount", metadata: trimMeta(o.metadata), ...(typeof auto === "boolean" ? { automountServiceAccountToken: auto } : {}) });
      this.index.addServiceAccount({ namespace: o.metadata.namespace ?? "default", name: o.metadata.name });
    }, (o) => {
      this.sas.delete(k(o));
      this.index.removeServiceAccount({ namespace: o.metadata.namespace ?? "default", name: o.metadata.name });
    });
    for (const [kind, res] of RBAC) {
      add(res, `/apis/rbac.authorization.k8s.io/v1/${res}`, kind, "rbac.authorization.k8s.io/v1", (o) => {
        const r = { ...(o as unknown as RbacObject), kind, metadata: trimMeta(o.metadata) } as RbacObject;
        this.rbac.set(`${kind}/${k(o)}`, r);
        this.index.upsert(r);
      }, (o) => {
        const r = { ...(o as unknown as RbacObject), kind } as RbacObject;
        this.rbac.delete(`${kind}/${k(o)}`);
        this.index.remove(rbacRef(r));
      });
    }
    add("nonhumanidentities", "/apis/nhi.io/v1alpha1/nonhumanidentities", "NonHumanIdentity", "nhi.io/v1alpha1",
      (o) => this.nhis.set(k(o), { ...(o as unknown as NonHumanIdentity), metadata: trimMeta(o.metadata) as NonHumanIdentity["metadata"] }), (o) => this.nhis.delete(k(o)), { optional: true });
    add("nhipolicies", "/apis/nhi.io/v1alpha1/nhipolicies", "NHIPolicy", "nhi.io/v1alpha1",
      (o) => this.policies.set(o.metadata.name, o as unknown as NHIPolicy), (o) => this.policies.delete(o.metadata.name), { optional: true });
    for (const [kind, path] of WORKLOADS) {
      add(`${kind.toLowerCase()}s`, path, kind, kind === "Pod" || kind === "ReplicationController" ? "v1" : path.split("/").slice(2, 4).join("/"),
        (o) => this.workloads.set(`${kind}/${k(o)}`, o as unknown as WorkloadObject), (o) => this.workloads.delete(`${kind}/${k(o)}`),
        { sanitize: (o) => trimWorkload(kind, o) as unknown as Obj });
    }
    add("secrets(metadata)", "/api/v1/secrets", "Secret", "v1",
      (o) => this.secrets.set(k(o), o as unknown as SecretMetadata), (o) => this.secrets.delete(k(o)),
      { metadataOnly: true, sanitize: (o) => ({ kind: "Secret", metadata: trimMeta(o.metadata) }) as unknown as Obj });
    for (const type of TYPED) {
      add(`secrets(${type})`, "/api/v1/secrets", "Secret", "v1", (o) => this.types.set(k(o), type), (o) => this.types.delete(k(o)),
        { metadataOnly: true, fieldSelector: `type=${type}`, sanitize: (o) => ({ metadata: { name: o.metadata.name, namespace: o.metadata.namespace, resourceVersion: o.metadata.resourceVersion } }) as unknown as Obj });
    }
  }

  private changed(kind: string, o: InformerObject): void {
    this.cached = undefined;
    const c: ObjectChange = { kind, name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) };
    for (const l of this.listeners) l(c);
  }

  start(): void {
    for (const i of this.informers) i.start();
  }

  stop(): void {
    for (const i of this.informers) i.stop();
  }

  synced(): boolean {
    return this.informers.every((i) => i.synced());
  }

  async waitForSync(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.synced()) {
      if (Date.now() > deadline) throw new Error(`inventory source not synced after ${timeoutMs} ms: ${this.informers.filter((i) => !i.synced()).map((i) => i.name).join(", ")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  lastEventAgeSeconds(): Record<string, number> {
    const now = Date.now();
    return Object.fromEntries(this.informers.map((i) => [i.name, i.lastEventAgeSeconds(now)]));
  }

  restarts(): number {
    return this.informers.reduce((s, i) => s + i.restarts, 0);
  }

  grantsOf(sa: ServiceAccountRef): Grant[] {
    return this.index.grantsOf(sa);
  }

  onChange(listener: (c: ObjectChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): ClusterSnapshot {
    this.cached ??= {
      namespaces: [...this.namespaces.values()],
      serviceAccounts: [...this.sas.values()],
      rbac: [...this.rbac.values()],
      nhis: [...this.nhis.values()],
      policies: [...this.policies.values()],
      workloads: [...this.workloads.values()],
      secrets: [...this.secrets.entries()].map(([key, s]) => ({ ...s, type: this.types.get(key) ?? "Opaque" })),
    };
    return this.cached;
  }
}

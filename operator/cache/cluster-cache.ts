// The cluster as the webhook (and later the reconcilers) read it: fed by informers, updated per event
// (the effective-permission index incrementally), read without I/O. Secrets are watched as metadata
// only (PartialObjectMetadata): their values never reach this process through the cache.
import type { KubeConfig } from "@kubernetes/client-node";
import type { NHIPolicy, NonHumanIdentity } from "../../core/nhi/types.js";
import { SERVICE_ACCOUNT_TOKEN_TYPE } from "../../core/policy/workload.js";
import { EffectivePermissionIndex } from "../../core/rbac/effective.js";
import type { RbacObject, RbacObjectRef } from "../../core/rbac/types.js";
import { identityDirectory, type IdentityDirectory, type ServiceAccountObject } from "../../core/snapshot.js";
import type { Logger } from "../../webhooks/log.js";
import { Informer, type InformerObject, type InformerOptions } from "../k8s/informer.js";
import { PolicyResolver, type ClusterView } from "./view.js";

const key = (ns: string | undefined, name: string): string => `${ns ?? ""}/${name}`;

function rbacRef(o: RbacObject): RbacObjectRef {
  const ns = o.metadata.namespace;
  return o.kind === "Role" || o.kind === "RoleBinding" ? { kind: o.kind, namespace: ns ?? "", name: o.metadata.name } : { kind: o.kind, name: o.metadata.name };
}

/** Only what the cache may keep of a ServiceAccount (its secret references are names, not values). */
function stripServiceAccount(sa: ServiceAccountObject & InformerObject): ServiceAccountObject & InformerObject {
  return {
    kind: "ServiceAccount", apiVersion: "v1",
    metadata: { name: sa.metadata.name, namespace: sa.metadata.namespace, resourceVersion: sa.metadata.resourceVersion, ...(sa.metadata.labels ? { labels: sa.metadata.labels } : {}), ...(sa.metadata.annotations ? { annotations: sa.metadata.annotations } : {}) },
    ...(sa.automountServiceAccountToken !== undefined ? { automountServiceAccountToken: sa.automountServiceAccountToken } : {}),
  };
}

/** Metadata only, whatever the server sent (a second line of defence behind PartialObjectMetadata). */
function stripToMetadata<T extends InformerObject>(o: T): T {
  const m = o.metadata;
  return {
    kind: o.kind, apiVersion: o.apiVersion,
    metadata: { name: m.name, namespace: m.namespace, resourceVersion: m.resourceVersion, uid: m.uid, ...(m.labels ? { labels: m.labels } : {}), ...(m.annotations ? { annotations: m.annotations } : {}) },
  } as T;
}

export interface ClusterCacheOptions {
  logger: Logger;
  stallAfterMs?: number;
  watchTimeoutSeconds?: number;
}

export class ClusterCache implements ClusterView {
  readonly index = new EffectivePermissionIndex();
  private readonly namespaces = new Map<string, Record<string, string>>();
  private readonly serviceAccounts = new Map<string, ServiceAccountObject>();
  private readonly tokenSecrets = new Set<string>();
  private readonly nhis = new Map<string, NonHumanIdentity>();
  private readonly policies = new Map<string, NHIPolicy>();
  private dir: IdentityDirectory | undefined;
  private readonly resolver = new PolicyResolver();
  private policiesDirty = true;
  readonly informers: Informer<InformerObject>[] = [];

  constructor(kc: KubeConfig, private readonly opts: ClusterCacheOptions) {
    const add = <T extends InformerObject>(o: Omit<InformerOptions<T>, "logger" | "stallAfterMs" | "watchTimeoutSeconds">): void => {
      this.informers.push(new Informer<T>(kc, {
        ...o, logger: opts.logger,
        ...(opts.stallAfterMs ? { stallAfterMs: opts.stallAfterMs } : {}),
        ...(opts.watchTimeoutSeconds ? { watchTimeoutSeconds: opts.watchTimeoutSeconds } : {}),
      }) as unknown as Informer<InformerObject>);
    };
    add<InformerObject>({
      name: "namespaces", path: "/api/v1/namespaces", kind: "Namespace", apiVersion: "v1", metadataOnly: true, sanitize: stripToMetadata,
      handlers: { upsert: (n) => this.namespaces.set(n.metadata.name, n.metadata.labels ?? {}), remove: (n) => this.namespaces.delete(n.metadata.name) },
    });
    add<ServiceAccountObject & InformerObject>({
      name: "serviceaccounts", path: "/api/v1/serviceaccounts", kind: "ServiceAccount", apiVersion: "v1", sanitize: stripServiceAccount,
      handlers: {
        upsert: (sa) => {
          this.serviceAccounts.set(key(sa.metadata.namespace, sa.metadata.name), sa);
          this.index.addServiceAccount({ namespace: sa.metadata.namespace ?? "", name: sa.metadata.name });
        },
        remove: (sa) => {
          this.serviceAccounts.delete(key(sa.metadata.namespace, sa.metadata.name));
          this.index.removeServiceAccount({ namespace: sa.metadata.namespace ?? "", name: sa.metadata.name });
        },
      },
    });
    // Secret type is not metadata: select the token Secrets server-side and keep their metadata only.
    add<InformerObject>({
      name: "secrets(service-account-token, metadata)", path: "/api/v1/secrets", kind: "Secret", apiVersion: "v1",
      fieldSelector: `type=${SERVICE_ACCOUNT_TOKEN_TYPE}`, metadataOnly: true, sanitize: stripToMetadata,
      handlers: { upsert: (s) => this.tokenSecrets.add(key(s.metadata.namespace, s.metadata.name)), remove: (s) => this.tokenSecrets.delete(key(s.metadata.namespace, s.metadata.name)) },
    });
    for (const [resource, kind] of [["roles", "Role"], ["clusterroles", "ClusterRole"], ["rolebindings", "RoleBinding"], ["clusterrolebindings", "ClusterRoleBinding"]] as const) {
      add<RbacObject & InformerObject>({
        name: resource, path: `/apis/rbac.authorization.k8s.io/v1/${resource}`, kind, apiVersion: "rbac.authorization.k8s.io/v1",
        handlers: { upsert: (o) => this.index.upsert(o), remove: (o) => this.index.remove(rbacRef(o)) },
      });
    }
    add<NonHumanIdentity & InformerObject>({
      name: "nonhumanidentities", path: "/apis/nhi.io/v1alpha1/nonhumanidentities", kind: "NonHumanIdentity", apiVersion: "nhi.io/v1alpha1", optional: true,
      handlers: {
        upsert: (n) => { this.nhis.set(key(n.metadata.namespace, n.metadata.name), n); this.dir = undefined; },
        remove: (n) => { this.nhis.delete(key(n.metadata.namespace, n.metadata.name)); this.dir = undefined; },
      },
    });
    add<NHIPolicy & InformerObject>({
      name: "nhipolicies", path: "/apis/nhi.io/v1alpha1/nhipolicies", kind: "NHIPolicy", apiVersion: "nhi.io/v1alpha1", optional: true,
      handlers: {
        upsert: (p) => { this.policies.set(p.metadata.name, p); this.policiesDirty = true; },
        remove: (p) => { this.policies.delete(p.metadata.name); this.policiesDirty = true; },
      },
    });
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

  /** Resolves once every informer has listed, or rejects after timeoutMs. */
  async waitForSync(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.synced()) {
      if (Date.now() > deadline) throw new Error(`cluster cache not synced after ${timeoutMs} ms: waiting for ${this.informers.filter((i) => !i.synced()).map((i) => i.name).join(", ")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  lastEventAgeSeconds(): Record<string, number> {
    const now = Date.now();
    return Object.fromEntries(this.informers.map((i) => [i.name, i.lastEventAgeSeconds(now)]));
  }

  /** Rebuilt lazily: a relist of 10,000 NHIs costs one rebuild, not 10,000. */
  get directory(): IdentityDirectory {
    this.dir ??= identityDirectory([...this.nhis.values()]);
    return this.dir;
  }

  policyAt(now: Date): ReturnType<PolicyResolver["at"]> {
    if (this.policiesDirty) {
      this.resolver.set([...this.policies.values()]);
      this.policiesDirty = false;
    }
    return this.resolver.at(now);
  }

  serviceAccount(namespace: string, name: string): ServiceAccountObject | undefined {
    return this.serviceAccounts.get(key(namespace, name));
  }

  secretType(namespace: string, name: string): string | undefined {
    return this.tokenSecrets.has(key(namespace, name)) ? SERVICE_ACCOUNT_TOKEN_TYPE : undefined;
  }

  namespaceLabels(namespace: string): Record<string, string> | undefined {
    return this.namespaces.get(namespace);
  }
}

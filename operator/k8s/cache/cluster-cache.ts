// The one cache of the cluster, fed by informers (operator/k8s/informer.ts), updated per event (the
// effective-permission index incrementally), read without I/O. Two tiers:
// - always (every replica, what the webhook reads): namespaces, ServiceAccounts, token Secrets
//   (metadata, selected by type), the four RBAC kinds, NHIs and NHIPolicies;
// - on startInventory() (the elected leader, and every replica serving the audit sink, which
//   judges tokens against their pods' IPs; what the reconcilers read besides): Pods and
//   workloads (trimmed), every Secret's metadata and the TLS Secrets' names. A webhook replica that
//   neither leads nor serves the audit sink never lists a Pod, so its memory does not grow with the
//   cluster's pods.
// Secrets are watched as metadata only (PartialObjectMetadata): their values never reach this process.
// Handlers update maps and notify listeners; they do no I/O.
import type { KubeConfig } from "@kubernetes/client-node";
import type { NHIPolicy, NonHumanIdentity } from "../../../core/nhi/types.js";
import {
  SERVICE_ACCOUNT_NAME_ANNOTATION,
  SERVICE_ACCOUNT_TOKEN_TYPE,
  TLS_SECRET_TYPE as TLS_TYPE,
} from "../../../core/snapshot.js";
import { EffectivePermissionIndex } from "../../../core/rbac/effective.js";
import { IdentityGraph } from "../../../core/graph/graph.js";
import type {
  Grant,
  RbacObject,
  RbacObjectRef,
  ServiceAccountRef,
} from "../../../core/rbac/types.js";
import {
  identityDirectory,
  type ClusterSnapshot,
  type IdentityDirectory,
  type NamespaceObject,
  type SecretMetadata,
  type ServiceAccountObject,
  type WorkloadObject,
} from "../../../core/snapshot.js";
import {
  LISTED_WORKLOAD_KINDS,
  WORKLOAD_KINDS,
  workloadPath,
  type WorkloadKind,
} from "../../../core/workloads/pod-template.js";
import type { Log } from "../../../edge/log.js";
import { Informer, type InformerObject, type InformerOptions } from "../informer.js";
import { trimMeta, trimWorkload } from "./trim.js";
import {
  PolicyResolver,
  type ClusterView,
  type InventorySource,
  type ObjectChange,
} from "./view.js";

const key = (ns: string | undefined, name: string): string => `${ns ?? ""}/${name}`;
const keyOf = (o: InformerObject): string => key(o.metadata.namespace, o.metadata.name);

function rbacRef(o: RbacObject): RbacObjectRef {
  const ns = o.metadata.namespace;
  return o.kind === "Role" || o.kind === "RoleBinding"
    ? { kind: o.kind, namespace: ns ?? "", name: o.metadata.name }
    : { kind: o.kind, name: o.metadata.name };
}

type Obj = InformerObject & Record<string, unknown>;

/** Metadata only, whatever the server sent (a second line of defence behind PartialObjectMetadata). */
const metadataOnly =
  (kind: string) =>
  (o: Obj): Obj => ({ kind, apiVersion: "v1", metadata: trimMeta(o.metadata) });
/** Name only: for the typed Secret watches, whose store is a set of names. */
const nameOnly = (o: Obj): Obj => ({
  metadata: {
    name: o.metadata.name,
    namespace: o.metadata.namespace,
    resourceVersion: o.metadata.resourceVersion,
  },
});
/** A token Secret's name and the ServiceAccount it belongs to: never its data. */
const tokenSecretMeta = (o: Obj): Obj => {
  const account = o.metadata.annotations?.[SERVICE_ACCOUNT_NAME_ANNOTATION];
  return {
    metadata: {
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      resourceVersion: o.metadata.resourceVersion,
      ...(account !== undefined
        ? { annotations: { [SERVICE_ACCOUNT_NAME_ANNOTATION]: account } }
        : {}),
    },
  };
};
/** The object with its metadata trimmed (RBAC, NHIs, policies: spec and status are what we read). */
const trimmed = (o: Obj): Obj => ({ ...o, metadata: trimMeta(o.metadata) });
/** A ServiceAccount without its secret references (names the decisions do not read). */
const serviceAccount = (o: Obj): Obj => ({
  kind: "ServiceAccount",
  apiVersion: "v1",
  metadata: trimMeta(o.metadata),
  ...(typeof o.automountServiceAccountToken === "boolean"
    ? { automountServiceAccountToken: o.automountServiceAccountToken }
    : {}),
});

const RBAC: [RbacObject["kind"], string][] = [
  ["Role", "roles"],
  ["ClusterRole", "clusterroles"],
  ["RoleBinding", "rolebindings"],
  ["ClusterRoleBinding", "clusterrolebindings"],
];

type Part = keyof ClusterSnapshot;

export interface ClusterCacheOptions {
  logger: Log;
  stallAfterMs?: number;
  watchTimeoutSeconds?: number;
}

export class ClusterCache implements ClusterView, InventorySource {
  readonly index = new EffectivePermissionIndex();
  private readonly namespaces = new Map<string, Record<string, string>>();
  private readonly serviceAccounts = new Map<string, ServiceAccountObject>();
  /** Token Secrets by namespace/name: the ServiceAccount each belongs to (its annotation). */
  private readonly tokenSecrets = new Map<string, string>();
  private readonly tlsSecrets = new Set<string>();
  private readonly nhis = new Map<string, NonHumanIdentity>();
  private readonly policies = new Map<string, NHIPolicy>();
  private dir: IdentityDirectory | undefined;
  private readonly resolver = new PolicyResolver();
  private policiesDirty = true;
  private readonly listeners = new Set<(c: ObjectChange) => void>();
  /** Snapshot parts rebuilt lazily, per part: a Secret event does not copy the RBAC objects. */
  private readonly parts: Partial<ClusterSnapshot> = {};
  private snap: ClusterSnapshot | undefined;
  /** What every replica watches (the webhook's view). */
  readonly informers: Informer<Obj>[] = [];
  /** What only the leader watches, from startInventory(). */
  readonly inventoryInformers: Informer<Obj>[] = [];
  private readonly byPart = new Map<Part, Informer<Obj>[]>();
  private inventoryStarted = false;
  /** Built on first use, then kept up to date with `index` by the handlers below. */
  private graph: IdentityGraph | undefined;
  /** Who needs the inventory informers running (startInventory/stopInventory). */
  private readonly inventoryHolders = new Set<string>();

  constructor(
    kc: KubeConfig,
    private readonly opts: ClusterCacheOptions,
  ) {
    const add = (
      tier: Informer<Obj>[],
      part: Part | undefined,
      o: Omit<InformerOptions<Obj>, "logger" | "stallAfterMs" | "watchTimeoutSeconds" | "handlers">,
      upsert: (x: Obj) => void,
      remove: (x: Obj) => void,
    ): void => {
      const informer = new Informer<Obj>(kc, {
        ...o,
        logger: opts.logger,
        ...(opts.stallAfterMs ? { stallAfterMs: opts.stallAfterMs } : {}),
        ...(opts.watchTimeoutSeconds ? { watchTimeoutSeconds: opts.watchTimeoutSeconds } : {}),
        handlers: {
          upsert: (x) => {
            upsert(x);
            this.changed(o.kind, part, x);
          },
          remove: (x) => {
            remove(x);
            this.changed(o.kind, part, x);
          },
        },
      });
      tier.push(informer);
      if (part) this.byPart.set(part, [...(this.byPart.get(part) ?? []), informer]);
    };
    const core = this.informers;
    add(
      core,
      "namespaces",
      {
        name: "namespaces",
        path: "/api/v1/namespaces",
        kind: "Namespace",
        apiVersion: "v1",
        metadataOnly: true,
        sanitize: metadataOnly("Namespace"),
      },
      (n) => this.namespaces.set(n.metadata.name, n.metadata.labels ?? {}),
      (n) => this.namespaces.delete(n.metadata.name),
    );
    add(
      core,
      "serviceAccounts",
      {
        name: "serviceaccounts",
        path: "/api/v1/serviceaccounts",
        kind: "ServiceAccount",
        apiVersion: "v1",
        sanitize: serviceAccount,
      },
      (sa) => {
        this.serviceAccounts.set(keyOf(sa), sa as unknown as ServiceAccountObject);
        this.index.addServiceAccount({
          namespace: sa.metadata.namespace ?? "",
          name: sa.metadata.name,
        });
        this.graph?.apply({ upsertServiceAccount: sa as unknown as ServiceAccountObject });
      },
      (sa) => {
        this.serviceAccounts.delete(keyOf(sa));
        const ref = { namespace: sa.metadata.namespace ?? "", name: sa.metadata.name };
        this.index.removeServiceAccount(ref);
        this.graph?.apply({ removeServiceAccount: ref });
      },
    );
    // Secret type is not metadata: select the token Secrets server-side and keep their names only.
    add(
      core,
      "secrets",
      {
        name: `secrets(${SERVICE_ACCOUNT_TOKEN_TYPE})`,
        path: "/api/v1/secrets",
        kind: "Secret",
        apiVersion: "v1",
        fieldSelector: `type=${SERVICE_ACCOUNT_TOKEN_TYPE}`,
        metadataOnly: true,
        sanitize: tokenSecretMeta,
      },
      (s) =>
        this.tokenSecrets.set(
          keyOf(s),
          s.metadata.annotations?.[SERVICE_ACCOUNT_NAME_ANNOTATION] ?? "",
        ),
      (s) => this.tokenSecrets.delete(keyOf(s)),
    );
    for (const [kind, resource] of RBAC) {
      add(
        core,
        "rbac",
        {
          name: resource,
          path: `/apis/rbac.authorization.k8s.io/v1/${resource}`,
          kind,
          apiVersion: "rbac.authorization.k8s.io/v1",
          sanitize: (o) => ({ ...trimmed(o), kind }),
        },
        (o) => this.followRbac({ upsert: o as unknown as RbacObject }),
        (o) => this.followRbac({ remove: rbacRef(o as unknown as RbacObject) }),
      );
    }
    add(
      core,
      "nhis",
      {
        name: "nonhumanidentities",
        path: "/apis/nhi.io/v1alpha1/nonhumanidentities",
        kind: "NonHumanIdentity",
        apiVersion: "nhi.io/v1alpha1",
        optional: true,
        sanitize: trimmed,
      },
      (n) => {
        this.nhis.set(keyOf(n), n as unknown as NonHumanIdentity);
        this.dir = undefined;
      },
      (n) => {
        this.nhis.delete(keyOf(n));
        this.dir = undefined;
      },
    );
    add(
      core,
      "policies",
      {
        name: "nhipolicies",
        path: "/apis/nhi.io/v1alpha1/nhipolicies",
        kind: "NHIPolicy",
        apiVersion: "nhi.io/v1alpha1",
        optional: true,
        sanitize: trimmed,
      },
      (p) => {
        this.policies.set(p.metadata.name, p as unknown as NHIPolicy);
        this.policiesDirty = true;
      },
      (p) => {
        this.policies.delete(p.metadata.name);
        this.policiesDirty = true;
      },
    );

    const inv = this.inventoryInformers;
    const none = (): void => undefined;
    for (const kind of LISTED_WORKLOAD_KINDS) {
      const { apiVersion, resource } = WORKLOAD_KINDS[kind] as WorkloadKind;
      add(
        inv,
        "workloads",
        {
          name: resource,
          path: workloadPath(kind) as string,
          kind,
          apiVersion,
          sanitize: (o) => trimWorkload(kind, o) as unknown as Obj,
        },
        none,
        none,
      );
    }
    add(
      inv,
      "secrets",
      {
        name: "secrets(metadata)",
        path: "/api/v1/secrets",
        kind: "Secret",
        apiVersion: "v1",
        metadataOnly: true,
        sanitize: metadataOnly("Secret"),
      },
      none,
      none,
    );
    add(
      inv,
      "secrets",
      {
        name: `secrets(${TLS_TYPE})`,
        path: "/api/v1/secrets",
        kind: "Secret",
        apiVersion: "v1",
        fieldSelector: `type=${TLS_TYPE}`,
        metadataOnly: true,
        sanitize: nameOnly,
      },
      (s) => this.tlsSecrets.add(keyOf(s)),
      (s) => this.tlsSecrets.delete(keyOf(s)),
    );
  }

  /** An RBAC change: into the index, then into the graph when one was built (it reads the index). */
  private followRbac(change: { upsert: RbacObject } | { remove: RbacObjectRef }): void {
    if (this.graph) {
      this.graph.apply({ rbac: change });
      return;
    }
    if ("upsert" in change) this.index.upsert(change.upsert);
    else this.index.remove(change.remove);
  }

  private changed(kind: string, part: Part | undefined, o: InformerObject): void {
    if (part) delete this.parts[part];
    this.snap = undefined;
    if (this.listeners.size === 0) return;
    const c: ObjectChange = {
      kind,
      name: o.metadata.name,
      ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
    };
    for (const l of this.listeners) l(c);
  }

  private started(): Informer<Obj>[] {
    return this.inventoryStarted ? [...this.informers, ...this.inventoryInformers] : this.informers;
  }

  /** Starts the webhook's informers (every replica). */
  start(): void {
    for (const i of this.informers) i.start();
  }

  /**
   * Starts the inventory informers too, for `holder` (the leader's reconcilers, the audit sink);
   * resolves once they have all listed. They run while any holder needs them.
   */
  async startInventory(holder = "leader", timeoutMs = 120_000): Promise<void> {
    const first = this.inventoryHolders.size === 0;
    this.inventoryHolders.add(holder);
    if (first) {
      this.inventoryStarted = true;
      this.invalidateInventory();
      for (const i of this.inventoryInformers) i.start();
    }
    await waitFor(
      () => this.inventorySynced(),
      timeoutMs,
      () =>
        `inventory cache not synced after ${timeoutMs} ms: waiting for ${this.unsynced().join(", ")}`,
    );
  }

  /**
   * `holder` no longer needs the inventory informers (leadership lost); they stop when no holder is
   * left (the audit sink keeps them on every replica). Their stores are reconciled by the next list.
   */
  stopInventory(holder = "leader"): void {
    this.inventoryHolders.delete(holder);
    if (this.inventoryHolders.size > 0) return;
    this.inventoryStarted = false;
    for (const i of this.inventoryInformers) i.stop();
    this.invalidateInventory();
  }

  private invalidateInventory(): void {
    delete this.parts.workloads;
    delete this.parts.secrets;
    this.snap = undefined;
  }

  stop(): void {
    for (const i of [...this.informers, ...this.inventoryInformers]) i.stop();
    this.inventoryStarted = false;
    this.inventoryHolders.clear();
  }

  /** The webhook's view: true once every always-on informer has listed. */
  synced(): boolean {
    return this.informers.every((i) => i.synced());
  }

  inventorySynced(): boolean {
    return (
      this.inventoryStarted && this.synced() && this.inventoryInformers.every((i) => i.synced())
    );
  }

  private unsynced(): string[] {
    return this.started()
      .filter((i) => !i.synced())
      .map((i) => i.name);
  }

  /** Resolves once the webhook's informers have listed, or rejects after timeoutMs. */
  async waitForSync(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      () => this.synced(),
      timeoutMs,
      () =>
        `cluster cache not synced after ${timeoutMs} ms: waiting for ${this.unsynced().join(", ")}`,
    ); // Built now, not on the first RBAC review: the webhook's path then only follows changes.
    this.identityGraph();
  }

  /** Per informer; an inventory informer counts once it has listed (starting one must not read as a stalled watch). */
  lastEventAgeSeconds(): Record<string, number> {
    const now = Date.now();
    const shown = [
      ...this.informers,
      ...(this.inventoryStarted ? this.inventoryInformers.filter((i) => i.synced()) : []),
    ];
    return Object.fromEntries(shown.map((i) => [i.name, i.lastEventAgeSeconds(now)]));
  }

  restarts(): number {
    return this.started().reduce((s, i) => s + i.restarts, 0);
  }

  // --- ClusterView (webhook) ---

  /** Rebuilt lazily: a relist of 10,000 NHIs costs one rebuild, not 10,000. */
  get directory(): IdentityDirectory {
    this.dir ??= identityDirectory([...this.nhis.values()]);
    return this.dir;
  }

  /**
   * The identity graph over the ServiceAccounts and RBAC every replica watches (not workloads or
   * Secrets: only the leader lists those), built once and then followed change by change.
   */
  identityGraph(): IdentityGraph {
    this.graph ??= IdentityGraph.fromSnapshot(
      { ...this.snapshot(), workloads: [], secrets: [] },
      this.index,
    );
    return this.graph;
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

  tokenSecretAccount(namespace: string, name: string): string | undefined {
    return this.tokenSecrets.get(key(namespace, name)) || undefined;
  }

  namespaceLabels(namespace: string): Record<string, string> | undefined {
    return this.namespaces.get(namespace);
  }

  // --- InventorySource (reconcilers) ---

  grantsOf(sa: ServiceAccountRef): Grant[] {
    return this.index.grantsOf(sa);
  }

  memberGroups(): string[] {
    return this.index.memberGroups();
  }

  grantsOfGroup(group: string): Grant[] {
    return this.index.grantsOfGroup(group);
  }

  onChange(listener: (c: ObjectChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The whole view as a ClusterSnapshot; parts are rebuilt only after they changed. */
  snapshot(): ClusterSnapshot {
    if (this.snap) return this.snap;
    const list = <T>(part: Part): T[] =>
      (this.byPart.get(part) ?? []).flatMap((i) => i.list()) as unknown as T[];
    const p = this.parts;
    p.namespaces ??= list<NamespaceObject>("namespaces");
    p.serviceAccounts ??= [...this.serviceAccounts.values()];
    p.rbac ??= list<RbacObject>("rbac");
    p.nhis ??= [...this.nhis.values()];
    p.policies ??= [...this.policies.values()];
    p.workloads ??= this.inventoryStarted ? list<WorkloadObject>("workloads") : [];
    p.secrets ??= this.inventoryStarted
      ? (this.byPart.get("secrets") ?? [])
          .filter((i) => i.name === "secrets(metadata)")
          .flatMap((i) => i.list())
          .map((s): SecretMetadata => {
            const k = keyOf(s);
            return {
              kind: "Secret",
              apiVersion: "v1",
              metadata: s.metadata,
              type: this.tokenSecrets.has(k)
                ? SERVICE_ACCOUNT_TOKEN_TYPE
                : this.tlsSecrets.has(k)
                  ? TLS_TYPE
                  : "Opaque",
            };
          })
      : [];
    this.snap = {
      namespaces: p.namespaces,
      serviceAccounts: p.serviceAccounts,
      rbac: p.rbac,
      nhis: p.nhis,
      policies: p.policies,
      workloads: p.workloads,
      secrets: p.secrets,
    };
    return this.snap;
  }
}

async function waitFor(
  done: () => boolean,
  timeoutMs: number,
  message: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Loaded manifests → the ClusterSnapshot the operator also fills (core/snapshot.ts), plus a locator
// from each object to the file and line it came from. NHIs and NHIPolicies enter the snapshot only
// when valid (core/nhi's validator decides); the invalid ones become findings.
import type {
  ClusterSnapshot,
  DefinesObject,
  NamespaceObject,
  SecretMetadata,
  ServiceAccountObject,
  WorkloadObject,
} from "../core/snapshot.js";
import { emptySnapshot } from "../core/snapshot.js";
import type { RbacObject } from "../core/rbac/types.js";
import type { FieldError, NHIValidator } from "../core/nhi/validation.js";
import type { NHIPolicy, NonHumanIdentity } from "../core/nhi/types.js";
import { isWorkloadKind } from "../core/workloads/pod-template.js";
import type { ObjectRef } from "../core/policy/types.js";
import { checkShape, isClusterScoped } from "./kinds.js";
import type { LoadedObject, Location } from "./load.js";

export interface ManifestObject extends LoadedObject {
  ref: ObjectRef;
}

export interface InvalidObject {
  object: ManifestObject;
  errors: FieldError[];
}

export interface ManifestSet {
  snapshot: ClusterSnapshot;
  objects: ManifestObject[];
  /** NHIs / NHIPolicies the validator rejected. */
  invalid: InvalidObject[];
  /** Objects that appear more than once (the last one wins, as with kubectl apply). */
  duplicates: { first: ManifestObject; again: ManifestObject }[];
  locate(ref: Pick<ObjectRef, "kind" | "namespace" | "name">): ManifestObject | undefined;
}

/** kind/namespace/name; joined, not a template: one flat string, not a tree of parts, per key kept. */
export const refKey = (ref: Pick<ObjectRef, "kind" | "namespace" | "name">): string =>
  [ref.kind, ref.namespace ?? "", ref.name].join("/");

/** A loaded object with its coordinates; lineOf asks the loaded object. */
class ManifestEntry implements ManifestObject {
  readonly obj: Record<string, unknown>;
  readonly location: Location;
  constructor(
    private readonly loaded: LoadedObject,
    readonly ref: ObjectRef,
  ) {
    this.obj = loaded.obj;
    this.location = loaded.location;
  }

  lineOf(path: string): number {
    return this.loaded.lineOf(path);
  }
}

const RBAC_KINDS = new Set(["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"]);
const RBAC_GROUP = "rbac.authorization.k8s.io/v1";

export interface BuildOptions {
  /** Namespace for namespaced objects that name none (kubectl's -n). Default "default". */
  namespace?: string;
  validator: NHIValidator;
  now: Date;
  knownRuleIds: ReadonlySet<string>;
}

/**
 * Checks each object's shape (throws InputError, exit 2), defaults namespaces, validates NHIs and
 * NHIPolicies, and fills the snapshot. A later object with the same kind/namespace/name replaces an
 * earlier one, as a second `kubectl apply` would.
 */
export function buildManifestSet(
  loaded: readonly LoadedObject[],
  options: BuildOptions,
): ManifestSet {
  const defaultNs = options.namespace ?? "default";
  const byKey = new Map<string, ManifestObject>();
  const duplicates: ManifestSet["duplicates"] = [];
  for (const o of loaded) {
    checkShape(o);
    const meta = o.obj.metadata as Record<string, unknown>;
    if (typeof meta.name !== "string") continue; // generateName only: nothing to join on
    const kind = o.obj.kind as string;
    if (!isClusterScoped(kind)) {
      if (typeof meta.namespace !== "string" || meta.namespace === "") meta.namespace = defaultNs;
    } else {
      delete meta.namespace;
    }
    const apiVersion = o.obj.apiVersion as string;
    // Literals of fixed shape (namespace not added later): no property store of its own per ref.
    const ref: ObjectRef =
      typeof meta.namespace === "string"
        ? { apiVersion, kind, name: meta.name, namespace: meta.namespace }
        : { apiVersion, kind, name: meta.name };
    // A class of fixed shape, not a spread or a closure: for every object of a large set.
    const m: ManifestObject = new ManifestEntry(o, ref);
    const key = refKey(ref);
    const first = byKey.get(key);
    if (first) {
      duplicates.push({ first, again: m });
      byKey.delete(key); // re-insert: the last definition keeps its place at the end
    }
    byKey.set(key, m);
  }
  const objects = [...byKey.values()];
  const snapshot = emptySnapshot();
  const invalid: InvalidObject[] = [];
  for (const m of objects) {
    const { obj } = m;
    const kind = m.ref.kind;
    const apiVersion = m.ref.apiVersion;
    if (RBAC_KINDS.has(kind) && apiVersion === RBAC_GROUP) {
      snapshot.rbac.push(obj as unknown as RbacObject);
    } else if (apiVersion === "v1" && kind === "ServiceAccount") {
      snapshot.serviceAccounts.push(obj as unknown as ServiceAccountObject);
    } else if (apiVersion === "v1" && kind === "Namespace") {
      snapshot.namespaces.push(obj as unknown as NamespaceObject);
    } else if (apiVersion === "v1" && kind === "Secret") {
      snapshot.secrets.push(obj as unknown as SecretMetadata);
    } else if (isWorkloadKind(apiVersion, kind)) {
      snapshot.workloads.push(obj as unknown as WorkloadObject);
    } else if (kind === "NonHumanIdentity" || kind === "NHIPolicy") {
      const opts = { now: options.now, knownRuleIds: options.knownRuleIds };
      if (kind === "NonHumanIdentity") {
        const parsed = options.validator.parseNonHumanIdentity(obj, opts);
        if (parsed.ok) snapshot.nhis.push(parsed.value);
        else invalid.push({ object: m, errors: parsed.errors });
      } else {
        const parsed = options.validator.parseNHIPolicy(obj, opts);
        if (parsed.ok) snapshot.policies.push(parsed.value);
        else invalid.push({ object: m, errors: parsed.errors });
      }
    }
  }
  return { snapshot, objects, invalid, duplicates, locate: (ref) => byKey.get(refKey(ref)) };
}

/** What the manifests define (every object read, also one the validator rejected), for overlaySnapshot. */
export const definedBy =
  (set: ManifestSet): DefinesObject =>
  (ref) =>
    set.locate(ref) !== undefined;

/** Location of an object, or of one of its fields when the path resolves. */
export function locationOf(m: ManifestObject, fieldPath?: string): Location {
  if (fieldPath === undefined || fieldPath === "") return m.location;
  return { ...m.location, line: m.lineOf(fieldPath) };
}

export type { NHIPolicy, NonHumanIdentity };

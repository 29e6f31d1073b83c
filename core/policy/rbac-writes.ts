// Judge these writes: a set of RBAC objects written together over a base state (nhictl check's
// manifests over the live cluster, or over nothing). Each written binding is one write; what it
// gives each holder (a ServiceAccount, or a member group standing for all its members) is judged
// against what the holder held in the base, with decideRbacWrite — the webhook's own chain for one
// write. A base binding whose role the writes widen (or feed through aggregation) is judged the same
// way, at the written role. Catalogue entries that need permissions from several writes (CSR
// approval) are found by a second pass over each holder's combined gains.
import { catalogueHits } from "./catalogue-hits.js";
import {
  decideRbacWrite,
  grantsOfHolder,
  holderIdentity,
  holdersOf,
  widerGroupsOf,
  type GoverningIdentity,
  type Holder,
  type IdentityChange,
  type RoleLookup,
} from "./rbac-write.js";
import type { EffectivePolicy } from "./settings.js";
import type { Decision, ObjectRef, Violation } from "./types.js";
import { uncoveredRules } from "../rbac/coverage.js";
import { bindingKeyOf, type EffectivePermissionIndex } from "../rbac/effective.js";
import { groupIdentity } from "../rbac/groups.js";
import { selectorMatches } from "../labels.js";
import type {
  ClusterRole,
  ClusterRoleBinding,
  Grant,
  RoleBinding,
  ServiceAccountRef,
} from "../rbac/types.js";

type Ref = Pick<ObjectRef, "kind" | "namespace" | "name">;

/** One object of the written set: its coordinates and its body. */
export interface WrittenObject {
  ref: ObjectRef;
  obj: Record<string, unknown>;
}

export interface RbacWritesInput {
  /** Every object written, in order (other kinds are ignored); the last of equal refs counts. */
  written: readonly WrittenObject[];
  /** The effective permissions after the writes (the base with the written objects over it). */
  after: EffectivePermissionIndex;
  /** The effective permissions of the base without the written objects; absent: an empty base. */
  before?: EffectivePermissionIndex;
  governing: (sa: ServiceAccountRef) => GoverningIdentity | undefined;
  policy: EffectivePolicy;
  namespaceLabels?: (namespace: string) => Record<string, string> | undefined;
  /** The roles a written binding may name, as decideRbacWrite looks them up. */
  roles: RoleLookup;
  /** Findings already reported elsewhere (rule, identity): the combined pass does not repeat them. */
  reported?: (rule: string, identity: string | undefined) => boolean;
}

/** The judgement of one write, and what it points at. */
export interface JudgedRbacWrite {
  /** What the findings are about: a written binding, or the written role that widens a base binding (the binding itself when no written role is found). */
  at: Ref;
  /** Whether `at` is one of the written objects. */
  written: boolean;
  /** The role a written binding names (its definitions are the permissions); absent for other writes. */
  definedBy?: Ref;
  /** Written bindings that grant the other parts of a combined finding. */
  alsoGrantedBy: Ref[];
  decision: Decision;
  /** What the write changes for each holder (the attack paths it opens are judged from these: core/graph/escalation.ts). */
  changes: IdentityChange[];
}

const RBAC_V1 = "rbac.authorization.k8s.io/v1";
const isBinding = (kind: string): boolean =>
  kind === "RoleBinding" || kind === "ClusterRoleBinding";
/** kind/namespace/name; joined, not a template: one flat string, not a tree of parts, per key kept. */
const keyOf = (ref: Ref): string => [ref.kind, ref.namespace ?? "", ref.name].join("/");

interface Write {
  at: Ref;
  written: boolean;
  binding?: RoleBinding | ClusterRoleBinding;
  definedBy?: Ref;
  changes: Map<string, IdentityChange>;
}

export function judgeRbacWrites(input: RbacWritesInput): JudgedRbacWrite[] {
  const { after, before } = input;
  const byKey = new Map(input.written.map((w) => [keyOf(w.ref), w]));
  const locate = (ref: Ref): WrittenObject | undefined => byKey.get(keyOf(ref));

  const writes = new Map<string, Write>();
  // Every written binding is a write, also when it reaches no known account (its group subjects are judged).
  for (const w of byKey.values()) {
    if (!isBinding(w.ref.kind) || w.ref.apiVersion !== RBAC_V1) continue;
    const b = w.obj as unknown as RoleBinding | ClusterRoleBinding;
    writes.set(keyOf(w.ref), {
      at: w.ref,
      written: true,
      binding: b,
      definedBy: {
        kind: b.roleRef.kind,
        ...(b.roleRef.kind === "Role" && w.ref.namespace ? { namespace: w.ref.namespace } : {}),
        name: b.roleRef.name,
      },
      changes: new Map(),
    });
  }
  /** Combined gains per holder, for catalogue entries that need several bindings. */
  const combined = new Map<string, { holder: Holder; before: Grant[]; gained: Grant[] }>();

  // Every holder: the member groups bindings name and every known account.
  for (const holder of holdersOf(after)) {
    const grants = grantsOfHolder(after, holder);
    if (grants.length === 0) continue;
    const held = before ? grantsOfHolder(before, holder) : [];
    const heldByBinding = new Map(held.map((g) => [bindingKeyOf(g.binding), g]));
    for (const g of grants) {
      const bound = locate(g.binding);
      let gained: Grant;
      let key: string;
      if (bound) {
        gained = g;
        key = keyOf(bound.ref);
      } else {
        // A base binding: only what the writes add to its role counts, judged at the written role.
        const old = heldByBinding.get(bindingKeyOf(g.binding));
        const delta = old ? uncoveredRules(old.rules, g.rules) : g.rules;
        if (delta.length === 0) continue;
        gained = { ...g, rules: delta };
        const role = locate(g.role) ?? feedingClusterRole(input.written, after, g);
        key = role ? keyOf(role.ref) : bindingKeyOf(g.binding);
        if (!writes.has(key)) {
          writes.set(key, {
            at: role?.ref ?? {
              kind: g.binding.kind,
              namespace: g.binding.namespace,
              name: g.binding.name,
            },
            written: role !== undefined,
            changes: new Map(),
          });
        }
      }
      const w = writes.get(key);
      if (!w) continue;
      const k = holderIdentity(holder);
      const change: IdentityChange = w.changes.get(k) ?? { ...holder, before: held, gained: [] };
      change.gained.push(gained);
      w.changes.set(k, change);
      const c = combined.get(k) ?? { holder, before: held, gained: [] };
      c.gained.push(gained);
      combined.set(k, c);
    }
  }

  const common = {
    governing: input.governing,
    policy: input.policy,
    ...(input.namespaceLabels ? { namespaceLabels: input.namespaceLabels } : {}),
  };
  const out: JudgedRbacWrite[] = [];
  for (const w of writes.values()) {
    const changes = [...w.changes.values()];
    // Kept with the judgement: each list at its length, not with the room push left (17 items).
    for (const change of changes) change.gained = change.gained.slice();
    const decision = decideRbacWrite({
      ...common,
      object: w.at,
      ...(w.binding ? { binding: w.binding } : {}),
      changes,
      roles: input.roles,
    });
    out.push({
      at: w.at,
      written: w.written,
      ...(w.definedBy ? { definedBy: w.definedBy } : {}),
      alsoGrantedBy: [],
      decision,
      changes,
    });
  }

  const reported = (rule: string, identity: string): boolean =>
    input.reported?.(rule, identity) === true ||
    out.some(({ decision: d }) =>
      [...d.violations, ...d.warnings].some((v) => v.rule === rule && v.identity === identity),
    );
  // Second pass: catalogue entries reached only by the combination of several writes.
  for (const c of combined.values()) {
    if (c.gained.length < 2) continue;
    const identity = holderIdentity(c.holder);
    // Not again for a member when a group that contains it reported the same entry (groups come first).
    const reporters = [identity, ...widerGroupsOf(c.holder).map(groupIdentity)];
    const fresh = catalogueHits(c.gained).filter(
      (h) => h.grants.length > 1 && !reporters.some((who) => reported(h.entry.id, who)),
    );
    const firstGrant = fresh[0]?.grants[0];
    if (!firstGrant) continue;
    const wanted = new Set(fresh.map((h) => h.entry.id));
    const primary = locate(firstGrant.binding);
    const at = primary?.ref ?? {
      kind: firstGrant.binding.kind,
      namespace: firstGrant.binding.namespace,
      name: firstGrant.binding.name,
    };
    const decision = decideRbacWrite({
      ...common,
      object: at,
      changes: [{ ...c.holder, before: c.before, gained: c.gained }],
    });
    const keepOnly = (vs: Violation[]): Violation[] =>
      vs.filter((v) => wanted.has(v.rule) && v.identity === identity);
    out.push({
      at,
      written: primary !== undefined,
      alsoGrantedBy: fresh
        .flatMap((h) => h.grants.slice(1))
        .flatMap((g) => locate(g.binding)?.ref ?? []),
      decision: {
        allowed: false,
        violations: keepOnly(decision.violations),
        warnings: keepOnly(decision.warnings),
      },
      // Each write's own paths were judged with it; the combination adds no holder change.
      changes: [],
    });
  }
  return out;
}

/** A written ClusterRole that feeds (through its labels) the aggregated ClusterRole a grant comes from. */
function feedingClusterRole(
  written: readonly WrittenObject[],
  after: EffectivePermissionIndex,
  g: Grant,
): WrittenObject | undefined {
  if (g.role.kind !== "ClusterRole") return undefined;
  const aggregated: ClusterRole | undefined = after.clusterRole(g.role.name);
  const selectors = aggregated?.aggregationRule?.clusterRoleSelectors ?? [];
  if (selectors.length === 0) return undefined;
  return written.find(
    (w) =>
      w.ref.kind === "ClusterRole" &&
      selectors.some((s) =>
        selectorMatches(s, (w.obj.metadata as { labels?: Record<string, string> }).labels ?? {}),
      ),
  );
}

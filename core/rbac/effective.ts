// Effective permissions of every ServiceAccount and every member group, as an incremental in-memory index.
//
// Semantics follow the API server's rule resolver (kubernetes pkg/registry/rbac/validation/rule.go:
// VisitRulesFor, GetRoleReferenceRules, appliesToUser) and the ClusterRole aggregation controller
// (pkg/controller/clusterroleaggregation: syncClusterRole):
// - a ServiceAccount subject names "<namespace>/<name>"; in a RoleBinding a missing namespace
//   defaults to the binding's namespace, in a ClusterRoleBinding it matches nothing;
// - a User subject "system:serviceaccount:<ns>:<name>" is the ServiceAccount's username, so it
//   names it too;
// - every ServiceAccount is in the groups system:serviceaccounts, system:serviceaccounts:<ns> and
//   system:authenticated; those groups (and system:unauthenticated) are holders of their own
//   (groups.ts): a group holds what bindings to it or to a group containing it give, and every
//   member holds at least that, known to the index or not;
// - a RoleBinding grants in its own namespace, also when it references a ClusterRole; a
//   ClusterRoleBinding grants cluster-wide ("*") and may only reference a ClusterRole;
// - a binding to a role that does not exist grants nothing (but is remembered: creating the role
//   later gives its holders the rules);
// - a ClusterRole with an aggregationRule has exactly the union of the rules of the other
//   ClusterRoles its selectors match (its own `rules` are controller-owned and ignored), in
//   selector order, then by role name, without duplicates; aggregation chains (view → edit →
//   admin) resolve transitively, and cycles to their least fixed point;
// - Kubernetes' built-in ClusterRoles and kube-system/kube-public Roles are preloaded; a real
//   object of the same name replaces one, and removing it brings the built-in back (the API
//   server recreates it).
//
// Every mutation does work proportional to the changed object (plus the aggregating roles it
// feeds), never a rebuild. What-if questions (whatIf, affectedBy) apply the change to a
// copy-on-write layer over the index (layered.ts) and never write the shared maps, so readers of
// the index see its state unchanged while one runs. The aggregation engine is aggregation.ts.
// Nothing here reads a clock or does I/O.

import {
  BUILTIN_CLUSTER_ROLE_BINDINGS,
  BUILTIN_CLUSTER_ROLES,
  BUILTIN_ROLES,
} from "./builtin-roles.js";
import {
  cachedRuleKey,
  ClusterRoleAggregation,
  clusterRoleKey,
  sameRules,
  type AggregationHost,
} from "./aggregation.js";
import { uncoveredRules } from "./coverage.js";
import {
  ANONYMOUS_USER,
  GROUP_UNAUTHENTICATED,
  enclosingGroups,
  groupContains,
  groupsOfServiceAccount,
  isMemberGroup,
  memberGroup,
} from "./groups.js";
import {
  addTo,
  deleteFrom,
  layerOver,
  layerOverSet,
  type MapLike,
  type SetLike,
} from "./layered.js";
import type {
  BindingRef,
  ClusterRole,
  ClusterRoleBinding,
  Grant,
  GrantVia,
  PolicyRule,
  RbacObject,
  RbacObjectRef,
  Role,
  RoleBinding,
  RoleObjectRef,
  ServiceAccountRef,
} from "./types.js";

export interface EffectivePermissionIndexOptions {
  /** Preload Kubernetes' built-in ClusterRoles (cluster-admin, admin, edit, view, system:…) and kube-system/kube-public Roles. Default true. */
  builtinRoles?: boolean;
  /**
   * Preload Kubernetes' built-in ClusterRoleBindings (system:basic-user, system:discovery, … to
   * system:authenticated / system:serviceaccounts). Default false: they give every SA the same
   * discovery rights, which is noise for scope checks.
   */
  builtinBindings?: boolean;
}

export type RbacChange = { upsert: RbacObject } | { remove: RbacObjectRef };

const SA_USER_PREFIX = "system:serviceaccount:";

/** "ns/name": the key form of a ServiceAccountRef used by maps and whatIf's result. */
export function saKey(sa: ServiceAccountRef): string {
  return `${sa.namespace}/${sa.name}`;
}

export function roleKeyOf(ref: RoleObjectRef): string {
  return ref.kind === "Role"
    ? `Role/${ref.namespace ?? ""}/${ref.name}`
    : `ClusterRole/${ref.name}`;
}

export function bindingKeyOf(ref: BindingRef): string {
  return ref.kind === "RoleBinding"
    ? `RoleBinding/${ref.namespace ?? ""}/${ref.name}`
    : `ClusterRoleBinding/${ref.name}`;
}

// A binding entry is kept for every binding in the cluster, for as long as the process runs: it
// is kept small and flat (few objects for the collector to mark), and its grants are made once and
// shared by every holder's answer.

/**
 * A binding subject that names a ServiceAccount ("ns/name", which has a slash) or a member group
 * (groups.ts; none has a slash); every other subject is dropped.
 */
type SubjectEntry = string;
const isSaSubject = (s: SubjectEntry): boolean => s.includes("/");

const NONE: readonly string[] = Object.freeze([]);

interface BindingEntry {
  key: string;
  ref: BindingRef;
  roleKey: string;
  roleRef: RoleObjectRef;
  /** Where the grant applies: the RoleBinding's namespace, or "*". */
  namespace: string;
  /** Relevant subjects in their original order (the first that applies names `via`, as in appliesTo). */
  subjects: readonly SubjectEntry[];
  /** Distinct directly named SAs (the subjects array itself when that is all they are). */
  directSAs: readonly string[];
  /** Distinct member groups. */
  groups: readonly string[];
  /** The frozen grants handed out for this binding, one per `via`, all made from the same rules array. */
  grants: Grant[] | undefined;
}

/** What one mutation changed: previous values of everything it touched (for whatIf and affectedBy). */
interface ChangeSet {
  /** roleKey → effective rules before the change (undefined: the role did not exist). */
  roles: Map<string, PolicyRule[] | undefined>;
  /** bindingKey → entry before the change (undefined: the binding did not exist). */
  bindings: Map<string, BindingEntry | undefined>;
}

function newChangeSet(): ChangeSet {
  return { roles: new Map(), bindings: new Map() };
}

/** The memo of a what-if trial: never written (the trial flag bypasses it). */
const NO_MEMO: Map<string, Grant[]> = new Map();

export class EffectivePermissionIndex {
  // The state every mutation writes. Each is a Map (or Set) in the shared index, and a
  // copy-on-write layer over the shared one in a what-if trial (layered()); not readonly for that.

  // Objects as given (real ones) and the built-in ClusterRoles they may override (built-ins are
  // only written by the constructor).
  private roles: MapLike<string, Role> = new Map();
  private clusterRoles: MapLike<string, ClusterRole> = new Map();
  private builtinRoles = new Map<string, ClusterRole>();
  /** roleKey → built-in Role (kube-system, kube-public); a real Role of the same name overrides it. */
  private builtinNamespacedRoles = new Map<string, Role>();
  private bindings: MapLike<string, BindingEntry> = new Map();

  /** roleKey → effective rules of every existing role (aggregation resolved). */
  private rules: MapLike<string, PolicyRule[]> = new Map();

  // Reverse indexes.
  private bindingsByRole: MapLike<string, Set<string>> = new Map();
  private bindingsBySA: MapLike<string, Set<string>> = new Map();
  private bindingsByGroup: MapLike<string, Set<string>> = new Map();

  // Known ServiceAccounts: added explicitly, or named by some binding subject.
  private explicitSAs: SetLike<string> = new Set();
  private directRefs: MapLike<string, number> = new Map();
  private knownSAs: MapLike<string, ServiceAccountRef> = new Map();
  private knownByNamespace: MapLike<string, Set<string>> = new Map();

  private aggregation = new ClusterRoleAggregation(this.aggregationHost());

  /** Set while a batch is loaded: aggregation is resolved once at the end. */
  private deferAggregation = false;

  // Answers of grantsOf (by "ns/name") and grantsOfGroup (by group), frozen and shared between
  // callers: the webhook asks for the same identities on every review. Every mutation drops the
  // answers its ChangeSet touches (forgetChanges); a what-if trial's answers are never memoised.
  private grantsMemo = new Map<string, Grant[]>();
  private groupGrantsMemo = new Map<string, Grant[]>();
  /** True in a what-if trial (layered()): its state must not reach the memo. */
  private trial = false;

  constructor(options: EffectivePermissionIndexOptions = {}) {
    const builtin = options.builtinRoles ?? true;
    this.deferAggregation = true;
    if (builtin) {
      for (const cr of BUILTIN_CLUSTER_ROLES) {
        this.builtinRoles.set(cr.metadata.name, cr);
        this.refreshClusterRole(cr.metadata.name, undefined, newChangeSet());
      }
      for (const r of BUILTIN_ROLES) {
        const key = roleKeyOf({
          kind: "Role",
          namespace: r.metadata.namespace ?? "",
          name: r.metadata.name,
        });
        this.builtinNamespacedRoles.set(key, r);
        this.setRules(key, r.rules ?? [], newChangeSet());
      }
    }
    if (options.builtinBindings ?? false) {
      for (const b of BUILTIN_CLUSTER_ROLE_BINDINGS) this.applyBinding(b, newChangeSet());
    }
    this.deferAggregation = false;
    this.aggregation.recompute(this.aggregation.aggregatorNames(), newChangeSet().roles);
  }

  /** Build an index from a full listing (one aggregation pass instead of one per ClusterRole). */
  static from(
    objects: Iterable<RbacObject>,
    serviceAccounts: Iterable<ServiceAccountRef> = [],
    options: EffectivePermissionIndexOptions = {},
  ): EffectivePermissionIndex {
    const index = new EffectivePermissionIndex(options);
    for (const sa of serviceAccounts) index.addServiceAccount(sa);
    index.upsertAll(objects);
    return index;
  }

  // ---------------------------------------------------------------------------------------------
  // Mutations

  upsert(obj: RbacObject): void {
    const cs = newChangeSet();
    this.apply({ upsert: obj }, cs);
    this.forgetChanges(cs);
  }

  remove(ref: RbacObjectRef): void {
    const cs = newChangeSet();
    this.apply({ remove: ref }, cs);
    this.forgetChanges(cs);
  }

  /** Upsert many objects; aggregation is resolved once at the end (initial list, relist). */
  upsertAll(objects: Iterable<RbacObject>): void {
    const cs = newChangeSet();
    this.deferAggregation = true;
    try {
      for (const obj of objects) this.apply({ upsert: obj }, cs);
    } finally {
      this.deferAggregation = false;
    }
    this.aggregation.recompute(this.aggregation.aggregatorNames(), cs.roles);
    this.forgetAll();
  }

  addServiceAccount(sa: ServiceAccountRef): void {
    const key = saKey(sa);
    if (this.explicitSAs.has(key)) return;
    this.explicitSAs.add(key);
    this.markKnown(key, sa.namespace, sa.name);
  }

  removeServiceAccount(sa: ServiceAccountRef): void {
    const key = saKey(sa);
    if (!this.explicitSAs.delete(key)) return;
    if ((this.directRefs.get(key) ?? 0) === 0) this.markUnknown(key, sa.namespace);
  }

  // ---------------------------------------------------------------------------------------------
  // Queries

  /**
   * Every grant the ServiceAccount holds, one per binding that applies to it, sorted by binding.
   * Works for any SA, known or not. Bindings to missing roles are left out.
   */
  grantsOf(sa: ServiceAccountRef): Grant[] {
    const key = saKey(sa);
    const memo = this.trial ? undefined : this.grantsMemo.get(key);
    if (memo !== undefined) return memo;
    const keys = new Set<string>();
    for (const src of [
      this.bindingsBySA.get(key),
      ...groupsOfServiceAccount(sa.namespace).map((g) => this.bindingsByGroup.get(g)),
    ]) {
      if (src !== undefined) for (const b of src) keys.add(b);
    }
    const grants: Grant[] = [];
    for (const b of [...keys].sort()) {
      const entry = this.bindings.get(b);
      if (entry === undefined) continue;
      const via = viaFor(entry, key, sa.namespace);
      const rules = this.rules.get(entry.roleKey);
      if (via === undefined || rules === undefined) continue;
      grants.push(sharedGrant(entry, rules, via));
    }
    return this.remember(this.grantsMemo, key, grants);
  }

  /** The grants of bindings that name the ServiceAccount itself (not through a group), sorted by binding. */
  directGrantsOf(sa: ServiceAccountRef): Grant[] {
    const grants: Grant[] = [];
    for (const b of [...(this.bindingsBySA.get(saKey(sa)) ?? [])].sort()) {
      const entry = this.bindings.get(b);
      const rules = entry === undefined ? undefined : this.rules.get(entry.roleKey);
      if (entry !== undefined && rules !== undefined)
        grants.push(grantOf(entry, rules, "serviceaccount"));
    }
    return grants;
  }

  /**
   * Every grant a member group (groups.ts) holds, whoever its members are: one per binding to the
   * group or to a group that contains it (system:serviceaccounts:<ns> also holds what
   * system:serviceaccounts and system:authenticated hold), sorted by binding. Every member holds at
   * least these. Empty for a group that is not a member group.
   */
  grantsOfGroup(group: string): Grant[] {
    const memo = this.trial ? undefined : this.groupGrantsMemo.get(group);
    if (memo !== undefined) return memo;
    const keys = new Set<string>();
    for (const g of enclosingGroups(group))
      for (const b of this.bindingsByGroup.get(g) ?? []) keys.add(b);
    const grants: Grant[] = [];
    for (const b of [...keys].sort()) {
      const entry = this.bindings.get(b);
      const rules = entry === undefined ? undefined : this.rules.get(entry.roleKey);
      const via = entry === undefined ? undefined : groupViaFor(entry, group);
      if (entry === undefined || rules === undefined || via === undefined) continue;
      grants.push(sharedGrant(entry, rules, via));
    }
    return this.remember(this.groupGrantsMemo, group, grants);
  }

  /** Member groups some binding names, sorted: the groups judged as holders in their own right. */
  memberGroups(): string[] {
    return [...this.bindingsByGroup.keys()].sort();
  }

  /** Known ServiceAccounts (added, or named by a binding subject), sorted by "ns/name". */
  serviceAccounts(): ServiceAccountRef[] {
    return [...this.knownSAs.keys()].sort().map((k) => this.knownSAs.get(k) as ServiceAccountRef);
  }

  /** Effective rules of a role (aggregation resolved); undefined when it does not exist. */
  rulesOf(ref: RoleObjectRef): PolicyRule[] | undefined {
    return this.rules.get(roleKeyOf(ref));
  }

  /** The ClusterRole in effect under that name: the real object, else the built-in one. */
  clusterRole(name: string): ClusterRole | undefined {
    return this.clusterRoles.get(name) ?? this.builtinRoles.get(name);
  }

  /** True when the ClusterRole in effect under that name is Kubernetes' built-in one. */
  isBuiltin(name: string): boolean {
    return !this.clusterRoles.has(name) && this.builtinRoles.has(name);
  }

  /** Bindings that reference this role (whether or not it exists). */
  bindingsOf(ref: RoleObjectRef): BindingRef[] {
    return [...(this.bindingsByRole.get(roleKeyOf(ref)) ?? [])]
      .sort()
      .map((b) => (this.bindings.get(b) as BindingEntry).ref);
  }

  /** Roles that bindings reference but that do not exist, with those bindings. */
  unresolvedRoleRefs(): { role: RoleObjectRef; bindings: BindingRef[] }[] {
    const out: { role: RoleObjectRef; bindings: BindingRef[] }[] = [];
    for (const [rk, bs] of this.bindingsByRole) {
      if (this.rules.has(rk)) continue;
      const entries = [...bs].sort().map((b) => this.bindings.get(b) as BindingEntry);
      const first = entries[0];
      if (first !== undefined)
        out.push({ role: first.roleRef, bindings: entries.map((e) => e.ref) });
    }
    return out.sort((a, b) => roleKeyOf(a.role).localeCompare(roleKeyOf(b.role)));
  }

  /** The role itself and every ClusterRole that aggregates it, transitively (their role keys). */
  private roleKeysCarrying(ref: RoleObjectRef): Set<string> {
    const roleKeys = new Set<string>([roleKeyOf(ref)]);
    if (ref.kind === "ClusterRole") {
      const queue = [ref.name];
      for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
        for (const consumer of this.aggregation.consumersOf(name)) {
          const ck = clusterRoleKey(consumer);
          if (!roleKeys.has(ck)) {
            roleKeys.add(ck);
            queue.push(consumer);
          }
        }
      }
    }
    return roleKeys;
  }

  /**
   * ServiceAccounts that hold this role's rules: bound to it, or bound to a ClusterRole that
   * aggregates it (transitively). Group subjects expand to the known SAs in scope.
   */
  holdersOf(ref: RoleObjectRef): ServiceAccountRef[] {
    const roleKeys = this.roleKeysCarrying(ref);
    const sas = new Set<string>();
    for (const rk of roleKeys) {
      for (const b of this.bindingsByRole.get(rk) ?? [])
        this.expandSubjects(this.bindings.get(b), sas);
    }
    return this.refsOf(sas);
  }

  /** Is the ServiceAccount known (added, or named by some binding)? */
  serviceAccountKnown(sa: ServiceAccountRef): boolean {
    return this.knownSAs.has(saKey(sa));
  }

  /** Does some binding name the ServiceAccount itself (not only through a group)? */
  hasDirectBinding(sa: ServiceAccountRef): boolean {
    return this.bindingsBySA.has(saKey(sa));
  }

  /** The ServiceAccounts and member groups a binding names now (empty when it does not exist). */
  subjectsOf(ref: BindingRef): { serviceAccounts: ServiceAccountRef[]; groups: string[] } {
    const e = this.bindings.get(bindingKeyOf(ref));
    return {
      serviceAccounts: e === undefined ? [] : this.refsOf(new Set(e.directSAs)),
      groups: e === undefined ? [] : [...e.groups],
    };
  }

  /**
   * Who is bound to this role, or to a ClusterRole aggregating it (transitively): the ServiceAccounts
   * named directly and the member groups named, without expanding groups to their members.
   */
  subjectsHolding(ref: RoleObjectRef): { serviceAccounts: ServiceAccountRef[]; groups: string[] } {
    const roleKeys = this.roleKeysCarrying(ref);
    const sas = new Set<string>();
    const groups = new Set<string>();
    for (const rk of roleKeys) {
      for (const b of this.bindingsByRole.get(rk) ?? []) {
        const e = this.bindings.get(b);
        for (const sa of e?.directSAs ?? []) sas.add(sa);
        for (const g of e?.groups ?? []) groups.add(g);
      }
    }
    return { serviceAccounts: this.refsOf(sas), groups: [...groups].sort() };
  }

  /**
   * ServiceAccounts whose grants an upsert of `obj` (or, given a reference, its removal) would
   * change or touch: computed exactly by applying the change and reverting it.
   */
  affectedBy(obj: RbacObject | RbacObjectRef): ServiceAccountRef[] {
    const change: RbacChange = isObject(obj) ? { upsert: obj } : { remove: obj };
    const sas = new Set<string>();
    const { trial, cs } = this.trialOf(change);
    for (const [b, old] of cs.bindings) {
      trial.expandSubjects(old, sas);
      trial.expandSubjects(trial.bindings.get(b), sas);
    }
    for (const rk of cs.roles.keys()) {
      for (const b of trial.bindingsByRole.get(rk) ?? [])
        trial.expandSubjects(trial.bindings.get(b), sas);
    }
    return trial.refsOf(sas);
  }

  /**
   * For every known ServiceAccount that would gain something, the grants it would hold after the
   * change that it does not hold now: a binding that newly applies to it gives the whole grant; a
   * binding it already held whose role widens gives a grant with only the added atomic rules
   * (see coverage.breakdown). SAs that gain nothing are absent. The index is left unchanged.
   */
  whatIf(change: RbacChange): Map<string, Grant[]> {
    return this.whatIfHolders(change).serviceAccounts;
  }

  /**
   * whatIf for every holder in one pass: the known ServiceAccounts (by "ns/name"), and the member
   * groups that bindings name (by group name; a group gains what a binding to it, or to a group
   * that contains it, newly gives every member).
   */
  whatIfHolders(change: RbacChange): {
    serviceAccounts: Map<string, Grant[]>;
    groups: Map<string, Grant[]>;
  } {
    const serviceAccounts = new Map<string, Grant[]>();
    const groups = new Map<string, Grant[]>();
    // The state before is this index, the state after is the trial layered over it.
    const { trial, cs } = this.trialOf(change);
    const touched = new Set<string>(cs.bindings.keys());
    for (const rk of cs.roles.keys())
      for (const b of trial.bindingsByRole.get(rk) ?? []) touched.add(b);
    // uncoveredRules(old, new) per distinct (old, new) pair of rule arrays: a widened role shared
    // by thousands of bindings is compared once.
    const deltas = new Map<PolicyRule[], Map<PolicyRule[], PolicyRule[]>>();
    for (const b of [...touched].sort()) {
      const after = trial.bindings.get(b);
      if (after === undefined) continue;
      const newRules = trial.rules.get(after.roleKey);
      if (newRules === undefined || newRules.length === 0) continue;
      const before = this.bindings.get(b);
      const oldRules = before === undefined ? undefined : this.rules.get(before.roleKey);
      let delta: PolicyRule[] | undefined;
      const widened = (): PolicyRule[] => {
        if (delta === undefined) {
          const old = oldRules as PolicyRule[];
          let byNew = deltas.get(old);
          if (byNew === undefined) {
            byNew = new Map();
            deltas.set(old, byNew);
          }
          delta = byNew.get(newRules);
          if (delta === undefined) {
            // Rules already present verbatim are covered (a rule set covers itself): only diff the rest.
            const oldKeys = new Set(old.map(cachedRuleKey));
            delta = uncoveredRules(
              old,
              newRules.filter((r) => !oldKeys.has(cachedRuleKey(r))),
            );
            byNew.set(newRules, delta);
          }
        }
        return delta;
      };
      /** What `holder` gains through this binding: the whole grant if it newly applies, else what the role added. */
      const record = (
        into: Map<string, Grant[]>,
        holder: string,
        via: GrantVia,
        heldBefore: boolean,
      ): void => {
        const rules = heldBefore ? widened() : newRules;
        if (rules.length === 0) return;
        const gained = grantOf(after, rules, via);
        const list = into.get(holder);
        if (list === undefined) into.set(holder, [gained]);
        else list.push(gained);
      };
      const sas = new Set<string>();
      trial.expandSubjects(after, sas);
      for (const key of sas) {
        const sa = trial.knownSAs.get(key) as ServiceAccountRef;
        const heldBefore =
          before !== undefined &&
          oldRules !== undefined &&
          viaFor(before, key, sa.namespace) !== undefined;
        record(serviceAccounts, key, viaFor(after, key, sa.namespace) as GrantVia, heldBefore);
      }
      const reached = new Set<string>();
      trial.expandGroups(after, reached);
      for (const g of reached) {
        const heldBefore =
          before !== undefined && oldRules !== undefined && groupViaFor(before, g) !== undefined;
        record(groups, g, groupViaFor(after, g) as GrantVia, heldBefore);
      }
    }
    return { serviceAccounts, groups };
  }

  /** Sizes, for benchmarks and metrics. */
  stats(): {
    roles: number;
    clusterRoles: number;
    bindings: number;
    serviceAccounts: number;
    aggregators: number;
  } {
    return {
      roles: this.roles.size,
      clusterRoles: new Set(this.clusterRoleNames()).size,
      bindings: this.bindings.size,
      serviceAccounts: this.knownSAs.size,
      aggregators: this.aggregation.aggregatorCount,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  /**
   * The index after `change`, as a copy-on-write layer over this one (which it never writes), and
   * what the change touched. Its answers are never memoised.
   */
  private trialOf(change: RbacChange): { trial: EffectivePermissionIndex; cs: ChangeSet } {
    const trial = this.layered();
    const cs = newChangeSet();
    trial.apply(change, cs);
    return { trial, cs };
  }

  /** A copy-on-write layer over this index: reads see this state, writes stay in the layer. */
  private layered(): EffectivePermissionIndex {
    // Not through the constructor: it would allocate and resolve an empty index only to replace it.
    const t = Object.create(EffectivePermissionIndex.prototype) as EffectivePermissionIndex;
    t.roles = layerOver(this.roles);
    t.clusterRoles = layerOver(this.clusterRoles);
    t.builtinRoles = this.builtinRoles;
    t.builtinNamespacedRoles = this.builtinNamespacedRoles;
    t.bindings = layerOver(this.bindings);
    t.rules = layerOver(this.rules);
    t.bindingsByRole = layerOver(this.bindingsByRole);
    t.bindingsBySA = layerOver(this.bindingsBySA);
    t.bindingsByGroup = layerOver(this.bindingsByGroup);
    t.explicitSAs = layerOverSet(this.explicitSAs);
    t.directRefs = layerOver(this.directRefs);
    t.knownSAs = layerOver(this.knownSAs);
    t.knownByNamespace = layerOver(this.knownByNamespace);
    t.aggregation = this.aggregation.layered(t.aggregationHost());
    t.deferAggregation = false;
    // A trial never reads or writes the memo (trial is set); these are only for completeness.
    t.grantsMemo = NO_MEMO;
    t.groupGrantsMemo = NO_MEMO;
    t.trial = true;
    return t;
  }

  /** What the aggregation engine reads and writes of this index (whatever its maps are now). */
  private aggregationHost(): AggregationHost {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const index = this;
    return {
      clusterRole: (name) => index.clusterRole(name),
      clusterRoleNames: () => index.clusterRoleNames(),
      rules: () => index.rules,
    };
  }

  /** Names of every ClusterRole in effect (real or built-in), each once. */
  private *clusterRoleNames(): Iterable<string> {
    for (const name of this.clusterRoles.keys()) yield name;
    for (const name of this.builtinRoles.keys()) if (!this.clusterRoles.has(name)) yield name;
  }

  /** Freeze and keep an answer (shared by every caller from now on), unless in a trial state. */
  private remember(memo: Map<string, Grant[]>, key: string, grants: Grant[]): Grant[] {
    if (this.trial) return grants;
    for (const g of grants) Object.freeze(g);
    Object.freeze(grants);
    memo.set(key, grants);
    return grants;
  }

  private forgetAll(): void {
    this.grantsMemo.clear();
    this.groupGrantsMemo.clear();
  }

  /**
   * Drop the memoised answers a mutation may have changed: those of every ServiceAccount a touched
   * binding names (before and after), and of every binding of a role whose rules changed. A group
   * subject reaches an open set of accounts (and every group answer), so it drops everything.
   */
  private forgetChanges(cs: ChangeSet): void {
    if (this.grantsMemo.size === 0 && this.groupGrantsMemo.size === 0) return;
    const forget = (e: BindingEntry | undefined): boolean => {
      if (e === undefined) return true;
      if (e.groups.length > 0) {
        this.forgetAll();
        return false;
      }
      for (const sa of e.directSAs) this.grantsMemo.delete(sa);
      return true;
    };
    for (const [b, old] of cs.bindings) {
      if (!forget(old) || !forget(this.bindings.get(b))) return;
    }
    for (const rk of cs.roles.keys()) {
      for (const b of this.bindingsByRole.get(rk) ?? []) if (!forget(this.bindings.get(b))) return;
    }
  }

  private apply(change: RbacChange, cs: ChangeSet): void {
    if ("upsert" in change) {
      const obj = change.upsert;
      switch (obj.kind) {
        case "Role": {
          const key = roleKeyOf({
            kind: "Role",
            namespace: obj.metadata.namespace ?? "",
            name: obj.metadata.name,
          });
          this.roles.set(key, obj);
          this.setRules(key, obj.rules ?? [], cs);
          return;
        }
        case "ClusterRole": {
          const name = obj.metadata.name;
          const prev = this.clusterRole(name);
          this.clusterRoles.set(name, obj);
          this.refreshClusterRole(name, prev, cs);
          return;
        }
        case "RoleBinding":
        case "ClusterRoleBinding":
          this.applyBinding(obj, cs);
          return;
      }
    }
    const ref = change.remove;
    switch (ref.kind) {
      case "Role": {
        const key = roleKeyOf(ref);
        if (!this.roles.delete(key)) return;
        this.setRules(key, this.builtinNamespacedRoles.get(key)?.rules, cs);
        return;
      }
      case "ClusterRole": {
        const prev = this.clusterRole(ref.name);
        if (!this.clusterRoles.delete(ref.name)) return;
        this.refreshClusterRole(ref.name, prev, cs);
        return;
      }
      case "RoleBinding":
      case "ClusterRoleBinding": {
        const key = bindingKeyOf(ref);
        const old = this.bindings.get(key);
        if (old === undefined) return;
        this.unindexBinding(old);
        this.bindings.delete(key);
        if (!cs.bindings.has(key)) cs.bindings.set(key, old);
        return;
      }
    }
  }

  private setRules(roleKey: string, rules: PolicyRule[] | undefined, cs: ChangeSet): void {
    const prev = this.rules.get(roleKey);
    if (rules === undefined) this.rules.delete(roleKey);
    else this.rules.set(roleKey, rules);
    if (!cs.roles.has(roleKey) && !sameRules(prev, rules)) cs.roles.set(roleKey, prev);
  }

  private applyBinding(obj: RoleBinding | ClusterRoleBinding, cs: ChangeSet): void {
    const entry = normalizeBinding(obj);
    const old = this.bindings.get(entry.key);
    if (old !== undefined) this.unindexBinding(old);
    this.bindings.set(entry.key, entry);
    this.indexBinding(entry);
    if (!cs.bindings.has(entry.key)) cs.bindings.set(entry.key, old);
  }

  private indexBinding(e: BindingEntry): void {
    addTo(this.bindingsByRole, e.roleKey, e.key);
    for (const g of e.groups) addTo(this.bindingsByGroup, g, e.key);
    for (const sa of e.directSAs) {
      addTo(this.bindingsBySA, sa, e.key);
      const n = this.directRefs.get(sa) ?? 0;
      this.directRefs.set(sa, n + 1);
      if (n === 0) {
        const slash = sa.indexOf("/");
        this.markKnown(sa, sa.slice(0, slash), sa.slice(slash + 1));
      }
    }
  }

  private unindexBinding(e: BindingEntry): void {
    deleteFrom(this.bindingsByRole, e.roleKey, e.key);
    for (const g of e.groups) deleteFrom(this.bindingsByGroup, g, e.key);
    for (const sa of e.directSAs) {
      deleteFrom(this.bindingsBySA, sa, e.key);
      const n = (this.directRefs.get(sa) ?? 1) - 1;
      if (n > 0) {
        this.directRefs.set(sa, n);
      } else {
        this.directRefs.delete(sa);
        if (!this.explicitSAs.has(sa)) this.markUnknown(sa, sa.slice(0, sa.indexOf("/")));
      }
    }
  }

  private markKnown(key: string, namespace: string, name: string): void {
    if (this.knownSAs.has(key)) return;
    this.knownSAs.set(key, { namespace, name });
    addTo(this.knownByNamespace, namespace, key);
  }

  private markUnknown(key: string, namespace: string): void {
    if (!this.knownSAs.delete(key)) return;
    deleteFrom(this.knownByNamespace, namespace, key);
  }

  /** Add the known SAs a binding's subjects reach to `into`. */
  private expandSubjects(e: BindingEntry | undefined, into: Set<string>): void {
    if (e === undefined) return;
    for (const sa of e.directSAs) into.add(sa);
    for (const g of e.groups) {
      const ns = memberGroup(g)?.serviceAccountNamespace;
      if (ns === "*") {
        for (const k of this.knownSAs.keys()) into.add(k);
      } else if (ns !== undefined) {
        for (const k of this.knownByNamespace.get(ns) ?? []) into.add(k);
      }
    }
  }

  /** Add the member groups some binding names that a binding's group subjects contain to `into`. */
  private expandGroups(e: BindingEntry | undefined, into: Set<string>): void {
    if (e === undefined) return;
    for (const named of e.groups) {
      for (const g of this.bindingsByGroup.keys()) if (groupContains(named, g)) into.add(g);
    }
  }

  private refsOf(keys: Set<string>): ServiceAccountRef[] {
    const out: ServiceAccountRef[] = [];
    for (const k of [...keys].sort()) {
      const slash = k.indexOf("/");
      out.push(this.knownSAs.get(k) ?? { namespace: k.slice(0, slash), name: k.slice(slash + 1) });
    }
    return out;
  }

  /**
   * The ClusterRole in effect under `name` changed from `prev` to whatever is in effect now: update
   * the aggregation engine's indexes and the rules, and re-resolve every aggregating role that it
   * fed before or may feed now.
   */
  private refreshClusterRole(name: string, prev: ClusterRole | undefined, cs: ChangeSet): void {
    const next = this.clusterRole(name);
    const key = clusterRoleKey(name);
    this.aggregation.changed(name, prev, next);
    if (next === undefined) {
      this.setRules(key, undefined, cs);
    } else if (next.aggregationRule !== undefined) {
      // Keep whatever it had until the engine resolves it (needed for an exact ChangeSet).
      if (!this.rules.has(key)) this.setRules(key, [], cs);
    } else {
      this.setRules(key, next.rules ?? [], cs);
    }
    if (this.deferAggregation) return;
    const seeds = this.aggregation.seedsAfterChange(name);
    if (seeds.length > 0) this.aggregation.recompute(seeds, cs.roles);
  }
}

function isObject(x: RbacObject | RbacObjectRef): x is RbacObject {
  return "metadata" in x;
}

function normalizeBinding(obj: RoleBinding | ClusterRoleBinding): BindingEntry {
  const name = obj.metadata.name;
  const isRB = obj.kind === "RoleBinding";
  const ns = isRB ? (obj.metadata.namespace ?? "") : "";
  const ref: BindingRef = isRB
    ? { kind: "RoleBinding", namespace: ns, name }
    : { kind: "ClusterRoleBinding", name };
  let roleRef: RoleObjectRef;
  let roleKey: string;
  if (obj.roleRef.kind === "ClusterRole") {
    roleRef = { kind: "ClusterRole", name: obj.roleRef.name };
    roleKey = roleKeyOf(roleRef);
  } else if (obj.roleRef.kind === "Role" && isRB) {
    roleRef = { kind: "Role", namespace: ns, name: obj.roleRef.name };
    roleKey = roleKeyOf(roleRef);
  } else {
    // The API server rejects a ClusterRoleBinding to a Role (and unknown kinds): it never resolves.
    roleRef = { kind: "Role", name: obj.roleRef.name };
    roleKey = `!invalid/${String(obj.roleRef.kind)}/${obj.roleRef.name}`;
  }
  const subjects: SubjectEntry[] = [];
  const direct = new Set<string>();
  const groups = new Set<string>();
  for (const s of obj.subjects ?? []) {
    if (s.kind === "ServiceAccount") {
      const saNs = s.namespace !== undefined && s.namespace !== "" ? s.namespace : ns;
      if (saNs === "") continue;
      const k = `${saNs}/${s.name}`;
      subjects.push(k);
      direct.add(k);
    } else if (s.kind === "User" && s.name === ANONYMOUS_USER) {
      subjects.push(GROUP_UNAUTHENTICATED);
      groups.add(GROUP_UNAUTHENTICATED);
    } else if (s.kind === "User") {
      if (!s.name.startsWith(SA_USER_PREFIX)) continue;
      const rest = s.name.slice(SA_USER_PREFIX.length);
      const colon = rest.indexOf(":");
      if (colon <= 0 || colon === rest.length - 1) continue;
      const k = `${rest.slice(0, colon)}/${rest.slice(colon + 1)}`;
      subjects.push(k);
      direct.add(k);
    } else if (s.kind === "Group") {
      const g = s.name;
      if (isMemberGroup(g)) {
        subjects.push(g);
        groups.add(g);
      }
    }
  }
  return {
    key: bindingKeyOf(ref),
    ref,
    roleKey,
    roleRef,
    namespace: isRB ? ns : "*",
    subjects,
    directSAs: groups.size === 0 && direct.size === subjects.length ? subjects : [...direct],
    groups: groups.size === 0 ? NONE : [...groups],
    grants: undefined,
  };
}

/** The first subject of the binding that applies to the SA (appliesTo), as a `via`. */
function viaFor(e: BindingEntry, key: string, namespace: string): GrantVia | undefined {
  const groups = groupsOfServiceAccount(namespace);
  for (const s of e.subjects) {
    if (isSaSubject(s)) {
      if (s === key) return "serviceaccount";
    } else if (groups.includes(s)) {
      return `group:${s}` as GrantVia;
    }
  }
  return undefined;
}

/** The first group subject of the binding that contains every member of `group`, as a `via`. */
function groupViaFor(e: BindingEntry, group: string): GrantVia | undefined {
  for (const s of e.subjects) {
    if (!isSaSubject(s) && groupContains(s, group)) return `group:${s}` as GrantVia;
  }
  return undefined;
}

function grantOf(e: BindingEntry, rules: PolicyRule[], via: GrantVia): Grant {
  return { namespace: e.namespace, rules, binding: e.ref, role: e.roleRef, via };
}

/**
 * The binding's grant through `via` with the role's current rules, frozen and shared by every
 * answer that holds it (thousands of accounts share a group binding's). Rules arrays are replaced,
 * never edited, so a grant made from another array is stale and all are made again.
 */
function sharedGrant(e: BindingEntry, rules: PolicyRule[], via: GrantVia): Grant {
  let made = e.grants;
  if (made === undefined || made[0]?.rules !== rules) {
    made = [];
    e.grants = made;
  }
  for (const g of made) if (g.via === via) return g;
  const g = Object.freeze(grantOf(e, rules, via));
  made.push(g);
  return g;
}

// The ClusterRole aggregation engine of the effective-permission index (effective.ts), as the
// aggregation controller resolves it (kubernetes pkg/controller/clusterroleaggregation:
// syncClusterRole): a ClusterRole with an aggregationRule has exactly the union of the rules of the
// other ClusterRoles its selectors match (its own `rules` are controller-owned and ignored), in
// selector order, then by role name, without duplicates; chains (view → edit → admin) resolve
// transitively, and cycles to their least fixed point.
//
// It keeps a label index over the ClusterRoles in effect, the aggregating roles indexed by one
// necessary label pair of each selector (or "generic" when a selector has no matchLabels), and who
// currently feeds whom. The ClusterRoles themselves and the resolved rules belong to the index; the
// engine reads and writes them through its host. Every map may be a copy-on-write layer (layered.ts).

import { ruleKey } from "./coverage.js";
import {
  addTo,
  deleteFrom,
  layerOver,
  layerOverSet,
  type MapLike,
  type SetLike,
} from "./layered.js";
import { selectorMatches } from "../labels.js";
import type { ClusterRole, LabelSelector, PolicyRule } from "./types.js";

/** What the engine reads and writes of the index. */
export interface AggregationHost {
  /** The ClusterRole in effect under that name (the real object, else the built-in one). */
  clusterRole(name: string): ClusterRole | undefined;
  /** Names of every ClusterRole in effect. */
  clusterRoleNames(): Iterable<string>;
  /**
   * roleKey → effective rules of every existing role. A method, not a getter: an object literal
   * with a getter gets a hidden class of its own per instance, and a what-if makes one per review.
   */
  rules(): MapLike<string, PolicyRule[]>;
}

/** roleKey → effective rules before a change (undefined: the role did not exist). */
export type RulesChanged = Map<string, PolicyRule[] | undefined>;

export function clusterRoleKey(name: string): string {
  return `ClusterRole/${name}`;
}

function pairKey(key: string, value: string): string {
  return `${key}\u0000${value}`;
}

// ruleKey is a JSON.stringify; aggregation recomputes hash the same rule objects again and again.
const ruleKeyCache = new WeakMap<PolicyRule, string>();
export function cachedRuleKey(rule: PolicyRule): string {
  let k = ruleKeyCache.get(rule);
  if (k === undefined) {
    k = ruleKey(rule);
    ruleKeyCache.set(rule, k);
  }
  return k;
}

export function sameRules(
  a: readonly PolicyRule[] | undefined,
  b: readonly PolicyRule[] | undefined,
): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as PolicyRule;
    const y = b[i] as PolicyRule;
    if (x !== y && cachedRuleKey(x) !== cachedRuleKey(y)) return false;
  }
  return true;
}

interface AggregationState {
  crByPair: MapLike<string, Set<string>>;
  aggregators: MapLike<string, LabelSelector[]>;
  aggByPair: MapLike<string, Set<string>>;
  aggGeneric: SetLike<string>;
  aggSources: MapLike<string, Set<string>>;
  aggConsumers: MapLike<string, Set<string>>;
}

export class ClusterRoleAggregation {
  private readonly s: AggregationState;

  constructor(
    private readonly host: AggregationHost,
    state?: AggregationState,
  ) {
    this.s = state ?? {
      crByPair: new Map(),
      aggregators: new Map(),
      aggByPair: new Map(),
      aggGeneric: new Set(),
      aggSources: new Map(),
      aggConsumers: new Map(),
    };
  }

  /** An engine over `host` whose writes stay in layers over this one's state. */
  layered(host: AggregationHost): ClusterRoleAggregation {
    const s = this.s;
    return new ClusterRoleAggregation(host, {
      crByPair: layerOver(s.crByPair),
      aggregators: layerOver(s.aggregators),
      aggByPair: layerOver(s.aggByPair),
      aggGeneric: layerOverSet(s.aggGeneric),
      aggSources: layerOver(s.aggSources),
      aggConsumers: layerOver(s.aggConsumers),
    });
  }

  /** Names of every aggregating ClusterRole. */
  aggregatorNames(): string[] {
    return [...this.s.aggregators.keys()];
  }

  get aggregatorCount(): number {
    return this.s.aggregators.size;
  }

  isAggregator(name: string): boolean {
    return this.s.aggregators.has(name);
  }

  /** Aggregating roles the ClusterRole currently feeds. */
  consumersOf(name: string): Iterable<string> {
    return this.s.aggConsumers.get(name) ?? [];
  }

  /**
   * The ClusterRole in effect under `name` changed from `prev` to `next`: update the label index
   * and the aggregator registry. Rules are the caller's (an aggregating role keeps whatever it had
   * until `recompute` resolves it).
   */
  changed(name: string, prev: ClusterRole | undefined, next: ClusterRole | undefined): void {
    for (const [k, v] of Object.entries(prev?.metadata.labels ?? {}))
      deleteFrom(this.s.crByPair, pairKey(k, v), name);
    for (const [k, v] of Object.entries(next?.metadata.labels ?? {}))
      addTo(this.s.crByPair, pairKey(k, v), name);
    if (prev?.aggregationRule !== undefined) this.unregister(name);
    if (next?.aggregationRule !== undefined)
      this.register(name, next.aggregationRule.clusterRoleSelectors ?? []);
  }

  /** The aggregating roles to re-resolve after the ClusterRole `name` changed. */
  seedsAfterChange(name: string): string[] {
    const seeds = new Set<string>(this.s.aggConsumers.get(name) ?? []);
    for (const a of this.matching(name)) seeds.add(a);
    if (this.s.aggregators.has(name)) seeds.add(name);
    return [...seeds];
  }

  private register(name: string, selectors: LabelSelector[]): void {
    this.s.aggregators.set(name, selectors);
    for (const sel of selectors) {
      const first = Object.entries(sel.matchLabels ?? {})[0];
      if (first === undefined) this.s.aggGeneric.add(name);
      else addTo(this.s.aggByPair, pairKey(first[0], first[1]), name);
    }
  }

  private unregister(name: string): void {
    const selectors = this.s.aggregators.get(name);
    if (selectors === undefined) return;
    this.s.aggregators.delete(name);
    this.s.aggGeneric.delete(name);
    for (const sel of selectors) {
      const first = Object.entries(sel.matchLabels ?? {})[0];
      if (first !== undefined) deleteFrom(this.s.aggByPair, pairKey(first[0], first[1]), name);
    }
    for (const src of this.s.aggSources.get(name) ?? []) deleteFrom(this.s.aggConsumers, src, name);
    this.s.aggSources.delete(name);
  }

  /** Aggregating roles (other than itself) whose selectors match the ClusterRole now in effect under `name`. */
  private matching(name: string): string[] {
    const cr = this.host.clusterRole(name);
    if (cr === undefined) return [];
    const labels = cr.metadata.labels ?? {};
    const candidates = new Set<string>(this.s.aggGeneric);
    for (const [k, v] of Object.entries(labels))
      for (const a of this.s.aggByPair.get(pairKey(k, v)) ?? []) candidates.add(a);
    const out: string[] = [];
    for (const a of candidates) {
      if (a === name) continue;
      const sels = this.s.aggregators.get(a) ?? [];
      if (sels.some((s) => selectorMatches(s, labels))) out.push(a);
    }
    return out;
  }

  /** Effective ClusterRoles a selector matches, sorted by name (as the controller lists them). */
  private clusterRolesMatching(sel: LabelSelector): string[] {
    const first = Object.entries(sel.matchLabels ?? {})[0];
    const candidates: Iterable<string> =
      first !== undefined
        ? (this.s.crByPair.get(pairKey(first[0], first[1])) ?? [])
        : this.host.clusterRoleNames();
    const out: string[] = [];
    for (const n of candidates) {
      if (selectorMatches(sel, this.host.clusterRole(n)?.metadata.labels)) out.push(n);
    }
    return out.sort();
  }

  /**
   * Re-resolve the aggregating roles `seeds` and every aggregating role fed by them, transitively,
   * recording the previous rules of each role that changed in `changed`. Acyclic chains (the
   * normal case) resolve in one pass in dependency order; cycles iterate from empty to their least
   * fixed point.
   */
  recompute(seeds: string[], changed: RulesChanged): void {
    const rules = this.host.rules();
    const closure = new Set<string>();
    const queue = seeds.filter((s) => this.s.aggregators.has(s));
    for (let a = queue.pop(); a !== undefined; a = queue.pop()) {
      if (closure.has(a)) continue;
      closure.add(a);
      for (const c of this.s.aggConsumers.get(a) ?? []) if (!closure.has(c)) queue.push(c);
      for (const c of this.matching(a)) if (!closure.has(c)) queue.push(c);
    }
    if (closure.size === 0) return;

    // Dependency order (sources first) over the closure, by the selectors' current matches.
    const matches = new Map<string, string[][]>();
    for (const a of closure) {
      matches.set(
        a,
        (this.s.aggregators.get(a) ?? []).map((s) => this.clusterRolesMatching(s)),
      );
    }
    const order: string[] = [];
    const state = new Map<string, 1 | 2>();
    let cyclic = false;
    const visit = (a: string): void => {
      state.set(a, 1);
      for (const group of matches.get(a) ?? []) {
        for (const src of group) {
          if (src === a || !closure.has(src)) continue;
          const s = state.get(src);
          if (s === 1) cyclic = true;
          else if (s === undefined) visit(src);
        }
      }
      state.set(a, 2);
      order.push(a);
    };
    for (const a of [...closure].sort()) if (!state.has(a)) visit(a);

    const before = new Map<string, PolicyRule[] | undefined>();
    for (const a of order) {
      const k = clusterRoleKey(a);
      before.set(a, rules.get(k));
      if (cyclic) rules.set(k, []);
    }
    for (let pass = 0; pass <= closure.size; pass++) {
      let moved = false;
      for (const a of order) {
        const next = this.aggregate(a, matches.get(a) ?? []);
        const k = clusterRoleKey(a);
        if (!sameRules(next, rules.get(k))) {
          rules.set(k, next);
          moved = true;
        }
      }
      if (!cyclic || !moved) break;
    }
    for (const a of order) {
      const k = clusterRoleKey(a);
      const old = before.get(a);
      if (!changed.has(k) && !sameRules(old, rules.get(k))) changed.set(k, old);
    }
  }

  /** syncClusterRole: the union of the matched roles' rules, in selector then name order, deduplicated. */
  private aggregate(name: string, matched: string[][]): PolicyRule[] {
    const oldSources = this.s.aggSources.get(name);
    const sources = new Set<string>();
    const seen = new Set<string>();
    const out: PolicyRule[] = [];
    for (const group of matched) {
      for (const src of group) {
        if (src === name) continue;
        sources.add(src);
        for (const rule of this.host.rules().get(clusterRoleKey(src)) ?? []) {
          const k = cachedRuleKey(rule);
          if (seen.has(k)) continue;
          seen.add(k);
          out.push(rule);
        }
      }
    }
    for (const s of oldSources ?? []) if (!sources.has(s)) deleteFrom(this.s.aggConsumers, s, name);
    for (const s of sources) addTo(this.s.aggConsumers, s, name);
    this.s.aggSources.set(name, sources);
    return out;
  }
}

// Which catalogue entries a set of grants reaches, and where.
import { breakdown, covers, ruleCovers } from "../rbac/coverage.js";
import type { PolicyRule } from "../rbac/types.js";
import { CATALOGUE, type CatalogueEntry } from "./catalogue.js";

/** The part of a grant the catalogue needs: where it applies ("*" = cluster-wide) and its rules. */
export interface GrantLike {
  namespace: string;
  rules: PolicyRule[];
}

export interface CatalogueHit<G extends GrantLike> {
  entry: CatalogueEntry;
  /** "*" when the grants reach it cluster-wide, else the namespace. */
  namespace: string;
  /** The grants that contribute to the hit (for messages: which binding gives it). */
  grants: G[];
  /** The triggering permissions: the alternative that matched, or the rules of the matching shape. */
  permissions: PolicyRule[];
}

const CLUSTER = "*";

type Found<G extends GrantLike> = Pick<CatalogueHit<G>, "grants" | "permissions">;

/** The grants that apply at one place, with their rules flattened once (not once per entry). */
interface Place<G extends GrantLike> {
  grants: G[];
  rules: PolicyRule[];
}

const place = <G extends GrantLike>(grants: G[]): Place<G> => ({
  grants,
  rules: grants.flatMap((g) => g.rules),
});

function hitAt<G extends GrantLike>(entry: CatalogueEntry, at: Place<G>): Found<G> | undefined {
  if (entry.ruleShape) {
    const shape = entry.ruleShape;
    if (!at.rules.some(shape)) return undefined;
    const matching = at.grants.filter((g) => g.rules.some(shape));
    return { grants: matching, permissions: matching.flatMap((g) => g.rules.filter(shape)) };
  }
  for (const alternative of entry.anyOf) {
    if (alternative.every((wanted) => covers(at.rules, wanted))) {
      return {
        grants: at.grants.filter((g) => alternative.some((wanted) => covers(g.rules, wanted))),
        permissions: alternative,
      };
    }
  }
  return undefined;
}

/**
 * Evaluates the catalogue against one identity's grants. A cluster-wide hit is reported once, not
 * again for every namespace; an entry that supersedes another hides the lesser one at the same place.
 */
export function catalogueHits<G extends GrantLike>(
  grants: G[],
  catalogue: readonly CatalogueEntry[] = CATALOGUE,
): CatalogueHit<G>[] {
  const cluster = place(grants.filter((g) => g.namespace === CLUSTER));
  const namespaces = [...new Set(grants.map((g) => g.namespace).filter((ns) => ns !== CLUSTER))]
    .sort()
    .map((ns) => ({
      ns,
      at: place(grants.filter((g) => g.namespace === ns || g.namespace === CLUSTER)),
    }));
  const hits: CatalogueHit<G>[] = [];
  for (const entry of catalogue) {
    const atCluster = hitAt(entry, cluster);
    if (atCluster) {
      hits.push({ entry, namespace: CLUSTER, ...atCluster });
      continue;
    }
    if (entry.where === "cluster") continue;
    for (const { ns, at } of namespaces) {
      const here = hitAt(entry, at);
      if (here) hits.push({ entry, namespace: ns, ...here });
    }
  }
  return dropSuperseded(hits);
}

function dropSuperseded<G extends GrantLike>(hits: CatalogueHit<G>[]): CatalogueHit<G>[] {
  const hidden = new Set<string>();
  for (const hit of hits) {
    for (const lesser of hit.entry.supersedes ?? []) {
      // A cluster-wide hit makes the lesser entry redundant everywhere; a namespaced one only there.
      if (hit.namespace === CLUSTER) hidden.add(`${lesser}@any`);
      hidden.add(`${lesser}@${hit.namespace}`);
    }
  }
  const isHidden = (h: CatalogueHit<G>, id: string): boolean =>
    hidden.has(`${id}@any`) || hidden.has(`${id}@${h.namespace}`);
  return hits.filter(
    (h) =>
      !isHidden(h, h.entry.id) && !(isHidden(h, "*") && !(h.entry.supersedes ?? []).includes("*")),
  );
}

/** Per entry, the atomic sub-rules of all its alternatives (what coverage of the entry is judged on). */
const atomsOfEntry = new WeakMap<CatalogueEntry, PolicyRule[]>();
function atomsOf(entry: CatalogueEntry): PolicyRule[] {
  let atoms = atomsOfEntry.get(entry);
  if (atoms === undefined) {
    atoms = entry.anyOf.flatMap((alternative) => alternative.flatMap(breakdown));
    atomsOfEntry.set(entry, atoms);
  }
  return atoms;
}

/**
 * Could `rule` change whether `entry` is hit? A shape entry: only a rule of that shape. Otherwise
 * coverage of an alternative is judged atom by atom (some held rule covers each atom), so a rule
 * that covers no atom of any alternative never changes the answer.
 */
function canContribute(entry: CatalogueEntry, rule: PolicyRule): boolean {
  if (entry.ruleShape) return entry.ruleShape(rule);
  for (const atom of atomsOf(entry)) if (ruleCovers(rule, atom)) return true;
  return false;
}

const hitKey = (h: CatalogueHit<GrantLike>): string => `${h.entry.id}@${h.namespace}`;

/**
 * The hits of `before` plus `gained` that `before` alone does not have (by entry id and place):
 * `catalogueHits([...before, ...gained])` minus `catalogueHits(before)`, computed on the entries the
 * gained rules can reach. Exact, because:
 * - an entry no gained rule can contribute to (see canContribute) is hit at the same places before
 *   and after (at a place new with the gain its rules are the cluster-wide ones, and a cluster-wide
 *   hit is reported once, at "*"), and the set of hidden (superseded) hits only grows with more
 *   grants, so it is never newly hit;
 * - whether a reachable entry's hit is hidden depends only on the hits of entries that supersede it
 *   (or supersede "*"), which are evaluated with it, in catalogue order.
 */
export function newCatalogueHits<G extends GrantLike>(
  before: G[],
  gained: G[],
  catalogue: readonly CatalogueEntry[] = CATALOGUE,
): CatalogueHit<G>[] {
  const reachable = new Set<string>();
  for (const entry of catalogue) {
    if (gained.some((g) => g.rules.some((rule) => canContribute(entry, rule))))
      reachable.add(entry.id);
  }
  if (reachable.size === 0) return [];
  const judged = catalogue.filter(
    (e) =>
      reachable.has(e.id) || (e.supersedes ?? []).some((id) => id === "*" || reachable.has(id)),
  );
  const held = new Set(catalogueHits(before, judged).map(hitKey));
  return catalogueHits([...before, ...gained], judged).filter(
    (h) => reachable.has(h.entry.id) && !held.has(hitKey(h)),
  );
}

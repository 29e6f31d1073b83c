// Which catalogue entries a set of grants reaches, and where.
import { covers } from "../rbac/coverage.js";
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

function hitAt<G extends GrantLike>(entry: CatalogueEntry, grants: G[]): Found<G> | undefined {
  if (entry.ruleShape) {
    const shape = entry.ruleShape;
    const matching = grants.filter((g) => g.rules.some(shape));
    if (matching.length === 0) return undefined;
    return { grants: matching, permissions: matching.flatMap((g) => g.rules.filter(shape)) };
  }
  const rules = grants.flatMap((g) => g.rules);
  for (const alternative of entry.anyOf) {
    if (alternative.every((wanted) => covers(rules, wanted))) {
      return { grants: grants.filter((g) => alternative.some((wanted) => covers(g.rules, wanted))), permissions: alternative };
    }
  }
  return undefined;
}

/**
 * Evaluates the catalogue against one identity's grants. A cluster-wide hit is reported once, not
 * again for every namespace; an entry that supersedes another hides the lesser one at the same place.
 */
export function catalogueHits<G extends GrantLike>(grants: G[], catalogue: readonly CatalogueEntry[] = CATALOGUE): CatalogueHit<G>[] {
  const clusterGrants = grants.filter((g) => g.namespace === CLUSTER);
  const namespaces = [...new Set(grants.map((g) => g.namespace).filter((ns) => ns !== CLUSTER))].sort();
  const hits: CatalogueHit<G>[] = [];
  for (const entry of catalogue) {
    const atCluster = hitAt(entry, clusterGrants);
    if (atCluster) {
      hits.push({ entry, namespace: CLUSTER, ...atCluster });
      continue;
    }
    if (entry.where === "cluster") continue;
    for (const ns of namespaces) {
      const here = hitAt(entry, grants.filter((g) => g.namespace === ns || g.namespace === CLUSTER));
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
  const isHidden = (h: CatalogueHit<G>, id: string): boolean => hidden.has(`${id}@any`) || hidden.has(`${id}@${h.namespace}`);
  return hits.filter((h) => !isHidden(h, h.entry.id) && !(isHidden(h, "*") && !(h.entry.supersedes ?? []).includes("*")));
}

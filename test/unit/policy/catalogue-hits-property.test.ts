// Property: the optimised "newly reached catalogue entries" (newCatalogueHits, and rbac-write's
// newHits on top of it) equals the straightforward definition — catalogueHits(before ∪ gained)
// minus catalogueHits(before), by entry id and place — on random grants.
import { expect } from "chai";
import fc from "fast-check";
import { CATALOGUE, type CatalogueEntry } from "../../../core/policy/catalogue.js";
import {
  catalogueHits,
  newCatalogueHits,
  type CatalogueHit,
} from "../../../core/policy/catalogue-hits.js";
import { newHits } from "../../../core/policy/rbac-write.js";
import type { Grant, PolicyRule } from "../../../core/rbac/types.js";
import { grant } from "./fixtures.js";

const uniq = (xs: string[]): string[] => [...new Set(xs)].sort();
const ATOMS: PolicyRule[] = CATALOGUE.flatMap((e) => e.anyOf.flat());
// The catalogue's own vocabulary, plus wildcards, subresource wildcards and a few bystanders.
const GROUPS = uniq([...ATOMS.flatMap((r) => r.apiGroups ?? []), "*", "", "example.com"]);
const RESOURCES = uniq([
  ...ATOMS.flatMap((r) => r.resources ?? []),
  "*",
  "*/exec",
  "*/token",
  "configmaps",
  "widgets",
]);
const VERBS = uniq([
  ...ATOMS.flatMap((r) => r.verbs ?? []),
  "*",
  "get",
  "list",
  "watch",
  "create",
  "update",
  "patch",
  "delete",
]);
const NAMESPACES = ["*", "a", "b", "c"];

const subset = (xs: string[]): fc.Arbitrary<string[]> =>
  fc.uniqueArray(fc.constantFrom(...xs), { minLength: 1, maxLength: 3 });

/** A catalogue atom as is, or with one field widened or swapped (so hits are common, near-misses too). */
const nearAtom: fc.Arbitrary<PolicyRule> = fc
  .tuple(
    fc.constantFrom(...ATOMS),
    fc.nat(5),
    fc.constantFrom(...GROUPS),
    fc.constantFrom(...RESOURCES),
    fc.constantFrom(...VERBS),
  )
  .map(([atom, how, g, res, v]) => {
    if (how === 0) return { ...atom, apiGroups: [g] };
    if (how === 1) return { ...atom, resources: [res] };
    if (how === 2) return { ...atom, verbs: [v, ...(atom.verbs ?? [])] };
    if (how === 3) return { ...atom, resourceNames: ["only-this"] };
    return atom;
  });
const randomRule: fc.Arbitrary<PolicyRule> = fc
  .tuple(subset(GROUPS), subset(RESOURCES), subset(VERBS), fc.boolean())
  .map(([apiGroups, resources, verbs, named]): PolicyRule =>
    named ? { apiGroups, resources, verbs, resourceNames: ["x"] } : { apiGroups, resources, verbs },
  );
const urlRule: fc.Arbitrary<PolicyRule> = fc
  .tuple(fc.constantFrom("*", "/metrics", "/api*", "/healthz"), subset(VERBS))
  .map(([url, verbs]) => ({ nonResourceURLs: [url], verbs }));
const ruleArb = fc.oneof(
  { weight: 4, arbitrary: nearAtom },
  { weight: 3, arbitrary: randomRule },
  { weight: 1, arbitrary: urlRule },
);

let serial = 0;
const grantArb: fc.Arbitrary<Grant> = fc
  .tuple(fc.constantFrom(...NAMESPACES), fc.array(ruleArb, { minLength: 0, maxLength: 4 }))
  .map(([ns, rules]) => {
    serial++;
    return grant(ns, rules, `r${serial}`, `b${serial}`);
  });
const grantsArb = (max: number): fc.Arbitrary<Grant[]> => fc.array(grantArb, { maxLength: max });

const key = (h: CatalogueHit<Grant>): string => `${h.entry.id}@${h.namespace}`;

function straightforward(
  before: Grant[],
  gained: Grant[],
  catalogue: readonly CatalogueEntry[] = CATALOGUE,
): CatalogueHit<Grant>[] {
  const held = new Set(catalogueHits(before, catalogue).map(key));
  return catalogueHits([...before, ...gained], catalogue).filter((h) => !held.has(key(h)));
}

/** Random catalogues: entries whose superseders need not imply them (the real catalogue's mostly do). */
const SHAPES: Array<(r: PolicyRule) => boolean> = [
  (r) => (r.verbs ?? []).includes("*"),
  (r) => (r.resources ?? []).includes("*") || (r.apiGroups ?? []).includes("*"),
];
const ruleRefArb = fc.oneof(nearAtom, randomRule, urlRule);
const catalogueArb: fc.Arbitrary<CatalogueEntry[]> = fc
  .array(
    fc.record({
      where: fc.constantFrom<CatalogueEntry["where"]>("cluster", "any"),
      anyOf: fc.array(fc.array(ruleRefArb, { minLength: 1, maxLength: 2 }), {
        minLength: 1,
        maxLength: 2,
      }),
      shape: fc.option(fc.nat(SHAPES.length - 1), { nil: undefined, freq: 4 }),
      supersedes: fc.uniqueArray(fc.constantFrom("*", "e0", "e1", "e2", "e3", "e4", "e5"), {
        maxLength: 2,
      }),
    }),
    { minLength: 1, maxLength: 6 },
  )
  .map((entries) =>
    entries.map((e, i): CatalogueEntry => ({
      id: `e${i}`,
      title: `entry ${i}`,
      severity: "high",
      owasp: [],
      why: "test",
      fix: "test",
      where: e.where,
      anyOf: e.anyOf,
      ...(e.shape === undefined ? {} : { ruleShape: SHAPES[e.shape] }),
      ...(e.supersedes.length > 0 ? { supersedes: e.supersedes.filter((x) => x !== `e${i}`) } : {}),
    })),
  );

/** Everything a hit says, comparable across computations (grants by binding name). */
const view = (hits: CatalogueHit<Grant>[]): unknown[] =>
  hits.map((h) => ({
    key: key(h),
    grants: h.grants.map((g) => g.binding.name),
    permissions: h.permissions,
  }));

describe("newly reached catalogue entries (property)", () => {
  it("newCatalogueHits equals catalogueHits(before ∪ gained) minus catalogueHits(before)", () => {
    fc.assert(
      fc.property(grantsArb(6), grantsArb(3), (before, gained) => {
        expect(view(newCatalogueHits(before, gained))).to.deep.equal(
          view(straightforward(before, gained)),
        );
      }),
      { numRuns: 1500 },
    );
  });

  it("holds on random catalogues too (supersession by entries the gain does not reach)", () => {
    fc.assert(
      fc.property(catalogueArb, grantsArb(5), grantsArb(3), (catalogue, before, gained) => {
        expect(view(newCatalogueHits(before, gained, catalogue))).to.deep.equal(
          view(straightforward(before, gained, catalogue)),
        );
      }),
      { numRuns: 3000 },
    );
  });

  it("rbac-write's newHits equals the straightforward definition over the identity's whole grant list", () => {
    fc.assert(
      fc.property(grantsArb(8), grantsArb(3), (before, gained) => {
        const change = { serviceAccount: { namespace: "a", name: "sa" }, before, gained };
        expect(view(newHits(change))).to.deep.equal(view(straightforward(before, gained)));
      }),
      { numRuns: 1500 },
    );
  });

  it("is exercised on changes that newly reach entries, and on ones superseded by what is held", () => {
    // Guards the generators: the property above must not hold vacuously.
    const sample = fc.sample(fc.tuple(grantsArb(6), grantsArb(3)), { numRuns: 500, seed: 42 });
    const results = sample.map(([before, gained]) => ({
      fresh: straightforward(before, gained).length,
      held: catalogueHits(before).length,
    }));
    expect(results.filter((r) => r.fresh > 0).length).to.be.greaterThan(100);
    expect(results.filter((r) => r.fresh === 0 && r.held > 0).length).to.be.greaterThan(20);
  });
});

// Properties of the identity graph on random small clusters: adding a permission never shrinks a
// blast radius; the closure is idempotent (what a reached identity reaches is already reached); and
// following one change incrementally gives the same graph as building it again from scratch.
import { expect } from "chai";
import fc from "fast-check";
import {
  CLUSTER_ADMIN,
  IdentityGraph,
  blastRadius,
  closureOfAll,
  hopCount,
  pathTo,
  type GraphChange,
} from "../../../core/graph/index.js";
import type { ClusterSnapshot } from "../../../core/snapshot.js";
import {
  clusterRole,
  clusterRoleBinding,
  deployment,
  pod,
  role,
  roleBinding,
  rule,
  sa,
  snapshotOf,
  tokenSecret,
} from "./fixtures.js";

const NAMESPACES = ["a", "b", "kube-system"];
const ACCOUNTS = NAMESPACES.flatMap((ns) => [`${ns}/x`, `${ns}/y`]);
const GROUPS = ["system:serviceaccounts:a", "system:serviceaccounts:b", "system:serviceaccounts"];
const RBAC = "rbac.authorization.k8s.io";
const RULES = [
  rule([""], ["pods"], ["create"]),
  rule(["apps"], ["deployments"], ["patch"]),
  rule([""], ["pods/exec"], ["create"]),
  rule([""], ["secrets"], ["get"]),
  rule([""], ["secrets"], ["list"], ["x-token"]),
  rule([""], ["serviceaccounts/token"], ["create"], ["y"]),
  rule([""], ["serviceaccounts"], ["impersonate"]),
  rule([""], ["users"], ["impersonate"]),
  rule([""], ["groups"], ["impersonate"], ["system:serviceaccounts:a"]),
  rule([RBAC], ["clusterroles", "roles"], ["bind"]),
  rule([RBAC], ["rolebindings", "clusterrolebindings"], ["create"]),
  rule([RBAC], ["roles", "clusterroles"], ["escalate", "update"]),
  rule([""], ["nodes/proxy"], ["get"]),
  rule(["*"], ["*"], ["*"]),
  rule([""], ["configmaps"], ["get"]),
  rule(["admissionregistration.k8s.io"], ["validatingwebhookconfigurations"], ["patch"]),
];

type Obj = Parameters<typeof snapshotOf>[0][number];
let serial = 0;

const subjectArb = fc.constantFrom(...ACCOUNTS, ...GROUPS);
const rulesArb = fc.uniqueArray(fc.constantFrom(...RULES), { minLength: 1, maxLength: 3 });
/** A role and a binding of it: a RoleBinding in a namespace, or a ClusterRoleBinding. */
const grantArb: fc.Arbitrary<Obj[]> = fc
  .tuple(
    fc.constantFrom(...NAMESPACES, "*"),
    rulesArb,
    fc.uniqueArray(subjectArb, { minLength: 1, maxLength: 2 }),
  )
  .map(([ns, rules, subjects]) => {
    const n = `g${serial++}`;
    return ns === "*"
      ? [clusterRole(n, rules), clusterRoleBinding(n, n, ...subjects)]
      : [role(ns, n, rules), roleBinding(ns, n, n, ...subjects)];
  });
const workloadArb: fc.Arbitrary<Obj> = fc
  .tuple(fc.constantFrom(...ACCOUNTS), fc.boolean(), fc.boolean())
  .map(([acct, isPod, automount]) => {
    const [ns, name] = acct.split("/") as [string, string];
    const spec = automount ? {} : { automountServiceAccountToken: false };
    return isPod ? pod(ns, `p-${name}`, name, spec) : deployment(ns, `d-${name}`, name, spec);
  });
const clusterArb: fc.Arbitrary<Obj[]> = fc
  .tuple(
    fc.array(grantArb, { maxLength: 6 }),
    fc.uniqueArray(workloadArb, {
      maxLength: 4,
      selector: (w) => `${w.kind}/${w.metadata.namespace ?? ""}/${w.metadata.name}`,
    }),
  )
  .map(([grants, workloads]) => [
    ...ACCOUNTS.map((k) => sa(k.split("/")[0] as string, k.split("/")[1] as string)),
    tokenSecret("a", "x-token", "x"),
    tokenSecret("kube-system", "y-token", "y"),
    ...grants.flat(),
    ...workloads,
  ]);

const sources = (g: IdentityGraph): string[] => [
  ...new Set([...g.serviceAccountIds(), ...g.holders()]),
];
const reachOf = (g: IdentityGraph, id: string): Set<string> =>
  new Set(blastRadius(g, id).reached.keys());

/** Every node's edges, as data: two graphs are the same when this is. */
function dump(g: IdentityGraph): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const seen = new Set<string>();
  const queue = sources(g);
  for (const id of queue) {
    if (seen.has(id)) continue;
    seen.add(id);
    const edges = g
      .edgesFrom(id)
      .map((h) => `${h.kind} ${h.to} ${h.permission} [${h.through.join("; ")}]`)
      .sort();
    if (edges.length > 0) out[id] = edges;
    for (const e of g.edgesFrom(id)) queue.push(e.to);
  }
  return out;
}

const toChange = (o: Obj, remove: boolean): GraphChange => {
  const ns = o.metadata.namespace ?? "";
  if (["Role", "RoleBinding"].includes(o.kind))
    return {
      rbac: remove
        ? { remove: { kind: o.kind as "Role", namespace: ns, name: o.metadata.name } }
        : { upsert: o as never },
    };
  if (["ClusterRole", "ClusterRoleBinding"].includes(o.kind))
    return {
      rbac: remove
        ? { remove: { kind: o.kind as "ClusterRole", name: o.metadata.name } }
        : { upsert: o as never },
    };
  if (o.kind === "ServiceAccount")
    return remove
      ? { removeServiceAccount: { namespace: ns, name: o.metadata.name } }
      : { upsertServiceAccount: o as never };
  if (o.kind === "Secret")
    return remove
      ? { removeSecret: { namespace: ns, name: o.metadata.name } }
      : { upsertSecret: o as never };
  return remove
    ? { removeWorkload: { kind: o.kind, namespace: ns, name: o.metadata.name } }
    : { upsertWorkload: o as never };
};

const build = (objects: Obj[]): IdentityGraph => IdentityGraph.fromSnapshot(snapshotOf(objects));

describe("identity graph properties", () => {
  it("adding a permission never shrinks a blast radius, nor lengthens the way to cluster-admin", () => {
    fc.assert(
      fc.property(clusterArb, grantArb, (objects, added) => {
        const before = build(objects);
        const after = build([...objects, ...added]);
        for (const id of sources(before)) {
          const r0 = blastRadius(before, id);
          const r1 = blastRadius(after, id);
          // cluster-admin is a sink that stands for everything: reaching it covers whatever was reached before.
          const admin = r1.reached.has(CLUSTER_ADMIN);
          for (const n of r0.reached.keys())
            expect(admin || r1.reached.has(n), `${id} lost ${n}`).to.equal(true);
          const d0 = r0.reached.get(CLUSTER_ADMIN)?.depth;
          if (d0 !== undefined) expect(r1.reached.get(CLUSTER_ADMIN)?.depth).to.be.at.most(d0);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("the walk over shared namespace nodes finds what a walk over every edge finds, at the same depths and path lengths", () => {
    // The reference: a plain 0-1 breadth-first search over edgesFrom's full edges (one per account).
    const plain = (g: IdentityGraph, source: string): Map<string, number> => {
      const depth = new Map<string, number>([[source, 0]]);
      const queue: string[] = [source];
      while (queue.length > 0) {
        queue.sort((a, b) => (depth.get(a) as number) - (depth.get(b) as number));
        const id = queue.shift() as string;
        if (id === CLUSTER_ADMIN) continue;
        for (const h of g.edgesFrom(id)) {
          const d = (depth.get(id) as number) + (h.kind === "member-of" ? 0 : 1);
          if ((depth.get(h.to) ?? Infinity) <= d) continue;
          depth.set(h.to, d);
          queue.push(h.to);
        }
      }
      return depth;
    };
    fc.assert(
      fc.property(clusterArb, (objects) => {
        const g = build(objects);
        for (const id of sources(g)) {
          const r = blastRadius(g, id);
          const want = plain(g, id);
          const got = new Map(
            [...r.reached]
              .filter(([to]) => !to.startsWith("accounts:"))
              .map(([to, x]) => [to, x.depth]),
          );
          expect(Object.fromEntries(got), id).to.deep.equal(Object.fromEntries(want));
          for (const [to, d] of got) {
            const path = pathTo(r, to) ?? [];
            expect(hopCount(path), `${id} → ${to}`).to.equal(d);
            expect(path.some((h) => h.shared === true || h.to.startsWith("accounts:"))).to.equal(
              false,
            );
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it("the closure of every identity at once (components, bit sets) is what a walk from each finds", () => {
    fc.assert(
      fc.property(clusterArb, (objects) => {
        const g = build(objects);
        const all = closureOfAll(g, sources(g));
        for (const id of sources(g)) {
          const r = blastRadius(g, id);
          const reached = [...r.reached.keys()].filter(
            (to) => to !== id && !to.startsWith("accounts:"),
          ).length;
          expect(all.get(id), id).to.deep.equal({
            reached,
            ...(r.reached.has(CLUSTER_ADMIN) && id !== CLUSTER_ADMIN
              ? { clusterAdminHops: r.reached.get(CLUSTER_ADMIN)?.depth }
              : {}),
          });
        }
      }),
      { numRuns: 200 },
    );
  });

  it("the closure is idempotent: closing it again adds nothing", () => {
    fc.assert(
      fc.property(clusterArb, (objects) => {
        const g = build(objects);
        const closure = new Map(sources(g).map((id) => [id, reachOf(g, id)]));
        for (const [id, reach] of closure) {
          const again = new Set(reach);
          for (const x of reach) for (const y of closure.get(x) ?? reachOf(g, x)) again.add(y);
          expect([...again].sort(), id).to.deep.equal([...reach].sort());
        }
      }),
      { numRuns: 150 },
    );
  });

  it("one change followed incrementally equals a rebuild (upserts and removals of every kind)", () => {
    fc.assert(
      fc.property(clusterArb, fc.nat(), fc.boolean(), (objects, pick, removeIt) => {
        const changed = objects[pick % objects.length] as Obj;
        const without = objects.filter((o) => o !== changed);
        // Add it to a graph built without it, or remove it from one built with it.
        const g = build(removeIt ? objects : without);
        g.apply(toChange(changed, removeIt));
        expect(dump(g)).to.deep.equal(dump(build(removeIt ? without : objects)));
      }),
      { numRuns: 300 },
    );
  });

  it("follows an index the caller already updated (indexUpdated), removals included", () => {
    fc.assert(
      fc.property(clusterArb, fc.nat(), fc.boolean(), (objects, pick, removeIt) => {
        const rbac = objects.filter((o) => o.kind.includes("Role"));
        if (rbac.length === 0) return;
        const changed = rbac[pick % rbac.length] as Obj;
        const without = objects.filter((o) => o !== changed);
        const g = build(removeIt ? objects : without);
        const change = toChange(changed, removeIt) as {
          rbac: { upsert: never } | { remove: never };
        };
        if ("upsert" in change.rbac) g.index.upsert(change.rbac.upsert);
        else g.index.remove(change.rbac.remove);
        g.apply(change, { indexUpdated: true });
        expect(dump(g)).to.deep.equal(dump(build(removeIt ? without : objects)));
      }),
      { numRuns: 200 },
    );
  });

  it("follows an index the caller already updated: a new path to cluster-admin", () => {
    const objects = [
      sa("a", "x"),
      sa("kube-system", "y"),
      clusterRoleBinding("y-admin", "cluster-admin", "kube-system/y"),
    ];
    const snap: ClusterSnapshot = snapshotOf(objects);
    const g = IdentityGraph.fromSnapshot(snap);
    expect(reachOf(g, "sa:a/x").has(CLUSTER_ADMIN)).to.equal(false);
    const r = role("kube-system", "pods", [rule([""], ["pods"], ["create"])]);
    const b = roleBinding("kube-system", "x-pods", "pods", "a/x");
    g.index.upsert(r as never);
    g.apply({ rbac: { upsert: r as never } }, { indexUpdated: true });
    g.index.upsert(b as never);
    g.apply({ rbac: { upsert: b as never } }, { indexUpdated: true });
    expect(blastRadius(g, "sa:a/x").reached.get(CLUSTER_ADMIN)?.depth).to.equal(2);
  });
});

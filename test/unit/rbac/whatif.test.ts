import { expect } from "chai";
import fc from "fast-check";
import { uncoveredRules } from "../../../core/rbac/coverage.js";
import { EffectivePermissionIndex, bindingKeyOf, saKey } from "../../../core/rbac/effective.js";
import type {
  Grant,
  LabelSelector,
  PolicyRule,
  RbacObject,
  RbacObjectRef,
  ServiceAccountRef,
  Subject,
} from "../../../core/rbac/types.js";
import {
  clusterRole,
  clusterRoleBinding,
  group,
  normalizeGrant,
  role,
  roleBinding,
  rule,
  sa,
  user,
} from "./fixtures.js";

const shopApi: ServiceAccountRef = { namespace: "shop", name: "api" };
const shopWorker: ServiceAccountRef = { namespace: "shop", name: "worker" };
const devApi: ServiceAccountRef = { namespace: "dev", name: "api" };

const getSecrets = rule([""], ["secrets"], ["get"]);
const listPods = rule([""], ["pods"], ["list"]);
const execPods = rule([""], ["pods/exec"], ["create"]);

function build(objects: RbacObject[]): EffectivePermissionIndex {
  return EffectivePermissionIndex.from(objects, [shopApi, shopWorker, devApi]);
}

/** Everything the index says, in comparable form. */
function snapshot(index: EffectivePermissionIndex): string[] {
  return index
    .serviceAccounts()
    .map((s) => `${saKey(s)}: ${index.grantsOf(s).map(normalizeGrant).join(" | ")}`);
}

const summary = (m: Map<string, Grant[]>): Record<string, string[]> => {
  const out: Record<string, string[]> = {};
  for (const [k, gs] of m) {
    out[k] = gs.map(
      (g) =>
        `${g.binding.name}@${g.namespace}: ${g.rules.map((r) => `${r.verbs.join(",")} ${(r.resources ?? r.nonResourceURLs ?? []).join(",")}`).join("; ")}`,
    );
  }
  return out;
};

describe("rbac/effective: whatIf", () => {
  it("a Role edit that widens an already-bound role shows up for everyone bound to it, as the added rules only", () => {
    const index = build([
      role("shop", "r", [listPods]),
      roleBinding("shop", "rb", { kind: "Role", name: "r" }, [
        sa("shop", "api"),
        group("system:serviceaccounts:dev"),
      ]),
    ]);
    const before = snapshot(index);
    const result = index.whatIf({
      upsert: role("shop", "r", [listPods, getSecrets, rule([""], ["pods"], ["list", "get"])]),
    });
    expect(summary(result)).to.deep.equal({
      "dev/api": ["rb@shop: get secrets; get pods"],
      "shop/api": ["rb@shop: get secrets; get pods"],
    });
    expect(result.get("shop/api")?.[0]?.via).to.equal("serviceaccount");
    expect(result.get("dev/api")?.[0]?.via).to.equal("group:system:serviceaccounts:dev");
    expect(snapshot(index)).to.deep.equal(before);
  });

  it("a new binding gives its subjects the whole grant", () => {
    const index = build([clusterRole("reader", [getSecrets, listPods])]);
    const result = index.whatIf({
      upsert: roleBinding("dev", "rb", { kind: "ClusterRole", name: "reader" }, [
        sa(undefined, "api"),
      ]),
    });
    expect(summary(result)).to.deep.equal({ "dev/api": ["rb@dev: get secrets; list pods"] });
  });

  it("a new binding to a subject nobody knew yet makes it known for the answer", () => {
    const index = build([clusterRole("reader", [getSecrets])]);
    const result = index.whatIf({
      upsert: clusterRoleBinding("crb", "reader", [user("system:serviceaccount:ops:bot")]),
    });
    expect([...result.keys()]).to.deep.equal(["ops/bot"]);
    expect(index.serviceAccounts().map(saKey)).to.not.include("ops/bot");
  });

  it("narrowing, removing, or re-applying the same object gains nothing", () => {
    const objects = [
      role("shop", "r", [listPods, getSecrets]),
      roleBinding("shop", "rb", { kind: "Role", name: "r" }, [sa("shop", "api")]),
    ];
    const index = build(objects);
    const before = snapshot(index);
    expect(index.whatIf({ upsert: role("shop", "r", [listPods]) }).size).to.equal(0);
    expect(index.whatIf({ remove: { kind: "Role", namespace: "shop", name: "r" } }).size).to.equal(
      0,
    );
    expect(
      index.whatIf({ remove: { kind: "RoleBinding", namespace: "shop", name: "rb" } }).size,
    ).to.equal(0);
    expect(
      index.whatIf({ remove: { kind: "RoleBinding", namespace: "shop", name: "absent" } }).size,
    ).to.equal(0);
    for (const o of objects) expect(index.whatIf({ upsert: o }).size).to.equal(0);
    expect(snapshot(index)).to.deep.equal(before);
  });

  it("adding a subject to an existing binding gains the grant for the new subject only", () => {
    const index = build([
      clusterRole("reader", [getSecrets]),
      clusterRoleBinding("crb", "reader", [sa("shop", "api")]),
    ]);
    const result = index.whatIf({
      upsert: clusterRoleBinding("crb", "reader", [
        sa("shop", "api"),
        group("system:serviceaccounts:shop"),
      ]),
    });
    expect(summary(result)).to.deep.equal({ "shop/worker": ["crb@*: get secrets"] });
  });

  it("changing a binding's roleRef reports what the new role adds over the old", () => {
    const index = build([
      clusterRole("a", [getSecrets]),
      clusterRole("b", [getSecrets, execPods]),
      clusterRoleBinding("crb", "a", [sa("shop", "api")]),
    ]);
    expect(
      summary(index.whatIf({ upsert: clusterRoleBinding("crb", "b", [sa("shop", "api")]) })),
    ).to.deep.equal({ "shop/api": ["crb@*: create pods/exec"] });
  });

  it("a ClusterRole that matches an aggregating role's selector widens the aggregator's holders", () => {
    const index = build([
      roleBinding("shop", "viewers", { kind: "ClusterRole", name: "view" }, [
        group("system:serviceaccounts:shop"),
      ]),
      clusterRoleBinding("admins", "admin", [sa("dev", "api")]),
    ]);
    const before = snapshot(index);
    const widgets = rule(["example.com"], ["widgets"], ["get", "list"]);
    const result = index.whatIf({
      upsert: clusterRole("widgets-view", [widgets], {
        "rbac.authorization.k8s.io/aggregate-to-view": "true",
      }),
    });
    expect(summary(result)).to.deep.equal({
      // Already bound: only the added atomic rules.
      "dev/api": ["admins@*: get widgets; list widgets"],
      "shop/api": ["viewers@shop: get widgets; list widgets"],
      "shop/worker": ["viewers@shop: get widgets; list widgets"],
    });
    expect(snapshot(index)).to.deep.equal(before);
  });

  it("overriding a built-in role is reverted exactly", () => {
    const index = build([clusterRoleBinding("crb", "view", [sa("shop", "api")])]);
    const before = snapshot(index);
    const result = index.whatIf({ upsert: clusterRole("view", [rule(["*"], ["*"], ["*"])]) });
    expect(summary(result)).to.deep.equal({ "shop/api": ["crb@*: * *"] });
    expect(index.isBuiltin("view")).to.equal(true);
    expect(snapshot(index)).to.deep.equal(before);
  });

  it("affectedBy names the SAs a binding or role write touches", () => {
    const index = build([
      role("shop", "r", [listPods]),
      roleBinding("shop", "rb", { kind: "Role", name: "r" }, [sa("shop", "api")]),
    ]);
    expect(
      index.affectedBy(roleBinding("shop", "rb", { kind: "Role", name: "r" }, [sa("dev", "api")])),
    ).to.deep.equal([devApi, shopApi]);
    expect(index.affectedBy({ kind: "Role", namespace: "shop", name: "r" })).to.deep.equal([
      shopApi,
    ]);
    expect(index.affectedBy(role("shop", "r", [listPods]))).to.deep.equal([]);
    expect(index.affectedBy(role("shop", "r", [getSecrets]))).to.deep.equal([shopApi]);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: incremental == from scratch, and whatIf == brute-force diff, over random histories.

const NAMESPACES = ["a", "b"];
const SAS: ServiceAccountRef[] = [
  { namespace: "a", name: "s1" },
  { namespace: "a", name: "s2" },
  { namespace: "b", name: "s1" },
  { namespace: "c", name: "s9" },
];
const RULES: PolicyRule[] = [
  getSecrets,
  listPods,
  execPods,
  rule(["apps"], ["deployments", "*/scale"], ["get", "patch"]),
  rule(["*"], ["*"], ["*"]),
  rule([""], ["configmaps"], ["get"], ["x"]),
  { nonResourceURLs: ["/metrics*"], verbs: ["get"] },
];
const CR_NAMES = ["c1", "c2", "c3", "agg1", "agg2", "view", "edit"];
const LABELS: (Record<string, string> | undefined)[] = [
  undefined,
  { tier: "x" },
  { tier: "y" },
  { tier: "x", extra: "1" },
  { "rbac.authorization.k8s.io/aggregate-to-view": "true" },
  { "rbac.authorization.k8s.io/aggregate-to-edit": "true" },
];
const SELECTORS: LabelSelector[][] = [
  [{ matchLabels: { tier: "x" } }],
  [{ matchExpressions: [{ key: "tier", operator: "In" as const, values: ["y"] }] }],
  [
    { matchLabels: { tier: "y" } },
    { matchLabels: { "rbac.authorization.k8s.io/aggregate-to-view": "true" } },
  ],
];
const SUBJECTS: Subject[] = [
  sa("a", "s1"),
  sa(undefined, "s2"),
  sa("b", "s1"),
  sa("z", "new"),
  group("system:serviceaccounts"),
  group("system:serviceaccounts:a"),
  group("system:authenticated"),
  group("system:masters"),
  user("system:serviceaccount:b:s1"),
];

const rulesArb = fc.subarray(RULES, { maxLength: 3 });
const roleArb: fc.Arbitrary<RbacObject> = fc
  .record({
    ns: fc.constantFrom(...NAMESPACES),
    name: fc.constantFrom("r1", "r2"),
    rules: rulesArb,
  })
  .map((x) => role(x.ns, x.name, x.rules));
const clusterRoleArb: fc.Arbitrary<RbacObject> = fc
  .record({
    name: fc.constantFrom(...CR_NAMES),
    rules: rulesArb,
    labels: fc.constantFrom(...LABELS),
    agg: fc.option(fc.constantFrom(...SELECTORS), { nil: undefined, freq: 3 }),
  })
  .map((x) => clusterRole(x.name, x.rules, x.labels, x.agg));
const roleRefArb = fc.oneof(
  fc.record({ kind: fc.constant("Role" as const), name: fc.constantFrom("r1", "r2", "r3") }),
  fc.record({
    kind: fc.constant("ClusterRole" as const),
    name: fc.constantFrom(...CR_NAMES, "cluster-admin", "missing"),
  }),
);
const bindingArb: fc.Arbitrary<RbacObject> = fc.oneof(
  fc
    .record({
      ns: fc.constantFrom(...NAMESPACES),
      name: fc.constantFrom("b1", "b2"),
      ref: roleRefArb,
      subjects: fc.subarray(SUBJECTS, { maxLength: 3 }),
    })
    .map((x) => roleBinding(x.ns, x.name, x.ref, x.subjects)),
  fc
    .record({
      name: fc.constantFrom("cb1", "cb2"),
      ref: fc.constantFrom(...CR_NAMES, "admin"),
      subjects: fc.subarray(SUBJECTS, { maxLength: 3 }),
    })
    .map((x) => clusterRoleBinding(x.name, x.ref, x.subjects)),
);
const objectArb = fc.oneof(roleArb, clusterRoleArb, bindingArb, bindingArb);

type Op =
  | { upsert: RbacObject }
  | { remove: RbacObjectRef }
  | { addSA: ServiceAccountRef }
  | { removeSA: ServiceAccountRef };
const refOf = (o: RbacObject): RbacObjectRef =>
  o.kind === "Role" || o.kind === "RoleBinding"
    ? { kind: o.kind, namespace: o.metadata.namespace ?? "", name: o.metadata.name }
    : { kind: o.kind, name: o.metadata.name };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: objectArb.map((o): Op => ({ upsert: o })), weight: 6 },
  { arbitrary: objectArb.map((o): Op => ({ remove: refOf(o) })), weight: 2 },
  { arbitrary: fc.constantFrom(...SAS).map((s): Op => ({ addSA: s })), weight: 1 },
  { arbitrary: fc.constantFrom(...SAS).map((s): Op => ({ removeSA: s })), weight: 1 },
);

const objKey = (r: RbacObjectRef): string => `${r.kind}/${r.namespace ?? ""}/${r.name}`;

/** Replays ops on the index and on a plain model of the final state. */
function replay(ops: Op[]): {
  index: EffectivePermissionIndex;
  objects: Map<string, RbacObject>;
  sas: Map<string, ServiceAccountRef>;
} {
  const index = new EffectivePermissionIndex();
  const objects = new Map<string, RbacObject>();
  const sas = new Map<string, ServiceAccountRef>();
  for (const op of ops) {
    if ("upsert" in op) {
      index.upsert(op.upsert);
      objects.set(objKey(refOf(op.upsert)), op.upsert);
    } else if ("remove" in op) {
      index.remove(op.remove);
      objects.delete(objKey(op.remove));
    } else if ("addSA" in op) {
      index.addServiceAccount(op.addSA);
      sas.set(saKey(op.addSA), op.addSA);
    } else {
      index.removeServiceAccount(op.removeSA);
      sas.delete(saKey(op.removeSA));
    }
  }
  return { index, objects, sas };
}

const PROBES = [...SAS, { namespace: "z", name: "new" }, { namespace: "a", name: "unknown" }];
function fullState(index: EffectivePermissionIndex): string[] {
  const known = index.serviceAccounts().map(saKey);
  const grants = PROBES.map(
    (s) => `${saKey(s)}: ${index.grantsOf(s).map(normalizeGrant).join(" | ")}`,
  );
  const roles = CR_NAMES.map(
    (n) =>
      `${n}: ${JSON.stringify(
        index
          .rulesOf({ kind: "ClusterRole", name: n })
          ?.map((r) => JSON.stringify(r))
          .sort(),
      )}`,
  );
  return [...known, ...grants, ...roles];
}

/** What whatIf should answer, computed the slow way: two builds from scratch and a diff. */
function bruteForceGains(
  objects: Map<string, RbacObject>,
  sas: Map<string, ServiceAccountRef>,
  change: { upsert: RbacObject } | { remove: RbacObjectRef },
): Record<string, string[]> {
  const before = EffectivePermissionIndex.from(objects.values(), sas.values());
  const next = new Map(objects);
  if ("upsert" in change) next.set(objKey(refOf(change.upsert)), change.upsert);
  else next.delete(objKey(change.remove));
  const after = EffectivePermissionIndex.from(next.values(), sas.values());
  const out: Record<string, string[]> = {};
  for (const s of after.serviceAccounts()) {
    const old = new Map(before.grantsOf(s).map((g) => [bindingKeyOf(g.binding), g]));
    const gained: string[] = [];
    for (const g of after.grantsOf(s)) {
      const prev = old.get(bindingKeyOf(g.binding));
      if (prev === undefined) {
        if (g.rules.length > 0) gained.push(normalizeGrant(g));
        continue;
      }
      const delta = uncoveredRules(prev.rules, g.rules);
      if (delta.length > 0) gained.push(normalizeGrant({ ...g, rules: delta }));
    }
    if (gained.length > 0) out[saKey(s)] = gained.sort();
  }
  return out;
}

describe("rbac/effective: properties", () => {
  it("incremental build == build from scratch after random upsert/remove sequences", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const { index, objects, sas } = replay(ops);
        const scratch = EffectivePermissionIndex.from(objects.values(), sas.values());
        expect(fullState(index)).to.deep.equal(fullState(scratch));
      }),
      { numRuns: 300 },
    );
  });

  it("whatIf == the diff of two builds from scratch, and leaves the index unchanged", () => {
    const changeArb = fc.oneof(
      objectArb.map((o) => ({ upsert: o })),
      objectArb.map((o) => ({ remove: refOf(o) })),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), changeArb, (ops, change) => {
        const { index, objects, sas } = replay(ops);
        const before = fullState(index);
        const got: Record<string, string[]> = {};
        for (const [k, gs] of index.whatIf(change)) got[k] = gs.map(normalizeGrant).sort();
        expect(got).to.deep.equal(bruteForceGains(objects, sas, change));
        expect(fullState(index)).to.deep.equal(before);
      }),
      { numRuns: 300 },
    );
  });
});

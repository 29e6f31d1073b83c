// whatIf and affectedBy answer on a copy-on-write layer: the shared index is never written, so a
// reader of it sees the old state while a what-if question runs and after it. "While" is observed
// from inside the question: the change object is wrapped in a proxy that reads the whole index
// every time the index reads a property of the change.
import { expect } from "chai";
import { EffectivePermissionIndex, saKey, type RbacChange } from "../../../core/rbac/effective.js";
import type { RbacObject, ServiceAccountRef } from "../../../core/rbac/types.js";
import {
  clusterRole,
  clusterRoleBinding,
  group,
  normalizeGrant,
  role,
  roleBinding,
  rule,
  sa,
} from "./fixtures.js";

const shopApi: ServiceAccountRef = { namespace: "shop", name: "api" };
const devApi: ServiceAccountRef = { namespace: "dev", name: "api" };
const listPods = rule([""], ["pods"], ["list"]);
const getSecrets = rule([""], ["secrets"], ["get"]);
const agg = { "example.com/aggregate-to-reader": "true" };

const objects: RbacObject[] = [
  role("shop", "lister", [listPods]),
  roleBinding("shop", "lister", { kind: "Role", name: "lister" }, [sa("shop", "api")]),
  clusterRole("reader", [], undefined, [{ matchLabels: agg }]),
  clusterRole("pods-piece", [listPods], agg),
  clusterRoleBinding("readers", "reader", [sa("dev", "api")]),
  roleBinding("shop", "all", { kind: "ClusterRole", name: "view" }, [
    group("system:serviceaccounts:shop"),
  ]),
];

/** Everything a reader of the index can see, in comparable form. */
function observe(index: EffectivePermissionIndex): string {
  return JSON.stringify({
    sas: index
      .serviceAccounts()
      .map((s) => `${saKey(s)}: ${index.grantsOf(s).map(normalizeGrant).join(" | ")}`),
    groups: index
      .memberGroups()
      .map((g) => `${g}: ${index.grantsOfGroup(g).map(normalizeGrant).join(" | ")}`),
    reader: index.rulesOf({ kind: "ClusterRole", name: "reader" }),
    piece: index.rulesOf({ kind: "ClusterRole", name: "secrets-piece" }),
    lister: index.rulesOf({ kind: "Role", namespace: "shop", name: "lister" }),
    crs: ["reader", "pods-piece", "secrets-piece", "view"].map((n) => index.clusterRole(n)),
    holders: index.holdersOf({ kind: "ClusterRole", name: "pods-piece" }),
    unresolved: index.unresolvedRoleRefs(),
    stats: index.stats(),
  });
}

/** The change with every object in it behind a proxy that observes the index on each read. */
function spied<T extends object>(value: T, onRead: () => void): T {
  return new Proxy(value, {
    get(target, prop, receiver) {
      onRead();
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === "object" && v !== null ? spied(v, onRead) : v;
    },
  });
}

const changes: [string, RbacChange][] = [
  [
    "a new labelled ClusterRole feeding an aggregating one",
    {
      upsert: clusterRole("secrets-piece", [getSecrets], agg),
    },
  ],
  ["a widened Role", { upsert: role("shop", "lister", [listPods, getSecrets]) }],
  [
    "a new RoleBinding",
    {
      upsert: roleBinding("dev", "secrets", { kind: "ClusterRole", name: "pods-piece" }, [
        sa("dev", "api"),
      ]),
    },
  ],
  [
    "an aggregating ClusterRole replaced by a plain one",
    {
      upsert: clusterRole("reader", [getSecrets]),
    },
  ],
  ["a removed ClusterRole", { remove: { kind: "ClusterRole", name: "pods-piece" } }],
  ["a removed RoleBinding", { remove: { kind: "RoleBinding", namespace: "shop", name: "lister" } }],
];

describe("rbac/effective: what-if on a copy-on-write layer", () => {
  for (const [what, change] of changes) {
    it(`${what}: readers of the shared index see the old state during and after whatIf and affectedBy`, () => {
      const index = EffectivePermissionIndex.from(objects, [shopApi, devApi]);
      const before = observe(index);
      const memoised = index.grantsOf(shopApi);
      const during: string[] = [];
      let observing = false; // observing may read the change itself, if the index holds it
      const look = (): void => {
        if (observing) return;
        observing = true;
        try {
          during.push(observe(index));
        } finally {
          observing = false;
        }
      };
      const watched: RbacChange =
        "upsert" in change
          ? { upsert: spied(change.upsert, look) }
          : { remove: spied(change.remove, look) };

      const gained = index.whatIf(watched);
      const affected = index.affectedBy("upsert" in watched ? watched.upsert : watched.remove);

      expect(during.length).to.be.greaterThan(0);
      for (const seen of during) expect(seen).to.equal(before);
      expect(observe(index)).to.equal(before);
      // The memoised answer is still the one handed out (nothing was dropped or rebuilt).
      expect(index.grantsOf(shopApi)).to.equal(memoised);
      // And the question was answered on the changed state: the same as applying it to a copy.
      const applied = EffectivePermissionIndex.from(objects, [shopApi, devApi]);
      if ("upsert" in change) applied.upsert(change.upsert);
      else applied.remove(change.remove);
      expect(observe(applied)).to.not.equal(before);
      expect(gained.size + affected.length).to.be.greaterThan(0);
    });
  }
});

// grantsOf and grantsOfGroup answer from a memo (the webhook asks for the same identities on every
// review); every change to a binding or role must be visible in the very next answer.
import { expect } from "chai";
import fc from "fast-check";
import { EffectivePermissionIndex } from "../../../core/rbac/effective.js";
import type { RbacObject, RbacObjectRef, ServiceAccountRef } from "../../../core/rbac/types.js";
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

const api: ServiceAccountRef = { namespace: "shop", name: "api" };
const worker: ServiceAccountRef = { namespace: "shop", name: "worker" };
const getSecrets = rule([""], ["secrets"], ["get"]);
const listPods = rule([""], ["pods"], ["list"]);
const AGG = { "example.com/aggregate-to-ops": "true" };

const names = (index: EffectivePermissionIndex, who: ServiceAccountRef): string[] =>
  index.grantsOf(who).map((g) => g.binding.name);
const rulesOf = (index: EffectivePermissionIndex, who: ServiceAccountRef): string[] =>
  index.grantsOf(who).flatMap((g) => g.rules.flatMap((r) => r.resources ?? []));

describe("EffectivePermissionIndex memoised grants", () => {
  it("a new binding to an SA whose grants were asked for is in the next answer", () => {
    const index = new EffectivePermissionIndex();
    index.upsert(role("shop", "reader", [getSecrets]));
    expect(names(index, api)).to.deep.equal([]);
    index.upsert(roleBinding("shop", "rb", { kind: "Role", name: "reader" }, [sa("shop", "api")]));
    expect(names(index, api)).to.deep.equal(["rb"]);
  });

  it("a binding's removal, and a change of its subjects, are in the next answer", () => {
    const index = new EffectivePermissionIndex();
    index.upsert(role("shop", "reader", [getSecrets]));
    index.upsert(roleBinding("shop", "rb", { kind: "Role", name: "reader" }, [sa("shop", "api")]));
    expect(names(index, api)).to.deep.equal(["rb"]);
    expect(names(index, worker)).to.deep.equal([]);
    index.upsert(
      roleBinding("shop", "rb", { kind: "Role", name: "reader" }, [sa("shop", "worker")]),
    );
    expect(names(index, api)).to.deep.equal([]);
    expect(names(index, worker)).to.deep.equal(["rb"]);
    index.remove({ kind: "RoleBinding", namespace: "shop", name: "rb" });
    expect(names(index, worker)).to.deep.equal([]);
  });

  it("a change to a bound role's rules is in the next answer, and so is the role's removal and return", () => {
    const index = new EffectivePermissionIndex();
    index.upsert(roleBinding("shop", "rb", { kind: "Role", name: "reader" }, [sa("shop", "api")]));
    expect(names(index, api)).to.deep.equal([]); // the role does not exist yet
    index.upsert(role("shop", "reader", [getSecrets]));
    expect(rulesOf(index, api)).to.deep.equal(["secrets"]);
    index.upsert(role("shop", "reader", [listPods]));
    expect(rulesOf(index, api)).to.deep.equal(["pods"]);
    index.remove({ kind: "Role", namespace: "shop", name: "reader" });
    expect(names(index, api)).to.deep.equal([]);
  });

  it("a ClusterRole aggregated into a bound role widens the holder's next answer", () => {
    const index = new EffectivePermissionIndex();
    index.upsert(clusterRole("ops", [], undefined, [{ matchLabels: AGG }]));
    index.upsert(clusterRoleBinding("ops", "ops", [sa("shop", "api")]));
    expect(rulesOf(index, api)).to.deep.equal([]);
    index.upsert(clusterRole("ops-pods", [listPods], AGG));
    expect(rulesOf(index, api)).to.deep.equal(["pods"]);
  });

  it("a binding to a member group is in the next answer of every member and of the group", () => {
    const index = new EffectivePermissionIndex();
    index.upsert(clusterRole("reader", [getSecrets]));
    expect(names(index, api)).to.deep.equal([]);
    expect(index.grantsOfGroup("system:serviceaccounts:shop")).to.deep.equal([]);
    index.upsert(clusterRoleBinding("all-sas", "reader", [group("system:serviceaccounts")]));
    expect(names(index, api)).to.deep.equal(["all-sas"]);
    expect(names(index, worker)).to.deep.equal(["all-sas"]);
    expect(
      index.grantsOfGroup("system:serviceaccounts:shop").map((g) => g.binding.name),
    ).to.deep.equal(["all-sas"]);
  });

  it("whatIf leaves the answers as they were (its trial state is never remembered)", () => {
    const index = new EffectivePermissionIndex();
    index.addServiceAccount(api);
    index.upsert(role("shop", "reader", [getSecrets]));
    const before = index.grantsOf(api);
    const gained = index.whatIf({
      upsert: roleBinding("shop", "rb", { kind: "Role", name: "reader" }, [sa("shop", "api")]),
    });
    expect(gained.get("shop/api")?.map((g) => g.binding.name)).to.deep.equal(["rb"]);
    expect(names(index, api)).to.deep.equal([]);
    expect(index.grantsOf(api)).to.equal(before); // the same remembered answer
  });

  it("answers are frozen: a caller cannot change what the next caller gets", () => {
    const index = new EffectivePermissionIndex();
    index.upsert(role("shop", "reader", [getSecrets]));
    index.upsert(roleBinding("shop", "rb", { kind: "Role", name: "reader" }, [sa("shop", "api")]));
    const grants = index.grantsOf(api);
    expect(() => grants.push(grants[0] as (typeof grants)[number])).to.throw(TypeError);
    expect(Object.isFrozen(grants[0])).to.equal(true);
    expect(index.grantsOf(api)).to.have.length(1);
  });

  it("after any sequence of changes and questions, answers equal a fresh index's (property)", () => {
    const sas: ServiceAccountRef[] = [api, worker, { namespace: "dev", name: "api" }];
    const objects: RbacObject[] = [
      role("shop", "reader", [getSecrets]),
      role("shop", "reader", [listPods]),
      role("dev", "reader", [listPods]),
      clusterRole("ops", [], undefined, [{ matchLabels: AGG }]),
      clusterRole("ops-pods", [listPods], AGG),
      clusterRole("ops-pods", [getSecrets]),
      clusterRole("secrets", [getSecrets]),
      roleBinding("shop", "rb", { kind: "Role", name: "reader" }, [sa("shop", "api")]),
      roleBinding("shop", "rb", { kind: "Role", name: "reader" }, [
        sa("shop", "worker"),
        sa("dev", "api"),
      ]),
      roleBinding("shop", "rb2", { kind: "ClusterRole", name: "ops" }, [
        group("system:serviceaccounts:shop"),
      ]),
      roleBinding("dev", "rb", { kind: "Role", name: "reader" }, [sa(undefined, "api")]),
      clusterRoleBinding("crb", "secrets", [sa("shop", "worker")]),
      clusterRoleBinding("crb", "ops", [group("system:serviceaccounts")]),
    ];
    const refOf = (o: RbacObject): RbacObjectRef =>
      o.kind === "Role" || o.kind === "RoleBinding"
        ? { kind: o.kind, namespace: o.metadata.namespace ?? "", name: o.metadata.name }
        : { kind: o.kind, name: o.metadata.name };
    type Step = { upsert: number } | { remove: number } | { whatIf: number } | { ask: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.nat(objects.length - 1).map((i) => ({ upsert: i })),
      fc.nat(objects.length - 1).map((i) => ({ remove: i })),
      fc.nat(objects.length - 1).map((i) => ({ whatIf: i })),
      fc.nat(sas.length - 1).map((i) => ({ ask: i })),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const index = new EffectivePermissionIndex();
        const live = new Map<string, RbacObject>();
        const key = (o: RbacObject): string => JSON.stringify(refOf(o));
        for (const s of steps) {
          if ("upsert" in s) {
            const o = objects[s.upsert] as RbacObject;
            index.upsert(o);
            live.set(key(o), o);
          } else if ("remove" in s) {
            const o = objects[s.remove] as RbacObject;
            index.remove(refOf(o));
            live.delete(key(o));
          } else if ("whatIf" in s) {
            index.whatIf({ upsert: objects[s.whatIf] as RbacObject });
          } else {
            index.grantsOf(sas[s.ask] as ServiceAccountRef);
            index.grantsOfGroup(
              `system:serviceaccounts:${(sas[s.ask] as ServiceAccountRef).namespace}`,
            );
          }
          const fresh = EffectivePermissionIndex.from(live.values());
          for (const who of sas) {
            expect(index.grantsOf(who).map(normalizeGrant)).to.deep.equal(
              fresh.grantsOf(who).map(normalizeGrant),
            );
            const g = `system:serviceaccounts:${who.namespace}`;
            expect(index.grantsOfGroup(g).map(normalizeGrant)).to.deep.equal(
              fresh.grantsOfGroup(g).map(normalizeGrant),
            );
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});

import { expect } from "chai";
import { EffectivePermissionIndex } from "../../../core/rbac/effective.js";
import { enclosingGroups, groupContains, memberGroup } from "../../../core/rbac/groups.js";
import type { Grant, RbacObject, ServiceAccountRef } from "../../../core/rbac/types.js";
import {
  clusterRole,
  clusterRoleBinding,
  group,
  role,
  roleBinding,
  rule,
  sa,
  user,
} from "./fixtures.js";

const getSecrets = rule([""], ["secrets"], ["get"]);
const listPods = rule([""], ["pods"], ["list"]);
const brief = (g: Grant): string =>
  `${g.binding.kind}/${g.binding.namespace ?? ""}/${g.binding.name} @${g.namespace} via ${g.via}`;

function build(objects: RbacObject[], sas: ServiceAccountRef[] = []): EffectivePermissionIndex {
  const index = new EffectivePermissionIndex();
  for (const s of sas) index.addServiceAccount(s);
  index.upsertAll(objects);
  return index;
}

describe("member groups (core/rbac/groups)", () => {
  it("knows which groups stand for which members, and nothing else", () => {
    expect(memberGroup("system:serviceaccounts:shop")).to.deep.include({
      serviceAccountNamespace: "shop",
      users: false,
      members: "every ServiceAccount in namespace shop",
    });
    expect(memberGroup("system:serviceaccounts")).to.deep.include({
      serviceAccountNamespace: "*",
      members: "every ServiceAccount in the cluster",
    });
    expect(memberGroup("system:authenticated")).to.deep.include({
      serviceAccountNamespace: "*",
      users: true,
      members: "every ServiceAccount in the cluster (and every authenticated user)",
    });
    expect(memberGroup("system:unauthenticated")).to.deep.include({
      users: true,
      members: "every unauthenticated (anonymous) request",
    });
    expect(memberGroup("system:unauthenticated")?.serviceAccountNamespace).to.equal(undefined);
    for (const other of [
      "oidc:devs",
      "system:masters",
      "system:serviceaccounts:",
      "system:serviceaccount:shop:api",
    ])
      expect(memberGroup(other), other).to.equal(undefined);
  });

  it("nests the groups as the API server does: namespace ⊂ all ServiceAccounts ⊂ authenticated; anonymous apart", () => {
    expect(enclosingGroups("system:serviceaccounts:shop")).to.deep.equal([
      "system:serviceaccounts:shop",
      "system:serviceaccounts",
      "system:authenticated",
    ]);
    expect(groupContains("system:authenticated", "system:serviceaccounts")).to.equal(true);
    expect(groupContains("system:serviceaccounts:shop", "system:serviceaccounts")).to.equal(false);
    expect(groupContains("system:serviceaccounts:dev", "system:serviceaccounts:shop")).to.equal(
      false,
    );
    expect(groupContains("system:authenticated", "system:unauthenticated")).to.equal(false);
    expect(groupContains("system:unauthenticated", "system:serviceaccounts")).to.equal(false);
  });
});

describe("EffectivePermissionIndex: member groups as holders", () => {
  const objects: RbacObject[] = [
    clusterRole("reader", [getSecrets]),
    role("shop", "lister", [listPods]),
    clusterRoleBinding("all-read", "reader", [group("system:serviceaccounts:shop")]),
    roleBinding("shop", "list", { kind: "Role", name: "lister" }, [
      group("system:serviceaccounts"),
    ]),
    roleBinding("dev", "dev-read", { kind: "ClusterRole", name: "reader" }, [
      group("system:authenticated"),
    ]),
    clusterRoleBinding("anon", "reader", [group("system:unauthenticated")]),
    clusterRoleBinding("devs", "reader", [group("oidc:devs")]),
  ];

  it("a group holds what bindings to it or to a group containing it give, with no ServiceAccount known", () => {
    const index = build(objects);
    expect(index.serviceAccounts()).to.deep.equal([]);
    expect(index.grantsOfGroup("system:serviceaccounts:shop").map(brief)).to.deep.equal([
      "ClusterRoleBinding//all-read @* via group:system:serviceaccounts:shop",
      "RoleBinding/dev/dev-read @dev via group:system:authenticated",
      "RoleBinding/shop/list @shop via group:system:serviceaccounts",
    ]);
    expect(index.grantsOfGroup("system:serviceaccounts").map(brief)).to.deep.equal([
      "RoleBinding/dev/dev-read @dev via group:system:authenticated",
      "RoleBinding/shop/list @shop via group:system:serviceaccounts",
    ]);
    expect(index.grantsOfGroup("system:unauthenticated").map(brief)).to.deep.equal([
      "ClusterRoleBinding//anon @* via group:system:unauthenticated",
    ]);
    expect(index.grantsOfGroup("oidc:devs")).to.deep.equal([]);
    expect(index.memberGroups()).to.deep.equal([
      "system:authenticated",
      "system:serviceaccounts",
      "system:serviceaccounts:shop",
      "system:unauthenticated",
    ]);
  });

  it("a binding to user system:anonymous is held by system:unauthenticated (its requests are exactly that group's), and reaches no ServiceAccount", () => {
    const index = build([
      clusterRole("reader", [getSecrets]),
      clusterRoleBinding("anon-user", "reader", [user("system:anonymous")]),
      clusterRoleBinding("someone", "reader", [user("jane")]),
    ]);
    expect(index.memberGroups()).to.deep.equal(["system:unauthenticated"]);
    expect(index.grantsOfGroup("system:unauthenticated").map(brief)).to.deep.equal([
      "ClusterRoleBinding//anon-user @* via group:system:unauthenticated",
    ]);
    expect(index.grantsOf({ namespace: "shop", name: "api" })).to.deep.equal([]);
  });

  it("every member ServiceAccount, known or not, holds at least what its groups hold (and anonymous grants reach none)", () => {
    const index = build(objects);
    const member = index.grantsOf({ namespace: "shop", name: "not-known" }).map(brief);
    expect(member).to.deep.equal(index.grantsOfGroup("system:serviceaccounts:shop").map(brief));
    expect(index.grantsOf({ namespace: "dev", name: "x" }).map(brief)).to.not.include(
      "ClusterRoleBinding//all-read @* via group:system:serviceaccounts:shop",
    );
    expect(index.grantsOf({ namespace: "dev", name: "x" }).map(brief).join()).to.not.include(
      "anon",
    );
  });

  it("whatIfHolders: a binding to a group gives the group its grant even when no member is known", () => {
    const index = build([clusterRole("reader", [getSecrets])]);
    const gains = index.whatIfHolders({
      upsert: clusterRoleBinding("new", "reader", [group("system:serviceaccounts:shop")]),
    });
    expect(gains.serviceAccounts.size).to.equal(0);
    expect([...gains.groups.keys()]).to.deep.equal(["system:serviceaccounts:shop"]);
    expect(gains.groups.get("system:serviceaccounts:shop")?.map(brief)).to.deep.equal([
      "ClusterRoleBinding//new @* via group:system:serviceaccounts:shop",
    ]);
    expect(index.memberGroups(), "the index is left unchanged").to.deep.equal([]);
  });

  it("whatIfHolders: a binding to a wider group reaches the narrower groups other bindings name; a widened role gives only what it adds", () => {
    const index = build(
      [
        role("shop", "lister", [listPods]),
        roleBinding("shop", "list", { kind: "Role", name: "lister" }, [
          group("system:serviceaccounts:shop"),
        ]),
      ],
      [{ namespace: "shop", name: "api" }],
    );
    const wider = index.whatIfHolders({
      upsert: roleBinding("shop", "all", { kind: "Role", name: "lister" }, [
        group("system:serviceaccounts"),
      ]),
    });
    expect([...wider.groups.keys()].sort()).to.deep.equal([
      "system:serviceaccounts",
      "system:serviceaccounts:shop",
    ]);
    expect(wider.groups.get("system:serviceaccounts:shop")?.map(brief)).to.deep.equal([
      "RoleBinding/shop/all @shop via group:system:serviceaccounts",
    ]);
    const widened = index.whatIfHolders({ upsert: role("shop", "lister", [listPods, getSecrets]) });
    expect(
      widened.groups.get("system:serviceaccounts:shop")?.flatMap((g) => g.rules),
    ).to.deep.equal([getSecrets]);
    expect(widened.serviceAccounts.get("shop/api")?.flatMap((g) => g.rules)).to.deep.equal([
      getSecrets,
    ]);
    expect(
      index.whatIfHolders({ upsert: role("shop", "lister", [listPods]) }).groups.size,
      "nothing added, nothing gained",
    ).to.equal(0);
  });

  it("a ServiceAccount subject never makes a group holder", () => {
    const index = build([
      clusterRole("reader", [getSecrets]),
      clusterRoleBinding("one", "reader", [sa("shop", "api")]),
    ]);
    expect(index.memberGroups()).to.deep.equal([]);
    expect(index.grantsOfGroup("system:serviceaccounts:shop")).to.deep.equal([]);
  });
});

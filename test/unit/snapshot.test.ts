import { expect } from "chai";
import { emptySnapshot, identityDirectory, indexSnapshot } from "../../core/snapshot.js";
import type { NonHumanIdentity } from "../../core/nhi/types.js";

const nhi = (name: string, sa: string, enforcement?: "Audit"): NonHumanIdentity => ({
  apiVersion: "nhi.io/v1alpha1",
  kind: "NonHumanIdentity",
  metadata: { name, namespace: "shop" },
  spec: {
    owner: { team: "t", contact: "c@example.com" },
    purpose: "p",
    serviceAccountName: sa,
    ...(enforcement ? { enforcement } : {}),
  },
});

describe("identityDirectory", () => {
  it("maps a ServiceAccount to the NHI that claims it, defaulting enforcement and scopes", () => {
    const dir = identityDirectory([nhi("orders", "orders-api")]);
    expect(dir.nhiFor({ namespace: "shop", name: "orders-api" })?.metadata.name).to.equal("orders");
    expect(dir.governing({ namespace: "shop", name: "orders-api" })).to.deep.equal({
      nhi: { namespace: "shop", name: "orders" },
      scopes: [],
      enforcement: "Enforce",
    });
    expect(dir.governing({ namespace: "billing", name: "orders-api" })).to.equal(undefined);
  });

  it("reports a second claim on the same account as a conflict and keeps the first by name", () => {
    const dir = identityDirectory([nhi("zeta", "api", "Audit"), nhi("alpha", "api")]);
    expect(dir.nhiFor({ namespace: "shop", name: "api" })?.metadata.name).to.equal("alpha");
    expect(dir.conflicts.get("shop/api")?.map((n) => n.metadata.name)).to.deep.equal(["zeta"]);
  });
});

describe("indexSnapshot", () => {
  it("knows the snapshot's ServiceAccounts so group subjects reach them", () => {
    const s = emptySnapshot();
    s.serviceAccounts.push({ kind: "ServiceAccount", metadata: { name: "a", namespace: "shop" } });
    s.rbac.push({
      kind: "ClusterRoleBinding",
      metadata: { name: "all-view" },
      roleRef: { kind: "ClusterRole", name: "view" },
      subjects: [{ kind: "Group", name: "system:serviceaccounts:shop" }],
    });
    const grants = indexSnapshot(s).grantsOf({ namespace: "shop", name: "a" });
    expect(grants.map((g) => [g.role.name, g.via])).to.deep.equal([
      ["view", "group:system:serviceaccounts:shop"],
    ]);
  });
});

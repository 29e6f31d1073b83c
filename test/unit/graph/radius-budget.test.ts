import { expect } from "chai";
import { CLUSTER_ADMIN, IdentityGraph, blastRadius, saNodeId } from "../../../core/graph/index.js";
import { emptySnapshot } from "../../../core/snapshot.js";
import type { RbacObject } from "../../../core/rbac/types.js";

// Two hops to cluster-admin: ci/builder may create pods in vault, where vault/powerful is cluster-admin.
function graph(): IdentityGraph {
  const s = emptySnapshot();
  const rbac: RbacObject[] = [
    {
      kind: "ClusterRoleBinding",
      metadata: { name: "powerful-admin" },
      roleRef: { kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "ServiceAccount", name: "powerful", namespace: "vault" }],
    },
    {
      kind: "ClusterRole",
      metadata: { name: "cluster-admin" },
      rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }],
    },
    {
      kind: "Role",
      metadata: { name: "pod-maker", namespace: "vault" },
      rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["create"] }],
    },
    {
      kind: "RoleBinding",
      metadata: { name: "builder", namespace: "vault" },
      roleRef: { kind: "Role", name: "pod-maker" },
      subjects: [{ kind: "ServiceAccount", name: "builder", namespace: "ci" }],
    },
  ];
  s.rbac = rbac;
  s.serviceAccounts = [
    { kind: "ServiceAccount", metadata: { name: "powerful", namespace: "vault" } },
    { kind: "ServiceAccount", metadata: { name: "builder", namespace: "ci" } },
  ];
  return IdentityGraph.fromSnapshot(s);
}

describe("graph: a walk's edge budget", () => {
  it("walks to the end within its budget, spending one per edge examined", () => {
    const budget = { edges: 1_000 };
    const r = blastRadius(graph(), saNodeId("ci", "builder"), undefined, budget);
    expect(r.truncated).to.equal(undefined);
    expect(r.reached.has(CLUSTER_ADMIN)).to.equal(true);
    expect(budget.edges).to.be.lessThan(1_000);
  });

  it("stops when the budget runs out and says the closure is partial", () => {
    const r = blastRadius(graph(), saNodeId("ci", "builder"), undefined, { edges: 1 });
    expect(r.truncated).to.equal(true);
    expect(r.reached.has(CLUSTER_ADMIN)).to.equal(false);
  });
});

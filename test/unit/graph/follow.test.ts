// What the graph keeps between changes for the webhook's path: the shared texts of capabilities
// (rebuilt from the live ones after churn) and the reverse index of edgesInto (dropped on a change).
import { expect } from "chai";
import { IdentityGraph } from "../../../core/graph/index.js";
import type { RbacObject } from "../../../core/rbac/types.js";
import { role, roleBinding, rule, sa, snapshotOf } from "./fixtures.js";

const caps = (g: IdentityGraph, id: string): unknown[] =>
  g.capabilities(id).map((c) => ({ ...c, through: [...c.through] }));

describe("identity graph: what it keeps between changes", () => {
  it("capabilities stay what a rebuild gives after more churn than the shared texts keep", () => {
    const base = [
      sa("a", "x"),
      sa("b", "y"),
      role("a", "exec", [rule([""], ["pods/exec"], ["create"])]),
    ];
    const g = IdentityGraph.fromSnapshot(snapshotOf(base));
    // Each binding cites a new text; 6,000 of them outgrow the pool's 2 × live + 4,096.
    let last: RbacObject | undefined;
    for (let i = 0; i < 6_000; i++) {
      if (last)
        g.apply({
          rbac: { remove: { kind: "RoleBinding", namespace: "a", name: last.metadata.name } },
        });
      last = roleBinding("a", `rb-${i}`, "exec", "a/x", "b/y") as RbacObject;
      g.apply({ rbac: { upsert: last } });
    }
    const rebuilt = IdentityGraph.fromSnapshot(snapshotOf([...base, last as never]));
    for (const id of ["sa:a/x", "sa:b/y"]) {
      expect(caps(g, id), id).to.deep.equal(caps(rebuilt, id));
      expect(caps(g, id)).to.have.length(1);
    }
  });

  it("edgesInto follows a change: a new holder reaching an account is found after it", () => {
    const g = IdentityGraph.fromSnapshot(
      snapshotOf([
        sa("vault", "target"),
        sa("ci", "x"),
        role("vault", "launch", [rule([""], ["pods"], ["create"])]),
      ]),
    );
    expect(g.edgesInto("sa:vault/target").map((e) => e.from)).to.deep.equal([]);
    g.apply({ rbac: { upsert: roleBinding("vault", "x", "launch", "ci/x") as RbacObject } });
    expect(g.edgesInto("sa:vault/target").map((e) => e.from)).to.deep.equal(["sa:ci/x"]);
    g.apply({ rbac: { remove: { kind: "RoleBinding", namespace: "vault", name: "x" } } });
    expect(g.edgesInto("sa:vault/target").map((e) => e.from)).to.deep.equal([]);
  });
});

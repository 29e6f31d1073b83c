// mayAddCapability: the webhook's cheap answer to "can this write add an edge?". When it says no,
// the full capability lists before and after must agree (a property over random grant sets); when a
// gained grant brings a fact not already held for every object at its place, it says yes. And
// mayHoldJoint: no means no two-permission capability (bind, escalate, CSR approve, Secret mint).
import { expect } from "chai";
import fc from "fast-check";
import {
  JOINT_KINDS,
  capabilitiesOf,
  capabilityKey,
  mayAddCapability,
  mayHoldJoint,
} from "../../../core/graph/edges.js";
import type { Grant, PolicyRule } from "../../../core/rbac/types.js";
import { rule } from "./fixtures.js";

const RBAC = "rbac.authorization.k8s.io";
const RULES: PolicyRule[] = [
  rule([""], ["pods"], ["create"]),
  rule(["batch"], ["jobs"], ["create"]),
  rule(["apps"], ["deployments"], ["patch"]),
  rule(["apps"], ["deployments"], ["patch"], ["web"]),
  rule([""], ["pods/exec"], ["create"]),
  rule([""], ["secrets"], ["get"]),
  rule([""], ["secrets"], ["get"], ["db"]),
  rule([""], ["secrets"], ["create"]),
  rule([""], ["serviceaccounts/token"], ["create"], ["y"]),
  rule([""], ["users"], ["impersonate"], ["system:serviceaccount:a:x"]),
  rule([RBAC], ["roles"], ["bind"]),
  rule([RBAC], ["rolebindings"], ["create"]),
  rule([""], ["nodes/proxy"], ["get"]),
  rule(["*"], ["*"], ["*"]),
  rule([""], ["configmaps"], ["get"]),
];

let serial = 0;
const grant = (namespace: string, rules: PolicyRule[]): Grant => {
  const name = `g${serial++}`;
  return {
    namespace,
    rules,
    binding:
      namespace === "*"
        ? { kind: "ClusterRoleBinding", name }
        : { kind: "RoleBinding", namespace, name },
    role: namespace === "*" ? { kind: "ClusterRole", name } : { kind: "Role", namespace, name },
    via: "serviceaccount",
  };
};
const grantArb = fc
  .tuple(
    fc.constantFrom("a", "b", "*"),
    fc.uniqueArray(fc.constantFrom(...RULES), { minLength: 1, maxLength: 3 }),
  )
  .map(([ns, rules]) => grant(ns, rules));
const keys = (grants: Grant[]): string[] => capabilitiesOf(grants).map(capabilityKey).sort();

describe("identity graph: can a write add a capability (mayAddCapability)", () => {
  it("when it says no, the capabilities before and after the write are the same", () => {
    fc.assert(
      fc.property(
        fc.array(grantArb, { maxLength: 5 }),
        fc.array(grantArb, { minLength: 1, maxLength: 2 }),
        (before, gained) => {
          if (mayAddCapability(before, gained)) return;
          // cluster-admin reaches everything: capabilitiesOf may list a namespace's again (no new edge).
          if (keys(before).includes("cluster-admin||*|*")) return;
          expect(keys([...before, ...gained])).to.deep.equal(keys(before));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("mayHoldJoint: when it says no, no capability needing two permissions is held", () => {
    fc.assert(
      fc.property(fc.array(grantArb, { maxLength: 6 }), (grants) => {
        if (mayHoldJoint([grants])) return;
        expect(capabilitiesOf(grants).filter((c) => JOINT_KINDS.has(c.kind))).to.deep.equal([]);
      }),
      { numRuns: 500 },
    );
    const secrets = (verb: string): Grant => grant("a", [rule([""], ["secrets"], [verb])]);
    expect(mayHoldJoint([[secrets("get")], [secrets("create")]])).to.equal(true);
    expect(mayHoldJoint([[secrets("get")], [secrets("get")]])).to.equal(false);
  });

  it("says no for a role the account already holds cluster-wide, yes for a fact it lacks", () => {
    const cluster = grant("*", [
      rule([""], ["secrets"], ["get"]),
      rule(["batch"], ["jobs"], ["create"]),
    ]);
    const same = grant("a", [
      rule(["batch"], ["jobs"], ["create"]),
      rule([""], ["configmaps"], ["get"]),
    ]);
    expect(mayAddCapability([cluster], [same])).to.equal(false);
    expect(
      mayAddCapability([cluster], [grant("a", [rule([""], ["configmaps"], ["get"])])]),
    ).to.equal(false);
    // pods/exec is a fact the account lacks anywhere.
    expect(
      mayAddCapability([cluster], [grant("a", [rule([""], ["pods/exec"], ["create"])])]),
    ).to.equal(true);
    // Held in namespace a only: a cluster-wide grant of it is new everywhere else.
    const inA = grant("a", [rule([""], ["pods/exec"], ["create"])]);
    expect(mayAddCapability([inA], [grant("*", [rule([""], ["pods/exec"], ["create"])])])).to.equal(
      true,
    );
    expect(mayAddCapability([inA], [grant("b", [rule([""], ["pods/exec"], ["create"])])])).to.equal(
      true,
    );
    // Named Secrets held: every Secret is a wider fact.
    const named = grant("*", [rule([""], ["secrets"], ["get"], ["db"])]);
    expect(mayAddCapability([named], [grant("a", [rule([""], ["secrets"], ["get"])])])).to.equal(
      true,
    );
  });
});

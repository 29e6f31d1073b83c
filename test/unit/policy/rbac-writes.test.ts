// judgeRbacWrites: a set of RBAC writes over a base, judged per write with the webhook's chain.
// One write over a base must be judged as the webhook judges it (identityChanges over the live
// index); a written Role that widens a binding already there is judged at the Role; permissions
// that only several writes together give are found by the combined pass and point at both.
import { expect } from "chai";
import {
  decideRbacWrite,
  identityChanges,
  type GoverningIdentity,
} from "../../../core/policy/rbac-write.js";
import { judgeRbacWrites, type RbacWritesInput } from "../../../core/policy/rbac-writes.js";
import { CLI_DEFAULTS } from "../../../core/policy/settings.js";
import type { Decision } from "../../../core/policy/types.js";
import { EffectivePermissionIndex } from "../../../core/rbac/effective.js";
import type {
  PolicyRule,
  RbacObject,
  RoleBinding,
  ServiceAccountRef,
} from "../../../core/rbac/types.js";
import { rule } from "./fixtures.js";

const RBAC_V1 = "rbac.authorization.k8s.io/v1";
const ORDERS: ServiceAccountRef = { namespace: "shop", name: "orders-api" };

const governing = (sa: ServiceAccountRef): GoverningIdentity | undefined =>
  sa.namespace === ORDERS.namespace && sa.name === ORDERS.name
    ? {
        nhi: { namespace: "shop", name: "orders-api" },
        scopes: [
          {
            namespaces: ["shop"],
            apiGroups: [""],
            resources: ["configmaps"],
            verbs: ["get", "list", "watch"],
          },
        ],
        enforcement: "Enforce",
      }
    : undefined;

const role = (name: string, rules: PolicyRule[]): RbacObject => ({
  kind: "Role",
  metadata: { namespace: "shop", name },
  rules,
});
const binding = (name: string, roleName: string): RoleBinding => ({
  kind: "RoleBinding",
  metadata: { namespace: "shop", name },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: roleName },
  subjects: [{ kind: "ServiceAccount", namespace: ORDERS.namespace, name: ORDERS.name }],
});
const written = (o: RbacObject) => ({
  ref: {
    apiVersion: RBAC_V1,
    kind: o.kind,
    namespace: o.metadata.namespace,
    name: o.metadata.name,
  },
  obj: o as unknown as Record<string, unknown>,
});
const indexOf = (objects: RbacObject[]): EffectivePermissionIndex => {
  const index = new EffectivePermissionIndex();
  index.addServiceAccount(ORDERS);
  index.upsertAll(objects);
  return index;
};
const judge = (base: RbacObject[], writes: RbacObject[], opts: Partial<RbacWritesInput> = {}) =>
  judgeRbacWrites({
    written: writes.map(written),
    after: indexOf([...base.filter((b) => !writes.some((w) => sameRef(w, b))), ...writes]),
    before: indexOf(base),
    governing,
    policy: CLI_DEFAULTS,
    roles: { exists: () => true, searched: "the test" },
    ...opts,
  });
const sameRef = (a: RbacObject, b: RbacObject): boolean =>
  a.kind === b.kind && a.metadata.name === b.metadata.name;
const rules = (d: Decision): string[] => [...d.violations, ...d.warnings].map((v) => v.rule).sort();

describe("judgeRbacWrites", () => {
  it("judges one written binding as the webhook judges that write (identityChanges over the base)", () => {
    const base = [role("writer", [rule([""], ["configmaps", "secrets"], ["get", "delete"])])];
    const write = binding("orders-writes", "writer");
    const [only, ...rest] = judge(base, [write]);
    expect(rest).to.deep.equal([]);
    const webhook = decideRbacWrite({
      object: { kind: "RoleBinding", namespace: "shop", name: "orders-writes" },
      binding: write,
      changes: identityChanges(indexOf(base), { upsert: write }),
      governing,
      policy: CLI_DEFAULTS,
      roles: { exists: () => true, searched: "the test" },
    });
    expect(webhook.allowed).to.equal(false);
    expect(only?.decision.allowed).to.equal(false);
    expect(rules(only!.decision)).to.deep.equal(rules(webhook));
    expect(only?.decision.violations.map((v) => v.permission).sort()).to.deep.equal(
      webhook.violations.map((v) => v.permission).sort(),
    );
    expect(only).to.include({ written: true });
    expect(only?.at).to.include({ kind: "RoleBinding", name: "orders-writes" });
    expect(only?.definedBy).to.deep.equal({ kind: "Role", namespace: "shop", name: "writer" });
  });

  it("allows a written binding within the identity's scopes", () => {
    const base = [role("reader", [rule([""], ["configmaps"], ["get"])])];
    const [only] = judge(base, [binding("orders-reads", "reader")]);
    expect(only?.decision).to.deep.include({ allowed: true, violations: [] });
  });

  it("judges a written Role that widens a binding already in the base at the Role, on what it adds only", () => {
    const base = [
      role("reader", [rule([""], ["configmaps"], ["get"])]),
      binding("orders-reads", "reader"),
    ];
    const widened = role("reader", [rule([""], ["configmaps", "secrets"], ["get"])]);
    const [only, ...rest] = judge(base, [widened]);
    expect(rest).to.deep.equal([]);
    expect(only?.at).to.deep.include({ kind: "Role", namespace: "shop", name: "reader" });
    expect(only?.written).to.equal(true);
    expect(only?.decision.allowed).to.equal(false);
    const permissions = only!.decision.violations.map((v) => v.permission ?? "");
    expect(permissions.some((p) => p.includes("secrets"))).to.equal(true);
    expect(permissions.some((p) => p.includes("configmaps"))).to.equal(false);
  });

  it("finds what only two writes together give (CSR approval) and points at both bindings", () => {
    const csr = (name: string, r: PolicyRule): RbacObject => ({
      kind: "ClusterRole",
      metadata: { name },
      rules: [r],
    });
    const crb = (name: string, roleName: string): RbacObject => ({
      kind: "ClusterRoleBinding",
      metadata: { name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: roleName },
      subjects: [{ kind: "ServiceAccount", namespace: "ci", name: "approver" }],
    });
    const writes = [
      csr(
        "approval",
        rule(["certificates.k8s.io"], ["certificatesigningrequests/approval"], ["update"]),
      ),
      csr("signers", rule(["certificates.k8s.io"], ["signers"], ["approve"])),
      crb("approval", "approval"),
      crb("signers", "signers"),
    ];
    const judged = judge([], writes);
    const combined = judged.filter((j) => j.alsoGrantedBy.length > 0);
    expect(combined).to.have.length(1);
    expect(rules(combined[0]!.decision)).to.deep.equal(["csr-approve"]);
    expect(combined[0]!.decision.violations[0]?.identity).to.equal(
      "system:serviceaccount:ci:approver",
    );
    const pair = [combined[0]!.at.name, ...combined[0]!.alsoGrantedBy.map((r) => r.name)];
    expect(pair.sort()).to.deep.equal(["approval", "signers"]);
    // Each binding alone reaches neither half of the entry's pair.
    for (const j of judged.filter((x) => x.alsoGrantedBy.length === 0))
      expect(rules(j.decision)).to.not.include("csr-approve");
    // Reported elsewhere already: not repeated.
    const again = judge([], writes, { reported: (r) => r === "csr-approve" });
    expect(again.filter((j) => j.alsoGrantedBy.length > 0)).to.deep.equal([]);
  });
});

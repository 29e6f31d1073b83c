import { expect } from "chai";
import { loadCrdDocuments } from "../../../crds/load.js";
import { createValidator } from "../../../core/nhi/validate.js";
import {
  adoptionPolicy,
  foldRepeats,
  identityDigest,
  type DigestFinding,
} from "../../../core/policy/adoption.js";
import { ADMISSION_RULE_IDS } from "../../../core/policy/nhi-write.js";
import { CLI_DEFAULTS, exemptionFor, resolvePolicy } from "../../../core/policy/settings.js";
import type { Severity } from "../../../core/policy/types.js";

const NOW = new Date("2026-11-29T12:00:00Z");
const SA = "system:serviceaccount:certs:certs-operator";
const crb = (name: string) => ({ kind: "ClusterRoleBinding", name });
const finding = (
  over: Partial<DigestFinding> & { object: DigestFinding["object"] },
): DigestFinding => ({
  rule: "secrets-read-cluster",
  severity: "critical" as Severity,
  identity: SA,
  permissions: ["get secrets cluster-wide"],
  ...over,
});
// The shape of a widely used operator chart: one permission through five bindings, plus other findings.
const chart: DigestFinding[] = [
  ...["issuers", "clusterissuers", "certificates", "orders", "challenges"].map((c) =>
    finding({ object: crb(`ctl-${c}`) }),
  ),
  finding({
    rule: "pods-exec",
    severity: "high",
    permissions: ["create pods/exec in namespace certs"],
    object: { kind: "RoleBinding", namespace: "certs", name: "debug" },
  }),
  finding({
    rule: "unclaimed-service-account",
    severity: "medium",
    permissions: [],
    object: { kind: "Deployment", namespace: "certs", name: "ctl" },
  }),
  finding({
    rule: "nodes-proxy",
    severity: "critical",
    identity: "system:serviceaccounts:certs",
    permissions: ["get nodes/proxy cluster-wide"],
    object: crb("all-sas"),
  }),
  finding({
    rule: "duplicate-object",
    severity: "low",
    identity: undefined,
    permissions: [],
    object: { kind: "ConfigMap", namespace: "certs", name: "x" },
  }),
];

describe("identityDigest", () => {
  it("gives one line per identity and critical/high permission with every object that grants it, worst first", () => {
    const d = identityDigest(chart);
    expect(d.map((i) => i.identity)).to.deep.equal([SA, "system:serviceaccounts:certs"]);
    const sa = d[0];
    expect(sa?.severity).to.equal("critical");
    expect(sa?.permissions.map((p) => [p.severity, p.permission, p.rules])).to.deep.equal([
      ["critical", "get secrets cluster-wide", ["secrets-read-cluster"]],
      ["high", "create pods/exec in namespace certs", ["pods-exec"]],
    ]);
    expect(sa?.permissions[0]?.grantedBy.map((r) => r.name)).to.deep.equal([
      "ctl-issuers",
      "ctl-clusterissuers",
      "ctl-certificates",
      "ctl-orders",
      "ctl-challenges",
    ]);
  });

  it("takes any subject string, and says whether a permission denies or only warns", () => {
    const d = identityDigest([
      finding({ identity: "group:team-a", object: crb("a"), denied: false }),
      finding({ identity: "group:team-a", object: crb("b") }),
    ]);
    expect(d[0]?.identity).to.equal("group:team-a");
    expect(d[0]?.permissions[0]?.denied).to.equal(true);
    expect(
      identityDigest([finding({ object: crb("a"), denied: false })])[0]?.permissions[0]?.denied,
    ).to.equal(false);
  });

  it("leaves out medium and low findings and findings without an identity", () => {
    expect(identityDigest(chart.slice(6, 7)).length).to.equal(0);
    expect(identityDigest(chart.slice(8)).length).to.equal(0);
  });
});

describe("foldRepeats", () => {
  it("folds the same identity, rule and permission across objects into the first", () => {
    const folded = foldRepeats(chart);
    expect(folded.length).to.equal(chart.length - 4);
    expect(folded[0]?.finding.object.name).to.equal("ctl-issuers");
    expect(folded[0]?.repeats.map((r) => r.object.name)).to.deep.equal([
      "ctl-clusterissuers",
      "ctl-certificates",
      "ctl-orders",
      "ctl-challenges",
    ]);
  });

  it("keeps different permissions, different identities and identity-less findings apart", () => {
    const xs = [
      finding({ object: crb("a") }),
      finding({ object: crb("b"), permissions: ["list secrets cluster-wide"] }),
      finding({ object: crb("c"), identity: "system:serviceaccount:other:x" }),
      finding({ object: crb("d"), identity: undefined }),
      finding({ object: crb("e"), identity: undefined }),
    ];
    expect(foldRepeats(xs).map((g) => g.repeats.length)).to.deep.equal([0, 0, 0, 0, 0]);
  });
});

describe("adoptionPolicy", () => {
  const validator = createValidator(loadCrdDocuments());
  const violations = chart.filter((f) => f.severity !== "medium" && f.severity !== "low");

  it("exempts exactly each ServiceAccount from exactly its rules, expiring in 90 days, with what was accepted in the reason", () => {
    const { policy, uncovered } = adoptionPolicy(violations, { now: NOW });
    expect(policy?.metadata.name).to.equal("adopt-certs");
    expect(policy?.spec.exemptions).to.deep.equal([
      {
        serviceAccounts: ["certs/certs-operator"],
        rules: ["pods-exec", "secrets-read-cluster"],
        expiresAt: "2027-02-27T12:00:00Z",
        reason:
          "Accepted when adopting third-party manifests for ServiceAccount certs/certs-operator: get secrets cluster-wide (ClusterRoleBinding ctl-issuers, ClusterRoleBinding ctl-clusterissuers, ClusterRoleBinding ctl-certificates, ClusterRoleBinding ctl-orders, ClusterRoleBinding ctl-challenges); create pods/exec in namespace certs (RoleBinding certs/debug). Review before it expires.",
      },
    ]);
    // A subject string that names no ServiceAccount or member group stays a finding to fix.
    expect(uncovered.map((f) => f.identity)).to.deep.equal(["system:serviceaccounts:certs"]);
  });

  it("accepts the group of one namespace's ServiceAccounts as ns/* (an exemption covers a group only when it covers every member); groups of every namespace or with people stay findings to fix", () => {
    const group = finding({
      rule: "nodes-proxy",
      identity: "group:system:serviceaccounts:certs",
      permissions: ["get nodes/proxy cluster-wide"],
      object: crb("all-sas"),
    });
    const { policy, uncovered } = adoptionPolicy([group], { now: NOW });
    expect(uncovered).to.deep.equal([]);
    expect(policy?.spec.exemptions).to.deep.equal([
      {
        serviceAccounts: ["certs/*"],
        rules: ["nodes-proxy"],
        expiresAt: "2027-02-27T12:00:00Z",
        reason:
          "Accepted when adopting third-party manifests for every ServiceAccount in namespace certs (group system:serviceaccounts:certs): get nodes/proxy cluster-wide (ClusterRoleBinding all-sas). Review before it expires.",
      },
    ]);
    const effective = resolvePolicy(policy ? [policy] : [], CLI_DEFAULTS, NOW);
    expect(
      exemptionFor(effective, { ...group, identity: group.identity ?? "", message: "", fix: "" }),
    ).to.not.equal(undefined);
    const parsed = validator.parseNHIPolicy(JSON.parse(JSON.stringify(policy)), {
      now: NOW,
      knownRuleIds: new Set(ADMISSION_RULE_IDS),
    });
    expect(parsed.errors).to.deep.equal([]);
    const wide = adoptionPolicy(
      [
        finding({ identity: "group:system:serviceaccounts", object: crb("every-sa") }),
        finding({
          rule: "binding-dangerous-group",
          identity: "group:system:authenticated",
          permissions: ["ClusterRole view"],
          object: crb("everyone"),
        }),
      ],
      { now: NOW },
    );
    expect(wide.policy).to.equal(undefined);
    expect(wide.uncovered.map((f) => f.identity)).to.deep.equal([
      "group:system:serviceaccounts",
      "group:system:authenticated",
    ]);
  });

  it("is a valid NHIPolicy for the project's validator (CRD schema, CEL mirrors, known rule ids)", () => {
    const { policy } = adoptionPolicy(violations, { now: NOW });
    const parsed = validator.parseNHIPolicy(JSON.parse(JSON.stringify(policy)), {
      now: NOW,
      knownRuleIds: new Set(ADMISSION_RULE_IDS),
    });
    expect(parsed.errors).to.deep.equal([]);
    expect(parsed.ok).to.equal(true);
  });

  it("stays valid at the CRD's limits: a reason clipped to 1024 characters, at most 128 exemptions", () => {
    const many = Array.from({ length: 130 }, (_, i) =>
      finding({
        identity: `system:serviceaccount:ns${i}:sa`,
        object: crb(`b${i}`),
        permissions: Array.from({ length: 40 }, (_x, j) => `get secrets${j} cluster-wide`),
      }),
    );
    const { policy, uncovered } = adoptionPolicy(many, { now: NOW });
    expect(policy?.metadata.name).to.equal("adopt-third-party");
    expect(policy?.spec.exemptions?.length).to.equal(128);
    expect(uncovered.length).to.equal(2);
    expect(Math.max(...(policy?.spec.exemptions ?? []).map((e) => e.reason.length))).to.equal(1024);
    const parsed = validator.parseNHIPolicy(JSON.parse(JSON.stringify(policy)), {
      now: NOW,
      knownRuleIds: new Set(ADMISSION_RULE_IDS),
    });
    expect(parsed.errors).to.deep.equal([]);
  });

  it("accepts what it says: every covered violation is exempt under the resolved policy, nothing else is", () => {
    const { policy } = adoptionPolicy(violations, { now: NOW });
    const effective = resolvePolicy(policy ? [policy] : [], CLI_DEFAULTS, NOW);
    const asViolation = (f: DigestFinding) => ({
      rule: f.rule,
      severity: f.severity,
      object: f.object,
      ...(f.identity ? { identity: f.identity } : {}),
      message: "",
      fix: "",
    });
    for (const f of violations.filter((v) => v.identity === SA))
      expect(exemptionFor(effective, asViolation(f)), f.rule).to.not.equal(undefined);
    expect(
      exemptionFor(effective, asViolation(finding({ rule: "nodes-proxy", object: crb("x") }))),
    ).to.equal(undefined);
    expect(
      exemptionFor(
        effective,
        asViolation(finding({ identity: "system:serviceaccount:certs:other", object: crb("x") })),
      ),
    ).to.equal(undefined);
    // After it expires, it accepts nothing.
    const later = resolvePolicy(
      policy ? [policy] : [],
      CLI_DEFAULTS,
      new Date("2027-03-01T00:00:00Z"),
    );
    expect(exemptionFor(later, asViolation(violations[0] as DigestFinding))).to.equal(undefined);
  });

  it("suggests nothing when no finding names a ServiceAccount, or for a rule an exemption may not name", () => {
    const r = adoptionPolicy(
      [
        finding({
          rule: "nhi-invalid",
          object: { kind: "NonHumanIdentity", namespace: "certs", name: "x" },
        }),
      ],
      { now: NOW },
    );
    expect(r.policy).to.equal(undefined);
    expect(r.uncovered.length).to.equal(1);
  });
});

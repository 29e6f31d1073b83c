import { expect } from "chai";
import fc from "fast-check";
import { riskLevel, scoreRisk, type RiskInput } from "../../../core/risk/score.js";

const base: RiskInput = {
  catalogue: [],
  excess: 0,
  claimed: true,
  orphaned: false,
  legacyTokens: 0,
  expiredCredentials: 0,
  staleCredentials: 0,
  failingCredentials: 0,
  unused: false,
  workloads: 1,
  automountingPods: 0,
  clusterWideGrants: 0,
  suspended: false,
};

describe("risk score", () => {
  const table: Array<[string, Partial<RiskInput>, number, string]> = [
    ["a claimed, minimal identity", {}, 0, "low"],
    ["a shadow identity", { claimed: false }, 10, "low"],
    [
      "cluster-admin, automounted, shadow",
      {
        catalogue: [{ id: "wildcard-all-cluster", severity: "critical", namespace: "*" }],
        automountingPods: 3,
        claimed: false,
        clusterWideGrants: 1,
      },
      90,
      "critical",
    ],
    ["excess of 30 permissions is capped", { excess: 30 }, 20, "low"],
    [
      "cluster-admin alone is already high",
      { catalogue: [{ id: "wildcard-all-cluster", severity: "critical", namespace: "*" }] },
      65,
      "high",
    ],
    [
      "two high hits and a legacy token",
      {
        catalogue: [
          { id: "secrets-read", severity: "high", namespace: "a" },
          { id: "pods-exec", severity: "high", namespace: "a" },
        ],
        legacyTokens: 2,
      },
      38,
      "medium",
    ],
    [
      "everything at once stays ≤ 100",
      {
        catalogue: [
          { id: "rbac-bind", severity: "critical", namespace: "*" },
          { id: "impersonate", severity: "critical", namespace: "*" },
          { id: "secrets-read", severity: "high", namespace: "a" },
        ],
        excess: 40,
        orphaned: true,
        legacyTokens: 1,
        expiredCredentials: 1,
        unused: true,
        workloads: 4,
        automountingPods: 1,
      },
      100,
      "critical",
    ],
    [
      "reaching cluster-admin through another identity (2 hops)",
      {
        catalogue: [{ id: "pods-create", severity: "high", namespace: "vault" }],
        blastRadius: { identities: 2, clusterAdminHops: 2 },
      },
      60,
      "high",
    ],
    [
      "direct cluster-admin (1 hop) counts once, as privilege-critical",
      {
        catalogue: [{ id: "wildcard-all-cluster", severity: "critical", namespace: "*" }],
        blastRadius: { identities: 40, clusterAdminHops: 1 },
      },
      65,
      "high",
    ],
    ["becoming 3 other identities", { blastRadius: { identities: 3 } }, 7, "low"],
    ["becoming 50 other identities is capped", { blastRadius: { identities: 50 } }, 15, "low"],
    ["a radius of nothing adds nothing", { blastRadius: { identities: 0 } }, 0, "low"],
    [
      "suspended is capped at 10",
      { catalogue: [{ id: "rbac-bind", severity: "critical", namespace: "*" }], suspended: true },
      10,
      "low",
    ],
  ];
  for (const [name, over, score, level] of table) {
    it(`${name}: ${score} (${level})`, () => {
      const r = scoreRisk({ ...base, ...over });
      expect(r.score).to.equal(score);
      expect(r.level).to.equal(level);
      for (const f of r.factors ?? []) expect(f.detail, f.name).to.be.a("string").and.not.equal("");
    });
  }

  it("explains every point: factors sum to the score unless capped, sorted by weight", () => {
    fc.assert(
      fc.property(
        fc.record({
          excess: fc.nat(50),
          claimed: fc.boolean(),
          orphaned: fc.boolean(),
          legacyTokens: fc.nat(3),
          expiredCredentials: fc.nat(2),
          staleCredentials: fc.nat(2),
          failingCredentials: fc.nat(2),
          unused: fc.boolean(),
          workloads: fc.nat(4),
          automountingPods: fc.nat(3),
          clusterWideGrants: fc.nat(2),
        }),
        (over) => {
          const r = scoreRisk({ ...base, ...over });
          const sum = (r.factors ?? []).reduce((s, f) => s + f.points, 0);
          expect(r.score).to.equal(Math.min(100, sum));
          expect(r.score).to.be.within(0, 100);
          const pts = (r.factors ?? []).map((f) => f.points);
          expect(pts).to.deep.equal([...pts].sort((a, b) => b - a));
          expect(r.level).to.equal(riskLevel(r.score ?? 0));
        },
      ),
    );
  });
});

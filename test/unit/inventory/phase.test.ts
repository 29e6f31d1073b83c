// The inventory phase chain (core/inventory/phase.ts): each named check decides its phase, the
// first that applies wins (the chain's order is the precedence), and none applying is Active.
import { expect } from "chai";
import { PHASE_CHECKS, phaseOf, type PhaseFacts } from "../../../core/inventory/phase.js";

const T = Date.UTC(2026, 0, 1);
const calm: PhaseFacts = {
  name: "app",
  exists: true,
  orphaned: false,
  uncovered: 0,
  forbidden: [],
  credentials: [],
  unused: false,
  pods: 2,
};

// Facts that make exactly one check apply, in the chain's order.
const ONLY: Record<string, Partial<PhaseFacts>> = {
  suspended: { lifetime: { state: "Suspended" } },
  expired: { lifetime: { state: "Expired", since: T, reason: "ExpiresAt", action: "Disable" } },
  orphaned: { orphaned: true, exists: false },
  violating: { uncovered: 3 },
  "lifetime-expiring": {
    lifetime: { state: "Expiring", expiresAt: T, reason: "ExpiresAt", nextAt: T },
  },
  "credential-expiring": { credentials: [{ health: "Expiring", message: "ci expires soon" }] },
  unused: { unused: true, since: T },
};

describe("inventory phase chain (core/inventory/phase.ts)", () => {
  it("none applies: Active, naming the pods", () => {
    expect(phaseOf(calm)).to.deep.equal({ phase: "Active", reason: "2 pods run as it" });
  });

  it("has a case for every check, and each check alone decides its phase", () => {
    expect(PHASE_CHECKS.map((c) => c.name)).to.deep.equal(Object.keys(ONLY));
    for (const c of PHASE_CHECKS)
      expect(phaseOf({ ...calm, ...ONLY[c.name] }).phase, c.name).to.equal(c.phase);
  });

  it("the earlier check wins when several apply (Suspended over Expired over Orphaned over Violating over Expiring over Unused)", () => {
    const names = PHASE_CHECKS.map((c) => c.name);
    for (let i = 0; i < names.length; i++) {
      // Later checks' facts first, so an earlier check's (e.g. its lifetime) is the one that stays.
      const facts = names
        .slice(i)
        .reverse()
        .reduce<PhaseFacts>((f, n) => ({ ...f, ...ONLY[n] }), calm);
      expect(phaseOf(facts).phase, names[i]).to.equal(PHASE_CHECKS[i]?.phase);
    }
  });

  it("Violating names the excess, or the forbidden entries when within scopes", () => {
    expect(phaseOf({ ...calm, uncovered: 3 }).reason).to.equal(
      "3 permissions beyond its declared scopes",
    );
    expect(phaseOf({ ...calm, forbidden: ["secrets-read"] }).reason).to.equal(
      "holds forbidden permissions: secrets-read",
    );
  });
});

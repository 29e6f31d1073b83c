// core/certs: when to renew the webhook's certificates and what the caBundle holds, on a fake clock.
import { expect } from "chai";
import {
  bundleIds,
  planCertificates,
  renewalTime,
  servingProblem,
  validityFor,
  type CertPolicy,
  type CertState,
} from "../../../core/certs/plan.js";

const H = 3_600_000;
const D = 24 * H;
const T0 = Date.parse("2026-01-01T00:00:00Z");
const at = (ms: number): Date => new Date(T0 + ms);

// CA: 90 days, renewed at 2/3 (day 60); serving: 9 days, renewed at 2/3 (day 6); overlap 1 h; no backdate (exact arithmetic).
const P: CertPolicy = {
  caValidityMs: 90 * D,
  servingValidityMs: 9 * D,
  caRenewAt: 2 / 3,
  servingRenewAt: 2 / 3,
  overlapMs: H,
  backdateMs: 0,
};
const NAMES = ["webhook.nhi-system.svc", "127.0.0.1"];

const ca = (
  id: string,
  fromMs: number,
  lifeMs = P.caValidityMs,
): { id: string; notBefore: Date; notAfter: Date } => ({
  id,
  notBefore: at(fromMs),
  notAfter: at(fromMs + lifeMs),
});
const serving = (
  issuer: string | undefined,
  fromMs: number,
  lifeMs = P.servingValidityMs,
  names = NAMES,
): NonNullable<CertState["serving"]> => ({
  notBefore: at(fromMs),
  notAfter: at(fromMs + lifeMs),
  issuer,
  names,
});

const steady: CertState = { signing: ca("A", 0), retired: [], serving: serving("A", 0) };

describe("core/certs planCertificates", () => {
  const cases: {
    name: string;
    state: CertState;
    now: number;
    names?: string[];
    steps: string[];
    reason?: RegExp;
    next?: number;
  }[] = [
    {
      name: "empty Secret: bootstrap a signing CA",
      state: { retired: [] },
      now: 0,
      steps: ["create-signing-ca"],
      reason: /no signing CA/,
    },
    {
      name: "signing CA but no serving cert: issue one",
      state: { signing: ca("A", 0), retired: [] },
      now: 0,
      steps: ["issue-serving"],
      reason: /no serving certificate/,
    },
    {
      name: "fresh: nothing to do, next look at the serving cert's 2/3 mark",
      state: steady,
      now: D,
      steps: [],
      next: 6 * D,
    },
    { name: "serving cert just before 2/3: nothing", state: steady, now: 6 * D - 1, steps: [] },
    {
      name: "serving cert at 2/3: reissue",
      state: steady,
      now: 6 * D,
      steps: ["issue-serving"],
      reason: /67% of its lifetime/,
    },
    {
      name: "serving cert expired: reissue",
      state: steady,
      now: 10 * D,
      steps: ["issue-serving"],
      reason: /expired/,
    },
    {
      name: "serving cert not valid yet (clock went back): reissue",
      state: { ...steady, serving: serving("A", 2 * D) },
      now: D,
      steps: ["issue-serving"],
      reason: /not valid yet/,
    },
    {
      name: "serving cert signed by a foreign CA: reissue",
      state: { ...steady, serving: serving(undefined, 0) },
      now: D,
      steps: ["issue-serving"],
      reason: /not signed by the signing CA/,
    },
    {
      name: "names changed (new Service name): reissue",
      state: steady,
      now: D,
      names: ["other.nhi-system.svc"],
      steps: ["issue-serving"],
      reason: /names/,
    },
    {
      name: "same names in another order: nothing",
      state: steady,
      now: D,
      names: [...NAMES].reverse(),
      steps: [],
    },
    {
      name: "CA at 2/3 of its life: stage a successor",
      state: { ...steady, serving: serving("A", 59 * D) },
      now: 60 * D,
      steps: ["stage-ca"],
      reason: /67% of its lifetime/,
    },
    {
      name: "pending CA inside the overlap: wait until it is an hour old",
      state: { ...steady, pending: ca("B", 60 * D), serving: serving("A", 59 * D) },
      now: 60 * D + H - 1,
      steps: [],
      next: 60 * D + H,
    },
    {
      name: "pending CA past the overlap: promote",
      state: { ...steady, pending: ca("B", 60 * D), serving: serving("A", 59 * D) },
      now: 60 * D + H,
      steps: ["promote-ca"],
    },
    {
      name: "pending CA past the overlap but not in the published caBundle: wait",
      state: {
        ...steady,
        pending: ca("B", 60 * D),
        serving: serving("A", 59 * D),
        published: ["A"],
      },
      now: 60 * D + H,
      steps: [],
    },
    {
      name: "pending CA published: promote",
      state: {
        ...steady,
        pending: ca("B", 60 * D),
        serving: serving("A", 59 * D),
        published: ["A", "B"],
      },
      now: 60 * D + H,
      steps: ["promote-ca"],
    },
    {
      name: "after promotion the serving cert (signed by the retired CA) is reissued; the retired CA stays",
      state: { signing: ca("B", 60 * D), retired: [ca("A", 0)], serving: serving("A", 59 * D) },
      now: 60 * D + H,
      steps: ["issue-serving"],
    },
    {
      name: "retired CA inside the overlap after the switch: kept",
      state: { signing: ca("B", 60 * D), retired: [ca("A", 0)], serving: serving("B", 60 * D + H) },
      now: 60 * D + 2 * H - 1,
      steps: [],
      next: 60 * D + 2 * H,
    },
    {
      name: "retired CA an overlap after the switch: dropped",
      state: { signing: ca("B", 60 * D), retired: [ca("A", 0)], serving: serving("B", 60 * D + H) },
      now: 60 * D + 2 * H,
      steps: ["drop-retired"],
    },
    {
      name: "expired retired CA: dropped",
      state: { signing: ca("B", 60 * D), retired: [ca("A", 0)], serving: serving("B", 89 * D) },
      now: 90 * D,
      steps: ["drop-retired"],
    },
    {
      name: "signing CA expired (operator was off for months): start over",
      state: steady,
      now: 91 * D,
      steps: ["create-signing-ca"],
      reason: /expired/,
    },
    {
      name: "signing CA expired but a pending one is valid: promote it",
      state: { ...steady, pending: ca("B", 60 * D) },
      now: 91 * D,
      steps: ["promote-ca"],
    },
    {
      name: "pending CA expired before promotion: stage a new one",
      state: { ...steady, pending: ca("B", 0, 10 * D), serving: serving("A", 59 * D) },
      now: 60 * D,
      steps: ["stage-ca"],
      reason: /pending CA expired/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planCertificates(c.state, c.names ?? NAMES, at(c.now), P);
      expect(plan.steps.map((s) => s.kind)).to.deep.equal(c.steps);
      if (c.reason) expect(plan.steps[0]?.reason).to.match(c.reason);
      if (c.next !== undefined) expect(plan.nextCheckAt.getTime()).to.equal(T0 + c.next);
      expect(plan.nextCheckAt.getTime()).to.be.at.least(T0 + c.now);
    });
  }

  it("a full year on a fake clock: always a valid serving cert trusted by the bundle, never more than 3 CAs in it", () => {
    // Simulates the edge: apply the steps, then ask again, sleeping until nextCheckAt (capped at a day).
    let ids = 0;
    let s: CertState = { retired: [] };
    let now = 0;
    const history: string[] = [];
    while (now < 400 * D) {
      for (let guard = 0; guard < 6; guard++) {
        const plan = planCertificates(s, NAMES, at(now), P);
        if (plan.steps.length === 0) break;
        for (const step of plan.steps) {
          history.push(step.kind);
          const v = validityFor(at(now), P.caValidityMs, P);
          if (step.kind === "create-signing-ca") s = { ...s, signing: { id: `ca${++ids}`, ...v } };
          if (step.kind === "stage-ca") s = { ...s, pending: { id: `ca${++ids}`, ...v } };
          if (step.kind === "promote-ca" && s.pending)
            s = {
              ...s,
              signing: s.pending,
              pending: undefined,
              retired: s.signing ? [s.signing, ...s.retired] : s.retired,
            };
          if (step.kind === "issue-serving" && s.signing)
            s = {
              ...s,
              serving: {
                ...validityFor(at(now), P.servingValidityMs, P, s.signing),
                issuer: s.signing.id,
                names: NAMES,
              },
            };
          if (step.kind === "drop-retired")
            s = { ...s, retired: s.retired.filter((r) => !step.ids.includes(r.id)) };
        }
      }
      // Invariants after every pass.
      expect(servingProblem(s, NAMES, at(now), P), `at day ${now / D}`).to.equal(undefined);
      const bundle = bundleIds(s, at(now));
      expect(bundle).to.include(s.serving?.issuer);
      expect(bundle.length).to.be.at.most(3);
      const plan = planCertificates(s, NAMES, at(now), P);
      now = Math.min(plan.nextCheckAt.getTime() - T0, now + D);
    }
    expect(history.filter((k) => k === "promote-ca").length).to.equal(6); // a CA every 60 days over 400 days
    expect(history.filter((k) => k === "create-signing-ca").length).to.equal(1);
  });
});

describe("core/certs helpers", () => {
  it("renewalTime is the fraction of the life after issue (notBefore + backdate)", () => {
    expect(renewalTime({ notBefore: at(0), notAfter: at(9 * D) }, 2 / 3, 0).getTime()).to.equal(
      T0 + 6 * D,
    );
    expect(renewalTime({ notBefore: at(-H), notAfter: at(9 * D) }, 2 / 3, H).getTime()).to.equal(
      T0 + 6 * D,
    );
  });
  it("validityFor backdates notBefore and never outlasts the signing CA", () => {
    const v = validityFor(
      at(0),
      30 * D,
      { ...P, backdateMs: 5 * 60_000 },
      { notAfter: at(10 * D) },
    );
    expect(v.notBefore.getTime()).to.equal(T0 - 5 * 60_000);
    expect(v.notAfter.getTime()).to.equal(T0 + 10 * D);
  });
  it("bundleIds: pending first, then signing, then retired; expired ones left out; no duplicates", () => {
    const s: CertState = {
      pending: ca("B", 60 * D),
      signing: ca("A", 0),
      retired: [ca("Z", -100 * D), ca("A", 0)],
    };
    expect(bundleIds(s, at(61 * D))).to.deep.equal(["B", "A"]);
  });
});

// The CLI's validator compiles each CRD schema on the first object of its kind (startup on
// manifests without NHIs skips ajv); its answers must be the eager validator's, case for case.
import { expect } from "chai";
import { loadCrdDocuments } from "../../../crds/load.js";
import { createValidator } from "../../../core/nhi/validate.js";
import { buildCase, NHI_CASES, POLICY_CASES } from "./cases.js";
import { MINIMAL_NHI, MINIMAL_POLICY, ORDERS_API } from "./fixtures.js";

describe("createValidator({ lazy: true })", () => {
  const crds = loadCrdDocuments();
  const eager = createValidator(crds);

  it("gives the eager validator's errors for every invalid case and the valid fixtures", () => {
    const lazy = createValidator(crds, { lazy: true });
    const now = new Date("2026-01-01T00:00:00Z");
    for (const c of [...NHI_CASES, ...POLICY_CASES]) {
      const obj = buildCase(c);
      expect(lazy.validate(obj, { now }), c.name).to.deep.equal(eager.validate(obj, { now }));
    }
    for (const obj of [ORDERS_API, MINIMAL_NHI, MINIMAL_POLICY])
      expect(lazy.validate(obj, { now })).to.deep.equal([]);
  });

  it("validates an NHIPolicy first and an NHI after (each schema compiled on its first use)", () => {
    const lazy = createValidator(crds, { lazy: true });
    expect(lazy.parseNHIPolicy(MINIMAL_POLICY).ok).to.equal(true);
    const broken = { ...MINIMAL_NHI, spec: { ...MINIMAL_NHI.spec, purpose: 7 } };
    expect(lazy.validateNonHumanIdentity(broken).map((e) => e.path)).to.deep.equal(
      eager.validateNonHumanIdentity(broken).map((e) => e.path),
    ).and.not.be.empty;
  });
});

// The ajv code the build compiles from the CRDs (crds/standalone.ts, used by nhictl) must be what
// the CRDs give now, and must judge exactly as the schemas compiled at run time (the webhook's way).
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { loadCrdDocuments } from "../../../crds/load.js";
import {
  BUILT_VALIDATORS,
  builtValidator,
  validatorsModuleSource,
} from "../../../crds/standalone.js";
import { createValidator } from "../../../core/nhi/validate.js";
import { NHI_CASES, POLICY_CASES, buildCase } from "./cases.js";
import { MINIMAL_NHI, MINIMAL_POLICY, NHI_SHAPE, ORDERS_API, POLICY_SHAPE } from "./fixtures.js";

describe("crds/standalone: the CRD validators compiled at build time", () => {
  const crds = loadCrdDocuments();

  it("the built module is what the CRDs generate now (npm run build regenerates it)", () => {
    expect(readFileSync(BUILT_VALIDATORS, "utf8")).to.equal(validatorsModuleSource(crds));
  });

  it("judges every valid and invalid case as the schemas compiled at run time do", () => {
    expect(builtValidator("NonHumanIdentity")).to.be.a("function");
    expect(builtValidator("NHIPolicy")).to.be.a("function");
    const compiled = createValidator(crds);
    const built = createValidator(crds, { lazy: true, precompiled: builtValidator });
    const objects: unknown[] = [
      ORDERS_API,
      MINIMAL_NHI,
      NHI_SHAPE,
      POLICY_SHAPE,
      MINIMAL_POLICY,
      ...[...NHI_CASES, ...POLICY_CASES].map(buildCase),
    ];
    let invalid = 0;
    for (const obj of objects) {
      const expected = compiled.validate(obj);
      if (expected.length > 0) invalid++;
      expect(built.validate(obj), JSON.stringify(obj)).to.deep.equal(expected);
      expect(built.parseNonHumanIdentity(obj)).to.deep.equal(compiled.parseNonHumanIdentity(obj));
      expect(built.parseNHIPolicy(obj)).to.deep.equal(compiled.parseNHIPolicy(obj));
    }
    expect(invalid, "the cases exercise the schema's errors").to.be.greaterThan(20);
  });
});

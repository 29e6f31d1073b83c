import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { loadCrdDocuments, repoRoot } from "../../../crds/load.js";
import { createValidator } from "../../../core/nhi/validate.js";
import { formatFieldError } from "../../../core/nhi/validation.js";
import type { FieldError } from "../../../core/nhi/validation.js";
import type { NHIPolicy, NonHumanIdentity } from "../../../core/nhi/types.js";
import { NHI_CASES, POLICY_CASES, baseObject, buildCase } from "./cases.js";
import type { InvalidCase } from "./cases.js";
import { MINIMAL_NHI, MINIMAL_POLICY, NHI_SHAPE, ORDERS_API, POLICY_SHAPE } from "./fixtures.js";

const validator = createValidator(loadCrdDocuments());
const show = (errors: FieldError[]): string =>
  errors.map(formatFieldError).join("\n") || "(no errors)";

function check(c: InvalidCase): void {
  const obj = buildCase(c);
  const { old, ...rest } = c.options ?? {};
  const options = { ...rest, ...(old ? { oldObject: old } : {}) };
  const errors =
    c.base === "policy"
      ? validator.validateNHIPolicy(obj, options)
      : validator.validateNonHumanIdentity(obj, options);
  const hit = errors.find(
    (e) => e.path === c.path && (e.message.includes(c.expect) || e.fix.includes(c.expect)),
  );
  expect(
    hit,
    `expected an error at ${c.path} mentioning ${JSON.stringify(c.expect)}; got:\n${show(errors)}`,
  ).to.not.equal(undefined);
  if (hit === undefined) return;
  expect(hit.reason, formatFieldError(hit)).to.equal(c.reason);
  expect(hit.fix, "every error says what would be valid").to.be.a("string").and.not.equal("");
  if (hit.reason === "Unsupported")
    expect(hit.allowed?.length ?? 0, "enum errors list the allowed values").to.be.greaterThan(0);
  const expected = new Set([c.path, ...(c.alsoPaths ?? [])]);
  const stray = errors.filter((e) => !expected.has(e.path));
  expect(stray, `unexpected errors:\n${show(stray)}`).to.deep.equal([]);
}

describe("nhi/validate", () => {
  describe("valid objects pass", () => {
    const valid: Array<[string, unknown]> = [
      ["ORDERS_API (every credential type)", ORDERS_API],
      ["MINIMAL_NHI (required fields only)", MINIMAL_NHI],
      ["POLICY_SHAPE (every policy field)", POLICY_SHAPE],
      ["MINIMAL_POLICY (spec: {})", MINIMAL_POLICY],
    ];
    for (const [name, obj] of valid) {
      it(name, () => {
        const errors = validator.validate(obj);
        expect(errors, show(errors)).to.deep.equal([]);
      });
    }

    it("an update that keeps serviceAccountName passes the transition rule", () => {
      const next = baseObject("orders");
      (next.spec as Record<string, unknown>).purpose = "Serves the orders API v2";
      const errors = validator.validateNonHumanIdentity(next, { oldObject: baseObject("orders") });
      expect(errors, show(errors)).to.deep.equal([]);
    });

    it("an identity that expires in the future passes with a clock", () => {
      const errors = validator.validateNonHumanIdentity(ORDERS_API, {
        now: new Date("2026-01-01T00:00:00Z"),
      });
      expect(errors, show(errors)).to.deep.equal([]);
    });

    it("catalogue ids that exist pass", () => {
      const errors = validator.validateNHIPolicy(POLICY_SHAPE, {
        knownRuleIds: new Set(["pods-exec", "nodes-proxy"]),
      });
      expect(errors, show(errors)).to.deep.equal([]);
    });
  });

  describe("manifests/examples/*.yaml validate", () => {
    const dir = join(repoRoot(), "manifests", "examples");
    const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
    it("there are examples of both kinds", () => {
      const kinds = files.flatMap((f) =>
        parseAllDocuments(readFileSync(join(dir, f), "utf8")).map(
          (d) => (d.toJS() as { kind?: string }).kind,
        ),
      );
      expect(kinds).to.include.members(["NonHumanIdentity", "NHIPolicy"]);
    });
    for (const f of files) {
      it(f, () => {
        // YAML 1.1, as kubectl reads it (unquoted Off would be a boolean there).
        for (const doc of parseAllDocuments(readFileSync(join(dir, f), "utf8"), {
          version: "1.1",
        })) {
          expect(doc.errors).to.deep.equal([]);
          const obj: unknown = doc.toJS();
          const errors = validator.validate(obj);
          expect(errors, `${f}:\n${show(errors)}`).to.deep.equal([]);
        }
      });
    }
  });

  describe("invalid NonHumanIdentity: each error names the field and what would be valid", () => {
    for (const c of NHI_CASES) it(c.name, () => check(c));
  });

  describe("invalid NHIPolicy: each error names the field and what would be valid", () => {
    for (const c of POLICY_CASES) it(c.name, () => check(c));
  });

  describe("the validator itself", () => {
    it("applies the CRD's defaults, like the API server", () => {
      const nhi = validator.parseNonHumanIdentity({
        ...MINIMAL_NHI,
        spec: { ...MINIMAL_NHI.spec, workloads: {}, lifetime: { unusedAfter: "720h" } },
      });
      expect(nhi.ok, show(nhi.errors)).to.equal(true);
      if (!nhi.ok) return;
      const spec: NonHumanIdentity["spec"] = nhi.value.spec;
      expect(spec.legacyTokens).to.equal("Forbid");
      expect(spec.enforcement).to.equal("Enforce");
      expect(spec.rollout).to.equal(false);
      expect(spec.suspended).to.equal(false);
      expect(spec.workloads?.automountToken).to.equal(true);
      expect(spec.lifetime?.onExpiry).to.equal("Disable");
      expect(spec.credentials).to.equal(undefined);

      const pol = validator.parseNHIPolicy({
        ...MINIMAL_POLICY,
        spec: { breakGlass: {}, requireChangeRequest: {} },
      });
      expect(pol.ok, show(pol.errors)).to.equal(true);
      if (!pol.ok) return;
      const ps: NHIPolicy["spec"] = pol.value.spec;
      expect(ps.requireClaim).to.equal("Audit");
      expect(ps.unclaimedHighPermissions).to.equal("Audit");
      expect(ps.breakGlass).to.deep.equal({
        annotation: "nhi.io/break-glass",
        reasonAnnotation: "nhi.io/break-glass-reason",
      });
      expect(ps.requireChangeRequest).to.deep.equal({
        enabled: false,
        annotation: "nhi.io/change-request",
      });
    });

    it("does not modify the object it validates", () => {
      const obj = baseObject("minimal");
      const before = JSON.stringify(obj);
      validator.validate(obj);
      validator.parseNonHumanIdentity(obj);
      expect(JSON.stringify(obj)).to.equal(before);
    });

    it("parse returns the errors of an invalid object", () => {
      const r = validator.parseNonHumanIdentity({
        ...MINIMAL_NHI,
        spec: { ...MINIMAL_NHI.spec, enforcement: "Deny" },
      });
      expect(r.ok).to.equal(false);
      expect(r.errors.map((e) => e.path)).to.deep.equal(["spec.enforcement"]);
    });

    it("dispatches on kind and rejects other kinds", () => {
      expect(validator.validate(NHI_SHAPE).some((e) => e.reason === "UnknownField")).to.equal(
        false,
      );
      const errors = validator.validate({
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "x" },
      });
      expect(errors).to.have.length(1);
      expect(errors[0]?.path).to.equal("kind");
      expect(errors[0]?.allowed).to.deep.equal(["NonHumanIdentity", "NHIPolicy"]);
    });

    it("rejects a non-object with an error at the root", () => {
      const errors = validator.validateNonHumanIdentity("orders-api");
      expect(errors).to.have.length(1);
      expect(errors[0]?.path).to.equal("");
      expect(formatFieldError(errors[0] as FieldError)).to.match(/^\(object\): /);
    });

    it("reports a wrong kind on the kind-specific entry point", () => {
      const errors = validator.validateNHIPolicy(ORDERS_API);
      expect(errors.map((e) => e.path)).to.include("kind");
    });

    it("formats errors as path: message (fix: ...)", () => {
      expect(
        formatFieldError({
          path: "spec.x",
          message: "Required value",
          fix: "add x",
          reason: "Required",
        }),
      ).to.equal("spec.x: Required value (fix: add x)");
    });

    it("refuses CRD documents without the kinds", () => {
      expect(() => createValidator([])).to.throw(
        /no CustomResourceDefinition for kind NonHumanIdentity/,
      );
    });

    it("refuses a CRD whose CEL rule has no JavaScript mirror", () => {
      const docs = JSON.parse(JSON.stringify(loadCrdDocuments())) as Array<Record<string, unknown>>;
      const crd = docs.find(
        (d) => (d.spec as { names: { kind: string } }).names.kind === "NonHumanIdentity",
      );
      const spec = (
        crd?.spec as {
          versions: Array<{
            schema: { openAPIV3Schema: { properties: Record<string, Record<string, unknown>> } };
          }>;
        }
      ).versions[0]?.schema.openAPIV3Schema.properties.spec;
      if (spec === undefined) throw new Error("fixture: no spec schema");
      spec["x-kubernetes-validations"] = [{ rule: "self.purpose != 'x'", message: "m" }];
      expect(() => createValidator(docs)).to.throw(
        /spec has no JavaScript mirror.*self.purpose != 'x'/,
      );
    });
  });
});

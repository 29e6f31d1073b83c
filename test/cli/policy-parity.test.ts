// nhictl reads YAML and validates NHIPolicies exactly as the cluster does: YAML 1.1 like kubectl
// (unquoted Off is the boolean false), and the webhook's list of rule ids (ADMISSION_RULE_IDS:
// catalogue ids and check ids) for forbidden/exemptions, so a policy the webhook accepts is never
// rejected by the CLI, and a typo the webhook rejects is rejected here too.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { ADMISSION_RULE_IDS } from "../../core/policy/nhi-write.js";
import { MANIFESTS, checkJson, nhictl } from "./run.js";

const policy = (spec: string): string =>
  `apiVersion: nhi.io/v1alpha1\nkind: NHIPolicy\nmetadata:\n  name: parity\nspec:\n${spec}`;

describe("nhictl reads policies as the cluster does", function () {
  this.timeout(30_000);
  let dir = "";
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "nhictl-policy-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("YAML 1.1: an unquoted Off in a --policy is the boolean false, refused with a hint to quote it (exit 2)", () => {
    const r = nhictl([
      "check",
      `${MANIFESTS}/clean`,
      "--policy",
      file("off.yaml", policy("  requireClaim: Off\n")),
    ]);
    expect(r.code, r.stdout).to.equal(2);
    expect(r.stderr).to.match(/off\.yaml:6: invalid NHIPolicy: spec\.requireClaim/);
    expect(r.stderr).to.match(/quote it as written, e\.g\. "Off"/);
    const quoted = nhictl([
      "check",
      `${MANIFESTS}/clean`,
      "--policy",
      file("quoted.yaml", policy('  requireClaim: "Off"\n')),
    ]);
    expect(quoted.code, quoted.stderr).to.equal(0);
  });

  it("YAML 1.1 in manifests: an NHIPolicy with unquoted Off among them is an nhipolicy-invalid violation at its line", () => {
    const r = checkJson(["-f", "-"], policy("  requireClaim: Off\n"));
    expect(r.code, r.stderr).to.equal(1);
    const v = r.report.violations.find((x) => x.rule === "nhipolicy-invalid");
    expect(v?.message).to.match(/spec\.requireClaim/);
    expect(v?.line).to.equal(6);
  });

  it("every id the webhook accepts (catalogue and check ids) is accepted in forbidden and exemptions", () => {
    const ids = [...ADMISSION_RULE_IDS];
    expect(ids).to.include.members([
      "scope-exceeded",
      "workload-image",
      "nhi-self-widening",
      "pods-exec",
    ]);
    const spec = `  forbidden: [${ids.join(", ")}]\n  exemptions:\n    - { namespaces: [shop], rules: [${ids.join(", ")}], reason: "parity" }\n`;
    const asPolicy = nhictl([
      "check",
      `${MANIFESTS}/clean`,
      "--policy",
      file("ids.yaml", policy(spec)),
    ]);
    expect(asPolicy.code, asPolicy.stderr).to.not.equal(2);
    const inManifests = checkJson(["-f", "-"], policy(spec));
    expect(
      inManifests.report.violations.filter((v) => v.rule === "nhipolicy-invalid"),
    ).to.deep.equal([]);
  });

  it("an id the webhook rejects (a typo) is rejected too, with the nearest id", () => {
    const r = nhictl([
      "check",
      `${MANIFESTS}/clean`,
      "--policy",
      file("typo.yaml", policy("  forbidden: [pods-exce]\n")),
    ]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/spec\.forbidden\[0\]/);
  });
});

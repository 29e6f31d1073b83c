// Output formats: SARIF validated against the vendored SARIF 2.1.0 schema, GitHub annotations,
// text colours only on request, and --help for every command.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import AjvModule from "ajv";
import addFormatsModule from "ajv-formats";
import { expect } from "chai";
import { MANIFESTS, ROOT, nhictl } from "./run.js";

const Ajv = AjvModule.default;
const addFormats = addFormatsModule.default;

function sarifValidator(): ReturnType<InstanceType<typeof Ajv>["compile"]> {
  // Draft-04 schema: its root "id" is draft-07's "$id"; nothing else in it differs for ajv.
  const schema = JSON.parse(
    readFileSync(join(ROOT, "test/fixtures/sarif/sarif-2.1.0-rtm.5.json"), "utf8"),
  ) as Record<string, unknown>;
  const { id, $schema: _draft, ...rest } = schema;
  // unicodeRegExp: false — the schema's language pattern has a stray "]" that only the u flag rejects.
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
  addFormats(ajv);
  return ajv.compile({ ...rest, $id: String(id) });
}

describe("nhictl output formats (process)", function () {
  this.timeout(30_000);

  it("sarif validates against the SARIF 2.1.0 schema, with rules, levels, locations and related locations", () => {
    const validate = sarifValidator();
    for (const dir of ["escalation", "workloads", "clean", "governance"]) {
      const r = nhictl(["check", `${MANIFESTS}/${dir}`, "--format", "sarif"]);
      const sarif: unknown = JSON.parse(r.stdout);
      expect(validate(sarif), `${dir}: ${JSON.stringify(validate.errors?.slice(0, 3))}`).to.equal(
        true,
      );
    }
    const r = nhictl(["check", `${MANIFESTS}/escalation`, "--format", "sarif"]);
    const run = (
      JSON.parse(r.stdout) as {
        runs: {
          tool: { driver: { rules: { id: string; properties: Record<string, unknown> }[] } };
          results: Record<string, unknown>[];
        }[];
      }
    ).runs[0];
    const result = run?.results.find(
      (x) => x.ruleId === "scope-exceeded" && JSON.stringify(x.locations).includes("critical.yaml"),
    );
    expect(result).to.deep.include({
      level: "error",
      locations: [
        {
          physicalLocation: {
            artifactLocation: {
              uri: `${MANIFESTS}/escalation/critical.yaml`,
              uriBaseId: "%SRCROOT%",
            },
            region: { startLine: 16 },
          },
        },
      ],
    });
    expect(
      run?.tool.driver.rules.find((x) => x.id === "wildcard-all-cluster")?.properties[
        "security-severity"
      ],
    ).to.equal("9.5");
    expect(run?.results.some((x) => x.level === "warning")).to.equal(true);
    expect(run?.results.some((x) => Array.isArray(x.relatedLocations))).to.equal(true);
  });

  it("github prints ::error/::warning workflow commands with file and line, escaped", () => {
    const r = nhictl(["check", `${MANIFESTS}/escalation`, "--format", "github"]);
    expect(r.code).to.equal(1);
    const lines = r.stdout.trim().split("\n");
    const err = lines.find((l) => l.startsWith("::error ") && l.includes("wildcard-all-cluster"));
    expect(err).to.match(
      /^::error file=test\/fixtures\/manifests\/escalation\/critical\.yaml,line=2,title=nhictl wildcard-all-cluster \(critical\)%3A ClusterRoleBinding ci-deployer-admin::/,
    );
    expect(err).to.not.match(/\n/);
    expect(err).to.include("%0AFix: ");
    expect(lines.some((l) => l.startsWith("::warning file="))).to.equal(true);
    expect(lines.at(-1)).to.match(/^nhictl: \d+ violations, 2 warnings/);
  });

  it("text groups findings by file with object, file:line, identity, permission, rule and fix; no colour off a terminal", () => {
    const r = nhictl(["check", `${MANIFESTS}/escalation`]);
    expect(r.stdout).to.not.include("\u001b[");
    expect(r.stdout).to.include(
      `${MANIFESTS}/escalation/scope.yaml\n  ✖ high scope-exceeded  RoleBinding shop/orders-runtime  ${MANIFESTS}/escalation/scope.yaml:15`,
    );
    expect(r.stdout).to.include(
      "      identity:   system:serviceaccount:shop:orders-api\n      permission: get secrets in namespace shop\n",
    );
    expect(r.stdout).to.include(
      `      see: ${MANIFESTS}/escalation/scope.yaml:2 (Role shop/orders-runtime defines the permissions)`,
    );
    expect(r.stdout).to.match(
      /^FAIL: \d+ violations, 2 warnings in 11 objects from 4 files \(policy: built-in defaults\)$/m,
    );
  });

  it("json has the documented fields", () => {
    const r = nhictl([
      "check",
      `${MANIFESTS}/escalation/scope.yaml`,
      `${MANIFESTS}/escalation/identities.yaml`,
      "--format",
      "json",
    ]);
    const report = JSON.parse(r.stdout) as {
      violations: Record<string, unknown>[];
      warnings: unknown[];
    };
    expect(report.violations[0]).to.have.all.keys(
      "kind",
      "apiVersion",
      "namespace",
      "name",
      "rule",
      "severity",
      "identity",
      "permission",
      "permissions",
      "message",
      "fix",
      "file",
      "line",
      "related",
    );
  });

  for (const command of ["check", "explain", "inventory"]) {
    it(`${command} --help prints usage and exits 0`, () => {
      const r = nhictl([command, "--help"]);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.match(new RegExp(`^nhictl ${command} — `));
      expect(r.stdout).to.include("Usage:");
    });
  }

  it("nhictl --help lists the commands; no command is a usage error", () => {
    const r = nhictl(["--help"]);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.include("check").and.include("explain").and.include("inventory");
    expect(nhictl([]).code).to.equal(2);
    expect(nhictl(["frobnicate"]).code).to.equal(2);
  });
});

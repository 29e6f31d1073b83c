// nhictl check on a third-party chart, as its consumer reads it: a digest per identity first, one
// block per identity+permission however many bindings grant it, and with --suggest-exemptions an
// NHIPolicy that, passed back with --policy, makes the same check pass.
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { MANIFESTS, nhictl } from "./run.js";

const CHART = `${MANIFESTS}/third-party/chart.yaml`;
const SA = "system:serviceaccount:certs:certs-operator";
const BINDINGS = ["issuers", "clusterissuers", "certificates", "orders", "challenges"].map(
  (c) => `ClusterRoleBinding certs-operator-controller-${c}`,
);

/** The suggestion as a person saves it: from the line "---" to the end. */
const suggestion = (stdout: string): string => stdout.slice(stdout.indexOf("\n---\n") + 1);

describe("nhictl check on a third-party chart (digest, folding, --suggest-exemptions)", function () {
  this.timeout(60_000); // several nhictl processes per test on a shared machine
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "nhictl-adoption-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("starts with one digest line for the identity's cluster-wide secret read, naming all five bindings", () => {
    const r = nhictl(["check", CHART, "--no-color"]);
    expect(r.code).to.equal(1);
    const lines = r.stdout.split("\n");
    expect(lines[0]).to.equal("Identities with critical or high permissions (1)");
    expect(lines[1]).to.equal(`  ${SA}`);
    expect(lines[2]).to.equal(
      `    ✖ critical get secrets cluster-wide [secrets-read-cluster] — 5 objects: ${BINDINGS.join(", ")}`,
    );
  });

  it("prints the five findings as one block that lists the other four places, and keeps the counts", () => {
    const r = nhictl(["check", CHART, "--no-color"]);
    expect(r.stdout).to.include(
      "Violations (5; 1 after folding repeats of one identity and permission)",
    );
    expect(
      r.stdout.match(/✖ critical secrets-read-cluster {2}ClusterRoleBinding/g)?.length,
    ).to.equal(1);
    expect(r.stdout).to.match(
      /the same for 4 more objects, each a place to change: ClusterRoleBinding certs-operator-controller-clusterissuers \(test\/fixtures\/manifests\/third-party\/chart\.yaml:\d+\), /,
    );
    expect(r.stdout).to.include("FAIL: 5 violations, 1 warning in 12 objects from 1 file");
    // Without the option, a consumer is told it exists; nothing is suggested unasked.
    expect(r.stdout).to.include("Run again with --suggest-exemptions");
    expect(r.stdout).to.not.include("kind: NHIPolicy");
  });

  it("json keeps one item per finding and adds the digest (and suggestedPolicy only when asked)", () => {
    const r = nhictl(["check", CHART, "--format", "json"]);
    const doc = JSON.parse(r.stdout) as {
      violations: unknown[];
      digest: { identity: string; permissions: { grantedBy: unknown[] }[] }[];
      suggestedPolicy?: unknown;
    };
    expect(doc.violations.length).to.equal(5);
    expect(doc.digest.map((d) => d.identity)).to.deep.equal([SA]);
    expect(doc.digest[0]?.permissions[0]?.grantedBy.length).to.equal(5);
    expect(doc.suggestedPolicy).to.equal(undefined);
    const asked = JSON.parse(
      nhictl(["check", CHART, "--format", "json", "--suggest-exemptions"]).stdout,
    ) as { suggestedPolicy?: { kind: string } };
    expect(asked.suggestedPolicy?.kind).to.equal("NHIPolicy");
  });

  it("--suggest-exemptions ends with an NHIPolicy that, saved as printed and passed with --policy, makes the check pass", () => {
    const r = nhictl(["check", CHART, "--no-color", "--suggest-exemptions"]);
    expect(r.code).to.equal(1);
    const yamlText = suggestion(r.stdout);
    const policy = parse(yamlText) as {
      kind: string;
      spec: { exemptions: { serviceAccounts: string[]; rules: string[]; expiresAt: string }[] };
    };
    expect(policy.kind).to.equal("NHIPolicy");
    expect(policy.spec.exemptions.map((e) => [e.serviceAccounts, e.rules])).to.deep.equal([
      [["certs/certs-operator"], ["secrets-read-cluster"]],
    ]);
    expect(yamlText).to.match(/expiresAt: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/);
    const file = join(dir, "adopt.yaml");
    writeFileSync(file, yamlText);
    const accepted = nhictl(["check", CHART, "--no-color", "--policy", file]);
    expect(accepted.code, accepted.stdout + accepted.stderr).to.equal(0);
    expect(accepted.stdout).to.include("allowed by NHIPolicy adopt-certs exemption");
    // It accepts exactly what was found: one more binding with another critical permission still fails.
    const more = join(dir, "more.yaml");
    writeFileSync(
      more,
      [
        "apiVersion: rbac.authorization.k8s.io/v1",
        "kind: ClusterRoleBinding",
        "metadata: { name: extra }",
        "roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }",
        "subjects: [{ kind: ServiceAccount, name: certs-operator, namespace: certs }]",
        "",
      ].join("\n"),
    );
    const wider = nhictl(["check", CHART, more, "--no-color", "--policy", file]);
    expect(wider.code).to.equal(1);
  });

  it("passes on the project's own install manifest (the chart with default values): the chart's NHIPolicy exempts its NHI's critical scope too", () => {
    // The chart's NHI declares the cluster-wide Secret read its RBAC needs; the webhook and nhictl judge
    // that declaration as nhi-critical-scope, so the chart's exemption must name that rule as well.
    const r = nhictl(["check", "manifests/install.yaml", "--no-color"]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^PASS: 0 violations, /m);
    expect(r.stdout).to.not.match(/^Violations/m);
  });
});

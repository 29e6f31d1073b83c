// README's statements about which e2e tests skip are a contract with the developer who runs them
// elsewhere: every suite that can skip against an existing cluster (E2E_KUBECONFIG) or on partial
// binaries (KUBEBUILDER_ASSETS) is named in the README bullet for that case.
import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../../crds/load.js";
import { summarize } from "../../../e2e/harness/summary.js";

const SUITES = join(repoRoot(), "e2e", "suites");

/** The text of README's bullet that starts with `marker`, up to the next top-level bullet. */
function readmeBullet(marker: string): string {
  const readme = readFileSync(join(repoRoot(), "README.md"), "utf8");
  const start = readme.indexOf(marker);
  expect(start, `README.md has no bullet starting with ${marker}`).to.be.greaterThan(-1);
  const end = readme.indexOf("\n- **", start + marker.length);
  return readme.slice(start, end === -1 ? undefined : end);
}

/** A skip whose only condition is a plane without kube-controller-manager (KUBEBUILDER_ASSETS). */
const CONTROLLERS_ONLY = /if \(!\S*hasControllers\) this\.skip\(\)/;

/** Suites (file stems) whose text can skip, classified by the case that makes them skip. */
function skippingSuites(): { existingCluster: string[]; partialBinaries: string[] } {
  const existingCluster: string[] = [];
  const partialBinaries: string[] = [];
  for (const file of readdirSync(SUITES).filter((f) => f.endsWith(".e2e.ts"))) {
    const suite = file.slice(0, -".e2e.ts".length);
    const text = readFileSync(join(SUITES, file), "utf8");
    const skipLines = text.split("\n").filter((l) => /this\.skip\(\)/.test(l));
    if (
      /skipUnlessLocalApiServer\(|useRegisteredWebhook\(|startRegisteredWebhook\(/.test(text) ||
      skipLines.some((l) => !CONTROLLERS_ONLY.test(l))
    )
      existingCluster.push(suite);
    // useOperator() skips the suite without controllers (e2e/suites/reconcilers-helpers.ts).
    if (/useOperator\(\)/.test(text) || skipLines.some((l) => /hasControllers/.test(l)))
      partialBinaries.push(suite);
  }
  return { existingCluster, partialBinaries };
}

describe("README: which e2e tests skip outside the project's own plane", function () {
  const suites = skippingSuites();

  it("finds the suites that can skip (the scan itself works)", () => {
    expect(suites.existingCluster).to.include.members(["webhook", "audit-sink", "demo"]);
    expect(suites.partialBinaries).to.include.members(["rotation", "crds"]);
  });

  it("names every suite that can skip against an existing cluster in the E2E_KUBECONFIG bullet", () => {
    const bullet = readmeBullet("- **`E2E_KUBECONFIG=");
    const missing = suites.existingCluster.filter((s) => !bullet.includes(`\`${s}\``));
    expect(
      missing,
      "suites that skip against E2E_KUBECONFIG but README does not name",
    ).to.deep.equal([]);
  });

  it("names every suite that skips without kube-controller-manager in the KUBEBUILDER_ASSETS bullet", () => {
    const bullet = readmeBullet("- **`KUBEBUILDER_ASSETS=");
    const missing = suites.partialBinaries.filter((s) => !bullet.includes(`\`${s}\``));
    expect(missing, "suites that skip on partial binaries but README does not name").to.deep.equal(
      [],
    );
  });

  it("the e2e run fails on a committed .only (it would silently run one test instead of all)", () => {
    const config = JSON.parse(
      readFileSync(join(repoRoot(), "e2e", ".mocharc.json"), "utf8"),
    ) as Record<string, unknown>;
    expect(config["forbid-only"]).to.equal(true);
  });
});

describe("make e2e's verdict on skips (e2e/harness/summary.ts)", () => {
  const none = { passed: 0, failed: 0 };
  const skippedRun = (completePlane: boolean | undefined) => ({
    passed: 3,
    failed: 0,
    skipped: 1,
    skippedTitles: ["suite a test"],
    ...(completePlane === undefined ? {} : { completePlane }),
  });

  it("fails a run with a skip on the project's complete plane, whatever KUBEBUILDER_ASSETS says", () => {
    // KUBEBUILDER_ASSETS with every binary is a complete plane: its skips used to be allowed.
    const s = summarize(skippedRun(true), none, 0);
    expect(s.exitCode).to.equal(1);
    expect(s.lines.join("\n")).to.include("a skip on the project's complete plane is a failure");
    expect(s.lines.join("\n")).to.include("  - suite a test");
    expect(s.lines.at(-1)).to.equal("e2e: 3 passed, 0 failed, 1 skipped");
  });

  it("allows and lists skips on a partial plane or another cluster", () => {
    const s = summarize(skippedRun(false), { passed: 4, failed: 0 }, 0);
    expect(s.exitCode).to.equal(0);
    expect(s.lines.join("\n")).to.include("allowed only because the plane is partial");
    expect(s.lines.at(-1)).to.equal("e2e: 7 passed, 0 failed, 1 skipped");
  });

  it("counts a run that failed outside any test as one failure, and keeps its exit code", () => {
    expect(summarize({}, none, 3)).to.deep.equal({
      lines: ["e2e: 0 passed, 1 failed, 0 skipped"],
      exitCode: 3,
    });
    expect(summarize(skippedRun(undefined), none, 0).exitCode, "unknown plane: strict").to.equal(1);
  });
});

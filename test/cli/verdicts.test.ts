// The CLI half of the shared verdict fixtures (test/fixtures/verdicts/README.md): the prefix passes,
// and the whole set gets the expected verdict with the expected rules.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { ROOT, VERDICTS, checkJson } from "./run.js";

const POLICY = `${VERDICTS}/cli-defaults.policy.yaml`;

describe("shared verdict fixtures: nhictl check", function () {
  this.timeout(30_000);
  const files = readdirSync(join(ROOT, VERDICTS))
    .filter((f) => /\.(pass|fail)\.yaml$/.test(f))
    .sort();

  it("has both kinds of fixture", () => {
    expect(files.filter((f) => f.endsWith(".pass.yaml"))).to.not.be.empty;
    expect(files.filter((f) => f.endsWith(".fail.yaml"))).to.not.be.empty;
  });

  for (const file of files) {
    it(file, () => {
      const text = readFileSync(join(ROOT, VERDICTS, file), "utf8");
      const header = /^# expect: (allow|deny)((?: [a-z0-9-]+)*)\s*$/m.exec(text);
      expect(
        header,
        "first line must be '# expect: allow' or '# expect: deny <rule>...'",
      ).to.not.equal(null);
      const deny = header?.[1] === "deny";
      const rules = (header?.[2] ?? "")
        .trim()
        .split(/\s+/)
        .filter((x) => x !== "");
      expect(deny).to.equal(file.endsWith(".fail.yaml"));

      const docs = text.split(/^---$/m);
      const prefix = checkJson(["-f", "-", "--policy", POLICY], docs.slice(0, -1).join("---"));
      expect(
        prefix.code,
        `prefix must pass: ${JSON.stringify(prefix.report.violations.map((v) => v.message))}`,
      ).to.equal(0);

      const all = checkJson([`${VERDICTS}/${file}`, "--policy", POLICY]);
      expect(all.code, JSON.stringify(all.report.violations.map((v) => v.rule))).to.equal(
        deny ? 1 : 0,
      );
      expect(all.report.violations.map((v) => v.rule)).to.include.members(rules);
    });
  }
});

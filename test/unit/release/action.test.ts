// action.yml (the composite GitHub Action): every input reaches nhictl as a flag nhictl has, and the
// check step's script, run here against the real nhictl, passes, fails and reports as the inputs say.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { CLI, ROOT, nhictl } from "../../cli/run.js";
import { FORMATS } from "../../../cli/format.js";

interface Step {
  id?: string;
  uses?: string;
  run?: string;
  shell?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}
interface Action {
  inputs: Record<string, { description: string; default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Step[] };
}

const action = parse(readFileSync(join(ROOT, "action.yml"), "utf8")) as Action;
const script = readFileSync(join(ROOT, "scripts", "action-check.sh"), "utf8");
const checkStep = (): Step => {
  const s = action.runs.steps.find((x) => x.id === "check");
  if (!s) throw new Error("action.yml has no step with id check");
  return s;
};
/** Inputs that configure the action's own steps rather than nhictl. */
const ACTION_ONLY: Record<string, RegExp> = {
  "node-version": /^actions\/setup-node@/,
  "sarif-category": /^github\/codeql-action\/upload-sarif@/,
};

/** The flags `nhictl check --help` documents (nhictl's parser is strict: anything else is exit 2). */
function checkFlags(): string[] {
  const help = nhictl(["check", "--help"]);
  expect(help.code).to.equal(0);
  return [...help.stdout.matchAll(/^\s+(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1] ?? "");
}

describe("GitHub Action (action.yml)", function () {
  this.timeout(60_000);

  it("is a composite action whose every input is used, and only declared inputs are used", () => {
    expect(action.runs.using).to.equal("composite");
    const text = JSON.stringify(action.runs.steps);
    const used = new Set([...text.matchAll(/inputs\.([a-z-]+)/g)].map((m) => m[1]));
    expect([...used].sort()).to.deep.equal(Object.keys(action.inputs).sort());
    for (const [name, input] of Object.entries(action.inputs))
      expect(input.description, name).to.be.a("string").and.not.empty;
  });

  it("maps each nhictl input through the check step's environment to a real nhictl check flag", () => {
    const flags = checkFlags();
    expect(flags).to.include.members([
      "--filename",
      "--policy",
      "--namespace",
      "--strict",
      "--format",
    ]);
    const env = checkStep().env ?? {};
    for (const [name] of Object.entries(action.inputs)) {
      if (ACTION_ONLY[name]) {
        const step = action.runs.steps.find((s) =>
          JSON.stringify(s.with ?? {}).includes(`inputs.${name}`),
        );
        expect(step?.uses, `${name} configures ${String(ACTION_ONLY[name])}`).to.match(
          ACTION_ONLY[name],
        );
        continue;
      }
      const variable = Object.entries(env).find(([, v]) => v === `\${{ inputs.${name} }}`)?.[0];
      expect(variable, `input ${name} is passed to the check step`).to.be.a("string");
      // Every line of the script that reads the variable (directly or through the array it fills) adds flags nhictl has.
      const lines = script
        .split("\n")
        .filter((l) => l.includes(`$${variable}`) || l.includes(`\${${variable}`));
      expect(lines, `scripts/action-check.sh reads ${variable}`).to.not.be.empty;
      const added = [...script.matchAll(/args\+=\(([^)]*)\)/g)].flatMap((m) =>
        [...(m[1] ?? "").matchAll(/--[a-z-]+/g)].map((f) => f[0]),
      );
      for (const f of added) expect(flags, `scripts/action-check.sh passes ${f}`).to.include(f);
    }
    // format's two values are nhictl formats.
    const formats = [...script.matchAll(/--format (\w+)/g)].map((m) => m[1]);
    expect(formats).to.include.members(["github", "sarif"]);
    for (const f of formats) expect(FORMATS as readonly string[]).to.include(f);
  });

  describe("the check step against the real nhictl", () => {
    let dir = "";
    before(() => {
      dir = mkdtempSync(join(tmpdir(), "nhi-action-"));
      chmodSync(CLI, 0o755);
      symlinkSync(CLI, join(dir, "nhictl"));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    const run = (
      inputs: Record<string, string>,
    ): { code: number; stdout: string; outputs: Record<string, string> } => {
      const out = join(dir, `output-${Math.random().toString(36).slice(2)}`);
      writeFileSync(out, "");
      const env: Record<string, string> = {
        PATH: `${dir}:${process.env.PATH ?? ""}`,
        HOME: process.env.HOME ?? "",
        KUBECONFIG: "/nonexistent",
        GITHUB_OUTPUT: out,
        RUNNER_TEMP: dir,
      };
      for (const [k, v] of Object.entries(checkStep().env ?? {})) {
        const input = /inputs\.([a-z-]+)/.exec(v)?.[1] ?? "";
        env[k] = inputs[input] ?? action.inputs[input]?.default ?? "";
      }
      const r = spawnSync("bash", [join(ROOT, "scripts", "action-check.sh")], {
        cwd: ROOT,
        env,
        encoding: "utf8",
        timeout: 30_000,
      });
      const outputs = Object.fromEntries(
        readFileSync(out, "utf8")
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((l) => l.split("=", 2) as [string, string]),
      );
      return { code: r.status ?? -1, stdout: r.stdout + r.stderr, outputs };
    };

    it("annotations: an escalation fails with ::error annotations; clean manifests pass", () => {
      const bad = run({
        paths:
          "test/fixtures/manifests/escalation/scope.yaml\ntest/fixtures/manifests/escalation/identities.yaml",
      });
      expect(bad.code, bad.stdout).to.equal(1);
      expect(bad.stdout).to.match(
        /^::error file=test\/fixtures\/manifests\/escalation\/scope\.yaml,line=\d+/m,
      );
      expect(bad.outputs["exit-code"]).to.equal("1");
      const good = run({ paths: "test/fixtures/manifests/clean" });
      expect(good.code, good.stdout).to.equal(0);
    });

    it("sarif: writes a SARIF 2.1.0 report and names it in the step outputs, also when the check fails", () => {
      const r = run({ paths: "test/fixtures/manifests/escalation", format: "sarif" });
      expect(r.code, r.stdout).to.equal(1);
      const sarif = JSON.parse(readFileSync(r.outputs["sarif-file"] ?? "", "utf8")) as {
        version: string;
        runs: { results: unknown[] }[];
      };
      expect(sarif.version).to.equal("2.1.0");
      expect(sarif.runs[0]?.results).to.not.be.empty;
    });

    it("policy, namespace and strict reach nhictl: each turns an unclaimed ServiceAccount into a named violation", () => {
      const unclaimed = "test/fixtures/manifests/unclaimed";
      expect(run({ paths: unclaimed }).code).to.equal(0);
      const strict = run({ paths: unclaimed, strict: "true", namespace: "shop" });
      expect(strict.code, strict.stdout).to.equal(1);
      expect(strict.stdout).to.include("ServiceAccount shop/metrics-scraper");
      const policy = join(dir, "enforce.yaml");
      writeFileSync(
        policy,
        "apiVersion: nhi.io/v1alpha1\nkind: NHIPolicy\nmetadata: { name: enforce }\nspec: { requireClaim: Enforce }\n",
      );
      const enforced = run({
        paths: unclaimed,
        policy: `manifests/examples/nhipolicy-default.yaml\n${policy}`,
      });
      expect(enforced.code, enforced.stdout).to.equal(1);
      const missingPolicy = run({ paths: unclaimed, policy: "no/such/policy.yaml" });
      expect(missingPolicy.code).to.equal(2);
      expect(missingPolicy.stdout).to.include("no/such/policy.yaml");
    });

    it("a wrong input is exit 2 naming the input", () => {
      for (const [inputs, msg] of [
        [{ format: "html" }, /input format is annotations or sarif/],
        [{ strict: "yes" }, /input strict is true or false/],
        [{ paths: " " }, /input paths is empty/],
      ] as const) {
        const r = run(inputs);
        expect(r.code, JSON.stringify(inputs)).to.equal(2);
        expect(r.stdout).to.match(msg);
      }
    });
  });
});

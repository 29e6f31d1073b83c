// The layering rules (eslint.layers.js) fail on a wrong import: each rule is run through ESLint's API
// on a small file at a path in its layer, and must report the rule by name; the same file with an
// allowed import must pass, so a rule that forbids everything would fail here too.
import { expect } from "chai";
import { ESLint } from "eslint";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "../../../crds/load.js";

interface Case {
  rule: string;
  file: string;
  bad: string;
  good: string;
}

// One wrong import per rule, from a file placed where the rule applies, and an allowed one beside it.
const CASES: Case[] = [
  {
    rule: "core-imports-no-edge",
    file: "core/rbac/layer-probe.ts",
    bad: "../../operator/k8s/rest.js",
    good: "../json.js",
  },
  {
    rule: "core-imports-no-edge",
    file: "core/layer-probe.ts",
    bad: "../edge/log.js",
    good: "./json.js",
  },
  {
    rule: "shared-edge-imports-no-caller",
    file: "edge/layer-probe.ts",
    bad: "../webhooks/handler.js",
    good: "../core/json.js",
  },
  {
    rule: "shared-edge-imports-no-caller",
    file: "crds/layer-probe.ts",
    bad: "../operator/k8s/rest.js",
    good: "../core/json.js",
  },
  {
    rule: "adapter-imports-no-caller",
    file: "operator/k8s/layer-probe.ts",
    bad: "../controllers/index.js",
    good: "./rest.js",
  },
  {
    rule: "adapter-imports-no-caller",
    file: "operator/k8s/cache/layer-probe.ts",
    bad: "../../main.js",
    good: "../informer.js",
  },
  {
    rule: "adapter-imports-no-caller",
    file: "operator/k8s/layer-probe.ts",
    bad: "../../webhooks/config.js",
    good: "../../edge/log.js",
  },
  {
    rule: "controllers-use-core-and-adapter",
    file: "operator/controllers/inventory/layer-probe.ts",
    bad: "../../../webhooks/config.js",
    good: "../../k8s/rest.js",
  },
  {
    rule: "controllers-use-core-and-adapter",
    file: "operator/certs/layer-probe.ts",
    bad: "../reconcilers.js",
    good: "../k8s/rest.js",
  },
  {
    rule: "webhook-imports-no-operator-or-cli",
    file: "webhooks/checks/layer-probe.ts",
    bad: "../../operator/controllers/index.js",
    good: "../../operator/k8s/cache/view.js",
  },
  {
    rule: "webhook-imports-no-operator-or-cli",
    file: "webhooks/layer-probe.ts",
    bad: "../cli/check.js",
    good: "../core/json.js",
  },
  {
    rule: "cli-imports-no-webhook-or-operator",
    file: "cli/layer-probe.ts",
    bad: "../webhooks/handler.js",
    good: "../operator/k8s/rest.js",
  },
  {
    rule: "cli-imports-no-webhook-or-operator",
    file: "cli/layer-probe.ts",
    bad: "../operator/main.js",
    good: "../crds/load.js",
  },
  {
    rule: "composition-root-imports-no-cli",
    file: "operator/layer-probe.ts",
    bad: "../cli/main.js",
    good: "../webhooks/handler.js",
  },
  {
    rule: "normalized-imports",
    file: "operator/k8s/layer-probe.ts",
    bad: "../k8s/../controllers/index.js",
    good: "./queue.js",
  },
];

const source = (from: string): string =>
  `import { probe } from "${from}";\nexport const used = probe;\n`;

describe("layering rules (eslint.layers.js)", function () {
  this.timeout(120_000);
  const root = repoRoot();
  let eslint: ESLint;
  let rulesInConfig: string[];

  before(async () => {
    eslint = new ESLint({ cwd: root });
    const layers = (await import(pathToFileURL(join(root, "eslint.layers.js")).href)) as {
      LAYERS: { rule: string }[];
    };
    rulesInConfig = [...new Set(layers.LAYERS.map((l) => l.rule))];
  });

  const messagesFor = async (file: string, from: string): Promise<string[]> => {
    const [result] = await eslint.lintText(source(from), { filePath: join(root, file) });
    return (result?.messages ?? [])
      .filter((m) => m.ruleId === "no-restricted-imports")
      .map((m) => m.message);
  };

  for (const c of CASES) {
    it(`${c.rule}: ${c.file} importing ${c.bad} fails, naming the rule; importing ${c.good} passes`, async () => {
      const bad = await messagesFor(c.file, c.bad);
      expect(bad, "the wrong import is reported").to.have.length(1);
      expect(bad[0]).to.include(`layering rule '${c.rule}'`);
      expect(await messagesFor(c.file, c.good), "the allowed import passes").to.deep.equal([]);
    });
  }

  it("core stays pure: a node: import fails with the purity message", async () => {
    const bad = await messagesFor("core/layer-probe.ts", "node:fs");
    expect(bad).to.have.length(1);
    expect(bad[0]).to.include("core/ is pure");
  });

  it("every rule of the table has a case above that makes it fail", () => {
    const tested = new Set(CASES.map((c) => c.rule));
    expect(rulesInConfig.filter((r) => !tested.has(r))).to.deep.equal([]);
  });
});

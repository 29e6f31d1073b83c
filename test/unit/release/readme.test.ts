// The configuration reference: every value the chart accepts (values.schema.json, which values.yaml
// must follow) has a row in the chart README's values table, under its full path.
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { CHART_DIR } from "../../../e2e/harness/chart.js";

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  additionalProperties?: unknown;
}

/** Paths of the values the schema names: it is descended where it fixes the keys (additionalProperties: false). */
export function valuePaths(node: SchemaNode, prefix = ""): string[] {
  if (!node.properties || node.additionalProperties !== false) return [prefix];
  return Object.entries(node.properties).flatMap(([k, v]) =>
    valuePaths(v, prefix ? `${prefix}.${k}` : k),
  );
}

function valuesKeys(value: unknown, prefix = ""): string[] {
  if (
    value === null ||
    typeof value !== "object" ||
    Array.isArray(value) ||
    Object.keys(value).length === 0
  )
    return [prefix];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => [
    prefix ? `${prefix}.${k}` : k,
    ...valuesKeys(v, prefix ? `${prefix}.${k}` : k),
  ]);
}

describe("chart configuration reference (charts/nhi-operator/README.md)", () => {
  const schema = JSON.parse(
    readFileSync(join(CHART_DIR, "values.schema.json"), "utf8"),
  ) as SchemaNode;
  // `global` is Helm's (subcharts' shared values), not the chart's.
  const paths = valuePaths(schema).filter((p) => p !== "global");

  it("valuePaths descends only where the schema closes the keys", () => {
    expect(
      valuePaths({
        properties: {
          a: { properties: { b: {} }, additionalProperties: false },
          c: { properties: { d: {} } },
        },
        additionalProperties: false,
      }),
    ).to.deep.equal(["a.b", "c"]);
  });

  it("every value of values.yaml is one the schema names (or lies inside a free-form one)", () => {
    const values = parse(readFileSync(join(CHART_DIR, "values.yaml"), "utf8")) as unknown;
    const stray = valuesKeys(values).filter(
      (k) =>
        k !== "" && !paths.some((p) => p === k || k.startsWith(`${p}.`) || p.startsWith(`${k}.`)),
    );
    expect(stray).to.deep.equal([]);
  });

  it("every value has a row in the README's values table, by its full path", () => {
    const readme = readFileSync(join(CHART_DIR, "README.md"), "utf8");
    const firstCells = readme
      .split("\n")
      .filter((l) => l.startsWith("| `"))
      .map((l) => l.split("|")[1] ?? "");
    const documented = new Set(
      firstCells.flatMap((c) => [...c.matchAll(/`([A-Za-z.]+)`/g)].map((m) => m[1])),
    );
    expect(paths.filter((p) => !documented.has(p))).to.deep.equal([]);
  });
});

// core/ has no import cycles, type-only imports included: two modules that import each other are
// one concern split wrongly (validate.ts and checks.ts did, over FieldError; the types now live in
// core/nhi/validation.ts). The graph is read from the sources as text, the way a reader follows it.
import { expect } from "chai";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { repoRoot } from "../../../crds/load.js";

/** Every .ts file under `dir`, as absolute paths. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith(".ts") ? [p] : [];
  });
}

/** A file's relative imports (`import …` and `export … from`), resolved to .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)\.js"/gms)].map((m) =>
    resolve(dirname(file), `${m[1] as string}.ts`),
  );
}

/** One cycle in the graph, as a list of files from and back to its first; undefined when none. */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === "done") return undefined;
    if (state.get(n) === "open") return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, "open");
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      const cycle = visit(m);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(n, "done");
    return undefined;
  };
  for (const n of graph.keys()) {
    const cycle = visit(n);
    if (cycle) return cycle;
  }
  return undefined;
}

describe("core/ import graph", () => {
  it("finds a cycle where one exists (the check can fail)", () => {
    const g = new Map([
      ["validate.ts", ["checks.ts", "schema.ts"]],
      ["checks.ts", ["names.ts", "validate.ts"]],
      ["schema.ts", []],
      ["names.ts", []],
    ]);
    expect(findCycle(g)).to.deep.equal(["validate.ts", "checks.ts", "validate.ts"]);
    g.set("checks.ts", ["names.ts"]);
    expect(findCycle(g)).to.equal(undefined);
  });

  it("has no import cycle", () => {
    const root = join(repoRoot(), "core");
    const graph = new Map(sources(root).map((f) => [f, importsOf(f)]));
    const cycle = findCycle(graph);
    expect(
      cycle?.map((f) => relative(repoRoot(), f)),
      "modules that import each other: move what both need into a module of its own",
    ).to.equal(undefined);
  });
});

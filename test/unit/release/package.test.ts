// The npm package: what `npm pack` ships and what the shipped code may import. The tarball itself is
// built, installed and run by scripts/package-check.sh (make check-package); this keeps the rules
// that script relies on checkable without a registry.
import { expect } from "chai";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { repoRoot } from "../../../crds/load.js";

/** The folders whose code is shipped (dist/<dir>): everything else in the repository is development only. */
export const RUNTIME_DIRS = ["core", "operator", "webhooks", "cli", "crds", "edge"] as const;
/** Compiled too, never shipped (package.json files excludes them). */
const DEVELOPMENT_DIRS = ["test", "e2e", "bench"] as const;

interface PackageJson {
  bin: Record<string, string>;
  files: string[];
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}
const pkg = (): PackageJson =>
  JSON.parse(readFileSync(join(repoRoot(), "package.json"), "utf8")) as PackageJson;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** Every module specifier a source file imports: static imports, re-exports and import("…"). */
export function importSpecifiers(source: string): string[] {
  const found = [
    ...source.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+["']([^"']+)["']/gms),
    ...source.matchAll(/^\s*import\s+["']([^"']+)["']/gm),
    ...source.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
  ];
  return found.map((m) => m[1] ?? "");
}

/** The npm package a bare specifier names ("@scope/name/sub" → "@scope/name"); undefined for relative paths and node builtins. */
function packageOf(specifier: string): string | undefined {
  if (
    specifier.startsWith(".") ||
    specifier.startsWith("node:") ||
    builtinModules.includes(specifier)
  )
    return undefined;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

describe("npm package", () => {
  it("importSpecifiers finds static, side-effect, re-export and dynamic imports", () => {
    expect(
      importSpecifiers(
        `import { a } from "x";\nimport type { B } from '@s/y/z';\nimport "side";\nexport { c } from "./c.js";\nconst m = await import("dyn");`,
      ),
    ).to.have.members(["x", "@s/y/z", "side", "./c.js", "dyn"]);
  });

  it("shipped code imports only runtime dependencies and node builtins, never a devDependency or development code", () => {
    const { dependencies, devDependencies } = pkg();
    const root = repoRoot();
    const problems: string[] = [];
    for (const dir of RUNTIME_DIRS) {
      for (const file of tsFiles(join(root, dir))) {
        const rel = relative(root, file);
        for (const spec of importSpecifiers(readFileSync(file, "utf8"))) {
          const name = packageOf(spec);
          if (name !== undefined && !(name in dependencies)) {
            problems.push(
              `${rel} imports ${spec}: ${name in devDependencies ? "a devDependency (move it to dependencies or drop the import)" : "not a dependency"}`,
            );
          }
          if (spec.startsWith(".")) {
            const target = relative(root, join(file, "..", spec));
            if (!RUNTIME_DIRS.some((d) => target.startsWith(`${d}/`)))
              problems.push(`${rel} imports ${spec} (${target}), which the package does not ship`);
          }
        }
      }
    }
    expect(problems).to.deep.equal([]);
  });

  it("every folder tsconfig compiles is either shipped or development-only (a new folder must be classified here)", () => {
    const tsconfig = JSON.parse(readFileSync(join(repoRoot(), "tsconfig.json"), "utf8")) as {
      include: string[];
    };
    const dirs = tsconfig.include.map((glob) => glob.split("/")[0]);
    expect([...dirs].sort()).to.deep.equal([...RUNTIME_DIRS, ...DEVELOPMENT_DIRS].sort());
  });

  it("files ships dist/ without tests, e2e or bench, the CRD YAML and the README; prepack builds; the bin is shipped", () => {
    const { files, scripts, bin } = pkg();
    expect(files).to.include.members([
      "dist/",
      ...DEVELOPMENT_DIRS.map((d) => `!dist/${d}/`),
      "crds/*.yaml",
      "README.md",
    ]);
    expect(scripts.prepack).to.match(/npm run build$/);
    for (const target of Object.values(bin))
      expect(target).to.match(new RegExp(`^dist/(${RUNTIME_DIRS.join("|")})/`));
  });
});

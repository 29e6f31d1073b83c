import { expect } from "chai";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseAllDocuments } from "yaml";
import {
  BUILT_CRD_DOCUMENTS,
  CRD_FILES,
  crdDirectory,
  loadBuiltCrdDocuments,
  loadCrdDocuments,
  repoRoot,
} from "../../../crds/load.js";

describe("crds/load", () => {
  it("finds the repository's crds/ folder from the compiled module", () => {
    expect(basename(crdDirectory())).to.equal("crds");
    for (const f of CRD_FILES) expect(existsSync(join(crdDirectory(), f)), f).to.equal(true);
    expect(existsSync(join(repoRoot(), "package.json"))).to.equal(true);
  });

  it("parses both CRDs", () => {
    const names = loadCrdDocuments().map(
      (d) => (d as { metadata: { name: string } }).metadata.name,
    );
    expect(names).to.have.members(["nonhumanidentities.nhi.io", "nhipolicies.nhi.io"]);
  });

  it("the build's JSON copy of the CRDs (what nhictl reads) is the CRDs' YAML, parsed", () => {
    expect(existsSync(BUILT_CRD_DOCUMENTS), "npm run build writes it").to.equal(true);
    expect(loadBuiltCrdDocuments()).to.deep.equal(loadCrdDocuments());
  });

  it("reads any folder of YAML documents; a missing folder throws", () => {
    expect(loadCrdDocuments(join(repoRoot(), "manifests", "examples")).length).to.be.greaterThan(0);
    expect(() => loadCrdDocuments(join(repoRoot(), "no-such-folder"))).to.throw(/ENOENT/);
  });

  it("CRDs and examples read the same in YAML 1.1 (kubectl) and YAML 1.2", () => {
    const dirs = [crdDirectory(), join(repoRoot(), "manifests", "examples")];
    for (const dir of dirs) {
      for (const f of readdirSync(dir).filter((x) => x.endsWith(".yaml"))) {
        const text = readFileSync(join(dir, f), "utf8");
        const v11 = parseAllDocuments(text, { version: "1.1" }).map((d) => d.toJS() as unknown);
        const v12 = parseAllDocuments(text, { version: "1.2" }).map((d) => d.toJS() as unknown);
        expect(v11, `${f}: quote values such as Off, yes, no`).to.deep.equal(v12);
      }
    }
  });
});

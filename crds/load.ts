// Reads the CRD YAML files (the API contract) for the validator and the e2e harness. An edge helper:
// core/ stays pure and receives the parsed documents.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

export const CRD_FILES = ["nonhumanidentities.nhi.io.yaml", "nhipolicies.nhi.io.yaml"] as const;

/**
 * The repository's crds/ folder, found from this module's location: crds/load.ts when run from source,
 * dist/crds/load.js when compiled (tsc does not copy YAML into dist/, so look back up to the repo).
 */
export function crdDirectory(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [here, resolve(here, "../../crds"), resolve(here, "../crds")];
  const found = candidates.find((d) => existsSync(join(d, CRD_FILES[0])));
  if (found === undefined) {
    throw new Error(`cannot find ${CRD_FILES[0]}; looked in ${candidates.join(", ")}`);
  }
  return found;
}

/** The repository root (the folder that holds crds/). */
export function repoRoot(): string {
  return resolve(crdDirectory(), "..");
}

/** Every document of every *.yaml file in crds/ (sorted by file name), parsed; empty documents skipped. */
export function loadCrdDocuments(dir: string = crdDirectory()): unknown[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort();
  const docs: unknown[] = [];
  for (const f of files) {
    // YAML 1.1, as kubectl reads these files when it installs them (unquoted Off would be false).
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), "utf8"), { version: "1.1" })) {
      if (doc.errors.length > 0)
        throw new Error(`${join(dir, f)}: ${doc.errors.map((e) => e.message).join("; ")}`);
      const value: unknown = doc.toJS();
      if (value !== null && value !== undefined) docs.push(value);
    }
  }
  return docs;
}

/** Where `npm run build` writes the CRD documents as JSON (crds/build.ts), next to the compiled loader. */
export const BUILT_CRD_DOCUMENTS = new URL("./crd-documents.json", import.meta.url);

/**
 * The CRD documents as the build wrote them (JSON: a few milliseconds to read, where parsing the
 * YAML takes 150 ms of a 0.4 s nhictl start), or parsed from crds/ when there is no build output
 * (running from source). A unit test keeps the two equal.
 */
export function loadBuiltCrdDocuments(): unknown[] {
  let text: string;
  try {
    text = readFileSync(BUILT_CRD_DOCUMENTS, "utf8");
  } catch {
    return loadCrdDocuments();
  }
  return JSON.parse(text) as unknown[];
}

// Run by `npm run build` after tsc, from crds/*.yaml (the one source of truth), next to the compiled
// loaders: the CRD documents as JSON (loadBuiltCrdDocuments) and the schemas' ajv validators as code
// (crds/standalone.ts), so nhictl neither parses the CRDs' YAML nor compiles their schemas on every
// start. Unit tests keep both equal to what the CRDs give now.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BUILT_CRD_DOCUMENTS, loadCrdDocuments } from "./load.js";
import { BUILT_VALIDATORS, validatorsModuleSource } from "./standalone.js";

const documents = loadCrdDocuments();
writeFileSync(fileURLToPath(BUILT_CRD_DOCUMENTS), `${JSON.stringify(documents)}\n`);
writeFileSync(fileURLToPath(BUILT_VALIDATORS), validatorsModuleSource(documents));

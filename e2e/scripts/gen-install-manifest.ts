// `npm run gen:install-manifest`: regenerates manifests/install.yaml from the chart (helm template,
// default values, CRDs included). test/unit/release/manifests.test.ts keeps the two equal.
import { writeFileSync } from "node:fs";
import { INSTALL_MANIFEST, renderInstallManifest } from "../harness/chart.js";

try {
  writeFileSync(INSTALL_MANIFEST, renderInstallManifest());
  process.stdout.write(`gen:install-manifest: wrote ${INSTALL_MANIFEST}\n`);
} catch (err) {
  process.stderr.write(
    `gen:install-manifest: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exitCode = 1;
}

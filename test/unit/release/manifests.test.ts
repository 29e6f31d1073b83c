// manifests/: install.yaml is the chart rendered (kept equal here), and the examples cover the
// identities the README promises. Each example is validated against the CRD schema by
// test/unit/nhi/validate.test.ts; e2e/suites/chart.e2e.ts applies both with --dry-run=server on the
// real control plane.
import { expect } from "chai";
import { readFileSync } from "node:fs";
import {
  INSTALL_MANIFEST,
  exampleDocuments,
  renderInstallManifest,
} from "../../../e2e/harness/chart.js";

describe("manifests/", function () {
  this.timeout(30_000);

  it("install.yaml is the chart rendered with default values and its CRDs (npm run gen:install-manifest)", () => {
    expect(
      readFileSync(INSTALL_MANIFEST, "utf8") === renderInstallManifest(),
      "manifests/install.yaml differs from the chart: run npm run gen:install-manifest",
    ).to.equal(true);
  });

  it("the examples cover an app reading its config, a CI deployer's kubeconfig token, an external API key, a TLS certificate, a monitoring scraper and a default NHIPolicy", () => {
    const nhis = exampleDocuments()
      .filter((x) => x.doc.kind === "NonHumanIdentity")
      .map(
        (x) =>
          x.doc.spec as {
            scopes?: { namespaces: string[]; resources?: string[]; nonResourceURLs?: string[] }[];
            credentials?: { type: string }[];
            workloads?: { automountToken?: boolean };
          },
      );
    const credentialTypes = nhis.flatMap((s) => (s.credentials ?? []).map((c) => c.type));
    expect(credentialTypes).to.include.members(["ServiceAccountToken", "External", "Certificate"]);
    expect(nhis.some((s) => s.scopes?.some((sc) => sc.resources?.includes("configmaps")))).to.equal(
      true,
    );
    expect(
      nhis.some(
        (s) =>
          s.workloads?.automountToken === false &&
          s.credentials?.some((c) => c.type === "ServiceAccountToken"),
      ),
      "a token for use outside the cluster",
    ).to.equal(true);
    expect(
      nhis.some((s) =>
        s.scopes?.some(
          (sc) => sc.namespaces.includes("*") && sc.nonResourceURLs?.includes("/metrics"),
        ),
      ),
    ).to.equal(true);
    expect(
      exampleDocuments().some(
        (x) => x.doc.kind === "NHIPolicy" && x.doc.metadata.name === "default",
      ),
    ).to.equal(true);
  });
});

// `make demo` (e2e/scripts/demo.ts) run non-interactively (--once): it starts its own control plane,
// runs the operator as the chart would and prints the three parts a newcomer reads — the inventory
// (owners, phases, risk with its top factor, next rotation), a credential rotated, and a real denial
// of a cluster-admin binding — then stops everything it started.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../harness/binaries.js";

describe("make demo", function () {
  this.timeout(420_000);

  it("prints the inventory, a credential rotation and a denied escalation, and leaves nothing running", async function () {
    if (process.env.E2E_KUBECONFIG) this.skip(); // the demo starts a plane of its own
    const proc = spawn(process.execPath, [join(REPO_ROOT, "dist/e2e/scripts/demo.js"), "--once"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    proc.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    proc.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const code = await new Promise<number | null>((resolve) =>
      proc.once("exit", (c) => resolve(c)),
    );
    assert.equal(code, 0, `demo exited ${code}:\n${err.slice(-4000)}\n${out}`);

    const inventory = out.slice(out.indexOf("Inventory"), out.indexOf("Credential rotation"));
    assert.match(
      inventory,
      /SERVICEACCOUNT\s+NHI\s+OWNER\s+PHASE\s+RISK\s+TOP FACTOR\s+NEXT ROTATION/,
    );
    assert.match(
      inventory,
      /^ci\/deployer\s+deployer\s+platform\s+\w+\s+\d+\s+.*\d{4}-\d\d-\d\dT/m,
      "the CI deployer with its owner, phase, risk and next rotation",
    );
    assert.match(
      inventory,
      /^legacy\/jenkins\s+— \(shadow\)\s+nobody\s+\w+\s+\d+\s+\S+ \(\+\d+\)/m,
      "an unowned legacy identity with its top risk factor",
    );
    assert.match(inventory, /^shop\/orders-api\s+orders-api\s+shop-backend/m);
    const rotation = out.slice(
      out.indexOf("Credential rotation"),
      out.indexOf("Escalation denied"),
    );
    assert.match(rotation, /generation [2-9]/);
    assert.match(rotation, /CredentialRotated/);
    const denial = out.slice(out.indexOf("Escalation denied"));
    assert.match(
      denial,
      /kubectl create clusterrolebinding ci-deployer-admin --clusterrole=cluster-admin --serviceaccount=ci:deployer/,
    );
    assert.match(denial, /exit 1: .*admission webhook "validate\.nhi\.io" denied the request/);
    assert.match(denial, /system:serviceaccount:ci:deployer/);
    assert.match(err, /stopping|demo:/);
  });
});

// nhictl explain and nhictl inventory over manifests, run as a process.
import { expect } from "chai";
import { MANIFESTS, nhictl } from "./run.js";

describe("nhictl explain / inventory (process)", function () {
  this.timeout(30_000);

  it("explain shows each permission with the binding that grants it, scope coverage, catalogue hits and the NHI", () => {
    const r = nhictl(["explain", "shop/orders-api", `${MANIFESTS}/escalation`]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include("Claimed by NonHumanIdentity shop/orders-api");
    expect(r.stdout).to.include(`RoleBinding shop/orders-runtime [${MANIFESTS}/escalation/scope.yaml:15] → Role shop/orders-runtime [${MANIFESTS}/escalation/scope.yaml:2]`);
    expect(r.stdout).to.match(/get, list, watch on configmaps \(core\) in namespace shop {2}✓ scopes\[0\]/);
    expect(r.stdout).to.match(/get on secrets \(core\) in namespace shop {2}✗ not in scopes: get secrets in namespace shop/);
    expect(r.stdout).to.include("(as member of system:serviceaccounts:shop)");
    expect(r.stdout).to.match(/\[high\] secrets-read/);
    expect(r.stdout).to.include("Scopes of NonHumanIdentity shop/orders-api");
  });

  it("explain --format json, and a shadow identity", () => {
    const r = nhictl(["explain", "system:serviceaccount:shop:reporter", `${MANIFESTS}/escalation`, "--format", "json"]);
    const e = JSON.parse(r.stdout) as { nhi?: unknown; grants: { binding: string }[]; catalogue: { id: string }[] };
    expect(e.nhi).to.equal(undefined);
    expect(e.grants.map((g) => g.binding)).to.include("RoleBinding shop/shop-support");
    expect(e.catalogue.map((c) => c.id)).to.include("pods-exec");
    expect(nhictl(["explain", "shop/reporter", `${MANIFESTS}/escalation`]).stdout).to.include("Not claimed by any NonHumanIdentity");
  });

  it("explain rejects a malformed identity (exit 2)", () => {
    const r = nhictl(["explain", "just-a-name", `${MANIFESTS}/escalation`]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include("NAMESPACE/SERVICEACCOUNT");
  });

  it("inventory from manifests: claimed, shadow and orphaned, as a table and as JSON", () => {
    const t = nhictl(["inventory", `${MANIFESTS}/escalation`, `${MANIFESTS}/governance`]);
    expect(t.code, t.stderr).to.equal(0);
    expect(t.stdout).to.match(/^NAMESPACE\s+SERVICEACCOUNT\s+STATUS/);
    expect(t.stdout).to.match(/shop\s+orders-api\s+claimed\s+orders-api\s+shop-backend/);
    expect(t.stdout).to.match(/ci\s+deployer\s+shadow\s+-\s+-\s+0\s+.*wildcard-all-cluster@cluster/);
    const j = JSON.parse(nhictl(["inventory", `${MANIFESTS}/escalation`, "--format", "json"]).stdout) as { items: { serviceAccount: string; status: string }[]; summary: Record<string, number> };
    expect(j.summary).to.deep.include({ claimed: 1, shadow: 2 });
  });

  it("inventory --endpoint that cannot be reached is a clear error (exit 2)", () => {
    const r = nhictl(["inventory", "--endpoint", "http://127.0.0.1:9/inventory"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/cannot reach the inventory endpoint/);
  });
});

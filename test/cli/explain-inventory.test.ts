// nhictl explain and nhictl inventory over manifests, run as a process.
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import type { InventoryDocument } from "../../cli/inventory.js";
import { CLI, MANIFESTS, ROOT, nhictl, type Run } from "./run.js";

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

  it("inventory from manifests: the operator's model (phase, risk, catalogue), as a table and as its /inventory document", () => {
    const t = nhictl(["inventory", `${MANIFESTS}/escalation`, `${MANIFESTS}/governance`]);
    expect(t.code, t.stderr).to.equal(0);
    expect(t.stdout).to.match(/^NAMESPACE\s+SERVICEACCOUNT\s+NHI\s+PHASE\s+RISK/);
    expect(t.stdout).to.match(/shop\s+orders-api\s+orders-api\s+Violating\s+\w+\(\d+\)\s+shop-backend/);
    expect(t.stdout).to.match(/ci\s+deployer\s+shadow\s+Violating\s+critical\(\d+\)\s+-\s+0\s+-\s+wildcard-all-cluster@cluster/);
    expect(t.stdout).to.match(/platform\s+god-mode\s+root-of-all\s+Orphaned/);
    const j = JSON.parse(nhictl(["inventory", `${MANIFESTS}/escalation`, "--format", "json"]).stdout) as InventoryDocument;
    expect(j).to.include({ apiVersion: "nhi.io/v1alpha1", kind: "Inventory" });
    expect(j.summary).to.deep.include({ identities: 3, shadow: 2 });
    const orders = j.identities.find((i) => i.namespace === "shop" && i.name === "orders-api");
    expect(orders?.phase).to.equal("Violating");
    expect(orders?.excess.map((e) => `${e.verb} ${e.resource ?? ""}`)).to.include("get secrets");
  });

  it("inventory --endpoint reads the operator's /inventory document and prints what the offline computation prints", async () => {
    const offline = nhictl(["inventory", `${MANIFESTS}/escalation`, "--format", "json"]).stdout;
    const server = createServer((req, res) => {
      if (req.url?.startsWith("/inventory")) res.writeHead(200, { "content-type": "application/json" }).end(offline);
      else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ items: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const json = await nhictlAsync(["inventory", "--endpoint", `http://127.0.0.1:${port}/inventory`, "--format", "json"]);
      expect(json.code, json.stderr).to.equal(0);
      expect(JSON.parse(json.stdout)).to.deep.equal(JSON.parse(offline));
      const table = await nhictlAsync(["inventory", "--endpoint", `http://127.0.0.1:${port}/inventory`]);
      const local = nhictl(["inventory", `${MANIFESTS}/escalation`]);
      const body = (s: string): string => s.replace(/\(source: [^)]*\)?, at [^)]*\)/, "");
      expect(body(table.stdout)).to.equal(body(local.stdout));
      const wrong = await nhictlAsync(["inventory", "--endpoint", `http://127.0.0.1:${port}/other`]);
      expect(wrong.code).to.equal(2);
      expect(wrong.stderr).to.match(/not an? nhi\.io\/v1alpha1 Inventory|other than an nhi\.io\/v1alpha1 Inventory/);
    } finally {
      server.close();
    }
  });

  it("inventory --endpoint on a follower says which replica leads (exit 2)", async () => {
    const notLeader = { apiVersion: "nhi.io/v1alpha1", kind: "NotLeader", lease: { namespace: "nhi-system", name: "rec" }, leader: { identity: "op-1_ab", pod: "op-1" },
      error: "this replica is not the leader: the inventory is served by the holder of Lease nhi-system/rec, pod op-1" };
    const server = createServer((req, res) => {
      if (req.url === "/follower") res.writeHead(503, { "content-type": "application/json", "retry-after": "2" }).end(JSON.stringify(notLeader));
      else res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ error: "not ready" }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const follower = await nhictlAsync(["inventory", "--endpoint", `http://127.0.0.1:${port}/follower`]);
      expect(follower.code).to.equal(2);
      expect(follower.stderr).to.include("answered HTTP 503 (this replica is not the leader: the inventory is served by the holder of Lease nhi-system/rec, pod op-1)");
      const starting = await nhictlAsync(["inventory", "--endpoint", `http://127.0.0.1:${port}/starting`]);
      expect(starting.stderr).to.include("answered HTTP 503 (the operator has not finished its first inventory pass)");
    } finally {
      server.close();
    }
  });

  it("inventory --endpoint that cannot be reached is a clear error (exit 2)", () => {
    const r = nhictl(["inventory", "--endpoint", "http://127.0.0.1:9/inventory"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/cannot reach the inventory endpoint/);
  });
});

/** nhictl as a process without blocking the event loop (this process serves the endpoint). */
function nhictlAsync(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", KUBECONFIG: "/nonexistent" } });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end();
  });
}

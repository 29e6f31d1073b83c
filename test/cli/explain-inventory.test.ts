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
    expect(r.stdout).to.include(
      `RoleBinding shop/orders-runtime [${MANIFESTS}/escalation/scope.yaml:15] → Role shop/orders-runtime [${MANIFESTS}/escalation/scope.yaml:2]`,
    );
    expect(r.stdout).to.match(
      /get, list, watch on configmaps \(core\) in namespace shop {2}✓ scopes\[0\]/,
    );
    expect(r.stdout).to.match(
      /get on secrets \(core\) in namespace shop {2}✗ not in scopes: get secrets in namespace shop/,
    );
    expect(r.stdout).to.include("(as member of system:serviceaccounts:shop)");
    expect(r.stdout).to.match(/\[high\] secrets-read/);
    expect(r.stdout).to.include("Scopes of NonHumanIdentity shop/orders-api");
  });

  it("explain --format json, and a shadow identity", () => {
    const r = nhictl([
      "explain",
      "system:serviceaccount:shop:reporter",
      `${MANIFESTS}/escalation`,
      "--format",
      "json",
    ]);
    const e = JSON.parse(r.stdout) as {
      nhi?: unknown;
      grants: { binding: string }[];
      catalogue: { id: string }[];
    };
    expect(e.nhi).to.equal(undefined);
    expect(e.grants.map((g) => g.binding)).to.include("RoleBinding shop/shop-support");
    expect(e.catalogue.map((c) => c.id)).to.include("pods-exec");
    expect(nhictl(["explain", "shop/reporter", `${MANIFESTS}/escalation`]).stdout).to.include(
      "Not claimed by any NonHumanIdentity",
    );
  });

  it("explain a group: what every member holds through it (and the groups that contain it), worded for its members", () => {
    const r = nhictl(["explain", "system:serviceaccounts:shop", `${MANIFESTS}/escalation`]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(
      /^Group system:serviceaccounts:shop: every ServiceAccount in namespace shop, present and future/,
    );
    expect(r.stdout).to.include("No NonHumanIdentity can claim a group");
    expect(r.stdout).to.include(
      `RoleBinding shop/shop-support [${MANIFESTS}/escalation/aggregation.yaml:22] → ClusterRole shop-support`,
    );
    expect(r.stdout)
      .to.include("ClusterRoleBinding everyone-reads-pods")
      .and.include("(as member of system:authenticated)");
    expect(r.stdout).to.match(/\[high\] pods-exec/);
    const j = JSON.parse(
      nhictl([
        "explain",
        "group:system:serviceaccounts",
        `${MANIFESTS}/escalation`,
        "--format",
        "json",
      ]).stdout,
    ) as { group?: { members: string }; identity: string; catalogue: { id: string }[] };
    expect(j.group?.members).to.equal("every ServiceAccount in the cluster");
    expect(j.identity).to.equal("group:system:serviceaccounts");
    expect(
      j.catalogue.map((c) => c.id),
      "the shop group's pods/exec is not every ServiceAccount's",
    ).to.not.include("pods-exec");
  });

  it("explain rejects a malformed identity (exit 2)", () => {
    const r = nhictl(["explain", "just-a-name", `${MANIFESTS}/escalation`]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include("NAMESPACE/SERVICEACCOUNT");
  });

  it("inventory from manifests: the operator's model (phase, risk, catalogue), as a table and as its /inventory document", () => {
    const t = nhictl(["inventory", `${MANIFESTS}/escalation`, `${MANIFESTS}/governance`]);
    expect(t.code, t.stderr).to.equal(0);
    expect(t.stdout).to.match(/^NAMESPACE\s+SERVICEACCOUNT\s+NHI\s+PHASE\s+RISK\s+BLAST-RADIUS/);
    expect(t.stdout).to.match(
      /shop\s+orders-api\s+orders-api\s+Violating\s+\w+\(\d+\)\s+\S+\s+shop-backend/,
    );
    // ci/deployer is cluster-admin itself: the blast radius says so, in 1 hop.
    expect(t.stdout).to.match(
      /ci\s+deployer\s+shadow\s+Violating\s+critical\(\d+\)\s+\d+,cluster-admin@1\s+-\s+0\s+-\s+wildcard-all-cluster@cluster/,
    );
    expect(t.stdout).to.match(/platform\s+god-mode\s+root-of-all\s+Orphaned/);
    const j = JSON.parse(
      nhictl(["inventory", `${MANIFESTS}/escalation`, "--format", "json"]).stdout,
    ) as InventoryDocument;
    expect(j).to.include({ apiVersion: "nhi.io/v1alpha1", kind: "Inventory" });
    expect(j.summary).to.deep.include({ identities: 3, shadow: 2 });
    const orders = j.identities.find((i) => i.namespace === "shop" && i.name === "orders-api");
    expect(orders?.phase).to.equal("Violating");
    // The group holds pods/exec for every ServiceAccount of shop, present and future.
    expect(t.stdout).to.match(
      /system:serviceaccounts:shop\s+every ServiceAccount in namespace shop\s+-\s+pods-exec@shop/,
    );
    expect(
      j.groups.find((g) => g.group === "system:serviceaccounts:shop")?.catalogue.map((h) => h.id),
    ).to.deep.equal(["pods-exec"]);
    expect(orders?.excess.map((e) => `${e.verb} ${e.resource ?? ""}`)).to.include("get secrets");
  });

  it("inventory judges a binding to system:unauthenticated or to user system:anonymous as nhictl check does: the group is Violating (binding-dangerous-group) and what the anonymous user holds is the group's", () => {
    const manifests = [
      "apiVersion: rbac.authorization.k8s.io/v1",
      "kind: ClusterRoleBinding",
      "metadata: { name: anonymous-view }",
      "roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view }",
      "subjects: [{ kind: Group, name: 'system:unauthenticated', apiGroup: rbac.authorization.k8s.io }]",
      "---",
      "apiVersion: rbac.authorization.k8s.io/v1",
      "kind: ClusterRoleBinding",
      "metadata: { name: anonymous-admin }",
      "roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }",
      "subjects: [{ kind: User, name: 'system:anonymous', apiGroup: rbac.authorization.k8s.io }]",
      "",
    ].join("\n");
    const check = nhictl(["check", "-", "--no-color"], { input: manifests });
    expect(check.code).to.equal(1);
    expect(check.stdout).to.include("critical ClusterRole view [binding-dangerous-group]");
    const j = JSON.parse(
      nhictl(["inventory", "-", "--format", "json"], { input: manifests }).stdout,
    ) as InventoryDocument;
    const group = j.groups.find((g) => g.group === "system:unauthenticated");
    expect(group?.violating, JSON.stringify(group)).to.equal(true);
    expect(group?.reason).to.match(/binding-dangerous-group.*ClusterRole view/);
    // The anonymous user's cluster-admin is every unauthenticated request's.
    expect(group?.catalogue.map((h) => h.id)).to.include("wildcard-all-cluster");
    const t = nhictl(["inventory", "-"], { input: manifests });
    expect(t.stdout).to.match(
      /system:unauthenticated\s+every unauthenticated \(anonymous\) request\s+Violating/,
    );
    // explain system:anonymous is explain system:unauthenticated: the same requests.
    const explained = nhictl(["explain", "system:anonymous", "-"], { input: manifests });
    expect(explained.code, explained.stderr).to.equal(0);
    expect(explained.stdout).to.match(/^Group system:unauthenticated: every unauthenticated/);
    expect(explained.stdout).to.include("ClusterRoleBinding anonymous-admin");
    // The discovery roles Kubernetes itself binds to everyone are not a violation.
    const discovery = manifests
      .split("---")[0]
      ?.replace("name: view", "name: system:public-info-viewer");
    const d = JSON.parse(
      nhictl(["inventory", "-", "--format", "json"], { input: discovery }).stdout,
    ) as InventoryDocument;
    expect(d.groups.find((g) => g.group === "system:unauthenticated")?.violating).to.not.equal(
      true,
    );
  });

  it("inventory from manifests lists TLS Secrets with the ServiceAccounts that mount them, without reading the certificate", () => {
    const manifests = `apiVersion: v1
kind: Secret
metadata: { name: web-tls, namespace: shop }
type: kubernetes.io/tls
data: { tls.crt: ${Buffer.from("-----BEGIN CERTIFICATE-----").toString("base64")}, tls.key: ${Buffer.from("very-secret-key-bytes").toString("base64")} }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { serviceAccountName: web, containers: [{ name: c, image: nginx }], volumes: [{ name: t, secret: { secretName: web-tls } }] }
`;
    const j = JSON.parse(
      nhictl(["inventory", "-f", "-", "--format", "json"], { input: manifests }).stdout,
    ) as InventoryDocument;
    expect(
      j.tlsCertificates.map((t) => [
        t.namespace,
        t.secretName,
        t.health,
        t.serviceAccounts,
        t.workloads,
      ]),
    ).to.deep.equal([["shop", "web-tls", "Unknown", ["web"], ["Deployment/web"]]]);
    expect(j.summary.tlsCertificates).to.deep.equal({ total: 1, byHealth: { Unknown: 1 } });
    const t = nhictl(["inventory", "-f", "-"], { input: manifests });
    expect(t.stdout).to.match(/NAMESPACE\s+TLS SECRET\s+HEALTH\s+NOT AFTER\s+HELD BY/);
    expect(t.stdout).to.match(/shop\s+web-tls\s+Unknown\s+-\s+web\s+Deployment\/web/);
    expect(t.stdout + JSON.stringify(j)).not.to.include(
      Buffer.from("very-secret-key-bytes").toString("base64"),
    );
  });

  it("inventory --endpoint reads the operator's /inventory document and prints what the offline computation prints", async () => {
    const offline = nhictl(["inventory", `${MANIFESTS}/escalation`, "--format", "json"]).stdout;
    const server = createServer((req, res) => {
      if (req.url?.startsWith("/inventory"))
        res.writeHead(200, { "content-type": "application/json" }).end(offline);
      else if (req.url?.startsWith("/older")) {
        const { tlsCertificates: _t, ...older } = JSON.parse(offline) as InventoryDocument; // an operator from before the TLS inventory
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(older));
      } else
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ items: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const json = await nhictlAsync([
        "inventory",
        "--endpoint",
        `http://127.0.0.1:${port}/inventory`,
        "--format",
        "json",
      ]);
      expect(json.code, json.stderr).to.equal(0);
      expect(JSON.parse(json.stdout)).to.deep.equal(JSON.parse(offline));
      const table = await nhictlAsync([
        "inventory",
        "--endpoint",
        `http://127.0.0.1:${port}/inventory`,
      ]);
      const local = nhictl(["inventory", `${MANIFESTS}/escalation`]);
      const body = (s: string): string => s.replace(/\(source: [^)]*\)?, at [^)]*\)/, "");
      expect(body(table.stdout)).to.equal(body(local.stdout));
      const older = await nhictlAsync([
        "inventory",
        "--endpoint",
        `http://127.0.0.1:${port}/older`,
        "--format",
        "json",
      ]);
      expect(older.code, older.stderr).to.equal(0);
      expect((JSON.parse(older.stdout) as InventoryDocument).tlsCertificates).to.deep.equal([]);
      const wrong = await nhictlAsync([
        "inventory",
        "--endpoint",
        `http://127.0.0.1:${port}/other`,
      ]);
      expect(wrong.code).to.equal(2);
      expect(wrong.stderr).to.match(
        /not an? nhi\.io\/v1alpha1 Inventory|other than an nhi\.io\/v1alpha1 Inventory/,
      );
    } finally {
      server.close();
    }
  });

  it("inventory --endpoint on a follower says which replica leads (exit 2)", async () => {
    const notLeader = {
      apiVersion: "nhi.io/v1alpha1",
      kind: "NotLeader",
      lease: { namespace: "nhi-system", name: "rec" },
      leader: { identity: "op-1_ab", pod: "op-1" },
      error:
        "this replica is not the leader: the inventory is served by the holder of Lease nhi-system/rec, pod op-1",
    };
    const server = createServer((req, res) => {
      if (req.url === "/follower")
        res
          .writeHead(503, { "content-type": "application/json", "retry-after": "2" })
          .end(JSON.stringify(notLeader));
      else
        res
          .writeHead(503, { "content-type": "application/json" })
          .end(JSON.stringify({ error: "not ready" }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const follower = await nhictlAsync([
        "inventory",
        "--endpoint",
        `http://127.0.0.1:${port}/follower`,
      ]);
      expect(follower.code).to.equal(2);
      expect(follower.stderr).to.include(
        "answered HTTP 503 (this replica is not the leader: the inventory is served by the holder of Lease nhi-system/rec, pod op-1)",
      );
      const starting = await nhictlAsync([
        "inventory",
        "--endpoint",
        `http://127.0.0.1:${port}/starting`,
      ]);
      expect(starting.stderr).to.include(
        "answered HTTP 503 (the operator has not finished its first inventory pass)",
      );
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
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        KUBECONFIG: "/nonexistent",
      },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end();
  });
}

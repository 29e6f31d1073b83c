// readCluster (--cluster) against a stand-in API server on loopback that answers lists, so the
// answers a real one gives for a missing CRD (404), a denial (403 Status) and a failure (500) can be
// chosen per resource. The real API server's 403 is covered by e2e/suites/cli-cluster.e2e.ts.
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterReadError, describeFailure, readCluster } from "../../cli/cluster.js";
import { LISTED_WORKLOAD_KINDS, workloadPath } from "../../core/workloads/pod-template.js";

type Answer = { status: number; body: string };
const list = (kind: string): Answer => ({
  status: 200,
  body: JSON.stringify({ kind, apiVersion: "v1", metadata: {}, items: [] }),
});

describe("readCluster: a failed list is an error, a missing NHI CRD is 'none' said aloud", function () {
  let server: Server;
  let dir = "";
  let kubeconfig = "";
  let answer: (path: string) => Answer | undefined = () => undefined;

  before(async () => {
    server = createServer((req, res) => {
      const path = (req.url ?? "").split("?")[0] ?? "";
      const a = answer(path) ?? list("List");
      res.writeHead(a.status, {
        "content-type": a.body.startsWith("{") ? "application/json" : "text/plain",
      });
      res.end(a.body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    dir = mkdtempSync(join(tmpdir(), "nhictl-read-"));
    kubeconfig = join(dir, "kubeconfig");
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        "current-context": "c",
        // Plain HTTP on loopback: client-node allows it only with insecure-skip-tls-verify.
        clusters: [
          {
            name: "c",
            cluster: { server: `http://127.0.0.1:${port}`, "insecure-skip-tls-verify": true },
          },
        ],
        users: [{ name: "u", user: { token: "not-a-real-token" } }],
        contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
      }),
    );
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await new Promise((resolve) => server.close(resolve));
  });

  it("a cluster without the nhi.io CRDs (404 on their lists) reads as no NHIs and no policies, and says so", async () => {
    answer = (p) =>
      p.startsWith("/apis/nhi.io/") ? { status: 404, body: "404 page not found" } : undefined;
    const notices: string[] = [];
    const snap = await readCluster({ kubeconfig }, { notice: (m) => notices.push(m) });
    expect(snap.nhis).to.deep.equal([]);
    expect(snap.policies).to.deep.equal([]);
    expect(notices).to.have.length(1);
    expect(notices[0]).to.match(
      /does not serve nhipolicies\.nhi\.io and nonhumanidentities\.nhi\.io \(the nhi-operator CRDs are not installed\)/,
    );
  });

  it("a 403 on NonHumanIdentities is a ClusterReadError naming them and the API server's message", async () => {
    answer = (p) =>
      p === "/apis/nhi.io/v1alpha1/nonhumanidentities"
        ? {
            status: 403,
            body: JSON.stringify({
              kind: "Status",
              status: "Failure",
              reason: "Forbidden",
              code: 403,
              message:
                'nonhumanidentities.nhi.io is forbidden: User "u" cannot list resource "nonhumanidentities"',
            }),
          }
        : undefined;
    const err = await readCluster({ kubeconfig }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ClusterReadError);
    expect((err as Error).message).to.match(
      /^cannot read nonhumanidentities\.nhi\.io from the cluster http:\/\/127\.0\.0\.1:\d+: forbidden: nonhumanidentities\.nhi\.io is forbidden: User "u" cannot list/,
    );
    expect((err as Error).message).to.not.include("not-a-real-token");
  });

  it("a 500 on RoleBindings, or a 404 on a built-in list, is an error too, never an empty list", async () => {
    answer = (p) =>
      p === "/apis/rbac.authorization.k8s.io/v1/rolebindings"
        ? { status: 500, body: "etcd timeout" }
        : undefined;
    const e1 = await readCluster({ kubeconfig }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((e1 as Error).message).to.match(
      /cannot read rolebindings\.rbac\.authorization\.k8s\.io .*: the API server failed \(HTTP 500\): etcd timeout/,
    );
    answer = (p) =>
      p === "/api/v1/serviceaccounts" ? { status: 404, body: "404 page not found" } : undefined;
    const e2 = await readCluster({ kubeconfig }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((e2 as Error).message).to.match(/cannot read serviceaccounts .*not found/);
  });

  it("a 429 (storage initializing just after a CRD install) is retried, not reported", async () => {
    let calls = 0;
    answer = (p) =>
      p === "/apis/nhi.io/v1alpha1/nhipolicies" && ++calls <= 2
        ? {
            status: 429,
            body: JSON.stringify({
              kind: "Status",
              code: 429,
              message: "storage is (re)initializing",
            }),
          }
        : undefined;
    const snap = await readCluster({ kubeconfig });
    expect(calls).to.be.at.least(3); // (a list still in flight from the test before may count too)
    expect(snap.policies).to.deep.equal([]);
  });

  it("lists the workload kinds of the one table (core/workloads/pod-template.ts) at their paths, each item with its kind and apiVersion", async () => {
    const deployment = {
      metadata: { name: "api", namespace: "team" },
      spec: { template: { spec: { serviceAccountName: "app", containers: [{ name: "c" }] } } },
    };
    const requested = new Set<string>();
    answer = (p) => {
      requested.add(p);
      return p === workloadPath("Deployment")
        ? {
            status: 200,
            body: JSON.stringify({
              kind: "DeploymentList",
              apiVersion: "apps/v1",
              metadata: {},
              items: [deployment],
            }),
          }
        : undefined;
    };
    const snap = await readCluster({ kubeconfig });
    expect(
      snap.workloads.map(
        (w) => `${w.apiVersion} ${w.kind} ${w.metadata.namespace}/${w.metadata.name}`,
      ),
    ).to.deep.equal(["apps/v1 Deployment team/api"]);
    for (const kind of LISTED_WORKLOAD_KINDS)
      if (kind !== "ReplicationController")
        expect([...requested], kind).to.include(workloadPath(kind));
  });

  it("describeFailure keeps the status and the Status message, not the client's headers", () => {
    const f = describeFailure({
      code: 401,
      body: undefined,
      headers: { authorization: "Bearer x" },
      message: "HTTP-Code: 401 Headers: {...}",
    });
    expect(f).to.deep.equal({
      status: 401,
      reason: "unauthorized (the kubeconfig's credentials were rejected)",
    });
    expect(describeFailure(new Error("connect ECONNREFUSED 127.0.0.1:1")).reason).to.equal(
      "connect ECONNREFUSED 127.0.0.1:1",
    );
  });
});

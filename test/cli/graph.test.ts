// nhictl graph over manifests, run as a process: attack paths one hop per line, the formats, and bad arguments.
import { expect } from "chai";
import { MANIFESTS, nhictl } from "./run.js";

const FIXTURE = `${MANIFESTS}/graph/attack-paths.yaml`;

interface JsonReport {
  nodes: { id: string; risk: string }[];
  edges: { from: string; to: string; kind: string; permission: string }[];
  identities: {
    id: string;
    risk: string;
    summary: { identities: number; clusterAdminHops?: number };
    paths: { to: string; length: number; hops: { from: string; to: string; kind: string }[] }[];
  }[];
}

describe("nhictl graph (process)", function () {
  this.timeout(30_000);

  it("text: one line per hop, identity —permission→ identity, with the technique and the granting binding", () => {
    const r = nhictl(["graph", FIXTURE, "--from", "ci/deployer", "--to", "cluster-admin"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(
      [
        "ci/deployer [critical]: reaches 1 identity, cluster-admin in 2 hops",
        "  to cluster-admin (2 hops):",
        "    ci/deployer —create pods in namespace platform→ platform/admin",
        "        pod-create: create a pod (or a workload that makes one) running as the ServiceAccount and read its token (through RoleBinding platform/ci-launches-pods → Role platform/pod-launcher)",
        "    platform/admin —every verb on every resource in every API group, cluster-wide→ cluster-admin",
        "        cluster-admin: holds every verb on every resource cluster-wide (through ClusterRoleBinding platform-admin → ClusterRole cluster-admin)",
        "",
      ].join("\n"),
    );
  });

  it("--to cluster-admin lists every identity that reaches it, riskiest and nearest first, through legacy tokens and exec", () => {
    const r = nhictl(["graph", FIXTURE, "--to", "cluster-admin", "--format", "json"]);
    expect(r.code, r.stderr).to.equal(0);
    const j = JSON.parse(r.stdout) as JsonReport;
    expect(
      Object.fromEntries(j.identities.map((i) => [i.id, i.summary.clusterAdminHops])),
    ).to.deep.equal({
      "sa:platform/admin": 1,
      "sa:ci/deployer": 2,
      "sa:shop/db": 4,
      "sa:shop/reporter": 6,
    });
    expect(j.identities.every((i) => i.risk === "critical")).to.equal(true);
    const reporter = j.identities.find((i) => i.id === "sa:shop/reporter");
    expect(reporter?.paths[0]?.hops.map((h) => h.kind)).to.deep.equal([
      "secret-read",
      "token-of",
      "pod-exec",
      "runs-as",
      "pod-create",
      "cluster-admin",
    ]);
    expect(j.nodes.find((n) => n.id === "cluster-admin")?.risk).to.equal("critical");
  });

  it("dot and mermaid draw the same edges", () => {
    const dot = nhictl([
      "graph",
      FIXTURE,
      "--from",
      "shop/reporter",
      "--to",
      "cluster-admin",
      "--format",
      "dot",
    ]);
    expect(dot.code, dot.stderr).to.equal(0);
    expect(dot.stdout).to.match(/^digraph identities \{/);
    expect(dot.stdout).to.include(
      '"sa:shop/reporter" -> "secret:shop/db-token" [label="get secrets in namespace shop"',
    );
    expect(dot.stdout).to.include('"secret:shop/db-token" -> "sa:shop/db"');
    const mermaid = nhictl([
      "graph",
      FIXTURE,
      "--from",
      "shop/reporter",
      "--to",
      "cluster-admin",
      "--format",
      "mermaid",
    ]);
    expect(mermaid.stdout).to.match(/^flowchart LR\n/);
    expect(mermaid.stdout).to.include('-->|"create pods/exec in namespace ci"|');
    expect(mermaid.stdout).to.match(/class .* critical/);
  });

  it("html is one self-contained page: inline data, a policy forbidding fetches, no external URL", () => {
    const r = nhictl(["graph", FIXTURE, "--format", "html"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^<!DOCTYPE html>/);
    expect(r.stdout).to.include(
      `content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"`,
    );
    expect(r.stdout).to.not.match(/(src|href)=["']?https?:/);
    expect(r.stdout).to.include('data-id="sa:ci/deployer"');
    expect(r.stdout).to.include('<script type="application/json" id="graph-data">');
  });

  it("no attack paths in manifests without such permissions", () => {
    const r = nhictl(["graph", `${MANIFESTS}/clean`]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal("No identity can become another: no attack paths.\n");
  });

  it("bad arguments are exit 2 with the reason", () => {
    const bad = nhictl(["graph", FIXTURE, "--from", "nobody"]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include("--from expects NAMESPACE/NAME");
    expect(nhictl(["graph", FIXTURE, "--format", "svg"]).stderr).to.include("unknown --format svg");
    expect(nhictl(["graph"]).code).to.equal(2);
  });
});

describe("nhictl check and explain: the attack paths a change opens (process)", function () {
  this.timeout(30_000);

  interface JsonFinding {
    rule: string;
    kind: string;
    name: string;
    identity?: string;
    message: string;
    paths?: { to: string; length: number; hops: string[] }[];
  }

  it("check --format json: a transitive-escalation warning at the binding, with its path hop by hop", () => {
    const r = nhictl(["check", FIXTURE, "--format", "json"]);
    const j = JSON.parse(r.stdout) as { violations: JsonFinding[]; warnings: JsonFinding[] };
    const found = [...j.violations, ...j.warnings].filter(
      (f) => f.rule === "transitive-escalation",
    );
    const deployer = found.find((f) => f.name === "ci-launches-pods");
    expect(deployer, r.stdout).to.not.equal(undefined);
    expect(deployer?.identity).to.equal("system:serviceaccount:ci:deployer");
    expect(deployer?.paths).to.deep.equal([
      {
        to: "cluster-admin",
        length: 2,
        hops: [
          "ci/deployer —create pods in namespace platform→ platform/admin",
          "platform/admin —every verb on every resource in every API group, cluster-wide→ cluster-admin",
        ],
      },
    ]);
    expect(deployer?.message).to.contain("cluster-admin (2 hops)");
    // The reporter's Secret read opens a 6-hop path through a legacy token and exec.
    expect(found.find((f) => f.name === "reporter-reads-secrets")?.paths?.[0]?.length).to.equal(6);
    // The binding that makes platform/admin cluster-admin is the permission itself (1 hop): not transitive.
    expect(found.some((f) => f.name === "platform-admin")).to.equal(false);
  });

  it("check text prints the path under the finding", () => {
    const r = nhictl(["check", FIXTURE]);
    expect(r.stdout).to.contain("transitive-escalation");
    expect(r.stdout).to.contain(
      [
        "      path to cluster-admin (2 hops):",
        "        ci/deployer —create pods in namespace platform→ platform/admin",
      ].join("\n"),
    );
  });

  it("explain shows the blast radius and the paths (text and json)", () => {
    const text = nhictl(["explain", "ci/deployer", FIXTURE]);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.contain("Attack paths (identity graph)");
    expect(text.stdout).to.contain("blast radius: 1 other identity, cluster-admin in 2 hops");
    expect(text.stdout).to.contain(
      "    platform/admin —every verb on every resource in every API group, cluster-wide→ cluster-admin",
    );
    const json = nhictl(["explain", "ci/deployer", FIXTURE, "--format", "json"]);
    const e = JSON.parse(json.stdout) as {
      blastRadius: { identities: number; clusterAdminHops?: number; paths: { to: string }[] };
    };
    expect(e.blastRadius.clusterAdminHops).to.equal(2);
    expect(e.blastRadius.paths.map((p) => p.to)).to.deep.equal(["cluster-admin", "platform/admin"]);
  });
});

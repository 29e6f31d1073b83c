// nhictl audit analyze, run as a process over the audit fixtures recorded from the real API server.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { CLI, ROOT, nhictl } from "./run.js";

const FX = "test/fixtures/audit";
const MANIFESTS = ["--manifests", `${FX}/manifests`];

interface Json {
  findings: {
    identity: string;
    nhi?: string;
    rule: string;
    severity: string;
    category: string;
    owasp: string[];
    message: string;
    evidence: {
      verbs: string[];
      resources: string[];
      namespaces: string[];
      codes: number[];
      userAgents: string[];
      sourceIPs: string[];
    };
    firstSeen: string;
    lastSeen: string;
    count: number;
  }[];
  summary: { findings: number; failing: number; failOn: string; events: number; files: string[] };
}

describe("nhictl audit analyze", function () {
  // Several nhictl processes a test: slow on a loaded machine.
  this.timeout(90_000);
  let dir = "";
  before(() => (dir = mkdtempSync(join(tmpdir(), "nhictl-audit-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("activity within the NHI's scopes from its pod with its usual client: no finding, exit 0", function () {
    const r = nhictl([
      "audit",
      "analyze",
      `${FX}/pod-bound-in-scope.jsonl`,
      `${FX}/pod-bound-watch.jsonl`,
      ...MANIFESTS,
    ]);
    expect(r.stderr).to.equal("");
    expect(r.stdout).to.equal("PASS: 0 findings at or above medium in 3 events from 2 files\n");
    expect(r.code).to.equal(0);
  });

  it("the pod's token in kubectl from elsewhere: exit 1, json findings with identity, rule, severity, category, evidence, times, count", function () {
    const r = nhictl([
      "audit",
      "analyze",
      `${FX}/pod-bound-kubectl.jsonl`,
      ...MANIFESTS,
      "--format",
      "json",
    ]);
    expect(r.code).to.equal(1);
    const out = JSON.parse(r.stdout) as Json;
    expect(out.findings.map((f) => `${f.rule}:${f.severity}`)).to.deep.equal([
      "human-client:high",
      "token-off-pod:high",
    ]);
    const [f] = out.findings;
    expect(f).to.include({
      identity: "system:serviceaccount:shop:api",
      nhi: "shop/api",
      category: "token-replay",
      count: 1,
    });
    expect(f?.evidence).to.deep.include({
      verbs: ["list"],
      resources: ["configmaps"],
      namespaces: ["shop"],
      codes: [200],
      sourceIPs: ["127.0.0.1"],
    });
    expect(f?.evidence.userAgents[0]).to.match(/^kubectl\//);
    expect(f?.firstSeen).to.match(/^\d{4}-\d\d-\d\dT/);
    expect(out.summary).to.deep.include({ findings: 2, failing: 2, failOn: "medium", events: 1 });
    expect(r.stdout).not.to.match(/JTI=|eyJ/);
  });

  it("without the NHI (no --manifests) the same token is only judged by what needs no declaration", function () {
    const r = nhictl([
      "audit",
      "analyze",
      `${FX}/pod-bound-kubectl.jsonl`,
      `${FX}/legacy-token-use.jsonl`,
      "--format",
      "json",
    ]);
    expect((JSON.parse(r.stdout) as Json).findings.map((f) => f.rule)).to.deep.equal([
      "human-client",
    ]);
  });

  it("--fail-on: a low finding fails only with --fail-on low", function () {
    const args = ["audit", "analyze", `${FX}/selfsubjectrulesreview.jsonl`, ...MANIFESTS];
    const r = nhictl(args);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(
      /! low permission-probing {2}system:serviceaccount:shop:api \(NHI shop\/api\)/,
    );
    expect(r.stdout).to.match(/PASS: 0 findings at or above medium \(1 below\)/);
    expect(nhictl([...args, "--fail-on", "low"]).code).to.equal(1);
    expect(nhictl([...args, "--fail-on", "severe"])).to.deep.include({
      code: 2,
      stderr: "nhictl: unknown --fail-on severe; use one of low, medium, high, critical\n",
    });
  });

  it("reads gzip (by its bytes) and stdin, plain or gzip", function () {
    const text = readFileSync(join(ROOT, FX, "privilege-change.jsonl"));
    const gz = join(dir, "audit.log.1");
    writeFileSync(gz, gzipSync(text));
    const fromFile = nhictl(["audit", "analyze", gz, "--format", "json"]);
    expect((JSON.parse(fromFile.stdout) as Json).findings.map((f) => f.rule)).to.deep.equal([
      "rbac-write",
      "workload-as-other-identity",
    ]);
    for (const input of [text, gzipSync(text)]) {
      const r = spawnSync(process.execPath, [CLI, "audit", "analyze", "-", "--format", "json"], {
        cwd: ROOT,
        input,
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "", KUBECONFIG: "/nonexistent" },
      });
      expect(r.status).to.equal(1);
      expect((JSON.parse(r.stdout) as Json).summary).to.deep.include({
        events: 2,
        files: ["<stdin>"],
      });
    }
  });

  it("a bad line is exit 2 naming the file and line; so is a missing file and a damaged gzip", function () {
    const good = readFileSync(join(ROOT, FX, "pod-bound-in-scope.jsonl"), "utf8");
    const bad = join(dir, "bad.log");
    writeFileSync(bad, `${good}\n{"kind":"Event","auditID":"x"\n`);
    const r = nhictl(["audit", "analyze", bad]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(
      new RegExp(
        `^nhictl: ${bad.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:4: not JSON \\(.*\\): the log backend writes one JSON event a line \\(--audit-log-format=json\\)\n$`,
      ),
    );
    expect(r.stdout).to.equal("");
    const missing = nhictl(["audit", "analyze", join(dir, "nope.log")]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.match(/nope\.log: cannot read: ENOENT/);
    const broken = join(dir, "broken.gz");
    writeFileSync(broken, gzipSync(Buffer.from(good)).subarray(0, 30));
    const damaged = nhictl(["audit", "analyze", broken]);
    expect(damaged.code).to.equal(2);
    expect(damaged.stderr).to.match(/broken\.gz:\d+: cannot read: .*/);
    expect(nhictl(["audit", "analyze"]).code).to.equal(2);
    expect(nhictl(["audit", "summarize", "x"]).stderr).to.match(
      /unknown audit command "summarize"/,
    );
    expect(nhictl(["audit", "analyze", bad, "--secret-reads", "0"]).stderr).to.equal(
      'nhictl: --secret-reads must be a positive whole number, got "0"\n',
    );
  });

  it("tuning: a higher enumeration threshold quiets a burst", function () {
    const args = ["audit", "analyze", `${FX}/enumeration.jsonl`, "--format", "json"];
    expect((JSON.parse(nhictl(args).stdout) as Json).findings.map((f) => f.rule)).to.include(
      "enumeration",
    );
    expect(
      (JSON.parse(nhictl([...args, "--enumeration-threshold", "20"]).stdout) as Json).findings.map(
        (f) => f.rule,
      ),
    ).not.to.include("enumeration");
  });

  it("--trusted-minter: a broker's tokens are expected", function () {
    const args = [
      "audit",
      "analyze",
      `${FX}/tokenrequest-by-sa.jsonl`,
      `${FX}/minted-token-use.jsonl`,
      "--format",
      "json",
    ];
    expect((JSON.parse(nhictl(args).stdout) as Json).findings.map((f) => f.rule)).to.include(
      "token-minted-elsewhere",
    );
    expect(
      (
        JSON.parse(
          nhictl([...args, "--trusted-minter", "system:serviceaccount:shop:minter"]).stdout,
        ) as Json
      ).findings.map((f) => f.rule),
    ).not.to.include("token-minted-elsewhere");
  });

  it("--baseline FILE: what one run learned, the next judges by; a damaged file is said and replaced", function () {
    const file = join(dir, "baseline.json");
    const learn = nhictl([
      "audit",
      "analyze",
      `${FX}/pod-bound-in-scope.jsonl`,
      ...MANIFESTS,
      "--baseline",
      file,
      "--learning-window",
      "1",
    ]);
    expect(learn.code).to.equal(0);
    expect(learn.stdout).to.match(/baseline .*baseline\.json: 1 identity, 0 still learning/);
    const stored = JSON.parse(readFileSync(file, "utf8")) as {
      apiVersion: string;
      identities: Record<string, { sources: string[]; clients: string[] }>;
    };
    expect(stored.apiVersion).to.equal("nhi.io/audit-baseline/v1");
    expect(stored.identities["system:serviceaccount:shop:api"]).to.deep.include({
      sources: ["own pod"],
      clients: ["shop-api"],
    });
    const use = (baseline: string[]): Json =>
      JSON.parse(
        nhictl([
          "audit",
          "analyze",
          `${FX}/unbound-token-use.jsonl`,
          ...MANIFESTS,
          "--format",
          "json",
          "--learning-window",
          "1",
          ...baseline,
        ]).stdout,
      ) as Json;
    // Without the baseline the unbound token's first use is where learning starts: nothing new.
    expect(use([]).findings.map((f) => f.rule)).not.to.include("new-behaviour");
    const judged = use(["--baseline", file]).findings.filter((f) => f.rule === "new-behaviour");
    expect(judged.map((f) => `${f.severity} ${f.message}`)).to.deep.equal([
      "medium new source after its learning window: 127.0.0.0/24",
    ]);

    writeFileSync(
      file,
      '{"apiVersion":"nhi.io/audit-baseline/v1","identities":{"x":{"first":"?"}}}',
    );
    const damaged = nhictl([
      "audit",
      "analyze",
      `${FX}/pod-bound-in-scope.jsonl`,
      ...MANIFESTS,
      "--baseline",
      file,
    ]);
    expect(damaged.stderr).to.match(
      /baseline\.json: not a baseline nhictl can use \(identities\["x"\]\.first is not a time.*\); starting a fresh one/,
    );
    expect(damaged.code).to.equal(0);
    expect(
      Object.keys((JSON.parse(readFileSync(file, "utf8")) as { identities: object }).identities),
    ).to.deep.equal(["system:serviceaccount:shop:api"]);
  });
});

describe("nhictl audit rightsize", function () {
  this.timeout(90_000);
  let dir = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "nhictl-rightsize-"));
    writeFileSync(
      join(dir, "rbac.yaml"),
      `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: api, namespace: shop}
rules:
  - {apiGroups: [""], resources: [configmaps], verbs: [get, list, watch, update]}
  - {apiGroups: [""], resources: [secrets], verbs: [get], resourceNames: [api-db]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: api, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: api}
subjects: [{kind: ServiceAccount, name: api, namespace: shop}]
`,
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("prints per identity its NHI scopes, the Role that would suffice and what it would remove; json too", function () {
    const args = [
      "audit",
      "rightsize",
      `${FX}/pod-bound-in-scope.jsonl`,
      `${FX}/pod-bound-watch.jsonl`,
      ...MANIFESTS,
      "--manifests",
      join(dir, "rbac.yaml"),
    ];
    const text = nhictl(args);
    expect(text.code).to.equal(0);
    expect(text.stdout).to.include("system:serviceaccount:shop:api (NHI shop/api): 3 requests");
    expect(text.stdout).to.include("NHI scopes now:");
    expect(text.stdout).to.match(
      /kind: Role\n\s+metadata:\n\s+name: api-rightsized\n\s+namespace: shop/,
    );
    expect(text.stdout).to.include(
      "- update configmaps in namespace shop  (RoleBinding shop/api → Role shop/api)",
    );
    const json = JSON.parse(nhictl([...args, "--format", "json"]).stdout) as {
      identities: {
        identity: string;
        removed: { permission: string }[];
        roles: { rules: unknown[] }[];
      }[];
    };
    expect(json.identities.map((i) => i.identity)).to.deep.equal([
      "system:serviceaccount:shop:api",
    ]);
    expect(json.identities[0]?.removed.map((r) => r.permission)).to.deep.equal([
      "update configmaps in namespace shop",
      'get secrets named "api-db" in namespace shop',
    ]);
    expect(json.identities[0]?.roles[0]?.rules).to.deep.equal([
      { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] },
    ]);
  });
});
